/**
 * Capture: a `MediaStream` → MediaRecorder → {@link WebmCutter} → stream metadata and blocks.
 * Browser only (MediaRecorder, MediaSource).
 * @module
 */

import { BLOCK_FLAG_KEYFRAME, PREFERRED_MIME_TYPES, PREFERRED_VIDEO_ONLY_MIME_TYPES } from './constants.js'
import { MediaLayerError } from './errors.js'
import { encodeMetadata } from './metadata.js'
import { WebmCutter, mimeTypeOf, type WebmCut, type WebmInit } from './webm.js'

/** Options of {@link createRecorder}. */
export interface RecorderOptions {
  /**
   * MediaRecorder timeslice in ms: how often the recorder hands over bytes, so the floor of the
   * block cadence. Measured: 250 → chunks every ~285 ms, glass-to-glass floor ~0.40 s.
   * @default 250
   */
  timeslice?: number
  /**
   * Keyframe interval in ms (`videoKeyFrameIntervalDuration`, honoured by Chromium). A late
   * viewer starts at a keyframe, so this bounds the join delay; VP8's own default is ~5 s.
   * @default 1000
   */
  keyIntervalMs?: number
  /** Video bitrate; the browser's default (~2.5 Mbit/s in Chromium) when unset. */
  videoBitsPerSecond?: number
  /** Audio bitrate; the browser's default when unset. */
  audioBitsPerSecond?: number
  /**
   * Recorder MIME type. When unset, the first of `PREFERRED_MIME_TYPES` (or the video-only
   * variants when the stream has no audio track) that both MediaRecorder and MediaSource support.
   */
  mimeType?: string
  /** Called once, before any block, with the encoded stream metadata (see `metadata.ts`). */
  onInit: (metadata: Uint8Array, info: { init: WebmInit, mimeType: string }) => void
  /** Called for each block, in order. `flags`: `BLOCK_FLAG_*`. */
  onBlock: (data: Uint8Array, flags: number) => void
  /** Called when recording fails (recorder error or malformed WebM); recording stops. */
  onError?: (error: MediaLayerError) => void
}

/** Live numbers of a {@link Recorder}. */
export interface RecorderStats {
  /** Bytes the recorder produced. */
  bytes: number
  /** Recorder chunks received. */
  chunks: number
  /** Blocks handed to `onBlock`. */
  blocks: number
  /** Of those, keyframe blocks. */
  keyframes: number
}

/** A running recorder. */
export interface Recorder {
  /** The MIME type being recorded, as checked against MediaSource. */
  readonly mimeType: string
  /** Live counters. */
  readonly stats: Readonly<RecorderStats>
  /** Stops recording; resolves after the last block has been handed out. Idempotent. */
  stop(): Promise<void>
}

/** The slice of `RecorderOptions` that picking a MIME type needs. */
export type MimeTypeChoice = Pick<RecorderOptions, 'mimeType'>

/**
 * Picks the recorder MIME type: `opts.mimeType` if given (and supported), else the first
 * preferred type that both `MediaRecorder.isTypeSupported` and `MediaSource.isTypeSupported`
 * accept — video-only variants when `hasAudio` is false.
 * @throws {MediaLayerError} `ERR_MEDIA_UNSUPPORTED` when none is supported.
 * @example
 * pickMimeType(stream.getAudioTracks().length > 0) // 'video/webm;codecs="vp8,opus"'
 */
export function pickMimeType (hasAudio: boolean, opts: MimeTypeChoice = {}): string {
  const supported = (t: string): boolean =>
    typeof MediaRecorder !== 'undefined' && MediaRecorder.isTypeSupported(t) &&
    typeof MediaSource !== 'undefined' && MediaSource.isTypeSupported(t)
  const candidates = opts.mimeType !== undefined
    ? [opts.mimeType]
    : hasAudio ? PREFERRED_MIME_TYPES : PREFERRED_VIDEO_ONLY_MIME_TYPES
  const type = candidates.find(supported)
  if (type === undefined) {
    throw new MediaLayerError('ERR_MEDIA_UNSUPPORTED', `no supported recorder type among ${candidates.join(', ')}`)
  }
  return type
}

function assertPositiveInt (name: string, v: number | undefined): void {
  if (v === undefined) return
  if (!Number.isInteger(v)) throw new TypeError(`${name} must be an integer, got ${String(v)}`)
  if (v < 1) throw new RangeError(`${name} must be ≥ 1, got ${v}`)
}

/**
 * Starts recording `stream` and cutting it into blocks.
 * @throws {TypeError|RangeError} on bad options; {@link MediaLayerError} `ERR_MEDIA_UNSUPPORTED`.
 * @example
 * const cam = await navigator.mediaDevices.getUserMedia({ video: true, audio: true })
 * const rec = createRecorder(cam, {
 *   onInit: (metadata) => broadcaster.setMetadata(metadata),
 *   onBlock: (data, flags) => broadcaster.append(data, { flags })
 * })
 * // later
 * await rec.stop()
 */
export function createRecorder (stream: MediaStream, options: RecorderOptions): Recorder {
  if (typeof options?.onInit !== 'function') throw new TypeError('options.onInit must be a function')
  if (typeof options.onBlock !== 'function') throw new TypeError('options.onBlock must be a function')
  const timeslice = options.timeslice ?? 250
  const keyIntervalMs = options.keyIntervalMs ?? 1000
  assertPositiveInt('timeslice', timeslice)
  assertPositiveInt('keyIntervalMs', keyIntervalMs)
  assertPositiveInt('videoBitsPerSecond', options.videoBitsPerSecond)
  assertPositiveInt('audioBitsPerSecond', options.audioBitsPerSecond)

  const mimeType = pickMimeType(stream.getAudioTracks().length > 0, options)
  const recorderOptions: MediaRecorderOptions & { videoKeyFrameIntervalDuration?: number } = {
    mimeType,
    videoKeyFrameIntervalDuration: keyIntervalMs
  }
  if (options.videoBitsPerSecond !== undefined) recorderOptions.videoBitsPerSecond = options.videoBitsPerSecond
  if (options.audioBitsPerSecond !== undefined) recorderOptions.audioBitsPerSecond = options.audioBitsPerSecond
  const recorder = new MediaRecorder(stream, recorderOptions)
  const cutter = new WebmCutter()
  const stats: RecorderStats = { bytes: 0, chunks: 0, blocks: 0, keyframes: 0 }
  let failed = false
  // Blob reads are asynchronous: chain them so the cutter sees chunks in recorder order.
  let chain: Promise<void> = Promise.resolve()
  let stopped: Promise<void> | null = null

  const fail = (error: MediaLayerError): void => {
    if (failed) return
    failed = true
    if (recorder.state !== 'inactive') recorder.stop()
    options.onError?.(error)
  }

  const deliver = (outs: WebmCut[]): void => {
    for (const out of outs) {
      if (out.type === 'init') {
        const derived = mimeTypeOf(out.init)
        // The init segment says what was really recorded; prefer it when MediaSource takes it.
        const type = MediaSource.isTypeSupported(derived) ? derived : mimeType
        const metadata = encodeMetadata({ mimeType: type, init: out.init.bytes, keyIntervalMs, timesliceMs: timeslice })
        options.onInit(metadata, { init: out.init, mimeType: type })
      } else {
        stats.blocks++
        if ((out.block.flags & BLOCK_FLAG_KEYFRAME) !== 0) stats.keyframes++
        options.onBlock(out.block.data, out.block.flags)
      }
    }
  }

  const run = (step: () => WebmCut[]): void => {
    if (failed) return
    try {
      deliver(step())
    } catch (err) {
      fail(new MediaLayerError('ERR_MEDIA_RECORDER', `cutting the recording failed: ${String(err)}`, { cause: err }))
    }
  }

  recorder.addEventListener('dataavailable', (e: BlobEvent) => {
    if (e.data.size === 0) return
    const read = e.data.arrayBuffer()
    chain = chain.then(async () => {
      const bytes = new Uint8Array(await read)
      stats.chunks++
      stats.bytes += bytes.length
      run(() => cutter.push(bytes))
    })
  })
  recorder.addEventListener('error', (e: Event) => {
    const inner = (e as Event & { error?: unknown }).error
    fail(new MediaLayerError('ERR_MEDIA_RECORDER', `MediaRecorder error: ${String(inner ?? e.type)}`, { cause: inner }))
  })
  recorder.start(timeslice)

  return {
    mimeType,
    stats,
    stop (): Promise<void> {
      if (stopped !== null) return stopped
      stopped = new Promise<void>((resolve) => {
        if (recorder.state === 'inactive') {
          resolve()
          return
        }
        // 'stop' fires after the last 'dataavailable'.
        recorder.addEventListener('stop', () => resolve(), { once: true })
        recorder.stop()
      }).then(async () => {
        await chain
        run(() => cutter.end())
      })
      return stopped
    }
  }
}
