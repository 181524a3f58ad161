import { describe, expect, it } from 'vitest'
import { createRandom, dealUploadClasses, DEFAULT_SIM_OPTIONS, simulate, SwarmSim, VirtualClock, type SimOptions, type SimResult } from '../src/sim/index.js'
import { summarise } from '../src/sim/metrics.js'
import { DEFAULT_TOPOLOGY } from '../src/swarm/topology.js'

/** 50 viewers with enough upload, one tampering peer, lossy 20–80 ms links, a 4 s stream. */
const scenario: Partial<SimOptions> = {
  seed: 7,
  viewers: 50,
  durationMs: 4000,
  warmupMs: 1500,
  tailMs: 5000,
  uploadMix: [{ label: 'mid', share: 1, bitsPerSecond: 5_000_000 }],
  tamperers: 1,
  lossRate: 0.002
}

/** Everything but wall-clock figures. */
function figures (r: SimResult): Omit<SimResult, 'cpu' | 'signatures'> & { events: number } {
  const { cpu, signatures: _signatures, ...rest } = r
  return { ...rest, events: cpu.events }
}

describe('swarm simulator', () => {
  let first: SimResult

  it('every viewer verifies every block from its start in a 50-peer swarm', async () => {
    first = await simulate(scenario)
    expect(first.errors.count).toBe(0)
    expect(first.scenario.joined).toBe(50)
    expect(first.scenario.blocks).toBeGreaterThanOrEqual(13)
    expect(first.incompleteViewers).toEqual([])
    expect(first.delivery.undelivered).toBe(0)
    // Every viewer started at block 0 or 1 (all joined before the first append; one first told
    // of block 1 starts there, as a live viewer does: a broadcaster child tells of a block it
    // relays second-hand fullHaveDelay late)…
    expect(first.delivery.expected).toBeGreaterThan(50 * (first.scenario.blocks - 1))
    // …and the blocks crossed relays: the mesh, not the broadcaster, served most bytes.
    expect(first.offload).toBeGreaterThan(0.5)
    expect(first.latencyByHop.some(h => h.hop === '2')).toBe(true)
    // The tampering peer was caught by its neighbours.
    expect(first.invalidDrops).toBeGreaterThan(0)
  }, 30_000)

  it('the same seed gives the same numbers', async () => {
    const again = await simulate(scenario)
    expect(figures(again)).toEqual(figures(first))
  }, 30_000)

  it('a shared signature cache changes no delivery figure, only the verifications run', async () => {
    const shared = await simulate({ ...scenario, sharedSignatureCache: true })
    expect(figures(shared)).toEqual({ ...figures(first), scenario: { ...figures(first).scenario, sharedSignatureCache: true } })
    expect(shared.signatures.verifications).toBeLessThan(first.signatures.verifications / 10)
  }, 30_000)

  it('another seed gives other numbers', async () => {
    const other = await simulate({ ...scenario, seed: 8, sharedSignatureCache: true })
    expect(other.latency).not.toEqual(first.latency)
  }, 30_000)
})

describe('upload classes', () => {
  const mix = DEFAULT_SIM_OPTIONS.uploadMix
  const counts = (deck: ReadonlyArray<{ label: string }>): Record<string, number> =>
    deck.reduce<Record<string, number>>((a, c) => ({ ...a, [c.label]: (a[c.label] ?? 0) + 1 }), {})

  it('a deck of n holds the shares exactly, the remainder to the largest fractions', () => {
    expect(counts(dealUploadClasses(mix, 10, createRandom(1)))).toEqual({ weak: 3, mid: 5, strong: 2 })
    expect(counts(dealUploadClasses(mix, 100, createRandom(1)))).toEqual({ weak: 30, mid: 50, strong: 20 })
    // 7 × (0.3, 0.5, 0.2) = 2.1, 3.5, 1.4: floors 2, 3, 1 and the one left to the 0.5.
    expect(counts(dealUploadClasses(mix, 7, createRandom(1)))).toEqual({ weak: 2, mid: 4, strong: 1 })
    expect(dealUploadClasses(mix, 1, createRandom(1)).map(c => c.label)).toEqual(['mid'])
  })

  it('the order is shuffled by the seed, the same for the same seed', () => {
    const order = (seed: number): string => dealUploadClasses(mix, 20, createRandom(seed)).map(c => c.label[0]).join('')
    expect(order(1)).toBe(order(1))
    expect(new Set([1, 2, 3, 4].map(order)).size).toBeGreaterThan(1)
  })

  it('a simulated population of ten viewers has three weak, five mid and two strong uplinks', async () => {
    const r = await simulate({ seed: 1, viewers: 10, durationMs: 600, warmupMs: 1500, tailMs: 500 })
    expect(Object.fromEntries(Object.entries(r.uploadByClass).map(([k, v]) => [k, v.viewers]))).toEqual({ weak: 3, mid: 5, strong: 2 })
  }, 30_000)
})

describe('a swarm short of upload', () => {
  /** Eight viewers at 1 Mbit/s: 3.2 copies of the stream's upload for the seven beyond the first. */
  const short: Partial<SimOptions> = {
    seed: 7,
    viewers: 8,
    durationMs: 15_000,
    warmupMs: 1500,
    tailMs: 3000,
    steadyFromMs: 6000,
    uploadMix: [{ label: 'weak', share: 1, bitsPerSecond: 1_000_000 }]
  }

  it('starving viewers take rescue links to the broadcaster and get their blocks; without them most never come', async () => {
    const rescued = await simulate(short)
    const alone = await simulate({ ...short, topology: { ...DEFAULT_TOPOLOGY, rescueLateBlocks: 0 } })
    expect(rescued.errors.count).toBe(0)
    expect(rescued.rescueLinks).toBeGreaterThan(0)
    expect(alone.rescueLinks).toBe(0)
    const steady = rescued.steady as NonNullable<SimResult['steady']>
    const unrescued = alone.steady as NonNullable<SimResult['steady']>
    expect(steady.undelivered).toBeLessThanOrEqual(0.02 * steady.expected)
    expect(unrescued.undelivered).toBeGreaterThan(0.5 * unrescued.expected)
    expect(steady.deadlineMissShare).toBeLessThan(0.25)
    expect(unrescued.deadlineMissShare).toBeGreaterThan(0.5)
    // The broadcaster gives what the swarm cannot: more than its one copy, less than a star's eight.
    expect(rescued.broadcasterUploadMultiple).toBeGreaterThan(alone.broadcasterUploadMultiple)
    expect(rescued.broadcasterUploadMultiple).toBeLessThan(8)
  }, 30_000)
})

describe('a broadcaster child leaving', () => {
  it('leaves at rootLeavesAtMs; its slot goes to a strong viewer that dialled the broadcaster, and every block still arrives', async () => {
    // Seed 4: filled at random, the slot went to a 5 Mbit/s viewer.
    const sim = new SwarmSim({
      seed: 4,
      viewers: 30,
      durationMs: 12_000,
      warmupMs: 1500,
      tailMs: 4000,
      uploadMix: [{ label: 'mid', share: 0.8, bitsPerSecond: 5_000_000 }, { label: 'strong', share: 0.2, bitsPerSecond: 20_000_000 }],
      rootLeavesAtMs: [6000]
    })
    await sim.run()
    const r = summarise(sim, 0)
    expect(r.errors.count).toBe(0)
    const at = sim.streamStart + 6000
    const gone = sim.nodes.filter(n => n.leftAt === at)
    expect(gone).toHaveLength(1)
    const child = gone[0] as (typeof sim.nodes)[number]
    const firstHop = (i: number): Array<(typeof sim.nodes)[number]> => sim.nodes.filter(n => n.role === 'viewer' && n.hop[i] === 1)
    const before = Math.floor(6000 / sim.opts.blockMs) - 4
    expect(firstHop(before)).toContain(child) // it was a child: blocks came to it straight from the broadcaster
    const after = sim.blocks - 1
    expect(firstHop(after).length).toBeGreaterThan(0)
    for (const n of firstHop(after)) expect(n.uploadClass).toBe('strong')
    expect(r.delivery.undelivered).toBe(0)
    expect(r.incompleteViewers).toEqual([])
    expect(() => new SwarmSim({ rootLeavesAtMs: [-1] })).toThrow(RangeError)
  }, 30_000)
})

describe('virtual clock', () => {
  it('runs timers in time order, then insertion order, without waiting', async () => {
    const clock = new VirtualClock({ quantumMs: 0 })
    const seen: string[] = []
    clock.setTimeout(() => { seen.push(`b@${clock.elapsed}`) }, 20)
    clock.setTimeout(() => { seen.push(`a@${clock.elapsed}`) }, 10)
    clock.setTimeout(() => { seen.push(`c@${clock.elapsed}`) }, 20)
    const cancelled = clock.setTimeout(() => { seen.push('cancelled') }, 15)
    clock.clearTimeout(cancelled)
    const t0 = performance.now()
    await clock.run(clock.now() + 60_000)
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(seen).toEqual(['a@10', 'b@20', 'c@20'])
    expect(clock.elapsed).toBe(60_000)
  })

  it('lets microtask chains finish before time advances', async () => {
    const clock = new VirtualClock({ quantumMs: 1 })
    const at: number[] = []
    clock.setTimeout(() => {
      const chain = (n: number): void => { if (n === 0) at.push(clock.elapsed); else queueMicrotask(() => { chain(n - 1) }) }
      chain(50)
      Promise.resolve().then(() => Promise.resolve()).then(() => { at.push(clock.elapsed) }, () => {})
    }, 5)
    clock.setTimeout(() => { at.push(clock.elapsed) }, 6)
    await clock.run(clock.now() + 10)
    expect(at).toEqual([5, 5, 6])
  })
})
