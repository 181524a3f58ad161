/**
 * Generates the committed test vectors of the munro protocol core (`*.json` beside this file):
 * namespace tags, piece roots and block hashes, log roots, one encoded message of each type, and
 * a signed head and metadata from a fixed secret key. `vectors.test.ts` recomputes them and
 * compares; a difference is a protocol change (bump PROTOCOL_VERSION) or a bug.
 *
 * Run: `npx tsx sdk/test/vectors/generate.ts` (rewrites the JSON files).
 */
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { blockHash, discoveryKey, headSignable, metadataSignable, NAMESPACES, PIECE_PAD_HASH, rootsHash, sourceSignable } from '../../src/caps.js'
import { PIECE_SIZE, PROTOCOL_VERSION } from '../../src/constants.js'
import { LogTree, PieceTree } from '../../src/merkle-tree.js'
import { encodeMessage, type Message } from '../../src/messages.js'
import { encodeFrame } from '../../src/wire.js'
import { publicKeyOf, sign, signHead, signSource } from '../../src/verifier.js'
import * as flat from 'flat-tree'

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))

/** The input bytes of vector (length, seed): byte i is (31·i + 7·seed) mod 256. */
export function vectorBytes (length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (31 * i + 7 * seed) & 0xff
  return out
}

/** The fixed secret key of the vectors: bytes 1, 2, …, 32. */
export const VECTOR_SECRET_KEY = Uint8Array.from({ length: 32 }, (_, i) => i + 1)
export const VECTOR_TIMESTAMP = 1_700_000_000_000

/** Replaces every Uint8Array in a value by its hex string. */
export function toJson (v: unknown): unknown {
  if (v instanceof Uint8Array) return hex(v)
  if (Array.isArray(v)) return v.map(toJson)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]))
  return v
}

const PIECE_INPUTS: Array<{ length: number, seed: number, flags: number }> = [
  { length: 1, seed: 0, flags: 0 },
  { length: 5, seed: 1, flags: 1 },
  { length: PIECE_SIZE, seed: 2, flags: 0 },
  { length: PIECE_SIZE + 1, seed: 3, flags: 0 },
  { length: 3 * PIECE_SIZE - 7, seed: 4, flags: 128 },
  { length: 5 * PIECE_SIZE, seed: 5, flags: 255 }
]

/** Block i of the vector log: vectorBytes(10 + i, i), flags 0. */
const logBlock = (i: number): Uint8Array => vectorBytes(10 + i, i)

function logTree (length: number): LogTree {
  const t = new LogTree()
  for (let i = 0; i < length; i++) t.add(2 * i, blockHash(10 + i, 0, PieceTree.fromData(logBlock(i)).root))
  return t
}

/** One message of each type, with every field set to a non-trivial value. */
export function sampleMessages (): Message[] {
  const k = (n: number): Uint8Array => vectorBytes(32, n)
  return [
    { type: 'handshake', protocol: 'munro', version: PROTOCOL_VERSION, discoveryKey: k(1), windowStart: 300, length: 1234, source: true, nonce: vectorBytes(16, 11) },
    { type: 'have', start: 1000, count: 24, headLength: 1024, whole: true },
    { type: 'request', index: 1023, fullProof: true, alone: true },
    { type: 'cancel', index: 129 },
    {
      type: 'data', index: 5, byteLength: 70000, flags: 3, pieceRoot: k(2),
      head: { length: 7, timestamp: VECTOR_TIMESTAMP, signature: vectorBytes(64, 3) },
      nodes: [{ index: 8, hash: k(4) }, { index: 3, hash: k(5) }]
    },
    { type: 'piece', index: 5, piece: 2, uncles: [{ index: 6, hash: k(6) }], data: vectorBytes(40, 7) },
    { type: 'no-data', index: 2, reason: 1, windowStart: 100 },
    { type: 'metadata', seq: 2, signature: vectorBytes(64, 8), data: vectorBytes(20, 9) },
    { type: 'ping', nonce: 4_000_000_000 },
    { type: 'pong', nonce: 7 },
    { type: 'subscribe', start: 4321, stripe: 2 },
    { type: 'unsubscribe', stripe: 1 },
    { type: 'choke', stripe: 3 },
    { type: 'probe', data: vectorBytes(24, 10) },
    { type: 'capacity', perStripe: 6 },
    { type: 'source-proof', signature: vectorBytes(64, 12) }
  ]
}

/** Every vector file's content, by file name. */
export function computeVectors (): Record<string, unknown> {
  const namespaces = Object.fromEntries(Object.entries(NAMESPACES).map(([purpose, tag]) => [purpose, hex(tag)]))
  const publicKey = publicKeyOf(VECTOR_SECRET_KEY)

  const pieces = PIECE_INPUTS.map(({ length, seed, flags }) => {
    const tree = PieceTree.fromData(vectorBytes(length, seed))
    return { length, seed, flags, pieceCount: tree.count, pieceRoot: hex(tree.root), blockHash: hex(blockHash(length, flags, tree.root)) }
  })

  const logs = [1, 2, 3, 4, 5, 7, 8, 13].map((length) => {
    const roots = logTree(length).roots(length) as Uint8Array[]
    return { length, rootIndices: flat.fullRoots(2 * length), roots: roots.map(hex), rootsHash: hex(rootsHash(roots)) }
  })

  const tree = logTree(5)
  const head = signHead(tree, publicKey, VECTOR_SECRET_KEY, 5, VECTOR_TIMESTAMP)
  const metaData = new TextEncoder().encode('video/webm;codecs="vp8,opus"')

  return {
    'caps.json': {
      description: 'Namespace tags (SHA-256 of "munro/v1/" + purpose), the pad hash, and the discovery key of the vector public key.',
      namespaces,
      piecePadHash: hex(PIECE_PAD_HASH),
      publicKey: hex(publicKey),
      discoveryKey: hex(discoveryKey(publicKey))
    },
    'merkle.json': {
      description: 'Piece roots and block hashes of vectorBytes(length, seed) (byte i = (31i + 7seed) mod 256); log roots over blocks i = vectorBytes(10 + i, i), flags 0.',
      pieces,
      logs
    },
    'messages.json': {
      description: 'One message of each type: its fields (bytes as hex), the encoded message, and the frame (varint length + message).',
      messages: sampleMessages().map(m => ({ message: toJson(m), encoded: hex(encodeMessage(m)), frame: hex(encodeFrame(m)) }))
    },
    'signatures.json': {
      description: 'ed25519 over the vector log of 5 blocks with secret key 01..20 (hex), signed metadata, and a source proof over a handshake nonce and a channel binding.',
      secretKey: hex(VECTOR_SECRET_KEY),
      publicKey: hex(publicKey),
      head: {
        length: 5,
        timestamp: VECTOR_TIMESTAMP,
        signable: hex(headSignable(publicKey, 5, VECTOR_TIMESTAMP, tree.roots(5) as Uint8Array[])),
        signature: hex(head.signature)
      },
      metadata: {
        seq: 1,
        data: hex(metaData),
        signable: hex(metadataSignable(publicKey, 1, metaData)),
        signature: hex(sign(metadataSignable(publicKey, 1, metaData), VECTOR_SECRET_KEY))
      },
      source: {
        nonce: hex(vectorBytes(16, 11)),
        channelBinding: hex(vectorBytes(40, 13)),
        signable: hex(sourceSignable(publicKey, vectorBytes(16, 11), vectorBytes(40, 13))),
        signature: hex(signSource(publicKey, VECTOR_SECRET_KEY, vectorBytes(16, 11), vectorBytes(40, 13)))
      }
    }
  }
}

const here = fileURLToPath(new URL('.', import.meta.url))
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [name, content] of Object.entries(computeVectors())) {
    writeFileSync(resolve(here, name), JSON.stringify(content, null, 2) + '\n')
    console.log(`wrote ${name}`)
  }
}
