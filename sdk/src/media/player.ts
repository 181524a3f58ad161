/**
 * Playback: verified blocks → MediaSource → `<video>`. Browser only.
 *
 * DEV DOCS
 *
 * - `setMetadata()` decodes the stream metadata; once the MediaSource is open it creates the
 *   SourceBuffer (`segments` mode: the recorder's timestamps are kept, so a late viewer's first
 *   Cluster starts at, say, 12.3 s and the player seeks to `buffered.start(0)`) and appends the
 *   init segment.
 * - `push(index, data, flags)` queues a verified block. Nothing is appended until a keyframe
 *   block arrives (`BLOCK_FLAG_KEYFRAME`): MediaSource accepts only init + a Cluster that starts
 *   with a keyframe. From there blocks are appended strictly in index order, one `appendBuffer`
 *   at a time (the next on `updateend`).
 * - A gap — the next index missing while later ones wait — ends after `gapTimeoutMs`, or at once
 *   when the caller says the index will never come (`skip(index)`): the player jumps to the next
 *   queued keyframe block (or waits for one), because a Cluster continued from the middle fails.
 * - Live edge: playbackRate holds the buffer left ahead of the playhead when blocks arrive at
 *   `targetLatency` (live-edge.ts).
 * - Start: when the first keyframe block is buffered, the playhead is put at
 *   `edge − targetLatency − (one block's media)`, not at the start of the buffer, so the first
 *   arrival already finds about `targetLatency` ahead. When the caller says how long the log is
 *   (`setLiveEdge(length)`), the start seek and the first frame wait until the blocks known when
 *   the start block was appended are buffered (at most `START_HOLD_MS`): a late viewer's backlog
 *   then lands before playback instead of forcing a seek after it. Backlog blocks that still land
 *   after playback began are caught up by a seek: while joining (`JOIN_MS` after the first
 *   frame) when the low point is more than `JOIN_SEEK_EXCESS` above the target, later when it
 *   exceeds `maxLatency`.
 * - The same timer (`tickMs`) jumps over holes in the buffered ranges and removes media older
 *   than `keepBehind` seconds so memory stays flat. `QuotaExceededError` evicts harder and
 *   retries.
 * - Media errors (SourceBuffer/`<video>` errors, failed appends) are `error` events; the fatal
 *   ones stop the player.
 * @module
 */

import mitt from 'mitt'
import { BLOCK_FLAG_KEYFRAME } from './constants.js'
import { MediaLayerError } from './errors.js'
import { liveEdgeRate, LowPoint } from './live-edge.js'
import { decodeMetadata, type StreamMetadata } from './metadata.js'
import { DEFAULT_PLAYER_OPTIONS, type Player, type PlayerEvents, type PlayerOptions, type PlayerStats } from './player-api.js'

export { DEFAULT_PLAYER_OPTIONS, type Player, type PlayerEvents, type PlayerOptions, type PlayerStats }

/** Before the first frame, the start seek is repeated when the edge moved on by this (s). */
const START_RESEEK = 0.1
/**
 * Longest the first frame waits (ms after the start block is appended) for the rest of a late
 * viewer's backlog ({@link Player.setLiveEdge}). The backlog is the few blocks since the last
 * keyframe (~1 s of media); it usually lands in a few hundred ms. A block that lands after the
 * first frame forces a seek, which on a loaded machine froze playback for over half a second
 * (seen in CI); past this bound a missing block is left to the gap timeout and the join seek.
 */
const START_HOLD_MS = 1500
/** After the first frame, how long (ms) the join's late backlog blocks are caught up by a seek. */
const JOIN_MS = 4000
/** While joining, seek when the low point is this many seconds above the target (one block+). */
const JOIN_SEEK_EXCESS = 0.3
/**
 * Least time (ms) between two seeks that catch up with the live edge after playback began
 * ('behind'). Each seek drops the element back to HAVE_METADATA until it decodes at the new
 * position; on a loaded machine a joining player that re-seeks as each late block lands can chase
 * the edge without playing (seen in CI). Start seeks and seeks over a hole are not limited.
 */
const MIN_CHASE_SEEK_MS = 1000
/** Seconds kept behind the playhead when a QuotaExceededError forces an eviction. */
const QUOTA_KEEP_BEHIND = 1
/** Buffered-range edges closer than this (s) count as touching the playhead. */
const RANGE_EPSILON = 0.05
/**
 * A playhead stalled (readyState < HAVE_FUTURE_DATA) within this many seconds of the end of its
 * buffered range, with a later range buffered, is at a hole left by a skipped block: jump it.
 * Longer than a video frame (50 ms at 20 fps) plus an audio packet; measured stalls sat 20–60 ms
 * before the range end.
 */
const HOLE_STALL_WINDOW = 0.3

function assertNumber (name: string, v: number, min: number): void {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${name} must be a number`)
  if (v < min) throw new RangeError(`${name} must be ≥ ${min}, got ${v}`)
}

function isIndex (v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

/**
 * Creates a MediaSource player on `video`. The element is muted (autoplay policies allow muted
 * playback only); unmute it from a user gesture.
 * @example
 * const player = createPlayer(document.querySelector('video')!, { targetLatency: 0.6 })
 * receiver.on('metadata', ({ data }) => player.setMetadata(data))
 * receiver.on('verified', async ({ index, flags }) => player.push(index, await receiver.get(index), flags))
 * player.on('error', ({ error }) => console.warn(error.code))
 */
export function createPlayer (video: HTMLVideoElement, options: PlayerOptions = {}): Player {
  const opts: Required<PlayerOptions> = { ...DEFAULT_PLAYER_OPTIONS, ...options }
  assertNumber('targetLatency', opts.targetLatency, 0)
  assertNumber('maxLatency', opts.maxLatency, opts.targetLatency)
  assertNumber('catchUpRate', opts.catchUpRate, 1)
  assertNumber('slowRate', opts.slowRate, 0.5)
  if (opts.slowRate > 1) throw new RangeError(`slowRate must be ≤ 1, got ${opts.slowRate}`)
  assertNumber('keepBehind', opts.keepBehind, 0.5)
  assertNumber('gapTimeoutMs', opts.gapTimeoutMs, 0)
  assertNumber('maxQueuedBlocks', opts.maxQueuedBlocks, 1)
  assertNumber('tickMs', opts.tickMs, 10)
  if (typeof MediaSource === 'undefined') throw new MediaLayerError('ERR_MEDIA_UNSUPPORTED', 'MediaSource is not available')

  const emitter = mitt<PlayerEvents>()
  const mediaSource = new MediaSource()
  const url = URL.createObjectURL(mediaSource)
  const queue = new Map<number, { data: Uint8Array, flags: number }>()
  const skipped = new Set<number>()
  const counters = {
    appendedBlocks: 0, appendedBytes: 0, droppedBlocks: 0, skippedBlocks: 0, gaps: 0, seeks: 0,
    quotaEvictions: 0, errors: 0
  }
  let metadataBytes: Uint8Array | null = null
  let metadata: StreamMetadata | null = null
  let sourceBuffer: SourceBuffer | null = null
  let initAppended = false
  let next: number | null = null
  let startIndex: number | null = null
  /** While waiting for a keyframe after a gap: the index the gap began at. */
  let resyncFrom: number | null = null
  let pendingRemove: [number, number] | null = null
  let gapTimer: ReturnType<typeof setTimeout> | null = null
  let quotaStuck = false
  let playPending = false
  /** Buffer ahead of the playhead when blocks were appended while playing. */
  const lows = new LowPoint()
  /** Media seconds the last appended block added to the buffer end (an arrival's step). */
  let lastStep = 0
  let edgeBeforeAppend: number | null = null
  /** performance.now() of the first frame played, or null before. */
  let playingSince: number | null = null
  /** The newest block index the caller knows of (setLiveEdge), or null. */
  let knownLast: number | null = null
  /** Until the first frame: wait for blocks up to `last` until `until` (performance.now()). */
  let startHold: { last: number, until: number } | null = null
  let ending = false
  let failed = false
  let destroyed = false

  const emit = <K extends keyof PlayerEvents>(type: K, event: PlayerEvents[K]): void => {
    try {
      emitter.emit(type, event)
    } catch (err) {
      // A throwing handler must not break playback; report it out of band.
      setTimeout(() => { throw err })
    }
  }

  const reportError = (error: MediaLayerError, fatal: boolean): void => {
    counters.errors++
    if (fatal) {
      failed = true
      stopTimers()
    }
    emit('error', { error, fatal })
  }

  const onSourceOpen = (): void => {
    if (metadata !== null && sourceBuffer === null) createSourceBuffer()
  }
  const onVideoError = (): void => {
    const e = video.error
    reportError(new MediaLayerError('ERR_MEDIA_ELEMENT', `video error ${e?.code ?? '?'}: ${e?.message ?? ''}`), true)
  }
  const onSourceBufferError = (): void => {
    reportError(new MediaLayerError('ERR_MEDIA_SOURCE', 'SourceBuffer append failed'), true)
  }
  const onUpdateEnd = (): void => {
    const ranges = sourceBuffer?.buffered
    if (edgeBeforeAppend !== null && ranges !== undefined && ranges.length > 0) {
      const step = ranges.end(ranges.length - 1) - edgeBeforeAppend
      if (step > 0 && step < 5) lastStep = step
    }
    edgeBeforeAppend = null
    // Until playback starts, check at once rather than on the next tick: the start seek and
    // play() then cost no timer period (join → first frame).
    if (startIndex !== null && video.paused && !failed && !destroyed) tick()
    else pump()
  }
  /** Plays as soon as the element can, instead of on the next tick. */
  const onCanPlay = (): void => { if (!failed && !destroyed) startPlaying() }
  const onPlaying = (): void => { if (playingSince === null) playingSince = performance.now() }

  mediaSource.addEventListener('sourceopen', onSourceOpen)
  video.addEventListener('error', onVideoError)
  video.addEventListener('canplay', onCanPlay)
  video.addEventListener('playing', onPlaying)
  video.muted = true
  video.playsInline = true
  video.src = url

  function createSourceBuffer (): void {
    if (metadata === null || mediaSource.readyState !== 'open') return
    try {
      sourceBuffer = mediaSource.addSourceBuffer(metadata.mimeType)
      sourceBuffer.mode = 'segments'
    } catch (err) {
      reportError(new MediaLayerError('ERR_MEDIA_SOURCE', `addSourceBuffer(${metadata.mimeType}) failed: ${String(err)}`, { cause: err }), true)
      return
    }
    sourceBuffer.addEventListener('updateend', onUpdateEnd)
    sourceBuffer.addEventListener('error', onSourceBufferError)
    pump()
  }

  /** The lowest queued keyframe block index ≥ `from`, or null. */
  function keyframeFrom (from: number): number | null {
    let best: number | null = null
    for (const [i, b] of queue) {
      if (i >= from && (b.flags & BLOCK_FLAG_KEYFRAME) !== 0 && (best === null || i < best)) best = i
    }
    return best
  }

  function dropBelow (index: number): void {
    for (const i of queue.keys()) if (i < index) queue.delete(i)
    for (const i of skipped) if (i < index) skipped.delete(i)
  }

  /** Starts (or restarts after a gap) at the lowest queued keyframe block, if any. */
  function tryStart (): void {
    if (next !== null) return
    const k = keyframeFrom(resyncFrom ?? 0)
    if (k === null) return
    const before = queue.size
    dropBelow(k)
    if (resyncFrom === null) {
      counters.droppedBlocks += before - queue.size
      startIndex = k
    } else {
      // The gap began at resyncFrom − 1; indexes up to k − 1 were passed over.
      counters.skippedBlocks += k - resyncFrom + 1
      resyncFrom = null
    }
    next = k
  }

  /** Gives up on block `next`: continue at the next queued keyframe block, or wait for one. */
  function resync (reason: 'skip' | 'timeout'): void {
    if (next === null) return
    clearGapTimer()
    const from = next
    counters.gaps++
    next = null
    resyncFrom = from + 1
    tryStart()
    emit('skip', { from, to: next, reason })
  }

  function clearGapTimer (): void {
    if (gapTimer !== null) clearTimeout(gapTimer)
    gapTimer = null
  }

  function pump (): void {
    if (failed || destroyed || sourceBuffer === null || sourceBuffer.updating || mediaSource.readyState !== 'open') return
    if (!initAppended && metadata !== null) {
      initAppended = true
      append(metadata.init)
      return
    }
    if (pendingRemove !== null) {
      const [start, end] = pendingRemove
      pendingRemove = null
      if (end > start) {
        sourceBuffer.remove(start, end)
        return
      }
    }
    if (next !== null && skipped.has(next)) resync('skip')
    if (next === null) return
    const block = queue.get(next)
    if (block === undefined) {
      // A gap: later blocks wait on a missing one.
      if (gapTimer === null && opts.gapTimeoutMs > 0 && queue.size > 0) {
        gapTimer = setTimeout(() => {
          gapTimer = null
          if (next !== null && !queue.has(next)) {
            resync('timeout')
            pump()
          }
        }, opts.gapTimeoutMs)
      }
      if (ending && queue.size === 0) mediaSource.endOfStream()
      return
    }
    clearGapTimer()
    const ahead = aheadOfPlayhead()
    if (!append(block.data)) return
    edgeBeforeAppend = ahead === null ? null : ahead[1]
    if (ahead !== null && playingSince !== null && !video.paused && !video.seeking) {
      lows.add(performance.now(), ahead[0])
    }
    queue.delete(next)
    if (counters.appendedBlocks === 0) {
      if (knownLast !== null && knownLast > next) startHold = { last: knownLast, until: performance.now() + START_HOLD_MS }
      emit('start', { index: next })
    }
    counters.appendedBlocks++
    counters.appendedBytes += block.data.length
    next++
  }

  /** Appends; false when it could not (quota: eviction scheduled, or a fatal error). */
  function append (data: Uint8Array): boolean {
    const sb = sourceBuffer as SourceBuffer
    try {
      sb.appendBuffer(data as Uint8Array<ArrayBuffer>)
      quotaStuck = false
      return true
    } catch (err) {
      if (err instanceof DOMException && err.name === 'QuotaExceededError') {
        const end = video.currentTime - QUOTA_KEEP_BEHIND
        if (sb.buffered.length > 0 && end > sb.buffered.start(0)) {
          counters.quotaEvictions++
          pendingRemove = [0, end]
          // Retry after the removal's updateend.
          queueMicrotask(pump)
        } else if (!quotaStuck) {
          quotaStuck = true
          reportError(new MediaLayerError('ERR_MEDIA_QUOTA', 'SourceBuffer full and nothing to evict yet', { cause: err }), false)
        }
        if (data === metadata?.init) initAppended = false
        return false
      }
      reportError(new MediaLayerError('ERR_MEDIA_SOURCE', `appendBuffer failed: ${String(err)}`, { cause: err }), true)
      return false
    }
  }

  /**
   * [seconds buffered ahead of the playhead in its range, newest buffered end], or null when
   * nothing is buffered. 0 ahead when the playhead is outside every range.
   */
  function aheadOfPlayhead (): [number, number] | null {
    const ranges = video.buffered
    if (ranges.length === 0) return null
    const t = video.currentTime
    let ahead = 0
    for (let i = 0; i < ranges.length; i++) {
      if (t >= ranges.start(i) - RANGE_EPSILON && t < ranges.end(i)) ahead = ranges.end(i) - t
    }
    return [ahead, ranges.end(ranges.length - 1)]
  }

  /**
   * Where to put the playhead so that about `targetLatency` is still ahead when the next block
   * arrives: the edge minus the target minus one block's media, within the edge's range.
   */
  function liveSeekTarget (ranges: TimeRanges): number {
    const last = ranges.length - 1
    const step = lastStep > 0 ? lastStep : 0.25
    return Math.max(ranges.start(last), ranges.end(last) - opts.targetLatency - step)
  }

  let lastChaseSeek = -Infinity

  function seek (to: number, reason: PlayerEvents['seek']['reason']): void {
    if (reason === 'behind') {
      const now = performance.now()
      if (now - lastChaseSeek < MIN_CHASE_SEEK_MS) return
      lastChaseSeek = now
    }
    const from = video.currentTime
    lows.clear()
    video.currentTime = to
    counters.seeks++
    emit('seek', { from, to, reason })
  }

  /** True while the first frame waits for the backlog known at start (see START_HOLD_MS). */
  function holding (): boolean {
    if (startHold === null) return false
    const waiting = playingSince === null && performance.now() < startHold.until &&
      (next === null || next <= startHold.last || sourceBuffer?.updating === true)
    if (!waiting) startHold = null
    return waiting
  }

  function startPlaying (): void {
    if (holding()) return
    if (video.paused && !playPending && video.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA) {
      playPending = true
      video.play().then(() => { playPending = false }, (err: unknown) => {
        playPending = false
        reportError(new MediaLayerError('ERR_MEDIA_ELEMENT', `play() was refused: ${String(err)}`, { cause: err }), false)
      })
    }
  }

  function tick (): void {
    if (failed || destroyed) return
    pump() // retries after a quota stall
    const ranges = video.buffered
    if (ranges.length === 0) return
    const t = video.currentTime
    let inside = false
    let insideEnd = 0
    let after: number | null = null
    for (let i = 0; i < ranges.length; i++) {
      const s = ranges.start(i)
      const e = ranges.end(i)
      if (t >= s - RANGE_EPSILON && t < e - RANGE_EPSILON / 2) {
        inside = true
        insideEnd = e
      } else if (s > t && after === null) after = s
    }
    const now = performance.now()
    // The element stalls up to a frame before the end of a range, which still counts as inside.
    const stalledAtHole = inside && after !== null && insideEnd - t < HOLE_STALL_WINDOW &&
      video.readyState < HTMLMediaElement.HAVE_FUTURE_DATA
    // Until the first frame plays, follow the edge as a late viewer's backlog lands: a seek now
    // costs less than one after playback began.
    const starting = startIndex !== null && playingSince === null && !video.seeking
    const low = lows.value(now)
    const joining = playingSince !== null && now - playingSince < JOIN_MS
    if (holding()) {
      // The backlog is still landing: one start seek once it is in, none before.
    } else if (starting && (!inside || t < liveSeekTarget(ranges) - START_RESEEK)) {
      seek(liveSeekTarget(ranges), 'start')
    } else if ((!inside || stalledAtHole) && after !== null) {
      seek(after + 0.01, 'gap')
    } else if (low !== null && lows.count >= 2 &&
      low - opts.targetLatency > (joining ? JOIN_SEEK_EXCESS : opts.maxLatency - opts.targetLatency)) {
      seek(liveSeekTarget(ranges), 'behind')
    }
    if (!video.seeking) {
      const ahead = aheadOfPlayhead()
      const rate = playingSince === null || ahead === null ? 1 : liveEdgeRate(lows.value(now), ahead[0], opts)
      if (video.playbackRate !== rate) video.playbackRate = rate
    }
    startPlaying()
    // Evict media older than keepBehind seconds (in one remove, when idle).
    const sb = sourceBuffer
    if (sb !== null && pendingRemove === null && sb.buffered.length > 0) {
      const cut = video.currentTime - opts.keepBehind
      if (cut - sb.buffered.start(0) > 1) {
        pendingRemove = [0, cut]
        pump()
      }
    }
  }

  const interval = setInterval(tick, opts.tickMs)

  function stopTimers (): void {
    clearInterval(interval)
    clearGapTimer()
  }

  return {
    setMetadata (bytes: Uint8Array): void {
      if (destroyed) throw new MediaLayerError('ERR_MEDIA_STATE', 'player destroyed')
      if (metadataBytes !== null) {
        if (bytes.length === metadataBytes.length && bytes.every((b, i) => b === metadataBytes?.[i])) return
        throw new MediaLayerError('ERR_MEDIA_STATE', 'metadata already set; create a new player for a new stream')
      }
      const decoded = decodeMetadata(bytes)
      if (!MediaSource.isTypeSupported(decoded.mimeType)) {
        throw new MediaLayerError('ERR_MEDIA_UNSUPPORTED', `MediaSource does not support ${decoded.mimeType}`)
      }
      metadataBytes = bytes.slice()
      metadata = decoded
      if (mediaSource.readyState === 'open') createSourceBuffer()
    },

    push (index: number, data: Uint8Array, flags: number): void {
      if (!isIndex(index)) throw new TypeError('index must be a non-negative safe integer')
      if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array')
      if (!Number.isInteger(flags) || flags < 0 || flags > 255) throw new TypeError('flags must be a u8')
      if (destroyed || failed) return
      const floor = next ?? resyncFrom ?? 0
      if (index < floor || queue.has(index)) {
        counters.droppedBlocks++
        return
      }
      queue.set(index, { data, flags })
      if (queue.size > opts.maxQueuedBlocks) {
        const lowest = Math.min(...queue.keys())
        queue.delete(lowest)
        counters.droppedBlocks++
      }
      tryStart()
      pump()
    },

    setLiveEdge (length: number): void {
      if (!isIndex(length)) throw new TypeError('length must be a non-negative safe integer')
      if (length > 0 && (knownLast === null || length - 1 > knownLast)) knownLast = length - 1
    },

    skip (index: number): void {
      if (!isIndex(index)) throw new TypeError('index must be a non-negative safe integer')
      if (destroyed || failed) return
      if (next === null || index < next) return
      skipped.add(index)
      if (index === next) resync('skip')
      pump()
    },

    end (): void {
      ending = true
      pump()
    },

    destroy (): void {
      if (destroyed) return
      destroyed = true
      stopTimers()
      queue.clear()
      mediaSource.removeEventListener('sourceopen', onSourceOpen)
      video.removeEventListener('error', onVideoError)
      video.removeEventListener('canplay', onCanPlay)
      video.removeEventListener('playing', onPlaying)
      if (sourceBuffer !== null) {
        sourceBuffer.removeEventListener('updateend', onUpdateEnd)
        sourceBuffer.removeEventListener('error', onSourceBufferError)
      }
      video.removeAttribute('src')
      video.load()
      URL.revokeObjectURL(url)
      emitter.all.clear()
    },

    get metadata (): StreamMetadata | null {
      return metadata
    },

    get stats (): PlayerStats {
      let bufferedSeconds = 0
      const ranges = destroyed ? null : video.buffered
      if (ranges !== null) for (let i = 0; i < ranges.length; i++) bufferedSeconds += ranges.end(i) - ranges.start(i)
      const latency = ranges !== null && ranges.length > 0 ? Math.max(0, ranges.end(ranges.length - 1) - video.currentTime) : 0
      const quality = typeof video.getVideoPlaybackQuality === 'function' ? video.getVideoPlaybackQuality() : null
      const state: PlayerStats['state'] = destroyed
        ? 'destroyed'
        : failed ? 'failed'
          : mediaSource.readyState === 'ended' ? 'ended'
            : metadata === null ? 'waiting-metadata'
              : next === null ? 'waiting-keyframe' : 'playing'
      return {
        ...counters,
        state,
        bufferedSeconds,
        latency,
        arrivalLatency: destroyed ? null : lows.value(performance.now()),
        playbackRate: video.playbackRate,
        startIndex,
        nextIndex: next,
        queuedBlocks: queue.size,
        droppedFrames: quality?.droppedVideoFrames ?? 0
      }
    },

    on: emitter.on,
    off: emitter.off
  }
}
