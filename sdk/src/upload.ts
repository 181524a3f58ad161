/**
 * Upload capacity, measured: how many subscribers this peer can push to.
 *
 * A browser cannot ask how fast its uplink is, but it can see it: while bytes wait in the peer
 * outboxes (the transports are not keeping up), the rate at which transports take bytes is the
 * upload capacity. {@link UploadMeter} samples that every {@link SAMPLE_MS}; while the uplink was
 * never saturated its capacity is unknown and taken to be ample. The stream's own rate comes
 * from the blocks that pass through. A peer pushes at most `HEADROOM * capacity / streamRate`
 * copies of the stream (and `maxSubscribers`), in stripe subscriptions of 1/STRIPES of a copy.
 * @module
 */

import { MAX_PEER_BACKLOG } from './constants.js'

/** A pull waits at most about this long (ms) behind our upload backlog before we say BUSY. */
const BUSY_DRAIN_MS = 250
/** How often the uplink is sampled (ms). */
export const SAMPLE_MS = 500
/** Share of the measured capacity given to pushes; the rest answers pulls and control. */
const HEADROOM = 0.85
/** Blocks over which the stream's rate is measured. */
const RATE_BLOCKS = 16

export class UploadMeter {
  /** Measured upload capacity in bytes per ms, or null while the uplink was never saturated. */
  capacity: number | null = null
  private lastAt = -1
  private lastSent = 0
  private lastSaturated = false
  private readonly blocks: Array<{ at: number, bytes: number }> = []

  /** Records a block passing through (appended or verified). */
  block (at: number, bytes: number): void {
    this.blocks.push({ at, bytes })
    if (this.blocks.length > RATE_BLOCKS) this.blocks.shift()
  }

  /** The stream's rate in bytes per ms, or null before two blocks. */
  get streamRate (): number | null {
    if (this.blocks.length < 2) return null
    const first = this.blocks[0] as { at: number }
    const last = this.blocks[this.blocks.length - 1] as { at: number }
    if (last.at <= first.at) return null
    let bytes = 0
    for (let i = 1; i < this.blocks.length; i++) bytes += (this.blocks[i] as { bytes: number }).bytes
    return bytes / (last.at - first.at)
  }

  /**
   * One sample: `sent` is the running total of bytes taken by transports, `saturated` whether
   * bytes are waiting in outboxes now. An interval that began and ended saturated measures the
   * capacity; any interval bounds it from below.
   */
  sample (now: number, sent: number, saturated: boolean): void {
    if (this.lastAt >= 0 && now > this.lastAt) {
      const rate = (sent - this.lastSent) / (now - this.lastAt)
      if (saturated && this.lastSaturated) this.capacity = this.capacity === null ? rate : 0.5 * this.capacity + 0.5 * rate
      else if (this.capacity !== null && rate > this.capacity) this.capacity = rate
    }
    this.lastAt = now
    this.lastSent = sent
    this.lastSaturated = saturated
  }

  /**
   * Upload backlog beyond which pulls are answered BUSY: what the uplink drains in
   * {@link BUSY_DRAIN_MS}, at least MAX_PEER_BACKLOG. Unbounded while the uplink was never seen
   * saturated: a fast server-like uplink drains any backlog at once.
   */
  busyLimit (): number {
    if (this.capacity === null) return Infinity
    return Math.max(MAX_PEER_BACKLOG, this.capacity * BUSY_DRAIN_MS)
  }

  /** Copies of the stream this peer can push (fractional: stripes), at most `max`. */
  allowedCopies (max: number): number {
    const stream = this.streamRate
    if (this.capacity === null || stream === null) return max
    return Math.max(0, Math.min(max, HEADROOM * this.capacity / stream))
  }
}
