/**
 * `watch()`: the swarm → verified blocks → MediaSource → a `<video>`, in one call. Browser only.
 *
 * DEV DOCS
 * - The receiver starts `liveBacklog` blocks behind the live edge it first hears of; the player
 *   appends nothing until a keyframe block (`BLOCK_FLAG_KEYFRAME`) arrives, so a viewer always
 *   starts at a keyframe — at most one key interval (1 s by default) after joining.
 * - Every verified block is read with `get()` and pushed to the player in verification order;
 *   the player reorders, and a block that fell out of the window is `skip()`ped.
 * - The stream ends when the broadcaster's metadata says `ended` (the player is told to end once
 *   it has appended every signed block, or after `END_DRAIN_MS`), or when no block has been
 *   verified for `endTimeoutMs` (the broadcaster vanished without saying goodbye).
 * - After the end the viewer keeps relaying for `END_LINGER_MS`, then leaves the swarm; the
 *   `<video>` keeps its last frame.
 * @module
 */
import mitt, { type Emitter, type Handler } from 'mitt'
import { isMunroError } from '../errors.js'
import { munro, type Munro } from '../munro.js'
import { BLOCK_FLAG_KEYFRAME } from '../media/constants.js'
import { decodeMetadata } from '../media/metadata.js'
import { createPlayer, DEFAULT_PLAYER_OPTIONS, type Player, type PlayerOptions, type PlayerStats } from '../media/player.js'
import { DEFAULT_TOPOLOGY } from '../swarm/topology.js'
import { joinSwarm, type Swarm, type SwarmOptions, type SwarmStats } from '../swarm/swarm.js'
import { assertNonEmptyString, assertOptionalInt, assertOptionalNumber, emitSafely, stripUndefined, toError } from './util.js'

/** Options of {@link watch}. `signal`, `stream` and `video` are required. */
export interface WatchOptions {
  /** Signaling server URL (`ws://` or `wss://`). */
  signal: string
  /** The stream id: 64 hex characters (the broadcaster's `id`). */
  stream: string
  /** Where to play. It is muted (autoplay policies); unmute from a user gesture. */
  video: HTMLVideoElement
  /**
   * STUN/TURN servers. `[]` is enough on one machine or a LAN.
   * @default simple-peer's defaults (public STUN)
   */
  iceServers?: RTCIceServer[]
  /**
   * Connections this viewer aims for.
   * @default 4
   */
  maxPeers?: number
  /**
   * Seconds of media the player aims to still have buffered when the next block arrives (the
   * low point of its distance to the newest buffered media; see `PlayerOptions.targetLatency`).
   * @default 0.12
   */
  targetLatency?: number
  /**
   * Blocks before the live edge to start downloading at. The player starts at the first keyframe
   * block among them or after them; 4 blocks (~0.8 s) usually hold one with a 1 s key interval.
   * @default 4
   */
  liveBacklog?: number
  /**
   * Milliseconds without a new verified block, once playing, after which the stream counts as
   * ended (the broadcaster vanished without publishing its "ended" metadata).
   * @default 15000
   */
  endTimeoutMs?: number
  /** Further player settings (`maxLatency`, `catchUpRate`, `keepBehind`, …). @default the player's */
  player?: Omit<PlayerOptions, 'targetLatency'>
  /**
   * TEST ONLY: corrupt every piece this viewer relays, so that its neighbours must reject it.
   * @default false
   */
  unsafeTamperOutgoing?: boolean
}

/** Defaults of the optional {@link WatchOptions}. */
export const DEFAULT_WATCH_OPTIONS = Object.freeze({
  maxPeers: DEFAULT_TOPOLOGY.maxPeers,
  targetLatency: DEFAULT_PLAYER_OPTIONS.targetLatency,
  liveBacklog: 4,
  endTimeoutMs: 15_000,
  unsafeTamperOutgoing: false
})

/** How long to wait for the last signed blocks after the "ended" metadata before ending playback. */
const END_DRAIN_MS = 3000
/** How long a viewer keeps relaying after the end, so that its neighbours get the last blocks. */
const END_LINGER_MS = 3000
/** Period of the stats event and the end checks. */
const STATS_INTERVAL_MS = 1000

/** Live numbers of a {@link WatchHandle}. */
export interface WatchStats {
  /**
   * `connecting`: no picture yet; `playing`: the video is playing; `ended`: the stream is over
   * (see `endReason`); `failed`: a fatal media error; `stopped`: `stop()` was called.
   */
  state: 'connecting' | 'playing' | 'ended' | 'failed' | 'stopped'
  /** Why the stream ended: the broadcaster said so, or no block arrived for `endTimeoutMs`. */
  endReason: 'broadcaster' | 'timeout' | null
  /** Open connections. */
  peers: number
  /** Blocks that arrived from the broadcaster directly / from other viewers. */
  blocksFromBroadcaster: number
  blocksFromPeers: number
  /** Share of received blocks that came from viewers (0…1), or null before any. */
  p2pRatio: number | null
  /** Blocks verified (Merkle proof and signature checked). */
  verifiedBlocks: number
  /** Pieces that failed verification (their senders were dropped). */
  rejectedBlocks: number
  /** Mean time from the broadcaster's signature to verification here, ms (same clock assumed), or null. */
  networkLatencyMs: number | null
  /** Seconds of media buffered ahead of the playhead. */
  bufferSeconds: number
  /** Network latency + buffer: how far the picture is behind the broadcaster's live edge, ms, or null. */
  liveLatencyMs: number | null
  /** First block index the player appended, and whether it is a keyframe block. */
  startIndex: number | null
  startedAtKeyframe: boolean | null
  /** Milliseconds from `watch()` to the first played frame, or null. */
  firstFrameMs: number | null
  /** Join breakdown, ms after `watch()`: first connection, metadata, first verified block, first block appended. */
  join: { peerMs: number | null, metadataMs: number | null, firstBlockMs: number | null, startMs: number | null }
  player: PlayerStats
  swarm: SwarmStats
}

/** Events of a {@link WatchHandle}. */
export type WatchEvents = {
  /** About once a second. */
  stats: WatchStats
  /** The first frame is playing. */
  playing: { firstFrameMs: number }
  /** A peer sent a block that failed verification; it was dropped and the block fetched elsewhere. */
  rejected: { count: number, error: Error }
  /** The stream is over. */
  ended: { reason: 'broadcaster' | 'timeout' }
  /** A problem; `fatal` ones stop playback. */
  error: { error: Error, fatal: boolean }
}

/** A running viewer; see {@link watch}. */
export interface WatchHandle {
  /** The stream id. */
  readonly stream: string
  /** The underlying munro receiver (advanced use). */
  readonly mro: Munro
  /** Live numbers, recomputed on each read. */
  readonly stats: WatchStats
  on<K extends keyof WatchEvents>(type: K, handler: Handler<WatchEvents[K]>): void
  off<K extends keyof WatchEvents>(type: K, handler?: Handler<WatchEvents[K]>): void
  /** Leaves the swarm and detaches from the `<video>`. Idempotent. */
  stop(): void
}

/**
 * Plays the live stream `stream` in `video`, fetched from the swarm and verified block by block.
 * Returns at once; watch `stats.state` or the `playing` / `ended` events.
 * @throws {TypeError|RangeError} on bad options; `MediaLayerError` `ERR_MEDIA_UNSUPPORTED`
 *   without MediaSource.
 * @example
 * ```ts
 * import { watch } from 'munro'
 * const viewer = watch({ signal: 'wss://signal.example', stream: id, video: document.querySelector('video')! })
 * viewer.on('stats', (s) => console.log(`${s.peers} peers, ${Math.round((s.p2pRatio ?? 0) * 100)}% from peers`))
 * viewer.on('ended', () => console.log('the stream ended'))
 * ```
 */
export function watch (options: WatchOptions): WatchHandle {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  assertNonEmptyString('signal', options.signal)
  if (typeof options.stream !== 'string' || !/^[0-9a-fA-F]{64}$/.test(options.stream)) {
    throw new TypeError('stream must be a stream id: 64 hex characters')
  }
  if (typeof HTMLVideoElement === 'undefined' || !(options.video instanceof HTMLVideoElement)) {
    throw new TypeError('video must be an HTMLVideoElement')
  }
  const o = { ...DEFAULT_WATCH_OPTIONS, ...stripUndefined(options), signal: options.signal, stream: options.stream, video: options.video }
  assertOptionalInt('maxPeers', o.maxPeers, 1)
  assertOptionalInt('liveBacklog', o.liveBacklog, 1)
  assertOptionalInt('endTimeoutMs', o.endTimeoutMs, 1)
  assertOptionalNumber('targetLatency', o.targetLatency, 0)

  const video = o.video
  const startedAt = performance.now()
  const emitter: Emitter<WatchEvents> = mitt<WatchEvents>()
  const emit = <K extends keyof WatchEvents>(type: K, event: WatchEvents[K]): void => { emitSafely(emitter, type, event) }
  const player: Player = createPlayer(video, { ...o.player, targetLatency: o.targetLatency })
  const mro = munro(o.stream.toLowerCase(), { start: 'live', liveBacklog: o.liveBacklog })

  let state: WatchStats['state'] = 'connecting'
  let endReason: WatchStats['endReason'] = null
  let verifiedBlocks = 0
  let lastBlockAt: number | null = null
  let startIndex: number | null = null
  let startedAtKeyframe: boolean | null = null
  let firstFrameMs: number | null = null
  const join: WatchStats['join'] = { peerMs: null, metadataMs: null, firstBlockMs: null, startMs: null }
  const since = (): number => performance.now() - startedAt
  let endedMetadataAt: number | null = null
  let lastSwarmStats: SwarmStats | null = null
  let swarm: Swarm | null = null
  let lingerTimer: ReturnType<typeof setTimeout> | null = null

  const finish = (reason: 'broadcaster' | 'timeout'): void => {
    if (state === 'ended' || state === 'stopped' || state === 'failed') return
    state = 'ended'
    endReason = reason
    player.end()
    emit('ended', { reason })
    lingerTimer = setTimeout(leaveSwarm, END_LINGER_MS)
  }

  const leaveSwarm = (): void => {
    if (swarm === null) return
    lastSwarmStats = swarm.stats()
    swarm.destroy()
    swarm = null
    void mro.destroy()
  }

  mro.on('peer-add', () => { join.peerMs ??= since() })
  mro.on('metadata', ({ data }) => {
    join.metadataMs ??= since()
    let ended = false
    try {
      ended = decodeMetadata(data).ended === true
      if (player.metadata === null) player.setMetadata(data)
    } catch (err) {
      emit('error', { error: toError(err), fatal: player.metadata === null })
      if (player.metadata === null) state = 'failed'
      return
    }
    if (ended) endedMetadataAt ??= performance.now()
  })
  mro.on('verified', ({ index, flags }) => {
    verifiedBlocks++
    lastBlockAt = performance.now()
    join.firstBlockMs ??= since()
    player.setLiveEdge(mro.length)
    mro.get(index).then((data) => { player.push(index, data, flags) }, (err: unknown) => {
      if (isMunroError(err, 'ERR_OUT_OF_WINDOW')) player.skip(index)
    })
  })
  mro.on('invalid', ({ error }) => { emit('rejected', { count: mro.stats().invalid, error }) })
  mro.on('error', ({ error }) => { emit('error', { error, fatal: false }) })
  player.on('error', ({ error, fatal }) => {
    if (fatal && state !== 'stopped') state = 'failed'
    emit('error', { error, fatal })
  })
  player.on('start', ({ index }) => {
    join.startMs ??= since()
    startIndex = index
    const info = mro.info(index)
    startedAtKeyframe = info === undefined ? null : (info.flags & BLOCK_FLAG_KEYFRAME) !== 0
  })
  const onPlaying = (): void => {
    if (firstFrameMs !== null || state !== 'connecting') return
    firstFrameMs = performance.now() - startedAt
    state = 'playing'
    emit('playing', { firstFrameMs })
  }
  video.addEventListener('playing', onPlaying)

  const swarmOptions: Partial<SwarmOptions> & { signal: string } = {
    signal: o.signal,
    maxPeers: o.maxPeers,
    unsafeTamperOutgoing: o.unsafeTamperOutgoing,
    ...(o.iceServers === undefined ? {} : { iceServers: o.iceServers })
  }
  swarm = joinSwarm(mro, swarmOptions)
  swarm.on('error', ({ error }) => { emit('error', { error, fatal: false }) })

  const tick = (): void => {
    const now = performance.now()
    if (endedMetadataAt !== null) {
      const next = player.stats.nextIndex
      if ((next !== null && next >= mro.length) || now - endedMetadataAt > END_DRAIN_MS || startIndex === null) finish('broadcaster')
    } else if (state === 'playing' && lastBlockAt !== null && now - lastBlockAt > o.endTimeoutMs) {
      finish('timeout')
    }
    if (state !== 'stopped') emit('stats', handle.stats)
  }
  const interval = setInterval(tick, STATS_INTERVAL_MS)

  const handle: WatchHandle = {
    stream: mro.key,
    mro,
    get stats (): WatchStats {
      const s = swarm?.stats() ?? lastSwarmStats ?? emptySwarmStats()
      const p = player.stats
      const bufferSeconds = p.latency
      return {
        state,
        endReason,
        peers: swarm === null ? 0 : s.peers.length,
        blocksFromBroadcaster: s.blocksFromBroadcaster,
        blocksFromPeers: s.blocksFromPeers,
        p2pRatio: s.p2pRatio,
        verifiedBlocks,
        rejectedBlocks: s.invalid,
        networkLatencyMs: s.latencyMs,
        bufferSeconds,
        liveLatencyMs: s.latencyMs === null ? null : s.latencyMs + bufferSeconds * 1000,
        startIndex,
        startedAtKeyframe,
        firstFrameMs,
        join: { ...join },
        player: p,
        swarm: s
      }
    },
    on: (type, handler) => { emitter.on(type, handler) },
    off: (type, handler) => { emitter.off(type, handler) },
    stop (): void {
      if (state === 'stopped') return
      state = 'stopped'
      clearInterval(interval)
      if (lingerTimer !== null) clearTimeout(lingerTimer)
      video.removeEventListener('playing', onPlaying)
      leaveSwarm()
      player.destroy()
      emitter.all.clear()
    }
  }
  return handle
}

function emptySwarmStats (): SwarmStats {
  return {
    role: 'viewer', peerId: null, peers: [], bytesSent: 0, bytesReceived: 0, blocksFromBroadcaster: 0,
    blocksFromPeers: 0, p2pRatio: null, invalid: 0, banned: 0, latencyMs: null, uploadCopies: null, lateBlocks: 0
  }
}
