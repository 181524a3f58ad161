/**
 * TEST ONLY: a transform over a peer stream's outgoing frames that flips one bit of every
 * PIECE's data, so that a test (or the demo's test switch) can play a malicious peer and watch
 * its neighbours reject it. Never enabled by default.
 * @module
 */
import { Transform } from 'streamx'
import { decodeMessage } from '../messages.js'
import { encodeFrame, FrameDecoder } from '../wire.js'

export function tamperStream (): Transform {
  const decoder = new FrameDecoder()
  return new Transform({
    transform (chunk: unknown, cb) {
      try {
        for (const body of decoder.push(chunk as Uint8Array)) {
          const m = decodeMessage(body)
          if (m.type === 'piece') {
            const data = m.data.slice()
            data[0] = (data[0] as number) ^ 0x01
            this.push(encodeFrame({ ...m, data }))
          } else {
            this.push(encodeFrame(m))
          }
        }
        cb(null, undefined)
      } catch (err) { cb(err as Error, undefined) }
    }
  })
}
