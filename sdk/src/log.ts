/**
 * The block log of one peer: verified blocks inside the live window, the verified log-tree
 * nodes, the newest signed heads, and the window's discard policy. No I/O and no peers here:
 * `replicator.ts` feeds it what arrives and serves from it.
 *
 * DEV DOCS: a block enters the log when its header (length, flags, piece root) verifies against
 * a signed head. Its bytes then fill in piece by piece, each verified against the piece root
 * before it is stored; the block is complete when every piece is held. Only complete blocks are
 * given to `get`/readers; partial ones may already be served to other peers (cut-through).
 * @module
 */
import { blockHash } from './caps.js'
import { MAX_BLOCK_SIZE, PIECE_SIZE } from './constants.js'
import { MunroError, outOfRange } from './errors.js'
import { LogTree, PieceTree, pieceCount, pieceLength, type ProofNode } from './merkle-tree.js'
import { signHead, verifyBlock, type ProofResult, type SignatureCache, type SignedHead } from './verifier.js'

/** One block in the window, complete or still arriving. */
export interface BlockEntry {
  readonly index: number
  readonly byteLength: number
  readonly flags: number
  readonly pieces: PieceTree
  /** The block's bytes; only the pieces marked in `have` are filled in. */
  readonly data: Uint8Array
  readonly have: Uint8Array
  received: number
  /** When the header verified (local clock). */
  readonly verifiedAt: number
}

/** Whether a block entry holds all of its pieces. */
export const isComplete = (b: BlockEntry): boolean => b.received === b.pieces.count

/** Live-window limits. */
export interface WindowOptions {
  /**
   * Most blocks kept; older ones are discarded.
   * @default 1024 (over 4 minutes of 250 ms blocks)
   */
  maxBlocks: number
  /**
   * Most block bytes kept; older blocks are discarded past it.
   * @default 64 MiB
   */
  maxBytes: number
}

/** Heads kept for building proofs of blocks verified under an older head. */
const RECENT_HEADS = 16

export class BlockLog {
  readonly tree = new LogTree()
  private readonly blocks = new Map<number, BlockEntry>()
  private bytes = 0
  /** First block index still kept (or wanted, for a receiver that joined late). */
  start = 0
  /** The newest verified signed head, or null before the first one. */
  head: SignedHead | null = null
  private readonly heads: SignedHead[] = []
  /** Blocks appended by the broadcaster; equals the head length unless signing every N. */
  appended = 0

  constructor (
    readonly publicKey: Uint8Array,
    private readonly cache: SignatureCache,
    private readonly window: WindowOptions
  ) {}

  get length (): number { return this.head === null ? 0 : this.head.length }

  get byteLength (): number { return this.bytes }

  get blockCount (): number { return this.blocks.size }

  get (index: number): BlockEntry | undefined { return this.blocks.get(index) }

  /** Indices of the blocks held (complete or arriving), ascending. */
  indices (): number[] { return [...this.blocks.keys()].sort((a, b) => a - b) }

  /** Newest heads first, for {@link import('./replicator.js')} to build proofs. */
  recentHeads (): readonly SignedHead[] { return this.heads }

  private addHead (head: SignedHead): boolean {
    if (this.head !== null && head.length <= this.head.length) return false
    this.head = head
    this.heads.unshift(head)
    if (this.heads.length > RECENT_HEADS) this.heads.pop()
    return true
  }

  /** Broadcaster: stores a block and its tree leaf. Returns the new entry. */
  append (data: Uint8Array, flags: number, now: number): BlockEntry {
    if (data.length === 0) throw outOfRange('data', 'a non-empty block')
    if (data.length > MAX_BLOCK_SIZE) throw new MunroError('ERR_BLOCK_TOO_LARGE', `block of ${data.length} bytes exceeds ${MAX_BLOCK_SIZE}`)
    const index = this.appended++
    const pieces = PieceTree.fromData(data)
    const entry: BlockEntry = {
      index, byteLength: data.length, flags, pieces, data: data.slice(), have: new Uint8Array(pieces.count).fill(1),
      received: pieces.count, verifiedAt: now
    }
    this.tree.add(2 * index, blockHash(data.length, flags, pieces.root))
    this.insert(entry)
    return entry
  }

  /** Broadcaster: signs the head covering every appended block. */
  sign (secretKey: Uint8Array, timestamp: number): SignedHead {
    const head = signHead(this.tree, this.publicKey, secretKey, this.appended, timestamp)
    this.addHead(head)
    return head
  }

  /**
   * Receiver: verifies a block header and its proof. On success the block enters the log
   * (empty, to be filled by pieces) and true is returned; a block already held returns false.
   * A proof lacking a node returns `{ ok: false }`; anything that fails verification throws.
   */
  verifyHeader (
    index: number, byteLength: number, flags: number, pieceRoot: Uint8Array,
    nodes: readonly ProofNode[], head: SignedHead | null, now: number
  ): ProofResult & { added?: BlockEntry } {
    const leaf = blockHash(byteLength, flags, pieceRoot)
    const result = verifyBlock(this.tree, this.publicKey, this.cache, index, leaf, nodes, head)
    if (!result.ok) return result
    if (head !== null) this.addHead(head)
    if (this.blocks.has(index) || index < this.start) return result
    const count = pieceCount(byteLength)
    const entry: BlockEntry = {
      index, byteLength, flags, pieces: PieceTree.fromRoot(count, pieceRoot), data: new Uint8Array(byteLength),
      have: new Uint8Array(count), received: 0, verifiedAt: now
    }
    this.insert(entry)
    return { ok: true, added: entry }
  }

  /**
   * Receiver: verifies one piece of a block whose header verified, and stores it.
   * Returns true when the piece is new. Throws ERR_INVALID_PIECE when it does not verify (with
   * `missingOk`, a piece lacking an uncle is not an error: false, nothing stored).
   */
  addPiece (entry: BlockEntry, k: number, bytes: Uint8Array, uncles: readonly ProofNode[], missingOk = false): boolean {
    if (k >= entry.pieces.count || bytes.length !== pieceLength(entry.byteLength, k)) {
      throw new MunroError('ERR_INVALID_PIECE', `block ${entry.index} piece ${k}: ${bytes.length} bytes, expected ${k < entry.pieces.count ? pieceLength(entry.byteLength, k) : 0}`)
    }
    if (!entry.pieces.verify(k, bytes, uncles, missingOk)) return false
    if (entry.have[k] === 1) return false
    entry.data.set(bytes, k * PIECE_SIZE)
    entry.have[k] = 1
    entry.received++
    return true
  }

  /** Bytes of piece `k` of a held block. */
  pieceBytes (entry: BlockEntry, k: number): Uint8Array {
    return entry.data.subarray(k * PIECE_SIZE, k * PIECE_SIZE + pieceLength(entry.byteLength, k))
  }

  private insert (entry: BlockEntry): void {
    this.blocks.set(entry.index, entry)
    this.bytes += entry.byteLength
  }

  /** Drops every held block (the instance was destroyed); the signed head and length stay. */
  release (): void {
    this.blocks.clear()
    this.bytes = 0
  }

  /**
   * Moves the window start to at least `start` (a late joiner starts at the live edge) and
   * discards blocks past the window limits, oldest first. Returns the discarded indices' range.
   */
  enforceWindow (start = this.start): { from: number, to: number } {
    const from = this.start
    if (start > this.start) this.start = start
    const drop = (i: number): void => {
      const b = this.blocks.get(i)
      if (b === undefined) return
      this.blocks.delete(i)
      this.bytes -= b.byteLength
    }
    for (const i of [...this.blocks.keys()]) if (i < this.start) drop(i)
    // The newest block is always kept, even when it alone exceeds maxBytes.
    const newest = Math.max(this.appended, this.length) - 1
    while (this.start < newest && (newest - this.start + 1 > this.window.maxBlocks || this.bytes > this.window.maxBytes)) {
      drop(this.start++)
    }
    if (this.start > from) this.tree.prune(this.start)
    return { from, to: this.start }
  }
}
