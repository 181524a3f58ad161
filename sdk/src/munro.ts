/**
 * The public face of munro: a live block log you append to (broadcaster) or replicate
 * (receiver), with the original package's names, typed and Promise-based.
 *
 * @example
 * ```ts
 * import munro from 'munro'
 * const broadcaster = munro()
 * await broadcaster.append(new TextEncoder().encode('hello'))
 * const viewer = munro(broadcaster.id)
 * const a = broadcaster.peerStream(), b = viewer.peerStream()
 * a.pipe(b).pipe(a)
 * console.log(new TextDecoder().decode(await viewer.get(0))) // 'hello'
 * ```
 * @module
 */
import mitt, { type Emitter, type Handler } from 'mitt'
import { Duplex, Readable, Writable } from 'streamx'
import { discoveryKey as toDiscoveryKey, metadataSignable } from './caps.js'
import type { TimerHandle } from './clock.js'
import { MAX_METADATA_SIZE, PUBLIC_KEY_SIZE } from './constants.js'
import { invalidArgument, isMunroError, MunroError, outOfRange, VERIFICATION_CODES } from './errors.js'
import { BlockLog, isComplete, type BlockEntry } from './log.js'
import { equalBytes } from './merkle-tree.js'
import type { MunroEvents, MunroStats, PeerInfo, PeerStreamOptions } from './munro-api.js'
import { Peer, type PeerStats } from './peer.js'
import { Replicator, type SignedMetadata } from './replicator.js'
import { resolveOptions, type MunroOptions } from './options.js'
import { Scheduler } from './scheduler.js'
import { beyondBudget, runProbe, SAMPLE_MS, UploadMeter } from './upload.js'
import { Upstream } from './upstream.js'
import { generateKeyPair, publicKeyOf, sign, SignatureCache, signSource, type SignedHead } from './verifier.js'

export type { MunroEvents, MunroStats, PeerInfo, PeerStreamOptions }

interface Waiter { resolve: (data: Uint8Array) => void, reject: (err: Error) => void }

function parseId (id: Uint8Array | string): Uint8Array {
  if (typeof id === 'string') {
    if (!/^[0-9a-fA-F]{64}$/.test(id)) throw invalidArgument('id', 'a 32-byte public key or its 64-character hex string')
    const out = new Uint8Array(PUBLIC_KEY_SIZE)
    for (let i = 0; i < PUBLIC_KEY_SIZE; i++) out[i] = parseInt(id.slice(2 * i, 2 * i + 2), 16)
    return out
  }
  if (!(id instanceof Uint8Array) || id.length !== PUBLIC_KEY_SIZE) throw invalidArgument('id', 'a 32-byte public key or its 64-character hex string')
  return id.slice()
}

/** Lower-case hex of bytes. */
export const toHex = (bytes: Uint8Array): string => Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('')

/** A live block log: see {@link munro}. */
export class Munro {
  /** The stream id: the broadcaster's ed25519 public key. */
  readonly id: Uint8Array
  /** The stream id as hex. */
  readonly key: string
  /** Hash of the id under a namespace: what peers and signaling servers use to meet. */
  readonly discoveryKey: Uint8Array
  /** True for the broadcaster (it holds the secret key). */
  readonly writable: boolean
  destroyed = false

  private readonly opts: MunroOptions
  private readonly secretKey: Uint8Array | null
  private readonly emitter: Emitter<MunroEvents> = mitt<MunroEvents>()
  private readonly log: BlockLog
  private readonly scheduler: Scheduler
  private readonly upstream: Upstream | null
  private readonly meter: UploadMeter
  private meterTimer: TimerHandle | null = null
  private readonly replicator: Replicator
  private readonly cache: SignatureCache
  /** The cache is this instance's own (not `signatureCache` passed in), so destroy() clears it. */
  private readonly ownsCache: boolean
  private readonly connections = new Set<Peer>()
  private readonly waiters = new Map<number, Waiter[]>()
  private readonly closedTotals = { bytesSent: 0, wireBytesSent: 0, bytesReceived: 0, proofBytesSent: 0, invalid: 0 }
  private metadataSeq = 0
  private headEmitted = 0

  constructor (id?: Uint8Array | string | null, options: Partial<MunroOptions> = {}) {
    const writable = id === undefined || id === null
    this.opts = resolveOptions(writable, options)
    const o = this.opts
    this.meter = new UploadMeter(writable || o.expectedBitrate === 0 ? null : o.expectedBitrate / 8000)
    if (id === undefined || id === null) {
      const kp = o.keyPair ?? generateKeyPair()
      if (!(kp.secretKey instanceof Uint8Array) || kp.secretKey.length !== 32) throw invalidArgument('keyPair.secretKey', '32 bytes')
      if (!equalBytes(publicKeyOf(kp.secretKey), kp.publicKey)) throw invalidArgument('keyPair', 'a matching ed25519 key pair')
      this.id = kp.publicKey.slice()
      this.secretKey = kp.secretKey.slice()
    } else {
      if (o.keyPair !== undefined) throw invalidArgument('keyPair', 'no key pair for a receiver (created from an id)')
      this.id = parseId(id)
      this.secretKey = null
    }
    this.writable = this.secretKey !== null
    this.key = toHex(this.id)
    this.discoveryKey = toDiscoveryKey(this.id)
    this.cache = o.signatureCache ?? new SignatureCache()
    this.ownsCache = o.signatureCache === undefined
    this.log = new BlockLog(this.id, this.cache, o)
    const peers = (): Iterable<Peer> => this.connections
    const upstream = this.writable
      ? null
      : new Upstream(o, peers, () => o.clock.now(), () => Math.max(this.log.length, this.scheduler.wantFrom ?? 0))
    this.upstream = upstream
    this.scheduler = new Scheduler(this.log, peers, o.clock, o.random, o,
      (index) => { this.rejectWaiters(index, this.outOfWindow(index)) },
      (index) => upstream?.holdUntil(index) ?? 0,
      (index) => { this.replicator.stalled(index) })
    if (this.writable) this.scheduler.wantFrom = null
    else if (o.start !== 'live') this.scheduler.wantFrom = o.start
    this.replicator = new Replicator(this.log, this.scheduler, peers, this.cache, o.clock, this.discoveryKey, {
      onheader: (entry, _from, head) => { this.emitHead(); this.sighted(entry, headTime(entry, head)) },
      oncomplete: (entry, from, head) => { this.emitHead(); this.oncomplete(entry, from, headTime(entry, head)) },
      onmetadata: (meta) => { this.emit('metadata', { seq: meta.seq, data: meta.data }) }
    }, upstream, () => this.meter.busyLimit(),
    () => this.meter.allowedCopies(o.maxSubscribers), o, this.secretKey === null ? null : (nonce, channel) => signSource(this.id, this.secretKey as Uint8Array, nonce, channel))
    this.meterTimer = o.clock.setTimeout(this.measureUpload, SAMPLE_MS)
  }

  /**
   * Copies of the stream this peer's upload carries, as measured while its uplink was saturated
   * (see upload.ts), or null while never saturated (ample, or not yet tested). The swarm sizes
   * its connections by it and keeps weak uplinks away from the broadcaster (swarm/topology.ts).
   */
  get uploadCopies (): number | null { return this.meter.copies }

  /** Length of the newest signed head: blocks 0 … length-1 are verifiable. */
  get length (): number { return this.log.length }

  /**
   * First block index of the live window: for a receiver, where its download started (the live
   * edge when it joined) or later, once older blocks were discarded.
   */
  get start (): number { return Math.max(this.log.start, this.writable ? 0 : this.scheduler.wantFrom ?? 0) }

  /** The stream's current signed metadata, or null. */
  get metadata (): Uint8Array | null { return this.replicator.metadata?.data ?? null }

  on<K extends keyof MunroEvents> (type: K, handler: Handler<MunroEvents[K]>): void { this.emitter.on(type, handler) }

  off<K extends keyof MunroEvents> (type: K, handler?: Handler<MunroEvents[K]>): void { this.emitter.off(type, handler) }

  /** Emits to every handler; a handler that throws is reported as an `error` event, and the rest still run. */
  private emit<K extends keyof MunroEvents> (type: K, event: MunroEvents[K]): void {
    const handlers = this.emitter.all.get(type) as Array<Handler<MunroEvents[K]>> | undefined
    for (const h of handlers?.slice() ?? []) {
      try { h(event) } catch (err) {
        if (type !== 'error') this.emit('error', { error: err instanceof Error ? err : new Error(String(err)) })
      }
    }
  }

  private assertAlive (): void {
    if (this.destroyed) throw new MunroError('ERR_DESTROYED', 'this munro instance was destroyed')
  }

  /**
   * Broadcaster: appends a block (for video, a run of WebM bytes) and announces it to peers.
   * Resolves with the block's index. `flags` is a byte the log authenticates with the block.
   * @throws ERR_NOT_WRITABLE on a receiver; ERR_BLOCK_TOO_LARGE above 4 MiB.
   */
  async append (data: Uint8Array, options: { flags?: number } = {}): Promise<number> {
    this.assertAlive()
    if (this.secretKey === null) throw new MunroError('ERR_NOT_WRITABLE', 'only the broadcaster (created without an id) can append')
    if (!(data instanceof Uint8Array)) throw invalidArgument('data', 'a Uint8Array')
    const flags = options.flags ?? 0
    if (!Number.isInteger(flags) || flags < 0 || flags > 255) throw outOfRange('flags', 'an integer 0…255')
    const now = this.opts.clock.now()
    const entry = this.log.append(data, flags, now)
    this.emit('append', { index: entry.index, byteLength: entry.byteLength })
    if (this.log.appended % this.opts.signEvery === 0) this.flush()
    this.sighted(entry, null)
    this.oncomplete(entry, null, null)
    return entry.index
  }

  /** Alias of {@link Munro.append}, the original package's name. */
  broadcast (data: Uint8Array, options: { flags?: number } = {}): Promise<number> { return this.append(data, options) }

  /** Emits `head` when the newest verified (or signed) head is newer than the last one emitted. */
  private emitHead (): void {
    const head = this.log.head
    if (head === null || head.length <= this.headEmitted) return
    this.headEmitted = head.length
    this.emit('head', { length: head.length, timestamp: head.timestamp })
  }

  /** Broadcaster: signs a head over every appended block now (with `signEvery` > 1). */
  flush (): void {
    this.assertAlive()
    if (this.secretKey === null) throw new MunroError('ERR_NOT_WRITABLE', 'only the broadcaster signs')
    const before = this.log.length
    if (this.log.appended === before) return
    const head = this.log.sign(this.secretKey, this.opts.clock.now())
    this.emitHead()
    for (let i = Math.max(before, this.log.start); i < head.length; i++) {
      const entry = this.log.get(i)
      if (entry !== undefined) this.replicator.push(entry, null)
    }
    this.replicator.announce(Math.max(before, this.log.start), head.length, true)
  }

  /**
   * Broadcaster: publishes signed stream metadata (for video: codec and init segment), which
   * every receiver verifies and re-shares. A later call replaces it.
   */
  async setMetadata (data: Uint8Array): Promise<void> {
    this.assertAlive()
    if (this.secretKey === null) throw new MunroError('ERR_NOT_WRITABLE', 'only the broadcaster sets metadata')
    if (!(data instanceof Uint8Array)) throw invalidArgument('data', 'a Uint8Array')
    if (data.length > MAX_METADATA_SIZE) throw outOfRange('data', `at most ${MAX_METADATA_SIZE} bytes of metadata`)
    const seq = ++this.metadataSeq
    const meta: SignedMetadata = { seq, data: data.slice(), signature: sign(metadataSignable(this.id, seq, data), this.secretKey) }
    this.replicator.metadata = meta
    this.emit('metadata', { seq, data: meta.data })
    this.replicator.broadcastMetadata()
  }

  /**
   * Resolves with block `index` once it is held and verified, downloading it if needed.
   * Also takes a Node-style callback, as the original did.
   * @throws ERR_OUT_OF_WINDOW if the block was discarded (here and at every peer); ERR_DESTROYED.
   */
  get (index: number): Promise<Uint8Array>
  get (index: number, cb: (err: Error | null, data?: Uint8Array) => void): void
  get (index: number, cb?: (err: Error | null, data?: Uint8Array) => void): Promise<Uint8Array> | undefined {
    const p = this.getBlock(index)
    if (cb === undefined) return p
    p.then(data => { cb(null, data) }, (err: Error) => { cb(err) })
    return undefined
  }

  private outOfWindow (index: number): MunroError {
    return new MunroError('ERR_OUT_OF_WINDOW', `block ${index} is outside the live window (starts at ${this.log.start})`)
  }

  private getBlock (index: number): Promise<Uint8Array> {
    if (!Number.isInteger(index) || index < 0) return Promise.reject(outOfRange('index', 'a block index (integer ≥ 0)'))
    if (this.destroyed) return Promise.reject(new MunroError('ERR_DESTROYED', 'this munro instance was destroyed'))
    if (index < this.log.start) return Promise.reject(this.outOfWindow(index))
    const entry = this.log.get(index)
    if (entry !== undefined && isComplete(entry)) return Promise.resolve(entry.data.slice())
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(index) ?? []
      list.push({ resolve, reject })
      this.waiters.set(index, list)
      if (!this.writable) {
        this.scheduler.explicit.add(index)
        this.scheduler.update()
      }
    })
  }

  /** What is known of block `index` without its bytes, or undefined if it is not held. */
  info (index: number): { byteLength: number, flags: number, complete: boolean } | undefined {
    const e = this.log.get(index)
    return e === undefined ? undefined : { byteLength: e.byteLength, flags: e.flags, complete: isComplete(e) }
  }

  private rejectWaiters (index: number, err: Error): void {
    const list = this.waiters.get(index)
    if (list === undefined) return
    this.waiters.delete(index)
    this.scheduler.explicit.delete(index)
    for (const w of list) w.reject(err)
  }

  /** Samples the uplink and chokes subscribers beyond what it can carry (see upload.ts). */
  private readonly measureUpload = (): void => {
    if (this.destroyed) return
    const sent = this.wireBytesSent()
    let saturated = false
    const subscriptions: Array<[Peer, number]> = []
    for (const p of this.connections) {
      if (p.queued > 0) saturated = true
      for (const stripe of p.subscriptions) subscriptions.push([p, stripe])
    }
    this.meter.sample(this.opts.clock.now(), sent, saturated)
    subscriptions.sort((a, b) => Number(b[0].priority) - Number(a[0].priority)) // stable: priority kept first
    for (const [p, stripe] of beyondBudget(subscriptions, this.meter.allowedCopies(this.opts.maxSubscribers), this.writable)) {
      p.subscriptions.delete(stripe)
      p.send({ type: 'choke', stripe })
    }
    this.replicator.subscribers.tellCapacity()
    this.meterTimer = this.opts.clock.setTimeout(this.measureUpload, SAMPLE_MS)
  }

  /**
   * A block's header verified (or we appended it): its size and, from a head signed for it, its
   * time (`timestamp`) give the upload meter the stream's rate. Counted at the header, not when
   * the block is whole, so that a newcomer whose first blocks trickle in behind a slow upstream
   * still knows the rate, and so its upload in copies of the stream, within a couple of blocks.
   */
  private sighted (entry: BlockEntry, timestamp: number | null): void {
    this.meter.block(entry.index, entry.byteLength, timestamp, this.opts.clock.now())
  }

  private oncomplete (entry: BlockEntry, from: Peer | null, headTimestamp: number | null): void {
    const list = this.waiters.get(entry.index)
    if (list !== undefined) {
      this.waiters.delete(entry.index)
      for (const w of list) w.resolve(entry.data.slice())
    }
    this.emit('verified', {
      index: entry.index, byteLength: entry.byteLength, flags: entry.flags, from: from?.id ?? null,
      latency: headTimestamp === null ? null : this.opts.clock.now() - headTimestamp
    })
    this.enforceWindow()
  }

  private enforceWindow (): void {
    if (this.scheduler.wantFrom === null && !this.writable) return
    const { from, to } = this.log.enforceWindow()
    if (to === from) return
    this.replicator.prune(to)
    for (const index of [...this.waiters.keys()]) if (index < to) this.rejectWaiters(index, this.outOfWindow(index))
    this.emit('discard', { start: to })
  }

  /**
   * A duplex byte stream that replicates this log with one remote peer. Pipe it to a TCP
   * socket, a simple-peer connection or another munro's peer stream. Frames never exceed 16 KiB.
   * Give `bufferedAmount` when the transport can tell how many bytes it took but has not sent
   * yet (a data channel's `bufferedAmount`, simple-peer's `bufferSize`): upload is then measured
   * on the wire, not at the transport's door, which a deep transport buffer blurs for seconds.
   */
  peerStream (options: PeerStreamOptions = {}): Duplex {
    this.assertAlive()
    const peer = new Peer({
      onmessage: (p, m) => {
        const knewStart = this.scheduler.wantFrom !== null
        this.replicator.onmessage(p, m)
        if (!knewStart && !this.writable && m.type === 'have') this.startAtLiveEdge()
      },
      onclose: (p, error) => { this.onclose(p, error) }
    }, this.opts.clock.now, options.bufferedAmount)
    if (options.channelBinding !== undefined) {
      if (!(options.channelBinding instanceof Uint8Array)) throw invalidArgument('channelBinding', 'a Uint8Array')
      peer.channelBinding = options.channelBinding.slice()
    }
    this.connections.add(peer)
    peer.send(this.replicator.handshake(peer))
    this.emit('peer-add', { peer: this.peerInfo(peer) })
    return peer.stream
  }

  /** First announcement of a live stream seen: start downloading at its edge. */
  private startAtLiveEdge (): void {
    if (this.scheduler.wantFrom !== null) return
    let end = 0
    let source: Peer | null = null
    for (const p of this.connections) if (p.remote.have.end > end) { end = p.remote.have.end; source = p }
    if (end === 0) return
    this.scheduler.wantFrom = Math.max(0, end - this.opts.liveBacklog)
    this.edgeSource = source
    this.scheduler.update()
  }

  /**
   * The peer whose (unauthenticated) HAVE set our starting point. Should it go away before any
   * block from there on verified — a peer that lied about the live edge is dropped or leaves —
   * the start is chosen again from the peers still connected.
   */
  private edgeSource: Peer | null = null

  private reconsiderStart (gone: Peer): void {
    if (gone !== this.edgeSource || this.opts.start !== 'live' || this.writable) return
    this.edgeSource = null
    const from = this.scheduler.wantFrom ?? 0
    if (this.log.indices().some(i => i >= from)) return
    this.scheduler.wantFrom = null
    this.startAtLiveEdge()
  }

  private onclose (peer: Peer, error: Error | null): void {
    if (!this.connections.delete(peer)) return
    this.closedTotals.bytesSent += peer.stats.bytesSent
    this.closedTotals.wireBytesSent += peer.wireBytesSent
    this.closedTotals.bytesReceived += peer.stats.bytesReceived
    this.closedTotals.proofBytesSent += peer.stats.proofBytesSent
    this.closedTotals.invalid += peer.stats.invalid
    this.replicator.dropPeer(peer)
    this.reconsiderStart(peer)
    const info = this.peerInfo(peer)
    if (isMunroError(error) && VERIFICATION_CODES.has(error.code)) this.emit('invalid', { peer: info, error })
    else if (error !== null && !isMunroError(error)) this.emit('error', { error })
    this.emit('peer-remove', { peer: info, error })
  }

  private peerInfo (p: Peer): PeerInfo {
    return { id: p.id, label: p.label, length: p.remote.length, source: p.remote.source, rescue: p.rescue, stats: p.stats }
  }

  /** Connected peers. */
  get peers (): PeerInfo[] { return [...this.connections].map(p => this.peerInfo(p)) }

  /**
   * Measures this peer's upload now, instead of when its uplink first backs up: sends up to
   * PROBE_BYTES of padding (PROBE frames, which the remote drops; every other message overtakes
   * them) on `stream`, for at most PROBE_MS, and takes the rate at which our bytes went on the
   * wire meanwhile as the capacity. Resolves with it in bit/s, or null if the connection closed.
   * The swarm probes once, on its first connection to a viewer: padding costs the remote only
   * download. Needs a transport that reports `bufferedAmount` (see peerStream) to be exact.
   */
  async probeUpload (stream: Duplex): Promise<number | null> {
    this.assertAlive()
    const peer = this.peerOf(stream)
    if (peer === undefined || peer.closed) return null
    const sent = await runProbe(peer, this.wireBytesSent, this.opts.clock, () => !this.destroyed)
    if (sent === null) return null
    this.meter.probed(sent.bytes, sent.ms)
    return this.meter.capacity === null ? null : this.meter.capacity * 8000
  }

  /** Bytes every connection this instance had put on the wire. */
  private readonly wireBytesSent = (): number =>
    [...this.connections].reduce((n, p) => n + p.wireBytesSent, this.closedTotals.wireBytesSent)

  /** Sets the application label of a connection by the stream returned from `peerStream()`. */
  labelPeer (stream: Duplex, label: string): void {
    const peer = this.peerOf(stream)
    if (peer !== undefined) peer.label = label
  }

  /**
   * Gives the connection of a stream returned from `peerStream()` priority as a subscriber (or
   * takes it away): while our upload is full, its subscriptions displace others' instead of being
   * refused. The swarm gives it to the broadcaster's other children when we are one.
   */
  setPeerPriority (stream: Duplex, priority: boolean): void {
    const peer = this.peerOf(stream)
    if (peer !== undefined) peer.priority = priority
  }

  /**
   * Marks the connection of a stream returned from `peerStream()` a rescue link (or not), on both
   * ends of a link between the broadcaster and a viewer the swarm cannot feed in time. The
   * broadcaster takes no subscription from it, answers its pulls of a block BUSY until
   * `rescueDelay` after the append and while its own outbox is backed up, and does not count them
   * as its children's repairs; the viewer asks it for a block only `rescueDelay` after the swarm
   * first announced it, and never picks it as an upstream.
   */
  setPeerRescue (stream: Duplex, rescue: boolean): void {
    const peer = this.peerOf(stream)
    if (peer !== undefined) peer.rescue = rescue
  }

  /** The connection of a stream returned from `peerStream()`. */
  private peerOf (stream: Duplex): Peer | undefined {
    for (const p of this.connections) if (p.stream === stream) return p
    return undefined
  }

  /** Totals over every connection this instance had. */
  stats (): MunroStats {
    const peers = this.peers
    const sum = (f: (s: PeerStats) => number): number => peers.reduce((a, p) => a + f(p.stats), 0)
    return {
      length: this.log.length,
      start: this.log.start,
      blocks: this.log.blockCount,
      bytes: this.log.byteLength,
      peers,
      bytesSent: this.closedTotals.bytesSent + sum(s => s.bytesSent),
      bytesReceived: this.closedTotals.bytesReceived + sum(s => s.bytesReceived),
      proofBytesSent: this.closedTotals.proofBytesSent + sum(s => s.proofBytesSent),
      invalid: this.closedTotals.invalid + sum(s => s.invalid),
      signatureVerifications: this.cache.verifications,
      signatureCacheHits: this.cache.hits,
      blocksPushed: this.replicator.arrivals.pushed,
      blocksPulled: this.replicator.arrivals.pulled,
      lateBlocks: this.scheduler.late
    }
  }

  /**
   * Verified blocks in order as they become available. `live` (default true) follows the
   * stream forever, starting at the live edge; otherwise it reads from `start` (default: the
   * window start) to the current length and ends. A reader that falls out of the window skips
   * ahead to the window start.
   */
  readStream (options: { live?: boolean, start?: number } = {}): Readable {
    const live = options.live ?? true
    let next: number | null = options.start ?? (live ? null : this.start)
    const firstLive = (): Promise<number> => new Promise((resolve) => {
      const held = this.log.indices().filter(i => isComplete(this.log.get(i) as BlockEntry))
      if (held.length > 0) { resolve(held[held.length - 1] as number); return }
      const on = (e: MunroEvents['verified']): void => { this.off('verified', on); resolve(e.index) }
      this.on('verified', on)
    })
    const stream: Readable = new Readable({
      read: (cb) => {
        const step = async (): Promise<void> => {
          if (next === null) next = await firstLive()
          for (;;) {
            if (!live && next >= this.log.length) { stream.push(null); return }
            try {
              stream.push(await this.get(next))
              next++
              return
            } catch (err) {
              if (isMunroError(err, 'ERR_OUT_OF_WINDOW') && live) { next = this.start; continue }
              throw err
            }
          }
        }
        step().then(() => { cb(null) }, (err: Error) => { if (isMunroError(err, 'ERR_DESTROYED')) { stream.push(null); cb(null) } else cb(err) })
      }
    })
    return stream
  }

  /** Broadcaster: a writable stream that appends every chunk written to it as a block. */
  writeStream (): Writable {
    if (!this.writable) throw new MunroError('ERR_NOT_WRITABLE', 'only the broadcaster can append')
    return new Writable({
      write: (data: unknown, cb) => {
        if (!(data instanceof Uint8Array)) { cb(invalidArgument('chunk', 'a Uint8Array')); return }
        this.append(data).then(() => { cb(null) }, (err: Error) => { cb(err) })
      }
    })
  }

  /**
   * Closes every peer, rejects every pending `get` with ERR_DESTROYED and lets go of the blocks
   * held (an application keeping the instance around keeps its length and stats, not its data).
   */
  async destroy (): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    if (this.meterTimer !== null) this.opts.clock.clearTimeout(this.meterTimer)
    this.scheduler.destroy()
    for (const p of [...this.connections]) p.destroy(null)
    for (const index of [...this.waiters.keys()]) this.rejectWaiters(index, new MunroError('ERR_DESTROYED', 'this munro instance was destroyed'))
    this.log.release()
    if (this.ownsCache) this.cache.clear() // a shared one serves other instances still
  }
}

/** The signing time of block `entry`, when `head` was signed for it (it is the newest it covers). */
function headTime (entry: BlockEntry, head: SignedHead | null): number | null {
  return head?.length === entry.index + 1 ? head.timestamp : null
}

/**
 * Creates a broadcaster (no id: a fresh key pair, or `opts.keyPair`) or a receiver of the
 * stream `id` (its public key, bytes or hex), which can only verify and re-share.
 */
export function munro (id?: Uint8Array | string | null, opts?: Partial<MunroOptions>): Munro
export function munro (opts: Partial<MunroOptions>): Munro
export function munro (id?: Uint8Array | string | null | Partial<MunroOptions>, opts?: Partial<MunroOptions>): Munro {
  if (id !== null && typeof id === 'object' && !(id instanceof Uint8Array)) return new Munro(null, id)
  return new Munro(id, opts)
}
