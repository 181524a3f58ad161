/**
 * Who connects to whom. Pure policy, no I/O, so it can be tested and simulated.
 *
 * - The broadcaster serves at most `maxBroadcasterPeers` viewers, so that every other viewer
 *   must be served by viewers and its upload stays near that many copies. It accepts dials up
 *   to that number and, with a slot free (a child left), dials a random viewer to fill it.
 * - A viewer dials up to `maxPeers` peers: the broadcaster first while it has room (so the
 *   first viewers root the mesh), then viewers at random. It accepts dials from viewers up to
 *   `maxPeers + acceptSlack`, and more with a strong upload (below), so newcomers always find a
 *   way in.
 * - Upload decides where a viewer sits (`upload`: copies of the stream its measured upload
 *   carries, null while never saturated). Each copy beyond two is worth two more incoming
 *   connections, up to `maxExtraPeers` (all of them while unmeasured); a viewer measured
 *   strong also dials that many more (an unmeasured one does not: every newcomer would). Strong
 *   uplinks gather the neighbours they can feed, and trees get wide and shallow. A viewer whose upload carries
 *   fewer than `minRootCopies` copies does not stay on the broadcaster (`shouldLeaveRoot`) and
 *   neither dials it nor accepts its dial: a broadcaster child feeds a quarter or more of the
 *   swarm, and a weak one holds everyone below it seconds behind. It leaves only with two other
 *   connections, and stays away for `rootRetryMs`.
 * - A peer that refused us (busy) or failed is not dialled again for `retryAfterMs`; one that
 *   sent data failing verification is banned by the swarm and never dialled again (swarm.ts).
 * @module
 */
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
   * Copies of the stream a viewer's measured upload must carry for it to be a broadcaster child.
   * @default 3
   */
  minRootCopies: number
  /**
   * How long a viewer that left the broadcaster for a weak upload stays away from it (ms).
   * @default 60000
   */
  rootRetryMs: number
}

export const DEFAULT_TOPOLOGY: Readonly<TopologyOptions> = Object.freeze({
  maxPeers: 4,
  maxBroadcasterPeers: 2,
  acceptSlack: 2,
  retryAfterMs: 5000,
  maxExtraPeers: 10,
  minRootCopies: 3,
  rootRetryMs: 60_000
})

/** What the policy needs to know about the room and our connections. */
export interface TopologyState {
  role: PeerRole
  /** Room members we know of (id → role), ourselves excluded. */
  members: ReadonlyMap<string, PeerRole>
  /** Peers we are connected or connecting to. */
  connected: ReadonlySet<string>
  /** Peers not to dial before the given time. */
  backoff: ReadonlyMap<string, number>
  now: number
  /** Copies of the stream our measured upload carries, or null while unmeasured (munro's `uploadCopies`). */
  upload: number | null
}

/** Other connections a viewer keeps when it leaves the broadcaster: two, so one may fail. */
const MIN_OTHER_PEERS = 2

/** Whether a viewer's upload is too weak for it to be a broadcaster child. */
const weakForRoot = (opts: TopologyOptions, state: TopologyState): boolean =>
  state.upload !== null && state.upload < opts.minRootCopies

/** Incoming connections a viewer accepts beyond `maxPeers + acceptSlack`, for its upload. */
export function extraPeers (opts: TopologyOptions, upload: number | null): number {
  if (upload === null) return opts.maxExtraPeers
  return Math.max(0, Math.min(opts.maxExtraPeers, Math.floor(2 * (upload - 2))))
}

/** Whether to accept a dial from `from` given our current connections. */
export function shouldAccept (opts: TopologyOptions, state: TopologyState, fromRole: PeerRole): boolean {
  const n = state.connected.size
  if (state.role === 'broadcaster') return n < opts.maxBroadcasterPeers
  if (fromRole === 'broadcaster') return !weakForRoot(opts, state)
  return n < opts.maxPeers + opts.acceptSlack + extraPeers(opts, state.upload)
}

/**
 * Whether a viewer should close its connection to the broadcaster: its measured upload is too
 * weak to feed a broadcaster child's share of the swarm, and it has {@link MIN_OTHER_PEERS}
 * other peers to be fed by.
 */
export function shouldLeaveRoot (opts: TopologyOptions, state: TopologyState): boolean {
  return state.role === 'viewer' && weakForRoot(opts, state) && state.connected.size > MIN_OTHER_PEERS
}

/** Peers to dial now, in order (empty for a broadcaster or a viewer with enough peers). */
export function pickDials (opts: TopologyOptions, state: TopologyState, random: () => number): string[] {
  // A measured strong uplink dials for its extra peers too: others, already connected, would not.
  const target = state.role === 'broadcaster'
    ? opts.maxBroadcasterPeers
    : opts.maxPeers + (state.upload === null ? 0 : extraPeers(opts, state.upload))
  const want = target - state.connected.size
  if (want <= 0) return []
  const eligible = [...state.members.entries()].filter(([id]) =>
    !state.connected.has(id) && (state.backoff.get(id) ?? 0) <= state.now)
  const broadcasters = state.role === 'broadcaster' || weakForRoot(opts, state)
    ? []
    : eligible.filter(([, role]) => role === 'broadcaster').map(([id]) => id)
  const viewers = eligible.filter(([, role]) => role === 'viewer').map(([id]) => id)
  for (let i = viewers.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = viewers[i] as string
    viewers[i] = viewers[j] as string
    viewers[j] = t
  }
  // A broadcaster fills a free slot one dial at a time: viewers dial it too.
  if (state.role === 'broadcaster') return viewers.slice(0, 1)
  return [...broadcasters, ...viewers].slice(0, want)
}
