/**
 * The munro signaling wire protocol, shared by the browser client (`./client.ts`) and the
 * `munro-signaling` server (which imports this file). It must stay free of imports so that
 * neither side drags the other's runtime into its bundle.
 *
 * DEV DOCS
 * --------
 * Transport: one WebSocket, UTF-8 text frames, one JSON object per frame, each with a `type`.
 * Binary frames are rejected. Rooms are keyed by a stream's discovery key (64 lowercase hex
 * characters): the hash of the public key, never the key itself, so the server cannot read the
 * stream it introduces peers for.
 *
 * Session:
 * 1. On connect the server sends `welcome { version, limits }`.
 * 2. The client may send `hello { version }`; a version the server does not speak gets
 *    `error { code: 'ERR_UNSUPPORTED_VERSION' }` and a close with
 *    {@link SIGNALING_CLOSE_CODES}.UNSUPPORTED_VERSION.
 * 3. `join { room, role? }` → `joined { room, peer, peers }`. `peer` is a fresh random id for this
 *    socket in this room only (ids are not linkable across rooms or reconnects). `peers` lists
 *    every broadcaster in the room and a random sample of the other members, up to the server's
 *    `peersInJoined` limit. The other members get `peer-joined { room, peer, role }`.
 * 4. `signal { room, to, data }` is relayed as `signal { room, from, data }` to the member `to` of
 *    the same room; `from` is always set by the server. `data` is opaque JSON (SDP, ICE).
 * 5. `leave { room }` or closing the socket tells the other members `peer-left { room, peer }`.
 * 6. `ping` → `pong` is an application-level keepalive for clients that cannot send WebSocket
 *    pings (browsers). The server itself pings every socket and drops those that miss a pong.
 *
 * Any bad frame gets `error { code, message, room?, ref? }` (codes in {@link SIGNALING_ERROR_CODES})
 * and counts toward a per-socket error budget; past it the server closes the socket with
 * {@link SIGNALING_CLOSE_CODES}.TOO_MANY_ERRORS.
 */

/** Wire protocol version carried by `hello` and `welcome`. Bump on any incompatible change. */
export const SIGNALING_PROTOCOL_VERSION = 1

/** A room id: a stream's discovery key as 64 lowercase hex characters (32 bytes). */
export const ROOM_ID_PATTERN = /^[0-9a-f]{64}$/

/** Peer ids are assigned by the server: lowercase hex, 16 characters (8 random bytes). */
export const PEER_ID_PATTERN = /^[0-9a-f]{16}$/

/** What a peer says it is; lets viewers find the broadcaster (the swarm uses it for topology). */
export type PeerRole = 'broadcaster' | 'viewer'

/** All roles, in a stable order. */
export const PEER_ROLES: readonly PeerRole[] = Object.freeze(['broadcaster', 'viewer'])

/**
 * Stable error codes sent in `error` frames (and used by the client's `SignalingError`).
 * Tests assert these strings; never rename one.
 */
export const SIGNALING_ERROR_CODES = Object.freeze({
  /** The frame was not valid JSON, or was a binary frame. */
  BAD_JSON: 'ERR_BAD_JSON',
  /** Valid JSON, but not an object of the right shape for its `type`. */
  BAD_MESSAGE: 'ERR_BAD_MESSAGE',
  /** `room` is not a 64-character lowercase hex discovery key. */
  BAD_ROOM: 'ERR_BAD_ROOM',
  /** `type` is missing or not one this server knows. */
  UNKNOWN_TYPE: 'ERR_UNKNOWN_TYPE',
  /** More frames per second than the socket's token bucket allows. */
  RATE_LIMIT: 'ERR_RATE_LIMIT',
  /** The room already has its maximum number of members. */
  ROOM_FULL: 'ERR_ROOM_FULL',
  /** This socket is already in its maximum number of rooms. */
  TOO_MANY_ROOMS: 'ERR_TOO_MANY_ROOMS',
  /** `signal`/`leave` for a room this socket has not joined. */
  NOT_IN_ROOM: 'ERR_NOT_IN_ROOM',
  /** `join` for a room this socket is already in. */
  ALREADY_IN_ROOM: 'ERR_ALREADY_IN_ROOM',
  /** `signal.to` is not a member of that room (it may just have left). */
  UNKNOWN_PEER: 'ERR_UNKNOWN_PEER',
  /** The frame is larger than `maxMessageBytes`. */
  MESSAGE_TOO_LARGE: 'ERR_MESSAGE_TOO_LARGE',
  /** The server already holds `maxSockets` sockets; the socket is closed right after. */
  SERVER_FULL: 'ERR_SERVER_FULL',
  /** `hello.version` is not {@link SIGNALING_PROTOCOL_VERSION}; the socket is closed right after. */
  UNSUPPORTED_VERSION: 'ERR_UNSUPPORTED_VERSION'
} as const)

/** One of {@link SIGNALING_ERROR_CODES}. */
export type SignalingErrorCode = (typeof SIGNALING_ERROR_CODES)[keyof typeof SIGNALING_ERROR_CODES]

/**
 * WebSocket close codes the server uses. 4000–4999 is the range RFC 6455 leaves to applications;
 * 1001 and 1013 are the standard "going away" and "try again later".
 * @see https://www.rfc-editor.org/rfc/rfc6455#section-7.4.2
 */
export const SIGNALING_CLOSE_CODES = Object.freeze({
  /** Server shutting down; reconnect to another instance or later. */
  GOING_AWAY: 1001,
  /** Server full (`ERR_SERVER_FULL`); reconnect later. */
  TRY_AGAIN_LATER: 1013,
  /** The socket sent more bad frames than `maxErrorsPerSocket`; do not reconnect blindly. */
  TOO_MANY_ERRORS: 4001,
  /** `hello` carried a protocol version the server does not speak; do not reconnect. */
  UNSUPPORTED_VERSION: 4002,
  /** The socket did not read its frames fast enough (`maxBufferedBytes` exceeded). */
  SLOW_CONSUMER: 4003
} as const)

/** Limits the server announces in `welcome`, so clients can stay inside them. */
export interface SignalingLimits {
  /** Largest accepted frame, in bytes of UTF-8. */
  maxMessageBytes: number
  /** Sustained frames per second per socket. */
  messagesPerSecond: number
  /** Frames a socket may send in a burst above the sustained rate. */
  messageBurst: number
  /** Rooms one socket may be in at once. */
  maxRoomsPerSocket: number
  /** Members one room may hold. */
  maxPeersPerRoom: number
}

/** A member of a room as listed in `joined`. */
export interface PeerInfo {
  id: string
  role: PeerRole
}

// ---- client → server ------------------------------------------------------------------------

/** Optional version announcement; the server closes the socket on a mismatch. */
export interface HelloMessage {
  type: 'hello'
  version: number
}
/** Join a room (a discovery key). `role` defaults to `'viewer'`. */
export interface JoinMessage {
  type: 'join'
  room: string
  role?: PeerRole
}
/** Leave a room; the other members get `peer-left`. */
export interface LeaveMessage {
  type: 'leave'
  room: string
}
/** Relay `data` (opaque JSON: offer, answer, ICE candidate) to member `to` of `room`. */
export interface ClientSignalMessage {
  type: 'signal'
  room: string
  to: string
  data: unknown
}
/** Application-level keepalive; answered with `pong`. */
export interface PingMessage {
  type: 'ping'
}

/** Every frame a client may send. */
export type ClientMessage = HelloMessage | JoinMessage | LeaveMessage | ClientSignalMessage | PingMessage

// ---- server → client ------------------------------------------------------------------------

/** First frame on every socket. */
export interface WelcomeMessage {
  type: 'welcome'
  version: number
  limits: SignalingLimits
}
/** Answer to `join`: this socket's id in the room and some of the other members. */
export interface JoinedMessage {
  type: 'joined'
  room: string
  peer: string
  peers: PeerInfo[]
}
/** Another socket joined a room this socket is in. */
export interface PeerJoinedMessage {
  type: 'peer-joined'
  room: string
  peer: string
  role: PeerRole
}
/** A member left the room (by `leave` or by closing its socket). */
export interface PeerLeftMessage {
  type: 'peer-left'
  room: string
  peer: string
}
/** A relayed signal; `from` is set by the server. */
export interface ServerSignalMessage {
  type: 'signal'
  room: string
  from: string
  data: unknown
}
/** Answer to `ping`. */
export interface PongMessage {
  type: 'pong'
}
/** A rejected frame. `room` is set when the error concerns one; `ref` is the rejected frame's type. */
export interface ErrorMessage {
  type: 'error'
  code: SignalingErrorCode
  message: string
  room?: string
  ref?: string
}

/** Every frame a server may send. */
export type ServerMessage =
  | WelcomeMessage
  | JoinedMessage
  | PeerJoinedMessage
  | PeerLeftMessage
  | ServerSignalMessage
  | PongMessage
  | ErrorMessage

/** `type` values a client may send. */
export const CLIENT_MESSAGE_TYPES: readonly ClientMessage['type'][] = Object.freeze(['hello', 'join', 'leave', 'signal', 'ping'])

/** `type` values a server may send. */
export const SERVER_MESSAGE_TYPES: readonly ServerMessage['type'][] = Object.freeze([
  'welcome',
  'joined',
  'peer-joined',
  'peer-left',
  'signal',
  'pong',
  'error'
])

/**
 * True if `room` is a well-formed room id (discovery key as 64 lowercase hex characters).
 * @example
 * isRoomId('ab'.repeat(32)) // true
 */
export function isRoomId(room: unknown): room is string {
  return typeof room === 'string' && ROOM_ID_PATTERN.test(room)
}

/**
 * True if `role` is a {@link PeerRole}.
 * @example
 * isPeerRole('viewer') // true
 */
export function isPeerRole(role: unknown): role is PeerRole {
  return role === 'broadcaster' || role === 'viewer'
}
