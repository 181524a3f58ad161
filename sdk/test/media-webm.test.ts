import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BLOCK_FLAG_CLUSTER_START, BLOCK_FLAG_KEYFRAME, MAX_INIT_SEGMENT_BYTES } from '../src/media/constants.js'
import { ID, readElementHeader } from '../src/media/ebml.js'
import { WebmError } from '../src/media/errors.js'
import { WebmCutter, mimeTypeOf, type WebmBlock, type WebmInit } from '../src/media/webm.js'

const FIXTURE = new Uint8Array(readFileSync(fileURLToPath(new URL('./fixtures/recorder-vp8.webm', import.meta.url))))
const FIXTURE_INFO = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/recorder-vp8.json', import.meta.url)), 'utf8')) as {
  chunkLengths: number[], keyIntervalMs: number
}
const CLUSTER_ID = [0x1f, 0x43, 0xb6, 0x75]

interface Cut { init: WebmInit | null, blocks: WebmBlock[], heldAfterPush: number[] }

/** Runs `bytes` through a cutter in chunks of the given lengths (the rest as one last chunk). */
function cut (bytes: Uint8Array, lengths: number[]): Cut {
  const cutter = new WebmCutter()
  const res: Cut = { init: null, blocks: [], heldAfterPush: [] }
  let yielded = 0
  const take = (outs: ReturnType<WebmCutter['push']>): void => {
    for (const o of outs) {
      if (o.type === 'init') {
        expect(res.init).toBe(null)
        expect(res.blocks).toHaveLength(0)
        res.init = o.init
        yielded += o.init.bytes.length
      } else {
        res.blocks.push(o.block)
        yielded += o.block.data.length
      }
    }
  }
  let off = 0
  for (const n of lengths) {
    take(cutter.push(bytes.subarray(off, off + n)))
    off += n
    res.heldAfterPush.push(off - yielded)
  }
  if (off < bytes.length) take(cutter.push(bytes.subarray(off)))
  take(cutter.end())
  return res
}

const realChunks = (): number[] => FIXTURE_INFO.chunkLengths
const ones = (n: number): number[] => new Array<number>(n).fill(1)

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

/** Merges each non-cluster-start block into the block before it: one entry per Cluster. */
function clusters (blocks: WebmBlock[]): Array<{ offset: number, flags: number, length: number }> {
  const out: Array<{ offset: number, flags: number, length: number }> = []
  for (const b of blocks) {
    const last = out[out.length - 1]
    if ((b.flags & BLOCK_FLAG_CLUSTER_START) === 0 && last !== undefined) last.length += b.data.length
    else out.push({ offset: b.offset, flags: b.flags, length: b.data.length })
  }
  return out
}

/** Byte equality; vitest's deep equality is slow on 100 KiB arrays. */
function same (a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
}

function indexesOf (hay: Uint8Array, needle: number[]): number[] {
  const found: number[] = []
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer
    found.push(i)
  }
  return found
}

/** The Cluster Timestamp (ms) of a cluster-start block: the Timestamp element after the header. */
function clusterTimestamp (block: Uint8Array): number {
  const h = readElementHeader(block, 0)
  if (h === null || h.id !== ID.Cluster) throw new Error('not a cluster start')
  const t = readElementHeader(block, h.headerLength)
  if (t === null || t.id !== ID.Timestamp) throw new Error('no Timestamp first in Cluster')
  let v = 0
  for (const b of block.subarray(h.headerLength + t.headerLength, h.headerLength + t.headerLength + t.size)) v = v * 256 + b
  return v
}

function webmError (fn: () => unknown): WebmError {
  try {
    fn()
  } catch (err) {
    if (err instanceof WebmError) return err
    throw err
  }
  throw new Error('expected a WebmError')
}

// A tiny EBML writer for synthetic streams.
function vsize (n: number): number[] {
  if (n < 0x7f) return [0x80 | n]
  if (n < 0x3fff) return [0x40 | (n >> 8), n & 0xff]
  return [0x10 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]
}
function idBytes (id: number): number[] {
  const out: number[] = []
  for (let v = id; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff)
  return out
}
const UNKNOWN = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
function el (id: number, body: number[] | Uint8Array): number[] {
  return [...idBytes(id), ...vsize(body.length), ...body]
}
const str = (s: string): number[] => [...s].map((c) => c.charCodeAt(0))
function header (docType = 'webm'): number[] {
  return el(ID.EBML, [...el(0x4286, [1]), ...el(ID.DocType, str(docType))])
}
function tracks (entries: Array<{ n: number, type: number, codec: string }>): number[] {
  return el(ID.Tracks, entries.flatMap((e) => el(ID.TrackEntry, [
    ...el(ID.TrackNumber, [e.n]), ...el(ID.TrackType, [e.type]), ...el(ID.CodecID, str(e.codec))
  ])))
}
const AV_TRACKS = tracks([{ n: 1, type: 2, codec: 'A_OPUS' }, { n: 2, type: 1, codec: 'V_VP8' }])
function simpleBlock (track: number, key: boolean, payload = 20): number[] {
  return el(ID.SimpleBlock, [0x80 | track, 0, 0, key ? 0x80 : 0, ...new Array<number>(payload).fill(0x55)])
}
function cluster (ts: number, body: number[], known = false): number[] {
  const inner = [...el(ID.Timestamp, [ts]), ...body]
  return known ? el(ID.Cluster, inner) : [...idBytes(ID.Cluster), ...UNKNOWN, ...inner]
}
function stream (...parts: number[][]): Uint8Array {
  return Uint8Array.from([...header(), ...idBytes(ID.Segment), ...UNKNOWN, ...AV_TRACKS, ...parts.flat()])
}

describe('WebM cutter on a real MediaRecorder recording', () => {
  const real = cut(FIXTURE, realChunks())

  it('yields the init segment once: the bytes before the first Cluster, with its tracks', () => {
    const init = real.init as WebmInit
    const firstCluster = indexesOf(FIXTURE, CLUSTER_ID)[0] as number
    expect(init.bytes).toEqual(FIXTURE.subarray(0, firstCluster))
    expect(init.bytes.length).toBe(189)
    expect([...init.bytes.subarray(0, 4)]).toEqual([0x1a, 0x45, 0xdf, 0xa3])
    expect(init.codecs).toBe('vp8,opus')
    expect(mimeTypeOf(init)).toBe('video/webm;codecs="vp8,opus"')
    expect(init.timestampScale).toBe(1_000_000)
    const video = init.tracks.find((t) => t.type === 'video')
    const audio = init.tracks.find((t) => t.type === 'audio')
    expect(video).toMatchObject({ codecId: 'V_VP8', width: 640, height: 480 })
    expect(audio).toMatchObject({ codecId: 'A_OPUS', sampleRate: 48000, channels: 1 })
    expect(init.keyTrack).toBe(video?.number)
  })

  it('init segment and blocks concatenate to the original bytes', () => {
    const init = real.init as WebmInit
    expect(same(concat([init.bytes, ...real.blocks.map((b) => b.data)]), FIXTURE)).toBe(true)
    let off = init.bytes.length
    for (const b of real.blocks) {
      expect(b.offset).toBe(off)
      expect(b.data.length).toBeGreaterThan(0)
      off += b.data.length
    }
  })

  it('every Cluster begins a block flagged cluster-start, and no other block is', () => {
    const starts = indexesOf(FIXTURE, CLUSTER_ID)
    expect(starts.length).toBeGreaterThan(10)
    const flagged = real.blocks.filter((b) => (b.flags & BLOCK_FLAG_CLUSTER_START) !== 0)
    expect(flagged.map((b) => b.offset)).toEqual(starts)
    for (const b of flagged) expect([...b.data.subarray(0, 4)]).toEqual(CLUSTER_ID)
    for (const b of real.blocks) {
      if ((b.flags & BLOCK_FLAG_KEYFRAME) !== 0) expect(b.flags & BLOCK_FLAG_CLUSTER_START).toBe(BLOCK_FLAG_CLUSTER_START)
    }
  })

  it('flags keyframe Clusters, starting with the first, about every keyIntervalMs', () => {
    const keys = real.blocks.filter((b) => (b.flags & BLOCK_FLAG_KEYFRAME) !== 0)
    expect(real.blocks[0]?.flags).toBe(BLOCK_FLAG_CLUSTER_START | BLOCK_FLAG_KEYFRAME)
    expect(keys.length).toBeGreaterThanOrEqual(3)
    const times = keys.map((b) => clusterTimestamp(b.data))
    for (let i = 1; i < times.length; i++) {
      const gap = (times[i] as number) - (times[i - 1] as number)
      expect(gap).toBeGreaterThan(FIXTURE_INFO.keyIntervalMs * 0.8)
      expect(gap).toBeLessThan(FIXTURE_INFO.keyIntervalMs * 1.3)
    }
    // Clusters between keyframes exist and are not flagged as keyframes.
    expect(real.blocks.filter((b) => b.flags === BLOCK_FLAG_CLUSTER_START).length).toBeGreaterThan(keys.length)
  })

  it('the keyframe flag matches the first video SimpleBlock of each Cluster', () => {
    const init = real.init as WebmInit
    const starts = real.blocks.filter((b) => (b.flags & BLOCK_FLAG_CLUSTER_START) !== 0)
    for (const b of starts) {
      // Walk the Cluster's children in the original bytes up to its first video block.
      const h = readElementHeader(FIXTURE, b.offset) as NonNullable<ReturnType<typeof readElementHeader>>
      let p = b.offset + h.headerLength
      let key: boolean | null = null
      while (key === null) {
        const c = readElementHeader(FIXTURE, p) as NonNullable<ReturnType<typeof readElementHeader>>
        if (c.id === ID.SimpleBlock && ((FIXTURE[p + c.headerLength] as number) & 0x7f) === init.keyTrack) {
          key = ((FIXTURE[p + c.headerLength + 3] as number) & 0x80) !== 0
        }
        p += c.headerLength + c.size
      }
      expect((b.flags & BLOCK_FLAG_KEYFRAME) !== 0).toBe(key)
    }
  })

  it('yields each recorder chunk at once, holding back at most a split element header', () => {
    // Measured: every chunk boundary falls one byte inside an element; only that byte waits.
    const held = real.heldAfterPush.slice(1)
    for (const n of held) expect(n).toBeLessThanOrEqual(12)
  })

  it('cuts the same Clusters whatever the chunking', () => {
    const reference = clusters(real.blocks)
    const whole = cut(FIXTURE, [FIXTURE.length])
    expect(clusters(whole.blocks)).toEqual(reference)
    // One chunk: one block per Cluster.
    expect(whole.blocks.length).toBe(reference.length)
    const bytewise = cut(FIXTURE, ones(FIXTURE.length))
    expect(clusters(bytewise.blocks)).toEqual(reference)
    expect(bytewise.init?.bytes).toEqual(real.init?.bytes)
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 20_000 }), { maxLength: 60 }), (lengths) => {
      const c = cut(FIXTURE, lengths)
      expect(clusters(c.blocks)).toEqual(reference)
      expect(same(concat([(c.init as WebmInit).bytes, ...c.blocks.map((b) => b.data)]), FIXTURE)).toBe(true)
    }), { numRuns: 40 })
  })

  it('holds a Cluster start only until its first video block header is visible', () => {
    const init = real.init as WebmInit
    const bytewise = cut(FIXTURE, ones(FIXTURE.length))
    const starts = bytewise.blocks.filter((b) => (b.flags & BLOCK_FLAG_CLUSTER_START) !== 0)
    expect(starts.length).toBe(indexesOf(FIXTURE, CLUSTER_ID).length)
    for (const b of starts) {
      // Fed byte by byte, the block ends right after the video block's track, timecode, flags.
      const tail = b.data.subarray(b.data.length - 4)
      expect((tail[0] as number) & 0x7f).toBe(init.keyTrack)
      expect(((tail[3] as number) & 0x80) !== 0).toBe((b.flags & BLOCK_FLAG_KEYFRAME) !== 0)
      expect(b.data.length).toBeLessThan(4096)
    }
  })
})

describe('WebM cutter on synthetic streams', () => {
  it('resolves keyframes in BlockGroups by the absence of a ReferenceBlock', () => {
    const group = (ref: boolean): number[] => el(ID.BlockGroup, [
      ...el(ID.Block, [0x82, 0, 0, 0, 1, 2, 3]), ...(ref ? el(ID.ReferenceBlock, [0xfe]) : [])
    ])
    const bytes = stream(cluster(0, [...simpleBlock(1, true), ...group(false)]), cluster(100, group(true)))
    const res = cut(bytes, ones(bytes.length))
    const starts = res.blocks.filter((b) => (b.flags & BLOCK_FLAG_CLUSTER_START) !== 0).map((b) => b.flags)
    expect(starts).toEqual([BLOCK_FLAG_CLUSTER_START | BLOCK_FLAG_KEYFRAME, BLOCK_FLAG_CLUSTER_START])
  })

  it('releases a Cluster without video when the next Cluster begins, without the keyframe flag', () => {
    const bytes = stream(cluster(0, simpleBlock(1, true)), cluster(100, [...simpleBlock(1, true), ...simpleBlock(2, true)]))
    const res = cut(bytes, [bytes.length])
    expect(res.blocks.map((b) => b.flags)).toEqual([BLOCK_FLAG_CLUSTER_START, BLOCK_FLAG_CLUSTER_START | BLOCK_FLAG_KEYFRAME])
  })

  it('accepts known-size Clusters and a known-size Segment', () => {
    const inner = [...AV_TRACKS, ...cluster(0, simpleBlock(2, true), true), ...cluster(9, simpleBlock(2, false), true)]
    const bytes = Uint8Array.from([...header(), ...el(ID.Segment, inner)])
    const res = cut(bytes, ones(bytes.length))
    expect(clusters(res.blocks).map((c) => c.flags)).toEqual([BLOCK_FLAG_CLUSTER_START | BLOCK_FLAG_KEYFRAME, BLOCK_FLAG_CLUSTER_START])
    expect(concat([(res.init as WebmInit).bytes, ...res.blocks.map((b) => b.data)])).toEqual(bytes)
  })

  it('uses the first track as key track when there is no video (audio-only streams)', () => {
    const bytes = Uint8Array.from([...header(), ...idBytes(ID.Segment), ...UNKNOWN,
      ...tracks([{ n: 1, type: 2, codec: 'A_OPUS' }]), ...cluster(0, simpleBlock(1, true))])
    const res = cut(bytes, [bytes.length])
    expect(res.init?.codecs).toBe('opus')
    expect(mimeTypeOf(res.init as WebmInit)).toBe('audio/webm;codecs="opus"')
    expect(res.blocks[0]?.flags).toBe(BLOCK_FLAG_CLUSTER_START | BLOCK_FLAG_KEYFRAME)
  })
})

describe('WebM cutter errors', () => {
  it('truncated stream fails with ERR_WEBM_TRUNCATED at end()', () => {
    for (const keep of [FIXTURE.length - 10, 100, 1, 195]) {
      const c = new WebmCutter()
      c.push(FIXTURE.subarray(0, keep))
      expect(webmError(() => c.end()).code).toBe('ERR_WEBM_TRUNCATED')
    }
  })

  it('non-WebM input fails with a typed error', () => {
    expect(webmError(() => new WebmCutter().push(new TextEncoder().encode('hello, world'))).code).toBe('ERR_WEBM_NOT_WEBM')
    expect(webmError(() => new WebmCutter().push(Uint8Array.of(0, 1, 2))).code).toBe('ERR_WEBM_BAD_VINT')
    const mkv = Uint8Array.from([...header('matroska'), ...idBytes(ID.Segment), ...UNKNOWN, ...AV_TRACKS, ...cluster(0, [])])
    expect(webmError(() => new WebmCutter().push(mkv)).code).toBe('ERR_WEBM_NOT_WEBM')
  })

  it('garbage inside a Cluster fails with ERR_WEBM_UNEXPECTED_ELEMENT', () => {
    const bad = FIXTURE.slice()
    const second = indexesOf(FIXTURE, CLUSTER_ID)[1] as number
    bad.set([0x42, 0x42, 0x42], second + 12) // where the Cluster's Timestamp element begins
    const c = new WebmCutter()
    expect(webmError(() => c.push(bad)).code).toBe('ERR_WEBM_UNEXPECTED_ELEMENT')
    // The cutter stays failed with the same error.
    expect(webmError(() => c.push(Uint8Array.of(1))).code).toBe('ERR_WEBM_UNEXPECTED_ELEMENT')
  })

  it('an element overflowing its parent fails with ERR_WEBM_ELEMENT_OVERFLOW', () => {
    const inner = [...AV_TRACKS, ...cluster(0, simpleBlock(2, true), true)]
    // The Segment claims 3 bytes fewer than its last Cluster needs.
    const bytes = Uint8Array.from([...header(), ...el(ID.Segment, inner.slice(0, inner.length - 3)), ...inner.slice(-3)])
    expect(webmError(() => new WebmCutter().push(bytes)).code).toBe('ERR_WEBM_ELEMENT_OVERFLOW')
  })

  it('unknown size on a non-container fails with ERR_WEBM_BAD_SIZE', () => {
    const bytes = stream(cluster(0, [...idBytes(ID.SimpleBlock), ...UNKNOWN, 0x82, 0, 0, 0x80]))
    expect(webmError(() => new WebmCutter().push(bytes)).code).toBe('ERR_WEBM_BAD_SIZE')
  })

  it('no Cluster within MAX_INIT_SEGMENT_BYTES fails with ERR_WEBM_INIT_TOO_LARGE', () => {
    const bytes = Uint8Array.from([...header(), ...idBytes(ID.Segment), ...UNKNOWN, ...AV_TRACKS,
      ...el(ID.Void, new Array<number>(MAX_INIT_SEGMENT_BYTES).fill(0))])
    expect(webmError(() => new WebmCutter().push(bytes)).code).toBe('ERR_WEBM_INIT_TOO_LARGE')
    // Also when the bytes come one by one and never form a Cluster.
    const c = new WebmCutter()
    const ebml = Uint8Array.from([...header(), ...idBytes(ID.Segment), ...UNKNOWN])
    c.push(ebml)
    expect(webmError(() => { for (let i = 0; i < MAX_INIT_SEGMENT_BYTES; i++) c.push(Uint8Array.of(0xec, 0x80)) }).code)
      .toBe('ERR_WEBM_INIT_TOO_LARGE')
  })

  it('a Segment without tracks fails with ERR_WEBM_BAD_TRACKS', () => {
    const bytes = Uint8Array.from([...header(), ...idBytes(ID.Segment), ...UNKNOWN, ...cluster(0, [])])
    expect(webmError(() => new WebmCutter().push(bytes)).code).toBe('ERR_WEBM_BAD_TRACKS')
  })

  it('push() or end() after end() fails with ERR_WEBM_ENDED', () => {
    const c = new WebmCutter()
    c.push(FIXTURE)
    c.end()
    expect(webmError(() => c.push(Uint8Array.of(1))).code).toBe('ERR_WEBM_ENDED')
    expect(webmError(() => c.end()).code).toBe('ERR_WEBM_ENDED')
  })

  it('corrupted or random input throws only WebmError, never crashes', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ at: fc.nat(FIXTURE.length - 1), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 5000 }),
      (edits, chunk) => {
        const bad = FIXTURE.slice(0, 30_000)
        for (const e of edits) if (e.at < bad.length) bad[e.at] = e.value
        const c = new WebmCutter()
        try {
          for (let o = 0; o < bad.length; o += chunk) c.push(bad.subarray(o, o + chunk))
          c.end()
        } catch (err) {
          expect(err).toBeInstanceOf(WebmError)
        }
      }), { numRuns: 200 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      const c = new WebmCutter()
      try {
        c.push(bytes)
        c.end()
      } catch (err) {
        expect(err).toBeInstanceOf(WebmError)
        return
      }
      throw new Error('random bytes were accepted')
    }), { numRuns: 300 })
  })
})
