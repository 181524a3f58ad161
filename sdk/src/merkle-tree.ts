/**
 * The two levels of Merkle tree, in flat-tree (bin) numbering: leaf `k` is node `2k`.
 *
 * - A block is cut into pieces of {@link PIECE_SIZE} bytes. Its piece tree is a perfect binary
 *   tree over the piece leaves, padded with {@link PIECE_PAD_HASH} leaves up to a power of two;
 *   its root is bound into the block's hash (with the block's length and flags).
 * - The log tree is built over block hashes. A log of length L is covered by the full roots of
 *   flat-tree (`fullRoots(2L)`), which the broadcaster signs (see `caps.ts`).
 *
 * DEV DOCS: {@link LogTree} holds only verified nodes. Adding a node also computes every parent
 * whose two children are now held, so a receiver that verified every block under a node holds
 * that node: the sender relies on this to omit uncles the receiver already has.
 * @module
 */
import * as flat from 'flat-tree'
import { PIECE_SIZE } from './constants.js'
import { PIECE_PAD_HASH, logParentHash, pieceLeafHash, pieceParentHash } from './caps.js'
import { MunroError } from './errors.js'

/** A tree node sent as proof: its flat-tree index and hash. */
export interface ProofNode {
  index: number
  hash: Uint8Array
}

/** Constant-time-enough equality of two hashes (inputs are public; this is not a secret compare). */
export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Number of pieces of a block of `byteLength` bytes (at least one). */
export const pieceCount = (byteLength: number): number => Math.max(1, Math.ceil(byteLength / PIECE_SIZE))

/** Depth of the padded piece tree over `count` leaves. */
export const pieceTreeDepth = (count: number): number => Math.ceil(Math.log2(count))

/** Byte length of piece `k` of a block of `byteLength` bytes. */
export function pieceLength (byteLength: number, k: number): number {
  return Math.min(PIECE_SIZE, byteLength - k * PIECE_SIZE)
}

const padHashes: Uint8Array[] = [PIECE_PAD_HASH]
/** Hash of an all-padding piece subtree of the given depth. */
export function padHash (depth: number): Uint8Array {
  for (let d = padHashes.length; d <= depth; d++) {
    const below = padHashes[d - 1] as Uint8Array
    padHashes.push(pieceParentHash(below, below))
  }
  return padHashes[depth] as Uint8Array
}

/** The first leaf (piece index) covered by node `n`. */
const firstLeaf = (n: number): number => flat.leftSpan(n) / 2
/** The last leaf (block or piece index) covered by node `n`. */
export const lastLeaf = (n: number): number => flat.rightSpan(n) / 2

/**
 * A block's piece tree. The sender builds it whole with {@link PieceTree.fromData}; a receiver
 * starts from the verified root ({@link PieceTree.fromRoot}) and verifies each piece on arrival.
 */
export class PieceTree {
  readonly count: number
  readonly depth: number
  readonly rootIndex: number
  private readonly nodes = new Map<number, Uint8Array>()

  private constructor (count: number) {
    this.count = count
    this.depth = pieceTreeDepth(count)
    this.rootIndex = 2 ** this.depth - 1
  }

  /** Builds the full tree of a block's data. */
  static fromData (data: Uint8Array): PieceTree {
    const tree = new PieceTree(pieceCount(data.length))
    let level: Uint8Array[] = []
    for (let k = 0; k < 2 ** tree.depth; k++) {
      const h = k < tree.count ? pieceLeafHash(data.subarray(k * PIECE_SIZE, (k + 1) * PIECE_SIZE)) : PIECE_PAD_HASH
      tree.nodes.set(2 * k, h)
      level.push(h)
    }
    for (let d = 1; d <= tree.depth; d++) {
      const next: Uint8Array[] = []
      for (let o = 0; o < level.length; o += 2) {
        const h = pieceParentHash(level[o] as Uint8Array, level[o + 1] as Uint8Array)
        tree.nodes.set(flat.index(d, o / 2), h)
        next.push(h)
      }
      level = next
    }
    return tree
  }

  /** A receiver's tree: only the (already verified) root is held. */
  static fromRoot (count: number, root: Uint8Array): PieceTree {
    const tree = new PieceTree(count)
    tree.nodes.set(tree.rootIndex, root)
    return tree
  }

  get root (): Uint8Array { return this.nodes.get(this.rootIndex) as Uint8Array }

  get (n: number): Uint8Array | undefined { return this.nodes.get(n) }

  private isPad (n: number): boolean { return firstLeaf(n) >= this.count }

  /**
   * The uncles a receiver needs to verify piece `k`, given the set of nodes it holds; updates
   * `held` to what the receiver will hold once it has verified the piece. Requires a full tree.
   */
  uncles (k: number, held: Set<number>): ProofNode[] {
    const out: ProofNode[] = []
    let n = 2 * k
    while (!held.has(n)) {
      held.add(n)
      const s = flat.sibling(n)
      if (!this.isPad(s) && !held.has(s)) {
        out.push({ index: s, hash: this.nodes.get(s) as Uint8Array })
        held.add(s)
      }
      n = flat.parent(n)
    }
    return out
  }

  /**
   * Verifies piece `k` against the held nodes plus `uncles`, and on success holds the leaf, the
   * uncles and the computed path. Throws ERR_INVALID_PIECE on any mismatch, and on a missing
   * uncle unless `missingOk`: then it returns false (the piece proves nothing, and nothing is
   * held). A piece we did not ask this sender for may come with uncles we never got from it.
   */
  verify (k: number, data: Uint8Array, uncles: readonly ProofNode[], missingOk = false): boolean {
    if (!Number.isInteger(k) || k < 0 || k >= this.count) throw new MunroError('ERR_INVALID_PIECE', `piece ${k} out of range`)
    const given = new Map<number, Uint8Array>()
    for (const u of uncles) given.set(u.index, u.hash)
    const add: Array<[number, Uint8Array]> = []
    let n = 2 * k
    let h = pieceLeafHash(data)
    for (;;) {
      const held = this.nodes.get(n)
      if (held !== undefined) {
        if (!equalBytes(held, h)) throw new MunroError('ERR_INVALID_PIECE', `piece ${k} does not match its tree`)
        break
      }
      add.push([n, h])
      const s = flat.sibling(n)
      let sh = this.nodes.get(s)
      if (sh === undefined && (sh = given.get(s)) !== undefined) add.push([s, sh])
      if (sh === undefined && this.isPad(s)) sh = padHash(flat.depth(s))
      if (sh === undefined && missingOk) return false
      if (sh === undefined) throw new MunroError('ERR_INVALID_PIECE', `piece ${k} arrived without uncle ${s}`)
      h = n < s ? pieceParentHash(h, sh) : pieceParentHash(sh, h)
      n = flat.parent(n)
    }
    for (const [i, v] of add) this.nodes.set(i, v)
    return true
  }
}

/**
 * The verified nodes of the log tree, pruned to the live window. See the module's DEV DOCS.
 */
export class LogTree {
  private readonly nodes = new Map<number, Uint8Array>()

  get size (): number { return this.nodes.size }

  get (n: number): Uint8Array | undefined { return this.nodes.get(n) }

  has (n: number): boolean { return this.nodes.has(n) }

  /** Holds a verified node, then every parent whose two children are held. */
  add (n: number, hash: Uint8Array): void {
    this.nodes.set(n, hash)
    for (;;) {
      const s = flat.sibling(n)
      const sh = this.nodes.get(s)
      const p = flat.parent(n)
      if (sh === undefined || this.nodes.has(p)) return
      hash = n < s ? logParentHash(hash, sh) : logParentHash(sh, hash)
      this.nodes.set(p, hash)
      n = p
    }
  }

  /** Hashes of the full roots of a log of `length` blocks, or null if any is not held. */
  roots (length: number): Uint8Array[] | null {
    const out: Uint8Array[] = []
    for (const r of flat.fullRoots(2 * length)) {
      const h = this.nodes.get(r)
      if (h === undefined) return null
      out.push(h)
    }
    return out
  }

  /**
   * Forgets nodes that lie wholly before block `start` and whose parent does too. What is kept
   * below the window is one node per level (the left uncles of any block in the window), so the
   * tree stays O(window + log length) however long the stream runs.
   */
  prune (start: number): void {
    for (const n of this.nodes.keys()) {
      if (lastLeaf(n) < start && lastLeaf(flat.parent(n)) < start) this.nodes.delete(n)
    }
  }
}

/** The full root of a log of `length` blocks that covers block `index` (index < length). */
export function rootFor (index: number, length: number): number {
  const leaf = 2 * index
  for (const r of flat.fullRoots(2 * length)) {
    if (flat.leftSpan(r) <= leaf && leaf <= flat.rightSpan(r)) return r
  }
  throw new RangeError(`block ${index} is not in a log of ${length}`)
}

/** Whether node `n` is one of the full roots of a log of `length` blocks. */
export function isRootOf (n: number, length: number): boolean {
  if (length === 0) return false
  const last = lastLeaf(n)
  if (last >= length) return false
  // A full subtree is a root iff its parent is not full within the log.
  return lastLeaf(flat.parent(n)) >= length
}
