import { describe, expect, it } from 'vitest'
import { createRandom } from '../src/sim/random.js'
import { liveEdgeRate, LowPoint } from '../src/media/live-edge.js'
import { DEFAULT_PLAYER_OPTIONS } from '../src/media/player.js'

const OPTS = {
  targetLatency: DEFAULT_PLAYER_OPTIONS.targetLatency,
  catchUpRate: DEFAULT_PLAYER_OPTIONS.catchUpRate,
  slowRate: DEFAULT_PLAYER_OPTIONS.slowRate
}

interface SimResult {
  /** Buffer ahead at each arrival, after `settleS`. */
  lows: number[]
  /** Mean distance to the newest buffered media after `settleS`. */
  meanLatency: number
  /** Seconds the playhead sat at the end of the buffer (a stall). */
  stalledS: number
}

/**
 * A viewer the way the player sees it: blocks of `stepS` media arrive every `periodS` (± jitter)
 * and move the buffered end; the playhead advances at the playbackRate the control picks on
 * every tick, from the smallest buffer-ahead sampled at the last 4 arrivals.
 */
function simulate (startAheadS: number, opts: { periodS?: number, stepS?: number, jitterS?: number, seed?: number, durationS?: number, settleS?: number } = {}): SimResult {
  const periodS = opts.periodS ?? 0.285
  const stepS = opts.stepS ?? 0.285
  const jitterS = opts.jitterS ?? 0
  const durationS = opts.durationS ?? 30
  const settleS = opts.settleS ?? 15
  const random = createRandom(opts.seed ?? 1)
  const dt = 0.005
  const tickS = 0.25
  let edge = 10
  let playhead = edge - startAheadS
  let rate = 1
  let nextArrival = periodS
  let nextTick = 0
  const recent = new LowPoint()
  const lows: number[] = []
  let latencySum = 0
  let latencyN = 0
  let stalledS = 0
  for (let now = 0; now < durationS; now += dt) {
    if (now >= nextArrival) {
      const ahead = Math.max(0, edge - playhead)
      recent.add(now * 1000, ahead)
      if (now >= settleS) lows.push(ahead)
      edge += stepS
      nextArrival += periodS + (random() * 2 - 1) * jitterS
    }
    if (now >= nextTick) {
      rate = liveEdgeRate(recent.value(now * 1000), Math.max(0, edge - playhead), OPTS)
      nextTick += tickS
    }
    if (playhead + rate * dt <= edge) playhead += rate * dt
    else {
      playhead = edge
      stalledS += dt
    }
    if (now >= settleS) {
      latencySum += edge - playhead
      latencyN++
    }
  }
  return { lows, meanLatency: latencySum / latencyN, stalledS }
}

describe('the low point (LowPoint)', () => {
  it('is the smallest of the last four samples, samples over 2 s old drop out, and a seek clears it', () => {
    const low = new LowPoint()
    expect(low.value(0)).toBe(null)
    for (const [at, ahead] of [[0, 0.1], [300, 0.5], [600, 0.4], [900, 0.3]] as const) low.add(at, ahead)
    expect(low.value(900)).toBe(0.1)
    low.add(1200, 0.6) // the 0.1 is the fifth sample back
    expect(low.value(1200)).toBe(0.3)
    expect(low.count).toBe(4)
    expect(low.value(2850)).toBe(0.3) // the samples at 300 and 600 are over 2 s old
    expect(low.count).toBe(2)
    expect(low.value(2950)).toBe(0.6) // and now the one at 900
    low.clear()
    expect(low.value(2950)).toBe(null)
  })
})

describe('live-edge control (liveEdgeRate)', () => {
  it('plays at 1 when the low point is on target, and without samples', () => {
    expect(liveEdgeRate(OPTS.targetLatency, 0.3, OPTS)).toBe(1)
    expect(liveEdgeRate(OPTS.targetLatency + 0.01, 0.3, OPTS)).toBe(1)
    expect(liveEdgeRate(null, 0.3, OPTS)).toBe(1)
  })

  it('speeds up in proportion when behind, capped at catchUpRate', () => {
    const a = liveEdgeRate(OPTS.targetLatency + 0.06, 0.4, OPTS)
    const b = liveEdgeRate(OPTS.targetLatency + 0.12, 0.4, OPTS)
    expect(a).toBeGreaterThan(1)
    expect(b).toBeGreaterThan(a)
    expect(liveEdgeRate(OPTS.targetLatency + 2, 3, OPTS)).toBe(OPTS.catchUpRate)
  })

  it('slows down (not below slowRate) when the low point is under target', () => {
    const r = liveEdgeRate(OPTS.targetLatency - 0.03, 0.3, OPTS)
    expect(r).toBeLessThan(1)
    expect(r).toBeGreaterThanOrEqual(OPTS.slowRate)
  })

  it('plays at slowRate when the buffer ahead is thinner than half the target, even if behind', () => {
    expect(liveEdgeRate(OPTS.targetLatency + 1, OPTS.targetLatency / 2 - 0.001, OPTS)).toBe(OPTS.slowRate)
  })

  it('honours other options', () => {
    const o = { targetLatency: 0.5, catchUpRate: 1.25, slowRate: 0.9 }
    expect(liveEdgeRate(0.5, 1, o)).toBe(1)
    expect(liveEdgeRate(3, 3, o)).toBe(1.25)
    expect(liveEdgeRate(0.5, 0.2, o)).toBe(0.9)
  })

  it('settles every viewer at the same low point whatever its start offset', () => {
    const settled = [0.02, 0.1, 0.3, 0.55, 0.8].map((start) => {
      const r = simulate(start)
      return Math.min(...r.lows)
    })
    for (const low of settled) expect(Math.abs(low - OPTS.targetLatency)).toBeLessThanOrEqual(0.025)
    // The old dead-band control settled anywhere in a 0.3 s band; this one within a few frames.
    expect(Math.max(...settled) - Math.min(...settled)).toBeLessThanOrEqual(0.03)
  })

  it('holds about target + half a block on average and does not stall with arrival jitter', () => {
    for (const seed of [1, 2, 3]) {
      const r = simulate(0.6, { jitterS: 0.03, seed })
      expect(r.stalledS).toBe(0)
      expect(r.meanLatency).toBeGreaterThan(OPTS.targetLatency)
      expect(r.meanLatency).toBeLessThan(OPTS.targetLatency + 0.285 / 2 + 0.08)
    }
  })
})
