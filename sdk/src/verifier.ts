/**
 * Verification of what peers send: a block's hash against the log tree and a signed head, and
 * stream metadata against its signature. Pure functions over a {@link LogTree}; nothing is
 * written to the tree unless the whole proof verified.
 *
 * Order of checks for a block: hash path (using held nodes and the sent uncles) → the roots of
 * the signed head → the head's ed25519 signature (skipped when this exact signature over these
 * exact bytes verified before, see {@link SignatureCache}).
 * @module
 */
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import * as flat from 'flat-tree'
import { headSignable, logParentHash, metadataSignable, sourceSignable } from './caps.js'
import { SIGNATURE_CACHE_SIZE } from './constants.js'
import { MunroError } from './errors.js'
import { equalBytes, LogTree, rootFor, type ProofNode } from './merkle-tree.js'

// noble-ed25519 v3 needs a sync SHA-512 for its sync API.
ed.hashes.sha512 = sha512

/** A tree head as signed by the broadcaster. */
export interface SignedHead {
  /** Number of blocks the head covers. */
  length: number
  /** Broadcaster's clock (ms since the epoch) when it signed. */
  timestamp: number
  signature: Uint8Array
}

/** Result of checking a proof: either verified, or the proof lacked a node the receiver needs. */
export type ProofResult = { ok: true } | { ok: false, missing: number }

/**
 * Bytes as a string of char codes 0–255, a Map key, built in one call: appended a character at a
 * time, V8 keeps a string as a chain of one node per character (about 32 bytes each), and a
 * full cache of such keys held 1.7 MB per peer where flat ones hold about 60 KB. The inputs are
 * signatures, keys and signed byte strings of at most a few hundred bytes.
 */
const toKey = (bytes: Uint8Array): string => String.fromCharCode(...bytes)

/** ed25519 verification that answers false (never throws) for malformed input. */
function edVerify (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try { return ed.verify(signature, message, publicKey) } catch { return false }
}

/**
 * Remembers signatures that verified, with the exact bytes they signed, so that a head arriving
 * again from another peer (or for another block) is not verified twice. Bounded, oldest out.
 * One cache may be shared by many peers of one process (the simulator does, and says so).
 */
export class SignatureCache {
  private readonly seen = new Map<string, string>()
  /** Number of ed25519 verifications actually run (for stats and benchmarks). */
  verifications = 0
  hits = 0

  constructor (private readonly capacity = SIGNATURE_CACHE_SIZE) {}

  /** Verifies `signature` over `message` by `publicKey`, from the cache when possible. */
  verify (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    const key = toKey(signature) + toKey(publicKey)
    const msg = toKey(message)
    if (this.seen.get(key) === msg) { this.hits++; return true }
    this.verifications++
    if (!edVerify(signature, message, publicKey)) return false
    this.seen.set(key, msg)
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value as string)
    return true
  }

  /** Signatures remembered. */
  get size (): number { return this.seen.size }

  /** Forgets every signature (counters are kept). */
  clear (): void { this.seen.clear() }
}

/** Signs with the broadcaster's secret key. */
export const sign = (message: Uint8Array, secretKey: Uint8Array): Uint8Array => ed.sign(message, secretKey)

/** A fresh ed25519 key pair. */
export function generateKeyPair (): { publicKey: Uint8Array, secretKey: Uint8Array } {
  return ed.keygen()
}

/** Public key of an ed25519 secret key. */
export const publicKeyOf = (secretKey: Uint8Array): Uint8Array => ed.getPublicKey(secretKey)

function indexNodes (nodes: readonly ProofNode[]): Map<number, Uint8Array> {
  const given = new Map<number, Uint8Array>()
  for (const n of nodes) given.set(n.index, n.hash)
  return given
}

/**
 * Climbs from block `index`'s leaf, computing parents from held nodes and `given` uncles, until
 * `stop(n)` or a held node is reached (held nodes are compared: a mismatch is ERR_INVALID_PROOF).
 * Returns the nodes it would add, the node it ended at and that node's hash, or the missing node.
 */
function climb (tree: LogTree, index: number, leafHash: Uint8Array, given: Map<number, Uint8Array>, top: number | null):
{ add: Array<[number, Uint8Array]>, node: number, hash: Uint8Array } | { missing: number } {
  const add: Array<[number, Uint8Array]> = []
  let n = 2 * index
  let h = leafHash
  for (;;) {
    const held = tree.get(n)
    if (held !== undefined && !equalBytes(held, h)) {
      throw new MunroError('ERR_INVALID_PROOF', `block ${index}: node ${n} does not match the verified tree`)
    }
    if (held === undefined) add.push([n, h])
    if (n === top || (top === null && held !== undefined)) return { add, node: n, hash: h }
    if (top === null && flat.depth(n) > 52) return { missing: n }
    const s = flat.sibling(n)
    let sh = tree.get(s)
    if (sh === undefined && (sh = given.get(s)) !== undefined) add.push([s, sh])
    if (sh === undefined) return { missing: s }
    h = n < s ? logParentHash(h, sh) : logParentHash(sh, h)
    n = flat.parent(n)
  }
}

/**
 * Verifies block `index` with hash `leafHash`. With a `head`, the block is checked against that
 * signed head (which must cover it); without one, against a node the receiver already holds.
 * On success every node on the way (and the head's roots) is added to `tree`.
 *
 * @throws MunroError ERR_INVALID_PROOF (a hash does not match), ERR_INVALID_SIGNATURE (the
 *   head's signature does not verify over the computed roots).
 */
export function verifyBlock (
  tree: LogTree, publicKey: Uint8Array, cache: SignatureCache,
  index: number, leafHash: Uint8Array, nodes: readonly ProofNode[], head: SignedHead | null
): ProofResult {
  const given = indexNodes(nodes)
  if (head === null) {
    const path = climb(tree, index, leafHash, given, null)
    if ('missing' in path) return { ok: false, missing: path.missing }
    for (const [n, h] of path.add) tree.add(n, h)
    return { ok: true }
  }
  if (head.length <= index) {
    throw new MunroError('ERR_INVALID_PROOF', `block ${index} sent with a head of length ${head.length}`)
  }
  const top = rootFor(index, head.length)
  const path = climb(tree, index, leafHash, given, top)
  if ('missing' in path) return { ok: false, missing: path.missing }
  const rootIndices = flat.fullRoots(2 * head.length)
  const roots: Uint8Array[] = []
  for (const r of rootIndices) {
    const h = r === top ? path.hash : (tree.get(r) ?? given.get(r))
    if (h === undefined) return { ok: false, missing: r }
    roots.push(h)
  }
  const signable = headSignable(publicKey, head.length, head.timestamp, roots)
  if (!cache.verify(head.signature, signable, publicKey)) {
    throw new MunroError('ERR_INVALID_SIGNATURE', `head of length ${head.length} does not verify for block ${index}`)
  }
  for (const [n, h] of path.add) tree.add(n, h)
  rootIndices.forEach((r, i) => { if (!tree.has(r)) tree.add(r, roots[i] as Uint8Array) })
  return { ok: true }
}

/** Signs the head of a log of `length` blocks whose roots `tree` holds. */
export function signHead (tree: LogTree, publicKey: Uint8Array, secretKey: Uint8Array, length: number, timestamp: number): SignedHead {
  const roots = tree.roots(length)
  if (roots === null) throw new MunroError('ERR_PROTOCOL', `cannot sign length ${length}: roots missing`)
  return { length, timestamp, signature: sign(headSignable(publicKey, length, timestamp, roots), secretKey) }
}

/** Verifies signed stream metadata; throws ERR_INVALID_METADATA when it does not verify. */
export function verifyMetadata (cache: SignatureCache, publicKey: Uint8Array, seq: number, data: Uint8Array, signature: Uint8Array): void {
  if (!cache.verify(signature, metadataSignable(publicKey, seq, data), publicKey)) {
    throw new MunroError('ERR_INVALID_METADATA', `metadata ${seq} does not verify`)
  }
}

/**
 * The broadcaster's SOURCE_PROOF signature for a connection whose remote sent `nonce`, with the
 * transport's `channelBinding` (empty without one).
 */
export const signSource = (publicKey: Uint8Array, secretKey: Uint8Array, nonce: Uint8Array, channelBinding: Uint8Array): Uint8Array =>
  sign(sourceSignable(publicKey, nonce, channelBinding), secretKey)

/**
 * Verifies a SOURCE_PROOF over the nonce we sent; throws ERR_INVALID_SIGNATURE when it does not
 * verify. Not cached: each proof signs a fresh nonce and is checked once.
 */
export function verifySource (publicKey: Uint8Array, nonce: Uint8Array, channelBinding: Uint8Array, signature: Uint8Array): void {
  if (!edVerify(signature, sourceSignable(publicKey, nonce, channelBinding), publicKey)) throw new MunroError('ERR_INVALID_SIGNATURE', 'source proof does not verify for this stream and connection')
}

/**
 * The proof a holder of `tree` sends so that a peer holding the nodes `peerHolds` accepts block
 * `index`: the uncles on the way up to `top` (a root of the attached head), plus the head's
 * other roots; or, with no head (`top` null), the uncles up to the first node the peer holds.
 * Returns null when this tree lacks a needed node (try another head).
 */
export function buildProof (tree: LogTree, index: number, headLength: number | null, peerHolds: (n: number) => boolean): ProofNode[] | null {
  const out: ProofNode[] = []
  const top = headLength === null ? null : rootFor(index, headLength)
  let n = 2 * index
  for (;;) {
    if (n === top || (top === null && peerHolds(n))) break
    if (top === null && flat.depth(n) > 52) return null
    const s = flat.sibling(n)
    if (!peerHolds(s)) {
      const h = tree.get(s)
      if (h === undefined) return null
      out.push({ index: s, hash: h })
    }
    n = flat.parent(n)
  }
  if (headLength !== null) {
    for (const r of flat.fullRoots(2 * headLength)) {
      if (r === top || peerHolds(r)) continue
      const h = tree.get(r)
      if (h === undefined) return null
      out.push({ index: r, hash: h })
    }
  }
  return out
}
