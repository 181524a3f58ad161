/**
 * The player's surface: {@link PlayerOptions} and their defaults, its events, its stats and the
 * {@link Player} interface. The implementation is player.ts.
 * @module
 */
import type { Emitter } from 'mitt'
import type { MediaLayerError } from './errors.js'
import type { StreamMetadata } from './metadata.js'

/** Options of {@link createPlayer}. */
export interface PlayerOptions {
  /**
   * Seconds of media the player aims to still have buffered ahead of the playhead when the next
   * block arrives: the low point of its distance to the newest buffered media. The average
   * distance is about this plus half a block's media (~0.14 s at timeslice 250); arrival jitter
   * beyond this margin slows playback rather than stalling it.
   * @default 0.12
   */
  targetLatency?: number
  /**
   * Seconds behind the live edge (the low point above) beyond which the player seeks instead of
   * speeding up.
   * @default 1
   */
  maxLatency?: number
  /**
   * Playback rate while catching up; 1.1 is hard to notice, even with audio.
   * @default 1.1
   */
  catchUpRate?: number
  /**
   * Slowest playback rate, used when the buffer ahead runs thinner than `targetLatency / 2` or
   * the player is ahead of its target.
   * @default 0.95
   */
  slowRate?: number
  /**
   * Seconds of already-played media kept in the SourceBuffer; older media is removed.
   * @default 5
   */
  keepBehind?: number
  /**
   * How long (ms) a missing block is awaited while later blocks are queued, before skipping to
   * the next keyframe block. 0 disables the timeout (only `skip()` ends a gap).
   * @default 2000
   */
  gapTimeoutMs?: number
  /**
   * Most blocks queued for appending; beyond it the lowest indexes are dropped. ~2.5 minutes
   * at 4 blocks/s.
   * @default 600
   */
  maxQueuedBlocks?: number
  /**
   * Period (ms) of the live-edge, eviction and gap checks.
   * @default 250
   */
  tickMs?: number
}

/** Defaults of {@link PlayerOptions}. */
export const DEFAULT_PLAYER_OPTIONS: Readonly<Required<PlayerOptions>> = Object.freeze({
  targetLatency: 0.12,
  maxLatency: 1,
  catchUpRate: 1.1,
  slowRate: 0.95,
  keepBehind: 5,
  gapTimeoutMs: 2000,
  maxQueuedBlocks: 600,
  tickMs: 250
})

/** Events of a {@link Player}; payloads are plain objects. */
export type PlayerEvents = {
  /** A media error. `fatal`: the player stopped and must be recreated. */
  error: { error: MediaLayerError, fatal: boolean }
  /** The first block (a keyframe block) was appended. */
  start: { index: number }
  /** A gap was skipped: `to` is the keyframe block appended next, or null while waiting for one. */
  skip: { from: number, to: number | null, reason: 'skip' | 'timeout' }
  /** The player moved the playhead. */
  seek: { from: number, to: number, reason: 'start' | 'gap' | 'behind' }
}

/** Live numbers of a {@link Player}. */
export interface PlayerStats {
  /** Where the player is. */
  state: 'waiting-metadata' | 'waiting-keyframe' | 'playing' | 'ended' | 'failed' | 'destroyed'
  /** Seconds of media in the buffer (all ranges). */
  bufferedSeconds: number
  /** Seconds between the playhead and the newest buffered media: the latency to the live edge. */
  latency: number
  /**
   * Smallest buffer ahead of the playhead (s) seen when the last few blocks were appended while
   * playing — what the live-edge control steers to `targetLatency` — or null without samples.
   */
  arrivalLatency: number | null
  /** Current `playbackRate`. */
  playbackRate: number
  /** Index of the first block appended, or null. */
  startIndex: number | null
  /** Index of the next block to append, or null while waiting for a keyframe. */
  nextIndex: number | null
  /** Blocks appended / their bytes. */
  appendedBlocks: number
  appendedBytes: number
  /** Blocks given to `push()` that were never appended (too old, duplicate, queue overflow). */
  droppedBlocks: number
  /** Indexes passed over by gap skips. */
  skippedBlocks: number
  /** Gap skips. */
  gaps: number
  /** Seeks made by the player (start, holes, far behind). */
  seeks: number
  /** Evictions forced by QuotaExceededError. */
  quotaEvictions: number
  /** Blocks waiting to be appended. */
  queuedBlocks: number
  /** Video frames the element dropped (`getVideoPlaybackQuality`). */
  droppedFrames: number
  /** Error events emitted. */
  errors: number
}

/** A MediaSource player; see {@link createPlayer}. */
export interface Player {
  /** Decodes and applies the stream metadata. Identical repeats are ignored. */
  setMetadata(bytes: Uint8Array): void
  /** Queues a verified block. */
  push(index: number, data: Uint8Array, flags: number): void
  /**
   * The log is known to hold `length` blocks (its signed head). Optional; when given before the
   * first block, the first frame waits (briefly) for the blocks known then, so a late viewer's
   * backlog is buffered before playback starts rather than caught up by a seek after it.
   */
  setLiveEdge(length: number): void
  /** Declares that block `index` will never come; a gap there is skipped at once. */
  skip(index: number): void
  /** The stream ended: signal end of stream once everything queued is appended. */
  end(): void
  /** Stops everything and detaches from the `<video>`. */
  destroy(): void
  /** Decoded metadata, once set. */
  readonly metadata: StreamMetadata | null
  /** Live numbers (recomputed on read). */
  readonly stats: Readonly<PlayerStats>
  /** Subscribes to an event. */
  on: Emitter<PlayerEvents>['on']
  /** Unsubscribes. */
  off: Emitter<PlayerEvents>['off']
}
