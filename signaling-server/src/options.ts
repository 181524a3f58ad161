/**
 * Options for {@link createSignalingServer}: one object, every limit with its default.
 * Strict by default: the defaults are sized for a public rendezvous server that only introduces
 * peers, never for relaying media.
 */
import { SignalingServerError } from './errors.js'

/** One structured log line. `event` is a stable machine-readable name. */
export interface SignalingLogEntry {
  time: string
  level: 'debug' | 'info' | 'warn' | 'error'
  event: string
  [field: string]: unknown
}

/** Receives each log entry; the default writes JSON lines to stderr. */
export type SignalingLogger = (entry: SignalingLogEntry) => void

/** Options of {@link createSignalingServer}. Omitted fields take {@link DEFAULT_SIGNALING_OPTIONS}. */
export interface SignalingServerOptions {
  /**
   * TCP port; 0 picks a free one.
   * @default 8787
   */
  port: number
  /**
   * Interface to listen on. Loopback by default: exposing the server is a deliberate choice.
   * @default '127.0.0.1'
   */
  host: string
  /**
   * Largest accepted text frame in bytes. 16 KiB fits any SDP offer with many candidates and is
   * the portable data-channel message size, so one limit covers both paths. Frames up to twice
   * this size get an `ERR_MESSAGE_TOO_LARGE` error frame; larger ones are cut off by ws's
   * `maxPayload` (close code 1009) without being buffered.
   * @default 16384
   */
  maxMessageBytes: number
  /**
   * Sustained frames per second per socket (token bucket refill rate). A WebRTC handshake is an
   * offer, an answer and a handful of ICE candidates per peer.
   * @default 20
   */
  messagesPerSecond: number
  /**
   * Token bucket size: frames a socket may send at once (trickled ICE comes in bursts).
   * @default 40
   */
  messageBurst: number
  /**
   * Rooms one socket may be in at once. A page watches one or a few streams.
   * @default 4
   */
  maxRoomsPerSocket: number
  /**
   * Members per room. Join/leave notifications are O(members), so this bounds fan-out.
   * @default 256
   */
  maxPeersPerRoom: number
  /**
   * Other members listed in `joined` besides broadcasters (a random sample). A viewer needs only a
   * few candidate neighbours; listing everyone would leak the audience and cost O(n) per join.
   * @default 20
   */
  peersInJoined: number
  /**
   * Open sockets across the server; further sockets get `ERR_SERVER_FULL` and close code 1013.
   * @default 4096
   */
  maxSockets: number
  /**
   * Error budget per socket: the bad (or rate-limited) frame that reaches this count still gets
   * its `error` frame, then the socket is closed with close code 4001.
   * @default 10
   */
  maxErrorsPerSocket: number
  /**
   * Milliseconds between server pings; a socket that has not answered the previous ping is
   * terminated. 30 s is below typical proxy idle timeouts (60 s).
   * @default 30000
   */
  heartbeatIntervalMs: number
  /**
   * Bytes queued for a socket before it is closed as a slow consumer (close code 4003), so one
   * stalled reader cannot make the server buffer without bound.
   * @default 1048576
   */
  maxBufferedBytes: number
  /**
   * Allowed `Origin` header values (e.g. `'https://example.com'`). When set, upgrades from any
   * other origin, or with no Origin header, are refused with HTTP 403. `null` allows all.
   * @default null
   */
  allowedOrigins: readonly string[] | null
  /**
   * Log sink for JSON-structured entries; `null` silences logging.
   * @default {@link stderrLogger}: one JSON line per entry on stderr, `debug` entries dropped
   */
  log: SignalingLogger | null
}

/** Writes each entry except `debug` ones (per-frame rejects) as one JSON line to stderr. */
export const stderrLogger: SignalingLogger = (entry) => {
  if (entry.level === 'debug') return
  process.stderr.write(JSON.stringify(entry) + '\n')
}

/** Defaults for every {@link SignalingServerOptions} field. */
export const DEFAULT_SIGNALING_OPTIONS: Readonly<SignalingServerOptions> = Object.freeze({
  port: 8787,
  host: '127.0.0.1',
  maxMessageBytes: 16 * 1024,
  messagesPerSecond: 20,
  messageBurst: 40,
  maxRoomsPerSocket: 4,
  maxPeersPerRoom: 256,
  peersInJoined: 20,
  maxSockets: 4096,
  maxErrorsPerSocket: 10,
  heartbeatIntervalMs: 30_000,
  maxBufferedBytes: 1024 * 1024,
  allowedOrigins: null,
  log: stderrLogger
})

const POSITIVE_INTEGER_FIELDS = [
  'maxMessageBytes',
  'messageBurst',
  'maxRoomsPerSocket',
  'maxPeersPerRoom',
  'maxSockets',
  'maxErrorsPerSocket',
  'heartbeatIntervalMs',
  'maxBufferedBytes'
] as const

/**
 * Merges `options` over the defaults once and checks every field.
 * @throws {SignalingServerError} `ERR_INVALID_OPTION` naming the bad field.
 * @example
 * const opts = resolveSignalingOptions({ port: 0, log: null })
 */
export function resolveSignalingOptions(options: Partial<SignalingServerOptions> = {}): SignalingServerOptions {
  if (options === null || typeof options !== 'object') {
    throw new SignalingServerError('ERR_INVALID_OPTION', 'options must be an object')
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
  const opts: SignalingServerOptions = { ...DEFAULT_SIGNALING_OPTIONS, ...defined }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new SignalingServerError('ERR_INVALID_OPTION', `options.port must be an integer in 0..65535, got ${String(opts.port)}`)
  }
  if (typeof opts.host !== 'string' || opts.host.length === 0) {
    throw new SignalingServerError('ERR_INVALID_OPTION', 'options.host must be a non-empty string')
  }
  for (const field of POSITIVE_INTEGER_FIELDS) {
    const value = opts[field]
    if (!Number.isInteger(value) || value < 1) {
      throw new SignalingServerError('ERR_INVALID_OPTION', `options.${field} must be a positive integer, got ${String(value)}`)
    }
  }
  if (typeof opts.messagesPerSecond !== 'number' || !(opts.messagesPerSecond > 0) || !Number.isFinite(opts.messagesPerSecond)) {
    throw new SignalingServerError('ERR_INVALID_OPTION', `options.messagesPerSecond must be a positive number, got ${String(opts.messagesPerSecond)}`)
  }
  if (!Number.isInteger(opts.peersInJoined) || opts.peersInJoined < 0) {
    throw new SignalingServerError('ERR_INVALID_OPTION', `options.peersInJoined must be a non-negative integer, got ${String(opts.peersInJoined)}`)
  }
  if (opts.allowedOrigins !== null && (!Array.isArray(opts.allowedOrigins) || !opts.allowedOrigins.every((o) => typeof o === 'string'))) {
    throw new SignalingServerError('ERR_INVALID_OPTION', 'options.allowedOrigins must be null or an array of strings')
  }
  if (opts.log !== null && typeof opts.log !== 'function') {
    throw new SignalingServerError('ERR_INVALID_OPTION', 'options.log must be a function or null')
  }
  return opts
}
