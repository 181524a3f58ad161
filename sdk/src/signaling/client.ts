/**
 * Signaling client: joins one room (a stream's discovery key) on a `munro-signaling` server,
 * relays WebRTC signals to named peers, and reconnects with exponential backoff and jitter.
 * Browser-first: uses `globalThis.WebSocket` unless a constructor is passed (Node: `ws`).
 * No Node-only imports here.
 *
 * DEV DOCS
 * --------
 * States: `connecting` → (`open` →) `joined`; any close → `waiting` (backoff timer) →
 * `connecting`; a fatal error (protocol version mismatch) → `stopped`; `destroy()` → `destroyed`
 * from anywhere. Peer ids are per socket and per room, so
 * after a reconnect the client has a new id, `peers` is rebuilt from the new `joined`, and every
 * earlier peer id is stale (the swarm should drop its half-made connections).
 *
 * Liveness: browsers cannot see WebSocket pings, so the client sends an application `ping` every
 * `pingIntervalMs`; if nothing at all arrives for more than two intervals the socket is presumed
 * dead and replaced (detected within three intervals).
 *
 * Every event handler runs inside try/catch: a throwing handler is reported as an
 * `ERR_HANDLER_THREW` error event and never breaks the socket loop.
 */
import mitt, { type Emitter, type Handler } from 'mitt'
import { SignalingError } from './errors.js'
import {
  SIGNALING_CLOSE_CODES,
  SIGNALING_ERROR_CODES,
  SIGNALING_PROTOCOL_VERSION,
  isPeerRole,
  isRoomId,
  type ClientMessage,
  type PeerInfo,
  type PeerRole,
  type SignalingLimits
} from './protocol.js'

/** A listener type checked bivariantly, so both DOM `WebSocket` and `ws` instances fit. */
type Listener<E> = { bivarianceHack(event: E): void }['bivarianceHack']

/** The part of the WebSocket API the client uses (DOM `WebSocket` and `ws` both provide it). */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: Listener<unknown> | null
  onmessage: Listener<{ data: unknown }> | null
  onclose: Listener<{ code: number; reason: string }> | null
  onerror: Listener<unknown> | null
}

/** A WebSocket constructor: `globalThis.WebSocket` in browsers, `ws`'s default export in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike

/** Timer functions, injectable for tests. */
export interface SignalingTimers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** Options of {@link createSignalingClient}. */
export interface SignalingClientOptions {
  /** Server URL, `ws://` or `wss://`. Required. */
  url: string
  /** Room to join: the stream's discovery key (64 lowercase hex chars), never its public key. Required. */
  room: string
  /**
   * How this peer presents itself to the room.
   * @default 'viewer'
   */
  role: PeerRole
  /**
   * WebSocket constructor. Required in Node 20 (pass `ws`'s default export).
   * @default globalThis.WebSocket
   */
  WebSocket: WebSocketConstructor | undefined
  /**
   * First reconnect delay in ms. Short, because most drops are a server restart or a blip.
   * @default 500
   */
  backoffInitialMs: number
  /**
   * Largest reconnect delay in ms, so a recovered server is found within seconds.
   * @default 15000
   */
  backoffMaxMs: number
  /**
   * Growth of the delay per failed attempt.
   * @default 2
   */
  backoffFactor: number
  /**
   * Fraction of each delay that is randomised away (0..1), so that the viewers of a restarted
   * server do not all reconnect in the same instant.
   * @default 0.5
   */
  backoffJitter: number
  /**
   * Interval of application-level pings in ms; 0 disables them (and dead-socket detection).
   * Below common proxy idle timeouts (60 s).
   * @default 25000
   */
  pingIntervalMs: number
  /**
   * Random source in [0, 1) for jitter.
   * @default Math.random
   */
  random: () => number
  /**
   * Timer functions.
   * @default globalThis.setTimeout / globalThis.clearTimeout
   */
  timers: SignalingTimers
}

/** Defaults for every optional {@link SignalingClientOptions} field. */
export const DEFAULT_SIGNALING_CLIENT_OPTIONS: Readonly<Omit<SignalingClientOptions, 'url' | 'room' | 'WebSocket' | 'timers' | 'random'>> =
  Object.freeze({
    role: 'viewer',
    backoffInitialMs: 500,
    backoffMaxMs: 15_000,
    backoffFactor: 2,
    backoffJitter: 0.5,
    pingIntervalMs: 25_000
  })

/** Events of a {@link SignalingClient}; every payload is an object (or the error). */
export type SignalingClientEvents = {
  /** Joined the room (also after every reconnect, with a new `peer` id). */
  joined: { room: string; peer: string; peers: PeerInfo[] }
  /** Another peer joined the room. */
  'peer-joined': { room: string; peer: string; role: PeerRole }
  /** A peer left the room. */
  'peer-left': { room: string; peer: string }
  /** A signal relayed from `from` (opaque JSON). */
  signal: { room: string; from: string; data: unknown }
  /** A server `error` frame or a client-side problem; never thrown. */
  error: SignalingError
  /** The socket closed; `willReconnect` says whether a reconnect is scheduled. */
  close: { code: number; reason: string; willReconnect: boolean }
  /** A reconnect is scheduled in `delayMs` (attempt counts from 1). */
  reconnecting: { attempt: number; delayMs: number }
}

/**
 * Lifecycle state of a {@link SignalingClient}. `waiting` is the backoff before a reconnect;
 * `stopped` means a fatal error (unsupported protocol version) ended reconnecting.
 */
export type SignalingClientState = 'connecting' | 'open' | 'joined' | 'waiting' | 'stopped' | 'destroyed'

/** A connected (or reconnecting) member of one room. */
export interface SignalingClient {
  /** Current state. */
  readonly state: SignalingClientState
  /** This peer's id in the room, or null while not joined. Changes on every reconnect. */
  readonly peerId: string | null
  /** Peers known in the room (from `joined` and `peer-joined`, minus `peer-left`), id → role. */
  readonly peers: ReadonlyMap<string, PeerRole>
  /** Limits announced by the server in its `welcome`, or null before the first one. */
  readonly limits: SignalingLimits | null
  /** Subscribes to an event. */
  on<K extends keyof SignalingClientEvents>(type: K, handler: Handler<SignalingClientEvents[K]>): void
  /** Unsubscribes. */
  off<K extends keyof SignalingClientEvents>(type: K, handler: Handler<SignalingClientEvents[K]>): void
  /**
   * Sends `data` (JSON-serialisable) to peer `to` in the room.
   * @throws {SignalingError} `ERR_NOT_JOINED`, `ERR_DESTROYED`, `ERR_INVALID_ARGUMENT`, or
   *   `ERR_MESSAGE_TOO_LARGE` if the frame would exceed the server's limit.
   */
  send(to: string, data: unknown): void
  /** Closes the socket and stops reconnecting. Idempotent. */
  destroy(): void
}

const WS_OPEN = 1
/** Close code the client uses when it drops a socket itself (dead connection, fatal error). */
const CLIENT_DROP_CODE = 4900
const encoder = new TextEncoder()

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

class Client implements SignalingClient {
  private readonly _opts: SignalingClientOptions
  private readonly _WebSocket: WebSocketConstructor
  private readonly _emitter: Emitter<SignalingClientEvents> = mitt<SignalingClientEvents>()
  private readonly _peers = new Map<string, PeerRole>()
  private _ws: WebSocketLike | null = null
  private _state: SignalingClientState = 'connecting'
  private _peerId: string | null = null
  private _limits: SignalingLimits | null = null
  private _attempt = 0
  private _reconnectTimer: unknown = null
  private _pingTimer: unknown = null
  private _lastFrameAt = 0
  private _fatal = false

  constructor(opts: SignalingClientOptions, WebSocketCtor: WebSocketConstructor) {
    this._opts = opts
    this._WebSocket = WebSocketCtor
    this._connect()
  }

  get state(): SignalingClientState {
    return this._state
  }
  get peerId(): string | null {
    return this._peerId
  }
  get peers(): ReadonlyMap<string, PeerRole> {
    return this._peers
  }
  get limits(): SignalingLimits | null {
    return this._limits
  }

  on<K extends keyof SignalingClientEvents>(type: K, handler: Handler<SignalingClientEvents[K]>): void {
    this._emitter.on(type, handler)
  }

  off<K extends keyof SignalingClientEvents>(type: K, handler: Handler<SignalingClientEvents[K]>): void {
    this._emitter.off(type, handler)
  }

  send(to: string, data: unknown): void {
    if (this._state === 'destroyed') throw new SignalingError('ERR_DESTROYED', 'client is destroyed')
    if (typeof to !== 'string' || to.length === 0) throw new SignalingError('ERR_INVALID_ARGUMENT', 'to must be a peer id string')
    if (data === undefined) throw new SignalingError('ERR_INVALID_ARGUMENT', 'data must be JSON-serialisable, got undefined')
    if (this._state !== 'joined' || !this._ws) throw new SignalingError('ERR_NOT_JOINED', `cannot send while ${this._state}`)
    const text = JSON.stringify({ type: 'signal', room: this._opts.room, to, data } satisfies ClientMessage)
    const max = this._limits?.maxMessageBytes
    if (max !== undefined && encoder.encode(text).length > max) {
      throw new SignalingError(SIGNALING_ERROR_CODES.MESSAGE_TOO_LARGE, `signal frame exceeds the server's ${max} bytes`)
    }
    this._ws.send(text)
  }

  destroy(): void {
    if (this._state === 'destroyed') return
    const hadSocket = this._ws !== null
    this._clearTimers()
    this._detach(1000, 'client destroyed')
    this._state = 'destroyed'
    this._peerId = null
    this._peers.clear()
    if (hadSocket) this._emit('close', { code: 1000, reason: 'client destroyed', willReconnect: false })
    this._emitter.all.clear()
  }

  // ---- connection lifecycle ---------------------------------------------------------------

  private _connect(): void {
    this._state = 'connecting'
    let ws: WebSocketLike
    try {
      ws = new this._WebSocket(this._opts.url)
    } catch (err) {
      this._emit('error', new SignalingError('ERR_CONNECTION', `cannot open ${this._opts.url}: ${(err as Error).message}`, { cause: err }))
      this._scheduleReconnect()
      return
    }
    this._ws = ws
    ws.onopen = () => this._onopen()
    ws.onmessage = (event) => this._onmessage(event.data)
    ws.onerror = () => this._emit('error', new SignalingError('ERR_CONNECTION', `WebSocket error on ${this._opts.url}`))
    ws.onclose = (event) => this._onclose(event.code, event.reason)
  }

  private _onopen(): void {
    this._state = 'open'
    this._lastFrameAt = Date.now()
    this._write({ type: 'hello', version: SIGNALING_PROTOCOL_VERSION })
    this._write({ type: 'join', room: this._opts.room, role: this._opts.role })
    this._armPing()
  }

  private _onclose(code: number, reason: string): void {
    this._ws = null
    this._clearTimers()
    this._peerId = null
    this._peers.clear()
    const willReconnect = !this._fatal && code !== SIGNALING_CLOSE_CODES.UNSUPPORTED_VERSION
    if (!willReconnect) this._fatal = true
    this._state = willReconnect ? 'waiting' : 'stopped'
    this._emit('close', { code, reason, willReconnect })
    if (willReconnect && this.state === 'waiting') this._scheduleReconnect() // unless a handler destroyed us
  }

  /** Removes our handlers from the current socket and closes it, without emitting. */
  private _detach(code: number, reason: string): void {
    const ws = this._ws
    if (!ws) return
    this._ws = null
    ws.onopen = ws.onmessage = ws.onclose = null
    // Closing a socket still connecting makes it fail the handshake with an `error` event; in
    // Node's ws an unhandled one is thrown (an uncaught exception), so keep a listener that
    // ignores it.
    ws.onerror = () => {}
    try {
      ws.close(code, reason)
    } catch {
      // Already closing or closed.
    }
  }

  /** Drops the current socket as if it had closed with `code`, then follows the usual close path. */
  private _drop(code: number, reason: string): void {
    if (!this._ws) return
    this._detach(code, reason)
    this._onclose(code, reason)
  }

  private _scheduleReconnect(): void {
    if (this._state === 'destroyed') return
    this._state = 'waiting'
    this._attempt++
    const o = this._opts
    const base = Math.min(o.backoffMaxMs, o.backoffInitialMs * o.backoffFactor ** (this._attempt - 1))
    const delayMs = Math.round(base * (1 - o.backoffJitter * o.random()))
    this._reconnectTimer = o.timers.setTimeout(() => {
      this._reconnectTimer = null
      if (this._state === 'waiting') this._connect()
    }, delayMs)
    this._emit('reconnecting', { attempt: this._attempt, delayMs })
  }

  private _armPing(): void {
    const interval = this._opts.pingIntervalMs
    if (interval <= 0) return
    this._pingTimer = this._opts.timers.setTimeout(() => {
      this._pingTimer = null
      if (!this._ws || this._ws.readyState !== WS_OPEN) return
      if (Date.now() - this._lastFrameAt > 2 * interval) {
        this._drop(CLIENT_DROP_CODE, 'no frames from server')
        return
      }
      this._write({ type: 'ping' })
      this._armPing()
    }, interval)
  }

  private _clearTimers(): void {
    if (this._reconnectTimer !== null) this._opts.timers.clearTimeout(this._reconnectTimer)
    if (this._pingTimer !== null) this._opts.timers.clearTimeout(this._pingTimer)
    this._reconnectTimer = this._pingTimer = null
  }

  private _write(message: ClientMessage): void {
    if (this._ws && this._ws.readyState === WS_OPEN) this._ws.send(JSON.stringify(message))
  }

  // ---- frames -----------------------------------------------------------------------------

  private _onmessage(raw: unknown): void {
    this._lastFrameAt = Date.now()
    let frame: unknown
    try {
      frame = typeof raw === 'string' ? JSON.parse(raw) : undefined
    } catch {
      frame = undefined
    }
    if (!isObject(frame) || typeof frame.type !== 'string') {
      this._emit('error', new SignalingError('ERR_BAD_SERVER_MESSAGE', 'server frame is not a JSON object with a type'))
      return
    }
    const room = this._opts.room
    if (frame.room !== undefined && frame.room !== room) return // not ours (cannot happen with one room per socket)
    switch (frame.type) {
      case 'welcome':
        return this._onwelcome(frame)
      case 'joined':
        return this._onjoined(frame)
      case 'peer-joined':
        if (typeof frame.peer !== 'string' || !isPeerRole(frame.role)) return this._badFrame('peer-joined')
        this._peers.set(frame.peer, frame.role)
        return this._emit('peer-joined', { room, peer: frame.peer, role: frame.role })
      case 'peer-left':
        if (typeof frame.peer !== 'string') return this._badFrame('peer-left')
        this._peers.delete(frame.peer)
        return this._emit('peer-left', { room, peer: frame.peer })
      case 'signal':
        if (typeof frame.from !== 'string' || frame.data === undefined) return this._badFrame('signal')
        return this._emit('signal', { room, from: frame.from, data: frame.data })
      case 'error':
        return this._onerror(frame)
      default:
        return // 'pong', or a newer server's frame: ignored for forward compatibility
    }
  }

  private _onwelcome(frame: Record<string, unknown>): void {
    if (frame.version !== SIGNALING_PROTOCOL_VERSION) {
      this._fatal = true
      this._emit(
        'error',
        new SignalingError(SIGNALING_ERROR_CODES.UNSUPPORTED_VERSION, `server speaks protocol ${String(frame.version)}, client ${SIGNALING_PROTOCOL_VERSION}`)
      )
      this._drop(SIGNALING_CLOSE_CODES.UNSUPPORTED_VERSION, 'unsupported protocol version')
      return
    }
    if (isObject(frame.limits) && typeof frame.limits.maxMessageBytes === 'number') {
      this._limits = frame.limits as unknown as SignalingLimits
    }
  }

  private _onjoined(frame: Record<string, unknown>): void {
    if (typeof frame.peer !== 'string' || !Array.isArray(frame.peers)) return this._badFrame('joined')
    const peers: PeerInfo[] = []
    this._peers.clear()
    for (const p of frame.peers as unknown[]) {
      if (isObject(p) && typeof p.id === 'string' && isPeerRole(p.role)) {
        peers.push({ id: p.id, role: p.role })
        this._peers.set(p.id, p.role)
      }
    }
    this._peerId = frame.peer
    this._state = 'joined'
    this._attempt = 0
    this._emit('joined', { room: this._opts.room, peer: frame.peer, peers })
  }

  private _onerror(frame: Record<string, unknown>): void {
    const code = typeof frame.code === 'string' ? frame.code : 'ERR_BAD_SERVER_MESSAGE'
    const message = typeof frame.message === 'string' ? frame.message : 'server error'
    const ref = typeof frame.ref === 'string' ? frame.ref : undefined
    const err = new SignalingError(code as SignalingError['code'], message, {
      room: typeof frame.room === 'string' ? frame.room : undefined,
      ref
    })
    this._emit('error', err)
    if (code === SIGNALING_ERROR_CODES.UNSUPPORTED_VERSION) {
      this._fatal = true
    } else if (ref === 'join' && this._state === 'open') {
      // Room full (or another join refusal): retry the join on a fresh socket after a backoff.
      this._drop(CLIENT_DROP_CODE, `join refused: ${code}`)
    }
  }

  private _badFrame(type: string): void {
    this._emit('error', new SignalingError('ERR_BAD_SERVER_MESSAGE', `malformed "${type}" frame from server`))
  }

  /** Calls each handler in its own try/catch so one throwing handler cannot break the client. */
  private _emit<K extends keyof SignalingClientEvents>(type: K, payload: SignalingClientEvents[K]): void {
    const handlers = this._emitter.all.get(type)
    if (!handlers) return
    for (const handler of [...handlers] as Handler<SignalingClientEvents[K]>[]) {
      try {
        handler(payload)
      } catch (err) {
        if (type !== 'error') this._emit('error', new SignalingError('ERR_HANDLER_THREW', `a "${String(type)}" handler threw: ${(err as Error)?.message ?? String(err)}`, { cause: err }))
      }
    }
  }
}

/**
 * Connects to a signaling server and joins `room`, reconnecting (and rejoining) until destroyed.
 * @throws {SignalingError} `ERR_INVALID_ARGUMENT` for a bad url/room/role/backoff option,
 *   `ERR_NO_WEBSOCKET` when there is no WebSocket constructor.
 * @example
 * import WebSocket from 'ws' // Node only; browsers omit this option
 * const client = createSignalingClient({ url: 'ws://127.0.0.1:8787', room: discoveryKeyHex, WebSocket })
 * client.on('peer-joined', ({ peer }) => startPeerConnection(peer))
 * client.on('signal', ({ from, data }) => peerConnections.get(from)?.signal(data))
 */
export function createSignalingClient(
  options: Pick<SignalingClientOptions, 'url' | 'room'> & Partial<SignalingClientOptions>
): SignalingClient {
  if (options === null || typeof options !== 'object') throw new SignalingError('ERR_INVALID_ARGUMENT', 'options must be an object')
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
  const opts: SignalingClientOptions = {
    ...DEFAULT_SIGNALING_CLIENT_OPTIONS,
    WebSocket: undefined,
    random: Math.random,
    timers: {
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>)
    },
    ...(defined as Pick<SignalingClientOptions, 'url' | 'room'>)
  }
  if (typeof opts.url !== 'string' || !/^wss?:\/\//.test(opts.url)) {
    throw new SignalingError('ERR_INVALID_ARGUMENT', `options.url must be a ws:// or wss:// URL, got ${String(opts.url)}`)
  }
  if (!isRoomId(opts.room)) {
    throw new SignalingError('ERR_INVALID_ARGUMENT', 'options.room must be a discovery key as 64 lowercase hex chars')
  }
  if (!isPeerRole(opts.role)) throw new SignalingError('ERR_INVALID_ARGUMENT', 'options.role must be "broadcaster" or "viewer"')
  for (const field of ['backoffInitialMs', 'backoffMaxMs', 'pingIntervalMs'] as const) {
    if (typeof opts[field] !== 'number' || !(opts[field] >= 0)) {
      throw new SignalingError('ERR_INVALID_ARGUMENT', `options.${field} must be a non-negative number`)
    }
  }
  if (typeof opts.backoffFactor !== 'number' || !(opts.backoffFactor >= 1)) {
    throw new SignalingError('ERR_INVALID_ARGUMENT', 'options.backoffFactor must be a number >= 1')
  }
  if (typeof opts.backoffJitter !== 'number' || !(opts.backoffJitter >= 0 && opts.backoffJitter <= 1)) {
    throw new SignalingError('ERR_INVALID_ARGUMENT', 'options.backoffJitter must be in 0..1')
  }
  const Ctor = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (typeof Ctor !== 'function') {
    throw new SignalingError('ERR_NO_WEBSOCKET', 'no global WebSocket; pass options.WebSocket (e.g. the "ws" package in Node)')
  }
  return new Client(opts, Ctor)
}
