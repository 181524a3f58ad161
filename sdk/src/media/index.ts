export { createRecorder, pickMimeType } from './recorder.js'
export type { Recorder, RecorderOptions, RecorderStats, MimeTypeChoice } from './recorder.js'
export { createPlayer, DEFAULT_PLAYER_OPTIONS } from './player.js'
export type { Player, PlayerOptions, PlayerStats, PlayerEvents } from './player.js'
export { encodeMetadata, decodeMetadata } from './metadata.js'
export type { StreamMetadata } from './metadata.js'
export { WebmCutter, mimeTypeOf, parseInit } from './webm.js'
export type { WebmCut, WebmInit, WebmBlock, WebmTrack } from './webm.js'
export { WebmError, MetadataError, MediaLayerError } from './errors.js'
export type { WebmErrorCode, MetadataErrorCode, MediaLayerErrorCode } from './errors.js'
export {
  BLOCK_FLAG_CLUSTER_START, BLOCK_FLAG_KEYFRAME, METADATA_FLAG_ENDED, METADATA_VERSION, METADATA_VERSION_FLAGS,
  MAX_METADATA_BYTES, MAX_INIT_SEGMENT_BYTES, PREFERRED_MIME_TYPES, PREFERRED_VIDEO_ONLY_MIME_TYPES
} from './constants.js'
