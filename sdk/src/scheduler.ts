/**
 * The download scheduler: which block to ask of which peer, one peer at a time per block, with a
 * progress timeout and a retry from another peer. The live edge is asked first.
 *
 * DEV DOCS: the replicator calls {@link Scheduler.update} whenever something changed (a HAVE, a
 * completed block, a peer gone). A request's timer restarts on every verified piece, so a large
 * block that is arriving steadily is never cut off; a stalled one moves to another peer.
 * @module
 */
import type { Clock, Random, TimerHandle } from './clock.js'
import type { BlockLog, WindowOptions } from './log.js'
import { isComplete } from './log.js'
import { DEFAULT_PEER_RATE } from './constants.js'
import type { Peer } from './peer.js'
import type { UpstreamOptions } from './upstream.js'

/** Scheduler settings. */
export interface SchedulerOptions {
  /**
   * Milliseconds without progress after which a request moves to another peer.
   * @default 2000
   */
  requestTimeout: number
  /**
   * Most requests in flight to one peer (pipelining).
   * @default 16
   */
  maxInflightPerPeer: number
}

/** A busy peer (NO_DATA BUSY) is asked again after this long (ms): about one block's time. */
const BUSY_BACKOFF_MS = 250

/** A peer that failed to deliver a block is asked for it again after this many request timeouts. */
const FAILED_BACKOFF_TIMEOUTS = 4

interface Inflight {
  peer: Peer
  timer: TimerHandle
  fullProof: boolean
  startedAt: number
}

/** Weight of a new sample in a peer's smoothed delivery rate. */
const RATE_SMOOTHING = 0.3

/**
 * A block that completes this long (ms) after a peer first announced it to us, or never before
 * the window passes it, came late ({@link Scheduler.late}). In the simulator a block completes
 * 100–300 ms after its first HAVE through a working swarm (the HAVE → REQUEST → DATA round and
 * one block's transfer); one second means no neighbour could give it, and at 2 s from the
 * append it misses playback. Measured on our own clock from our own first sight of the block,
 * so it needs no clock shared with the broadcaster.
 */
export const LATE_MS = 1000

export class Scheduler {
  private readonly inflight = new Map<number, Inflight>()
  /** Blocks asked for by `get` outside the eager range. */
  readonly explicit = new Set<number>()
  /** First block downloaded eagerly; null until the live edge is known (receivers). */
  wantFrom: number | null = null
  /** Blocks that came late or never ({@link LATE_MS}), since this instance started. */
  late = 0
  /**
   * When each wanted block was first announced to us (local clock), by the swarm (`peers`) and by
   * a rescue link (`rescue`). The swarm's announcement is the one that counts: the broadcaster
   * announces every block first, and timed from its HAVE every block of a deep viewer in a large
   * swarm looks late (see {@link firstHeard}).
   */
  private readonly heardAt = { peers: new Map<number, number>(), rescue: new Map<number, number>() }
  /** Those of them already counted late while still missing. */
  private readonly overdue = new Set<number>()

  constructor (
    private readonly log: BlockLog,
    private readonly peers: () => Iterable<Peer>,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly opts: SchedulerOptions & Pick<WindowOptions, 'maxBlocks'> & Pick<UpstreamOptions, 'rescueDelay'>,
    private readonly onunavailable: (index: number) => void,
    /** Until when a block is left to our upstream's push before it may be pulled (0: now). */
    private readonly holdUntil: (index: number) => number = () => 0,
    /**
     * A request for a block whose header we hold ended without its pieces (timeout, NO_DATA,
     * its peer gone): what we forward of it has no source now (replicator.ts `stalled`).
     */
    private readonly onstalled: (index: number) => void = () => {}
  ) {}

  private wake: TimerHandle | null = null
  private wakeAt = Infinity

  /** Runs {@link update} again at `at` (virtual or real time), coalescing wake-ups. */
  private wakeAtTime (at: number): void {
    if (at >= this.wakeAt) return
    if (this.wake !== null) this.clock.clearTimeout(this.wake)
    this.wakeAt = at
    this.wake = this.clock.setTimeout(() => {
      this.wake = null
      this.wakeAt = Infinity
      this.update()
    }, Math.max(0, at - this.clock.now()))
  }

  get inflightCount (): number { return this.inflight.size }

  isInflight (index: number): boolean { return this.inflight.has(index) }

  private needed (index: number): boolean {
    if (index < this.log.start || this.inflight.has(index)) return false
    const b = this.log.get(index)
    return b === undefined || !isComplete(b)
  }

  /** Assigns requests for every needed block some peer can serve. */
  update (): void {
    const peers = [...this.peers()].filter(p => p.handshaked && !p.closed)
    if (peers.length === 0) return
    const now = this.clock.now()
    const candidates: number[] = []
    if (this.wantFrom !== null) {
      const from = Math.max(this.wantFrom, this.log.start)
      // Newest first: the live edge is what a viewer needs soonest. Only announced blocks are
      // scanned, at most a window of them per peer: a HAVE is not authenticated, and one far past
      // the live edge must not make this loop and the candidate list unbounded.
      const wanted = new Set<number>()
      for (const p of peers) {
        let budget = this.opts.maxBlocks
        for (const [start, end] of p.remote.have.descending()) {
          for (let i = end - 1; i >= Math.max(start, from) && budget > 0; i--, budget--) {
            if (!this.needed(i)) continue
            wanted.add(i)
            const heard = p.rescue ? this.heardAt.rescue : this.heardAt.peers
            if (!heard.has(i)) heard.set(i, now)
          }
          if (budget === 0 || start <= from) break
        }
      }
      candidates.push(...[...wanted].sort((a, b) => b - a))
    }
    for (const i of this.explicit) {
      if (this.needed(i)) candidates.push(i)
      else if (i < this.log.start || this.log.get(i) !== undefined) this.explicit.delete(i)
    }
    for (const index of candidates) {
      if (this.inflight.has(index)) continue // listed twice (eager and explicit) and just requested
      this.countIfLate(index, now)
      const hold = this.explicit.has(index) ? 0 : this.holdUntil(index)
      if (hold > now) { this.wakeAtTime(hold); continue }
      const peer = this.pick(peers, index, now)
      if (peer === null) {
        // Gone for good only when every peer's window has moved past it; a peer that merely
        // failed to deliver is asked again once its back-off ends.
        if (this.explicit.has(index) && peers.every(p => p.remote.windowStart > index)) this.onunavailable(index)
        for (const p of peers) {
          const until = p.failed.get(index)
          if (until !== undefined && until > now && p.remote.have.has(index)) this.wakeAtTime(until)
        }
        continue
      }
      this.request(peer, index, false)
    }
  }

  /**
   * The peer to ask for `index`: among those that have it, the one expected to deliver soonest
   * (measured rate shared by what is already in flight to it); a peer that choked us (its upload
   * budget is spent: typically the broadcaster) only when no one else has it. Ties at random.
   */
  private pick (peers: Peer[], index: number, now: number): Peer | null {
    let best: Peer | null = null
    let bestScore = -Infinity
    for (const p of peers) {
      if (!p.remote.have.has(index) || (p.failed.get(index) ?? 0) > now) continue
      if (p.inflight.size >= this.opts.maxInflightPerPeer) continue
      let score = (p.stats.rate ?? DEFAULT_PEER_RATE) / (1 + p.inflight.size)
      // A rescue link to the broadcaster serves only what the swarm did not give us in time
      // (munro's `setPeerRescue`): it is asked once that time is up, and then like any peer.
      // (A block asked for with `get` outside the live range was never announced in it: no wait.)
      if (p.rescue) {
        const at = (this.firstHeard(index) ?? -Infinity) + this.opts.rescueDelay
        if (at > now) { this.wakeAtTime(at); continue }
      }
      if (p.chokedUs) score -= 1e9
      if (score > bestScore || (score === bestScore && this.random() < 0.5)) { best = p; bestScore = score }
    }
    return best
  }

  /** Sends a request for `index` to `peer` and arms its timer. */
  request (peer: Peer, index: number, fullProof: boolean): void {
    this.clear(index)
    peer.inflight.add(index)
    this.inflight.set(index, { peer, fullProof, timer: this.arm(peer, index), startedAt: this.clock.now() })
    // Whether anyone else announced it: if not, the broadcaster must not leave it to the swarm.
    let alone = true
    for (const p of this.peers()) if (p !== peer && !p.closed && p.remote.have.has(index)) { alone = false; break }
    peer.send({ type: 'request', index, fullProof, alone })
  }

  private arm (peer: Peer, index: number): TimerHandle {
    return this.clock.setTimeout(() => {
      const req = this.inflight.get(index)
      if (req === undefined || req.peer !== peer) return
      this.markFailed(peer, index)
      peer.send({ type: 'cancel', index })
      this.giveUp(index)
      this.update()
    }, this.opts.requestTimeout)
  }

  /**
   * Counts a block `peer` pushes to us as a request to it (timer included), so that it is not
   * also pulled elsewhere. Returns false if the block is already being fetched from another peer.
   */
  adopt (peer: Peer, index: number): boolean {
    const req = this.inflight.get(index)
    if (req !== undefined) return req.peer === peer
    peer.inflight.add(index)
    this.inflight.set(index, { peer, fullProof: false, timer: this.arm(peer, index), startedAt: this.clock.now() })
    return true
  }

  /** Whether `peer` holds our request for `index`, and whether it asked for a full proof. */
  requestOf (index: number): { peer: Peer, fullProof: boolean } | undefined { return this.inflight.get(index) }

  /** A verified piece arrived for `index`: restart its timer. */
  progress (index: number): void {
    const req = this.inflight.get(index)
    if (req === undefined) return
    this.clock.clearTimeout(req.timer)
    req.timer = this.arm(req.peer, index)
  }

  /** `peer` is not asked for `index` again for a while (its back-off). */
  private markFailed (peer: Peer, index: number): void {
    peer.failed.set(index, this.clock.now() + FAILED_BACKOFF_TIMEOUTS * this.opts.requestTimeout)
  }

  /** Block `index` of `byteLength` bytes is complete: updates its sender's delivery rate. */
  complete (index: number, byteLength: number): void {
    this.countIfLate(index, this.clock.now())
    this.forget(index)
    const req = this.inflight.get(index)
    if (req !== undefined) {
      const sample = byteLength / Math.max(1, this.clock.now() - req.startedAt)
      const s = req.peer.stats
      s.rate = s.rate === null ? sample : (1 - RATE_SMOOTHING) * s.rate + RATE_SMOOTHING * sample
    }
    this.clear(index)
  }

  /** Forgets the request for `index` (done, failed or cancelled). */
  clear (index: number): void {
    const req = this.inflight.get(index)
    if (req === undefined) return
    this.clock.clearTimeout(req.timer)
    req.peer.inflight.delete(index)
    this.inflight.delete(index)
  }

  /** `peer` cannot serve `index`: ask someone else. */
  failed (peer: Peer, index: number): void {
    this.markFailed(peer, index)
    if (this.inflight.get(index)?.peer === peer) this.giveUp(index)
    this.update()
  }

  /**
   * Ends the request for `index` without the block (timeout, NO_DATA, BUSY, peer gone), and
   * tells the owner if we hold its header: what we forward of it has no source now.
   */
  private giveUp (index: number): void {
    this.clear(index)
    const b = this.log.get(index)
    if (b !== undefined && !isComplete(b)) this.onstalled(index)
  }

  /** `peer` holds `index` but its upload is backed up: ask elsewhere now, and it again shortly. */
  busy (peer: Peer, index: number): void {
    peer.failed.set(index, this.clock.now() + BUSY_BACKOFF_MS)
    if (this.inflight.get(index)?.peer === peer) this.giveUp(index)
    this.update()
  }

  /**
   * Counts block `index` late, once, if it was first announced LATE_MS or more before `now`: as
   * it completes, or while it is still missing (a starving viewer must not wait for its window
   * to pass its blocks to know).
   */
  private countIfLate (index: number, now: number): void {
    const heard = this.firstHeard(index)
    if (heard === undefined || now - heard < LATE_MS || this.overdue.has(index)) return
    this.overdue.add(index)
    this.late++
  }

  /** When the swarm first announced block `index`, else a rescue link (undefined: neither). */
  private firstHeard (index: number): number | undefined {
    return this.heardAt.peers.get(index) ?? this.heardAt.rescue.get(index)
  }

  private forget (index: number): void {
    this.heardAt.peers.delete(index)
    this.heardAt.rescue.delete(index)
    this.overdue.delete(index)
  }

  /** The window moved to `start`: blocks before it that were announced but never came were late. */
  prune (start: number): void {
    for (const i of new Set([...this.heardAt.peers.keys(), ...this.heardAt.rescue.keys()])) {
      if (i >= start) continue
      if (!this.overdue.has(i)) this.late++
      this.forget(i)
    }
  }

  /** Drops every request held by a closed peer and reassigns them. */
  removePeer (peer: Peer): void {
    for (const index of [...peer.inflight]) this.giveUp(index)
    this.update()
  }

  destroy (): void {
    if (this.wake !== null) this.clock.clearTimeout(this.wake)
    this.wake = null
    for (const index of [...this.inflight.keys()]) this.clear(index)
  }
}
