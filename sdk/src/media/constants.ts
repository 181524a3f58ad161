/**
 * Constants of the media layer, each with the reason for its value.
 * @module
 */

/**
 * Block flag: the block begins a WebM Cluster (its byte 0 is the Cluster ID `1F 43 B6 75`).
 * The core stores and authenticates the flags byte with each block.
 */
export const BLOCK_FLAG_CLUSTER_START = 1
/**
 * Block flag: the block begins a Cluster whose first video frame is a keyframe. Only such a block
 * can follow the init segment in a fresh MediaSource (measured: anything else fails with
 * `CHUNK_DEMUXER_ERROR_APPEND_FAILED` or plays audio only), so a late viewer starts here.
 * Always set together with {@link BLOCK_FLAG_CLUSTER_START}.
 */
export const BLOCK_FLAG_KEYFRAME = 2

/**
 * Largest init segment (EBML header … Tracks) the cutter accepts. MediaRecorder's is ~190 bytes
 * (measured); the bound stops a garbage stream from being buffered forever while the cutter
 * waits for the first Cluster, and the init segment must fit in the signed metadata
 * ({@link MAX_METADATA_BYTES}).
 */
export const MAX_INIT_SEGMENT_BYTES = 7 * 1024

/**
 * Largest encoded stream metadata. The core signs it and replicates it in one message; 8 KiB
 * stays well under the 16 KiB data-channel message size that is portable across browsers.
 */
export const MAX_METADATA_BYTES = 8 * 1024

/** Version byte of the metadata encoding in `metadata.ts` (the original, flag-less layout). */
export const METADATA_VERSION = 1
/**
 * Version byte of the metadata encoding with a trailing flags byte (`METADATA_FLAG_*`). The
 * encoder writes it only when a flag is set, so a running broadcast stays readable by version-1
 * decoders until it ends.
 */
export const METADATA_VERSION_FLAGS = 2
/** Metadata flag: the broadcaster stopped; no block will follow the current length. */
export const METADATA_FLAG_ENDED = 1

/**
 * Recorder MIME types in order of preference. VP8 first: the cheapest to encode on a small
 * machine and supported by every MediaSource; H.264 is missing on purpose (Chromium records it
 * as `video/x-matroska`, which MediaSource rejects).
 */
export const PREFERRED_MIME_TYPES: readonly string[] = Object.freeze([
  'video/webm;codecs="vp8,opus"',
  'video/webm;codecs="vp9,opus"'
])

/** Video-only variants, used when the stream has no audio track. */
export const PREFERRED_VIDEO_ONLY_MIME_TYPES: readonly string[] = Object.freeze([
  'video/webm;codecs="vp8"',
  'video/webm;codecs="vp9"'
])
