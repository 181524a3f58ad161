/**
 * Stream metadata: what a viewer needs before the first block — the MIME type for
 * `addSourceBuffer`, the init segment, and the recorder's timing. The core signs and replicates
 * these bytes without looking inside; this module is their only codec.
 *
 * Encoding, version 1 or 2 (all integers big-endian):
 *
 * | bytes | field |
 * |---|---|
 * | 1 | version: 1, or 2 when a flag is set |
 * | 1 | mime type length *m* (1–255) |
 * | *m* | mime type, printable ASCII, e.g. `video/webm;codecs="vp8,opus"` |
 * | 2 | init segment length *n* (1–`MAX_METADATA_BYTES`) |
 * | *n* | init segment (EBML header … Tracks) |
 * | 4 | key interval in ms (≥ 1) |
 * | 4 | timeslice in ms (≥ 1) |
 * | 1 | version 2 only: flags, bit 0 = ended (`METADATA_FLAG_ENDED`); other bits must be 0 |
 *
 * The encoder writes version 1 unless a flag is set, so version-1 decoders keep reading a live
 * stream; only the final "ended" metadata needs version 2. Nothing may follow; the whole encoding is at most `MAX_METADATA_BYTES` (8 KiB).
 * @module
 */

import { MAX_METADATA_BYTES, METADATA_FLAG_ENDED, METADATA_VERSION, METADATA_VERSION_FLAGS } from './constants.js'
import { MetadataError } from './errors.js'

/** Decoded stream metadata. */
export interface StreamMetadata {
  /** MIME type with codecs, as given to `MediaSource.addSourceBuffer`. */
  mimeType: string
  /** The init segment to append before any block. */
  init: Uint8Array
  /** Requested keyframe interval in milliseconds: a late viewer waits about this long at most. */
  keyIntervalMs: number
  /** The recorder's timeslice in milliseconds: blocks arrive about this often. */
  timesliceMs: number
  /**
   * True in the broadcaster's final metadata: the stream ended and no block follows. Absent
   * (not false) when decoded from version 1, so v1 round-trips are exact.
   */
  ended?: boolean
}

/** Fixed part of the encoding: version, mime length, init length, two u32s. */
const FIXED_BYTES = 1 + 1 + 2 + 4 + 4
const MAX_MIME_BYTES = 255
const MAX_U32 = 0xffffffff

function assertMs (name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer, got ${String(v)}`)
  if (v < 1 || v > MAX_U32) throw new RangeError(`${name} must be in 1..${MAX_U32}, got ${v}`)
}

function isPrintableAscii (s: string): boolean {
  return /^[\x20-\x7e]+$/.test(s)
}

/**
 * Encodes stream metadata.
 * @throws {TypeError|RangeError} on a bad field; {@link MetadataError} `ERR_METADATA_TOO_LARGE`
 *   when the result would exceed `MAX_METADATA_BYTES`.
 * @example
 * const bytes = encodeMetadata({ mimeType: 'video/webm;codecs="vp8,opus"', init, keyIntervalMs: 1000, timesliceMs: 250 })
 */
export function encodeMetadata (meta: StreamMetadata): Uint8Array {
  const { mimeType, init, keyIntervalMs, timesliceMs } = meta
  if (typeof mimeType !== 'string' || !isPrintableAscii(mimeType)) {
    throw new TypeError('mimeType must be a non-empty printable ASCII string')
  }
  if (mimeType.length > MAX_MIME_BYTES) throw new RangeError(`mimeType must be at most ${MAX_MIME_BYTES} bytes`)
  if (!(init instanceof Uint8Array) || init.length === 0) throw new TypeError('init must be a non-empty Uint8Array')
  assertMs('keyIntervalMs', keyIntervalMs)
  assertMs('timesliceMs', timesliceMs)
  if (meta.ended !== undefined && typeof meta.ended !== 'boolean') throw new TypeError('ended must be a boolean')
  const flags = meta.ended === true ? METADATA_FLAG_ENDED : 0
  const total = FIXED_BYTES + mimeType.length + init.length + (flags === 0 ? 0 : 1)
  if (total > MAX_METADATA_BYTES) {
    throw new MetadataError('ERR_METADATA_TOO_LARGE', `metadata of ${total} bytes exceeds ${MAX_METADATA_BYTES}`)
  }
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  let p = 0
  out[p++] = flags === 0 ? METADATA_VERSION : METADATA_VERSION_FLAGS
  out[p++] = mimeType.length
  for (let i = 0; i < mimeType.length; i++) out[p++] = mimeType.charCodeAt(i)
  view.setUint16(p, init.length)
  p += 2
  out.set(init, p)
  p += init.length
  view.setUint32(p, keyIntervalMs)
  view.setUint32(p + 4, timesliceMs)
  if (flags !== 0) out[p + 8] = flags
  return out
}

/**
 * Decodes stream metadata, checking every bound before reading.
 * @throws {MetadataError} `ERR_METADATA_TOO_LARGE`, `ERR_METADATA_VERSION` or
 *   `ERR_METADATA_MALFORMED`.
 * @example
 * const { mimeType, init } = decodeMetadata(receiver.metadata)
 */
export function decodeMetadata (bytes: Uint8Array): StreamMetadata {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array')
  if (bytes.length > MAX_METADATA_BYTES) {
    throw new MetadataError('ERR_METADATA_TOO_LARGE', `metadata of ${bytes.length} bytes exceeds ${MAX_METADATA_BYTES}`)
  }
  if (bytes.length < 1) throw malformed('empty')
  const version = bytes[0] as number
  if (version !== METADATA_VERSION && version !== METADATA_VERSION_FLAGS) {
    throw new MetadataError('ERR_METADATA_VERSION', `unknown metadata version ${version}`)
  }
  const flagBytes = version === METADATA_VERSION_FLAGS ? 1 : 0
  if (bytes.length < FIXED_BYTES + flagBytes) throw malformed('shorter than its fixed fields')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let p = 1
  const mimeLength = bytes[p++] as number
  if (mimeLength === 0) throw malformed('empty mime type')
  if (p + mimeLength + 2 > bytes.length) throw malformed('mime type overflows')
  const mimeType = String.fromCharCode(...bytes.subarray(p, p + mimeLength))
  if (!isPrintableAscii(mimeType)) throw malformed('mime type is not printable ASCII')
  p += mimeLength
  const initLength = view.getUint16(p)
  p += 2
  if (initLength === 0) throw malformed('empty init segment')
  if (p + initLength + 8 + flagBytes !== bytes.length) throw malformed('length does not match its fields')
  const init = bytes.slice(p, p + initLength)
  p += initLength
  const keyIntervalMs = view.getUint32(p)
  const timesliceMs = view.getUint32(p + 4)
  if (keyIntervalMs === 0 || timesliceMs === 0) throw malformed('zero interval')
  if (flagBytes === 0) return { mimeType, init, keyIntervalMs, timesliceMs }
  const flags = bytes[p + 8] as number
  if ((flags & ~METADATA_FLAG_ENDED) !== 0) throw malformed(`unknown flags 0x${flags.toString(16)}`)
  return { mimeType, init, keyIntervalMs, timesliceMs, ended: (flags & METADATA_FLAG_ENDED) !== 0 }
}

function malformed (why: string): MetadataError {
  return new MetadataError('ERR_METADATA_MALFORMED', why)
}
