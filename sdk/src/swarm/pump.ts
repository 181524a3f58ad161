/**
 * Moves a munro peer stream's frames onto a simple-peer data channel, keeping at most
 * {@link DATA_CHANNEL_BUFFER} bytes in the channel's send buffer.
 *
 * Why not `stream.pipe(peer)`: simple-peer applies backpressure only above 64 KiB of
 * `bufferedAmount`. Those bytes leave in FIFO order, so every HAVE, REQUEST or block header
 * queued behind them waits until they are sent: at a 1 Mbit/s uplink shared by six peers, about
 * three seconds. Kept short, the backlog waits in munro's outbox instead, where control messages
 * overtake pieces and cancelled blocks are dropped unsent, and the upload meter sees it.
 * @module
 */
import type SimplePeer from 'simple-peer'
import type { Duplex } from 'streamx'

/**
 * Bytes a data channel may hold unsent before the pump waits: one frame. A refill is one
 * event-loop turn away (the channel's `bufferedamountlow` event), far less than the 6.5 ms in
 * which even a 20 Mbit/s uplink sends 16 KiB, so the uplink does not idle.
 */
export const DATA_CHANNEL_BUFFER = 16 * 1024

/** What the pump needs of simple-peer: `send`, `bufferSize`, and the channel for its event. */
interface ChannelLike {
  bufferedAmountLowThreshold: number
  addEventListener: (type: 'bufferedamountlow', listener: () => void) => void
  removeEventListener: (type: 'bufferedamountlow', listener: () => void) => void
}

/** The peer's data channel, if it can signal a low send buffer (browsers; not Node's wrtc). */
function channelOf (peer: SimplePeer.Instance): ChannelLike | null {
  const channel = (peer as unknown as { _channel?: ChannelLike | null })._channel
  if (channel === undefined || channel === null) return null
  return typeof channel.addEventListener === 'function' && typeof channel.bufferedAmountLowThreshold === 'number' ? channel : null
}

/**
 * The peer's unsent bytes for `peerStream({ bufferedAmount })`, where the pump manages the
 * channel; undefined elsewhere (Node's wrtc: reading a closing channel's buffer there is not
 * safe, and its pipe buffers anyway).
 */
export function bufferedAmountOf (peer: SimplePeer.Instance): (() => number) | undefined {
  if (channelOf(peer) === null) return undefined
  return () => peer.destroyed ? 0 : peer.bufferSize
}

/**
 * Pumps `stream` (connected) into `peer` until either closes; closing the other side is the
 * caller's (the swarm drops the connection on either's `close`). Falls back to
 * `stream.pipe(peer)` when the peer's channel cannot signal a low buffer.
 */
export function pumpToPeer (stream: Duplex, peer: SimplePeer.Instance): void {
  const channel = channelOf(peer)
  if (channel === null) {
    // A pipe callback makes streamx handle (not throw) a premature close on either side.
    stream.pipe(peer as unknown as NodeJS.WritableStream, () => {})
    return
  }
  // simple-peer sets the threshold to its 64 KiB; it only uses the event for its own write path,
  // which the pump does not use.
  channel.bufferedAmountLowThreshold = DATA_CHANNEL_BUFFER / 2
  let paused = false
  const resume = (): void => {
    if (!paused || peer.destroyed) return
    paused = false
    stream.resume()
  }
  channel.addEventListener('bufferedamountlow', resume)
  stream.on('data', (frame: unknown) => {
    if (peer.destroyed) return
    try {
      peer.send(frame as Uint8Array)
    } catch (err) {
      peer.destroy(err as Error)
      return
    }
    if (peer.bufferSize > DATA_CHANNEL_BUFFER) {
      paused = true
      stream.pause()
    }
  })
  const stop = (): void => { channel.removeEventListener('bufferedamountlow', resume) }
  stream.on('close', stop)
  peer.on('close', stop)
}
