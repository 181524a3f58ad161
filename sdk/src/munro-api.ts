/**
 * The types of munro's public surface (munro.ts): what its events carry, its stats, and the
 * connected peers as the application sees them.
 * @module
 */
import type { MunroError } from './errors.js'
import type { PeerStats } from './peer.js'

/** A connected peer as the application sees it. */
export interface PeerInfo {
  /** Local label of the connection. */
  id: string
  /** Application label (the swarm sets the remote's signaling id and role). */
  label: string | null
  /** Length of the remote's newest signed head. */
  length: number
  /** The remote proved it is the stream's broadcaster (SOURCE_PROOF over this connection's nonce). */
  source: boolean
  /** A rescue link ({@link Munro.setPeerRescue}). */
  rescue: boolean
  stats: Readonly<PeerStats>
}

/** Events, emitted through mitt. A throwing handler never breaks replication. */
export type MunroEvents = {
  /** Broadcaster appended a block. */
  append: { index: number, byteLength: number }
  /** A block is held whole and verified (appended locally, or downloaded). */
  verified: { index: number, byteLength: number, flags: number, from: string | null, latency: number | null }
  /** A signed head newer than any before was verified or signed. */
  head: { length: number, timestamp: number }
  metadata: { seq: number, data: Uint8Array }
  'peer-add': { peer: PeerInfo }
  'peer-remove': { peer: PeerInfo, error: Error | null }
  /** A peer sent something that failed verification; it has been dropped. */
  invalid: { peer: PeerInfo, error: MunroError }
  /** Blocks below `start` were discarded from the live window. */
  discard: { start: number }
  error: { error: Error }
}

/** Options of {@link Munro.peerStream}. */
export interface PeerStreamOptions {
  /** Bytes the transport took from the stream but has not sent yet. @default () => 0 */
  bufferedAmount?: () => number
  /**
   * Bytes that both ends of this transport see alike and that no other connection has: for
   * WebRTC, the connection's two DTLS certificate fingerprints (the swarm passes them). The
   * broadcaster's SOURCE_PROOF signs them, so a peer connected to the broadcaster cannot pass
   * the proof on as its own. Both ends must pass the same bytes (or neither: no binding).
   * @default none
   */
  channelBinding?: Uint8Array
}

/** Aggregate statistics of one munro instance. */
export interface MunroStats {
  length: number
  start: number
  blocks: number
  bytes: number
  peers: PeerInfo[]
  bytesSent: number
  bytesReceived: number
  proofBytesSent: number
  /** Verification failures seen from any peer, including dropped ones. */
  invalid: number
  /** ed25519 verifications run, and ones saved by the signature cache. */
  signatureVerifications: number
  signatureCacheHits: number
  /**
   * Blocks (received, not appended) whose header came pushed by an upstream, and pulled with
   * REQUEST once the push grace ran out: the share pushed is how well the push trees hold.
   */
  blocksPushed: number
  blocksPulled: number
  /**
   * Blocks that completed a second or more after the swarm first announced them (a rescue
   * link's announcement counts only for blocks no other peer announced), or never before the
   * window passed them (scheduler.ts `LATE_MS`): the swarm could not feed us in time. The swarm
   * asks the broadcaster for a rescue link when these keep coming.
   */
  lateBlocks: number
}
