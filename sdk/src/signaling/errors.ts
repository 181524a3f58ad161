import type { SignalingErrorCode } from './protocol.js'

/** Codes raised by the client itself (the server's wire codes are in `SIGNALING_ERROR_CODES`). */
export type SignalingClientErrorCode =
  /** The client was destroyed; no more sends or events. */
  | 'ERR_DESTROYED'
  /** `send` while not joined (connecting, or reconnecting: peer ids change on reconnect). */
  | 'ERR_NOT_JOINED'
  /** An option or argument is invalid. */
  | 'ERR_INVALID_ARGUMENT'
  /** No WebSocket constructor: not in a browser and none passed in the options. */
  | 'ERR_NO_WEBSOCKET'
  /** The server sent a frame that is not valid protocol. */
  | 'ERR_BAD_SERVER_MESSAGE'
  /** The WebSocket reported an error (the `close` event that follows says more). */
  | 'ERR_CONNECTION'
  /** An event handler threw; the client caught it so signaling keeps working. */
  | 'ERR_HANDLER_THREW'

/**
 * An error raised or surfaced by the signaling client. `code` is stable and also starts the
 * message. For errors the server sent, `code` is the server's wire code and `room`/`ref` are
 * copied from the `error` frame.
 * @example
 * client.on('error', (err) => { if (err.code === 'ERR_ROOM_FULL') showRoomFull() })
 */
export class SignalingError extends Error {
  readonly code: SignalingErrorCode | SignalingClientErrorCode
  readonly room: string | undefined
  readonly ref: string | undefined

  constructor(
    code: SignalingErrorCode | SignalingClientErrorCode,
    message: string,
    details: { room?: string | undefined; ref?: string | undefined; cause?: unknown } = {}
  ) {
    super(`${code}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'SignalingError'
    this.code = code
    this.room = details.room
    this.ref = details.ref
  }
}
