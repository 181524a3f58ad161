/**
 * The replicator: handlers named after the messages they take (`onhandshake`, `onhave`,
 * `onrequest`, `ondata`, `onpiece`, …), and serving blocks to peers with minimal proofs.
 *
 * DEV DOCS
 * - Nothing reaches the log, a reader or another peer before it verified: a DATA header against
 *   the signed log (verifier.ts), each PIECE against the header's piece root.
 * - Cut-through: as soon as a piece verifies, it is forwarded to every peer we are serving that
 *   block to; a peer may ask for a block whose header verified while its pieces still arrive.
 *   HAVE is therefore sent once a block's header verified, except that a receiver with no room
 *   for another subscriber on the block's stripe tells that stripe's non-subscribers
 *   `fullHaveDelay` later (upstream.ts): they then subscribe to and pull from others. Those
 *   whose subscription would still be taken (subscribers.ts `displaceable`) hear at once.
 * - Proofs carry only what the receiver lacks. We track per peer the log-tree nodes it holds:
 *   nodes we sent it, roots of its announced head, and nodes over blocks it announced. Should a
 *   guess be wrong, the receiver asks again with `fullProof` and gets a self-contained proof.
 * - Push: a peer subscribed to a stripe (upstream.ts) is served each new block of it the moment
 *   its header verifies (`push`); a pushed DATA is accepted only from our upstream for that
 *   stripe and then counts as a request. Who may subscribe, and our CAPACITY, is
 *   subscribers.ts.
 * - Pulls come after pushes: with our upload backed up we answer NO_DATA BUSY and the requester
 *   asks elsewhere.
 * - A peer that sends anything failing verification is dropped (ERR_INVALID_*), its requests go
 *   to other peers, and nothing it sent is kept.
 * @module
 */
import * as flat from 'flat-tree'
import type { Clock } from './clock.js'
import { MAX_PEER_BACKLOG, PROTOCOL_NAME, PROTOCOL_VERSION, SOURCE_PROOF_TIMEOUT_MS, SUBSCRIBER_BACKLOG } from './constants.js'
import { MunroError } from './errors.js'
import { isComplete, type BlockEntry, type BlockLog } from './log.js'
import { equalBytes, isRootOf, lastLeaf, rootFor, type ProofNode } from './merkle-tree.js'
import type { Data, Handshake, Have, Message, Metadata, NoData, Piece, Request } from './messages.js'
import { NoDataReason } from './messages.js'
import type { Peer } from './peer.js'
import type { Scheduler } from './scheduler.js'
import { Subscribers } from './subscribers.js'
import { stripeOf, type Upstream, type UpstreamOptions } from './upstream.js'
import { buildProof, verifyMetadata, verifySource, type SignatureCache, type SignedHead } from './verifier.js'

/** Signed metadata as held and forwarded. */
export interface SignedMetadata { seq: number, data: Uint8Array, signature: Uint8Array }

/** What the replicator tells its owner (munro.ts turns these into events and resolved gets). */
export interface ReplicatorHooks {
  /** A block's header verified and it entered the log. */
  onheader: (entry: BlockEntry, from: Peer, head: SignedHead | null) => void
  /** A block is complete and verified. */
  oncomplete: (entry: BlockEntry, from: Peer, head: SignedHead | null) => void
  onmetadata: (meta: SignedMetadata, from: Peer) => void
}

export class Replicator {
  metadata: SignedMetadata | null = null
  /** Blocks whose header first came pushed by an upstream, and pulled with REQUEST. */
  readonly arrivals = { pushed: 0, pulled: 0 }
  /** Broadcaster: when each recent block was pushed to a subscriber. */
  private readonly pushedAt = new Map<number, number>()
  /** Who may subscribe to our stripes, and our CAPACITY. */
  readonly subscribers: Subscribers
  constructor (
    private readonly log: BlockLog,
    private readonly scheduler: Scheduler,
    private readonly peers: () => Iterable<Peer>,
    private readonly cache: SignatureCache,
    private readonly clock: Clock,
    private readonly discoveryKey: Uint8Array,
    private readonly hooks: ReplicatorHooks,
    /** Push subscriptions; null for the broadcaster, which has no upstream. */
    private readonly upstream: Upstream | null,
    /** Upload backlog (bytes) beyond which pulls are answered BUSY. */
    private readonly busyLimit: () => number,
    /** Copies of the stream our upload may push now (upload.ts `allowedCopies`). */
    private readonly pushCopies: () => number,
    /**
     * `rootPullDelay` (broadcaster: ms after a push during which others' pulls of that block are
     * answered BUSY), `fullHaveDelay` (receiver: how late non-subscribers hear of a block whose
     * stripe is full here) and `rescueDelay` (broadcaster: ms after an append during which a
     * rescue viewer's pulls of it are answered BUSY); see upstream.ts.
     */
    private readonly delays: Pick<UpstreamOptions, 'rootPullDelay' | 'fullHaveDelay' | 'rescueDelay'> = { rootPullDelay: 0, fullHaveDelay: 0, rescueDelay: 0 },
    /** Broadcaster: signs a SOURCE_PROOF over a remote's handshake nonce; null for receivers. */
    private readonly proveSource: ((nonce: Uint8Array, channelBinding: Uint8Array) => Uint8Array) | null = null
  ) {
    this.subscribers = new Subscribers(peers, clock, upstream, pushCopies)
  }

  /** The handshake `peer`'s connection opens with. */
  handshake (peer: Peer): Handshake {
    return {
      type: 'handshake', protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION, discoveryKey: this.discoveryKey,
      windowStart: this.log.start, length: this.log.length, source: this.proveSource !== null, nonce: peer.nonce
    }
  }

  onmessage (peer: Peer, m: Message): void {
    if (!peer.handshaked && m.type !== 'handshake') throw new MunroError('ERR_PROTOCOL', `${m.type} before handshake`)
    switch (m.type) {
      case 'handshake': return this.onhandshake(peer, m)
      case 'have': return this.onhave(peer, m)
      case 'request': return this.onrequest(peer, m)
      case 'cancel': peer.serving.delete(m.index); peer.dropQueued(m.index); return
      case 'data': return this.ondata(peer, m)
      case 'piece': return this.onpiece(peer, m)
      case 'no-data': return this.onnodata(peer, m)
      case 'metadata': return this.onmetadata(peer, m)
      case 'subscribe': return this.subscribers.onsubscribe(peer, m.start, m.stripe)
      case 'unsubscribe': peer.subscriptions.delete(m.stripe); return
      case 'choke': peer.chokedUs = true; this.upstream?.onchoke(peer, m.stripe); return
      case 'capacity': peer.remote.capacity = m.perStripe; return
      case 'source-proof': return this.onsourceproof(peer, m.signature)
      case 'ping': peer.send({ type: 'pong', nonce: m.nonce }); return
      case 'pong': peer.onpong(m.nonce); return
      case 'probe': // padding that measures the sender's upload: counted in bytesReceived, dropped
    }
  }

  onhandshake (peer: Peer, m: Handshake): void {
    if (peer.handshaked) throw new MunroError('ERR_PROTOCOL', 'second handshake')
    if (m.protocol !== PROTOCOL_NAME) throw new MunroError('ERR_HANDSHAKE', `not a munro peer (${JSON.stringify(m.protocol)})`)
    if (m.version !== PROTOCOL_VERSION) throw new MunroError('ERR_HANDSHAKE', `protocol version ${m.version}, expected ${PROTOCOL_VERSION}`)
    if (!equalBytes(m.discoveryKey, this.discoveryKey)) throw new MunroError('ERR_HANDSHAKE', 'peer replicates another stream')
    peer.handshaked = true
    peer.remote.windowStart = m.windowStart
    peer.remote.length = m.length
    peer.remote.claimsSource = m.source
    if (m.source) {
      this.clock.setTimeout(() => {
        if (!peer.closed && !peer.remote.source) peer.destroy(new MunroError('ERR_PROTOCOL', `claimed to be the source and sent no proof within ${SOURCE_PROOF_TIMEOUT_MS} ms`))
      }, SOURCE_PROOF_TIMEOUT_MS)
    }
    if (this.proveSource !== null) peer.send({ type: 'source-proof', signature: this.proveSource(m.nonce, peer.channelBinding) })
    for (const [start, end, whole] of this.heldRanges()) this.sendHave(peer, start, end, whole)
    if (this.metadata !== null) peer.send({ type: 'metadata', ...this.metadata })
    this.subscribers.greet(peer)
    peer.ping()
    this.scheduler.update()
  }

  /**
   * SOURCE_PROOF: the remote that claimed to be the source signed our nonce (and the channel
   * binding) with the stream's key. A claim without it lasts SOURCE_PROOF_TIMEOUT_MS: a peer
   * that merely claims it would otherwise make its neighbours hold back announcements and
   * refuse subscriptions for good, as they do next to the real broadcaster.
   */
  private onsourceproof (peer: Peer, signature: Uint8Array): void {
    if (!peer.remote.claimsSource || peer.remote.source) throw new MunroError('ERR_PROTOCOL', 'unexpected source proof')
    verifySource(this.log.publicKey, peer.nonce, peer.channelBinding, signature)
    peer.remote.source = true
  }

  /** Ranges of blocks whose header verified, in the window, and whether each is held whole. */
  private heldRanges (): Array<[number, number, boolean]> {
    const out: Array<[number, number, boolean]> = []
    for (const i of this.log.indices()) {
      if (i >= this.log.length) break // appended but not yet covered by a signed head
      const whole = isComplete(this.log.get(i) as BlockEntry)
      const last = out[out.length - 1]
      if (last !== undefined && last[1] === i && last[2] === whole) last[1] = i + 1
      else out.push([i, i + 1, whole])
    }
    return out
  }

  onhave (peer: Peer, m: Have): void {
    peer.remote.have.add(m.start, m.start + m.count)
    if (m.whole === true) peer.remote.whole.add(m.start, m.start + m.count)
    // A block it could not serve before may be servable now.
    for (const i of peer.failed.keys()) if (i >= m.start && i < m.start + m.count) peer.failed.delete(i)
    if (m.headLength > peer.remote.length) peer.remote.length = m.headLength
    this.upstream?.heard(peer, m.start + m.count - 1, m.whole === true)
    this.scheduler.update()
  }

  /** Pushes a block whose header just verified (or was signed) to every subscriber lacking it. */
  push (entry: BlockEntry, source: Peer | null): void {
    const stripe = stripeOf(entry.index)
    for (const p of this.peers()) {
      if (!p.subscriptions.has(stripe) || p === source || entry.index < p.subscribedFrom) continue
      if (p.remote.have.has(entry.index) || p.serving.has(entry.index)) continue
      if (p.queued > SUBSCRIBER_BACKLOG) {
        // Our upload cannot keep up with this subscriber: let it find a faster upstream.
        p.subscriptions.delete(stripe)
        p.send({ type: 'choke', stripe })
        continue
      }
      this.serve(p, entry, false)
      if (source === null && this.upstream === null) this.pushedAt.set(entry.index, this.clock.now())
    }
  }

  /**
   * Tells every peer about blocks [start, end), but a held-back block's non-subscribers;
   * `whole`: we hold every piece of them.
   */
  announce (start: number, end: number, whole: boolean): void {
    const held = end - start === 1 ? this.heldBack.get(start) : undefined
    const holding = held !== undefined && held.until > this.clock.now()
    for (const p of this.peers()) {
      if (!p.handshaked || (holding && !this.subscribers.hearsAtOnce(p, stripeOf(start)))) continue
      this.sendHave(p, start, end, whole)
      held?.told.add(p)
    }
  }

  /** HAVE of blocks [start, end) to `peer`, with our head's length. */
  private sendHave (peer: Peer, start: number, end: number, whole: boolean): void {
    peer.send({ type: 'have', start, count: end - start, headLength: this.log.length, ...(whole ? { whole } : {}) })
  }

  /**
   * Receiver: blocks announced late to non-subscribers (see `fullHaveDelay`), with until when
   * and whom we told at once; as many as arrive in that time.
   */
  private readonly heldBack = new Map<number, { until: number, told: Set<Peer> }>()

  /**
   * A block's header verified here: announce it, late to non-subscribers if its stripe is full
   * or left to others ({@link Upstream.leftToOthers}).
   *
   * The late HAVE goes to every peer not told yet that has not announced the block whole, even
   * one that announced it when its header verified: that says pieces are coming, not that they
   * came. A peer that took the header from a tamperer (or a peer that left) holds it without
   * pieces, and we may be the only neighbour left that can serve it.
   */
  private announceNew (index: number): void {
    const delay = this.delays.fullHaveDelay
    const stripe = stripeOf(index)
    if (this.upstream !== null && delay > 0 && (!this.subscribers.hasRoom(stripe) || this.upstream.leftToOthers(stripe))) {
      const held = { until: this.clock.now() + delay, told: new Set<Peer>() }
      this.heldBack.set(index, held) // the timer below takes it out
      this.clock.setTimeout(() => {
        const entry = this.log.get(index)
        if (!this.heldBack.delete(index) || entry === undefined) return
        for (const p of this.peers()) {
          if (p.handshaked && !p.closed && !held.told.has(p) && !p.remote.whole.has(index) && !p.serving.has(index)) this.sendHave(p, index, index + 1, isComplete(entry))
        }
      }, delay)
    }
    this.announce(index, index + 1, false)
  }

  onrequest (peer: Peer, m: Request): void {
    if (peer.serving.has(m.index) && !m.fullProof) return // already on its way (pushed)
    const entry = this.log.get(m.index)
    // A header whose pieces nobody is sending us is no block to serve (see `stalled`).
    if (entry === undefined || (!isComplete(entry) && !this.scheduler.isInflight(m.index))) {
      const reason = m.index < this.log.start ? NoDataReason.DISCARDED : NoDataReason.NOT_HELD
      peer.send({ type: 'no-data', index: m.index, reason, windowStart: this.log.start })
      return
    }
    // Pulls are served from upload left over by pushes: when our upload is backed up, the
    // requester is told to go elsewhere (it will, at once) instead of queueing behind it. The
    // broadcaster also turns away young blocks it already pushed (`rootPullDelay`), unless the
    // requester has no one else to get them from.
    // A rescue viewer gets a block only `rescueDelay` after its append, `alone` or not.
    const pushed = this.pushedAt.get(m.index)
    const within = (since: number | undefined, ms: number): boolean => since !== undefined && this.clock.now() - since < ms
    const early = this.upstream === null && (peer.rescue
      ? within(entry.verifiedAt, this.delays.rescueDelay)
      : within(pushed, this.delays.rootPullDelay) && !m.alone && this.subscribers.forwardedElsewhere(peer, stripeOf(m.index)))
    // Rescue pulls come last: only from an outbox nearly empty, never ahead of pushes to children.
    if (this.uploadBacklog() > (peer.rescue ? MAX_PEER_BACKLOG : this.busyLimit()) || early) {
      peer.send({ type: 'no-data', index: m.index, reason: NoDataReason.BUSY, windowStart: this.log.start })
      return
    }
    if (!this.serve(peer, entry, m.fullProof)) {
      peer.send({ type: 'no-data', index: m.index, reason: NoDataReason.NOT_HELD, windowStart: this.log.start })
      return
    }
    // A rescue viewer's pulls say the swarm is short of upload, not that the stripe's subscriber failed.
    if (pushed !== undefined && !peer.rescue && !peer.subscriptions.has(stripeOf(m.index))) this.subscribers.repaired(m.index)
  }

  /**
   * Bytes waiting in every peer's outbox: what transports have not taken because they are full
   * (our upload backlog). Bytes already handed to a stream are in flight and not counted.
   */
  uploadBacklog (): number {
    let n = 0
    for (const p of this.peers()) n += p.queued
    return n
  }

  /** Whether `peer` holds log-tree node `n`, as far as we know. */
  private peerHolds (peer: Peer, n: number): boolean {
    if (peer.sentNodes.has(n) || isRootOf(n, peer.remote.length)) return true
    return peer.remote.have.covers(flat.leftSpan(n) / 2, lastLeaf(n) + 1)
  }

  /** Sends a block's header with its proof, the pieces held so far, and subscribes the peer to the rest. */
  serve (peer: Peer, entry: BlockEntry, fullProof: boolean): boolean {
    const holds = fullProof ? () => false : (n: number) => this.peerHolds(peer, n)
    const heads = this.log.recentHeads().filter(h => h.length > entry.index)
    let head: SignedHead | null = null
    let nodes: ProofNode[] | null = null
    // Without a newer head to give, prove the block against a node the peer already holds.
    if (!fullProof && peer.remote.length > entry.index && peer.remote.length >= this.log.length) {
      nodes = buildProof(this.log.tree, entry.index, null, holds)
    }
    for (let i = 0; nodes === null && i < heads.length; i++) {
      const candidate = heads[i] as SignedHead
      nodes = buildProof(this.log.tree, entry.index, candidate.length, holds)
      if (nodes !== null) head = candidate
    }
    if (nodes === null) return false
    const m: Data = {
      type: 'data', index: entry.index, byteLength: entry.byteLength, flags: entry.flags, pieceRoot: entry.pieces.root,
      head, nodes
    }
    const size = peer.send(m)
    peer.stats.proofBytesSent += nodes.length * 33 + (m.head === null ? 0 : 80)
    peer.stats.blocksSent++
    this.rememberSent(peer, entry.index, m)
    const mirror = new Set<number>([entry.pieces.rootIndex])
    peer.serving.set(entry.index, mirror)
    for (let k = 0; k < entry.pieces.count; k++) if (entry.have[k] === 1) this.sendPiece(peer, entry, k, mirror)
    if (isComplete(entry)) peer.serving.delete(entry.index)
    return size > 0
  }

  /** Records the nodes `peer` will hold once it verified `m`. */
  private rememberSent (peer: Peer, index: number, m: Data): void {
    for (const n of m.nodes) peer.sentNodes.add(n.index)
    const top = m.head === null ? null : rootFor(index, m.head.length)
    let n = 2 * index
    for (let d = 0; d < 53 && !(top === null ? this.peerHolds(peer, n) : n === top); d++) {
      peer.sentNodes.add(n)
      n = flat.parent(n)
    }
    peer.sentNodes.add(n)
    if (m.head !== null && m.head.length > peer.remote.length) peer.remote.length = m.head.length
  }

  private sendPiece (peer: Peer, entry: BlockEntry, k: number, mirror: Set<number>): void {
    const before = new Set(mirror)
    const uncles = this.pieceUncles(entry, k, mirror)
    if (uncles === null) { mirror.clear(); for (const n of before) mirror.add(n); return }
    peer.send({ type: 'piece', index: entry.index, piece: k, uncles, data: this.log.pieceBytes(entry, k) })
    peer.stats.piecesSent++
    peer.stats.proofBytesSent += uncles.length * 33
  }

  private pieceUncles (entry: BlockEntry, k: number, mirror: Set<number>): ProofNode[] | null {
    const uncles = entry.pieces.uncles(k, mirror)
    return uncles.every(u => u.hash !== undefined) ? uncles : null
  }

  ondata (peer: Peer, m: Data): void {
    let req = this.scheduler.requestOf(m.index)
    // Not asked of this peer: a push from our upstream, or a stale answer (cancelled, timed out).
    const pushed = req === undefined || req.peer !== peer
    if (req === undefined || req.peer !== peer) { // as `pushed`, spelled out for type narrowing
      const held = this.log.get(m.index)
      if (peer !== this.upstream?.parentOf(m.index) || (held !== undefined && isComplete(held)) || m.index < this.log.start ||
          !this.scheduler.adopt(peer, m.index)) {
        peer.send({ type: 'cancel', index: m.index })
        return
      }
      req = this.scheduler.requestOf(m.index) as { peer: Peer, fullProof: boolean }
    }
    const result = this.log.verifyHeader(m.index, m.byteLength, m.flags, m.pieceRoot, m.nodes, m.head, this.clock.now())
    if (!result.ok) {
      if (req.fullProof) throw new MunroError('ERR_INVALID_PROOF', `block ${m.index}: self-contained proof lacks node ${result.missing}`)
      this.scheduler.request(peer, m.index, true)
      return
    }
    if (m.head !== null && m.head.length > peer.remote.length) peer.remote.length = m.head.length
    const entry = this.log.get(m.index)
    if (entry === undefined) { this.scheduler.clear(m.index); return } // verified, but before our window
    if (entry.flags !== m.flags || entry.byteLength !== m.byteLength || !equalBytes(entry.pieces.root, m.pieceRoot)) {
      throw new MunroError('ERR_INVALID_PROOF', `block ${m.index}: header differs from the verified one`)
    }
    this.scheduler.progress(m.index)
    this.upstream?.heard(peer, m.index, false)
    if (result.added !== undefined) {
      peer.stats.blocksReceived++
      if (pushed) this.arrivals.pushed++
      else this.arrivals.pulled++
      this.hooks.onheader(result.added, peer, m.head)
      this.push(result.added, peer)
      this.announceNew(m.index)
    }
    this.headOf.set(m.index, m.head)
  }

  /** The head each arriving block was verified with (its timestamp dates the block). */
  private readonly headOf = new Map<number, SignedHead | null>()

  onpiece (peer: Peer, m: Piece): void {
    const entry = this.log.get(m.index)
    if (entry === undefined) return // before its header, or out of the window: ignore
    // A piece from a peer we no longer ask (we cancelled it, or its request timed out) still
    // verifies against the header's piece root, and is kept: dropping it could leave two peers
    // serving each other a header whose pieces neither holds. Its sender may count on uncles it
    // sent in pieces that reached us before the header; lacking one, the piece is dropped.
    const req = this.scheduler.requestOf(m.index)
    if (!this.log.addPiece(entry, m.piece, m.data, m.uncles, req?.peer !== peer)) return
    peer.stats.piecesReceived++
    this.scheduler.progress(m.index)
    for (const p of this.peers()) {
      const mirror = p.serving.get(m.index)
      if (mirror === undefined) continue
      this.sendPiece(p, entry, m.piece, mirror)
      if (isComplete(entry)) p.serving.delete(m.index)
    }
    if (isComplete(entry)) {
      this.upstream?.heard(peer, m.index, true) // its sender held it whole first
      this.scheduler.complete(m.index, entry.byteLength)
      const head = this.headOf.get(m.index) ?? null
      this.headOf.delete(m.index)
      // Announced once already when the header verified (for cut-through); again now that it is
      // whole, so that peers that gave up on us while we were still receiving it ask again.
      this.announce(m.index, m.index + 1, true)
      this.hooks.oncomplete(entry, peer, head)
      this.scheduler.update()
    }
  }

  onnodata (peer: Peer, m: NoData): void {
    if (m.reason === NoDataReason.BUSY) {
      this.scheduler.busy(peer, m.index)
      return
    }
    peer.remote.have.delete(m.index)
    peer.remote.whole.delete(m.index)
    if (m.windowStart > peer.remote.windowStart) {
      peer.remote.windowStart = m.windowStart
      peer.remote.have.trimBelow(m.windowStart)
      peer.remote.whole.trimBelow(m.windowStart)
    }
    this.scheduler.failed(peer, m.index)
  }

  onmetadata (peer: Peer, m: Metadata): void {
    if (this.metadata !== null && m.seq <= this.metadata.seq) return
    verifyMetadata(this.cache, this.log.publicKey, m.seq, m.data, m.signature)
    this.metadata = { seq: m.seq, data: m.data.slice(), signature: m.signature.slice() }
    this.hooks.onmetadata(this.metadata, peer)
    this.broadcastMetadata(peer)
  }

  /** Sends the current metadata to every peer but `except`. */
  broadcastMetadata (except: Peer | null = null): void {
    if (this.metadata === null) return
    for (const p of this.peers()) if (p !== except && p.handshaked) p.send({ type: 'metadata', ...this.metadata })
  }

  /**
   * Our request for block `index`, whose header we hold, ended without its pieces (its peer
   * left, was dropped for tampering, timed out or said NO_DATA). Those we were forwarding it to
   * are told NO_DATA at once and ask elsewhere, and until a new request of ours is under way we
   * answer requests for it NO_DATA (`onrequest`). Otherwise a header from a peer dropped for bad
   * pieces spreads by cut-through, and peers holding only that header serve it to each other in
   * a ring that never delivers: in the simulator (ten viewers, seed 3, the tamperer a child of
   * the broadcaster) every viewer missed that block, waiting out 2 s request timeouts.
   */
  stalled (index: number): void {
    for (const p of this.peers()) {
      if (!p.serving.delete(index)) continue
      p.dropQueued(index)
      p.send({ type: 'no-data', index, reason: NoDataReason.NOT_HELD, windowStart: this.log.start })
    }
  }

  /** Forwards-ready pieces of a block we produced (broadcaster) are sent by `serve`; nothing else to do. */
  dropPeer (peer: Peer): void {
    peer.serving.clear()
    this.subscribers.dropPeer(peer)
    this.upstream?.removePeer(peer)
    this.scheduler.removePeer(peer)
  }

  /** Forgets per-peer bookkeeping below the window start. */
  prune (start: number): void {
    for (const i of this.headOf.keys()) if (i < start) this.headOf.delete(i)
    for (const i of this.pushedAt.keys()) if (i < start) this.pushedAt.delete(i)
    this.scheduler.prune(start)
    for (const p of this.peers()) {
      for (const n of p.sentNodes) if (lastLeaf(n) < start && lastLeaf(flat.parent(n)) < start) p.sentNodes.delete(n)
      for (const i of p.serving.keys()) if (i < start) p.serving.delete(i)
      for (const i of p.failed.keys()) if (i < start) p.failed.delete(i)
    }
  }
}
