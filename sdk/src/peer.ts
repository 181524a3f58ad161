/**
 * One connection to a remote peer: its duplex byte stream, framing, the handshake, and what we
 * know of the remote (its window, its head, the blocks and tree nodes it holds). Protocol
 * decisions live in `replicator.ts`; this file only moves and accounts for messages.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js'
import { Duplex } from 'streamx'
import { NONCE_SIZE, STREAM_AHEAD_BYTES } from './constants.js'
import { MunroError, isMunroError } from './errors.js'
import { decodeMessage, type Message } from './messages.js'
import { RangeSet } from './range-set.js'
import { encodeFrame, FrameDecoder } from './wire.js'

/** Traffic and verification counters of one peer connection. */
export interface PeerStats {
  bytesSent: number
  bytesReceived: number
  /** Blocks this peer delivered to us whose header verified first from it. */
  blocksReceived: number
  /** Blocks we started sending to this peer. */
  blocksSent: number
  piecesReceived: number
  piecesSent: number
  /** Bytes of log-tree and piece-tree hashes and signed heads we sent (proof overhead). */
  proofBytesSent: number
  /** Messages from this peer that failed verification (the first one drops the peer). */
  invalid: number
  /** Last measured round-trip time in ms, or null before the first pong. */
  rtt: number | null
  /** Smoothed delivery rate of the blocks this peer sent us, bytes per ms, or null. */
  rate: number | null
}

/** What we know about the remote end of a connection. */
export interface RemoteState {
  windowStart: number
  /** Length of the newest signed head the remote holds. */
  length: number
  /** Blocks the remote announced (held, or verified and arriving). */
  have: RangeSet
  /** Blocks the remote announced whole (HAVE `whole`): a subset of `have`. */
  whole: RangeSet
  /** Subscribers per stripe the remote says it can push (CAPACITY), or null until it said. */
  capacity: number | null
  /**
   * The remote said in its handshake that it is the stream's source (the broadcaster). It is
   * treated as such (upstream.ts `leftToOthers`) while its proof is due, and dropped when that
   * does not come in time (constants.ts SOURCE_PROOF_TIMEOUT_MS).
   */
  claimsSource: boolean
  /** The remote proved it is the stream's source (SOURCE_PROOF over our nonce verified). */
  source: boolean
}

export interface PeerHandlers {
  onmessage: (peer: Peer, message: Message) => void
  onclose: (peer: Peer, error: Error | null) => void
}

let nextPeerId = 1

/** The outbox's block index for PROBE padding, so that what is left of it can be dropped. */
export const PROBE_INDEX = -1

export class Peer {
  /** Local label of this connection ("p1", "p2", …), for stats and events. */
  readonly id: string
  readonly stream: Duplex
  readonly remote: RemoteState = { windowStart: 0, length: 0, have: new RangeSet(), whole: new RangeSet(), capacity: null, claimsSource: false, source: false }
  readonly stats: PeerStats = {
    bytesSent: 0, bytesReceived: 0, blocksReceived: 0, blocksSent: 0, piecesReceived: 0, piecesSent: 0,
    proofBytesSent: 0, invalid: 0, rtt: null, rate: null
  }

  /** The nonce of our handshake on this connection (the remote's SOURCE_PROOF signs it). */
  readonly nonce: Uint8Array = randomBytes(NONCE_SIZE)
  /** The transport's channel binding (PeerStreamOptions `channelBinding`); empty without one. */
  channelBinding: Uint8Array = new Uint8Array(0)
  /** Handshake received and accepted. */
  handshaked = false
  /** Log-tree nodes we sent this peer (it holds them once it verified what came with them). */
  readonly sentNodes = new Set<number>()
  /** Blocks we requested from this peer and still wait on. */
  readonly inflight = new Set<number>()
  /** Blocks we are sending this peer, with the piece-tree nodes it will hold (cut-through). */
  readonly serving = new Map<number, Set<number>>()
  /** Stripes this peer subscribed to our pushes of (see upstream.ts). */
  readonly subscriptions = new Set<number>()
  /** This peer choked our subscription: its upload budget is spent, so pull from it last. */
  chokedUs = false
  /** First block index this subscriber wants pushed. */
  subscribedFrom = 0
  /** Blocks this peer failed to deliver, with when it may be asked again (local clock, ms). */
  readonly failed = new Map<number, number>()
  /** A label the application may attach (the swarm puts the remote's signaling id here). */
  label: string | null = null
  /**
   * A subscriber served before others (munro's `setPeerPriority`; the swarm marks the
   * broadcaster's other children): with our upload full, its subscription displaces another's.
   */
  priority = false
  /**
   * A rescue link (munro's `setPeerRescue`). On the broadcaster: a viewer the swarm cannot feed
   * in time, served pulls of what the swarm had `rescueDelay` to give it, never pushed to. On a
   * viewer: its link to the broadcaster, asked for a block only `rescueDelay` after the swarm
   * announced it, never an upstream.
   */
  rescue = false
  closed = false
  private readonly decoder = new FrameDecoder()
  private closeError: Error | null = null
  private wireAtClose: number | null = null
  private pingNonce = 0
  private pingSentAt = 0
  /**
   * Outbox: frames wait here until the stream's consumer (the transport) takes what it was
   * given. Control messages overtake queued pieces, so announcements, requests and block
   * headers are never stuck behind a backlog, and a cancelled block's pieces are dropped unsent.
   */
  private readonly control: Uint8Array[] = []
  private readonly pieces: Array<{ index: number, frame: Uint8Array }> = []
  private queuedBytes = 0

  constructor (
    private readonly handlers: PeerHandlers,
    private readonly now: () => number,
    /** Bytes the transport took from our stream but has not sent yet, if it can tell. */
    private readonly transportBuffered: () => number = () => 0
  ) {
    this.id = `p${nextPeerId++}`
    this.stream = new Duplex({
      highWaterMark: STREAM_AHEAD_BYTES,
      read: (cb: (err: Error | null) => void) => { this.flush(); cb(null) },
      write: (chunk: unknown, cb: (err: Error | null) => void) => { this.receive(chunk); cb(null) },
      final: (cb: (err: Error | null) => void) => { cb(null); this.close(null) },
      destroy: (cb: (err: Error | null) => void) => { cb(null); this.close(this.closeError) }
    })
    // The stream is ours to end; an error here is reported through munro's events instead of
    // being thrown by an EventEmitter without listeners.
    this.stream.on('error', () => {})
    this.stream.on('close', () => { this.close(this.closeError) })
  }

  private receive (chunk: unknown): void {
    if (this.closed) return
    try {
      if (!(chunk instanceof Uint8Array)) throw new MunroError('ERR_DECODE', 'peer stream takes bytes')
      this.stats.bytesReceived += chunk.length
      for (const body of this.decoder.push(chunk)) {
        if (this.closed) return
        this.handlers.onmessage(this, decodeMessage(body))
      }
    } catch (err) {
      this.destroy(err instanceof Error ? err : new MunroError('ERR_PROTOCOL', String(err)))
    }
  }

  private get streamBuffered (): number {
    return (this.stream as unknown as { _readableState: { buffered: number } })._readableState.buffered
  }

  /**
   * Bytes the transport put on the wire: those it took, less what it still buffers. Frozen when
   * the connection closes: what was still buffered then never left, and counting it as sent
   * would look like a burst of upload to the upload meter.
   */
  get wireBytesSent (): number {
    if (this.wireAtClose !== null) return this.wireAtClose
    return this.stats.bytesSent - Math.min(this.stats.bytesSent, Math.max(0, this.transportBuffered()) + this.streamBuffered)
  }

  /** Whether frames of block `index` (or PROBE padding) still wait in the outbox. */
  hasQueued (index: number): boolean { return this.pieces.some(p => p.index === index) }

  /** Bytes waiting in the outbox: the transport is not keeping up. */
  get queued (): number { return this.queuedBytes }

  /** Queues one message as one frame; returns its size in bytes. */
  send (message: Message): number {
    if (this.closed) return 0
    const frame = encodeFrame(message)
    if (message.type === 'piece') this.pieces.push({ index: message.index, frame })
    else if (message.type === 'probe') this.pieces.push({ index: PROBE_INDEX, frame }) // padding goes last
    else this.control.push(frame)
    this.queuedBytes += frame.length
    this.flush()
    return frame.length
  }

  /** Hands queued frames to the stream while its consumer keeps up. */
  private flush (): void {
    while (!this.closed && this.streamBuffered < STREAM_AHEAD_BYTES) {
      const frame = this.control.shift() ?? this.pieces.shift()?.frame
      if (frame === undefined) return
      this.queuedBytes -= frame.length
      this.stats.bytesSent += frame.length
      this.stream.push(frame)
    }
  }

  /** Drops the queued, unsent pieces of block `index` (the peer cancelled it), or PROBE padding. */
  dropQueued (index: number): void {
    for (let i = this.pieces.length - 1; i >= 0; i--) {
      const p = this.pieces[i] as { index: number, frame: Uint8Array }
      if (p.index !== index) continue
      this.queuedBytes -= p.frame.length
      this.pieces.splice(i, 1)
    }
  }

  /** Sends a ping; the pong updates `stats.rtt`. */
  ping (): void {
    this.pingSentAt = this.now()
    this.send({ type: 'ping', nonce: ++this.pingNonce })
  }

  onpong (nonce: number): void {
    if (nonce === this.pingNonce) this.stats.rtt = this.now() - this.pingSentAt
  }

  /** Closes the connection, with the error that caused it (if any). Idempotent. */
  destroy (error: Error | null = null): void {
    if (this.closed) return
    this.closeError = error
    if (isMunroError(error)) this.stats.invalid += error.code.startsWith('ERR_INVALID') ? 1 : 0
    this.close(error)
    this.stream.destroy()
  }

  private close (error: Error | null): void {
    if (this.closed) return
    this.wireAtClose = this.wireBytesSent
    this.closed = true
    // What waits in the outbox will never be sent: let it go (whoever still holds this peer or
    // its stream, up to a backlog of pieces would stay in memory).
    this.control.length = 0
    this.pieces.length = 0
    this.queuedBytes = 0
    this.handlers.onclose(this, error)
  }
}
