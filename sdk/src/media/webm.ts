/**
 * The WebM cutter: turns MediaRecorder's byte stream into an init segment and appendable blocks.
 * Pure: no DOM, so it runs (and is tested) in Node.
 *
 * DEV DOCS
 *
 * MediaRecorder's chunks are not blocks: every chunk boundary falls inside a WebM element (the
 * first chunk can be one byte). A late viewer's MediaSource only accepts the init segment
 * followed by a Cluster that starts with a video keyframe. So the cutter
 *
 * - buffers everything before the first Cluster and yields it once as the init segment
 *   (EBML header, Segment header, Info, Tracks — ~190 bytes from MediaRecorder), with the tracks
 *   it describes;
 * - then yields blocks: byte ranges of the stream that, appended in order after the init
 *   segment, reproduce it exactly. Every Cluster begins a new block (`BLOCK_FLAG_CLUSTER_START`;
 *   block byte 0 is the Cluster ID), and that block also gets `BLOCK_FLAG_KEYFRAME` when the
 *   Cluster's first frame of the key track (the first video track, else the first track) is a
 *   keyframe. To know that, the Cluster's first block is held back only until that frame's
 *   block header is visible (a few bytes after the audio frames that precede it), never until
 *   the Cluster completes. All other bytes are yielded as soon as they arrive, as further
 *   (non-cluster-start) blocks — except the few bytes of an element header split by a chunk
 *   boundary, which wait for the rest of the header so a Cluster ID is never split.
 *
 * The parser walks the element tree with a stack of open containers (Segment, Cluster,
 * BlockGroup), skipping element bodies without buffering them. Unknown-size Segments and
 * Clusters (MediaRecorder writes both) end where an element that cannot be their child begins.
 * Anything that is not WebM, or is garbage inside it, throws a {@link WebmError} with a stable
 * code; after that the cutter stays failed.
 * @module
 */

import { BLOCK_FLAG_CLUSTER_START, BLOCK_FLAG_KEYFRAME, MAX_INIT_SEGMENT_BYTES } from './constants.js'
import {
  BLOCK_GROUP_CHILDREN, CLUSTER_CHILDREN, ID, SEGMENT_CHILDREN, children, readElementHeader,
  readFloat, readString, readUint, readVintValue
} from './ebml.js'
import { WebmError } from './errors.js'

/**
 * Longest a Cluster's first block is held while waiting for the key track's first frame. A
 * Cluster without any video frame (an audio-only stretch) would otherwise be held to its end;
 * past this many bytes the block is released without the keyframe flag.
 */
export const MAX_CLUSTER_HOLD_BYTES = 256 * 1024

/** Largest EBML header accepted (it holds only a few short fields; MediaRecorder's is 36 bytes). */
const MAX_EBML_HEADER_BYTES = 4096

/** Keyframe bit of a SimpleBlock's flags byte (Matroska §10.2). */
const SIMPLE_BLOCK_KEYFRAME = 0x80

/** A track described by the init segment. */
export interface WebmTrack {
  /** TrackNumber, as referenced by blocks. */
  number: number
  /** From TrackType: 1 video, 2 audio, anything else `other`. */
  type: 'video' | 'audio' | 'other'
  /** Matroska CodecID, e.g. `V_VP8`, `A_OPUS`. */
  codecId: string
  /** The codec as written in a MIME `codecs` parameter, e.g. `vp8`, `opus`. */
  codec: string
  /** Video only: PixelWidth. */
  width?: number
  /** Video only: PixelHeight. */
  height?: number
  /** Audio only: SamplingFrequency in Hz. */
  sampleRate?: number
  /** Audio only: Channels. */
  channels?: number
}

/** The init segment: everything before the first Cluster, and what it says. */
export interface WebmInit {
  /** The bytes to append first to a fresh SourceBuffer. */
  bytes: Uint8Array
  /** Tracks, in the order of the Tracks element. */
  tracks: WebmTrack[]
  /** The `codecs` MIME parameter value, e.g. `vp8,opus` (video first). */
  codecs: string
  /** Info › TimestampScale in nanoseconds per tick (default 1,000,000: milliseconds). */
  timestampScale: number
  /** Number of the track whose first frame decides a Cluster's keyframe flag. */
  keyTrack: number
}

/** A byte range of the stream to append after the init segment, with its block flags. */
export interface WebmBlock {
  /** The bytes (a copy: the cutter keeps no reference). */
  data: Uint8Array
  /** `BLOCK_FLAG_CLUSTER_START` and/or `BLOCK_FLAG_KEYFRAME`, or 0. */
  flags: number
  /** Absolute offset of `data[0]` in the recorder's stream. */
  offset: number
}

/** One output of {@link WebmCutter.push}: the init segment (once, first), or a block. */
export type WebmCut =
  | { type: 'init', init: WebmInit }
  | { type: 'block', block: WebmBlock }

interface Container {
  id: number
  /** Absolute end offset; for an unknown-size element, its parent's end. */
  end: number
  unknownSize: boolean
  /** BlockGroup only: whether its Block belongs to the key track (null: Block not seen yet). */
  keyTrackBlock: boolean | null
  /** BlockGroup only: whether it has a ReferenceBlock (then its frame is not a keyframe). */
  hasReference: boolean
}

interface PendingBlockHeader {
  /** Absolute end of the (Simple)Block element. */
  end: number
  /** The BlockGroup containing this Block, or null for a SimpleBlock. */
  group: Container | null
}

const CODECS: Readonly<Record<string, string>> = Object.freeze({
  V_VP8: 'vp8',
  V_VP9: 'vp9',
  V_AV1: 'av01',
  A_OPUS: 'opus',
  A_VORBIS: 'vorbis'
})

/**
 * Incremental WebM cutter. Feed it the recorder's chunks with {@link WebmCutter.push} as they
 * arrive and call {@link WebmCutter.end} when the recorder stops.
 * @example
 * const cutter = new WebmCutter()
 * recorder.ondataavailable = async (e) => {
 *   for (const out of cutter.push(new Uint8Array(await e.data.arrayBuffer()))) {
 *     if (out.type === 'init') publishInit(out.init)
 *     else appendBlock(out.block.data, out.block.flags)
 *   }
 * }
 */
export class WebmCutter {
  /** Bytes received but not yet yielded; `buf[0]` is at absolute offset `bufStart`. */
  private buf: Uint8Array = new Uint8Array(0)
  private bufStart = 0
  /** Absolute offset of the next byte to parse. */
  private pos = 0
  /** While `pos < skipTo` an element body is being skipped. */
  private skipTo = 0
  private readonly stack: Container[] = []
  private pendingBlock: PendingBlockHeader | null = null
  private seenEbmlHeader = false
  private ebmlHeaderEnd = 0
  private init: WebmInit | null = null
  /** Flags of the block that starts at `bufStart`. */
  private flags = 0
  /** Whether the current Cluster's first block is held, waiting for its key-track frame. */
  private holding = false
  private ended = false
  private failed: WebmError | null = null
  private out: WebmCut[] = []

  /** Total bytes pushed so far. */
  get bytesReceived (): number {
    return this.bufStart + this.buf.length
  }

  /** The init segment, once the first Cluster has begun; null before. */
  get initSegment (): WebmInit | null {
    return this.init
  }

  /**
   * Feeds recorder bytes (any chunking, even single bytes). Returns what became available: the
   * init segment once (before any block), then blocks in stream order.
   * @throws {WebmError} when the stream is not WebM or is malformed; the cutter stays failed.
   */
  push (chunk: Uint8Array): WebmCut[] {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('chunk must be a Uint8Array')
    this.check()
    if (chunk.length === 0) return []
    try {
      this.append(chunk)
      this.parse()
      this.release()
    } catch (err) {
      throw this.fail(err)
    }
    return this.take()
  }

  /**
   * Ends the stream: yields the last held bytes.
   * @throws {WebmError} `ERR_WEBM_TRUNCATED` when the stream stops inside an element or before
   *   the first Cluster.
   */
  end (): WebmCut[] {
    this.check()
    this.ended = true
    try {
      const received = this.bytesReceived
      if (this.init === null) throw new WebmError('ERR_WEBM_TRUNCATED', 'stream ended before the first Cluster', received)
      if (this.pos < this.skipTo || this.pendingBlock !== null || received > this.pos) {
        throw new WebmError('ERR_WEBM_TRUNCATED', 'stream ended inside an element', received)
      }
      for (const c of this.stack) {
        if (!c.unknownSize && c.end > this.pos) {
          throw new WebmError('ERR_WEBM_TRUNCATED', `stream ended inside element 0x${c.id.toString(16)}`, received)
        }
      }
      while (this.stack.length > 0) this.close(this.stack.pop() as Container)
      this.release()
    } catch (err) {
      throw this.fail(err)
    }
    return this.take()
  }

  private check (): void {
    if (this.failed !== null) throw this.failed
    if (this.ended) throw new WebmError('ERR_WEBM_ENDED', 'the stream has ended')
  }

  private fail (err: unknown): unknown {
    if (err instanceof WebmError) this.failed = err
    return err
  }

  private take (): WebmCut[] {
    const out = this.out
    this.out = []
    return out
  }

  private append (chunk: Uint8Array): void {
    if (this.buf.length === 0) {
      this.buf = chunk.slice()
      return
    }
    const next = new Uint8Array(this.buf.length + chunk.length)
    next.set(this.buf, 0)
    next.set(chunk, this.buf.length)
    this.buf = next
  }

  private parse (): void {
    const received = this.bytesReceived
    for (;;) {
      if (this.pos < this.skipTo) {
        this.pos = Math.min(this.skipTo, received)
        if (this.pos < this.skipTo) return
      }
      this.closeFinished()
      if (this.pendingBlock !== null) {
        if (!this.readBlockHeader(this.pendingBlock)) return
        continue
      }
      const h = readElementHeader(this.buf, this.pos - this.bufStart, this.bufStart)
      if (h === null) {
        if (this.init === null && received > MAX_INIT_SEGMENT_BYTES) this.tooLarge()
        return
      }
      this.element(h.id, h.size, this.pos, h.headerLength)
    }
  }

  /** Pops the known-end containers that `pos` has reached. */
  private closeFinished (): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1]
      if (top === undefined || top.end > this.pos) return
      this.stack.pop()
      this.close(top)
    }
  }

  private close (c: Container): void {
    if (c.id === ID.BlockGroup) {
      if (c.keyTrackBlock === true) this.resolveKeyframe(!c.hasReference)
    } else if (c.id === ID.Cluster) {
      this.resolveKeyframe(false)
    }
  }

  private element (id: number, size: number, start: number, headerLength: number): void {
    let parent = this.stack[this.stack.length - 1]
    // An unknown-size Cluster ends where an element that cannot be its child begins.
    if (parent !== undefined && parent.id === ID.Cluster && parent.unknownSize && !CLUSTER_CHILDREN.has(id)) {
      if (!SEGMENT_CHILDREN.has(id)) this.unexpected(id, start)
      this.stack.pop()
      this.close(parent)
      parent = this.stack[this.stack.length - 1]
    }
    const bodyStart = start + headerLength
    const unknownSize = size < 0
    const end = unknownSize ? (parent?.end ?? Infinity) : bodyStart + size
    if (parent !== undefined && end > parent.end) {
      throw new WebmError('ERR_WEBM_ELEMENT_OVERFLOW', `element 0x${id.toString(16)} overflows its parent`, start)
    }
    if (unknownSize && id !== ID.Segment && id !== ID.Cluster) {
      throw new WebmError('ERR_WEBM_BAD_SIZE', `unknown size on element 0x${id.toString(16)}`, start)
    }

    if (parent === undefined) {
      if (!this.seenEbmlHeader) {
        if (id !== ID.EBML || start !== 0) throw new WebmError('ERR_WEBM_NOT_WEBM', 'no EBML header', start)
        if (size > MAX_EBML_HEADER_BYTES) throw new WebmError('ERR_WEBM_BAD_SIZE', 'EBML header too large', start)
        this.seenEbmlHeader = true
        this.ebmlHeaderEnd = end
        this.skip(end)
        return
      }
      if (id !== ID.Segment || this.init !== null) this.unexpected(id, start)
      this.checkDocType()
      this.open(id, end, unknownSize, bodyStart)
      return
    }

    if (parent.id === ID.Segment) {
      if (!SEGMENT_CHILDREN.has(id)) this.unexpected(id, start)
      // Before the first Cluster every byte is buffered: refuse elements that would not fit.
      if (this.init === null && id !== ID.Cluster && end > MAX_INIT_SEGMENT_BYTES) this.tooLarge()
      if (id === ID.Cluster) {
        this.clusterStart(start)
        this.open(id, end, unknownSize, bodyStart)
      } else {
        this.skip(end)
      }
      return
    }

    if (parent.id === ID.Cluster) {
      if (!CLUSTER_CHILDREN.has(id)) this.unexpected(id, start)
      if (this.holding && id === ID.SimpleBlock) {
        this.pos = bodyStart
        this.pendingBlock = { end, group: null }
      } else if (this.holding && id === ID.BlockGroup) {
        this.open(id, end, false, bodyStart)
      } else {
        this.skip(end)
      }
      return
    }

    // parent is a BlockGroup
    if (!BLOCK_GROUP_CHILDREN.has(id)) this.unexpected(id, start)
    if (id === ID.Block && parent.keyTrackBlock === null) {
      this.pos = bodyStart
      this.pendingBlock = { end, group: parent }
      return
    }
    if (id === ID.ReferenceBlock) parent.hasReference = true
    this.skip(end)
  }

  private open (id: number, end: number, unknownSize: boolean, bodyStart: number): void {
    this.stack.push({ id, end, unknownSize, keyTrackBlock: null, hasReference: false })
    this.pos = bodyStart
  }

  private skip (end: number): void {
    this.skipTo = end
    this.pos = Math.min(end, this.bytesReceived)
  }

  private unexpected (id: number, at: number): never {
    throw new WebmError('ERR_WEBM_UNEXPECTED_ELEMENT', `unexpected element 0x${id.toString(16)}`, at)
  }

  private tooLarge (): never {
    throw new WebmError('ERR_WEBM_INIT_TOO_LARGE', `no Cluster within the first ${MAX_INIT_SEGMENT_BYTES} bytes`)
  }

  /**
   * Reads a (Simple)Block's header — track number VINT, 16-bit timecode, flags byte — at `pos`.
   * Returns false when more bytes are needed.
   */
  private readBlockHeader (pending: PendingBlockHeader): boolean {
    const at = this.pos - this.bufStart
    const track = readVintValue(this.buf, at, this.bufStart)
    if (track === null || at + track.length + 3 > this.buf.length) return false
    if (this.pos + track.length + 3 > pending.end) {
      throw new WebmError('ERR_WEBM_BAD_BLOCK', 'block shorter than its header', this.pos)
    }
    const flags = this.buf[at + track.length + 2] as number
    const isKeyTrack = track.value === this.init?.keyTrack
    if (pending.group !== null) {
      pending.group.keyTrackBlock = isKeyTrack
    } else if (isKeyTrack) {
      this.resolveKeyframe((flags & SIMPLE_BLOCK_KEYFRAME) !== 0)
    }
    this.pendingBlock = null
    this.skip(pending.end)
    return true
  }

  /** Settles the held Cluster-start block's keyframe flag (no-op when nothing is held). */
  private resolveKeyframe (keyframe: boolean): void {
    if (!this.holding) return
    this.holding = false
    if (keyframe) this.flags |= BLOCK_FLAG_KEYFRAME
  }

  private clusterStart (start: number): void {
    if (this.init === null) {
      if (start > MAX_INIT_SEGMENT_BYTES) this.tooLarge()
      const bytes = this.buf.slice(0, start - this.bufStart)
      this.init = parseInit(bytes, this.ebmlHeaderEnd)
      this.out.push({ type: 'init', init: this.init })
      this.dropTo(start)
    } else {
      this.emit(start)
    }
    this.flags = BLOCK_FLAG_CLUSTER_START
    this.holding = true
  }

  /** Yields what may go out now: everything parsed, unless a Cluster start is held. */
  private release (): void {
    if (this.init === null) return
    if (this.holding && this.pos - this.bufStart > MAX_CLUSTER_HOLD_BYTES) this.resolveKeyframe(false)
    if (this.holding) return
    this.emit(this.pos)
  }

  /** Yields bytes `[bufStart, end)` as one block with the current flags. */
  private emit (end: number): void {
    if (end <= this.bufStart) return
    this.out.push({
      type: 'block',
      block: { data: this.buf.slice(0, end - this.bufStart), flags: this.flags, offset: this.bufStart }
    })
    this.dropTo(end)
    this.flags = 0
  }

  private dropTo (end: number): void {
    this.buf = this.buf.subarray(end - this.bufStart)
    this.bufStart = end
  }

  private checkDocType (): void {
    const h = readElementHeader(this.buf, 0)
    if (h === null) throw new WebmError('ERR_WEBM_NOT_WEBM', 'no EBML header', 0)
    const body = this.buf.subarray(h.headerLength, this.ebmlHeaderEnd)
    let docType = ''
    for (const el of children(body, h.headerLength)) {
      if (el.id === ID.DocType) docType = readString(el.body)
    }
    if (docType !== 'webm') throw new WebmError('ERR_WEBM_NOT_WEBM', `DocType is "${docType}", not "webm"`, 0)
  }
}

/**
 * Parses an init segment's Info and Tracks. `bytes` is the EBML header, the Segment header and
 * the Segment's children up to (excluding) the first Cluster.
 * @throws {WebmError} `ERR_WEBM_BAD_TRACKS` when there is no usable track.
 */
export function parseInit (bytes: Uint8Array, ebmlHeaderEnd: number): WebmInit {
  const seg = readElementHeader(bytes, ebmlHeaderEnd)
  if (seg === null || seg.id !== ID.Segment) {
    throw new WebmError('ERR_WEBM_UNEXPECTED_ELEMENT', 'no Segment after the EBML header', ebmlHeaderEnd)
  }
  const bodyStart = ebmlHeaderEnd + seg.headerLength
  let timestampScale = 1_000_000
  const tracks: WebmTrack[] = []
  for (const el of children(bytes.subarray(bodyStart), bodyStart)) {
    if (el.id === ID.Info) {
      for (const f of children(el.body)) if (f.id === ID.TimestampScale) timestampScale = readUint(f.body)
    } else if (el.id === ID.Tracks) {
      for (const entry of children(el.body)) {
        if (entry.id === ID.TrackEntry) tracks.push(parseTrackEntry(entry.body))
      }
    }
  }
  if (tracks.length === 0) throw new WebmError('ERR_WEBM_BAD_TRACKS', 'no tracks before the first Cluster')
  const video = tracks.filter((t) => t.type === 'video')
  const audio = tracks.filter((t) => t.type === 'audio')
  const keyTrack = (video[0] ?? tracks[0] as WebmTrack).number
  const codecs = [...video, ...audio].map((t) => t.codec).join(',')
  return { bytes, tracks, codecs, timestampScale, keyTrack }
}

function parseTrackEntry (body: Uint8Array): WebmTrack {
  let number = 0
  let type = 0
  let codecId = ''
  const track: Partial<WebmTrack> = {}
  for (const f of children(body)) {
    if (f.id === ID.TrackNumber) number = readUint(f.body)
    else if (f.id === ID.TrackType) type = readUint(f.body)
    else if (f.id === ID.CodecID) codecId = readString(f.body)
    else if (f.id === ID.Video) {
      for (const v of children(f.body)) {
        if (v.id === ID.PixelWidth) track.width = readUint(v.body)
        else if (v.id === ID.PixelHeight) track.height = readUint(v.body)
      }
    } else if (f.id === ID.Audio) {
      for (const a of children(f.body)) {
        if (a.id === ID.SamplingFrequency) track.sampleRate = readFloat(a.body)
        else if (a.id === ID.Channels) track.channels = readUint(a.body)
      }
    }
  }
  if (number === 0 || codecId === '') throw new WebmError('ERR_WEBM_BAD_TRACKS', 'TrackEntry without TrackNumber or CodecID')
  return {
    ...track,
    number,
    type: type === 1 ? 'video' : type === 2 ? 'audio' : 'other',
    codecId,
    codec: CODECS[codecId] ?? codecId.replace(/^[VA]_/, '').toLowerCase()
  }
}

/**
 * The MIME type MediaSource needs for an init segment, e.g. `video/webm;codecs="vp8,opus"`
 * (`audio/webm` when there is no video track).
 * @example
 * mimeTypeOf(init) // 'video/webm;codecs="vp8,opus"'
 */
export function mimeTypeOf (init: Pick<WebmInit, 'tracks' | 'codecs'>): string {
  const kind = init.tracks.some((t) => t.type === 'video') ? 'video' : 'audio'
  return `${kind}/webm;codecs="${init.codecs}"`
}
