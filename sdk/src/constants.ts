/**
 * Tuning constants of the munro protocol, each with the reason for its value.
 * Changing any of the wire limits is a protocol change: bump {@link PROTOCOL_VERSION}.
 * @module
 */

/** Name carried in the handshake, so that a stray connection of another protocol fails fast. */
export const PROTOCOL_NAME = 'munro'

/**
 * Wire protocol version; a peer speaking another version is refused in the handshake. 2: PROBE;
 * 3: CAPACITY; 4: flags in the handshake (source) and in HAVE (whole); 5: a nonce in the
 * handshake and SOURCE_PROOF, so that the source flag is proven, not claimed; 6: 7.5 KiB
 * pieces (block hashes differ from version 5's).
 */
export const PROTOCOL_VERSION = 6

/**
 * Largest frame (length prefix included) written to or accepted from a peer stream.
 * 16 KiB is the largest RTCDataChannel message every browser delivers intact.
 * @see https://developer.mozilla.org/en-US/docs/Web/API/WebRTC_API/Using_data_channels#understanding_message_size_limits
 */
export const MAX_FRAME_SIZE = 16 * 1024

/**
 * Bytes of block data carried by one piece: half a frame, which leaves room for the PIECE header
 * (type, varints) and up to {@link MAX_PIECE_TREE_DEPTH} uncle hashes with their indices.
 * A relay forwards a piece once it has it whole and verified, and its subscribers get each piece
 * in turn (side by side), so every hop costs about a piece's time per subscriber on top of the
 * link delay: smaller pieces, shorter hops. Simulator, after 10 s, p95 with 15 KiB → 7.5 KiB
 * pieces: 300 viewers seeds 1–3 877 / 846 / 866 → 851 / 798 / 873 ms (broadcaster 1.12 / 1.13 /
 * 1.11 → 1.07 / 1.06 / 1.07×), 1,000 viewers seeds 1–3 1,026 / 1,009 / 1,053 → 971 / 956 /
 * 1,019 ms (README, Performance); 5 KiB was no better (300 viewers seeds 1 / 2: 860 / 814 ms),
 * and each piece costs its frame's headers and a few uncle hashes.
 */
export const PIECE_SIZE = 7.5 * 1024

/**
 * Largest block the log accepts: 4 MiB is 547 pieces, a piece tree 10 levels deep. A 250 ms
 * block of even a 50 Mbit/s stream (1.6 MB) fits; a larger one is a caller bug.
 */
export const MAX_BLOCK_SIZE = 4 * 1024 * 1024

/** Depth of the piece tree of the largest block: ceil(log2(MAX_BLOCK_SIZE / PIECE_SIZE)). */
export const MAX_PIECE_TREE_DEPTH = 10

/** Largest signed stream metadata (a WebM init segment is ~200 bytes). Fits one frame. */
export const MAX_METADATA_SIZE = 8 * 1024

/** SHA-256 output size. */
export const HASH_SIZE = 32

/** ed25519 public key size; the stream id. */
export const PUBLIC_KEY_SIZE = 32

/** ed25519 signature size. */
export const SIGNATURE_SIZE = 64

/**
 * Bytes of the random nonce each side puts in its handshake; the broadcaster signs the other
 * side's (SOURCE_PROOF). 16 random bytes never repeat across the connections of a stream, so a
 * proof recorded on one connection is worth nothing on another.
 */
export const NONCE_SIZE = 16

/**
 * How long (ms) a peer that claims in its handshake to be the source has to prove it
 * (SOURCE_PROOF) before it is dropped with ERR_PROTOCOL. Meanwhile the claim counts: the
 * broadcaster's children must hold back the stripes it does not push them from their first
 * message on, not from one round trip later, or they could take subscriptions to those stripes
 * in the meantime and keep them. An honest broadcaster's proof comes one round trip after the
 * connection opens, ahead of any queued piece; a liar's claim costs its neighbours at most this.
 */
export const SOURCE_PROOF_TIMEOUT_MS = 5000

/**
 * Most log-tree nodes one DATA message may carry: a path of at most 53 uncles (a log of
 * 2^53 blocks) plus at most 53 other roots of the signed head, rounded up.
 */
export const MAX_PROOF_NODES = 128

/**
 * Largest block index or length accepted on the wire: JavaScript integers stay exact below
 * 2^53, and flat-tree node indices are twice the block index.
 */
export const MAX_INDEX = 2 ** 51

/** Verified signatures remembered, so that no head is checked twice (a few seconds of live heads). */
export const SIGNATURE_CACHE_SIZE = 256

/** Index ranges longer than this in one HAVE are refused: a live window never needs more. */
export const MAX_HAVE_SPAN = 2 ** 32

/**
 * Upload backlog (bytes queued to all peers, not yet taken by their transports) beyond which no
 * pulled block is started: the requester gets NO_DATA and asks elsewhere. Pushes to subscribers
 * come first; a block queued behind a deep backlog is late anyway, and a slow uplink must not
 * make us hold copies of the stream in memory. About one 250 ms block of a 4 Mbit/s stream.
 */
export const MAX_PEER_BACKLOG = 128 * 1024

/**
 * Backlog to a subscriber beyond which we stop pushing to it (CHOKE): our upload cannot keep up
 * with it, and it will find a faster upstream. About one block of a 4 Mbit/s stream.
 */
export const SUBSCRIBER_BACKLOG = 128 * 1024

/**
 * Throughput assumed for a peer not yet measured (bytes per ms, ~4 Mbit/s): optimistic, so that
 * new peers are tried, and then ranked by what they deliver.
 */
export const DEFAULT_PEER_RATE = 500

/**
 * Bytes handed to a peer stream ahead of its consumer; the rest waits in the peer's outbox,
 * where control messages overtake pieces. One frame: below the stream, the transport buffers
 * more of its own (the swarm keeps a data channel at 16 KiB, swarm/pump.ts), and every byte
 * queued in FIFO order there delays the next block header.
 */
export const STREAM_AHEAD_BYTES = 16 * 1024

/**
 * Stripes of the stream for push (see upstream.ts): block i belongs to stripe i mod STRIPES, and
 * each stripe has its own upstream. Four lets a peer with twice the bit rate of upload feed
 * eight quarter-stream subscriptions; more would add per-stripe control traffic for little.
 */
export const STRIPES = 4
