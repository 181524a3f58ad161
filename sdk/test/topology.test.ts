/**
 * Topology policy (swarm/topology.ts): who dials whom, who accepts, and where upload puts a viewer.
 */
import { describe, expect, it } from 'vitest'
import type { PeerRole } from '../src/signaling/protocol.js'
import { munro } from '../src/munro.js'
import { joinSwarm } from '../src/swarm/swarm.js'
import {
  admit, checkTopology, DEFAULT_TOPOLOGY, extraPeers, LateBlocks, pickDials, refusalBackoff, RESCUE_IDLE_MS, RESCUE_WINDOW_MS, rescueDial, rescueIdle, planMaintain, RootCandidates, rootToReplace,
  MAX_ROOT_CANDIDATES,
  shouldAccept, siblingsOf, UNMEASURED_ROOT_RETRY_MS, wantsRescue, type TopologyState
} from '../src/swarm/topology.js'

const opts = DEFAULT_TOPOLOGY
const room = (viewers: number, broadcaster = true): Map<string, PeerRole> => {
  const m = new Map<string, PeerRole>()
  if (broadcaster) m.set('b', 'broadcaster')
  for (let i = 0; i < viewers; i++) m.set(`v${i}`, 'viewer')
  return m
}
const state = (extra: Partial<TopologyState> = {}): TopologyState => ({
  role: 'viewer', id: 'me', members: room(20), connected: new Set(), backoff: new Map(), now: 1000, upload: null, siblings: new Set(), rescue: new Set(), ...extra
})
const ids = (n: number, prefix = 'v'): Set<string> => new Set(Array.from({ length: n }, (_, i) => `${prefix}${i}`))
const rnd = (): number => 0.5

describe('options', () => {
  it('the defaults pass; a bad value is ERR_INVALID_ARGUMENT naming the option', () => {
    expect(() => { checkTopology(DEFAULT_TOPOLOGY) }).not.toThrow()
    expect(() => { checkTopology({ ...DEFAULT_TOPOLOGY, maxSiblings: 0, maxRescuePeers: 0, rescueLateBlocks: 0, retryAfterMs: 0 }) }).not.toThrow()
    const bad: Array<[string, unknown]> = [
      ['maxPeers', 0], ['maxPeers', 2.5], ['maxBroadcasterPeers', 0], ['acceptSlack', -1], ['maxExtraPeers', Number.NaN],
      ['maxSiblings', '3'], ['maxRescuePeers', Infinity], ['rescueLateBlocks', -1], ['retryAfterMs', -5],
      ['rootRetryMs', Infinity], ['minRootCopies', Number.NaN]
    ]
    for (const [name, value] of bad) {
      expect(() => { checkTopology({ ...DEFAULT_TOPOLOGY, [name]: value }) }, `${name} = ${String(value)}`)
        .toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining(name) }))
    }
  })

  it('joinSwarm refuses bad options before it connects anywhere', () => {
    const m = munro()
    for (const extra of [{ maxPeers: -1 }, { connectTimeout: 0 }, { maintainIntervalMs: 1 }, { random: 0.5 as unknown as () => number }]) {
      expect(() => joinSwarm(m, { signal: 'ws://127.0.0.1:9', ...extra })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    }
    void m.destroy()
  })
})

describe('dialling', () => {
  it('a new viewer dials the broadcaster first, then random viewers, up to maxPeers', () => {
    const dials = pickDials(opts, state(), rnd)
    expect(dials).toHaveLength(opts.maxPeers)
    expect(dials[0]).toBe('b')
    expect(new Set(dials).size).toBe(dials.length)
  })

  it('a viewer with maxPeers connections dials nobody; one in back-off is skipped', () => {
    expect(pickDials(opts, state({ connected: ids(opts.maxPeers) }), rnd)).toEqual([])
    const dials = pickDials(opts, state({ backoff: new Map([['b', 5000]]) }), rnd)
    expect(dials).not.toContain('b')
    expect(pickDials(opts, state({ backoff: new Map([['b', 500]]) }), rnd)[0]).toBe('b') // back-off over
  })

  it('a viewer measured below minRootCopies does not dial the broadcaster; one measured above does, even with all its peers', () => {
    expect(pickDials(opts, state({ upload: opts.minRootCopies - 0.5 }), rnd)).not.toContain('b')
    expect(pickDials(opts, state({ upload: opts.minRootCopies + 0.5 }), rnd)[0]).toBe('b')
    const full = ids(opts.maxPeers + extraPeers(opts, 8))
    expect(pickDials(opts, state({ upload: 8, connected: full }), rnd)).toEqual(['b'])
    expect(pickDials(opts, state({ upload: null, connected: ids(opts.maxPeers) }), rnd)).toEqual([])
    expect(pickDials(opts, state({ upload: 8, connected: full, backoff: new Map([['b', 5000]]) }), rnd)).toEqual([])
  })

  it('a viewer measured strong dials for its extra peers too; an unmeasured one stops at maxPeers', () => {
    const full = ids(opts.maxPeers)
    expect(pickDials(opts, state({ connected: full, upload: null }), rnd)).toEqual([])
    expect(pickDials(opts, state({ connected: full, upload: 2 }), rnd)).toEqual([])
    expect(pickDials(opts, state({ connected: full, upload: 4 }), rnd)).toHaveLength(extraPeers(opts, 4))
  })

  it('a broadcaster child dials its siblings whatever its connections, the lower id of each pair dialling', () => {
    const members = new Map([...room(20), ['a1', 'viewer'], ['z9', 'viewer']] as Array<[string, PeerRole]>)
    const full = ids(opts.maxPeers + opts.acceptSlack + opts.maxExtraPeers)
    const child = state({ id: 'm5', members, connected: new Set(['b', ...full]), siblings: new Set(['a1', 'z9']) })
    expect(pickDials(opts, child, rnd)).toEqual(['z9']) // 'm5' < 'z9'; 'a1' < 'm5' dials us
    expect(pickDials(opts, { ...child, backoff: new Map([['z9', 5000]]) }, rnd)).toEqual([])
    expect(pickDials(opts, { ...child, siblings: new Set() }, rnd)).toEqual([])
  })

  it('a child links to at most maxSiblings of the siblings it is told of, never itself, ignoring junk', () => {
    expect([...siblingsOf(opts, ['c1', 'me', 7, 'c2', 'c3', 'c4'], 'me')]).toEqual(['c1', 'c2', 'c3'])
    expect(siblingsOf({ ...opts, maxSiblings: 0 }, ['c1'], 'me').size).toBe(0)
  })

  it('refused by the full broadcaster before its upload was measured, a viewer may try again about a probe later; measured, rootRetryMs later', () => {
    expect(refusalBackoff(opts, 'broadcaster', null)).toBe(UNMEASURED_ROOT_RETRY_MS)
    expect(UNMEASURED_ROOT_RETRY_MS).toBeLessThan(opts.rootRetryMs)
    expect(refusalBackoff(opts, 'broadcaster', 8)).toBe(opts.rootRetryMs)
    expect(refusalBackoff(opts, 'viewer', null)).toBe(opts.retryAfterMs)
    expect(refusalBackoff(opts, 'viewer', 8)).toBe(opts.retryAfterMs)
  })

  it('the broadcaster dials one viewer at a time while it has a free slot, and none when full', () => {
    const b = state({ role: 'broadcaster', members: room(20, false) })
    expect(pickDials(opts, b, rnd)).toHaveLength(1)
    expect(pickDials(opts, { ...b, connected: ids(opts.maxBroadcasterPeers) }, rnd)).toEqual([])
  })

  it('the broadcaster fills a free slot with the strongest viewer that dialled it lately, not connected nor in back-off; else at random', () => {
    const candidates = new RootCandidates(opts)
    candidates.heard('v3', 4, 0)
    candidates.heard('v7', 8, 0)
    candidates.heard('v9', 20, 0)
    const b = state({ role: 'broadcaster', members: room(20, false), now: 1000 })
    expect(pickDials(opts, { ...b, rootCandidates: candidates.current(1000) }, rnd)).toEqual(['v9'])
    expect(pickDials(opts, { ...b, rootCandidates: candidates.current(1000), connected: new Set(['v9']) }, rnd)).toEqual(['v7'])
    expect(pickDials(opts, { ...b, rootCandidates: candidates.current(1000), backoff: new Map([['v9', 5000], ['v7', 5000]]) }, rnd)).toEqual(['v3'])
    const gone = new Map([...room(20, false)].filter(([id]) => id !== 'v9'))
    expect(pickDials(opts, { ...b, rootCandidates: candidates.current(1000), members: gone }, rnd)).toEqual(['v7'])
    expect(pickDials(opts, { ...b, rootCandidates: new Map() }, rnd)).toEqual(pickDials(opts, b, rnd))
  })

  it('root candidates: only viewers measured at minRootCopies or more, for two rootRetryMs, the latest MAX_ROOT_CANDIDATES', () => {
    const c = new RootCandidates(opts)
    c.heard('weak', opts.minRootCopies - 0.1, 0)
    c.heard('unmeasured', null, 0)
    c.heard('strong', opts.minRootCopies, 0)
    expect([...c.current(0)]).toEqual([['strong', opts.minRootCopies]])
    c.heard('strong', 1, 10) // measured again, weak now: forgotten
    expect(c.current(10).size).toBe(0)
    c.heard('strong', 8, 0)
    expect(c.current(2 * opts.rootRetryMs - 1).has('strong')).toBe(true)
    expect(c.current(2 * opts.rootRetryMs).has('strong')).toBe(false)
    for (let i = 0; i <= MAX_ROOT_CANDIDATES; i++) c.heard(`v${i}`, 8, 100)
    const kept = c.current(100)
    expect(kept.size).toBe(MAX_ROOT_CANDIDATES)
    expect(kept.has('v0')).toBe(false)
    expect(kept.has(`v${MAX_ROOT_CANDIDATES}`)).toBe(true)
  })
})

describe('accepting', () => {
  it('the broadcaster accepts maxBroadcasterPeers viewers', () => {
    const b = state({ role: 'broadcaster' })
    expect(shouldAccept(opts, { ...b, connected: ids(opts.maxBroadcasterPeers - 1) }, 'viewer', 'x')).toBe(true)
    expect(shouldAccept(opts, { ...b, connected: ids(opts.maxBroadcasterPeers) }, 'viewer', 'x')).toBe(false)
  })

  it('a viewer accepts maxPeers + acceptSlack, plus two per copy of upload beyond two, all maxExtraPeers while unmeasured', () => {
    const base = opts.maxPeers + opts.acceptSlack
    expect(extraPeers(opts, null)).toBe(opts.maxExtraPeers)
    expect(extraPeers(opts, 0.4)).toBe(0)
    expect(extraPeers(opts, 2)).toBe(0)
    expect(extraPeers(opts, 4)).toBe(4)
    expect(extraPeers(opts, 50)).toBe(opts.maxExtraPeers)
    expect(shouldAccept(opts, state({ upload: 0.4, connected: ids(base - 1) }), 'viewer', 'x')).toBe(true)
    expect(shouldAccept(opts, state({ upload: 0.4, connected: ids(base) }), 'viewer', 'x')).toBe(false)
    expect(shouldAccept(opts, state({ upload: 4, connected: ids(base + 3) }), 'viewer', 'x')).toBe(true)
    expect(shouldAccept(opts, state({ upload: 4, connected: ids(base + 4) }), 'viewer', 'x')).toBe(false)
    expect(shouldAccept(opts, state({ upload: null, connected: ids(base + opts.maxExtraPeers - 1) }), 'viewer', 'x')).toBe(true)
  })

  it("a viewer accepts the broadcaster's dial whatever its connections and upload", () => {
    expect(shouldAccept(opts, state({ connected: ids(30) }), 'broadcaster', 'b')).toBe(true)
    expect(shouldAccept(opts, state({ upload: 0.4 }), 'broadcaster', 'b')).toBe(true)
  })

  it("a broadcaster child accepts a sibling's dial whatever its connections; others only within its limits", () => {
    const full = state({ upload: 0.4, connected: ids(opts.maxPeers + opts.acceptSlack), siblings: new Set(['s']) })
    expect(shouldAccept(opts, full, 'viewer', 's')).toBe(true)
    expect(shouldAccept(opts, full, 'viewer', 'x')).toBe(false)
  })
})

describe("choosing the broadcaster's children", () => {
  const children = (...uploads: Array<number | null>): Map<string, number | null> => new Map(uploads.map((u, i) => [`c${i}`, u]))

  it('a full broadcaster takes a dialler measured strong in place of the weakest child measured weak', () => {
    expect(rootToReplace(opts, children(2, 0.4), 8)).toBe('c1')
    expect(rootToReplace(opts, children(0.4, 2), opts.minRootCopies)).toBe('c0')
  })

  it('keeps its children for a dialler not measured strong, and keeps strong or unmeasured children', () => {
    expect(rootToReplace(opts, children(0.4, 0.4), null)).toBe(null)
    expect(rootToReplace(opts, children(0.4, 0.4), 2)).toBe(null)
    expect(rootToReplace(opts, children(8, null), 20)).toBe(null)
  })

  it('admit: accepts within the slots; a full broadcaster accepts a strong dialler in place of a weak child, never for a rescue link or over one', () => {
    const full = state({ role: 'broadcaster', id: 'b', connected: new Set(['c0', 'c1']) })
    const uploads = children(2, 0.4)
    expect(admit(opts, state({ role: 'broadcaster', id: 'b' }), 'viewer', 'x', false, new Map(), 0.4)).toEqual({ accept: true, replace: null })
    expect(admit(opts, full, 'viewer', 'x', false, uploads, 8)).toEqual({ accept: true, replace: 'c1' })
    expect(admit(opts, full, 'viewer', 'x', false, uploads, 0.4)).toEqual({ accept: false, replace: null })
    // A rescue link is not a child to be replaced; full of rescue links, a rescue dial is refused.
    const rescued = ids(opts.maxRescuePeers, 'r')
    const withRescue = state({ role: 'broadcaster', id: 'b', connected: new Set(['c0', 'c1', ...rescued]), rescue: rescued })
    const weakRescue = new Map([...uploads, ['r0', 0.1] as const])
    expect(admit(opts, withRescue, 'viewer', 'x', false, weakRescue, 8)).toEqual({ accept: true, replace: 'c1' })
    expect(admit(opts, withRescue, 'viewer', 'x', true, weakRescue, 8)).toEqual({ accept: false, replace: null })
    // A full viewer refuses; nobody is replaced.
    expect(admit(opts, state({ upload: 0.4, connected: ids(opts.maxPeers + opts.acceptSlack) }), 'viewer', 'x', false, new Map(), 8)).toEqual({ accept: false, replace: null })
  })
})

describe('rescue links', () => {
  it('a viewer starves once rescueLateBlocks late blocks came within RESCUE_WINDOW_MS, and stops when they age out', () => {
    const late = new LateBlocks()
    late.update(0, 0)
    late.update(opts.rescueLateBlocks - 1, 1000)
    expect(wantsRescue(opts, late, 1000)).toBe(false)
    late.update(opts.rescueLateBlocks, 2000)
    expect(wantsRescue(opts, late, 2000)).toBe(true)
    expect(wantsRescue(opts, late, 1000 + RESCUE_WINDOW_MS)).toBe(false) // the first ones aged out
    expect(wantsRescue({ ...opts, rescueLateBlocks: 0 }, late, 2000)).toBe(false)
  })

  it('a rescue link is idle RESCUE_IDLE_MS after the last late block', () => {
    const late = new LateBlocks()
    expect(rescueIdle(late, 0)).toBe(true)
    late.update(4, 5000)
    expect(rescueIdle(late, 5000 + RESCUE_IDLE_MS - 1)).toBe(false)
    late.update(4, 5000 + RESCUE_IDLE_MS - 1) // no new late block
    expect(rescueIdle(late, 5000 + RESCUE_IDLE_MS)).toBe(true)
  })

  it('a starving viewer measured weak dials the broadcaster for a rescue link; a fed one, or one in back-off, does not', () => {
    const weak = { upload: 0.4, connected: ids(opts.maxPeers) }
    expect(pickDials(opts, state(weak), rnd)).toEqual([])
    expect(rescueDial(opts, state(weak), true)).toBe('b')
    expect(rescueDial(opts, state(weak), false)).toBeNull()
    expect(rescueDial(opts, state({ ...weak, backoff: new Map([['b', 5000]]) }), true)).toBeNull()
    expect(rescueDial(opts, state({ ...weak, connected: new Set([...weak.connected, 'b']) }), true)).toBeNull()
    // One that dials the broadcaster as a child anyway (measured strong) asks for no rescue.
    expect(rescueDial(opts, state({ upload: 5, connected: ids(opts.maxPeers) }), true)).toBeNull()
  })

  it('one maintain step: a starving viewer dials its peers and asks for a rescue link; an idle rescue link is hung up and not dialled again at once', () => {
    const weak = { upload: 0.4, connected: ids(opts.maxPeers - 1) }
    const plan = planMaintain(opts, state(weak), new LateBlocks(), opts.rescueLateBlocks, rnd) // its core counts 3 late
    expect(plan.hangUp).toEqual([])
    expect(plan.dials.filter(d => d.rescue)).toEqual([{ id: 'b', rescue: true }])
    expect(plan.dials.filter(d => !d.rescue)).toHaveLength(1) // its last viewer slot
    const idle = new LateBlocks()
    const rescued = { upload: 0.4, connected: new Set([...ids(opts.maxPeers), 'b']), rescue: new Set(['b']) }
    const later = planMaintain(opts, state({ ...rescued, now: RESCUE_IDLE_MS }), idle, 0, rnd)
    expect(later).toEqual({ hangUp: ['b'], dials: [] })
    // Unmeasured, with slots free, it would dial the broadcaster as a child — not in this step.
    const unmeasured = planMaintain(opts, state({ connected: new Set(['v0', 'v1', 'b']), rescue: new Set(['b']), now: RESCUE_IDLE_MS }), idle, 0, rnd)
    expect(unmeasured.hangUp).toEqual(['b'])
    expect(unmeasured.dials.map(d => d.id)).not.toContain('b')
    expect(unmeasured.dials).toHaveLength(2)
    // A broadcaster never hangs up the rescue links it serves: the viewers do.
    expect(planMaintain(opts, state({ role: 'broadcaster', id: 'b', connected: new Set(['r0']), rescue: new Set(['r0']), members: room(20, false) }), idle, 0, rnd).hangUp).toEqual([])
  })

  it('the broadcaster takes maxRescuePeers rescue links beyond its children; they take no slot on either side', () => {
    const children = ids(opts.maxBroadcasterPeers)
    const rescued = ids(opts.maxRescuePeers, 'r')
    const b = (connected: Set<string>, rescue: Set<string>): TopologyState => state({ role: 'broadcaster', id: 'b', connected, rescue })
    expect(shouldAccept(opts, b(children, new Set()), 'viewer', 'x', true)).toBe(true)
    expect(shouldAccept(opts, b(new Set([...children, ...rescued]), rescued), 'viewer', 'x', true)).toBe(false)
    expect(shouldAccept(opts, b(new Set([...rescued]), rescued), 'viewer', 'x', false)).toBe(true) // a child's slot is still free
    expect(shouldAccept({ ...opts, maxRescuePeers: 0 }, b(new Set(), new Set()), 'viewer', 'x', true)).toBe(false)

    expect(shouldAccept(opts, state({ connected: new Set() }), 'viewer', 'x', true)).toBe(false) // viewers give none
    // The broadcaster fills a child slot though rescue links are open; a viewer's rescue link is not one of its maxPeers.
    expect(pickDials(opts, b(new Set([...rescued]), rescued), rnd)).toHaveLength(1)
    expect(pickDials(opts, state({ upload: 0.4, connected: new Set([...ids(opts.maxPeers - 1), 'b']), rescue: new Set(['b']) }), rnd)).toHaveLength(1)
  })
})
