/**
 * Upload capacity, measured: how many subscribers this peer can push to.
 *
 * A browser cannot ask how fast its uplink is, but it can see it: while bytes wait in the peer
 * outboxes (the transports are not keeping up), the rate at which transports take bytes is the
 * upload capacity. {@link UploadMeter} samples that every {@link SAMPLE_MS}; while the uplink was
 * never saturated its capacity is unknown and taken to be ample. The stream's own rate comes
 * from the blocks that pass through. A peer pushes at most `HEADROOM * capacity / streamRate`
 * copies of the stream (and `maxSubscribers`), in stripe subscriptions of 1/STRIPES of a copy,
 * at most that many on one stripe, and none below one copy ({@link admitsSubscriber}). A strong
 * uplink may never back up, and a weak one only once it is feeding others: a probe
 * ({@link runProbe}) measures it up front, by saturating it briefly with padding.
 * @module
 */

import type { Clock } from './clock.js'
import { MAX_PEER_BACKLOG, PIECE_SIZE, STRIPES } from './constants.js'
import { PROBE_INDEX, type Peer } from './peer.js'

/** A pull waits at most about this long (ms) behind our upload backlog before we say BUSY. */
const BUSY_DRAIN_MS = 250
/** How often the uplink is sampled (ms). */
export const SAMPLE_MS = 500
/** Most padding an upload probe sends (see Munro.probeUpload): 210 ms of a 20 Mbit/s uplink. */
export const PROBE_BYTES = 512 * 1024
/** Longest an upload probe runs (ms); a slower uplink is measured on what left by then. */
export const PROBE_MS = 500
/** How often a running probe checks whether its padding is on the wire (ms). */
export const PROBE_POLL_MS = 10
/** Share of the measured capacity given to pushes; the rest answers pulls and control. */
const HEADROOM = 0.85
/** Blocks over which the stream's rate is measured. */
const RATE_BLOCKS = 16

/**
 * Copies of the stream a receiver's pushes must be able to carry before it takes subscribers.
 * Below one copy, one block pushed takes longer to send than the block lasts, so every hop
 * through such a peer adds more than a block's time: in the simulator at 300 viewers, p50 850 ms
 * from a 1 Mbit/s viewer's copy of a block to its neighbour's, against 90 ms from the others.
 * It still answers pulls.
 */
export const MIN_PUSH_COPIES = 1

/**
 * Stripe subscriptions an upload that may push `copies` copies of the stream (`allowedCopies`)
 * takes in all: `copies` × STRIPES, none for a receiver below {@link MIN_PUSH_COPIES}. The
 * broadcaster (`root`) always pushes: nobody else has its blocks.
 */
export function subscriberBudget (copies: number, root: boolean): number {
  return root || copies >= MIN_PUSH_COPIES ? Math.floor(copies * STRIPES) : 0
}

/**
 * Subscribers one stripe takes: ceil(`copies`), at least one, and none where
 * {@link subscriberBudget} allows none. A block goes to its stripe's subscribers side by side,
 * so k of them have it after k / `copies` block times, and more than `copies` would hold each
 * hop back by more than a block's time. In the simulator at 300 viewers, this cap with
 * {@link MIN_PUSH_COPIES} took p95 after the flash crowd from 1.7–1.9 s to 1.3–1.5 s over three
 * seeds. The broadcaster, at one copy, so sends each stripe once. A peer tells its neighbours
 * this figure (CAPACITY).
 */
export function stripeCapacity (copies: number, root: boolean): number {
  return subscriberBudget(copies, root) === 0 ? 0 : Math.max(1, Math.ceil(copies))
}

/**
 * Whether one more subscription to a stripe fits, with `total` subscriptions in all and
 * `onStripe` on that stripe: within {@link subscriberBudget} and {@link stripeCapacity}.
 */
export function admitsSubscriber (copies: number, root: boolean, total: number, onStripe: number): boolean {
  return total + 1 <= subscriberBudget(copies, root) && onStripe + 1 <= stripeCapacity(copies, root)
}

/**
 * The subscriptions (subscriber, stripe) beyond what `copies` now allows, to be choked when the
 * measured upload dropped: taken in the given order (the ones to keep first), each is kept while
 * it fits {@link admitsSubscriber} beside those kept before it.
 */
export function beyondBudget<T> (subscriptions: ReadonlyArray<readonly [T, number]>, copies: number, root: boolean): Array<readonly [T, number]> {
  const onStripe = new Array<number>(STRIPES).fill(0)
  let total = 0
  const out: Array<readonly [T, number]> = []
  for (const s of subscriptions) {
    const stripe = s[1]
    if (admitsSubscriber(copies, root, total, onStripe[stripe] ?? 0)) {
      total++
      onStripe[stripe] = (onStripe[stripe] ?? 0) + 1
    } else out.push(s)
  }
  return out
}

interface Sighting { index: number, bytes: number, at: number }

export class UploadMeter {
  /** Measured upload capacity in bytes per ms, or null while the uplink was never saturated. */
  capacity: number | null = null
  private lastAt = -1
  private lastSent = 0
  private lastSaturated = false
  /** Recent blocks: index, size, and time (signed-head timestamp, else local arrival time). */
  private readonly blocks = { stamped: [] as Sighting[], local: [] as Sighting[] }

  /**
   * @param expectedRate the stream's rate (bytes per ms) to assume until two blocks were seen,
   *   or null to know none: a newcomer's upload is then counted in copies as soon as its probe
   *   measured it, before the stream's first blocks reach it (see munro's `expectedBitrate`).
   */
  constructor (private readonly expectedRate: number | null = null) {}

  /**
   * Records block `index` of `bytes` passing through (appended or verified), at `timestamp`, its
   * signed head's time, when it came with one, else at the local time `now`.
   */
  block (index: number, bytes: number, timestamp: number | null, now: number): void {
    const list = timestamp === null ? this.blocks.local : this.blocks.stamped
    list.push({ index, bytes, at: timestamp ?? now })
    if (list.length > RATE_BLOCKS) list.shift()
  }

  /**
   * The stream's rate in bytes per ms (before two blocks, the expected rate or null): the mean
   * size of recent blocks times the block rate, which two blocks' indices and times give.
   * Signed-head times are used when two recent blocks had them; unlike arrival times they do not
   * make a backlog caught up in a burst look like a faster stream, and blocks missed or taken out
   * of order do not matter.
   */
  get streamRate (): number | null {
    const timed = this.blocks.stamped.length >= 2 ? this.blocks.stamped : this.blocks.local
    if (timed.length < 2) return this.expectedRate
    const all = [...this.blocks.stamped, ...this.blocks.local]
    let first = timed[0] as Sighting
    let last = first
    for (const b of timed) {
      if (b.index < first.index) first = b
      if (b.index > last.index) last = b
    }
    if (last.index === first.index || last.at <= first.at) return null
    const meanBytes = all.reduce((n, b) => n + b.bytes, 0) / all.length
    return meanBytes * (last.index - first.index) / (last.at - first.at)
  }

  /**
   * One sample: `sent` is the running total of bytes the transports put on the wire (taken from
   * us, less what they still buffer, when they say), `saturated` whether bytes are waiting in
   * outboxes now. An interval that began and ended saturated measures the
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
   * A probe kept the uplink saturated from its start until `ms` later (its padding gone, or its
   * time up) and `bytes` went on the wire meanwhile: that rate is the capacity.
   */
  probed (bytes: number, ms: number): void {
    if (ms > 0 && bytes > 0) this.capacity = bytes / ms
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

  /**
   * Copies of the stream the measured upload carries (capacity over the stream's rate), or null
   * while it is unknown: the uplink was never saturated, or fewer than two blocks passed and no
   * rate is expected.
   */
  get copies (): number | null {
    const stream = this.streamRate
    return this.capacity === null || stream === null ? null : this.capacity / stream
  }

  /** Copies of the stream this peer can push (fractional: stripes), at most `max`. */
  allowedCopies (max: number): number {
    const copies = this.copies
    return copies === null ? max : Math.max(0, Math.min(max, HEADROOM * copies))
  }
}

/**
 * Sends PROBE_BYTES of padding to `peer` (behind every other message) and waits until the last
 * of it left the outbox, or PROBE_MS: until then the uplink was saturated, so the bytes that went
 * on the wire meanwhile (`onWire`, over every connection; padding still in the stream or the
 * transport does not count) over the time taken is the upload capacity. Drops what is left of
 * the padding. Resolves null if `peer` closed or `alive()` turned false.
 */
export async function runProbe (peer: Peer, onWire: () => number, clock: Clock, alive: () => boolean): Promise<{ bytes: number, ms: number } | null> {
  const t0 = clock.now()
  const w0 = onWire()
  const padding = new Uint8Array(PIECE_SIZE)
  for (let n = 0; n < PROBE_BYTES; n += PIECE_SIZE) peer.send({ type: 'probe', data: padding })
  return await new Promise((resolve) => {
    const poll = (): void => {
      const ms = clock.now() - t0
      if (peer.closed || !alive()) { resolve(null); return }
      if (peer.hasQueued(PROBE_INDEX) && ms < PROBE_MS) { clock.setTimeout(poll, PROBE_POLL_MS); return }
      peer.dropQueued(PROBE_INDEX)
      resolve({ bytes: onWire() - w0, ms })
    }
    clock.setTimeout(poll, PROBE_POLL_MS)
  })
}
