/**
 * A simulated swarm: one broadcaster and N viewers, each a real munro instance (the protocol
 * core, unmodified), connected by simulated links (link.ts) on virtual time (virtual-clock.ts),
 * with the real topology policy (swarm/topology.ts: each `maintain` is `planMaintain`, each dial
 * is answered by `admit`, as in swarm.ts).
 *
 * DEV DOCS
 * - Signaling is a room where every live peer is a member. A dial reaches its target after both
 *   peers' signaling delay; the target answers busy (`admit` refuses, or already connected
 *   to the dialler) or accepts, and the connection opens `connectRtts` round trips after the
 *   answer (ICE + DTLS + SCTP). A dropped or refused peer is not dialled for `retryAfterMs`,
 *   and a peer (the broadcaster too, which fills a free slot) re-runs `maintain` every
 *   `maintainIntervalMs` and after every drop, as swarm/swarm.ts does. A full broadcaster takes a
 *   strong dialler in place of a weak child (`admit`'s `replace`), reading the children's current
 *   upload where the swarm has them report it over signaling. Whenever its children change, the
 *   broadcaster tells each its siblings (one signaling delay later), which link up and give each
 *   other subscriber priority, as in swarm.ts. A viewer whose core counts late blocks dials the
 *   broadcaster for a rescue link and hangs up once it is idle, as in swarm.ts (the policy is
 *   topology.ts's); both cores are told (`setPeerRescue`).
 * - Each side's transport buffer, which the core is told of (`bufferedAmount`), is its
 *   outgoing channel's queue, kept at most the swarm pump's size (link.ts).
 * - Geometry: each peer has an access delay; a connection's one-way delay is the sum of both
 *   ends' (so 10–40 ms each gives 20–80 ms links).
 * - Each connection is a pair of `peerStream()`s. Frames are taken from one side's readable
 *   (every chunk is one frame) — through swarm/tamper.ts's `tamperStream()` for a tampering
 *   peer — and written to the other side's writable by the link.
 * - Churn: a leaving viewer destroys its munro instance; its neighbours learn of the closed
 *   connection one link delay later. A replacement joins at once (a late joiner).
 * - The core is built by `createCore` with `clock`, `random` (a per-peer seeded stream) and,
 *   with `sharedSignatureCache`, one SignatureCache for every peer (a shortcut to fit 1,000
 *   peers on 2 cores: a head verified by one peer counts as verified for all; reported as such).
 * Settings and defaults are in options.ts; metrics are computed in metrics.ts from what this
 * file records.
 * @module
 */
import type { Duplex } from 'streamx'
import type { Munro } from '../munro.js'
import type { MunroOptions } from '../options.js'
import { BLOCK_FLAG_CLUSTER_START, BLOCK_FLAG_KEYFRAME } from '../media/constants.js'
import type { PeerRole } from '../signaling/protocol.js'
import { tamperStream } from '../swarm/tamper.js'
import { admit, checkTopology, LateBlocks, planMaintain, refusalBackoff, RootCandidates, siblingsOf, type TopologyState } from '../swarm/topology.js'
import { publicKeyOf, SignatureCache } from '../verifier.js'
import { Channel, Uplink } from './link.js'
import { frameInfo } from './frames.js'
import { summarise, type SimResult } from './metrics.js'
import { createRandom, deriveSeed, type SeededRandom } from './random.js'
import { DEFAULT_SIM_OPTIONS, type SimOptions, type UploadClass } from './options.js'
import { VirtualClock } from './virtual-clock.js'

/** A connection between two simulated peers, pending or open. */
interface Conn {
  remote: SimNode
  link: SimLink | null
  /** A rescue link between the broadcaster and a starving viewer (topology.ts). */
  rescue: boolean
}

/** One simulated peer and what is recorded about it. */
export interface SimNode {
  readonly id: string
  readonly role: PeerRole
  readonly mro: Munro
  readonly uplink: Uplink
  readonly uploadClass: string
  readonly accessMs: number
  readonly tamper: boolean
  readonly joinAt: number
  leftAt: number | null
  /** Whether it has probed its upload (Munro.probeUpload). */
  probed: boolean
  readonly conns: Map<string, Conn>
  readonly backoff: Map<string, number>
  /** The core's local peer id → the remote node. */
  readonly peerToNode: Map<string, SimNode>
  /** Per block: virtual time it verified here (NaN: never), and relay hops it crossed (-1). */
  readonly verifiedAt: Float64Array
  readonly hop: Int16Array
  readonly random: SeededRandom
  bytesIn: number
  bytesInFromBroadcaster: number
  duplicateBytes: number
  invalidSeen: number
  /** Frames and bytes received by message type. */
  readonly byType: Map<string, { frames: number, bytes: number }>
  readonly seenPieces: Map<number, Set<number>>
  /** A broadcaster child: the other children, as the broadcaster last told it (swarm.ts `siblings`). */
  siblings: ReadonlySet<string>
  /** Its late blocks, read from the core at each `maintain` (swarm.ts). */
  readonly late: LateBlocks
}

interface SimLink {
  a: SimNode
  b: SimNode
  sa: Duplex
  sb: Duplex
  ab: Channel
  ba: Channel
  delayMs: number
  closed: boolean
}

/** The swarm under simulation; {@link simulate} builds and runs one. */
export class SwarmSim {
  readonly opts: SimOptions
  readonly clock: VirtualClock
  readonly nodes: SimNode[] = []
  readonly broadcaster: SimNode
  readonly blocks: number
  readonly appendAt: Float64Array
  readonly blockBytes: Int32Array
  readonly blockFlags: Uint8Array
  readonly streamStart: number
  readonly end: number
  readonly memorySamples: Array<{ tMs: number, viewers: number, meanLogBytes: number, meanLogBlocks: number, probe?: number }> = []
  readonly signatureCache: SignatureCache | null
  links = 0
  /** Rescue links opened (topology.ts). */
  rescueLinks = 0
  /** Errors the core reported through its `error` event (none expected). */
  readonly errors: string[] = []
  private readonly members = new Map<string, PeerRole>()
  private readonly byId = new Map<string, SimNode>()
  private readonly random: SeededRandom
  private readonly payload: Uint8Array
  private nextViewer = 0
  private readonly classDeck: UploadClass[] = []
  private decksDealt = 0
  /** The broadcaster's memory of strong viewers that dialled it (swarm/topology.ts). */
  private readonly rootCandidates: RootCandidates

  constructor (options: Partial<SimOptions> = {}) {
    const o = this.opts = { ...DEFAULT_SIM_OPTIONS, ...options, core: { ...DEFAULT_SIM_OPTIONS.core, ...options.core } }
    if (!Number.isInteger(o.viewers) || o.viewers < 1) throw new RangeError('viewers: expected an integer ≥ 1')
    checkTopology(o.topology)
    this.rootCandidates = new RootCandidates(o.topology)
    if (!(o.durationMs > 0) || !(o.blockMs > 0)) throw new RangeError('durationMs, blockMs: expected positive numbers')
    if (!o.rootLeavesAtMs.every(t => t >= 0 && t < Infinity)) throw new RangeError('rootLeavesAtMs: expected finite times ≥ 0 (ms)')
    const shares = o.uploadMix.reduce((a, c) => a + c.share, 0)
    if (o.uploadMix.length === 0 || Math.abs(shares - 1) > 1e-6) throw new RangeError('uploadMix: shares must sum to 1')
    this.clock = new VirtualClock({ quantumMs: o.quantumMs })
    this.random = createRandom(deriveSeed(o.seed, 'sim'))
    this.signatureCache = o.sharedSignatureCache ? new SignatureCache(4096) : null
    this.blocks = Math.floor(o.durationMs / o.blockMs)
    this.appendAt = new Float64Array(this.blocks).fill(NaN)
    this.blockBytes = new Int32Array(this.blocks)
    this.blockFlags = new Uint8Array(this.blocks)
    this.streamStart = this.clock.now() + o.warmupMs
    this.end = this.streamStart + this.blocks * o.blockMs + o.tailMs
    this.planStream()
    this.payload = createRandom(deriveSeed(o.seed, 'payload')).fill(new Uint8Array(Math.max(...this.blockBytes)))
    const secretKey = createRandom(deriveSeed(o.seed, 'key')).fill(new Uint8Array(32))
    this.broadcaster = this.addNode('b', 'broadcaster', null, o.broadcasterUploadBps, 'broadcaster', false,
      o.createCore(null, this.coreOptions('b', { keyPair: { publicKey: publicKeyOf(secretKey), secretKey } })))
    this.plan()
  }

  private coreOptions (id: string, extra: Partial<MunroOptions> = {}): Partial<MunroOptions> {
    return {
      ...this.opts.core,
      ...extra,
      clock: this.clock,
      random: createRandom(deriveSeed(this.opts.seed, `core:${id}`)),
      ...(this.signatureCache === null ? {} : { signatureCache: this.signatureCache })
    }
  }

  /** Block sizes and flags: the mean size gives the bit rate; keyframe blocks are larger. */
  private planStream (): void {
    const o = this.opts
    const mean = o.bitrate / 8 * o.blockMs / 1000
    const r = createRandom(deriveSeed(o.seed, 'stream'))
    const kfShare = Math.min(1, o.blockMs / o.keyframeIntervalMs)
    const other = kfShare >= 1 ? 1 : (1 - kfShare * o.keyframeSizeFactor) / (1 - kfShare)
    for (let k = 0; k < this.blocks; k++) {
      const t = k * o.blockMs
      const key = k === 0 || Math.floor(t / o.keyframeIntervalMs) > Math.floor((t - o.blockMs) / o.keyframeIntervalMs)
      this.blockFlags[k] = key ? BLOCK_FLAG_CLUSTER_START | BLOCK_FLAG_KEYFRAME : 0
      this.blockBytes[k] = Math.max(1, Math.round(mean * (key ? o.keyframeSizeFactor : other) * (1 + r.uniform(-o.sizeJitter, o.sizeJitter))))
    }
  }

  /** Schedules joins, appends, churn, samples. */
  private plan (): void {
    const o = this.opts
    const c = this.clock
    const t0 = c.now()
    const late = Math.round(o.viewers * o.lateJoinShare)
    const streamEnd = this.streamStart + this.blocks * o.blockMs
    this.keepMaintained(this.broadcaster)
    for (let i = 0; i < o.viewers; i++) {
      const at = i < o.viewers - late
        ? t0 + this.random.uniform(0, o.joinWindowMs)
        : this.streamStart + this.random.uniform(0, 0.8 * o.durationMs)
      c.at(at, () => { this.join(false) })
    }
    for (let i = 0; i < o.tamperers; i++) c.at(t0 + this.random.uniform(0, o.joinWindowMs), () => { this.join(true) })
    const leaves = Math.round(o.churnPerMinute * o.viewers * o.durationMs / 60_000)
    for (let i = 0; i < leaves; i++) {
      const pick = this.random()
      c.at(this.streamStart + this.random.uniform(0, 0.9 * o.durationMs), () => { this.churn(pick) })
    }
    for (const t of o.rootLeavesAtMs) c.at(this.streamStart + t, () => { this.childLeaves() })
    c.at(t0, () => { this.broadcaster.mro.setMetadata(this.payload.subarray(0, 200)).catch(this.fail) })
    for (let k = 0; k < this.blocks; k++) c.at(this.streamStart + k * o.blockMs, () => { this.append(k) })
    for (let t = this.streamStart; t <= streamEnd; t += o.sampleEveryMs) c.at(t, () => { this.sample() }, false)
  }

  private readonly fail = (err: unknown): void => { throw err }

  private append (k: number): void {
    const b = this.broadcaster
    const data = this.payload.slice(0, this.blockBytes[k])
    data[0] = k & 0xff; data[1] = (k >>> 8) & 0xff
    this.appendAt[k] = this.clock.now()
    b.verifiedAt[k] = this.clock.now()
    b.hop[k] = 0
    b.mro.append(data, { flags: this.blockFlags[k] }).catch(this.fail)
  }

  private sample (): void {
    const live = this.nodes.filter(n => n.role === 'viewer' && n.leftAt === null)
    let bytes = 0
    let blocks = 0
    for (const n of live) { const s = n.mro.stats(); bytes += s.bytes; blocks += s.blocks }
    this.memorySamples.push({
      tMs: this.clock.now() - this.streamStart,
      viewers: live.length,
      meanLogBytes: live.length === 0 ? 0 : bytes / live.length,
      meanLogBlocks: live.length === 0 ? 0 : blocks / live.length,
      ...(this.opts.probe === undefined ? {} : { probe: this.opts.probe() })
    })
  }

  private addNode (id: string, role: PeerRole, uploadClass: UploadClass | null, bps: number, label: string, tamper: boolean, mro: Munro): SimNode {
    const o = this.opts
    const random = createRandom(deriveSeed(o.seed, `node:${id}`))
    const node: SimNode = {
      id, role, mro, tamper, uploadClass: uploadClass?.label ?? label,
      uplink: new Uplink(this.clock, bps, o.frameOverheadBytes),
      accessMs: random.uniform(o.accessDelayMs[0], o.accessDelayMs[1]),
      joinAt: this.clock.now(), leftAt: null, probed: false,
      conns: new Map(), backoff: new Map(), peerToNode: new Map(),
      verifiedAt: new Float64Array(this.blocks).fill(NaN), hop: new Int16Array(this.blocks).fill(-1),
      random, bytesIn: 0, bytesInFromBroadcaster: 0, duplicateBytes: 0, invalidSeen: 0,
      byType: new Map(), seenPieces: new Map(), siblings: new Set(), late: new LateBlocks()
    }
    this.nodes.push(node)
    this.byId.set(id, node)
    this.members.set(id, role)
    mro.on('verified', (e) => {
      if (e.from === null || e.index >= this.blocks) return
      node.verifiedAt[e.index] = this.clock.now()
      const src = node.peerToNode.get(e.from)
      const h = src === undefined ? -1 : (src.hop[e.index] as number)
      node.hop[e.index] = h < 0 ? -1 : h + 1
    })
    mro.on('invalid', () => { node.invalidSeen++ })
    mro.on('error', ({ error }) => { this.errors.push(`${id}: ${error.message}`) })
    return node
  }

  /**
   * The next honest joiner's upload class, dealt from a shuffled deck of `viewers` cards that
   * holds the mix's shares exactly ({@link dealUploadClasses}), a new deck when one runs out: a
   * draw per viewer gave ten viewers seven weak uplinks of ten as often as not.
   */
  private uploadClass (): UploadClass {
    if (this.classDeck.length === 0) {
      const r = createRandom(deriveSeed(this.opts.seed, `classes:${this.decksDealt++}`))
      this.classDeck.push(...dealUploadClasses(this.opts.uploadMix, this.opts.viewers, r))
    }
    return this.classDeck.pop() as UploadClass
  }

  private join (tamper: boolean): void {
    const id = `${tamper ? 't' : 'v'}${this.nextViewer++}`
    const cls = tamper ? { label: 'tamper', share: 0, bitsPerSecond: 5_000_000 } : this.uploadClass()
    const node = this.addNode(id, 'viewer', cls, cls.bitsPerSecond, cls.label, tamper,
      this.opts.createCore(this.broadcaster.mro.id, this.coreOptions(id)))
    this.keepMaintained(node)
  }

  /** Runs `maintain` for `node` now and every `maintainIntervalMs` until it leaves. */
  private keepMaintained (node: SimNode): void {
    const loop = (): void => {
      if (node.leftAt !== null) return
      this.maintain(node)
      this.clock.at(this.clock.now() + this.opts.maintainIntervalMs, loop, false)
    }
    loop()
  }

  /** A random honest viewer leaves; a newcomer replaces it. */
  private churn (pick: number): void {
    const live = this.nodes.filter(n => n.role === 'viewer' && !n.tamper && n.leftAt === null)
    const node = live[Math.floor(pick * live.length)]
    if (node !== undefined) this.leave(node)
    this.join(false)
  }

  /** The broadcaster's first child (not a rescue link) leaves; a newcomer joins. */
  private childLeaves (): void {
    for (const [id, conn] of this.broadcaster.conns) {
      const node = this.byId.get(id)
      if (conn.rescue || conn.link === null || node === undefined || node.leftAt !== null) continue
      this.leave(node)
      this.join(false)
      return
    }
  }

  private leave (node: SimNode): void {
    node.leftAt = this.clock.now()
    this.members.delete(node.id)
    node.mro.destroy().catch(this.fail)
  }

  /** What the topology policy sees of `node`. */
  private topologyState (node: SimNode, members: ReadonlyMap<string, PeerRole> = this.members): TopologyState {
    const now = this.clock.now()
    return {
      role: node.role, id: node.id, members, connected: new Set(node.conns.keys()), backoff: node.backoff, now,
      upload: node.mro.uploadCopies, siblings: node.siblings,
      rescue: new Set([...node.conns].filter(([, c]) => c.rescue).map(([id]) => id)),
      ...(node.role === 'broadcaster' ? { rootCandidates: this.rootCandidates.current(now) } : {})
    }
  }

  /** Closes `node`'s connection to `id` from its side (the other side learns one link delay later). */
  private hangUp (node: SimNode, id: string): void {
    const link = node.conns.get(id)?.link ?? null
    if (link === null) return
    ;(link.a === node ? link.sa : link.sb).destroy()
    node.conns.delete(id)
  }

  private maintain (node: SimNode): void {
    if (node.leftAt !== null) return
    const topo = this.opts.topology
    const now = this.clock.now()
    for (const [id, until] of node.backoff) if (until <= now) node.backoff.delete(id)
    const members = new Map(this.members)
    members.delete(node.id)
    const plan = planMaintain(topo, this.topologyState(node, members), node.late, node.mro.stats().lateBlocks, node.random)
    for (const id of plan.hangUp) this.hangUp(node, id)
    for (const { id, rescue } of plan.dials) {
      const remote = this.byId.get(id)
      if (remote !== undefined) this.dial(node, remote, rescue)
    }
  }

  private signalDelay (a: SimNode, b: SimNode): number {
    return a.accessMs + b.accessMs + 2 * this.opts.signalingDelayMs
  }

  private dial (a: SimNode, b: SimNode, rescue: boolean): void {
    const conn: Conn = { remote: b, link: null, rescue }
    a.conns.set(b.id, conn)
    const sig = this.signalDelay(a, b)
    const stillDialling = (): boolean => a.leftAt === null && a.conns.get(b.id) === conn
    this.clock.at(this.clock.now() + sig, () => {
      if (!stillDialling()) return
      const topo = this.opts.topology
      const reachable = b.leftAt === null && !b.conns.has(a.id)
      // Children report their upload as it changes (swarm.ts); here the broadcaster reads it.
      const uploads = new Map([...b.conns].map(([id, c]) => [id, c.remote.mro.uploadCopies]))
      const answer = reachable ? admit(topo, this.topologyState(b), a.role, a.id, rescue, uploads, a.mro.uploadCopies) : null
      if (reachable && b.role === 'broadcaster' && a.role === 'viewer') this.rootCandidates.heard(a.id, a.mro.uploadCopies, this.clock.now())
      // A child still connecting has no link here to close: the dial is refused instead.
      const replace = answer?.replace ?? null
      const accept = answer !== null && answer.accept && (replace === null || (b.conns.get(replace)?.link ?? null) !== null)
      if (accept && replace !== null) this.hangUp(b, replace)
      if (!accept) {
        this.clock.at(this.clock.now() + sig, () => {
          if (!stillDialling()) return
          a.conns.delete(b.id)
          a.backoff.set(b.id, this.clock.now() + refusalBackoff(topo, b.role, a.mro.uploadCopies))
          this.maintain(a)
        }, false)
        return
      }
      const back: Conn = { remote: a, link: null, rescue }
      b.conns.set(a.id, back)
      const open = this.clock.now() + sig + this.opts.connectRtts * 2 * (a.accessMs + b.accessMs)
      this.clock.at(open, () => {
        const ok = stillDialling() && b.leftAt === null && b.conns.get(a.id) === back
        if (!ok) {
          if (a.conns.get(b.id) === conn) a.conns.delete(b.id)
          if (b.conns.get(a.id) === back) b.conns.delete(a.id)
          return
        }
        const link = this.connect(a, b)
        conn.link = link
        back.link = link
        if (rescue) {
          a.mro.setPeerRescue(link.sa, true)
          b.mro.setPeerRescue(link.sb, true)
          this.rescueLinks++
        }
        this.prioritize(a)
        this.prioritize(b)
        if (a.role === 'broadcaster' || b.role === 'broadcaster') this.tellSiblings(a.role === 'broadcaster' ? a : b)
      })
    }, false)
  }

  /** Opens a connection: a peer stream on each side, a channel each way. */
  private connect (a: SimNode, b: SimNode): SimLink {
    const delayMs = a.accessMs + b.accessMs
    const n = ++this.links
    // The channels are built below; each side's transport buffer is its outgoing channel's queue.
    let ab: Channel | null = null
    let ba: Channel | null = null
    const sa = a.mro.peerStream({ bufferedAmount: () => ab?.queuedBytes ?? 0 })
    const sb = b.mro.peerStream({ bufferedAmount: () => ba?.queuedBytes ?? 0 })
    this.label(a, sa, b, n)
    this.label(b, sb, a, n)
    const rng = createRandom(deriveSeed(this.opts.seed, `link:${a.id}:${b.id}:${n}`))
    const opts = { delayMs, lossRate: this.opts.lossRate }
    ab = new Channel(a.uplink, this.clock, opts, rng, (f) => { this.deliver(a, b, sb, f) })
    ba = new Channel(b.uplink, this.clock, opts, rng, (f) => { this.deliver(b, a, sa, f) })
    const link: SimLink = { a, b, sa, sb, delayMs, closed: false, ab, ba }
    this.pump(this.outgoing(a, sa), link.ab)
    this.pump(this.outgoing(b, sb), link.ba)
    this.probe(a, b, sa)
    this.probe(b, a, sb)
    sa.on('close', () => { this.close(link, a) })
    sb.on('close', () => { this.close(link, b) })
    return link
  }

  /** A viewer measures its upload once, on its first connection to another viewer (as swarm.ts). */
  private probe (node: SimNode, remote: SimNode, stream: Duplex): void {
    if (node.probed || node.role !== 'viewer' || remote.role !== 'viewer') return
    node.probed = true
    node.mro.probeUpload(stream).catch(this.fail)
  }

  /** Moves frames from a core's stream onto a channel, pausing the stream while the channel is full. */
  private pump (stream: Duplex, ch: Channel): void {
    stream.on('data', (f: unknown) => {
      ch.send(f as Uint8Array)
      if (ch.congested) stream.pause()
    })
    ch.ondrain = () => { stream.resume() }
  }

  private label (node: SimNode, stream: Duplex, remote: SimNode, n: number): void {
    const label = `${remote.id}#${n}`
    node.mro.labelPeer(stream, label)
    const info = node.mro.peers.find(p => p.label === label)
    if (info !== undefined) node.peerToNode.set(info.id, remote)
  }

  private outgoing (node: SimNode, stream: Duplex): Duplex {
    if (!node.tamper) return stream
    return stream.pipe(tamperStream(), () => {}) as unknown as Duplex
  }

  private deliver (from: SimNode, to: SimNode, stream: Duplex, frame: Uint8Array): void {
    if (stream.destroyed || to.leftAt !== null) return
    const info = frameInfo(frame)
    if (info.type === 'probe') { stream.write(frame); return } // padding, not stream traffic
    to.bytesIn += frame.length
    if (from.role === 'broadcaster') to.bytesInFromBroadcaster += frame.length
    let t = to.byType.get(info.type)
    if (t === undefined) to.byType.set(info.type, t = { frames: 0, bytes: 0 })
    t.frames++
    t.bytes += frame.length
    if (info.type === 'piece') {
      let seen = to.seenPieces.get(info.index)
      if (seen === undefined) {
        to.seenPieces.set(info.index, seen = new Set())
        if (to.seenPieces.size > 64) to.seenPieces.delete(to.seenPieces.keys().next().value as number)
      }
      if (seen.has(info.piece)) to.duplicateBytes += frame.length
      else seen.add(info.piece)
    }
    stream.write(frame)
  }

  /** One side's stream closed: the other side learns one link delay later. */
  private close (link: SimLink, side: SimNode): void {
    if (link.closed) {
      this.forget(side, link)
      return
    }
    link.closed = true
    link.ab.close()
    link.ba.close()
    const other = side === link.a ? link.b : link.a
    const otherStream = side === link.a ? link.sb : link.sa
    this.forget(side, link)
    this.clock.at(this.clock.now() + link.delayMs, () => {
      otherStream.destroy()
      this.forget(other, link)
    })
  }

  /** Gives `node`'s connections to its siblings subscriber priority, and takes it from others (swarm.ts). */
  private prioritize (node: SimNode): void {
    for (const [id, c] of node.conns) {
      if (c.link !== null) node.mro.setPeerPriority(c.link.a === node ? c.link.sa : c.link.sb, node.siblings.has(id))
    }
  }

  /** The broadcaster's children changed: it tells each its siblings over signaling (swarm.ts). */
  private tellSiblings (b: SimNode): void {
    if (this.opts.topology.maxSiblings <= 0) return
    const children = [...b.conns].filter(([, c]) => c.link !== null && !c.rescue).map(([id]) => id)
    for (const id of children) {
      const child = this.byId.get(id) as SimNode
      const siblings = siblingsOf(this.opts.topology, children, id)
      this.clock.at(this.clock.now() + this.signalDelay(b, child), () => {
        if (child.leftAt !== null || (child.conns.get(b.id)?.link ?? null) === null) return
        child.siblings = siblings
        this.prioritize(child)
        this.maintain(child)
      }, false)
    }
  }

  private forget (node: SimNode, link: SimLink): void {
    const remote = node === link.a ? link.b : link.a
    const c = node.conns.get(remote.id)
    if (c === undefined || c.link !== link) return
    node.conns.delete(remote.id)
    if (remote.role === 'broadcaster') { node.siblings = new Set(); this.prioritize(node) }
    if (node.role === 'broadcaster') this.tellSiblings(node)
    node.backoff.set(remote.id, this.clock.now() + this.opts.topology.retryAfterMs)
    if (node.leftAt === null) this.clock.at(this.clock.now(), () => { this.maintain(node) }, false)
  }

  /** Runs the whole scenario; returns its metrics. Destroys every instance at the end. */
  async run (): Promise<SimResult> {
    const t0 = performance.now()
    await this.clock.run(this.end)
    const wallMs = performance.now() - t0
    const result = summarise(this, wallMs)
    for (const n of this.nodes) if (n.leftAt === null) await n.mro.destroy()
    await this.clock.settle()
    return result
  }
}

/**
 * `n` upload classes in a random order holding the mix's shares as exactly as `n` allows:
 * each class gets the floor of its share of `n`, the cards left go to the largest remainders.
 */
export function dealUploadClasses (mix: readonly UploadClass[], n: number, random: SeededRandom): UploadClass[] {
  const exact = mix.map(c => c.share * n)
  const counts = exact.map(Math.floor)
  const byRemainder = exact.map((x, i) => ({ i, rest: x % 1 })).sort((a, b) => b.rest - a.rest)
  let left = n - counts.reduce((a, v) => a + v, 0)
  for (let k = 0; left > 0; k++, left--) {
    const i = (byRemainder[k % mix.length] as { i: number }).i
    counts[i] = (counts[i] as number) + 1
  }
  const deck = mix.flatMap((c, i) => Array<UploadClass>(counts[i] as number).fill(c))
  for (let i = deck.length - 1; i > 0; i--) {
    const j = random.int(i + 1)
    const t = deck[i] as UploadClass; deck[i] = deck[j] as UploadClass; deck[j] = t
  }
  return deck
}

/**
 * Builds and runs one simulated swarm.
 * @example
 * ```ts
 * const r = await simulate({ viewers: 100, durationMs: 30_000, seed: 7 })
 * console.log(r.broadcasterUploadMultiple, r.latency.p95)
 * ```
 */
export async function simulate (options: Partial<SimOptions> = {}): Promise<SimResult> {
  return await new SwarmSim(options).run()
}
