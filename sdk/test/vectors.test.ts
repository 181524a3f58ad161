import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { NAMESPACES } from '../src/caps.js'
import { decodeMessage, encodeMessage } from '../src/messages.js'
import { publicKeyOf, SignatureCache, verifyMetadata, verifySource } from '../src/verifier.js'
import { FrameDecoder } from '../src/wire.js'
import { computeVectors, hex, toJson, unhex, vectorBytes, VECTOR_SECRET_KEY } from './vectors/generate.js'

const load = (name: string): any => JSON.parse(readFileSync(fileURLToPath(new URL(`./vectors/${name}`, import.meta.url)), 'utf8')) // eslint-disable-line @typescript-eslint/no-explicit-any
const sha256 = (...parts: Uint8Array[]): string => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest('hex') }

describe('committed test vectors', () => {
  it('recomputing every vector file gives the committed JSON', () => {
    for (const [name, content] of Object.entries(computeVectors())) {
      expect(JSON.parse(JSON.stringify(content)), name).toEqual(load(name))
    }
  })

  it('namespace tags are SHA-256("munro/v1/" + purpose) (checked with node:crypto)', () => {
    const { namespaces } = load('caps.json')
    const purposes: Record<string, string> = {
      pieceLeaf: 'piece-leaf', pieceParent: 'piece-parent', piecePad: 'piece-pad', block: 'block', logParent: 'log-parent',
      roots: 'roots', head: 'head', metadata: 'metadata', discovery: 'discovery', source: 'source'
    }
    expect(Object.keys(namespaces).sort()).toEqual(Object.keys(purposes).sort())
    for (const [key, purpose] of Object.entries(purposes)) {
      expect(namespaces[key]).toBe(createHash('sha256').update(`munro/v1/${purpose}`).digest('hex'))
    }
    expect(new Set(Object.values(NAMESPACES).map(hex)).size).toBe(10)
  })

  it('a one-piece block: piece root = SHA-256(leaf tag ‖ data), block hash = SHA-256(block tag ‖ u32 length ‖ flags ‖ root)', () => {
    const { pieces } = load('merkle.json')
    for (const v of pieces.filter((p: { pieceCount: number }) => p.pieceCount === 1)) {
      const data = vectorBytes(v.length, v.seed)
      expect(v.pieceRoot).toBe(sha256(NAMESPACES.pieceLeaf, data))
      const len = new Uint8Array(4)
      new DataView(len.buffer).setUint32(0, v.length)
      expect(v.blockHash).toBe(sha256(NAMESPACES.block, len, Uint8Array.of(v.flags), unhex(v.pieceRoot)))
    }
  })

  it('a log of 2 blocks has one root: SHA-256(log-parent tag ‖ leaf 0 ‖ leaf 1)', () => {
    const { logs } = load('merkle.json')
    const one = logs.find((l: { length: number }) => l.length === 1)
    const two = logs.find((l: { length: number }) => l.length === 2)
    // Block 1 is vectorBytes(11, 1), one piece, flags 0.
    const block1 = vectorBytes(11, 1)
    const leaf1 = sha256(NAMESPACES.block, Uint8Array.of(0, 0, 0, 11), Uint8Array.of(0), unhex(sha256(NAMESPACES.pieceLeaf, block1)))
    expect(one.rootIndices).toEqual([0])
    expect(two.rootIndices).toEqual([1])
    expect(two.roots[0]).toBe(sha256(NAMESPACES.logParent, unhex(one.roots[0]), unhex(leaf1)))
    const three = logs.find((l: { length: number }) => l.length === 3)
    expect(three.rootIndices).toEqual([1, 4])
    expect(three.roots[0]).toBe(two.roots[0])
  })

  it('each encoded message decodes to its fields and re-encodes to the same bytes; frames decode as one stream', () => {
    const { messages } = load('messages.json')
    expect(messages.map((m: { message: { type: string } }) => m.message.type)).toEqual(
      ['handshake', 'have', 'request', 'cancel', 'data', 'piece', 'no-data', 'metadata', 'ping', 'pong', 'subscribe', 'unsubscribe', 'choke', 'probe', 'capacity', 'source-proof'])
    const decoder = new FrameDecoder()
    const stream = messages.flatMap((m: { frame: string }) => [...unhex(m.frame)])
    const bodies = decoder.push(Uint8Array.from(stream))
    expect(bodies.map(hex)).toEqual(messages.map((m: { encoded: string }) => m.encoded))
    for (const v of messages) {
      const decoded = decodeMessage(unhex(v.encoded))
      expect(toJson(decoded)).toEqual(v.message)
      expect(hex(encodeMessage(decoded))).toBe(v.encoded)
    }
  })

  it('the signed head and metadata verify with ed25519 under the vector public key', async () => {
    const s = load('signatures.json')
    expect(s.publicKey).toBe(hex(publicKeyOf(VECTOR_SECRET_KEY)))
    const ed = await import('@noble/ed25519')
    expect(ed.verify(unhex(s.head.signature), unhex(s.head.signable), unhex(s.publicKey))).toBe(true)
    expect(() => { verifyMetadata(new SignatureCache(), unhex(s.publicKey), 1, unhex(s.metadata.data), unhex(s.metadata.signature)) }).not.toThrow()
    // The head's signable is tag ‖ key ‖ u64 length ‖ u64 timestamp ‖ roots hash.
    const signable = unhex(s.head.signable)
    expect(hex(signable.subarray(0, 32))).toBe(hex(NAMESPACES.head))
    expect(hex(signable.subarray(32, 64))).toBe(s.publicKey)
    expect(new DataView(signable.buffer, signable.byteOffset).getBigUint64(64)).toBe(5n)
    expect(new DataView(signable.buffer, signable.byteOffset).getBigUint64(72)).toBe(BigInt(s.head.timestamp))
    const five = load('merkle.json').logs.find((l: { length: number }) => l.length === 5)
    expect(hex(signable.subarray(80))).toBe(five.rootsHash)
  })

  it('the source proof is ed25519 over tag ‖ key ‖ SHA-256(channel binding) ‖ the handshake nonce, and binds both', () => {
    const s = load('signatures.json')
    const signable = unhex(s.source.signable)
    expect(hex(signable.subarray(0, 32))).toBe(hex(NAMESPACES.source))
    expect(hex(signable.subarray(32, 64))).toBe(s.publicKey)
    expect(hex(signable.subarray(64, 96))).toBe(sha256(unhex(s.source.channelBinding)))
    expect(hex(signable.subarray(96))).toBe(s.source.nonce)
    const [key, nonce, binding, signature] = [s.publicKey, s.source.nonce, s.source.channelBinding, s.source.signature].map(unhex) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array]
    expect(() => { verifySource(key, nonce, binding, signature) }).not.toThrow()
    const flipped = (b: Uint8Array): Uint8Array => Uint8Array.from(b, (x, i) => i === 0 ? x ^ 1 : x)
    for (const [n, c] of [[flipped(nonce), binding], [nonce, flipped(binding)], [nonce, new Uint8Array(0)]] as Array<[Uint8Array, Uint8Array]>) {
      expect(() => { verifySource(key, n, c, signature) }).toThrow(expect.objectContaining({ code: 'ERR_INVALID_SIGNATURE' }))
    }
  })
})
