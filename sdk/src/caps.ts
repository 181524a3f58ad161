/**
 * Capabilities: the one place that builds every hashed or signed byte string of munro.
 *
 * Every hash input starts with a 32-byte namespace tag, SHA-256("munro/v1/" + purpose), so that
 * a piece leaf can never be confused with a parent, a block, a signed head or metadata, and no
 * signature of this protocol can be replayed as another kind. Signed heads and metadata also bind
 * the stream's public key, so a head of one stream never verifies for another.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { HASH_SIZE } from './constants.js'

const encoder = new TextEncoder()
const tag = (purpose: string): Uint8Array => sha256(encoder.encode(`munro/v1/${purpose}`))

/** Namespace tags, exported for test vectors. */
export const NAMESPACES = Object.freeze({
  pieceLeaf: tag('piece-leaf'),
  pieceParent: tag('piece-parent'),
  piecePad: tag('piece-pad'),
  block: tag('block'),
  logParent: tag('log-parent'),
  roots: tag('roots'),
  head: tag('head'),
  metadata: tag('metadata'),
  discovery: tag('discovery'),
  source: tag('source')
})

function u64 (n: number): Uint8Array {
  const out = new Uint8Array(8)
  const view = new DataView(out.buffer)
  view.setUint32(0, Math.floor(n / 2 ** 32))
  view.setUint32(4, n >>> 0)
  return out
}

function u32 (n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}

function hash (...parts: Uint8Array[]): Uint8Array {
  const h = sha256.create()
  for (const p of parts) h.update(p)
  return h.digest()
}

/** Hash of one piece of a block: a leaf of the block's piece tree. */
export const pieceLeafHash = (data: Uint8Array): Uint8Array => hash(NAMESPACES.pieceLeaf, data)

/** Hash of a piece-tree parent from its children's hashes. */
export const pieceParentHash = (left: Uint8Array, right: Uint8Array): Uint8Array => hash(NAMESPACES.pieceParent, left, right)

/** Hash that stands for a missing leaf when a block's piece count is not a power of two. */
export const PIECE_PAD_HASH: Uint8Array = hash(NAMESPACES.piecePad)

/**
 * A block's hash: a leaf of the log tree. Binds the block's byte length, its application flags
 * and the root of its piece tree, so a block cannot be truncated, extended or re-flagged.
 */
export const blockHash = (byteLength: number, flags: number, pieceRoot: Uint8Array): Uint8Array =>
  hash(NAMESPACES.block, u32(byteLength), Uint8Array.of(flags), pieceRoot)

/** Hash of a log-tree parent from its children's hashes. */
export const logParentHash = (left: Uint8Array, right: Uint8Array): Uint8Array => hash(NAMESPACES.logParent, left, right)

/** Digest of a signed head's roots, in flat-tree order. */
export const rootsHash = (roots: readonly Uint8Array[]): Uint8Array => hash(NAMESPACES.roots, ...roots)

/**
 * The bytes the broadcaster signs for a tree head: stream key, log length, timestamp (ms) and
 * the digest of the roots. A head therefore cannot be replayed at another length or on another
 * stream.
 */
export function headSignable (publicKey: Uint8Array, length: number, timestamp: number, roots: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(HASH_SIZE * 3 + 16)
  out.set(NAMESPACES.head, 0)
  out.set(publicKey, 32)
  out.set(u64(length), 64)
  out.set(u64(timestamp), 72)
  out.set(rootsHash(roots), 80)
  return out
}

/** The bytes the broadcaster signs for stream metadata at sequence number `seq`. */
export function metadataSignable (publicKey: Uint8Array, seq: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HASH_SIZE * 3 + 8)
  out.set(NAMESPACES.metadata, 0)
  out.set(publicKey, 32)
  out.set(u64(seq), 64)
  out.set(hash(data), 72)
  return out
}

/**
 * The bytes the broadcaster signs to prove, on one connection, that it is the stream's source:
 * the stream key, the nonce the other side sent in its handshake (fresh per connection, so a
 * proof cannot be replayed on another) and the digest of the transport's channel binding (empty
 * without one), so that a peer holding a connection to the broadcaster cannot relay the
 * broadcaster's answer to a nonce it passed on.
 */
export function sourceSignable (publicKey: Uint8Array, nonce: Uint8Array, channelBinding: Uint8Array): Uint8Array {
  const out = new Uint8Array(HASH_SIZE * 3 + nonce.length)
  out.set(NAMESPACES.source, 0)
  out.set(publicKey, 32)
  out.set(hash(channelBinding), 64)
  out.set(nonce, 96)
  return out
}

/**
 * The stream's discovery key: what peers and the signaling server use to find each other,
 * without the public key (which lets anyone verify the stream) travelling in the clear.
 */
export const discoveryKey = (publicKey: Uint8Array): Uint8Array => hash(NAMESPACES.discovery, publicKey)
