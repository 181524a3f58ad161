import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_METADATA_BYTES, METADATA_FLAG_ENDED, METADATA_VERSION, METADATA_VERSION_FLAGS } from '../src/media/constants.js'
import { MetadataError } from '../src/media/errors.js'
import { decodeMetadata, encodeMetadata, type StreamMetadata } from '../src/media/metadata.js'

const FIXTURE = new Uint8Array(readFileSync(fileURLToPath(new URL('./fixtures/recorder-vp8.webm', import.meta.url))))
const META: StreamMetadata = {
  mimeType: 'video/webm;codecs="vp8,opus"',
  init: FIXTURE.slice(0, 189),
  keyIntervalMs: 1000,
  timesliceMs: 250
}

function metadataError (fn: () => unknown): MetadataError {
  try {
    fn()
  } catch (err) {
    if (err instanceof MetadataError) return err
    throw err
  }
  throw new Error('expected a MetadataError')
}

describe('stream metadata', () => {
  it('round-trips', () => {
    const bytes = encodeMetadata(META)
    expect(bytes[0]).toBe(METADATA_VERSION)
    expect(bytes.length).toBe(12 + META.mimeType.length + META.init.length)
    expect(decodeMetadata(bytes)).toEqual(META)
  })

  it('round-trips any valid field values', () => {
    fc.assert(fc.property(
      fc.stringMatching(/^[\x20-\x7e]{1,255}$/),
      fc.uint8Array({ minLength: 1, maxLength: 7000 }),
      fc.integer({ min: 1, max: 0xffffffff }),
      fc.integer({ min: 1, max: 0xffffffff }),
      (mimeType, init, keyIntervalMs, timesliceMs) => {
        const meta = { mimeType, init, keyIntervalMs, timesliceMs }
        expect(decodeMetadata(encodeMetadata(meta))).toEqual(meta)
      }), { numRuns: 100 })
  })

  it('decodes from a subarray at any byte offset', () => {
    const bytes = encodeMetadata(META)
    const padded = new Uint8Array(bytes.length + 3)
    padded.set(bytes, 3)
    expect(decodeMetadata(padded.subarray(3))).toEqual(META)
  })

  it('every truncation and any trailing byte fails as malformed', () => {
    const bytes = encodeMetadata(META)
    for (let n = 1; n < bytes.length; n++) {
      expect(metadataError(() => decodeMetadata(bytes.subarray(0, n))).code).toBe('ERR_METADATA_MALFORMED')
    }
    expect(metadataError(() => decodeMetadata(new Uint8Array(0))).code).toBe('ERR_METADATA_MALFORMED')
    const longer = new Uint8Array(bytes.length + 1)
    longer.set(bytes)
    expect(metadataError(() => decodeMetadata(longer)).code).toBe('ERR_METADATA_MALFORMED')
  })

  it('unknown version fails with ERR_METADATA_VERSION', () => {
    const bytes = encodeMetadata(META)
    for (const v of [0, METADATA_VERSION_FLAGS + 1, 255]) {
      bytes[0] = v
      expect(metadataError(() => decodeMetadata(bytes)).code).toBe('ERR_METADATA_VERSION')
    }
  })

  it('ended metadata is version 2 with a flags byte, and round-trips', () => {
    const ended = encodeMetadata({ ...META, ended: true })
    expect(ended[0]).toBe(METADATA_VERSION_FLAGS)
    expect(ended.length).toBe(encodeMetadata(META).length + 1)
    expect(ended[ended.length - 1]).toBe(METADATA_FLAG_ENDED)
    expect(decodeMetadata(ended)).toEqual({ ...META, ended: true })
    // Not ended: version 1, readable by version-1 decoders, no `ended` key.
    const live = encodeMetadata({ ...META, ended: false })
    expect(live[0]).toBe(METADATA_VERSION)
    expect(decodeMetadata(live)).toEqual(META)
  })

  it('version 2: unknown flag bits, a missing flags byte or a trailing byte fail as malformed', () => {
    const ended = encodeMetadata({ ...META, ended: true })
    const unknown = ended.slice()
    unknown[unknown.length - 1] = 0x03
    expect(metadataError(() => decodeMetadata(unknown)).code).toBe('ERR_METADATA_MALFORMED')
    expect(metadataError(() => decodeMetadata(ended.subarray(0, ended.length - 1))).code).toBe('ERR_METADATA_MALFORMED')
    const longer = new Uint8Array(ended.length + 1)
    longer.set(ended)
    expect(metadataError(() => decodeMetadata(longer)).code).toBe('ERR_METADATA_MALFORMED')
    // Version 2 with flags 0 is valid (another encoder may write it).
    const zero = ended.slice()
    zero[zero.length - 1] = 0
    expect(decodeMetadata(zero)).toEqual({ ...META, ended: false })
  })

  it('more than MAX_METADATA_BYTES fails with ERR_METADATA_TOO_LARGE, both ways', () => {
    const init = new Uint8Array(MAX_METADATA_BYTES)
    expect(metadataError(() => encodeMetadata({ ...META, init })).code).toBe('ERR_METADATA_TOO_LARGE')
    expect(metadataError(() => decodeMetadata(new Uint8Array(MAX_METADATA_BYTES + 1).fill(1))).code).toBe('ERR_METADATA_TOO_LARGE')
    // The largest init that fits encodes to exactly the limit.
    const fits = MAX_METADATA_BYTES - 12 - META.mimeType.length
    expect(encodeMetadata({ ...META, init: new Uint8Array(fits) }).length).toBe(MAX_METADATA_BYTES)
  })

  it('bad fields: non-printable mime type, zero intervals, empty init', () => {
    const bytes = encodeMetadata(META)
    const ctl = bytes.slice()
    ctl[2] = 0x0a
    expect(metadataError(() => decodeMetadata(ctl)).code).toBe('ERR_METADATA_MALFORMED')
    const zero = bytes.slice()
    zero.fill(0, zero.length - 4)
    expect(metadataError(() => decodeMetadata(zero)).code).toBe('ERR_METADATA_MALFORMED')
    expect(() => encodeMetadata({ ...META, mimeType: '' })).toThrow(TypeError)
    expect(() => encodeMetadata({ ...META, mimeType: 'é' })).toThrow(TypeError)
    expect(() => encodeMetadata({ ...META, mimeType: 'x'.repeat(256) })).toThrow(RangeError)
    expect(() => encodeMetadata({ ...META, init: new Uint8Array(0) })).toThrow(TypeError)
    expect(() => encodeMetadata({ ...META, keyIntervalMs: 0 })).toThrow(RangeError)
    expect(() => encodeMetadata({ ...META, timesliceMs: 2.5 })).toThrow(TypeError)
    expect(() => encodeMetadata({ ...META, timesliceMs: 2 ** 32 })).toThrow(RangeError)
  })

  it('random bytes decode or fail only with MetadataError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        const m = decodeMetadata(bytes)
        expect(encodeMetadata(m)).toEqual(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(MetadataError)
      }
    }), { numRuns: 500 })
  })
})
