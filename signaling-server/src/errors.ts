/** Codes of errors the server library throws to its caller (not sent on the wire). */
export type SignalingServerErrorCode = 'ERR_INVALID_OPTION' | 'ERR_LISTEN' | 'ERR_CLOSED'

/**
 * An error thrown by the server library, with a stable `code` that is also in the message.
 * @example
 * try { await createSignalingServer({ port: -1 }) } catch (err) { err.code === 'ERR_INVALID_OPTION' }
 */
export class SignalingServerError extends Error {
  readonly code: SignalingServerErrorCode

  constructor(code: SignalingServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options)
    this.name = 'SignalingServerError'
    this.code = code
  }
}
