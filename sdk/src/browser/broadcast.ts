/**
 * `broadcast()`: camera or screen → MediaRecorder → signed blocks → the swarm, in one call.
 * Browser only.
 *
 * DEV DOCS
 * - The recorder's `onInit` publishes the encoded stream metadata (`mro.setMetadata`) before the
 *   first block; `onBlock` appends each block with its `BLOCK_FLAG_*` byte, which the log signs.
 * - `stop()` ends the recording (the last bytes become blocks), then republishes the metadata
 *   with `ended: true` (version 2 of the codec) so that every viewer, served directly or through
 *   other viewers, learns that the stream is over; it keeps serving for `endLingerMs` so that
 *   the final blocks and metadata spread, then leaves the swarm.
 * - Tracks the page captured itself are stopped on `stop()`; a caller's `MediaStream` is left
 *   running (its owner stops it). A captured track that ends (the user stops a screen share)
 *   stops the broadcast.
 * @module
 */
import mitt, { type Emitter, type Handler } from 'mitt'
import { munro, type Munro } from '../munro.js'
import { MediaLayerError } from '../media/errors.js'
import { decodeMetadata, encodeMetadata } from '../media/metadata.js'
import { createRecorder, type Recorder, type RecorderStats } from '../media/recorder.js'
import { DEFAULT_TOPOLOGY } from '../swarm/topology.js'
import { joinSwarm, type Swarm, type SwarmOptions, type SwarmStats } from '../swarm/swarm.js'
import { assertNonEmptyString, assertOptionalInt, emitSafely, stripUndefined, toError } from './util.js'

/** What to broadcast: the camera (and microphone), the screen, or a stream the page already has. */
export type BroadcastSource = 'camera' | 'screen' | MediaStream

/** Options of {@link broadcast}. Only `signal` is required. */
export interface BroadcastOptions {
  /** Signaling server URL (`ws://` or `wss://`). */
  signal: string
  /**
   * What to capture.
   * @default 'camera'
   */
  source?: BroadcastSource
  /** A `<video>` to show the local picture in (muted). @default none */
  preview?: HTMLVideoElement | null
  /**
   * STUN/TURN servers. `[]` is enough on one machine or a LAN.
   * @default simple-peer's defaults (public STUN)
   */
  iceServers?: RTCIceServer[]
  /**
   * Viewers served directly; the others are served by viewers. Each costs one upload copy.
   * @default 2
   */
  maxBroadcasterPeers?: number
  /**
   * MediaRecorder timeslice in ms (block cadence).
   * @default 250
   */
  timeslice?: number
  /**
   * Keyframe interval in ms: bounds how long a joining viewer waits for a picture.
   * @default 1000
   */
  keyIntervalMs?: number
  /** Video bitrate. @default the browser's (~2.5 Mbit/s in Chromium) */
  videoBitsPerSecond?: number
  /**
   * Constraints for `getUserMedia` (`source: 'camera'`) or `getDisplayMedia` (`'screen'`).
   * @default { video: true, audio: true }
   */
  constraints?: MediaStreamConstraints
  /**
   * Milliseconds to keep serving after `stop()`, so the last blocks and the "ended" metadata reach
   * every viewer before the broadcaster leaves.
   * @default 1500
   */
  endLingerMs?: number
}

/** Defaults of the optional {@link BroadcastOptions}. */
export const DEFAULT_BROADCAST_OPTIONS = Object.freeze({
  source: 'camera' as BroadcastSource,
  maxBroadcasterPeers: DEFAULT_TOPOLOGY.maxBroadcasterPeers,
  timeslice: 250,
  keyIntervalMs: 1000,
  constraints: Object.freeze({ video: true, audio: true }) as MediaStreamConstraints,
  endLingerMs: 1500
})

/** Live numbers of a broadcast. */
export interface BroadcastStats {
  state: 'live' | 'stopping' | 'ended'
  /** Stream id (hex). */
  id: string
  /** Viewers connected directly. */
  peers: number
  /** Blocks appended (the log's length). */
  blocks: number
  /** Bytes uploaded to all viewers. */
  bytesSent: number
  /** Milliseconds since the broadcast started. */
  uptimeMs: number
  recorder: Readonly<RecorderStats>
  swarm: SwarmStats
}

/** Events of a {@link BroadcastHandle}. */
export type BroadcastEvents = {
  /** About once a second. */
  stats: BroadcastStats
  'peer-connect': { id: string }
  'peer-disconnect': { id: string }
  /** Non-fatal problems (a signaling hiccup, a failed connection) and fatal ones (the recorder). */
  error: { error: Error, fatal: boolean }
  /** The broadcast is over and has left the swarm. */
  ended: Record<string, never>
}

/** A running broadcast; see {@link broadcast}. */
export interface BroadcastHandle {
  /** The stream id (64 hex characters): what viewers need, with the signaling URL. */
  readonly id: string
  /** The captured stream. */
  readonly mediaStream: MediaStream
  /** The underlying munro log (advanced use). */
  readonly mro: Munro
  /** Live numbers, recomputed on each read. */
  readonly stats: BroadcastStats
  on<K extends keyof BroadcastEvents>(type: K, handler: Handler<BroadcastEvents[K]>): void
  off<K extends keyof BroadcastEvents>(type: K, handler?: Handler<BroadcastEvents[K]>): void
  /** Stops recording, tells viewers the stream ended, and leaves. Idempotent. */
  stop(): Promise<void>
}

async function capture (source: BroadcastSource, constraints: MediaStreamConstraints): Promise<MediaStream> {
  if (typeof MediaStream !== 'undefined' && source instanceof MediaStream) return source
  const devices = typeof navigator === 'undefined' ? undefined : navigator.mediaDevices
  try {
    if (source === 'camera') {
      if (devices?.getUserMedia === undefined) throw new Error('navigator.mediaDevices.getUserMedia is not available (a secure context is required)')
      return await devices.getUserMedia(constraints)
    }
    if (devices?.getDisplayMedia === undefined) throw new Error('navigator.mediaDevices.getDisplayMedia is not available')
    return await devices.getDisplayMedia(constraints as DisplayMediaStreamOptions)
  } catch (err) {
    throw new MediaLayerError('ERR_MEDIA_CAPTURE', `capturing the ${String(source)} failed: ${String(err)}`, { cause: err })
  }
}

/**
 * Starts a live broadcast from the camera, the screen or a `MediaStream`, and resolves once
 * recording has started. Share `handle.id` and the signaling URL with viewers.
 * @throws {TypeError|RangeError} on bad options; {@link MediaLayerError} `ERR_MEDIA_CAPTURE` when
 *   capture is refused, `ERR_MEDIA_UNSUPPORTED` when the browser cannot record WebM.
 * @example
 * ```ts
 * import { broadcast } from 'munro'
 * const live = await broadcast({ signal: 'wss://signal.example', source: 'camera', preview: myVideo })
 * console.log(`https://example.com/watch?stream=${live.id}`)
 * live.on('stats', (s) => console.log(s.peers, s.blocks))
 * // later
 * await live.stop()
 * ```
 */
export async function broadcast (options: BroadcastOptions): Promise<BroadcastHandle> {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  assertNonEmptyString('signal', options.signal)
  const o = { ...DEFAULT_BROADCAST_OPTIONS, ...stripUndefined(options), signal: options.signal }
  assertOptionalInt('maxBroadcasterPeers', o.maxBroadcasterPeers, 1)
  assertOptionalInt('timeslice', o.timeslice, 1)
  assertOptionalInt('keyIntervalMs', o.keyIntervalMs, 1)
  assertOptionalInt('endLingerMs', o.endLingerMs, 0)
  const source = o.source
  if (source !== 'camera' && source !== 'screen' && !(typeof MediaStream !== 'undefined' && source instanceof MediaStream)) {
    throw new TypeError("source must be 'camera', 'screen' or a MediaStream")
  }
  const ownsTracks = !(typeof MediaStream !== 'undefined' && source instanceof MediaStream)
  const mediaStream = await capture(source, o.constraints)

  const emitter: Emitter<BroadcastEvents> = mitt<BroadcastEvents>()
  const emit = <K extends keyof BroadcastEvents>(type: K, event: BroadcastEvents[K]): void => { emitSafely(emitter, type, event) }
  const mro = munro()
  const startedAt = Date.now()
  let state: BroadcastStats['state'] = 'live'
  let metadata: Uint8Array | null = null
  let appendChain: Promise<unknown> = Promise.resolve()
  let recorder: Recorder
  try {
    recorder = createRecorder(mediaStream, {
      timeslice: o.timeslice,
      keyIntervalMs: o.keyIntervalMs,
      ...(o.videoBitsPerSecond === undefined ? {} : { videoBitsPerSecond: o.videoBitsPerSecond }),
      onInit (meta) {
        metadata = meta
        mro.setMetadata(meta).catch((err: unknown) => { emit('error', { error: toError(err), fatal: false }) })
      },
      onBlock (data, flags) {
        appendChain = mro.append(data, { flags }).catch((err: unknown) => { emit('error', { error: toError(err), fatal: false }) })
      },
      onError (error) {
        emit('error', { error, fatal: true })
        void handle.stop()
      }
    })
  } catch (err) {
    if (ownsTracks) for (const t of mediaStream.getTracks()) t.stop()
    await mro.destroy()
    throw err
  }

  const swarmOptions: Partial<SwarmOptions> & { signal: string } = {
    signal: o.signal,
    maxBroadcasterPeers: o.maxBroadcasterPeers,
    ...(o.iceServers === undefined ? {} : { iceServers: o.iceServers })
  }
  const swarm: Swarm = joinSwarm(mro, swarmOptions)
  swarm.on('peer-connect', ({ id }) => { emit('peer-connect', { id }) })
  swarm.on('peer-disconnect', ({ id }) => { emit('peer-disconnect', { id }) })
  swarm.on('error', ({ error }) => { emit('error', { error, fatal: false }) })
  swarm.on('stats', () => { emit('stats', handle.stats) })

  const preview = o.preview ?? null
  if (preview !== null) {
    preview.muted = true
    preview.playsInline = true
    preview.srcObject = mediaStream
    preview.play().catch(() => { /* autoplay refused: the preview stays on its first frame */ })
  }
  const onTrackEnded = (): void => { void handle.stop() }
  if (ownsTracks) for (const t of mediaStream.getTracks()) t.addEventListener('ended', onTrackEnded)

  let stopping: Promise<void> | null = null
  const handle: BroadcastHandle = {
    id: mro.key,
    mediaStream,
    mro,
    get stats (): BroadcastStats {
      const s = swarm.stats()
      return {
        state, id: mro.key, peers: s.peers.length, blocks: mro.length, bytesSent: s.bytesSent,
        uptimeMs: Date.now() - startedAt, recorder: { ...recorder.stats }, swarm: s
      }
    },
    on: (type, handler) => { emitter.on(type, handler) },
    off: (type, handler) => { emitter.off(type, handler) },
    stop (): Promise<void> {
      stopping ??= (async () => {
        state = 'stopping'
        if (ownsTracks) for (const t of mediaStream.getTracks()) t.removeEventListener('ended', onTrackEnded)
        await recorder.stop()
        await appendChain
        if (metadata !== null && !mro.destroyed) {
          try {
            await mro.setMetadata(encodeMetadata({ ...decodeMetadata(metadata), ended: true }))
          } catch (err) { emit('error', { error: toError(err), fatal: false }) }
          if (o.endLingerMs > 0) await new Promise((resolve) => setTimeout(resolve, o.endLingerMs))
        }
        if (ownsTracks) for (const t of mediaStream.getTracks()) t.stop()
        if (preview !== null && preview.srcObject === mediaStream) preview.srcObject = null
        swarm.destroy()
        await mro.destroy()
        state = 'ended'
        emit('ended', {})
        emitter.all.clear()
      })()
      return stopping
    }
  }
  return handle
}
