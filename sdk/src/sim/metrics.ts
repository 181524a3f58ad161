/**
 * The figures of one simulated run, computed from what swarm-sim.ts recorded. Honest viewers
 * only (tamperers are left out of delivery figures); times in virtual ms unless named `wall`.
 *
 * Definitions
 * - A viewer's *start* is the first block it verified; from there on it is *expected* to verify
 *   every block appended at least `deadlineMs` before it left (or the run ended).
 * - *Latency*: broadcaster's append → the block verified at the viewer (virtual time).
 * - *Hop*: relays a block crossed: 1 from the broadcaster, the sender's hop + 1 otherwise
 *   (the sender is the peer whose piece completed the block, from the `verified` event).
 * - *Deadline miss*: an expected block not verified within `deadlineMs` of its append.
 * - *Duplicate bytes*: PIECE frames carrying a piece the viewer had already received.
 * - *Broadcaster upload*: frame bytes its uplink sent / stream bytes appended.
 * @module
 */
import type { SimNode, SwarmSim } from './swarm-sim.js'

/** p50/p95/p99 and mean of a sample. */
export interface Percentiles { count: number, mean: number, p50: number, p95: number, p99: number, max: number }

/** The p-th percentile (0–100) of ascending `sorted`, by nearest rank. */
export function percentileOf (sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] as number
}

/** Summary statistics of `values`. */
export function describe (values: ArrayLike<number>): Percentiles {
  const s = Float64Array.from(values).sort()
  let sum = 0
  for (let i = 0; i < s.length; i++) sum += s[i] as number
  return {
    count: s.length,
    mean: s.length === 0 ? NaN : sum / s.length,
    p50: percentileOf(s, 50),
    p95: percentileOf(s, 95),
    p99: percentileOf(s, 99),
    max: s.length === 0 ? NaN : s[s.length - 1] as number
  }
}

/** Everything one run reports. */
export interface SimResult {
  scenario: {
    seed: number, viewers: number, durationMs: number, blocks: number, blockMs: number, bitrate: number,
    peakViewers: number, joined: number, left: number, tamperers: number, links: number,
    sharedSignatureCache: boolean, broadcasterUploadBps: number, topology: Record<string, number>,
    core: Record<string, unknown>
  }
  streamBytes: number
  /** Broadcaster frame bytes sent / stream bytes appended. */
  broadcasterUploadMultiple: number
  /** Share of viewer-received bytes that did not come from the broadcaster. */
  offload: number
  latency: Percentiles
  latencyByHop: Array<{ hop: string, share: number } & Percentiles>
  /** Late joiners (joined after the first append): join → first verified block / keyframe block. */
  startup: { joiners: number, neverStarted: number, firstBlock: Percentiles, firstKeyframe: Percentiles }
  /** Expected (viewer, block) pairs, those never verified, and those that missed the deadline. */
  delivery: { expected: number, undelivered: number, deadlineMisses: number, deadlineMissShare: number }
  /**
   * The same for blocks appended `steadyFromMs` or more after the stream started: the swarm past
   * its flash crowd (every initial viewer joins in the first second, before anyone's upload is
   * known). Null when the stream is not longer than that.
   */
  steady: { fromMs: number, latency: Percentiles, expected: number, undelivered: number, deadlineMissShare: number } | null
  /** Viewers that did not verify every expected block (id, missing count). */
  incompleteViewers: Array<{ id: string, missing: number, first: number }>
  duplicateBytes: number
  duplicateShare: number
  /** Share of the blocks honest viewers received whose header an upstream pushed (not pulled). */
  pushedShare: number
  /** Frames and bytes received by all honest viewers, by message type. */
  bytesByType: Record<string, { frames: number, bytes: number }>
  memory: {
    meanLogBytes: number, maxLogBytes: number, meanLogBlocks: number,
    samples: Array<{ tMs: number, viewers: number, meanLogBytes: number, meanLogBlocks: number, probe?: number }>
  }
  cpu: { wallMs: number, verifiedBlocks: number, wallMsPerVerifiedBlock: number, events: number, yields: number }
  signatures: { verifications: number, cacheHits: number }
  /** Connections dropped by honest viewers for data that failed verification. */
  invalidDrops: number
  /** Rescue links opened between the broadcaster and starving viewers (swarm/topology.ts). */
  rescueLinks: number
  /** `error` events of any core instance (none expected), first ten. */
  errors: { count: number, first: string[] }
  /** Per upload class: viewers and their mean upload as a multiple of the bit rate. */
  uploadByClass: Record<string, { viewers: number, meanUploadMultiple: number }>
}

/** Computes a run's {@link SimResult}. */
export function summarise (sim: SwarmSim, wallMs: number): SimResult {
  const o = sim.opts
  const viewers = sim.nodes.filter(n => n.role === 'viewer' && !n.tamper)
  const streamBytes = sim.blockBytes.reduce((a, v) => a + v, 0)
  const latencies: number[] = []
  const byHop = new Map<string, number[]>()
  const incomplete: SimResult['incompleteViewers'] = []
  let expected = 0
  let undelivered = 0
  let misses = 0
  let verifiedBlocks = 0
  const steadyFrom = sim.streamStart + o.steadyFromMs
  const steadyLatencies: number[] = []
  let steadyExpected = 0
  let steadyMissing = 0
  let steadyMisses = 0
  for (const v of viewers) {
    let first = -1
    for (let i = 0; i < sim.blocks; i++) {
      const at = v.verifiedAt[i] as number
      if (Number.isNaN(at)) continue
      if (first < 0) first = i
      verifiedBlocks++
      const lat = at - (sim.appendAt[i] as number)
      latencies.push(lat)
      if ((sim.appendAt[i] as number) >= steadyFrom) steadyLatencies.push(lat)
      const h = v.hop[i] as number
      const key = h < 0 ? '?' : h >= 6 ? '6+' : String(h)
      let list = byHop.get(key)
      if (list === undefined) byHop.set(key, list = [])
      list.push(lat)
    }
    if (first < 0) continue
    const until = (v.leftAt ?? sim.end) - o.deadlineMs
    let missing = 0
    for (let i = first; i < sim.blocks && (sim.appendAt[i] as number) <= until; i++) {
      expected++
      const steady = (sim.appendAt[i] as number) >= steadyFrom
      if (steady) steadyExpected++
      const at = v.verifiedAt[i] as number
      const miss = Number.isNaN(at) || at - (sim.appendAt[i] as number) > o.deadlineMs
      if (Number.isNaN(at)) missing++
      if (miss) misses++
      if (steady && Number.isNaN(at)) steadyMissing++
      if (steady && miss) steadyMisses++
    }
    undelivered += missing
    if (missing > 0) incomplete.push({ id: v.id, missing, first })
  }
  const hops = [...byHop.keys()].sort((a, b) => (a === '?' ? 99 : parseInt(a)) - (b === '?' ? 99 : parseInt(b)))
  const lateJoiners = viewers.filter(v => v.joinAt >= sim.streamStart)
  const firstBlock: number[] = []
  const firstKeyframe: number[] = []
  let neverStarted = 0
  for (const v of lateJoiners) {
    let fb = Infinity
    let fk = Infinity
    for (let i = 0; i < sim.blocks; i++) {
      const at = v.verifiedAt[i] as number
      if (Number.isNaN(at)) continue
      fb = Math.min(fb, at)
      if ((sim.blockFlags[i] as number) !== 0) fk = Math.min(fk, at)
    }
    if (fb === Infinity) { neverStarted++; continue }
    firstBlock.push(fb - v.joinAt)
    if (fk !== Infinity) firstKeyframe.push(fk - v.joinAt)
  }
  let bytesIn = 0
  let fromB = 0
  let dup = 0
  const bytesByType: Record<string, { frames: number, bytes: number }> = {}
  for (const v of viewers) {
    bytesIn += v.bytesIn
    fromB += v.bytesInFromBroadcaster
    dup += v.duplicateBytes
    for (const [type, t] of v.byType) {
      const acc = bytesByType[type] ?? (bytesByType[type] = { frames: 0, bytes: 0 })
      acc.frames += t.frames
      acc.bytes += t.bytes
    }
  }
  let pushed = 0
  let pulled = 0
  for (const v of viewers) { const s = v.mro.stats(); pushed += s.blocksPushed; pulled += s.blocksPulled }
  const live = viewers.filter(v => v.leftAt === null && !v.mro.destroyed)
  const logBytes = live.map(v => v.mro.stats().bytes)
  const logBlocks = live.map(v => v.mro.stats().blocks)
  const uploadByClass: SimResult['uploadByClass'] = {}
  for (const v of viewers) {
    const secs = (((v.leftAt ?? sim.end) - v.joinAt) / 1000) || 1
    const c = uploadByClass[v.uploadClass] ?? (uploadByClass[v.uploadClass] = { viewers: 0, meanUploadMultiple: 0 })
    c.meanUploadMultiple += v.uplink.bytesSent * 8 / secs / o.bitrate
    c.viewers++
  }
  for (const c of Object.values(uploadByClass)) c.meanUploadMultiple /= c.viewers
  const sig = sim.signatureCache !== null
    ? { verifications: sim.signatureCache.verifications, cacheHits: sim.signatureCache.hits }
    : sim.nodes.reduce((a, n) => { const s = n.mro.stats(); return { verifications: a.verifications + s.signatureVerifications, cacheHits: a.cacheHits + s.signatureCacheHits } }, { verifications: 0, cacheHits: 0 })
  const core: Record<string, unknown> = {}
  for (const [k, val] of Object.entries(o.core)) if (typeof val !== 'object' && typeof val !== 'function') core[k] = val
  return {
    scenario: {
      seed: o.seed, viewers: o.viewers, durationMs: o.durationMs, blocks: sim.blocks, blockMs: o.blockMs, bitrate: o.bitrate,
      peakViewers: Math.max(0, ...sim.memorySamples.map(s => s.viewers)),
      joined: viewers.length, left: viewers.filter(v => v.leftAt !== null).length, tamperers: o.tamperers, links: sim.links,
      sharedSignatureCache: o.sharedSignatureCache, broadcasterUploadBps: o.broadcasterUploadBps,
      topology: { ...o.topology }, core
    },
    streamBytes,
    broadcasterUploadMultiple: sim.broadcaster.uplink.bytesSent / streamBytes,
    offload: bytesIn === 0 ? NaN : 1 - fromB / bytesIn,
    latency: describe(latencies),
    latencyByHop: hops.map(h => ({ hop: h, share: (byHop.get(h) as number[]).length / latencies.length, ...describe(byHop.get(h) as number[]) })),
    startup: { joiners: lateJoiners.length, neverStarted, firstBlock: describe(firstBlock), firstKeyframe: describe(firstKeyframe) },
    delivery: { expected, undelivered, deadlineMisses: misses, deadlineMissShare: expected === 0 ? NaN : misses / expected },
    steady: steadyExpected === 0
      ? null
      : { fromMs: o.steadyFromMs, latency: describe(steadyLatencies), expected: steadyExpected, undelivered: steadyMissing, deadlineMissShare: steadyMisses / steadyExpected },
    incompleteViewers: incomplete,
    duplicateBytes: dup,
    duplicateShare: bytesIn === 0 ? NaN : dup / bytesIn,
    pushedShare: pushed + pulled === 0 ? NaN : pushed / (pushed + pulled),
    bytesByType,
    memory: {
      meanLogBytes: mean(logBytes), maxLogBytes: Math.max(0, ...logBytes), meanLogBlocks: mean(logBlocks),
      samples: sim.memorySamples
    },
    cpu: { wallMs, verifiedBlocks, wallMsPerVerifiedBlock: verifiedBlocks === 0 ? NaN : wallMs / verifiedBlocks, events: sim.clock.eventsRun, yields: sim.clock.yields },
    signatures: sig,
    invalidDrops: viewers.reduce((a, v: SimNode) => a + v.invalidSeen, 0),
    rescueLinks: sim.rescueLinks,
    uploadByClass,
    errors: { count: sim.errors.length, first: sim.errors.slice(0, 10) }
  }
}

const mean = (xs: number[]): number => xs.length === 0 ? NaN : xs.reduce((a, v) => a + v, 0) / xs.length
