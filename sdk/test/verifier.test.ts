import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { headSignable, metadataSignable, pieceLeafHash } from '../src/caps.js'
import { MunroError } from '../src/errors.js'
import { LogTree, type ProofNode } from '../src/merkle-tree.js'
import {
  buildProof, publicKeyOf, sign, signHead, SignatureCache, verifyBlock, verifyMetadata, type SignedHead
} from '../src/verifier.js'
import { munro } from '../src/munro.js'
import { bytes, flipBit } from './helpers.js'

const SECRET = new Uint8Array(32).fill(1)
const PUBLIC = publicKeyOf(SECRET)
const OTHER_SECRET = new Uint8Array(32).fill(2)

const leaf = (i: number): Uint8Array => pieceLeafHash(Uint8Array.of(i & 0xff, (i >> 8) & 0xff, 7))

/** The broadcaster's tree of `length` blocks and its signed head. */
function broadcaster (length: number, timestamp = 1000): { tree: LogTree, head: SignedHead } {
  const tree = new LogTree()
  for (let i = 0; i < length; i++) tree.add(2 * i, leaf(i))
  return { tree, head: signHead(tree, PUBLIC, SECRET, length, timestamp) }
}

function verifyError (fn: () => unknown): string {
  try { fn() } catch (err) {
    if (err instanceof MunroError) return err.code
    throw err
  }
  return 'none'
}

const BAD = ['ERR_INVALID_PROOF', 'ERR_INVALID_SIGNATURE']

describe('verifying a block against a signed head', () => {
  it('every honest self-contained proof verifies, for arbitrary log lengths and blocks', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 400 }), fc.nat(), (length, pick) => {
      const { tree, head } = broadcaster(length)
      const index = pick % length
      const nodes = buildProof(tree, index, length, () => false) as ProofNode[]
      expect(nodes).not.toBeNull()
      const receiver = new LogTree()
      expect(verifyBlock(receiver, PUBLIC, new SignatureCache(), index, leaf(index), nodes, head)).toEqual({ ok: true })
      // The receiver now holds the signed roots and the block's leaf.
      expect(receiver.roots(length)).not.toBeNull()
      expect(receiver.has(2 * index)).toBe(true)
    }), { numRuns: 60 })
  })

  it('any single flipped bit in the leaf, a proof node, the signature, the length or the timestamp fails, and stores nothing', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(), fc.nat(), fc.nat(), (length, pick, which, bit) => {
      const { tree, head } = broadcaster(length)
      const index = pick % length
      const nodes = buildProof(tree, index, length, () => false) as ProofNode[]
      const attempts: Array<[string, () => unknown]> = [
        ['leaf', () => verifyBlock(new LogTree(), PUBLIC, new SignatureCache(), index, flipBit(leaf(index), bit % 256), nodes, head)],
        ['signature', () => verifyBlock(new LogTree(), PUBLIC, new SignatureCache(), index, leaf(index), nodes, { ...head, signature: flipBit(head.signature, bit % 512) })],
        ['timestamp', () => verifyBlock(new LogTree(), PUBLIC, new SignatureCache(), index, leaf(index), nodes, { ...head, timestamp: head.timestamp ^ (1 << (bit % 30)) })],
        ['key', () => verifyBlock(new LogTree(), publicKeyOf(OTHER_SECRET), new SignatureCache(), index, leaf(index), nodes, head)]
      ]
      if (nodes.length > 0) {
        const j = which % nodes.length
        attempts.push(['node', () => verifyBlock(new LogTree(), PUBLIC, new SignatureCache(), index, leaf(index),
          nodes.map((n, i) => i === j ? { index: n.index, hash: flipBit(n.hash, bit % 256) } : n), head)])
      }
      if (head.length > index + 1) {
        attempts.push(['length', () => verifyBlock(new LogTree(), PUBLIC, new SignatureCache(), index, leaf(index),
          buildProof(tree, index, length - 1, () => false) as ProofNode[], { ...head, length: head.length - 1 })])
      }
      for (const [what, attempt] of attempts) {
        const code = verifyError(attempt)
        if (!BAD.includes(code)) throw new Error(`flipped ${what}: ${code}`)
      }
      // A failed attempt leaves the receiver's tree untouched.
      const receiver = new LogTree()
      verifyError(() => verifyBlock(receiver, PUBLIC, new SignatureCache(), index, flipBit(leaf(index), 0), nodes, head))
      expect(receiver.size).toBe(0)
    }), { numRuns: 40 })
  })

  it('a live receiver verifies every block in order with minimal proofs (few hashes each)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 8 }), (length, signEvery) => {
      const sender = new LogTree()
      const receiver = new LogTree()
      const cache = new SignatureCache()
      let hashes = 0
      let signed = 0
      let next = 0
      for (let i = 0; i < length; i++) {
        sender.add(2 * i, leaf(i))
        if ((i + 1) % signEvery !== 0 && i + 1 !== length) continue
        const head = signHead(sender, PUBLIC, SECRET, i + 1, i)
        signed++
        for (let j = next; j <= i; j++, next++) {
          const nodes = buildProof(sender, j, head.length, n => receiver.has(n)) as ProofNode[]
          hashes += nodes.length
          expect(verifyBlock(receiver, PUBLIC, cache, j, leaf(j), nodes, head)).toEqual({ ok: true })
        }
      }
      expect(hashes / length).toBeLessThan(4)
      // Each head's signature was checked once, however many blocks it came with.
      expect(cache.verifications).toBe(signed)
    }), { numRuns: 15 })
  })

  it('without a head, a block verifies against a node the receiver holds; a proof lacking a node reports it', () => {
    const { tree, head } = broadcaster(8)
    const receiver = new LogTree()
    const cache = new SignatureCache()
    expect(verifyBlock(receiver, PUBLIC, cache, 7, leaf(7), buildProof(tree, 7, 8, () => false) as ProofNode[], head)).toEqual({ ok: true })
    // The receiver holds the root over blocks 0-7: block 2 needs only its path, no head.
    const nodes = buildProof(tree, 2, null, n => receiver.has(n)) as ProofNode[]
    expect(verifyBlock(receiver, PUBLIC, cache, 2, leaf(2), nodes, null)).toEqual({ ok: true })
    // Block 4 with no uncles: the verifier names the missing node rather than guessing.
    const missing = verifyBlock(receiver, PUBLIC, cache, 4, leaf(4), [], null)
    expect(missing).toEqual({ ok: false, missing: 10 })
    // A lie against a held node is ERR_INVALID_PROOF.
    const lie = buildProof(tree, 5, null, n => receiver.has(n)) as ProofNode[]
    expect(verifyError(() => verifyBlock(receiver, PUBLIC, cache, 5, flipBit(leaf(5), 1), lie, null))).toBe('ERR_INVALID_PROOF')
    expect(cache.verifications).toBe(1)
  })

  it('a head that does not cover the block is ERR_INVALID_PROOF', () => {
    const { tree, head } = broadcaster(3)
    const nodes = buildProof(tree, 0, 3, () => false) as ProofNode[]
    expect(verifyError(() => verifyBlock(new LogTree(), PUBLIC, new SignatureCache(), 3, leaf(3), nodes, head))).toBe('ERR_INVALID_PROOF')
  })

  it('a head signed for another stream does not verify, even over identical roots', () => {
    const { tree } = broadcaster(5)
    const roots = tree.roots(5) as Uint8Array[]
    const otherKey = publicKeyOf(OTHER_SECRET)
    const foreign = { length: 5, timestamp: 1000, signature: sign(headSignable(otherKey, 5, 1000, roots), OTHER_SECRET) }
    const nodes = buildProof(tree, 4, 5, () => false) as ProofNode[]
    expect(verifyError(() => verifyBlock(new LogTree(), PUBLIC, new SignatureCache(), 4, leaf(4), nodes, foreign))).toBe('ERR_INVALID_SIGNATURE')
    expect(verifyBlock(new LogTree(), otherKey, new SignatureCache(), 4, leaf(4), nodes, foreign)).toEqual({ ok: true })
  })
})

describe('the signature cache', () => {
  it('verifies a signature once; the same signature over the same bytes is a hit', () => {
    const msg = bytes('head')
    const sig = sign(msg, SECRET)
    const cache = new SignatureCache()
    expect(cache.verify(sig, msg, PUBLIC)).toBe(true)
    expect(cache.verify(sig, msg, PUBLIC)).toBe(true)
    expect([cache.verifications, cache.hits]).toEqual([1, 1])
  })

  it('a cached signature presented over other bytes is verified again, and fails', () => {
    const cache = new SignatureCache()
    const sig = sign(bytes('length 1'), SECRET)
    expect(cache.verify(sig, bytes('length 1'), PUBLIC)).toBe(true)
    expect(cache.verify(sig, bytes('length 2'), PUBLIC)).toBe(false)
    expect(cache.verify(sig, bytes('length 1'), publicKeyOf(OTHER_SECRET))).toBe(false)
    expect(cache.verifications).toBe(3)
  })

  it('failures are not cached and garbage signatures do not throw', () => {
    const cache = new SignatureCache()
    expect(cache.verify(new Uint8Array(64).fill(0xff), bytes('x'), PUBLIC)).toBe(false)
    expect(cache.verify(new Uint8Array(64).fill(0xff), bytes('x'), PUBLIC)).toBe(false)
    expect(cache.verify(new Uint8Array(64), bytes('x'), new Uint8Array(32).fill(0xff))).toBe(false)
    expect(cache.hits).toBe(0)
  })

  it('is bounded: the oldest entry goes first', () => {
    const cache = new SignatureCache(2)
    const [a, b, c] = ['a', 'b', 'c'].map(s => [sign(bytes(s), SECRET), bytes(s)] as const) as Array<readonly [Uint8Array, Uint8Array]> as [readonly [Uint8Array, Uint8Array], readonly [Uint8Array, Uint8Array], readonly [Uint8Array, Uint8Array]]
    for (const [sig, msg] of [a, b, c]) cache.verify(sig, msg, PUBLIC)
    cache.verify(c[0], c[1], PUBLIC)
    cache.verify(a[0], a[1], PUBLIC)
    expect([cache.verifications, cache.hits]).toEqual([4, 1])
  })
})

describe('the signature cache, released', () => {
  it('clear() forgets every signature: the next check verifies again', () => {
    const cache = new SignatureCache()
    const sig = sign(bytes('head'), SECRET)
    cache.verify(sig, bytes('head'), PUBLIC)
    expect(cache.size).toBe(1)
    cache.clear()
    expect(cache.size).toBe(0)
    expect(cache.verify(sig, bytes('head'), PUBLIC)).toBe(true)
    expect([cache.verifications, cache.hits]).toEqual([2, 0])
  })

  it("destroy() clears an instance's own cache, not one it shares with others", async () => {
    const shared = new SignatureCache()
    const b = munro()
    const own = munro(b.id, { start: 0 })
    const sharing = munro(b.id, { start: 0, signatureCache: shared })
    for (const r of [own, sharing]) { const x = b.peerStream(); x.pipe(r.peerStream()).pipe(x) }
    await b.append(bytes('block 0'))
    await Promise.all([own.get(0), sharing.get(0)])
    const ownCache = (own as unknown as { cache: SignatureCache }).cache // private: nothing else holds it
    expect([ownCache.size, shared.size]).toEqual([1, 1])
    await Promise.all([own.destroy(), sharing.destroy(), b.destroy()])
    expect([ownCache.size, shared.size]).toEqual([0, 1])
  })
})

describe('metadata', () => {
  it('verifies under the stream key and sequence number, and nothing else', () => {
    const data = bytes('codec')
    const signature = sign(metadataSignable(PUBLIC, 3, data), SECRET)
    const cache = new SignatureCache()
    expect(() => { verifyMetadata(cache, PUBLIC, 3, data, signature) }).not.toThrow()
    for (const attempt of [
      () => { verifyMetadata(cache, PUBLIC, 4, data, signature) },
      () => { verifyMetadata(cache, PUBLIC, 3, bytes('codeC'), signature) },
      () => { verifyMetadata(cache, PUBLIC, 3, data, flipBit(signature, 3)) },
      () => { verifyMetadata(cache, publicKeyOf(OTHER_SECRET), 3, data, signature) }
    ]) expect(verifyError(attempt)).toBe('ERR_INVALID_METADATA')
  })

  it('a head signature is never accepted as metadata (namespaces differ)', () => {
    const { tree, head } = broadcaster(1)
    const signable = headSignable(PUBLIC, 1, head.timestamp, tree.roots(1) as Uint8Array[])
    expect(verifyError(() => { verifyMetadata(new SignatureCache(), PUBLIC, 1, signable, head.signature) })).toBe('ERR_INVALID_METADATA')
  })
})
