/**
 * Who connects to whom. Pure policy, no I/O, so it can be tested and simulated.
 *
 * - The broadcaster never dials; it accepts at most `maxBroadcasterPeers` viewers, so that
 *   every other viewer must be served by viewers and its upload stays near that many copies.
 * - A viewer dials up to `maxPeers` peers: the broadcaster first while it has room (so the
 *   first viewers root the mesh), then viewers at random. It accepts dials from viewers up to
 *   `maxPeers + acceptSlack`, so newcomers always find a way in.
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
}

export const DEFAULT_TOPOLOGY: Readonly<TopologyOptions> = Object.freeze({
  maxPeers: 4,
  maxBroadcasterPeers: 2,
  acceptSlack: 2,
  retryAfterMs: 5000
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
}

/** Whether to accept a dial from `from` given our current connections. */
export function shouldAccept (opts: TopologyOptions, state: TopologyState, fromRole: PeerRole): boolean {
  const n = state.connected.size
  if (state.role === 'broadcaster') return n < opts.maxBroadcasterPeers
  if (fromRole === 'broadcaster') return true // never happens (broadcasters do not dial), harmless
  return n < opts.maxPeers + opts.acceptSlack
}

/** Peers to dial now, in order (empty for a broadcaster or a viewer with enough peers). */
export function pickDials (opts: TopologyOptions, state: TopologyState, random: () => number): string[] {
  if (state.role === 'broadcaster') return []
  const want = opts.maxPeers - state.connected.size
  if (want <= 0) return []
  const eligible = [...state.members.entries()].filter(([id]) =>
    !state.connected.has(id) && (state.backoff.get(id) ?? 0) <= state.now)
  const broadcasters = eligible.filter(([, role]) => role === 'broadcaster').map(([id]) => id)
  const viewers = eligible.filter(([, role]) => role === 'viewer').map(([id]) => id)
  for (let i = viewers.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const t = viewers[i] as string
    viewers[i] = viewers[j] as string
    viewers[j] = t
  }
  return [...broadcasters, ...viewers].slice(0, want)
}
