import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  HASH_SIZE, MAX_BLOCK_SIZE, MAX_FRAME_SIZE, MAX_HAVE_SPAN, MAX_INDEX, MAX_METADATA_SIZE, MAX_PIECE_TREE_DEPTH,
  NONCE_SIZE, STRIPES, MAX_PROOF_NODES, PIECE_SIZE, SIGNATURE_SIZE
} from '../src/constants.js'
import { Writer } from '../src/encoding.js'
import { MunroError } from '../src/errors.js'
import { decodeMessage, encodeMessage, MAX_CAPACITY, type Message } from '../src/messages.js'
import { encodeFrame, FrameDecoder } from '../src/wire.js'

const TYPED = new Set(['ERR_DECODE', 'ERR_UNKNOWN_MESSAGE', 'ERR_FRAME_TOO_LARGE'])

/** Runs `fn`; anything it throws must be a MunroError with one of the decoder's codes. */
function onlyTypedErrors (fn: () => unknown): void {
  try { fn() } catch (err) {
    if (!(err instanceof MunroError) || !TYPED.has(err.code)) throw new Error(`decoder threw ${String(err)}`)
  }
}

function decodeError (bytes: Uint8Array): string {
  try { decodeMessage(bytes) } catch (err) {
    if (err instanceof MunroError) return err.code
    throw err
  }
  throw new Error('expected a decode error')
}

const hash = fc.uint8Array({ minLength: HASH_SIZE, maxLength: HASH_SIZE })
const index = fc.integer({ min: 0, max: MAX_INDEX })
const node = (maxIndex: number): fc.Arbitrary<{ index: number, hash: Uint8Array }> => fc.record({ index: fc.integer({ min: 0, max: maxIndex }), hash })
const head = fc.record({
  length: index,
  timestamp: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  signature: fc.uint8Array({ minLength: SIGNATURE_SIZE, maxLength: SIGNATURE_SIZE })
})

/** Every valid message, with fields anywhere in their allowed ranges. */
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    type: fc.constant('handshake' as const),
    protocol: fc.string({ maxLength: 8 }),
    version: fc.integer({ min: 0, max: 0xffff }),
    discoveryKey: hash,
    windowStart: index,
    length: index,
    source: fc.boolean(),
    nonce: fc.uint8Array({ minLength: NONCE_SIZE, maxLength: NONCE_SIZE })
  }),
  fc.record({ type: fc.constant('have' as const), start: index, count: fc.integer({ min: 1, max: MAX_HAVE_SPAN }), headLength: index, whole: fc.constant(true) }, { requiredKeys: ['type', 'start', 'count', 'headLength'] }),
  fc.record({ type: fc.constant('request' as const), index, fullProof: fc.boolean(), alone: fc.boolean() }),
  fc.record({ type: fc.constant('cancel' as const), index }),
  fc.record({
    type: fc.constant('data' as const),
    index,
    byteLength: fc.integer({ min: 1, max: MAX_BLOCK_SIZE }),
    flags: fc.integer({ min: 0, max: 255 }),
    pieceRoot: hash,
    head: fc.option(head, { nil: null }),
    nodes: fc.array(node(2 * MAX_INDEX), { maxLength: 8 })
  }),
  fc.record({
    type: fc.constant('piece' as const),
    index,
    piece: fc.integer({ min: 0, max: Math.ceil(MAX_BLOCK_SIZE / PIECE_SIZE) }),
    uncles: fc.array(node(2 ** 10), { maxLength: MAX_PIECE_TREE_DEPTH }),
    data: fc.uint8Array({ minLength: 1, maxLength: 64 })
  }),
  fc.record({ type: fc.constant('no-data' as const), index, reason: fc.constantFrom(1, 2), windowStart: index }),
  fc.record({ type: fc.constant('metadata' as const), seq: index, signature: fc.uint8Array({ minLength: 64, maxLength: 64 }), data: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ type: fc.constant('ping' as const), nonce: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ type: fc.constant('pong' as const), nonce: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ type: fc.constant('subscribe' as const), start: index, stripe: fc.integer({ min: 0, max: STRIPES - 1 }) }),
  fc.record({ type: fc.constant('unsubscribe' as const), stripe: fc.integer({ min: 0, max: STRIPES - 1 }) }),
  fc.record({ type: fc.constant('choke' as const), stripe: fc.integer({ min: 0, max: STRIPES - 1 }) }),
  fc.record({ type: fc.constant('probe' as const), data: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ type: fc.constant('capacity' as const), perStripe: fc.integer({ min: 0, max: MAX_CAPACITY }) }),
  fc.record({ type: fc.constant('source-proof' as const), signature: fc.uint8Array({ minLength: SIGNATURE_SIZE, maxLength: SIGNATURE_SIZE }) })
)

describe('message codecs', () => {
  it('encode → decode round-trips every valid message', () => {
    fc.assert(fc.property(message, (m) => {
      expect(decodeMessage(encodeMessage(m))).toEqual(m)
    }), { numRuns: 1000 })
  })

  it('every message type has its own type byte, in a stable order', () => {
    const ids = ['handshake', 'have', 'request', 'cancel', 'data', 'piece', 'no-data', 'metadata', 'ping', 'pong', 'subscribe', 'unsubscribe', 'choke', 'probe', 'capacity', 'source-proof']
    const samples: Message[] = [
      { type: 'handshake', protocol: 'munro', version: 1, discoveryKey: new Uint8Array(32), windowStart: 0, length: 0, source: false, nonce: new Uint8Array(NONCE_SIZE) },
      { type: 'have', start: 0, count: 1, headLength: 1 },
      { type: 'request', index: 0, fullProof: false, alone: false },
      { type: 'cancel', index: 0 },
      { type: 'data', index: 0, byteLength: 1, flags: 0, pieceRoot: new Uint8Array(32), head: null, nodes: [] },
      { type: 'piece', index: 0, piece: 0, uncles: [], data: new Uint8Array(1) },
      { type: 'no-data', index: 0, reason: 1, windowStart: 0 },
      { type: 'metadata', seq: 1, signature: new Uint8Array(64), data: new Uint8Array(0) },
      { type: 'ping', nonce: 1 },
      { type: 'pong', nonce: 1 },
      { type: 'subscribe', start: 0, stripe: 0 },
      { type: 'unsubscribe', stripe: 1 },
      { type: 'choke', stripe: STRIPES - 1 },
      { type: 'probe', data: new Uint8Array(3) },
      { type: 'capacity', perStripe: 0 },
      { type: 'source-proof', signature: new Uint8Array(SIGNATURE_SIZE) }
    ]
    samples.forEach((m, i) => {
      expect(m.type).toBe(ids[i])
      expect(encodeMessage(m)[0]).toBe(i)
    })
  })

  it('decoding arbitrary bytes never throws anything but ERR_DECODE / ERR_UNKNOWN_MESSAGE', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => { onlyTypedErrors(() => decodeMessage(bytes)) }), { numRuns: 5000 })
  })

  it('decoding a valid message with bytes mutated, cut or appended throws only typed errors', () => {
    const mutated = fc.tuple(message, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), fc.uint8Array({ maxLength: 4 }))
    fc.assert(fc.property(mutated, ([m, edits, cut, extra]) => {
      const bytes = encodeMessage(m).slice()
      for (const [at, v] of edits) bytes[at % bytes.length] = v
      onlyTypedErrors(() => decodeMessage(bytes.subarray(0, bytes.length - (cut % bytes.length))))
      onlyTypedErrors(() => decodeMessage(Uint8Array.of(...bytes, ...extra)))
    }), { numRuns: 2000 })
  })

  it('any strict prefix of a valid message is ERR_DECODE (truncated)', () => {
    fc.assert(fc.property(message, fc.nat(), (m, n) => {
      const bytes = encodeMessage(m)
      if (m.type === 'piece') return // a piece's data runs to the end of its frame: a prefix may be a shorter piece
      const len = 1 + (n % (bytes.length - 1))
      if (len === bytes.length) return
      // Before version 5 a handshake ends without its nonce, and before 4 without its flags byte
      // too: those prefixes are whole.
      if (m.type === 'handshake' && m.version < 5 && len === bytes.length - NONCE_SIZE) return
      if (m.type === 'handshake' && m.version < 4 && len === bytes.length - NONCE_SIZE - 1) return
      expect(decodeError(bytes.subarray(0, len))).toBe('ERR_DECODE')
    }), { numRuns: 1000 })
  })

  it('trailing bytes after a message are ERR_DECODE', () => {
    expect(decodeError(Uint8Array.of(...encodeMessage({ type: 'ping', nonce: 5 }), 0))).toBe('ERR_DECODE')
  })

  it('an empty input is ERR_DECODE and an unknown type byte is ERR_UNKNOWN_MESSAGE', () => {
    expect(decodeError(new Uint8Array(0))).toBe('ERR_DECODE')
    for (const t of [100, 127, 255]) expect(decodeError(Uint8Array.of(t, 0, 0))).toBe('ERR_UNKNOWN_MESSAGE')
  })

  describe('every field is bounds-checked', () => {
    const body = (type: number, fill: (w: Writer) => void): Uint8Array => { const w = new Writer(); w.byte(type); fill(w); return w.finish() }

    it('HAVE of zero blocks, or of more than MAX_HAVE_SPAN', () => {
      expect(decodeError(body(1, w => { w.uint(0).uint(0).uint(1) }))).toBe('ERR_DECODE')
      expect(decodeError(body(1, w => { w.uint(0).uint(MAX_HAVE_SPAN + 1).uint(1) }))).toBe('ERR_DECODE')
    })

    it('an index past MAX_INDEX', () => {
      expect(decodeError(body(3, w => { w.uint(MAX_INDEX + 1) }))).toBe('ERR_DECODE')
      expect(decodeMessage(body(3, w => { w.uint(MAX_INDEX) }))).toEqual({ type: 'cancel', index: MAX_INDEX })
    })

    it('a varint longer than 8 bytes', () => {
      expect(decodeError(Uint8Array.of(3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01))).toBe('ERR_DECODE')
    })

    it('HAVE flags beyond whole (1)', () => {
      const have = (flags: number): Uint8Array => body(1, w => { w.uint(0).uint(1).uint(1).byte(flags) })
      expect(decodeMessage(have(1))).toEqual({ type: 'have', start: 0, count: 1, headLength: 1, whole: true })
      expect(decodeMessage(have(0))).toEqual({ type: 'have', start: 0, count: 1, headLength: 1 })
      for (const flags of [2, 3, 0x80]) expect(decodeError(have(flags))).toBe('ERR_DECODE')
    })

    it('handshake flags beyond source (1)', () => {
      const handshake = (flags: number): Uint8Array => body(0, w => { w.string('munro').uint(4).fixed(new Uint8Array(32)).uint(0).uint(0).byte(flags) })
      expect(decodeMessage(handshake(1))).toMatchObject({ type: 'handshake', source: true })
      expect(decodeMessage(handshake(0))).toMatchObject({ type: 'handshake', source: false })
      for (const flags of [2, 3, 0x80]) expect(decodeError(handshake(flags))).toBe('ERR_DECODE')
    })

    it('a version-5 handshake without its nonce, or with a short one', () => {
      const handshake = (nonce: Uint8Array): Uint8Array => body(0, w => { w.string('munro').uint(5).fixed(new Uint8Array(32)).uint(0).uint(0).byte(1).fixed(nonce) })
      expect(decodeMessage(handshake(new Uint8Array(NONCE_SIZE).fill(9)))).toMatchObject({ type: 'handshake', source: true, nonce: new Uint8Array(NONCE_SIZE).fill(9) })
      expect(decodeError(handshake(new Uint8Array(0)))).toBe('ERR_DECODE')
      expect(decodeError(handshake(new Uint8Array(NONCE_SIZE - 1)))).toBe('ERR_DECODE')
    })

    it('SOURCE_PROOF with a short or long signature', () => {
      expect(decodeError(body(15, w => { w.fixed(new Uint8Array(SIGNATURE_SIZE - 1)) }))).toBe('ERR_DECODE')
      expect(decodeError(body(15, w => { w.fixed(new Uint8Array(SIGNATURE_SIZE + 1)) }))).toBe('ERR_DECODE')
    })

    it('REQUEST flags beyond fullProof (1) and alone (2)', () => {
      expect(decodeError(body(2, w => { w.uint(0).byte(4) }))).toBe('ERR_DECODE')
      expect(decodeMessage(body(2, w => { w.uint(0).byte(3) }))).toEqual({ type: 'request', index: 0, fullProof: true, alone: true })
    })

    it('DATA of an empty or oversized block, a bad head flag, too many proof nodes', () => {
      const data = (byteLength: number, headFlag: number, nodes: number): Uint8Array => body(4, (w) => {
        w.uint(0).uint(byteLength).byte(0).fixed(new Uint8Array(32)).byte(headFlag)
        w.uint(nodes)
        for (let i = 0; i < nodes; i++) w.uint(i).fixed(new Uint8Array(32))
      })
      expect(decodeMessage(data(1, 0, MAX_PROOF_NODES)).type).toBe('data')
      expect(decodeError(data(0, 0, 0))).toBe('ERR_DECODE')
      expect(decodeError(data(MAX_BLOCK_SIZE + 1, 0, 0))).toBe('ERR_DECODE')
      expect(decodeError(data(1, 2, 0))).toBe('ERR_DECODE')
      expect(decodeError(data(1, 0, MAX_PROOF_NODES + 1))).toBe('ERR_DECODE')
    })

    it('PIECE with no data, more than PIECE_SIZE bytes, too many uncles, or a piece number past the largest block', () => {
      const piece = (p: number, uncles: number, size: number): Uint8Array => body(5, (w) => {
        w.uint(0).uint(p).uint(uncles)
        for (let i = 0; i < uncles; i++) w.uint(i).fixed(new Uint8Array(32))
        w.fixed(new Uint8Array(size))
      })
      expect(decodeMessage(piece(0, MAX_PIECE_TREE_DEPTH, PIECE_SIZE)).type).toBe('piece')
      expect(decodeError(piece(0, 0, 0))).toBe('ERR_DECODE')
      expect(decodeError(piece(0, 0, PIECE_SIZE + 1))).toBe('ERR_DECODE')
      expect(decodeError(piece(0, MAX_PIECE_TREE_DEPTH + 1, 1))).toBe('ERR_DECODE')
      expect(decodeError(piece(Math.ceil(MAX_BLOCK_SIZE / PIECE_SIZE) + 1, 0, 1))).toBe('ERR_DECODE')
    })

    it('NO_DATA with an unknown reason', () => {
      expect(decodeError(body(6, w => { w.uint(0).uint(4).uint(0) }))).toBe('ERR_DECODE')
    })

    it('METADATA over MAX_METADATA_SIZE, a short signature', () => {
      expect(decodeError(body(7, w => { w.uint(1).fixed(new Uint8Array(64)).bytes(new Uint8Array(MAX_METADATA_SIZE + 1)) }))).toBe('ERR_DECODE')
      expect(decodeError(body(7, w => { w.uint(1).fixed(new Uint8Array(63)) }))).toBe('ERR_DECODE')
    })

    it('CAPACITY over MAX_CAPACITY subscribers per stripe', () => {
      expect(decodeMessage(body(14, w => { w.uint(MAX_CAPACITY) }))).toEqual({ type: 'capacity', perStripe: MAX_CAPACITY })
      expect(decodeError(body(14, w => { w.uint(MAX_CAPACITY + 1) }))).toBe('ERR_DECODE')
    })

    it('a handshake whose protocol name is not UTF-8 or longer than 32 bytes', () => {
      expect(decodeError(body(0, w => { w.bytes(Uint8Array.of(0xff, 0xfe)).uint(1).fixed(new Uint8Array(32)).uint(0).uint(0) }))).toBe('ERR_DECODE')
      expect(decodeError(body(0, w => { w.string('m'.repeat(33)).uint(1).fixed(new Uint8Array(32)).uint(0).uint(0) }))).toBe('ERR_DECODE')
    })
  })
})

describe('wire framing', () => {
  it('the largest PIECE and DATA the protocol produces fit one 16 KiB frame', () => {
    const uncles = Array.from({ length: MAX_PIECE_TREE_DEPTH }, (_, i) => ({ index: 2 ** 10 - i, hash: new Uint8Array(32) }))
    const piece = encodeFrame({ type: 'piece', index: MAX_INDEX, piece: Math.ceil(MAX_BLOCK_SIZE / PIECE_SIZE), uncles, data: new Uint8Array(PIECE_SIZE) })
    expect(piece.length).toBeLessThanOrEqual(MAX_FRAME_SIZE)
    const nodes = Array.from({ length: MAX_PROOF_NODES }, () => ({ index: 2 * MAX_INDEX, hash: new Uint8Array(32) }))
    const data = encodeFrame({
      type: 'data', index: MAX_INDEX, byteLength: MAX_BLOCK_SIZE, flags: 255, pieceRoot: new Uint8Array(32),
      head: { length: MAX_INDEX, timestamp: Number.MAX_SAFE_INTEGER, signature: new Uint8Array(64) }, nodes
    })
    expect(data.length).toBeLessThanOrEqual(MAX_FRAME_SIZE)
    const meta = encodeFrame({ type: 'metadata', seq: MAX_INDEX, signature: new Uint8Array(64), data: new Uint8Array(MAX_METADATA_SIZE) })
    expect(meta.length).toBeLessThanOrEqual(MAX_FRAME_SIZE)
  })

  it('encodeFrame refuses a message that would not fit with ERR_FRAME_TOO_LARGE', () => {
    const err = (() => { try { encodeFrame({ type: 'metadata', seq: 1, signature: new Uint8Array(64), data: new Uint8Array(MAX_FRAME_SIZE) }) } catch (e) { return e } })()
    expect(err).toBeInstanceOf(MunroError)
    expect((err as MunroError).code).toBe('ERR_FRAME_TOO_LARGE')
  })

  it('frames split and merged arbitrarily (as TCP delivers them) decode to the same messages', () => {
    fc.assert(fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }), (messages, cuts) => {
      const frames = messages.map(encodeFrame)
      const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0))
      let pos = 0
      for (const f of frames) { all.set(f, pos); pos += f.length }
      const decoder = new FrameDecoder()
      const out: Message[] = []
      let at = 0
      for (let i = 0; at < all.length; i++) {
        const n = cuts[i % cuts.length] as number
        for (const body of decoder.push(all.subarray(at, at + n))) out.push(decodeMessage(body))
        at += n
      }
      expect(out).toEqual(messages)
    }), { numRuns: 300 })
  })

  it('FrameDecoder on arbitrary bytes, in arbitrary chunks, throws only typed errors', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
      const decoder = new FrameDecoder()
      onlyTypedErrors(() => { for (const c of chunks) for (const body of decoder.push(c)) decodeMessage(body) })
    }), { numRuns: 3000 })
  })

  it('an empty frame is ERR_DECODE; a length prefix over 16 KiB is ERR_FRAME_TOO_LARGE before the body arrives', () => {
    const code = (bytes: Uint8Array): string => { try { new FrameDecoder().push(bytes) } catch (e) { return (e as MunroError).code } return 'none' }
    expect(code(Uint8Array.of(0))).toBe('ERR_DECODE')
    expect(code(Uint8Array.of(0x80, 0x80, 0x01))).toBe('ERR_FRAME_TOO_LARGE')
    expect(code(Uint8Array.of(0xfd, 0x7f))).toBe('none') // 16,381 + 2 = 16,383 bytes: allowed, waits for the body
    expect(code(Uint8Array.of(0xfe, 0x7f))).toBe('none') // exactly 16 KiB with its prefix
    expect(code(Uint8Array.of(0xff, 0x7f))).toBe('ERR_FRAME_TOO_LARGE')
  })
})
