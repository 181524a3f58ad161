/**
 * The player's live-edge control (player.ts): how fast to play so that every viewer settles at
 * the same small distance behind the newest media.
 *
 * Media arrives in blocks (~285 ms apart at timeslice 250), so the distance from the playhead to
 * the newest buffered media is a sawtooth: it jumps up by a block on every append and runs down
 * until the next one. Its instantaneous value (or any threshold band on it) says little — a
 * controller with a dead band on it settles anywhere in that band. The player instead samples
 * the buffer still ahead of the playhead each time a block is appended while playing (the low
 * point of the sawtooth: the margin that kept playback from stalling, {@link LowPoint}) and
 * steers the smallest of the last few samples to `targetLatency` ({@link liveEdgeRate}):
 * playbackRate `1 + LOW_GAIN × error`, clamped to [`slowRate`, `catchUpRate`], 1 inside
 * ±`LOW_DEAD_BAND`. That converges to the same place for every viewer. When the buffer ahead is
 * thinner than a safety margin (`targetLatency / 2`) it plays at `slowRate` regardless, to avoid
 * a stall.
 * @module
 */

/** Buffer-ahead samples (one per block appended while playing) whose minimum is steered. */
const LOW_SAMPLES = 4
/** Samples older than this (ms) no longer count: a pause in arrivals is not a margin. */
const LOW_MAX_AGE_MS = 2000
/** playbackRate − 1 per second of error between the low point and `targetLatency`. */
const LOW_GAIN = 0.5
/** Error (s) within which the rate is 1: about a frame, well under the rate's step per block. */
const LOW_DEAD_BAND = 0.015
/** Rates are rounded to this step, so tiny changes don't re-set playbackRate every tick. */
const RATE_STEP = 0.005

/** The player options the rate depends on (see PlayerOptions). */
export interface LiveEdgeOptions { targetLatency: number, catchUpRate: number, slowRate: number }

/** The low point: the last LOW_SAMPLES buffer-ahead samples taken as blocks arrived. */
export class LowPoint {
  private samples: Array<[at: number, ahead: number]> = []

  /** A block was appended while playing, with `ahead` seconds buffered ahead of the playhead. */
  add (now: number, ahead: number): void {
    this.samples.push([now, ahead])
    if (this.samples.length > LOW_SAMPLES) this.samples.shift()
  }

  /** The smallest sample of the last LOW_MAX_AGE_MS before `now`, or null without one. */
  value (now: number): number | null {
    this.samples = this.samples.filter(([at]) => now - at <= LOW_MAX_AGE_MS)
    if (this.samples.length === 0) return null
    return Math.min(...this.samples.map(([, v]) => v))
  }

  /** Samples held (as of the last {@link value}). */
  get count (): number { return this.samples.length }

  /** Forgets every sample (after a seek they describe another position). */
  clear (): void { this.samples = [] }
}

/**
 * The playbackRate for `low`, the smallest buffer ahead of the playhead seen when recent blocks
 * arrived (null without recent samples), and `ahead`, the buffer ahead now. Pure.
 */
export function liveEdgeRate (low: number | null, ahead: number, opts: LiveEdgeOptions): number {
  if (ahead < opts.targetLatency / 2) return opts.slowRate
  if (low === null) return 1
  const error = low - opts.targetLatency
  if (Math.abs(error) <= LOW_DEAD_BAND) return 1
  const rate = Math.round((1 + LOW_GAIN * error) / RATE_STEP) * RATE_STEP
  return Math.min(opts.catchUpRate, Math.max(opts.slowRate, rate))
}
