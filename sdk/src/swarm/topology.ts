/**
 * Who connects to whom. Pure policy, no I/O, so it can be tested and simulated.
 *
 * - The broadcaster serves at most `maxBroadcasterPeers` viewers, so that every other viewer
 *   must be served by viewers and its upload stays near that many copies. It accepts dials up
 *   to that number and, with a slot free (a child left), dials a viewer to fill it: the
 *   strongest that dialled it lately ({@link RootCandidates}), else one at random.
 * - A viewer dials up to `maxPeers` peers: the broadcaster first while it has room (so the
 *   first viewers root the mesh), then viewers at random. It accepts dials from viewers up to
 *   `maxPeers + acceptSlack`, and more with a strong upload (below), so newcomers always find a
 *   way in.
 * - Upload decides where a viewer sits (`upload`: copies of the stream its measured upload
 *   carries, null while unmeasured; the swarm probes it on joining). Each copy beyond two is
 *   worth two more incoming connections, up to `maxExtraPeers` (all of them while unmeasured);
 *   a viewer measured strong also dials that many more (an unmeasured one does not: every
 *   newcomer would). Strong uplinks gather the neighbours they can feed; trees get wide and
 *   shallow.
 * - The broadcaster's children feed a quarter or more of the swarm each, so a weak one holds
 *   everyone below it seconds behind. Viewers report their upload to the broadcaster (swarm.ts);
 *   a viewer measured at `minRootCopies` or more dials the broadcaster even with all its peers,
 *   and the full broadcaster takes it in place of the weakest child measured below that
 *   (`rootToReplace`). A viewer measured below it does not dial the broadcaster, but does not
 *   refuse it either: where no viewer is strong, the best there is still roots the mesh.
 * - The broadcaster's children are linked to each other: it tells each of them who the others
 *   are (`siblings`, at most `maxSiblings` of them), the one with the lower id dials, and a
 *   child accepts a sibling beyond its limits. Each child gets some stripes from the
 *   broadcaster and needs the rest from its siblings; linked, it has them one hop later, and
 *   pulling them from the broadcaster because nobody near had them yet (REQUEST `alone`) stops
 *   costing the broadcaster a second copy.
 * - Rescue: a swarm short of upload (ten viewers, seven of them at 1 Mbit/s) cannot carry the
 *   stream however it is arranged, and the broadcaster, with one copy out, has upload to spare.
 *   A viewer to which `rescueLateBlocks` blocks came late within {@link RESCUE_WINDOW_MS} (munro's
 *   `lateBlocks`: a second or more after first announced, or never) dials the broadcaster for a
 *   rescue link, beyond its `maxBroadcasterPeers` children, up to `maxRescuePeers` of them. The
 *   broadcaster pushes it nothing and serves it only what the swarm had `rescueDelay` to give
 *   (munro's `setPeerRescue`), so its upload grows by the swarm's deficit, not a copy per rescue
 *   link. The viewer drops the link after {@link RESCUE_IDLE_MS} without a late block. A rescue
 *   link takes none of either side's connection slots, and its viewer is no sibling.
 * - A peer that refused us (busy) or failed is not dialled again for `retryAfterMs`; one that
 *   sent data failing verification is banned by the swarm and never dialled again (swarm.ts).
 * @module
 */
import { outOfRange } from '../errors.js'
import type { PeerRole } from '../signaling/protocol.js'

/** Topology settings. */
export interface TopologyOptions {
  /**
   * Connections a viewer aims for.
   * @default 4
   */
  maxPeers: number
  /**
   * Viewers the broadcaster serves directly. Keep it small: each costs one copy of the stream.
   * @default 2
   */
  maxBroadcasterPeers: number
  /**
   * Extra incoming connections a viewer accepts beyond `maxPeers`, so that newcomers can join.
   * @default 2
   */
  acceptSlack: number
  /**
   * How long a peer that was busy or failed is left alone.
   * @default 5000
   */
  retryAfterMs: number
  /**
   * Most incoming connections a viewer accepts beyond `maxPeers + acceptSlack` for a strong
   * upload: two per copy of the stream beyond two, all of them while its upload is unmeasured.
   * @default 10
   */
  maxExtraPeers: number
  /**
   * Copies of the stream a viewer's measured upload must carry to displace a weaker broadcaster
   * child.
   * @default 3
   */
  minRootCopies: number
  /**
   * How long a viewer whose dial the full broadcaster refused leaves it alone (ms): a strong
   * viewer keeps trying to displace a weaker child, and each try is a WebRTC connection.
   * @default 10000
   */
  rootRetryMs: number
  /**
   * Siblings (the broadcaster's other children) a child links to, the first it was told of.
   * Each child needs the stripes the others are pushed; with many children a few links give
   * them, and every child linking to every other would be a full mesh. 0: no sibling links (a
   * star, where every viewer is the broadcaster's child).
   * @default 3
   */
  maxSiblings: number
  /**
   * Broadcaster: viewers it takes on rescue links beyond `maxBroadcasterPeers` (see above). Each
   * costs the broadcaster what the swarm fails to give that viewer, at most a copy; rescue pulls
   * are answered BUSY while the broadcaster's outbox holds more than MAX_PEER_BACKLOG, so they
   * never hold back its pushes to its children.
   * Ten viewers short of upload (seed 1, misses after 10 s): 70% without rescue, 31% with four
   * links, 9% with eight. A link costs nothing until its viewer starves, and then what busy
   * answers leave (above), so a low limit only leaves a starving viewer without one: at eight,
   * a late joiner to such a swarm found every link taken and missed 27 of 53 blocks; at
   * sixteen, ten viewers, seeds 1 / 9, 7.9 / 1.2% → 4.9 / 1.1% (others unchanged). 0: none.
   * @default 16
   */
  maxRescuePeers: number
  /**
   * Viewer: late blocks (munro's `lateBlocks`) within {@link RESCUE_WINDOW_MS} after which it asks
   * the broadcaster for a rescue link. 0: never asks.
   * @default 3
   */
  rescueLateBlocks: number
}

export const DEFAULT_TOPOLOGY: Readonly<TopologyOptions> = Object.freeze({
  maxPeers: 4,
  maxBroadcasterPeers: 2,
  acceptSlack: 2,
  retryAfterMs: 5000,
  maxExtraPeers: 10,
  minRootCopies: 3,
  rootRetryMs: 10_000,
  maxSiblings: 3,
  maxRescuePeers: 16,
  rescueLateBlocks: 3
})

/**
 * Checks topology options (the swarm's, and the simulator's copy of them); throws
 * ERR_INVALID_ARGUMENT (a RangeError) naming the first bad one. Counts are integers, the
 * connection limits at least 1 (a viewer or broadcaster that connects to nobody serves nobody),
 * durations non-negative and finite, and `minRootCopies` a non-negative number.
 */
export function checkTopology (o: TopologyOptions): void {
  const counts: Array<[keyof TopologyOptions, number]> = [
    ['maxPeers', 1], ['maxBroadcasterPeers', 1], ['acceptSlack', 0], ['maxExtraPeers', 0], ['maxSiblings', 0],
    ['maxRescuePeers', 0], ['rescueLateBlocks', 0]
  ]
  for (const [name, min] of counts) {
    if (!Number.isInteger(o[name]) || o[name] < min) throw outOfRange(name, `an integer ≥ ${min}`)
  }
  for (const name of ['retryAfterMs', 'rootRetryMs'] as const) {
    if (!(o[name] >= 0 && o[name] < Infinity)) throw outOfRange(name, 'a non-negative number of ms')
  }
  if (!(o.minRootCopies >= 0 && o.minRootCopies < Infinity)) throw outOfRange('minRootCopies', 'a non-negative number of copies')
}

/**
 * Window (ms) over which late blocks are counted for `rescueLateBlocks`: three late blocks in it
 * are three of about seventeen (300 ms blocks), more than a passing stall: a neighbour that left
 * costs about one `pushGrace` and a re-request, not a second per block for several blocks.
 */
export const RESCUE_WINDOW_MS = 5000

/**
 * A viewer drops its rescue link after this long (ms) without a late block: blocks served over
 * it come a second or more after first announced, so they count as late and keep it; once the
 * swarm feeds the viewer in time they stop, and the link goes.
 */
export const RESCUE_IDLE_MS = 15_000

/** A viewer's late blocks over time, from munro's running `lateBlocks` count. */
export class LateBlocks {
  private readonly times: number[] = []
  private seen = 0
  /** When the newest late block was counted (-Infinity: none yet). */
  lastAt = -Infinity

  /** Feeds the running count `lateBlocks` at `now`. */
  update (lateBlocks: number, now: number): void {
    for (; this.seen < lateBlocks; this.seen++) this.times.push(now)
    if (this.times.length > 0) this.lastAt = this.times[this.times.length - 1] as number
    while (this.times.length > 0 && (this.times[0] as number) <= now - RESCUE_WINDOW_MS) this.times.shift()
  }

  /** Late blocks counted within {@link RESCUE_WINDOW_MS} before `now`. */
  recent (now: number): number {
    let n = 0
    for (const t of this.times) if (t > now - RESCUE_WINDOW_MS) n++
    return n
  }
}

/** Whether a viewer with these late blocks wants a rescue link to the broadcaster. */
export function wantsRescue (opts: TopologyOptions, late: LateBlocks, now: number): boolean {
  return opts.rescueLateBlocks > 0 && late.recent(now) >= opts.rescueLateBlocks
}

/** Whether a viewer's rescue link has gone unused long enough to drop. */
export function rescueIdle (late: LateBlocks, now: number): boolean {
  return now - late.lastAt >= RESCUE_IDLE_MS
}

/** What the policy needs to know about the room and our connections. */
export interface TopologyState {
  role: PeerRole
  /** Our own id (as the room knows it). */
  id: string
  /** Room members we know of (id → role), ourselves excluded. */
  members: ReadonlyMap<string, PeerRole>
  /** Peers we are connected or connecting to. */
  connected: ReadonlySet<string>
  /** Peers not to dial before the given time. */
  backoff: ReadonlyMap<string, number>
  now: number
  /** Copies of the stream our measured upload carries, or null while unmeasured (munro's `uploadCopies`). */
  upload: number | null
  /** A broadcaster child: the broadcaster's other children, as it last told us (else empty). */
  siblings: ReadonlySet<string>
  /** Those of `connected` that are rescue links (see above). */
  rescue: ReadonlySet<string>
  /**
   * Broadcaster: viewers measured strong that dialled us lately, with the upload they reported
   * ({@link RootCandidates}); a free child slot is offered to the strongest of them first.
   */
  rootCandidates?: ReadonlyMap<string, number>
}

/** Most strong diallers a broadcaster remembers ({@link RootCandidates}). */
export const MAX_ROOT_CANDIDATES = 16

/**
 * Broadcaster: viewers measured strong (`minRootCopies`) that dialled it, to fill a free child
 * slot with. A strong viewer refused by the full broadcaster leaves it alone for `rootRetryMs`;
 * when a child leaves, the broadcaster would otherwise fill its slot with a random viewer (half
 * of them at 5 Mbit/s, a third below the bit rate in the simulator), whose narrow uplink then
 * roots half the stripes until a strong viewer dials again. Simulator, 300 viewers, seed 4: a
 * child left 6.2 s in, a 5 Mbit/s viewer took its slot, and the broadcaster uploaded 3.3 copies.
 * A candidate is remembered for two `rootRetryMs` (it dials again by then if it is still
 * strong and not a child), at most {@link MAX_ROOT_CANDIDATES} of them, the latest kept.
 */
export class RootCandidates {
  private readonly seen = new Map<string, { upload: number, at: number }>()

  constructor (private readonly opts: TopologyOptions) {}

  /** A viewer that reports `upload` dialled us at `now` (accepted or not). */
  heard (id: string, upload: number | null, now: number): void {
    this.seen.delete(id)
    if (upload === null || rootWorthy(this.opts, upload) !== true) return
    this.seen.set(id, { upload, at: now })
    for (const old of this.seen.keys()) {
      if (this.seen.size <= MAX_ROOT_CANDIDATES) break
      this.seen.delete(old)
    }
  }

  /** The candidates still fresh at `now`, id → upload. */
  current (now: number): Map<string, number> {
    const out = new Map<string, number>()
    for (const [id, c] of this.seen) {
      if (c.at > now - 2 * this.opts.rootRetryMs) out.set(id, c.upload)
      else this.seen.delete(id)
    }
    return out
  }
}

/** Connections that take a slot: all but rescue links. */
const slotted = (state: TopologyState): number => {
  let n = 0
  for (const id of state.connected) if (!state.rescue.has(id)) n++
  return n
}

/**
 * How long a viewer leaves the full broadcaster alone after it refused a dial while the
 * viewer's upload was still unmeasured (ms): about its probe's time. Every newcomer of a flash
 * crowd dials the broadcaster and is refused; a strong one among them must be able to try again
 * as soon as its upload is measured, not `rootRetryMs` later, or a weak first dialler roots
 * half the swarm's stripes for that long.
 */
export const UNMEASURED_ROOT_RETRY_MS = 1000

/** How long to leave a peer of `role` that refused our dial, given our upload (null: unmeasured). */
export function refusalBackoff (opts: TopologyOptions, role: PeerRole, upload: number | null): number {
  if (role !== 'broadcaster') return opts.retryAfterMs
  return upload === null ? Math.min(UNMEASURED_ROOT_RETRY_MS, opts.rootRetryMs) : opts.rootRetryMs
}

/** The siblings a child links to, of those the broadcaster named (ourselves left out). */
export function siblingsOf (opts: TopologyOptions, named: readonly unknown[], self: string | null): Set<string> {
  const out = new Set<string>()
  for (const id of named) {
    if (out.size >= opts.maxSiblings) break
    if (typeof id === 'string' && id !== self) out.add(id)
  }
  return out
}

/** Whether a measured upload is strong enough for a broadcaster child (null: unmeasured). */
const rootWorthy = (opts: TopologyOptions, upload: number | null): boolean | null =>
  upload === null ? null : upload >= opts.minRootCopies

/** Incoming connections a viewer accepts beyond `maxPeers + acceptSlack`, for its upload. */
export function extraPeers (opts: TopologyOptions, upload: number | null): number {
  if (upload === null) return opts.maxExtraPeers
  return Math.max(0, Math.min(opts.maxExtraPeers, Math.floor(2 * (upload - 2))))
}

/**
 * Whether to accept a dial from `fromId` (a `fromRole`) given our current connections; `rescue`:
 * the dialler asks for a rescue link (only the broadcaster takes those).
 */
export function shouldAccept (opts: TopologyOptions, state: TopologyState, fromRole: PeerRole, fromId: string, rescue = false): boolean {
  const n = slotted(state)
  if (rescue) return state.role === 'broadcaster' && fromRole === 'viewer' && state.rescue.size < opts.maxRescuePeers
  if (state.role === 'broadcaster') return n < opts.maxBroadcasterPeers
  if (fromRole === 'broadcaster' || state.siblings.has(fromId)) return true
  return n < opts.maxPeers + opts.acceptSlack + extraPeers(opts, state.upload)
}

/**
 * Our answer to a dial from `fromId` (see {@link shouldAccept}; `rescue`: it asks for a rescue
 * link): accept it, accept it in place of the child `replace` (a full broadcaster taking a strong
 * viewer for its weakest child, {@link rootToReplace}), or refuse it (busy). `uploads`: each of
 * our connections' last reported upload; `upload`: the dialler's.
 */
export function admit (
  opts: TopologyOptions, state: TopologyState, fromRole: PeerRole, fromId: string, rescue: boolean,
  uploads: ReadonlyMap<string, number | null>, upload: number | null
): { accept: boolean, replace: string | null } {
  if (shouldAccept(opts, state, fromRole, fromId, rescue)) return { accept: true, replace: null }
  if (state.role !== 'broadcaster' || rescue) return { accept: false, replace: null }
  const replace = rootToReplace(opts, new Map([...uploads].filter(([id]) => !state.rescue.has(id))), upload)
  return { accept: replace !== null, replace }
}

/**
 * Broadcaster, all slots taken: the child to drop for a dialler that reports `upload`, or null
 * to refuse it. A dialler measured strong replaces the weakest child measured weak; children
 * not measured yet (null) are kept, and so is everyone when the dialler is not strong.
 */
export function rootToReplace (opts: TopologyOptions, children: ReadonlyMap<string, number | null>, upload: number | null): string | null {
  if (rootWorthy(opts, upload) !== true) return null
  let weakest: string | null = null
  let least = Infinity
  for (const [id, u] of children) {
    if (u === null || rootWorthy(opts, u) === true || u >= least) continue
    weakest = id
    least = u
  }
  return weakest
}

/** Connections we still want: the broadcaster's children, or a viewer's peers (more if measured strong). */
function wanted (opts: TopologyOptions, state: TopologyState): number {
  const target = state.role === 'broadcaster'
    ? opts.maxBroadcasterPeers
    : opts.maxPeers + (state.upload === null ? 0 : extraPeers(opts, state.upload))
  return target - slotted(state)
}

/** Whether a viewer that wants `want` more peers dials the broadcaster to be its child (above). */
function dialsRootAsChild (opts: TopologyOptions, state: TopologyState, want: number): boolean {
  const worthy = rootWorthy(opts, state.upload)
  return state.role === 'viewer' && worthy !== false && (worthy === true || want > 0)
}

/**
 * The broadcaster a viewer dials for a rescue link now while `starving` ({@link wantsRescue}),
 * or null: one it is not connected to, not backing off, and would not dial as a child anyway.
 */
export function rescueDial (opts: TopologyOptions, state: TopologyState, starving: boolean): string | null {
  if (state.role !== 'viewer' || !starving) return null
  if (dialsRootAsChild(opts, state, wanted(opts, state))) return null
  for (const [id, role] of state.members) {
    if (role === 'broadcaster' && !state.connected.has(id) && (state.backoff.get(id) ?? 0) <= state.now) return id
  }
  return null
}

/** What one `maintain` step does: rescue links to hang up, then peers to dial, in order. */
export interface MaintainPlan {
  /** Our rescue links gone idle ({@link rescueIdle}). */
  hangUp: string[]
  /** Peers to dial, and whether each dial asks the broadcaster for a rescue link. */
  dials: Array<{ id: string, rescue: boolean }>
}

/**
 * One `maintain` step of swarm.ts (and of the simulator, which runs the same step): feeds `late`
 * the core's running `lateBlocks`, hangs up idle rescue links (not dialled again in this step),
 * dials what {@link pickDials} picks, and asks for a rescue link while starving
 * ({@link rescueDial}).
 */
export function planMaintain (opts: TopologyOptions, state: TopologyState, late: LateBlocks, lateBlocks: number, random: () => number): MaintainPlan {
  late.update(lateBlocks, state.now)
  const hangUp = state.role === 'viewer' && rescueIdle(late, state.now) ? [...state.rescue] : []
  const kept = (ids: ReadonlySet<string>): Set<string> => new Set([...ids].filter(id => !hangUp.includes(id)))
  const next: TopologyState = {
    ...state,
    connected: kept(state.connected),
    rescue: kept(state.rescue),
    backoff: hangUp.length === 0 ? state.backoff : new Map([...state.backoff, ...hangUp.map(id => [id, Infinity] as const)])
  }
  const dials = pickDials(opts, next, random).map(id => ({ id, rescue: false }))
  const rescuer = rescueDial(opts, next, wantsRescue(opts, late, state.now))
  if (rescuer !== null) dials.push({ id: rescuer, rescue: true })
  return { hangUp, dials }
}

/**
 * Peers to dial now, in order: siblings we dial (the lower id dials), the broadcaster (see
 * above), then viewers at random.
 */
export function pickDials (opts: TopologyOptions, state: TopologyState, random: () => number): string[] {
  // A measured strong uplink dials for its extra peers too: others, already connected, would not.
  const want = wanted(opts, state)
  const eligible = [...state.members.entries()].filter(([id]) =>
    !state.connected.has(id) && (state.backoff.get(id) ?? 0) <= state.now)
  const siblings = state.role === 'broadcaster'
    ? []
    : eligible.filter(([id, role]) => role === 'viewer' && state.siblings.has(id) && state.id < id).map(([id]) => id)
  // Unmeasured newcomers dial the broadcaster while they need peers; a viewer measured strong
  // always does (it may displace a weaker child); one measured weak never does.
  const broadcasters = dialsRootAsChild(opts, state, want) ? eligible.filter(([, role]) => role === 'broadcaster').map(([id]) => id) : []
  if (want <= 0) return [...siblings, ...broadcasters]
  const viewers = eligible.filter(([id, role]) => role === 'viewer' && !siblings.includes(id)).map(([id]) => id)
  for (let i = viewers.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = viewers[i] as string
    viewers[i] = viewers[j] as string
    viewers[j] = t
  }
  // A broadcaster fills a free slot one dial at a time (viewers dial it too): the strongest
  // viewer that dialled it lately, else one at random.
  if (state.role === 'broadcaster') {
    let best: string | null = null
    let most = -Infinity
    for (const id of viewers) {
      const upload = state.rootCandidates?.get(id)
      if (upload !== undefined && upload > most) { best = id; most = upload }
    }
    return best === null ? viewers.slice(0, 1) : [best]
  }
  return [...siblings, ...broadcasters, ...viewers.slice(0, Math.max(0, want - siblings.length - broadcasters.length))]
}
