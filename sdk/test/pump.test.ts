/**
 * The data-channel pump (swarm/pump.ts): at most DATA_CHANNEL_BUFFER bytes wait in a channel's
 * send buffer; the rest stays in the peer stream (munro's outbox), in order, until the channel
 * reports a low buffer. A channel that cannot report one is piped to as before.
 */
import { EventEmitter } from 'node:events'
import { Duplex, Readable } from 'streamx'
import { describe, expect, it } from 'vitest'
import { DATA_CHANNEL_BUFFER, pumpToPeer } from '../src/swarm/pump.js'

/** A simple-peer stand-in whose channel drains only when the test says so. */
class FakePeer extends EventEmitter {
  destroyed = false
  readonly sent: Uint8Array[] = []
  readonly channel = Object.assign(new EventTarget(), { bufferedAmount: 0, bufferedAmountLowThreshold: 65_536 })
  readonly _channel = this.channel
  get bufferSize (): number { return this.channel.bufferedAmount }
  send (frame: Uint8Array): void {
    this.sent.push(frame)
    this.channel.bufferedAmount += frame.length
  }

  /** The network took `bytes`; fires `bufferedamountlow` when crossing the threshold. */
  drain (bytes: number): void {
    const before = this.channel.bufferedAmount
    this.channel.bufferedAmount = Math.max(0, before - bytes)
    if (before > this.channel.bufferedAmountLowThreshold && this.channel.bufferedAmount <= this.channel.bufferedAmountLowThreshold) {
      this.channel.dispatchEvent(new Event('bufferedamountlow'))
    }
  }

  destroy (): void { this.destroyed = true; this.emit('close') }
}

const frame = (n: number, size = 8 * 1024): Uint8Array => new Uint8Array(size).fill(n)
const tick = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 5)) }

describe('data-channel pump', () => {
  it('keeps at most DATA_CHANNEL_BUFFER (plus one frame) in the channel and sends the rest, in order, as it drains', async () => {
    const peer = new FakePeer()
    const stream = new Readable()
    pumpToPeer(stream as unknown as Duplex, peer as never)
    expect(peer.channel.bufferedAmountLowThreshold).toBe(DATA_CHANNEL_BUFFER / 2)
    for (let i = 0; i < 10; i++) stream.push(frame(i))
    await tick()
    expect(peer.sent.length).toBe(3) // 24 KiB: the third frame crossed 16 KiB
    expect(peer.channel.bufferedAmount).toBeLessThanOrEqual(DATA_CHANNEL_BUFFER + 8 * 1024)
    peer.drain(16 * 1024)
    await tick()
    expect(peer.sent.length).toBe(5)
    for (let k = 0; k < 10; k++) { peer.drain(64 * 1024); await tick() }
    expect(peer.sent.map(f => f[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('stops when the peer closes: nothing more is sent', async () => {
    const peer = new FakePeer()
    const stream = new Readable()
    pumpToPeer(stream as unknown as Duplex, peer as never)
    stream.push(frame(0, 20 * 1024))
    stream.push(frame(1))
    await tick()
    peer.destroy()
    peer.drain(64 * 1024)
    await tick()
    expect(peer.sent.length).toBe(1)
  })

  it('pipes into a peer whose channel has no low-buffer threshold (Node wrtc)', async () => {
    const written: Uint8Array[] = []
    const sink = new Duplex({ write (data: unknown, cb: (err: Error | null) => void) { written.push(data as Uint8Array); cb(null) } })
    Object.assign(sink, { _channel: { addEventListener () {}, removeEventListener () {} } })
    const stream = new Readable()
    pumpToPeer(stream as unknown as Duplex, sink as never)
    for (let i = 0; i < 4; i++) stream.push(frame(i))
    await tick()
    expect(written.map(f => f[0])).toEqual([0, 1, 2, 3])
  })
})
