/**
 * Typed errors of the media layer. Every error carries a stable `code` (also at the start of its
 * message) that callers and tests switch on; messages are for humans and may change.
 * @module
 */

/** Codes of {@link WebmError}. */
export type WebmErrorCode =
  /** The bytes do not start with an EBML header, or its DocType is not `webm`. */
  | 'ERR_WEBM_NOT_WEBM'
  /** A variable-length integer (element ID or size) is malformed. */
  | 'ERR_WEBM_BAD_VINT'
  /** An element has an unknown size where only a known size is allowed, or a size out of range. */
  | 'ERR_WEBM_BAD_SIZE'
  /** An element ID that may not appear where it does (e.g. garbage inside a Cluster). */
  | 'ERR_WEBM_UNEXPECTED_ELEMENT'
  /** A child element extends past the end of its parent. */
  | 'ERR_WEBM_ELEMENT_OVERFLOW'
  /** The init segment (EBML header … Tracks) exceeds `MAX_INIT_SEGMENT_BYTES`. */
  | 'ERR_WEBM_INIT_TOO_LARGE'
  /** The Tracks element is missing or malformed. */
  | 'ERR_WEBM_BAD_TRACKS'
  /** A (Simple)Block header is malformed. */
  | 'ERR_WEBM_BAD_BLOCK'
  /** The stream ended inside an element. */
  | 'ERR_WEBM_TRUNCATED'
  /** `push()`/`end()` after `end()`. */
  | 'ERR_WEBM_ENDED'

/** A WebM byte stream could not be parsed. The cutter that threw stays failed. */
export class WebmError extends Error {
  /** Stable error code. */
  readonly code: WebmErrorCode
  /** Absolute byte offset in the stream where the problem was found, when known. */
  readonly offset: number | undefined

  constructor (code: WebmErrorCode, message: string, offset?: number) {
    super(`${code}: ${message}${offset === undefined ? '' : ` (at byte ${offset})`}`)
    this.name = 'WebmError'
    this.code = code
    this.offset = offset
  }
}

/** Codes of {@link MetadataError}. */
export type MetadataErrorCode =
  /** The encoded metadata is larger than `MAX_METADATA_BYTES`. */
  | 'ERR_METADATA_TOO_LARGE'
  /** The metadata's version is not one this code understands. */
  | 'ERR_METADATA_VERSION'
  /** The encoding is cut short, has trailing bytes, or a field is out of range. */
  | 'ERR_METADATA_MALFORMED'

/** Stream metadata could not be encoded or decoded. */
export class MetadataError extends Error {
  /** Stable error code. */
  readonly code: MetadataErrorCode

  constructor (code: MetadataErrorCode, message: string) {
    super(`${code}: ${message}`)
    this.name = 'MetadataError'
    this.code = code
  }
}

/** Codes of {@link MediaLayerError} (capture and playback, browser only). */
export type MediaLayerErrorCode =
  /** `getUserMedia`/`getDisplayMedia` failed or was refused (the cause says why). */
  | 'ERR_MEDIA_CAPTURE'
  /** No recorder MIME type is supported by both MediaRecorder and MediaSource. */
  | 'ERR_MEDIA_UNSUPPORTED'
  /** The MediaRecorder reported an error. */
  | 'ERR_MEDIA_RECORDER'
  /** MediaSource or the SourceBuffer failed (append failed, decode error, …). */
  | 'ERR_MEDIA_SOURCE'
  /** The `<video>` element reported a media error. */
  | 'ERR_MEDIA_ELEMENT'
  /** The SourceBuffer stayed full even after evicting everything behind the playhead. */
  | 'ERR_MEDIA_QUOTA'
  /** A call came in the wrong order (e.g. `push()` before `setMetadata()`), or after `destroy()`. */
  | 'ERR_MEDIA_STATE'

/** Capture or playback failed. */
export class MediaLayerError extends Error {
  /** Stable error code. */
  readonly code: MediaLayerErrorCode

  constructor (code: MediaLayerErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options)
    this.name = 'MediaLayerError'
    this.code = code
  }
}
