/**
 * Framing: every message travels as one frame, a varint length then the message, never more
 * than {@link MAX_FRAME_SIZE} bytes in all, so each frame is one safe data-channel message.
 * Over a byte stream (TCP) frames may arrive split or merged; {@link FrameDecoder} reassembles.
 * @module
 */
import { MAX_FRAME_SIZE } from './constants.js'
import { varintLength } from './encoding.js'
import { MunroError } from './errors.js'
import { encodeMessage, type Message } from './messages.js'

/** Encodes a message as one frame. Throws ERR_FRAME_TOO_LARGE if it would not fit (a bug). */
export function encodeFrame (m: Message): Uint8Array {
  const body = encodeMessage(m)
  const total = varintLength(body.length) + body.length
  if (total > MAX_FRAME_SIZE) throw new MunroError('ERR_FRAME_TOO_LARGE', `${m.type} frame of ${total} bytes`)
  const out = new Uint8Array(total)
  let n = body.length
  let pos = 0
  while (n >= 0x80) { out[pos++] = (n & 0x7f) | 0x80; n >>>= 7 }
  out[pos++] = n
  out.set(body, pos)
  return out
}

/** Reassembles frames from arbitrary chunks of a byte stream. */
export class FrameDecoder {
  private pending: Uint8Array = new Uint8Array(0)

  /** Adds bytes; returns the complete message bodies now available, in order. */
  push (chunk: Uint8Array): Uint8Array[] {
    let buf = chunk
    if (this.pending.length > 0) {
      buf = new Uint8Array(this.pending.length + chunk.length)
      buf.set(this.pending)
      buf.set(chunk, this.pending.length)
    }
    const out: Uint8Array[] = []
    let pos = 0
    for (;;) {
      let len = 0
      let shift = 0
      let p = pos
      let complete = false
      while (p < buf.length) {
        const b = buf[p++] as number
        len += (b & 0x7f) * 2 ** shift
        shift += 7
        if ((b & 0x80) === 0) { complete = true; break }
        if (shift > 21) throw new MunroError('ERR_FRAME_TOO_LARGE', 'frame length prefix too long')
      }
      if (!complete) break
      if (len === 0) throw new MunroError('ERR_DECODE', 'empty frame')
      if (len + (p - pos) > MAX_FRAME_SIZE) throw new MunroError('ERR_FRAME_TOO_LARGE', `frame of ${len + (p - pos)} bytes`)
      if (buf.length - p < len) break
      out.push(buf.slice(p, p + len))
      pos = p + len
    }
    this.pending = pos === buf.length ? new Uint8Array(0) : buf.slice(pos)
    return out
  }
}
