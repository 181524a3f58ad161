/**
 * Peeks at a frame's message type (and a PIECE's block and piece numbers) without decoding it,
 * so that the simulator can count bytes by message type and spot duplicate pieces cheaply.
 * Type ids come from the core's own codec table.
 * @module
 */
import { MESSAGE_TYPE_IDS } from '../messages.js'

const names = new Map<number, string>(Object.entries(MESSAGE_TYPE_IDS).map(([type, id]) => [id, type]))

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
