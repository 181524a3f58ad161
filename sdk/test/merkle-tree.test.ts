import fc from 'fast-check'
import * as flat from 'flat-tree'
import { describe, expect, it } from 'vitest'
import { logParentHash, PIECE_PAD_HASH, pieceLeafHash, pieceParentHash } from '../src/caps.js'
import { MAX_BLOCK_SIZE, MAX_PIECE_TREE_DEPTH, PIECE_SIZE } from '../src/constants.js'
import { MunroError } from '../src/errors.js'
import {
  equalBytes, isRootOf, LogTree, padHash, pieceCount, pieceLength, pieceTreeDepth, PieceTree, rootFor
} from '../src/merkle-tree.js'
import { flipBit, pattern } from './helpers.js'

function pieceError (fn: () => void): string {
  try { fn() } catch (err) {
    if (err instanceof MunroError) return err.code
    throw err
  }
  return 'none'
}

/** Sends every piece of `data` to a fresh receiver tree in `order`, each with the minimal uncles. */
function transfer (data: Uint8Array, order: number[]): { sender: PieceTree, receiver: PieceTree } {
  const sender = PieceTree.fromData(data)
  const receiver = PieceTree.fromRoot(sender.count, sender.root)
  const mirror = new Set<number>([sender.rootIndex])
  for (const k of order) {
    const uncles = sender.uncles(k, mirror)
    receiver.verify(k, data.subarray(k * PIECE_SIZE, k * PIECE_SIZE + pieceLength(data.length, k)), uncles)
  }
  return { sender, receiver }
}

const blockSize = fc.integer({ min: 1, max: 12 * PIECE_SIZE + 5 })

describe('piece trees', () => {
  it('a block is cut into 7.5 KiB pieces, the last one short', () => {
    expect(pieceCount(1)).toBe(1)
    expect(pieceCount(PIECE_SIZE)).toBe(1)
    expect(pieceCount(PIECE_SIZE + 1)).toBe(2)
    expect(pieceLength(PIECE_SIZE + 1, 1)).toBe(1)
    expect(pieceCount(MAX_BLOCK_SIZE)).toBe(547)
    expect(pieceTreeDepth(pieceCount(MAX_BLOCK_SIZE))).toBe(MAX_PIECE_TREE_DEPTH)
  })

  it('the root of a one-piece block is its leaf hash', () => {
    const data = pattern(100)
    expect(equalBytes(PieceTree.fromData(data).root, pieceLeafHash(data))).toBe(true)
  })

  it('a three-piece tree is padded to four leaves with the pad hash', () => {
    const data = pattern(2 * PIECE_SIZE + 10, 2)
    const [p0, p1, p2] = [0, 1, 2].map(k => data.subarray(k * PIECE_SIZE, (k + 1) * PIECE_SIZE)) as [Uint8Array, Uint8Array, Uint8Array]
    const expected = pieceParentHash(pieceParentHash(pieceLeafHash(p0), pieceLeafHash(p1)), pieceParentHash(pieceLeafHash(p2), PIECE_PAD_HASH))
    expect(equalBytes(PieceTree.fromData(data).root, expected)).toBe(true)
    expect(equalBytes(padHash(1), pieceParentHash(PIECE_PAD_HASH, PIECE_PAD_HASH))).toBe(true)
  })

  it('leaf, parent and pad hashes are domain-separated: a parent never equals the leaf of its children\'s bytes', () => {
    const l = pieceLeafHash(new Uint8Array(32))
    const r = pieceLeafHash(new Uint8Array(32).fill(1))
    const concatenated = new Uint8Array(64)
    concatenated.set(l, 0); concatenated.set(r, 32)
    expect(equalBytes(pieceParentHash(l, r), pieceLeafHash(concatenated))).toBe(false)
    expect(equalBytes(pieceParentHash(l, r), logParentHash(l, r))).toBe(false)
  })

  it('every honest piece verifies, in any order, and pad leaves never travel', () => {
    fc.assert(fc.property(blockSize, fc.nat(), (size, seed) => {
      const data = pattern(size, seed)
      const count = pieceCount(size)
      const order = fc.sample(fc.shuffledSubarray([...Array(count).keys()], { minLength: count, maxLength: count }), { numRuns: 1, seed })[0] as number[]
      const sender = PieceTree.fromData(data)
      const receiver = PieceTree.fromRoot(count, sender.root)
      const mirror = new Set<number>([sender.rootIndex])
      let hashes = 0
      for (const k of order) {
        const uncles = sender.uncles(k, mirror)
        for (const u of uncles) expect(flat.leftSpan(u.index) / 2).toBeLessThan(count)
        hashes += uncles.length
        receiver.verify(k, data.subarray(k * PIECE_SIZE, k * PIECE_SIZE + pieceLength(size, k)), uncles)
      }
      // Each non-pad node is sent at most once over the whole block.
      expect(hashes).toBeLessThanOrEqual(2 * count)
    }), { numRuns: 60 })
  })

  it('in order, the uncles of a whole block are at most one per level per piece and shrink to none', () => {
    const data = pattern(8 * PIECE_SIZE, 3)
    const sender = PieceTree.fromData(data)
    const mirror = new Set<number>([sender.rootIndex])
    const counts = [...Array(8).keys()].map(k => sender.uncles(k, mirror).length)
    expect(counts).toEqual([3, 0, 1, 0, 2, 0, 1, 0])
  })

  it('any single flipped bit in a piece, an uncle or the root fails with ERR_INVALID_PIECE', () => {
    fc.assert(fc.property(blockSize, fc.nat(), fc.nat(), fc.nat(), (size, seed, which, bit) => {
      const data = pattern(size, seed)
      const sender = PieceTree.fromData(data)
      const count = sender.count
      const k = which % count
      const piece = data.subarray(k * PIECE_SIZE, k * PIECE_SIZE + pieceLength(size, k))
      const uncles = sender.uncles(k, new Set([sender.rootIndex]))
      const fresh = (): PieceTree => PieceTree.fromRoot(count, sender.root)
      // Flipped data.
      expect(pieceError(() => { fresh().verify(k, flipBit(piece, bit % (piece.length * 8)), uncles) })).toBe('ERR_INVALID_PIECE')
      // Flipped uncle.
      if (uncles.length > 0) {
        const u = bit % uncles.length
        const bad = uncles.map((x, i) => i === u ? { index: x.index, hash: flipBit(x.hash, bit % 256) } : x)
        expect(pieceError(() => { fresh().verify(k, piece, bad) })).toBe('ERR_INVALID_PIECE')
      }
      // Flipped root.
      expect(pieceError(() => { PieceTree.fromRoot(count, flipBit(sender.root, bit % 256)).verify(k, piece, uncles) })).toBe('ERR_INVALID_PIECE')
      // A missing uncle.
      if (uncles.length > 0) expect(pieceError(() => { fresh().verify(k, piece, uncles.slice(1)) })).toBe('ERR_INVALID_PIECE')
      // The honest piece still verifies, and a failed attempt stored nothing.
      const r = fresh()
      pieceError(() => { r.verify(k, flipBit(piece, 0), uncles) })
      if (count > 1) expect(r.get(2 * k)).toBeUndefined()
      r.verify(k, piece, uncles)
      expect(r.get(2 * k)).toBeDefined()
    }), { numRuns: 100 })
  })

  it('with missingOk, a piece lacking an uncle proves nothing and holds nothing; a wrong one still fails', () => {
    const data = pattern(4 * PIECE_SIZE, 9)
    const sender = PieceTree.fromData(data)
    const piece = (k: number): Uint8Array => data.subarray(k * PIECE_SIZE, (k + 1) * PIECE_SIZE)
    // The sender believes we hold what it sent with piece 0; we never got piece 0.
    const mirror = new Set<number>([sender.rootIndex])
    sender.uncles(0, mirror)
    const uncles1 = sender.uncles(1, mirror)
    const r = PieceTree.fromRoot(sender.count, sender.root)
    expect(r.verify(1, piece(1), uncles1, true)).toBe(false)
    expect(r.get(2)).toBeUndefined()
    expect(pieceError(() => { r.verify(1, piece(1), uncles1) })).toBe('ERR_INVALID_PIECE')
    expect(pieceError(() => { r.verify(1, flipBit(piece(1), 3), sender.uncles(1, new Set([sender.rootIndex])), true) })).toBe('ERR_INVALID_PIECE')
    expect(r.verify(1, piece(1), sender.uncles(1, new Set([sender.rootIndex])), true)).toBe(true)
  })

  it('a piece index out of range fails with ERR_INVALID_PIECE', () => {
    const data = pattern(3 * PIECE_SIZE)
    const { receiver } = transfer(data, [0])
    expect(pieceError(() => { receiver.verify(3, new Uint8Array(1), []) })).toBe('ERR_INVALID_PIECE')
    expect(pieceError(() => { receiver.verify(-1, new Uint8Array(1), []) })).toBe('ERR_INVALID_PIECE')
  })
})

describe('log trees', () => {
  const leaf = (i: number): Uint8Array => pieceLeafHash(Uint8Array.of(i & 0xff, i >> 8))

  function build (length: number): LogTree {
    const t = new LogTree()
    for (let i = 0; i < length; i++) t.add(2 * i, leaf(i))
    return t
  }

  it('holding two siblings holds their parent, up to the full roots', () => {
    const t = build(4)
    const n1 = logParentHash(leaf(0), leaf(1))
    const n5 = logParentHash(leaf(2), leaf(3))
    expect(equalBytes(t.get(1) as Uint8Array, n1)).toBe(true)
    expect(equalBytes(t.get(3) as Uint8Array, logParentHash(n1, n5))).toBe(true)
    expect(t.roots(4)?.length).toBe(1)
    expect(t.roots(3)?.map(r => r.length)).toEqual([32, 32])
    expect(new LogTree().roots(1)).toBeNull()
  })

  it('rootFor and isRootOf agree with flat-tree full roots for every block of logs up to 300', () => {
    const wrong: string[] = []
    for (let length = 1; length <= 300; length++) {
      const roots = flat.fullRoots(2 * length)
      for (const r of roots) if (!isRootOf(r, length)) wrong.push(`${r} should be a root of ${length}`)
      for (let n = 0; n < 2 * length; n++) if (isRootOf(n, length) && !roots.includes(n)) wrong.push(`${n} is no root of ${length}`)
      for (let i = 0; i < length; i++) {
        const r = rootFor(i, length)
        if (!roots.includes(r) || flat.leftSpan(r) > 2 * i || 2 * i > flat.rightSpan(r)) wrong.push(`rootFor(${i}, ${length}) = ${r}`)
      }
    }
    expect(wrong).toEqual([])
    expect(() => rootFor(5, 5)).toThrow(RangeError)
  })

  it('pruning keeps the tree small over a long stream (one node per level below the window)', () => {
    const t = new LogTree()
    for (let i = 0; i < 5000; i++) {
      t.add(2 * i, leaf(i))
      if (i % 100 === 99) t.prune(i - 20)
    }
    // 20 blocks in the window and their parents (~40 nodes) plus O(log n) kept uncles.
    expect(t.size).toBeLessThan(120)
    expect(t.roots(5000)).not.toBeNull()
  })
})
