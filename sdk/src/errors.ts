/**
 * Typed errors. Every error the library raises carries a stable `code` that callers and
 * tests can switch on; the code also leads the message.
 * @module
 */

/** Every error code munro raises. */
export type MunroErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_NOT_WRITABLE'
  | 'ERR_OUT_OF_WINDOW'
  | 'ERR_DESTROYED'
  | 'ERR_BLOCK_TOO_LARGE'
  | 'ERR_DECODE'
  | 'ERR_FRAME_TOO_LARGE'
  | 'ERR_UNKNOWN_MESSAGE'
  | 'ERR_PROTOCOL'
  | 'ERR_HANDSHAKE'
  | 'ERR_INVALID_SIGNATURE'
  | 'ERR_INVALID_PROOF'
  | 'ERR_INVALID_PIECE'
  | 'ERR_INVALID_METADATA'
  | 'ERR_PEER_CLOSED'

/** An error raised by munro, with a stable {@link MunroErrorCode}. */
export class MunroError extends Error {
  readonly code: MunroErrorCode

  constructor (code: MunroErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options)
    this.name = 'MunroError'
    this.code = code
  }
}

/** True when `err` is a {@link MunroError}, optionally with the given code. */
export function isMunroError (err: unknown, code?: MunroErrorCode): err is MunroError {
  return err instanceof MunroError && (code === undefined || err.code === code)
}

/** Errors that mean a peer sent something that failed verification: the peer is dropped. */
export const VERIFICATION_CODES: ReadonlySet<MunroErrorCode> = new Set<MunroErrorCode>([
  'ERR_INVALID_SIGNATURE', 'ERR_INVALID_PROOF', 'ERR_INVALID_PIECE', 'ERR_INVALID_METADATA'
])

export const invalidArgument = (name: string, expected: string): TypeError & { code: 'ERR_INVALID_ARGUMENT' } =>
  Object.assign(new TypeError(`ERR_INVALID_ARGUMENT: "${name}" expected ${expected}`), { code: 'ERR_INVALID_ARGUMENT' as const })

export const outOfRange = (name: string, expected: string): RangeError & { code: 'ERR_INVALID_ARGUMENT' } =>
  Object.assign(new RangeError(`ERR_INVALID_ARGUMENT: "${name}" expected ${expected}`), { code: 'ERR_INVALID_ARGUMENT' as const })
