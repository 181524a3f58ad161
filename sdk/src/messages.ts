/**
 * Wire messages: one symmetric codec (encode/decode) per message, every field bounds-checked.
 *
 * A message is one type byte followed by its body; it travels in one frame (see `wire.ts`).
 * Decoding anything malformed, truncated, oversized or of an unknown type throws a MunroError
 * (ERR_DECODE / ERR_UNKNOWN_MESSAGE) and never anything else.
 * @module
 */
import {
  HASH_SIZE, MAX_BLOCK_SIZE, MAX_HAVE_SPAN, MAX_INDEX, MAX_METADATA_SIZE, MAX_PIECE_TREE_DEPTH,
  MAX_PROOF_NODES, NONCE_SIZE, PIECE_SIZE, SIGNATURE_SIZE, STRIPES
} from './constants.js'
import { Reader, Writer } from './encoding.js'
import { MunroError } from './errors.js'
import type { ProofNode } from './merkle-tree.js'
import type { SignedHead } from './verifier.js'

/** First message on every connection, sent by both sides at once. */
export interface Handshake {
  type: 'handshake'
  /** Protocol name; must be "munro". */
  protocol: string
  version: number
  /** The stream's discovery key (see caps.discoveryKey): proves interest, hides the key. */
  discoveryKey: Uint8Array
  /** First block the sender still holds (its live window starts here). */
  windowStart: number
  /** Length of the newest signed head the sender holds. */
  length: number
  /**
   * The sender says it is the stream's source (the broadcaster). A claim, which it must prove
   * with a SOURCE_PROOF over our `nonce` within SOURCE_PROOF_TIMEOUT_MS or be dropped.
   */
  source: boolean
  /** {@link NONCE_SIZE} random bytes, fresh per connection, for the other side's SOURCE_PROOF. */
  nonce: Uint8Array
}

/**
 * The broadcaster's proof that it is the stream's source, answering a handshake: its signature
 * over caps `sourceSignable(stream key, the nonce of that handshake, the channel binding)`.
 */
export interface SourceProof { type: 'source-proof', signature: Uint8Array }

/**
 * "I hold (or am receiving, verified) blocks [start, start+count)"; my head has `headLength`.
 * `whole`: I hold every piece of them (a HAVE sent when a header verifies promises pieces that
 * may never come: the sender could have it from a tamperer). Absent is false.
 */
export interface Have { type: 'have', start: number, count: number, headLength: number, whole?: boolean }

/**
 * Ask for one block. `fullProof` asks for a self-contained proof (the last one lacked a node);
 * `alone`: no other peer of the requester announced the block, so the broadcaster should not
 * leave it to the swarm (see `rootPullDelay`).
 */
export interface Request { type: 'request', index: number, fullProof: boolean, alone: boolean }

/** Withdraw a request. */
export interface Cancel { type: 'cancel', index: number }

/** A block's header: what its hash binds, with the proof that the block is in the signed log. */
export interface Data {
  type: 'data'
  index: number
  byteLength: number
  /** Application flags, authenticated (the media layer marks cluster starts and keyframes). */
  flags: number
  pieceRoot: Uint8Array
  /** A signed head covering the block, when the receiver is not known to hold one. */
  head: SignedHead | null
  /** Log-tree uncles and roots the receiver does not hold. */
  nodes: ProofNode[]
}

/** One piece of a block whose DATA was sent, with the piece-tree uncles the receiver lacks. */
export interface Piece { type: 'piece', index: number, piece: number, uncles: ProofNode[], data: Uint8Array }

/** Why a request cannot be served. */
export const NoDataReason = Object.freeze({
  /** Before the sender's live window: discarded, and will not come back. */
  DISCARDED: 1,
  /** Not held (yet): ask elsewhere. */
  NOT_HELD: 2,
  /** Held, but the sender's upload is backed up: ask elsewhere, or again shortly. */
  BUSY: 3
})

/** The clear answer to a request that cannot be served. */
export interface NoData { type: 'no-data', index: number, reason: number, windowStart: number }

/** Signed stream metadata (for video: codec and init segment), flooded to every peer. */
export interface Metadata { type: 'metadata', seq: number, signature: Uint8Array, data: Uint8Array }

/**
 * "Push me every block you verify from `start` on, as soon as you verify it" (cut-through).
 * A viewer subscribes to one upstream peer at a time; everything else it pulls.
 */
export interface Subscribe { type: 'subscribe', start: number, stripe: number }

/** "Stop pushing me this stripe." */
export interface Unsubscribe { type: 'unsubscribe', stripe: number }

/** "I will not push you this stripe" (my upload budget is spent). */
export interface Choke { type: 'choke', stripe: number }

/**
 * "I can push this many subscribers on each stripe" (0: none; my upload carries less than one
 * copy of the stream). Sent after the handshake and whenever the measured upload changes it; a
 * full upstream lets a subscriber that relays take the place of one that does not (upstream.ts).
 */
export interface Capacity { type: 'capacity', perStripe: number }

/** Round-trip probes. */
export interface Ping { type: 'ping', nonce: number }
export interface Pong { type: 'pong', nonce: number }

/**
 * PROBE: padding that measures the sender's upload (see upload.ts). The receiver drops it; it is
 * one frame at most.
 */
export interface Probe { type: 'probe', data: Uint8Array }

export type Message = Handshake | Have | Request | Cancel | Data | Piece | NoData | Metadata | Ping | Pong | Subscribe | Unsubscribe | Choke | Probe | Capacity | SourceProof
export type MessageType = Message['type']

interface Codec<M extends Message> {
  id: number
  encode: (w: Writer, m: M) => void
  decode: (r: Reader) => M
}

const index = (r: Reader, what: string): number => r.uint(what, MAX_INDEX)
const stripe = (r: Reader): number => r.uint('stripe', STRIPES - 1)
/** A flags byte of which only the bits in `known` are defined; any other bit is ERR_DECODE. */
function flagsByte (r: Reader, what: string, known: number): number {
  const flags = r.byte(`${what} flags`)
  if ((flags & ~known) !== 0) throw new MunroError('ERR_DECODE', `unknown ${what} flags ${flags}`)
  return flags
}

function encodeNodes (w: Writer, nodes: readonly ProofNode[]): void {
  w.uint(nodes.length)
  for (const n of nodes) w.uint(n.index).fixed(n.hash)
}

function decodeNodes (r: Reader, max: number, what: string): ProofNode[] {
  const count = r.uint(`${what} count`, max)
  const out: ProofNode[] = []
  for (let i = 0; i < count; i++) out.push({ index: r.uint(`${what} index`, 2 * MAX_INDEX), hash: r.fixed(HASH_SIZE, `${what} hash`) })
  return out
}

/** Handshake flag: the sender is the stream's source. Other bits are reserved and refused. */
const HANDSHAKE_SOURCE = 1
/**
 * First protocol version whose handshake ends with the flags byte. An older peer's handshake
 * ends at `length`; it still decodes, so that the replicator refuses it by its version
 * (ERR_HANDSHAKE, naming both versions) rather than as malformed.
 */
const HANDSHAKE_FLAGS_SINCE = 4
/** First protocol version whose handshake ends with the nonce; as above for older ones. */
const HANDSHAKE_NONCE_SINCE = 5

const handshake: Codec<Handshake> = {
  id: 0,
  encode: (w, m) => {
    w.string(m.protocol).uint(m.version).fixed(m.discoveryKey).uint(m.windowStart).uint(m.length).byte(m.source ? HANDSHAKE_SOURCE : 0)
    if (m.nonce.length !== NONCE_SIZE) throw new MunroError('ERR_PROTOCOL', `handshake nonce must be ${NONCE_SIZE} bytes`)
    w.fixed(m.nonce)
  },
  decode: (r) => {
    const protocol = r.string('protocol', 32)
    const version = r.uint('version', 0xffff)
    const discoveryKey = r.fixed(HASH_SIZE, 'discovery key')
    const windowStart = index(r, 'window start')
    const length = index(r, 'length')
    const flags = version < HANDSHAKE_FLAGS_SINCE && r.remaining === 0 ? 0 : flagsByte(r, 'handshake', HANDSHAKE_SOURCE)
    const nonce = version < HANDSHAKE_NONCE_SINCE && r.remaining === 0 ? new Uint8Array(0) : r.fixed(NONCE_SIZE, 'nonce')
    return { type: 'handshake', protocol, version, discoveryKey, windowStart, length, source: flags === HANDSHAKE_SOURCE, nonce }
  }
}

/** HAVE flag: the sender holds the blocks whole. Other bits are reserved and refused. */
const HAVE_WHOLE = 1

const have: Codec<Have> = {
  id: 1,
  encode: (w, m) => { w.uint(m.start).uint(m.count).uint(m.headLength).byte(m.whole === true ? HAVE_WHOLE : 0) },
  decode: (r) => {
    const m: Have = { type: 'have', start: index(r, 'start'), count: r.uint('count', MAX_HAVE_SPAN), headLength: index(r, 'head length') }
    if (m.count === 0) throw new MunroError('ERR_DECODE', 'empty HAVE')
    if (flagsByte(r, 'HAVE', HAVE_WHOLE) === HAVE_WHOLE) m.whole = true
    return m
  }
}

const request: Codec<Request> = {
  id: 2,
  encode: (w, m) => { w.uint(m.index).byte((m.fullProof ? 1 : 0) | (m.alone ? 2 : 0)) },
  decode: (r) => {
    const i = index(r, 'index')
    const flags = flagsByte(r, 'request', 1 | 2)
    return { type: 'request', index: i, fullProof: (flags & 1) !== 0, alone: (flags & 2) !== 0 }
  }
}

const cancel: Codec<Cancel> = {
  id: 3,
  encode: (w, m) => { w.uint(m.index) },
  decode: (r) => ({ type: 'cancel', index: index(r, 'index') })
}

const data: Codec<Data> = {
  id: 4,
  encode: (w, m) => {
    w.uint(m.index).uint(m.byteLength).byte(m.flags).fixed(m.pieceRoot)
    if (m.head === null) w.byte(0)
    else w.byte(1).uint(m.head.length).uint(m.head.timestamp).fixed(m.head.signature)
    encodeNodes(w, m.nodes)
  },
  decode: (r) => {
    const i = index(r, 'index')
    const byteLength = r.uint('byte length', MAX_BLOCK_SIZE)
    if (byteLength === 0) throw new MunroError('ERR_DECODE', 'empty block')
    const flags = r.byte('flags')
    const pieceRoot = r.fixed(HASH_SIZE, 'piece root')
    const hasHead = r.byte('head flag')
    if (hasHead > 1) throw new MunroError('ERR_DECODE', `bad head flag ${hasHead}`)
    const head = hasHead === 1
      ? { length: index(r, 'head length'), timestamp: r.uint('timestamp'), signature: r.fixed(SIGNATURE_SIZE, 'signature') }
      : null
    return { type: 'data', index: i, byteLength, flags, pieceRoot, head, nodes: decodeNodes(r, MAX_PROOF_NODES, 'proof node') }
  }
}

const piece: Codec<Piece> = {
  id: 5,
  encode: (w, m) => { w.uint(m.index).uint(m.piece); encodeNodes(w, m.uncles); w.fixed(m.data) },
  decode: (r) => {
    const i = index(r, 'index')
    const p = r.uint('piece', Math.ceil(MAX_BLOCK_SIZE / PIECE_SIZE))
    const uncles = decodeNodes(r, MAX_PIECE_TREE_DEPTH, 'uncle')
    const bytes = r.rest()
    if (bytes.length === 0 || bytes.length > PIECE_SIZE) throw new MunroError('ERR_DECODE', `piece of ${bytes.length} bytes`)
    return { type: 'piece', index: i, piece: p, uncles, data: bytes }
  }
}

const noData: Codec<NoData> = {
  id: 6,
  encode: (w, m) => { w.uint(m.index).uint(m.reason).uint(m.windowStart) },
  decode: (r) => {
    const m: NoData = { type: 'no-data', index: index(r, 'index'), reason: r.uint('reason', 255), windowStart: index(r, 'window start') }
    if (m.reason < NoDataReason.DISCARDED || m.reason > NoDataReason.BUSY) throw new MunroError('ERR_DECODE', `unknown no-data reason ${m.reason}`)
    return m
  }
}

const metadata: Codec<Metadata> = {
  id: 7,
  encode: (w, m) => { w.uint(m.seq).fixed(m.signature).bytes(m.data) },
  decode: (r) => ({
    type: 'metadata',
    seq: r.uint('seq', MAX_INDEX),
    signature: r.fixed(SIGNATURE_SIZE, 'signature'),
    data: r.bytes('metadata', MAX_METADATA_SIZE)
  })
}

const ping: Codec<Ping> = {
  id: 8,
  encode: (w, m) => { w.uint(m.nonce) },
  decode: (r) => ({ type: 'ping', nonce: r.uint('nonce', 0xffffffff) })
}

const pong: Codec<Pong> = {
  id: 9,
  encode: (w, m) => { w.uint(m.nonce) },
  decode: (r) => ({ type: 'pong', nonce: r.uint('nonce', 0xffffffff) })
}

const subscribe: Codec<Subscribe> = {
  id: 10,
  encode: (w, m) => { w.uint(m.start).uint(m.stripe) },
  decode: (r) => ({ type: 'subscribe', start: index(r, 'start'), stripe: stripe(r) })
}

const unsubscribe: Codec<Unsubscribe> = {
  id: 11,
  encode: (w, m) => { w.uint(m.stripe) },
  decode: (r) => ({ type: 'unsubscribe', stripe: stripe(r) })
}

const choke: Codec<Choke> = {
  id: 12,
  encode: (w, m) => { w.uint(m.stripe) },
  decode: (r) => ({ type: 'choke', stripe: stripe(r) })
}

const probe: Codec<Probe> = {
  id: 13,
  encode: (w, m) => { w.bytes(m.data) },
  decode: (r) => ({ type: 'probe', data: r.bytes('probe', PIECE_SIZE) })
}

/** Most subscribers per stripe a CAPACITY may claim. */
export const MAX_CAPACITY = 0xffff

const capacity: Codec<Capacity> = {
  id: 14,
  encode: (w, m) => { w.uint(m.perStripe) },
  decode: (r) => ({ type: 'capacity', perStripe: r.uint('perStripe', MAX_CAPACITY) })
}

const sourceProof: Codec<SourceProof> = {
  id: 15,
  encode: (w, m) => { w.fixed(m.signature) },
  decode: (r) => ({ type: 'source-proof', signature: r.fixed(SIGNATURE_SIZE, 'signature') })
}

const codecs = {
  handshake, have, request, cancel, data, piece, 'no-data': noData, metadata, ping, pong, subscribe, unsubscribe, choke, probe, capacity,
  'source-proof': sourceProof
} as const
const byId = new Map<number, Codec<Message>>(Object.values(codecs).map(c => [c.id, c as unknown as Codec<Message>]))

/** Each message type's type byte on the wire. */
export const MESSAGE_TYPE_IDS: Readonly<Record<MessageType, number>> = Object.freeze(
  Object.fromEntries(Object.entries(codecs).map(([type, c]) => [type, c.id])) as Record<MessageType, number>)

/** Encodes a message (type byte + body). */
export function encodeMessage (m: Message): Uint8Array {
  const codec = codecs[m.type] as Codec<Message>
  const w = new Writer(m.type === 'piece' || m.type === 'probe' ? m.data.length + 512 : 128)
  w.byte(codec.id)
  codec.encode(w, m)
  return w.finish()
}

/** Decodes one message; throws ERR_UNKNOWN_MESSAGE or ERR_DECODE on anything malformed. */
export function decodeMessage (bytes: Uint8Array): Message {
  const r = new Reader(bytes)
  const id = r.byte('message type')
  const codec = byId.get(id)
  if (codec === undefined) throw new MunroError('ERR_UNKNOWN_MESSAGE', `unknown message type ${id}`)
  const m = codec.decode(r)
  r.end(m.type)
  return m
}
