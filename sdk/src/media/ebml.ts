/**
 * A minimal EBML reader: variable-length integers, element headers, and a few element IDs of
 * WebM. Pure: no DOM, works on `Uint8Array`s, so it runs in Node and in browsers.
 *
 * EBML in one paragraph (RFC 8794): an element is `ID | size | body`. The ID is a VINT of 1–4
 * bytes kept with its length-marker bits (so `1F 43 B6 75` is the Cluster ID `0x1F43B675`); the
 * size is a VINT of 1–8 bytes with the marker removed, and all value bits set means "unknown
 * size" (MediaRecorder writes the Segment and every Cluster that way because it streams). The
 * number of leading zero bits of the first byte, plus one, is the VINT's length.
 * @module
 */

import { WebmError } from './errors.js'

/** Element IDs used by the cutter (Matroska/WebM specification names). */
export const ID = Object.freeze({
  EBML: 0x1a45dfa3,
  DocType: 0x4282,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  ReferenceBlock: 0xfb,
  Cues: 0x1c53bb6b,
  Chapters: 0x1043a770,
  Tags: 0x1254c367,
  Attachments: 0x1941a469,
  Void: 0xec,
  CRC32: 0xbf
})

/** Children a Segment may have (Matroska §5.1). Anything else inside a Segment is garbage. */
export const SEGMENT_CHILDREN: ReadonlySet<number> = new Set([
  ID.SeekHead, ID.Info, ID.Tracks, ID.Cluster, ID.Cues, ID.Chapters, ID.Tags, ID.Attachments,
  ID.Void, ID.CRC32
])

/**
 * Children a Cluster may have: Timestamp, SilentTracks, Position, PrevSize, SimpleBlock,
 * BlockGroup, EncryptedBlock, Void, CRC-32.
 */
export const CLUSTER_CHILDREN: ReadonlySet<number> = new Set([
  ID.Timestamp, 0x5854, 0xa7, 0xab, ID.SimpleBlock, ID.BlockGroup, 0xaf, ID.Void, ID.CRC32
])

/**
 * Children a BlockGroup may have: Block, BlockVirtual, BlockAdditions, BlockDuration,
 * ReferencePriority, ReferenceBlock, ReferenceVirtual, CodecState, DiscardPadding, Slices,
 * ReferenceFrame, Void, CRC-32.
 */
export const BLOCK_GROUP_CHILDREN: ReadonlySet<number> = new Set([
  ID.Block, 0xa2, 0x75a1, 0x9b, 0xfa, ID.ReferenceBlock, 0xfd, 0xa4, 0x75a2, 0x8e, 0xc8,
  ID.Void, ID.CRC32
])

/** Largest element-ID VINT (RFC 8794 §5: EBMLMaxIDLength defaults to 4). */
export const MAX_ID_LENGTH = 4
/** Largest size VINT (RFC 8794: EBMLMaxSizeLength defaults to 8). */
export const MAX_SIZE_LENGTH = 8

/** An element header: ID, body size (`-1` when unknown), header length in bytes. */
export interface ElementHeader {
  /** Element ID, marker bits kept (e.g. `0x1F43B675`). */
  id: number
  /** Body size in bytes, or `-1` for the "unknown size" encoding. */
  size: number
  /** Bytes taken by ID and size together. */
  headerLength: number
}

/**
 * Length in bytes of the VINT starting with `first`, or 0 when `first` is 0 (longer than 8
 * bytes, which EBML forbids).
 */
export function vintLength (first: number): number {
  if (first === 0) return 0
  return Math.clz32(first) - 23
}

/**
 * Reads an element header at `pos` in `buf`. Returns `null` when `buf` ends before the header
 * does (feed more bytes and call again). `offset` is the absolute stream offset of `buf[0]`,
 * used only in error messages.
 * @throws {WebmError} `ERR_WEBM_BAD_VINT` for a malformed ID or size; `ERR_WEBM_BAD_SIZE` for a
 *   size beyond 2^53 − 1.
 * @example
 * readElementHeader(Uint8Array.of(0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 0)
 * // → { id: 0x1f43b675, size: -1, headerLength: 12 }
 */
export function readElementHeader (buf: Uint8Array, pos: number, offset = 0): ElementHeader | null {
  if (pos >= buf.length) return null
  const first = buf[pos] as number
  const idLength = vintLength(first)
  if (idLength === 0 || idLength > MAX_ID_LENGTH) {
    throw new WebmError('ERR_WEBM_BAD_VINT', `invalid element ID byte 0x${first.toString(16)}`, offset + pos)
  }
  if (pos + idLength >= buf.length) return null
  let id = 0
  for (let i = 0; i < idLength; i++) id = id * 256 + (buf[pos + i] as number)
  const sizeFirst = buf[pos + idLength] as number
  const sizeLength = vintLength(sizeFirst)
  if (sizeLength === 0) {
    throw new WebmError('ERR_WEBM_BAD_VINT', 'element size longer than 8 bytes', offset + pos + idLength)
  }
  if (pos + idLength + sizeLength > buf.length) return null
  // Value bits of the first byte: everything right of the length marker.
  let size = sizeFirst & (0xff >> sizeLength)
  let allOnes = size === 0xff >> sizeLength
  for (let i = 1; i < sizeLength; i++) {
    const b = buf[pos + idLength + i] as number
    if (b !== 0xff) allOnes = false
    size = size * 256 + b
  }
  if (allOnes) size = -1
  else if (size > Number.MAX_SAFE_INTEGER) {
    throw new WebmError('ERR_WEBM_BAD_SIZE', 'element size beyond 2^53', offset + pos + idLength)
  }
  return { id, size, headerLength: idLength + sizeLength }
}

/**
 * Reads a VINT value (marker removed) at `pos`, as used for the track number of a Block.
 * Returns `null` when `buf` ends first.
 * @throws {WebmError} `ERR_WEBM_BAD_VINT` when longer than 8 bytes.
 */
export function readVintValue (buf: Uint8Array, pos: number, offset = 0): { value: number, length: number } | null {
  if (pos >= buf.length) return null
  const first = buf[pos] as number
  const length = vintLength(first)
  if (length === 0) throw new WebmError('ERR_WEBM_BAD_VINT', 'VINT longer than 8 bytes', offset + pos)
  if (pos + length > buf.length) return null
  let value = first & (0xff >> length)
  for (let i = 1; i < length; i++) value = value * 256 + (buf[pos + i] as number)
  return { value, length }
}

/** Reads a big-endian unsigned integer element body (0–8 bytes). */
export function readUint (body: Uint8Array): number {
  if (body.length > 8) throw new WebmError('ERR_WEBM_BAD_SIZE', `unsigned integer of ${body.length} bytes`)
  let v = 0
  for (const b of body) v = v * 256 + b
  return v
}

/** Reads a float element body (0, 4 or 8 bytes, big-endian IEEE 754). */
export function readFloat (body: Uint8Array): number {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength)
  if (body.length === 0) return 0
  if (body.length === 4) return view.getFloat32(0)
  if (body.length === 8) return view.getFloat64(0)
  throw new WebmError('ERR_WEBM_BAD_SIZE', `float of ${body.length} bytes`)
}

/** Reads a string element body (ASCII/UTF-8, trailing NULs removed). */
export function readString (body: Uint8Array): string {
  let end = body.length
  while (end > 0 && body[end - 1] === 0) end--
  return new TextDecoder().decode(body.subarray(0, end))
}

/** A complete element inside a fully buffered parent, as yielded by {@link children}. */
export interface Element {
  /** Element ID. */
  id: number
  /** The element's body. */
  body: Uint8Array
  /** Offset of the element's first header byte within the buffer given to {@link children}. */
  start: number
}

/**
 * Iterates the child elements of a fully buffered, known-size body. For small elements only
 * (EBML header, Info, Tracks): the cutter itself never buffers Clusters.
 * @throws {WebmError} on a malformed header, an unknown size, or a child that overflows `body`.
 */
export function * children (body: Uint8Array, offset = 0): Generator<Element> {
  let pos = 0
  while (pos < body.length) {
    const h = readElementHeader(body, pos, offset)
    if (h === null) throw new WebmError('ERR_WEBM_ELEMENT_OVERFLOW', 'element header overflows its parent', offset + pos)
    if (h.size < 0) throw new WebmError('ERR_WEBM_BAD_SIZE', `unknown size on element 0x${h.id.toString(16)}`, offset + pos)
    const end = pos + h.headerLength + h.size
    if (end > body.length) throw new WebmError('ERR_WEBM_ELEMENT_OVERFLOW', `element 0x${h.id.toString(16)} overflows its parent`, offset + pos)
    yield { id: h.id, body: body.subarray(pos + h.headerLength, end), start: pos }
    pos = end
  }
}
