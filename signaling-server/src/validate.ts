/**
 * Parses one client text frame into a {@link ClientMessage}, or says exactly why not with an
 * `ERR_*` code. Pure: no sockets, no state, so every malformed case is cheap to test.
 */
import {
  SIGNALING_ERROR_CODES as E,
  isPeerRole,
  isRoomId,
  PEER_ID_PATTERN,
  type ClientMessage,
  type SignalingErrorCode
} from './protocol.js'

/** Result of {@link parseClientMessage}. */
export type ParseResult =
  | { ok: true; message: ClientMessage }
  | { ok: false; code: SignalingErrorCode; message: string; ref?: string; room?: string }

function fail(code: SignalingErrorCode, message: string, ref?: string, room?: string): ParseResult {
  const result: ParseResult = { ok: false, code, message }
  if (ref !== undefined) result.ref = ref
  if (room !== undefined) result.room = room
  return result
}

/**
 * Parses and validates one frame. Unknown extra fields are ignored (forward compatibility).
 * @example
 * parseClientMessage('{"type":"ping"}') // { ok: true, message: { type: 'ping' } }
 */
export function parseClientMessage(text: string): ParseResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return fail(E.BAD_JSON, 'frame is not valid JSON')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail(E.BAD_MESSAGE, 'frame must be a JSON object')
  }
  const frame = value as Record<string, unknown>
  const type = frame.type
  if (typeof type !== 'string') return fail(E.UNKNOWN_TYPE, 'frame has no string "type"')
  const room = typeof frame.room === 'string' && frame.room.length <= 64 ? frame.room : undefined

  switch (type) {
    case 'ping':
      return { ok: true, message: { type } }
    case 'hello':
      if (!Number.isInteger(frame.version)) return fail(E.BAD_MESSAGE, 'hello.version must be an integer', type)
      return { ok: true, message: { type, version: frame.version as number } }
    case 'join':
    case 'leave':
    case 'signal': {
      if (!isRoomId(frame.room)) return fail(E.BAD_ROOM, `${type}.room must be a 64-char lowercase hex discovery key`, type)
      if (type === 'join') {
        const role = frame.role === undefined ? 'viewer' : frame.role
        if (!isPeerRole(role)) return fail(E.BAD_MESSAGE, 'join.role must be "broadcaster" or "viewer"', type, room)
        return { ok: true, message: { type, room: frame.room, role } }
      }
      if (type === 'leave') return { ok: true, message: { type, room: frame.room } }
      if (typeof frame.to !== 'string' || !PEER_ID_PATTERN.test(frame.to)) {
        return fail(E.BAD_MESSAGE, 'signal.to must be a peer id', type, room)
      }
      if (frame.data === undefined) return fail(E.BAD_MESSAGE, 'signal.data is required', type, room)
      return { ok: true, message: { type, room: frame.room, to: frame.to, data: frame.data } }
    }
    default:
      return fail(E.UNKNOWN_TYPE, `unknown type "${type.slice(0, 32)}"`)
  }
}
