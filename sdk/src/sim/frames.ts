/**
 * Peeks at a frame's message type (and a PIECE's block and piece numbers) without decoding it,
 * so that the simulator can count bytes by message type and spot duplicate pieces cheaply.
 * Type ids are read from the core's own encoder, so they follow the codec.
 * @module
 */
import { encodeMessage, type Message } from '../messages.js'

const samples: Message[] = [
  { type: 'handshake', protocol: 'munro', version: 1, discoveryKey: new Uint8Array(32), windowStart: 0, length: 0 },
  { type: 'have', start: 0, count: 1, headLength: 1 },
  { type: 'request', index: 0, fullProof: false },
  { type: 'cancel', index: 0 },
  { type: 'data', index: 0, byteLength: 1, flags: 0, pieceRoot: new Uint8Array(32), head: null, nodes: [] },
  { type: 'piece', index: 0, piece: 0, uncles: [], data: new Uint8Array(1) },
  { type: 'no-data', index: 0, reason: 1, windowStart: 0 },
  { type: 'metadata', seq: 1, signature: new Uint8Array(64), data: new Uint8Array(1) },
  { type: 'ping', nonce: 1 },
  { type: 'pong', nonce: 1 },
  { type: 'subscribe', start: 0, stripe: 0 },
  { type: 'unsubscribe', stripe: 0 },
  { type: 'choke', stripe: 0 }
]

const names = new Map<number, string>()
for (const m of samples) {
  try { names.set(encodeMessage(m)[0] as number, m.type) } catch { /* a message this core version lacks */ }
}

/** What {@link frameInfo} reads. `index`/`piece` are -1 for anything but a PIECE. */
export interface FrameInfo { type: string, index: number, piece: number }

function varint (buf: Uint8Array, pos: number): [number, number] {
  let n = 0
  let scale = 1
  for (;;) {
    const b = buf[pos++]
    if (b === undefined) return [-1, pos]
    n += (b & 0x7f) * scale
    if ((b & 0x80) === 0) return [n, pos]
    scale *= 128
  }
}

/** Type of the message in `frame` (a length-prefixed frame as a peer stream emits it). */
export function frameInfo (frame: Uint8Array): FrameInfo {
  let [, pos] = varint(frame, 0)
  const id = frame[pos++]
  const type = id === undefined ? 'empty' : (names.get(id) ?? `type${id}`)
  if (type !== 'piece') return { type, index: -1, piece: -1 }
  const [index, p1] = varint(frame, pos)
  const [piece] = varint(frame, p1)
  return { type, index, piece }
}
