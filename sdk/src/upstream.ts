/**
 * Push, in stripes: block `i` belongs to stripe `i mod STRIPES`. For each stripe a peer
 * subscribes to one upstream peer, which forwards every new block of that stripe the moment it
 * verifies the block's header (and each piece as it verifies): one one-way delay per hop instead
 * of the three of HAVE → REQUEST → DATA. Everything else is still pulled, so a slow or vanished
 * upstream only costs `pushGrace` before the scheduler fetches elsewhere.
 *
 * Why stripes (as SplitStream): a subscription costs only 1/STRIPES of the stream, so a peer
 * whose upload is twice the bit rate can feed eight subscriptions instead of one or two whole
 * copies. Trees are wide and shallow however uneven the uploads, and the broadcaster still sends
 * one copy: one subscriber per stripe.
 *
 * DEV DOCS
 * - Choosing: a stripe's upstream is the peer that announced that stripe's newest blocks
 *   whole earliest (2 points for being first, 1 for second) over the last {@link SCORE_WINDOW}
 *   of them: it is closest to the source in time, pieces included. A peer announces whole with
 *   a HAVE `whole`, or by sending the piece that completes the block here. A HAVE sent when a
 *   header verifies only says pieces are coming: a relay that is near the source but slow to
 *   fan out (a 5 Mbit/s uplink with two subscribers per stripe) announces headers first and
 *   delivers late. Simulator, after 10 s, p95 by header order → by whole order:
 *   100 viewers seeds 1–3 797 / 850 / 986 → 766 / 739 / 949 ms (20 s runs, with the rule below);
 *   see the README for the rest.
 *   A peer that said it takes no subscribers (CAPACITY 0) is a candidate only where no
 *   neighbour that relays announced the stripe (`relays`).
 *   We switch only when another peer leads by {@link SWITCH_MARGIN}, so the choice does not
 *   flap; to the source at once, as soon as it announced one of the stripe's recent blocks
 *   whole (`evaluate`).
 * - Budget: a peer accepts subscriptions up to its measured upload (upload.ts: in all, and per
 *   stripe) and chokes the rest. Each peer tells its neighbours how many subscribers per stripe
 *   it takes (CAPACITY); a full peer lets a subscriber that relays (CAPACITY ≥ 1) take the place
 *   of one that relays at most half as much (a leaf, CAPACITY 0, to any relay): wide relays end
 *   up near the source, leaves below them, and the trees get shallower (subscribers.ts
 *   `displaceable`). A peer choked on a stripe leaves that upstream alone for that stripe for
 *   {@link CHOKE_BACKOFF_MS} ({@link SOURCE_CHOKE_BACKOFF_MS} for the source, just after the stripe
 *   lost its upstream). Only for that stripe: the broadcaster, full on one stripe, may
 *   have another free, and a child backing off it on every stripe leaves those unpushed.
 * - An upstream that misses the grace for {@link MAX_MISSES} of a stripe's recent blocks is
 *   left for another (it is too far from the source, or too slow for us).
 * - Announcing: a peer full on a stripe tells non-subscribers of that stripe's new blocks
 *   `fullHaveDelay` late (replicator.ts), so it does not lead their scores for a stripe it
 *   could not take them on; those it could take (a relay, with a leaf to give way) hear at once.
 *   A child of the source does the same for the stripes the source does not push it
 *   ({@link Upstream.leftToOthers}), and takes subscribers on them only from its siblings
 *   (the source's other children, which have priority): its uplink fans out the stripes whose
 *   first hop it is.
 * - Cycles cannot starve anyone: blocks enter a cycle only from outside it, so the outside
 *   peer announces first and wins the next evaluation; meanwhile pull fills in.
 * @module
 */
import { STRIPES } from './constants.js'
import type { Peer } from './peer.js'

/** Blocks of one stripe over which upstream candidates are scored. */
const SCORE_WINDOW = 8
/** Lead (in points) another peer needs before we switch a stripe's upstream. */
const SWITCH_MARGIN = 4
/** Blocks of a stripe an upstream may fail to push in time (of the last SCORE_WINDOW). */
const MAX_MISSES = 2
/** How long a peer that choked us on a stripe (or was too slow on it) is not asked again for it (ms). */
const CHOKE_BACKOFF_MS = 5_000
/**
 * How long a stripe the source choked us on is not asked of it again (ms), when that stripe lost
 * its upstream less than {@link CHOKE_BACKOFF_MS} before: about one block of the stripe. The
 * source chokes a child for a stripe it pushes another child, and so it does when that child has
 * just left and the source has not seen it go yet (a link delay, longer when a connection drops
 * without closing); until the source pushes the stripe again, nobody has its blocks first-hand.
 * Simulator, 300 viewers, seed 4: a child left 6.2 s in, its sibling asked for the orphaned
 * stripe before the source knew, and with CHOKE_BACKOFF_MS the stripe went unpushed for 2 s.
 * The source's earlier choke on that stripe (it pushed the stripe to the child that left) is
 * forgotten at once ({@link Upstream.removePeer}): 100 viewers, two children made to leave
 * (bench `rootLeaves`), seeds 1–3, after 10 s misses 2.0 / 2.1 / 4.5% → 1.6 / 0.3 / 2.0%.
 * Only then: in a trial of this back-off for every source choke, children re-asking every
 * second for their siblings' stripes made the source move them back and forth (300 viewers,
 * seeds 1–3, after 10 s p95 +31 / −11 / +54 ms).
 */
const SOURCE_CHOKE_BACKOFF_MS = 1_000

/**
 * Whether `peer` takes subscribers: it did not say CAPACITY 0 (under a copy of upload), or it
 * is a sibling (priority), which is taken beyond that. An upstream that relays is preferred to
 * one that would choke us, however early the latter announces; where no neighbour relays (a
 * swarm of weak uplinks), the earliest is still asked.
 */
const relays = (peer: Peer): number => peer.remote.capacity !== 0 || peer.priority ? 1 : 0

/** Push settings. */
export interface UpstreamOptions {
  /**
   * Most this peer pushes, in copies of the stream (each stripe subscription is 1/STRIPES of a
   * copy); within it, what the measured upload allows. The broadcaster's default is 1: one
   * subscriber per stripe, who fan out.
   * @default 1 for the broadcaster, 6 for receivers
   */
  maxSubscribers: number
  /**
   * Milliseconds a block announced elsewhere is left to the upstream's push before it is pulled.
   * @default 300
   */
  pushGrace: number
  /**
   * Broadcaster: for this many ms after pushing a block to its stripe's subscriber, pulls of it
   * by other peers are answered BUSY, so that its few children get it from the swarm and its
   * upload stays one copy. About three hops of a loaded swarm; later a pull is a repair and is
   * served. 0 serves every pull at once: a server that feeds every viewer directly.
   * @default 1000
   */
  rootPullDelay: number
  /**
   * Receiver: a block whose stripe has no room for another subscriber here is announced (HAVE)
   * to peers not subscribed to that stripe this many ms late. HAVE order is how peers pick an
   * upstream (first announcer) and whom to pull from; a peer that announces first but cannot
   * take them draws subscriptions it must choke and pulls that slow its own pushes. Told late,
   * the others subscribe and pull elsewhere, and it still serves repairs. A child of the
   * broadcaster announces so the stripes the broadcaster does not push it
   * ({@link Upstream.leftToOthers}). 0 announces at once.
   * @default 1000
   */
  fullHaveDelay: number
  /**
   * Rescue links (munro's `setPeerRescue`, swarm/topology.ts): the broadcaster answers a rescue
   * viewer's pull of a block BUSY until this many ms after the append, and the viewer asks its
   * rescue link for a block only this long after the block was first announced to it. The swarm
   * gets that long to deliver, so the broadcaster sends a rescue viewer only what the swarm did
   * not give it in time. Ten viewers short of upload (seed 1, misses after 10 s): 21% of blocks
   * with 1000 ms, 9% with 500 ms, 10% with 0 ms (the broadcaster's uplink full). The viewer times
   * it from the swarm's first HAVE, not the broadcaster's: from the broadcaster's, a deep viewer
   * of 1,000 took most of the stream over its rescue link (broadcaster 1.06× → 1.87×).
   * @default 500
   */
  rescueDelay: number
}

/** The stripe of block `index`. */
export const stripeOf = (index: number): number => index % STRIPES

/** Per peer and stripe, a time until which something holds: a choke's back-off, a bar. */
export class StripeDeadlines {
  private readonly until = new Map<Peer, number[]>()

  /** `peer`'s `stripe` holds until `at`. */
  set (peer: Peer, stripe: number, at: number): void {
    let list = this.until.get(peer)
    if (list === undefined) this.until.set(peer, list = new Array<number>(STRIPES).fill(0))
    list[stripe] = at
  }

  /** Whether `peer`'s `stripe` still holds at `now`. */
  holds (peer: Peer, stripe: number, now: number): boolean {
    return (this.until.get(peer)?.[stripe] ?? 0) > now
  }

  delete (peer: Peer): void { this.until.delete(peer) }
}

export class Upstream {
  /** Our upstream per stripe, or null. */
  readonly parents: Array<Peer | null> = new Array<Peer | null>(STRIPES).fill(null)
  /** The first two peers to announce each recent block whole, in order. */
  private readonly announcers = new Map<number, Peer[]>()
  /** When each recent block was first heard of, if its stripe had an upstream then (-1: missed). */
  private readonly heardAt = new Map<number, number>()
  /** Per peer, until when each stripe is not asked of it. */
  private readonly choked = new StripeDeadlines()
  private readonly misses: number[][] = Array.from({ length: STRIPES }, () => [])
  /** When each stripe last lost its upstream to a closed connection. */
  private readonly orphanedAt: number[] = new Array<number>(STRIPES).fill(-Infinity)

  constructor (
    private readonly opts: UpstreamOptions,
    private readonly peers: () => Iterable<Peer>,
    private readonly now: () => number,
    /** The first block we still need pushed (subscriptions start there). */
    private readonly nextIndex: () => number
  ) {}

  /** Our upstream for block `index`'s stripe, if any. */
  parentOf (index: number): Peer | null {
    const p = this.parents[stripeOf(index)] ?? null
    return p !== null && !p.closed ? p : null
  }

  /**
   * Whether we announce `stripe`'s new blocks late, as if full, to peers not subscribed to it
   * here, and refuse subscriptions to it but from siblings: we are a child of the source
   * (connected to it) and the source does not push us that stripe. Its own subscriber has that stripe first; our fan-out goes to the stripes
   * the source pushes us, whose first hop we are. Announced at once, we lead the others'
   * scores for stripes we only relay second-hand and draw subscriptions that load the
   * uplink the whole swarm waits on (measured: six subscribers on all four stripes).
   */
  leftToOthers (stripe: number): boolean {
    if (this.parents[stripe]?.remote.claimsSource === true) return false
    for (const p of this.peers()) if (p.remote.claimsSource && !p.rescue && p.handshaked && !p.closed) return true
    return false
  }

  /**
   * A peer told us of block `index`: a HAVE, a pushed DATA, or the piece that completed it here.
   * `whole`: it holds every piece (HAVE `whole`, or that last piece); only those announcements
   * score. The first announcement of any kind starts the block's push grace.
   */
  heard (peer: Peer, index: number, whole: boolean): void {
    if (peer.rescue) return // a rescue link pushes nothing: its announcements are no upstream's
    let list = this.announcers.get(index)
    if (list === undefined) {
      // Only blocks announced while their stripe has an upstream will be pushed; others are pulled.
      if (this.parentOf(index) !== null) this.heardAt.set(index, this.now())
      this.announcers.set(index, list = [])
      this.trim(index)
    }
    if (!whole || list.length >= 2 || list.includes(peer)) return
    list.push(peer)
    this.evaluate(stripeOf(index))
  }

  /** Forgets announcements well behind `index`, newly heard of. */
  private trim (index: number): void {
    if (this.announcers.size <= SCORE_WINDOW * STRIPES * 8) return
    for (const i of [...this.announcers.keys()]) {
      if (i > index - SCORE_WINDOW * STRIPES * 4) continue
      this.announcers.delete(i)
      this.heardAt.delete(i)
    }
  }

  /** Until when block `index` is left to its stripe's upstream (0: pull now). */
  holdUntil (index: number): number {
    if (this.parentOf(index) === null) return 0
    const at = this.heardAt.get(index)
    if (at === undefined || at < 0) return 0
    const until = at + this.opts.pushGrace
    if (until <= this.now()) this.missed(index)
    return until
  }

  private missed (index: number): void {
    const stripe = stripeOf(index)
    const slow = this.parentOf(index)
    this.heardAt.set(index, -1) // counted once
    if (slow === null) return
    const misses = this.misses[stripe] as number[]
    misses.push(index)
    while (misses.length > 0 && (misses[0] as number) <= index - SCORE_WINDOW * STRIPES) misses.shift()
    if (misses.length < MAX_MISSES) return
    misses.length = 0
    slow.send({ type: 'unsubscribe', stripe })
    this.parents[stripe] = null
    this.choked.set(slow, stripe, this.now() + CHOKE_BACKOFF_MS)
    this.evaluate(stripe)
  }

  private score (peer: Peer, stripe: number, newest: number): number {
    let n = 0
    for (let i = newest, k = 0; i >= 0 && k < SCORE_WINDOW; i -= STRIPES, k++) {
      const rank = this.announcers.get(i)?.indexOf(peer) ?? -1
      if (rank >= 0) n += 2 - rank
    }
    return n
  }

  /**
   * Subscribes `stripe` to the best candidate if it beats the current upstream clearly; to the
   * source as soon as it announced one of the stripe's recent blocks whole and is not backing us
   * off, whatever the scores. The source is the first hop: a new child of the broadcaster (one
   * that took a departed child's place) otherwise waits until the source's points outgrow its
   * old upstream's window by SWITCH_MARGIN, seconds in which the source pushes the stripe to
   * nobody or to a sibling that has no subscribers on it yet. Simulator, 100 viewers, both
   * children leaving (bench `rootLeaves`), seeds 1–3, after 10 s: broadcaster 1.54 / 1.64 /
   * 2.27× → 1.15 / 1.47 / 1.83×, p95 1,356 / 1,449 / 1,619 → 1,272 / 1,408 / 1,434 ms, misses
   * 0.14 / 0.40 / 1.13% → 0.21 / 0.33 / 0.19%. A child the source chokes (it pushes that stripe to
   * a sibling) backs off as before and asks again only then.
   */
  evaluate (stripe: number): void {
    let newest = -1
    for (const i of this.announcers.keys()) if (stripeOf(i) === stripe) newest = Math.max(newest, i)
    if (newest < 0) return
    const now = this.now()
    let best: Peer | null = null
    let bestScore = 0
    let source: Peer | null = null
    for (const p of this.peers()) {
      if (!p.handshaked || p.closed || this.choked.holds(p, stripe, now)) continue
      const s = this.score(p, stripe, newest)
      if (s > 0 && (best === null || relays(p) > relays(best) || (relays(p) === relays(best) && s > bestScore))) { best = p; bestScore = s }
      if (s > 0 && p.remote.claimsSource) source = p
    }
    if (source !== null) best = source
    const parent = this.parents[stripe] ?? null
    if (best === null || best === parent) return
    if (parent !== null && !parent.closed && best !== source) {
      if (relays(parent) > relays(best)) return
      if (relays(parent) === relays(best) && bestScore < this.score(parent, stripe, newest) + SWITCH_MARGIN) return
    }
    if (parent !== null && !parent.closed) parent.send({ type: 'unsubscribe', stripe })
    this.parents[stripe] = best
    ;(this.misses[stripe] as number[]).length = 0
    best.send({ type: 'subscribe', start: this.nextIndex(), stripe })
  }

  /** An upstream refused (or dropped) our subscription to `stripe`. */
  onchoke (peer: Peer, stripe: number): void {
    const orphaned = this.now() - (this.orphanedAt[stripe] as number) < CHOKE_BACKOFF_MS
    this.choked.set(peer, stripe, this.now() + (peer.remote.claimsSource && orphaned ? SOURCE_CHOKE_BACKOFF_MS : CHOKE_BACKOFF_MS))
    if (this.parents[stripe] === peer) {
      this.parents[stripe] = null
      this.evaluate(stripe)
    }
  }

  /** A connection closed. */
  removePeer (peer: Peer): void {
    this.choked.delete(peer)
    for (const list of this.announcers.values()) {
      const at = list.indexOf(peer)
      if (at >= 0) list.splice(at, 1)
    }
    for (let s = 0; s < STRIPES; s++) {
      if (this.parents[s] !== peer) continue
      this.parents[s] = null
      this.orphanedAt[s] = this.now()
      // The source may have choked us on this stripe while it pushed it to the peer that left:
      // that no longer holds, ask it again at once.
      for (const p of this.peers()) if (p.remote.claimsSource) this.choked.set(p, s, 0)
      this.evaluate(s)
    }
  }
}
