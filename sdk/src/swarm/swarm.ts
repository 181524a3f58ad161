/**
 * The swarm: finds the stream's peers through a signaling server, connects to them over WebRTC
 * data channels (simple-peer, trickle ICE) and pipes each connection into `mro.peerStream()`.
 * An adapter around the core: the core never sees WebRTC or WebSockets.
 *
 * DEV DOCS
 * - Dial policy and capacity live in topology.ts. Signals between two peers travel as
 *   `{ kind: 'sdp', signal, upload, rescue }` (simple-peer's offer/answer/candidate, with the
 *   sender's `uploadCopies`; `rescue` on a starving viewer's dial for a rescue link),
 *   `{ kind: 'upload', upload }` (a broadcaster child's new measurement),
 *   `{ kind: 'siblings', ids }` (the broadcaster to each child: its other children, whenever
 *   they change; topology.ts links them) or `{ kind: 'busy' }` (a dial refused for capacity: the
 *   dialler backs off that peer and tries another).
 * - A connection that does not open within `connectTimeout` is dropped; a dropped connection
 *   (closed, failed, or cut by munro for bad data) is replaced by `maintain()`, which also runs
 *   every `maintainIntervalMs` and whenever the room changes.
 * - Rescue (topology.ts): every `maintain` reads munro's `lateBlocks`; a viewer they say is
 *   starving dials the broadcaster for a rescue link, and drops it once idle. Both ends mark
 *   the connection with munro's `setPeerRescue`.
 * - After a signaling reconnect our peer id changes; connections still opening are dropped
 *   (their ids are stale), open data channels are kept.
 * - Upload: a viewer probes its upload (`mro.probeUpload`) once, on its first connection to
 *   another viewer, so that topology.ts knows from the start whether it may feed many peers or
 *   be a broadcaster child, instead of learning it when its uplink first backs up. Only over
 *   data channels that report `bufferedAmount` to the pump (browsers), see pump.ts.
 * - A remote whose connection failed verification (munro's `invalid` event; a core peer is
 *   mapped to the remote's signaling id when its connection opens) is banned for the rest of the
 *   session: it is never dialled again and its offers are answered busy. The ban set keeps the
 *   newest {@link MAX_BANNED} ids. Bans are per signaling id: a tamperer that rejoins gets a new
 *   id and is caught (and banned) again by verification.
 * - Each connection's peer stream gets the connection's DTLS fingerprints as its channel
 *   binding (channel-binding.ts), which the broadcaster's SOURCE_PROOF signs.
 * @module
 */
import mitt, { type Emitter, type Handler } from 'mitt'
import SimplePeer from 'simple-peer'
import type { Duplex, Transform } from 'streamx'
import { invalidArgument, outOfRange } from '../errors.js'
import type { Munro, MunroEvents } from '../munro.js'
import { toHex } from '../munro.js'
import { createSignalingClient, type SignalingClient, type WebSocketConstructor } from '../signaling/index.js'
import type { PeerRole } from '../signaling/protocol.js'
import {
  admit, checkTopology, DEFAULT_TOPOLOGY, LateBlocks, planMaintain, refusalBackoff, RootCandidates, siblingsOf,
  type TopologyOptions, type TopologyState
} from './topology.js'
import { peerChannelBinding } from './channel-binding.js'
import { bufferedAmountOf, pumpToPeer } from './pump.js'
import { tamperStream } from './tamper.js'

/** Options of {@link joinSwarm}. */
export interface SwarmOptions extends TopologyOptions {
  /** Signaling server URL (`ws://` or `wss://`). Required. */
  signal: string
  /**
   * STUN/TURN servers. Pass `[]` on one machine or a LAN; real networks need STUN and often TURN.
   * @default simple-peer's defaults (public STUN)
   */
  iceServers?: RTCIceServer[]
  /** A WebRTC implementation for Node (`@roamhq/wrtc`). @default the browser's */
  wrtc?: unknown
  /** WebSocket constructor (Node 20: `ws`). @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor
  /** simple-peer constructor, for bundles that load it differently. @default simple-peer */
  SimplePeer?: typeof SimplePeer
  /**
   * Milliseconds a WebRTC connection may take to open.
   * @default 15000
   */
  connectTimeout: number
  /**
   * How often to replace missing peers and emit `stats`.
   * @default 1000
   */
  maintainIntervalMs: number
  /** @default Math.random */
  random: () => number
  /**
   * TEST ONLY: corrupt every piece this peer sends, to exercise its neighbours' verification.
   * @default false
   */
  unsafeTamperOutgoing: boolean
}

export const DEFAULT_SWARM_OPTIONS: Readonly<Omit<SwarmOptions, 'signal' | 'iceServers' | 'wrtc' | 'WebSocket' | 'SimplePeer'>> = Object.freeze({
  ...DEFAULT_TOPOLOGY,
  connectTimeout: 15_000,
  maintainIntervalMs: 1000,
  random: Math.random,
  unsafeTamperOutgoing: false
})

/** Per-connection numbers. */
export interface SwarmPeerStats {
  /** The remote's signaling id. */
  id: string
  role: PeerRole
  bytesSent: number
  bytesReceived: number
  blocksReceived: number
  rtt: number | null
  invalid: number
  /** A rescue link between the broadcaster and a starving viewer (topology.ts). */
  rescue: boolean
}

/** Swarm-wide numbers. */
export interface SwarmStats {
  role: PeerRole
  /** Our signaling id, or null while not joined. */
  peerId: string | null
  peers: SwarmPeerStats[]
  bytesSent: number
  bytesReceived: number
  /** Blocks that arrived from the broadcaster directly. */
  blocksFromBroadcaster: number
  /** Blocks that arrived from other viewers. */
  blocksFromPeers: number
  /** Share of received blocks that came from viewers (0…1), or null before any block. */
  p2pRatio: number | null
  /** Verification failures (peers dropped for bad data). */
  invalid: number
  /** Remotes banned this session for data that failed verification (at most {@link MAX_BANNED}). */
  banned: number
  /** Mean append→verified latency in ms over the last blocks (same-clock runs only), or null. */
  latencyMs: number | null
  /** Copies of the stream our measured upload carries (munro's `uploadCopies`), or null. */
  uploadCopies: number | null
  /** Blocks that came late or never (munro's `lateBlocks`); a run of them asks for a rescue link. */
  lateBlocks: number
}

export type SwarmEvents = {
  'peer-connect': { id: string, role: PeerRole }
  'peer-disconnect': { id: string, role: PeerRole, error: Error | null }
  stats: SwarmStats
  error: { error: Error }
}

/** Data exchanged between two peers through the signaling server. */
type PeerSignal = { kind: 'sdp', signal: SimplePeer.SignalData, upload?: number | null, rescue?: boolean } | { kind: 'upload', upload: number | null } |
  { kind: 'siblings', ids: string[] } | { kind: 'busy' }

/** A reported upload as received: a finite non-negative number of copies, else unmeasured. */
const reportedUpload = (v: unknown): number | null => typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null

interface Conn {
  id: string
  role: PeerRole
  /** We dialled (sent the offer). */
  initiator: boolean
  /** Initiator only: the remote's answer arrived. */
  answered: boolean
  peer: SimplePeer.Instance
  stream: Duplex | null
  timer: ReturnType<typeof setTimeout> | null
  /** The remote's last reported upload (copies of the stream), null while unmeasured. */
  upload: number | null
  /** A rescue link (topology.ts): the viewer dialled the broadcaster for one. */
  rescue: boolean
}

const LATENCY_SAMPLES = 32

/** Banned signaling ids a swarm remembers; past this the oldest ban is forgotten. */
export const MAX_BANNED = 256

/** A running swarm membership; see {@link joinSwarm}. */
export class Swarm {
  readonly role: PeerRole
  private readonly opts: SwarmOptions
  private readonly client: SignalingClient
  private readonly conns = new Map<string, Conn>()
  private readonly backoff = new Map<string, number>()
  /** A broadcaster child: the broadcaster's other children, as it last told us. */
  private siblings: ReadonlySet<string> = new Set()
  private readonly emitter: Emitter<SwarmEvents> = mitt<SwarmEvents>()
  /** Core peer id → the remote's signaling id and role, while the core connection lives. */
  private readonly remotes = new Map<string, { id: string, role: PeerRole }>()
  /** Signaling ids never to connect to again, oldest first. */
  private readonly banned = new Set<string>()
  private readonly timer: ReturnType<typeof setInterval>
  private readonly latencies: number[] = []
  private closedBytes = { sent: 0, received: 0 }
  private fromBroadcaster = 0
  private fromPeers = 0
  private destroyed = false
  /** Whether we probed our upload (once per session). */
  private probed = false
  /** The upload we last reported to each broadcaster we are connected to. */
  private readonly reported = new Map<string, number | null>()
  /** Our late blocks (munro's `lateBlocks`), read at every `maintain`. */
  private readonly late = new LateBlocks()
  /** Broadcaster: strong viewers that dialled us, to fill a free child slot with (topology.ts). */
  private readonly rootCandidates: RootCandidates

  constructor (readonly mro: Munro, options: Partial<SwarmOptions> & { signal: string }) {
    this.opts = { ...DEFAULT_SWARM_OPTIONS, ...options }
    checkTopology(this.opts)
    this.rootCandidates = new RootCandidates(this.opts)
    if (!(this.opts.connectTimeout > 0 && this.opts.connectTimeout < Infinity)) throw outOfRange('connectTimeout', 'a positive number of ms')
    if (!(this.opts.maintainIntervalMs >= 10 && this.opts.maintainIntervalMs < Infinity)) throw outOfRange('maintainIntervalMs', 'a number of ms ≥ 10')
    if (typeof this.opts.random !== 'function') throw invalidArgument('random', 'a function returning numbers in [0, 1)')
    this.role = mro.writable ? 'broadcaster' : 'viewer'
    this.client = createSignalingClient({
      url: this.opts.signal, room: toHex(mro.discoveryKey), role: this.role,
      ...(this.opts.WebSocket === undefined ? {} : { WebSocket: this.opts.WebSocket })
    })
    this.client.on('joined', () => {
      for (const c of [...this.conns.values()]) if (c.stream === null) this.drop(c, null)
      this.maintain()
    })
    this.client.on('peer-joined', () => { this.maintain() })
    this.client.on('peer-left', ({ peer }) => {
      const c = this.conns.get(peer)
      if (c !== undefined && c.stream === null) this.drop(c, null)
    })
    this.client.on('signal', ({ from, data }) => { this.onsignal(from, data) })
    this.client.on('error', (error) => { this.emit('error', { error }) })
    mro.on('verified', this.onverified)
    mro.on('invalid', this.oninvalid)
    mro.on('peer-remove', this.onpeerremove)
    this.timer = setInterval(() => {
      this.maintain()
      this.emit('stats', this.stats())
    }, this.opts.maintainIntervalMs)
  }

  on<K extends keyof SwarmEvents> (type: K, handler: Handler<SwarmEvents[K]>): void { this.emitter.on(type, handler) }
  off<K extends keyof SwarmEvents> (type: K, handler?: Handler<SwarmEvents[K]>): void { this.emitter.off(type, handler) }

  private emit<K extends keyof SwarmEvents> (type: K, event: SwarmEvents[K]): void {
    for (const h of (this.emitter.all.get(type) as Array<Handler<SwarmEvents[K]>> | undefined)?.slice() ?? []) {
      try { h(event) } catch (err) { if (type !== 'error') this.emit('error', { error: err as Error }) }
    }
  }

  private readonly onverified = (e: MunroEvents['verified']): void => {
    if (e.from === null) return
    if (this.remotes.get(e.from)?.role === 'broadcaster') this.fromBroadcaster++
    else this.fromPeers++
    if (e.latency !== null) {
      this.latencies.push(e.latency)
      if (this.latencies.length > LATENCY_SAMPLES) this.latencies.shift()
    }
  }

  private readonly oninvalid = (e: MunroEvents['invalid']): void => {
    const id = this.remotes.get(e.peer.id)?.id
    if (id === undefined) return
    this.banned.delete(id)
    this.banned.add(id)
    if (this.banned.size > MAX_BANNED) for (const old of this.banned) { this.banned.delete(old); break }
    const conn = this.conns.get(id)
    if (conn !== undefined) this.drop(conn, e.error)
  }

  private readonly onpeerremove = (e: MunroEvents['peer-remove']): void => { this.remotes.delete(e.peer.id) }

  /** What the topology policy sees of us. */
  private topologyState (members: ReadonlyMap<string, PeerRole>): TopologyState {
    const now = Date.now()
    return {
      role: this.role, id: this.client.peerId ?? '', members, connected: new Set(this.conns.keys()), backoff: this.backoff,
      now, upload: this.mro.uploadCopies, siblings: this.siblings,
      rescue: new Set([...this.conns.values()].filter(c => c.rescue).map(c => c.id)),
      ...(this.role === 'broadcaster' ? { rootCandidates: this.rootCandidates.current(now) } : {})
    }
  }

  /** Dials peers until the topology is satisfied; reports our upload to the broadcaster. */
  maintain (): void {
    if (this.destroyed || this.client.state !== 'joined') return
    const now = Date.now()
    for (const [id, until] of this.backoff) if (until <= now) this.backoff.delete(id)
    const members = this.banned.size === 0
      ? this.client.peers
      : new Map([...this.client.peers].filter(([id]) => !this.banned.has(id)))
    this.reportUpload()
    const plan = planMaintain(this.opts, this.topologyState(members), this.late, this.mro.stats().lateBlocks, this.opts.random)
    for (const id of plan.hangUp) {
      const conn = this.conns.get(id)
      if (conn !== undefined) this.drop(conn, null)
    }
    for (const { id, rescue } of plan.dials) this.open(id, this.client.peers.get(id) ?? 'viewer', true, rescue)
  }

  /** Tells the broadcaster (if we are its child) our upload when its measurement changed. */
  private reportUpload (): void {
    const upload = this.mro.uploadCopies
    for (const conn of this.conns.values()) {
      if (conn.role !== 'broadcaster' || conn.stream === null || this.reported.get(conn.id) === upload) continue
      this.reported.set(conn.id, upload)
      this.send(conn.id, { kind: 'upload', upload })
    }
    for (const id of this.reported.keys()) if (!this.conns.has(id)) this.reported.delete(id)
  }

  private open (id: string, role: PeerRole, initiator: boolean, rescue: boolean): Conn {
    const Peer = this.opts.SimplePeer ?? SimplePeer
    const peer = new Peer({
      initiator,
      trickle: true,
      ...(this.opts.iceServers === undefined ? {} : { config: { iceServers: this.opts.iceServers } }),
      ...(this.opts.wrtc === undefined ? {} : { wrtc: this.opts.wrtc as SimplePeer.Options['wrtc'] })
    })
    const conn: Conn = { id, role, initiator, answered: false, peer, stream: null, timer: null, upload: null, rescue }
    this.conns.set(id, conn)
    conn.timer = setTimeout(() => { if (conn.stream === null) this.drop(conn, new Error(`connection to ${id} did not open in ${this.opts.connectTimeout} ms`)) }, this.opts.connectTimeout)
    peer.on('signal', (signal: SimplePeer.SignalData) => {
      this.send(id, { kind: 'sdp', signal, upload: this.mro.uploadCopies, ...(rescue ? { rescue } : {}) })
    })
    peer.on('connect', () => { this.onconnect(conn) })
    peer.on('close', () => { this.drop(conn, null) })
    peer.on('error', (err: Error) => { this.drop(conn, err) })
    return conn
  }

  private send (to: string, data: PeerSignal): void {
    try { this.client.send(to, data) } catch (err) { this.emit('error', { error: err as Error }) }
  }

  private onsignal (from: string, data: unknown): void {
    if (this.destroyed || data === null || typeof data !== 'object') return
    const msg = data as Partial<PeerSignal>
    if (this.banned.has(from)) {
      // It sent us bad data before: refuse its dials, ignore the rest.
      if (msg.kind === 'sdp' && (msg.signal as { type?: unknown } | null | undefined)?.type === 'offer') this.send(from, { kind: 'busy' })
      return
    }
    let conn = this.conns.get(from)
    if (msg.kind === 'busy') {
      if (conn === undefined || conn.stream !== null) return
      this.drop(conn, null)
      this.backoff.set(conn.id, Date.now() + refusalBackoff(this.opts, conn.role, this.mro.uploadCopies))
      return
    }
    if (msg.kind === 'upload') {
      if (conn !== undefined) conn.upload = reportedUpload(msg.upload)
      return
    }
    if (msg.kind === 'siblings') {
      // Only from the broadcaster we are connected to; anything else is ignored.
      if (conn?.role !== 'broadcaster' || conn.stream === null || !Array.isArray(msg.ids)) return
      this.siblings = siblingsOf(this.opts, msg.ids, this.client.peerId)
      this.prioritize()
      this.maintain()
      return
    }
    if (msg.kind !== 'sdp' || msg.signal === null || typeof msg.signal !== 'object') return
    if (conn !== undefined && conn.initiator && conn.stream === null && (msg.signal as { type?: unknown }).type === 'offer') {
      // Glare: both sides dialled each other at once. The dial of the smaller peer id wins;
      // the other side drops its own dial and answers. (Feeding an offer into an initiator
      // peer leaves two half-open channels that 'connect' but never carry data.)
      const self = this.client.peerId
      if (self !== null && self < from) return
      this.drop(conn, null)
      conn = undefined
    }
    if (conn !== undefined && conn.initiator && !conn.answered) {
      // Before its answer, a remote sends nothing for our dial: candidates now belong to its own
      // dial that lost a glare (see above) and would make our peer fail with ERR_ADD_ICE_CANDIDATE.
      if ((msg.signal as { type?: unknown }).type !== 'answer') return
      conn.answered = true
    }
    if (conn === undefined) {
      if ((msg.signal as { type?: unknown }).type !== 'offer') return // a late candidate of a dropped dial
      const role = this.client.peers.get(from) ?? 'viewer'
      const rescue = msg.rescue === true
      const uploads = new Map([...this.conns].map(([id, c]) => [id, c.upload]))
      const answer = admit(this.opts, this.topologyState(this.client.peers), role, from, rescue, uploads, reportedUpload(msg.upload))
      if (this.role === 'broadcaster' && role === 'viewer') this.rootCandidates.heard(from, reportedUpload(msg.upload), Date.now())
      if (!answer.accept) {
        this.send(from, { kind: 'busy' })
        return
      }
      const old = answer.replace === null ? undefined : this.conns.get(answer.replace)
      if (old !== undefined) this.drop(old, null) // a full broadcaster takes a strong viewer for a weak child
      conn = this.open(from, role, false, rescue)
    }
    const upload = reportedUpload(msg.upload)
    if (upload !== null) conn.upload = upload
    try { conn.peer.signal(msg.signal) } catch (err) { this.drop(conn, err as Error) }
  }

  private onconnect (conn: Conn): void {
    if (this.destroyed || this.conns.get(conn.id) !== conn) return
    if (conn.timer !== null) clearTimeout(conn.timer)
    conn.timer = null
    const bufferedAmount = bufferedAmountOf(conn.peer)
    const channelBinding = peerChannelBinding(conn.peer)
    const stream = this.mro.peerStream({
      ...(bufferedAmount === undefined ? {} : { bufferedAmount }),
      ...(channelBinding === undefined ? {} : { channelBinding })
    })
    conn.stream = stream
    const label = `${conn.role}:${conn.id}`
    this.mro.labelPeer(stream, label)
    const local = this.mro.peers.find(p => p.label === label)
    if (local !== undefined) this.remotes.set(local.id, { id: conn.id, role: conn.role })
    // A pipe callback makes streamx handle (not throw) a premature close on either side; the
    // connection's 'close' and 'error' events already drive the clean-up.
    const ignore = (): void => {}
    let out: Duplex | Transform = stream
    if (this.opts.unsafeTamperOutgoing) out = stream.pipe(tamperStream(), ignore)
    conn.peer.pipe(stream as unknown as NodeJS.WritableStream)
    pumpToPeer(out as Duplex, conn.peer)
    if (this.role === 'viewer' && conn.role === 'viewer' && bufferedAmount !== undefined && !this.probed) {
      // Once, to a viewer (padding costs it download only): the topology needs our upload early.
      // Only where the transport reports its buffer: else the probe would time the transport's
      // door, not the wire (Node's wrtc, whose worker also crashed now and then under it).
      this.probed = true
      this.mro.probeUpload(stream).catch(() => {})
    }
    stream.on('close', () => { this.drop(conn, null) })
    if (this.siblings.has(conn.id)) this.mro.setPeerPriority(stream, true)
    if (conn.rescue) this.mro.setPeerRescue(stream, true)
    this.tellSiblings()
    this.emit('peer-connect', { id: conn.id, role: conn.role })
  }

  /** Our connections to siblings get subscriber priority (munro's `setPeerPriority`); others lose it. */
  private prioritize (): void {
    for (const c of this.conns.values()) if (c.stream !== null) this.mro.setPeerPriority(c.stream, this.siblings.has(c.id))
  }

  /** Broadcaster: tells each child its siblings (the other children), as they just changed. */
  private tellSiblings (): void {
    if (this.role !== 'broadcaster' || this.destroyed || this.opts.maxSiblings <= 0) return
    const children = [...this.conns.values()].filter(c => c.stream !== null && !c.rescue).map(c => c.id)
    for (const id of children) this.send(id, { kind: 'siblings', ids: [...siblingsOf(this.opts, children, id)] })
  }

  private drop (conn: Conn, error: Error | null): void {
    if (this.conns.get(conn.id) !== conn) return
    this.conns.delete(conn.id)
    if (conn.timer !== null) clearTimeout(conn.timer)
    const info = conn.stream === null ? undefined : this.mro.peers.find(p => p.label === `${conn.role}:${conn.id}`)
    if (info !== undefined) {
      this.closedBytes.sent += info.stats.bytesSent
      this.closedBytes.received += info.stats.bytesReceived
    }
    conn.stream?.destroy()
    conn.peer.destroy()
    this.backoff.set(conn.id, Date.now() + this.opts.retryAfterMs)
    if (conn.role === 'broadcaster') { this.siblings = new Set(); this.prioritize() }
    if (conn.stream !== null) {
      this.tellSiblings()
      this.emit('peer-disconnect', { id: conn.id, role: conn.role, error })
    }
    if (!this.destroyed) queueMicrotask(() => { this.maintain() })
  }

  /** Current numbers; also emitted as the `stats` event every `maintainIntervalMs`. */
  stats (): SwarmStats {
    const byLabel = new Map(this.mro.peers.map(p => [p.label, p]))
    const peers: SwarmPeerStats[] = []
    for (const c of this.conns.values()) {
      const p = byLabel.get(`${c.role}:${c.id}`)
      if (p === undefined) continue
      peers.push({
        id: c.id, role: c.role, bytesSent: p.stats.bytesSent, bytesReceived: p.stats.bytesReceived,
        blocksReceived: p.stats.blocksReceived, rtt: p.stats.rtt, invalid: p.stats.invalid, rescue: c.rescue
      })
    }
    const total = this.fromBroadcaster + this.fromPeers
    const core = this.mro.stats()
    return {
      role: this.role,
      peerId: this.client.peerId,
      peers,
      bytesSent: core.bytesSent,
      bytesReceived: core.bytesReceived,
      blocksFromBroadcaster: this.fromBroadcaster,
      blocksFromPeers: this.fromPeers,
      p2pRatio: total === 0 ? null : this.fromPeers / total,
      invalid: core.invalid,
      banned: this.banned.size,
      latencyMs: this.latencies.length === 0 ? null : this.latencies.reduce((a, v) => a + v, 0) / this.latencies.length,
      uploadCopies: this.mro.uploadCopies,
      lateBlocks: core.lateBlocks
    }
  }

  /** Leaves the room and closes every connection (the munro instance stays usable). */
  destroy (): void {
    if (this.destroyed) return
    this.destroyed = true
    clearInterval(this.timer)
    this.mro.off('verified', this.onverified)
    this.mro.off('invalid', this.oninvalid)
    this.mro.off('peer-remove', this.onpeerremove)
    for (const c of [...this.conns.values()]) this.drop(c, null)
    this.client.destroy()
  }
}

/**
 * Joins the swarm of `mro`'s stream: meets peers through the signaling server at `signal` and
 * replicates with them over WebRTC data channels.
 *
 * @example
 * ```ts
 * const viewer = munro(streamId)
 * const swarm = joinSwarm(viewer, { signal: 'wss://signal.example', maxPeers: 4 })
 * swarm.on('stats', (s) => console.log(s.p2pRatio))
 * ```
 */
export function joinSwarm (mro: Munro, options: Partial<SwarmOptions> & { signal: string }): Swarm {
  return new Swarm(mro, options)
}
