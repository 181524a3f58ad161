/**
 * Simulated network: a per-peer uplink shared by all of its connections, and one-way channels
 * that add propagation delay and loss recovery, delivering frames in order.
 *
 * DEV DOCS — what is modelled
 * - Upload capacity: each peer has one {@link Uplink} that serialises frames at its upload rate.
 *   Connections take turns frame by frame (round robin), as several congestion-controlled flows
 *   sharing one bottleneck roughly do; the core sends without backpressure, so what it queues
 *   waits here (bufferbloat included). Every frame also pays `overheadBytes` on the wire
 *   (SCTP/DTLS/UDP/IP headers).
 * - Propagation: a fixed one-way delay per connection.
 * - Loss: a WebRTC data channel in reliable ordered mode never drops a message; a lost packet
 *   delays it by its repair time (one round trip, as fast retransmit does) and, the channel
 *   being ordered, delays every message behind it (head-of-line blocking). A frame of P packets
 *   is hit with probability 1-(1-p)^P, again and again if the repair is lost too.
 * - Not modelled: download capacity (assumed ample), cross traffic, congestion control
 *   dynamics (the uplink rate is the flow's share from the start), CPU time (verification is
 *   instantaneous in virtual time; wall time is measured separately).
 * @module
 */
import { DATA_CHANNEL_BUFFER } from '../swarm/pump.js'
import type { SeededRandom } from './random.js'
import type { VirtualClock } from './virtual-clock.js'

/** Bytes per IP packet of a data channel message (MTU minus headers), for loss per frame. */
export const PACKET_BYTES = 1200

/** Settings of one direction of a connection. */
export interface ChannelOptions {
  /** One-way propagation delay in ms. */
  delayMs: number
  /** Probability that one packet is lost (and repaired after one round trip). */
  lossRate: number
}

/**
 * Bytes a data channel buffers before its writer is told to wait: the swarm's pump keeps the
 * channel's `bufferedAmount` at most this (swarm/pump.ts). Beyond it the sender's core sees
 * backpressure (its peer stream stops being read), as in a browser.
 */
export const SEND_BUFFER_BYTES = DATA_CHANNEL_BUFFER

/** One direction of a connection: frames queued at the sender's uplink, delivered in order. */
export class Channel {
  closed = false
  /** Frames and bytes delivered to the far end. */
  framesDelivered = 0
  bytesDelivered = 0
  /** Frames delayed by a lost packet. */
  framesRepaired = 0
  private readonly queue: Uint8Array[] = []
  private head = 0
  private lastArrival = -Infinity
  /** Bytes waiting at the uplink (the data channel's `bufferedAmount`). */
  queuedBytes = 0
  /** Called when the queue drains below {@link SEND_BUFFER_BYTES} after having exceeded it. */
  ondrain: (() => void) | null = null
  private full = false

  constructor (
    readonly uplink: Uplink,
    private readonly clock: VirtualClock,
    readonly opts: ChannelOptions,
    private readonly random: SeededRandom,
    private readonly deliver: (frame: Uint8Array) => void
  ) {}

  /** Frames waiting at the uplink. */
  get queued (): number { return this.queue.length - this.head }

  /** Queues a frame the local core sent. */
  send (frame: Uint8Array): void {
    if (this.closed) return
    this.queue.push(frame)
    this.queuedBytes += frame.length
    this.uplink.wake(this)
  }

  /** Whether the sender should stop writing (as simple-peer does above its buffered-amount limit). */
  get congested (): boolean {
    if (this.queuedBytes > SEND_BUFFER_BYTES) this.full = true
    return this.full
  }

  /** @internal next frame for the uplink, or undefined. */
  shift (): Uint8Array | undefined {
    if (this.head >= this.queue.length) return undefined
    const f = this.queue[this.head++] as Uint8Array
    if (this.head > 64 && this.head * 2 > this.queue.length) { this.queue.splice(0, this.head); this.head = 0 }
    this.queuedBytes -= f.length
    if (this.full && this.queuedBytes <= SEND_BUFFER_BYTES / 2) {
      this.full = false
      this.ondrain?.()
    }
    return f
  }

  /** @internal the uplink finished putting `frame` on the wire at `at`. */
  transmitted (frame: Uint8Array, at: number): void {
    if (this.closed) return
    let arrival = at + this.opts.delayMs
    if (this.opts.lossRate > 0) {
      const packets = Math.ceil((frame.length + this.uplink.overheadBytes) / PACKET_BYTES)
      const hit = 1 - (1 - this.opts.lossRate) ** packets
      let repaired = false
      for (let k = 0; k < 8 && this.random() < hit; k++) { arrival += 2 * this.opts.delayMs; repaired = true }
      if (repaired) this.framesRepaired++
    }
    if (arrival < this.lastArrival) arrival = this.lastArrival // ordered: wait behind earlier frames
    this.lastArrival = arrival
    this.clock.at(arrival, () => {
      if (this.closed) return
      this.framesDelivered++
      this.bytesDelivered += frame.length
      this.deliver(frame)
    })
  }

  /** Stops the channel; queued and in-flight frames are dropped. */
  close (): void {
    this.closed = true
    this.queue.length = 0
    this.head = 0
  }
}

/** A peer's upload: one frame on the wire at a time, connections served in turn. */
export class Uplink {
  /** Frame bytes put on the wire (without `overheadBytes`). */
  bytesSent = 0
  framesSent = 0
  private readonly ready: Channel[] = []
  private busy = false

  /**
   * @param bitsPerSecond upload capacity; Infinity sends at once (an ideal server)
   * @param overheadBytes per-frame header bytes on the wire
   */
  constructor (private readonly clock: VirtualClock, readonly bitsPerSecond: number, readonly overheadBytes = 0) {
    if (!(bitsPerSecond > 0)) throw new RangeError('bitsPerSecond: expected a positive number (or Infinity)')
  }

  /** @internal `ch` has a frame queued. */
  wake (ch: Channel): void {
    if (!Number.isFinite(this.bitsPerSecond)) {
      const f = ch.shift()
      if (f !== undefined) { this.account(f); ch.transmitted(f, this.clock.now()) }
      return
    }
    if (!this.ready.includes(ch)) this.ready.push(ch)
    if (!this.busy) this.next(this.clock.now())
  }

  private account (f: Uint8Array): void {
    this.bytesSent += f.length
    this.framesSent++
  }

  private next (at: number): void {
    for (;;) {
      const ch = this.ready.shift()
      if (ch === undefined) { this.busy = false; return }
      if (ch.closed) continue
      const f = ch.shift()
      if (f === undefined) continue
      if (ch.queued > 0) this.ready.push(ch)
      this.busy = true
      this.account(f)
      const done = at + (f.length + this.overheadBytes) * 8000 / this.bitsPerSecond
      this.clock.at(done, () => {
        ch.transmitted(f, done)
        this.next(done)
      }, false)
      return
    }
  }
}
