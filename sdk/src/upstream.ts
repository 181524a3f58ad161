/**
 * Push: each peer subscribes to one upstream peer, which forwards every new block to it the
 * moment it verifies the block's header (and each piece as it verifies): one one-way delay per
 * hop instead of the three of HAVE → REQUEST → DATA. Everything else is still pulled, so a
 * slow or vanished upstream only costs `pushGrace` before the scheduler fetches elsewhere.
 *
 * DEV DOCS
 * - Choosing: the upstream is the peer that announced the newest blocks earliest over the last
 *   {@link SCORE_WINDOW} blocks (it is closest to the source): 2 points for being first, 1 for
 *   second, so that a peer whose first announcer choked it still finds the next-closest one.
 *   We switch only when another peer leads by {@link SWITCH_MARGIN}, so the choice does not flap.
 * - Budget: a peer pushes to at most `maxSubscribers` peers and chokes the rest; a choked peer
 *   leaves that upstream alone for {@link CHOKE_BACKOFF_MS} and picks another.
 * - Cycles cannot starve anyone: blocks enter a cycle only from outside it, so the outside
 *   peer announces first and wins the next evaluation; meanwhile pull fills in.
 * @module
 */
import type { Peer } from './peer.js'

/** Blocks over which upstream candidates are scored. */
const SCORE_WINDOW = 16
/** Lead (in first announcements) another peer needs before we switch upstream. */
const SWITCH_MARGIN = 8
/** How long a peer that choked us is not asked again (ms). */
const CHOKE_BACKOFF_MS = 10_000

/** Push settings. */
export interface UpstreamOptions {
  /**
   * Peers this peer pushes new blocks to (its upload budget, in copies of the stream); others
   * are choked and pull. The broadcaster's default is 1: one copy, which its subscriber fans out.
   * @default 1 for the broadcaster, 3 for receivers
   */
  maxSubscribers: number
  /**
   * Milliseconds a block announced elsewhere is left to the upstream's push before it is pulled.
   * @default 300
   */
  pushGrace: number
}

export class Upstream {
  /** The peer we are subscribed to, or null. */
  parent: Peer | null = null
  /** The first two peers to announce each recent block, in order. */
  private readonly announcers = new Map<number, Peer[]>()
  /** When each recent block was first heard of, if it was heard while subscribed (else absent). */
  private readonly heardAt = new Map<number, number>()
  private readonly seen = new Set<number>()
  private readonly choked = new Map<Peer, number>()

  constructor (
    private readonly opts: UpstreamOptions,
    private readonly peers: () => Iterable<Peer>,
    private readonly now: () => number,
    /** The first block we still need pushed (subscriptions start there). */
    private readonly nextIndex: () => number
  ) {}

  /** A peer told us of block `index` (HAVE, or a pushed DATA). */
  heard (peer: Peer, index: number): void {
    const list = this.announcers.get(index)
    if (list !== undefined) {
      if (list.length < 2 && !list.includes(peer)) { list.push(peer); this.evaluate() }
      return
    }
    // Only blocks announced while we are subscribed will be pushed; older ones are pulled at once.
    if (this.parent !== null && !this.parent.closed) this.heardAt.set(index, this.now())
    this.announcers.set(index, [peer])
    if (this.announcers.size > SCORE_WINDOW * 8) {
      for (const i of [...this.announcers.keys()]) {
        if (i > index - SCORE_WINDOW * 4) continue
        this.announcers.delete(i)
        this.heardAt.delete(i)
      }
    }
    this.evaluate()
  }

  /** Until when block `index` is left to the upstream's push (0: pull now). */
  holdUntil (index: number): number {
    if (this.parent === null || this.parent.closed) return 0
    const at = this.heardAt.get(index)
    return at === undefined ? 0 : at + this.opts.pushGrace
  }

  private score (peer: Peer, newest: number): number {
    let n = 0
    for (let i = newest; i > newest - SCORE_WINDOW; i--) {
      const rank = this.announcers.get(i)?.indexOf(peer) ?? -1
      if (rank >= 0) n += 2 - rank
    }
    return n
  }

  /** Subscribes to the best candidate if it beats the current upstream clearly. */
  evaluate (): void {
    let newest = -1
    for (const i of this.announcers.keys()) newest = Math.max(newest, i)
    if (newest < 0) return
    const now = this.now()
    let best: Peer | null = null
    let bestScore = 0
    for (const p of this.peers()) {
      if (!p.handshaked || p.closed || (this.choked.get(p) ?? 0) > now) continue
      const s = this.score(p, newest)
      if (s > bestScore) { best = p; bestScore = s }
    }
    if (best === null || best === this.parent) return
    if (this.parent !== null && !this.parent.closed && bestScore < this.score(this.parent, newest) + SWITCH_MARGIN) return
    this.subscribe(best)
  }

  private subscribe (peer: Peer): void {
    if (this.parent !== null && !this.parent.closed) this.parent.send({ type: 'unsubscribe' })
    this.parent = peer
    peer.send({ type: 'subscribe', start: this.nextIndex() })
  }

  /** Our upstream refused us. */
  onchoke (peer: Peer): void {
    this.choked.set(peer, this.now() + CHOKE_BACKOFF_MS)
    if (this.parent === peer) {
      this.parent = null
      this.evaluate()
    }
  }

  /** A connection closed. */
  removePeer (peer: Peer): void {
    this.choked.delete(peer)
    for (const list of this.announcers.values()) {
      const at = list.indexOf(peer)
      if (at >= 0) list.splice(at, 1)
    }
    if (this.parent === peer) {
      this.parent = null
      this.evaluate()
    }
  }
}
