/**
 * The munro rendezvous server: WebSocket rooms keyed by discovery key, relaying opaque WebRTC
 * signals between members, plus `GET /health` and `GET /metrics` on the same port.
 *
 * DEV DOCS
 * --------
 * State is only what open sockets imply: `_clients` (one {@link Client} per socket) and `_rooms`
 * (room → peer id → {@link Member}). A room is deleted when its last member leaves, and a socket's
 * memberships are removed when it closes, so nothing outlives the sockets. One interval timer
 * drives the heartbeat for all sockets; `close()` clears it.
 *
 * Frame path (`onframe`): rate limit → size → binary? → parse (validate.ts) → handler named after
 * the message (`onjoin`, `onleave`, `onsignal`, ...). Every rejection goes through `reject()`,
 * which counts it by code, sends an `error` frame and closes the socket once it has used up its
 * error budget.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, WebSocket, type RawData } from 'ws'
import { SignalingServerError } from './errors.js'
import { renderPrometheus, type SignalingStats } from './metrics.js'
import { resolveSignalingOptions, type SignalingLogEntry, type SignalingServerOptions } from './options.js'
import {
  SIGNALING_CLOSE_CODES as CLOSE,
  SIGNALING_ERROR_CODES as E,
  SIGNALING_PROTOCOL_VERSION,
  type JoinMessage,
  type LeaveMessage,
  type ClientSignalMessage,
  type HelloMessage,
  type PeerInfo,
  type PeerRole,
  type ServerMessage,
  type SignalingErrorCode,
  type SignalingLimits
} from './protocol.js'
import { TokenBucket } from './rate-limit.js'
import { parseClientMessage } from './validate.js'

/** Random bytes per peer id: 8 bytes = 16 hex chars, unguessable enough within one room. */
const PEER_ID_BYTES = 8

/** How long `close()` waits for sockets to finish the close handshake before terminating them. */
const CLOSE_GRACE_MS = 1000

/** Reject reasons for things that are not wire errors, counted beside the `ERR_*` wire codes. */
const REJECT_FORBIDDEN_ORIGIN = 'ERR_FORBIDDEN_ORIGIN'
const REJECT_HEARTBEAT_TIMEOUT = 'ERR_HEARTBEAT_TIMEOUT'
const REJECT_SLOW_CONSUMER = 'ERR_SLOW_CONSUMER'

/** A running server, as returned by {@link createSignalingServer}. */
export interface SignalingServer {
  /** The port actually bound (useful with `port: 0`). */
  readonly port: number
  /** The interface bound. */
  readonly host: string
  /** `ws://host:port` for clients. */
  readonly url: string
  /** Closes every socket (code 1001), stops timers and the HTTP server. Idempotent. */
  close(): Promise<void>
  /** Current counters. */
  stats(): SignalingStats
}

interface Member {
  readonly peer: string
  readonly role: PeerRole
  readonly client: Client
}

interface Client {
  readonly ws: WebSocket
  /** Connection serial, for logs only (never sent on the wire). */
  readonly serial: number
  /** room → this socket's membership in it. */
  readonly rooms: Map<string, Member>
  readonly bucket: TokenBucket
  errors: number
  alive: boolean
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0)
  return data instanceof ArrayBuffer ? data.byteLength : data.length
}

function toText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data as ArrayBuffer).toString('utf8')
}

class RendezvousServer {
  readonly opts: SignalingServerOptions
  readonly http: Server
  private readonly _wss: WebSocketServer
  private readonly _clients = new Set<Client>()
  private readonly _rooms = new Map<string, Map<string, Member>>()
  private readonly _rejects: Record<string, number> = {}
  private readonly _limits: SignalingLimits
  private _heartbeat: ReturnType<typeof setInterval> | null = null
  private _serial = 0
  private _connections = 0
  private _relayed = 0
  private _startedAt = Date.now()
  private _closing: Promise<void> | null = null

  constructor(opts: SignalingServerOptions) {
    this.opts = opts
    this._limits = {
      maxMessageBytes: opts.maxMessageBytes,
      messagesPerSecond: opts.messagesPerSecond,
      messageBurst: opts.messageBurst,
      maxRoomsPerSocket: opts.maxRoomsPerSocket,
      maxPeersPerRoom: opts.maxPeersPerRoom
    }
    this.http = createServer((req, res) => this.onrequest(req, res))
    // Frames up to 2× the limit get a polite ERR_MESSAGE_TOO_LARGE; beyond that ws closes the
    // socket with 1009 before buffering the frame.
    this._wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes * 2, clientTracking: false })
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onupgrade(req, socket, head))
    this.http.on('clientError', (_err, socket) => socket.destroy())
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onerror = (err: Error): void => reject(new SignalingServerError('ERR_LISTEN', `cannot listen on ${this.opts.host}:${this.opts.port}: ${err.message}`, { cause: err }))
      this.http.once('error', onerror)
      this.http.listen(this.opts.port, this.opts.host, () => {
        this.http.off('error', onerror)
        resolve()
      })
    })
    this.http.on('error', (err) => this.log('error', 'http_error', { message: err.message }))
    this._startedAt = Date.now()
    this._heartbeat = setInterval(() => this.onheartbeat(), this.opts.heartbeatIntervalMs)
    this.log('info', 'listening', { host: this.opts.host, port: this.port })
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port
  }

  stats(): SignalingStats {
    return {
      sockets: this._clients.size,
      rooms: this._rooms.size,
      connections: this._connections,
      messagesRelayed: this._relayed,
      rejects: { ...this._rejects },
      uptimeMs: Date.now() - this._startedAt
    }
  }

  close(): Promise<void> {
    if (this._closing) return this._closing
    this._closing = (async () => {
      this.log('info', 'closing', { sockets: this._clients.size })
      if (this._heartbeat) clearInterval(this._heartbeat)
      this._heartbeat = null
      const closed = [...this._clients].map(
        (client) =>
          new Promise<void>((resolve) => {
            if (client.ws.readyState === WebSocket.CLOSED) return resolve()
            client.ws.once('close', () => resolve())
            client.ws.close(CLOSE.GOING_AWAY, 'server shutting down')
          })
      )
      let grace: ReturnType<typeof setTimeout> | undefined
      await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS)))])
      clearTimeout(grace)
      for (const client of this._clients) client.ws.terminate()
      await new Promise<void>((resolve) => this._wss.close(() => resolve()))
      await new Promise<void>((resolve) => {
        this.http.close(() => resolve())
        this.http.closeAllConnections()
      })
      this.log('info', 'closed', {})
    })()
    return this._closing
  }

  // ---- HTTP -------------------------------------------------------------------------------

  private onrequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/health' || path === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end('{"error":"method not allowed"}')
        return
      }
      const stats = this.stats()
      if (path === '/health') {
        const body = JSON.stringify({ ok: this._closing === null, sockets: stats.sockets, rooms: stats.rooms, uptime: stats.uptimeMs / 1000 })
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body)
      } else {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' }).end(renderPrometheus(stats))
      }
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
  }

  private onupgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    const allowed = this.opts.allowedOrigins
    if (this._closing !== null || (allowed !== null && !allowed.includes(req.headers.origin ?? ''))) {
      const status = this._closing !== null ? '503 Service Unavailable' : '403 Forbidden'
      if (this._closing === null) {
        this.count(REJECT_FORBIDDEN_ORIGIN)
        this.log('warn', 'origin_rejected', { origin: req.headers.origin ?? null })
      }
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      return
    }
    this._wss.handleUpgrade(req, socket, head, (ws) => this.onconnection(ws, req))
  }

  // ---- sockets ----------------------------------------------------------------------------

  private onconnection(ws: WebSocket, req: IncomingMessage): void {
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the socket itself (1009) for frames over maxPayload; count it like our check.
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.count(E.MESSAGE_TOO_LARGE)
      this.log('debug', 'socket_error', { message: err.message, code: err.code ?? null })
    })
    if (this._clients.size >= this.opts.maxSockets) {
      this.count(E.SERVER_FULL)
      this.log('warn', 'server_full', { sockets: this._clients.size })
      ws.send(JSON.stringify({ type: 'error', code: E.SERVER_FULL, message: 'server is full, try again later' } satisfies ServerMessage))
      ws.close(CLOSE.TRY_AGAIN_LATER, 'server full')
      return
    }
    const client: Client = {
      ws,
      serial: ++this._serial,
      rooms: new Map(),
      bucket: new TokenBucket(this.opts.messagesPerSecond, this.opts.messageBurst),
      errors: 0,
      alive: true
    }
    this._clients.add(client)
    this._connections++
    this.log('info', 'connection', { conn: client.serial, address: req.socket.remoteAddress ?? null })
    ws.on('pong', () => (client.alive = true))
    ws.on('message', (data, isBinary) => this.onframe(client, data, isBinary))
    ws.on('close', (code) => this.onclose(client, code))
    this.send(client, { type: 'welcome', version: SIGNALING_PROTOCOL_VERSION, limits: this._limits })
  }

  private onclose(client: Client, code: number): void {
    if (!this._clients.delete(client)) return
    for (const room of [...client.rooms.keys()]) this.removeMember(client, room)
    this.log('info', 'disconnect', { conn: client.serial, code })
  }

  private onheartbeat(): void {
    for (const client of this._clients) {
      if (!client.alive) {
        this.count(REJECT_HEARTBEAT_TIMEOUT)
        this.log('info', 'heartbeat_timeout', { conn: client.serial })
        client.ws.terminate()
        continue
      }
      client.alive = false
      client.ws.ping()
    }
  }

  private onframe(client: Client, data: RawData, isBinary: boolean): void {
    if (client.ws.readyState !== WebSocket.OPEN) return
    if (!client.bucket.take()) return this.reject(client, E.RATE_LIMIT, `more than ${this.opts.messagesPerSecond} frames per second`)
    if (byteLength(data) > this.opts.maxMessageBytes) {
      return this.reject(client, E.MESSAGE_TOO_LARGE, `frame exceeds ${this.opts.maxMessageBytes} bytes`)
    }
    if (isBinary) return this.reject(client, E.BAD_JSON, 'binary frames are not supported; send JSON text')
    const parsed = parseClientMessage(toText(data))
    if (!parsed.ok) return this.reject(client, parsed.code, parsed.message, parsed.room, parsed.ref)
    const message = parsed.message
    switch (message.type) {
      case 'ping':
        return void this.send(client, { type: 'pong' })
      case 'hello':
        return this.onhello(client, message)
      case 'join':
        return this.onjoin(client, message)
      case 'leave':
        return this.onleave(client, message)
      case 'signal':
        return this.onsignal(client, message)
    }
  }

  private onhello(client: Client, message: HelloMessage): void {
    if (message.version === SIGNALING_PROTOCOL_VERSION) return
    this.reject(client, E.UNSUPPORTED_VERSION, `protocol version ${message.version} is not supported (server speaks ${SIGNALING_PROTOCOL_VERSION})`, undefined, 'hello')
    client.ws.close(CLOSE.UNSUPPORTED_VERSION, 'unsupported protocol version')
  }

  private onjoin(client: Client, { room, role = 'viewer' }: JoinMessage): void {
    if (client.rooms.has(room)) return this.reject(client, E.ALREADY_IN_ROOM, 'already joined this room', room, 'join')
    if (client.rooms.size >= this.opts.maxRoomsPerSocket) {
      return this.reject(client, E.TOO_MANY_ROOMS, `a socket may join at most ${this.opts.maxRoomsPerSocket} rooms`, room, 'join')
    }
    let members = this._rooms.get(room)
    if (members && members.size >= this.opts.maxPeersPerRoom) {
      return this.reject(client, E.ROOM_FULL, `room has ${this.opts.maxPeersPerRoom} members`, room, 'join')
    }
    if (!members) {
      members = new Map()
      this._rooms.set(room, members)
    }
    let peer = randomBytes(PEER_ID_BYTES).toString('hex')
    while (members.has(peer)) peer = randomBytes(PEER_ID_BYTES).toString('hex')

    const peers = this.sample(members)
    const member: Member = { peer, role, client }
    members.set(peer, member)
    client.rooms.set(room, member)
    this.send(client, { type: 'joined', room, peer, peers })
    for (const other of members.values()) {
      if (other !== member) this.send(other.client, { type: 'peer-joined', room, peer, role })
    }
  }

  private onleave(client: Client, { room }: LeaveMessage): void {
    if (!client.rooms.has(room)) return this.reject(client, E.NOT_IN_ROOM, 'not in this room', room, 'leave')
    this.removeMember(client, room)
  }

  private onsignal(client: Client, { room, to, data }: ClientSignalMessage): void {
    const self = client.rooms.get(room)
    if (!self) return this.reject(client, E.NOT_IN_ROOM, 'not in this room', room, 'signal')
    const target = this._rooms.get(room)?.get(to)
    if (!target) return this.reject(client, E.UNKNOWN_PEER, 'no such peer in this room', room, 'signal')
    if (this.send(target.client, { type: 'signal', room, from: self.peer, data })) this._relayed++
  }

  // ---- helpers ----------------------------------------------------------------------------

  /** Every broadcaster plus a uniform random sample (reservoir) of up to `peersInJoined` others. */
  private sample(members: Map<string, Member>): PeerInfo[] {
    const broadcasters: PeerInfo[] = []
    const others: PeerInfo[] = []
    const k = this.opts.peersInJoined
    let seen = 0
    for (const m of members.values()) {
      const info = { id: m.peer, role: m.role }
      if (m.role === 'broadcaster') {
        broadcasters.push(info)
        continue
      }
      seen++
      if (others.length < k) others.push(info)
      else {
        const j = randomBytes(4).readUInt32BE(0) % seen
        if (j < k) others[j] = info
      }
    }
    return broadcasters.concat(others)
  }

  private removeMember(client: Client, room: string): void {
    const member = client.rooms.get(room)
    if (!member) return
    client.rooms.delete(room)
    const members = this._rooms.get(room)
    if (!members) return
    members.delete(member.peer)
    if (members.size === 0) {
      this._rooms.delete(room)
      return
    }
    for (const other of members.values()) this.send(other.client, { type: 'peer-left', room, peer: member.peer })
  }

  /** Sends one frame; false if the socket is not open or was just closed as a slow consumer. */
  private send(client: Client, message: ServerMessage): boolean {
    const ws = client.ws
    if (ws.readyState !== WebSocket.OPEN) return false
    if (ws.bufferedAmount > this.opts.maxBufferedBytes) {
      this.count(REJECT_SLOW_CONSUMER)
      this.log('warn', 'slow_consumer', { conn: client.serial, buffered: ws.bufferedAmount })
      ws.close(CLOSE.SLOW_CONSUMER, 'slow consumer')
      return false
    }
    ws.send(JSON.stringify(message))
    return true
  }

  private reject(client: Client, code: SignalingErrorCode, message: string, room?: string, ref?: string): void {
    this.count(code)
    client.errors++
    this.log('debug', 'reject', { conn: client.serial, code })
    const frame: ServerMessage = { type: 'error', code, message }
    if (room !== undefined) frame.room = room
    if (ref !== undefined) frame.ref = ref
    this.send(client, frame)
    if (client.errors >= this.opts.maxErrorsPerSocket && client.ws.readyState === WebSocket.OPEN) {
      this.log('warn', 'too_many_errors', { conn: client.serial, errors: client.errors })
      client.ws.close(CLOSE.TOO_MANY_ERRORS, 'too many errors')
    }
  }

  private count(reason: string): void {
    this._rejects[reason] = (this._rejects[reason] ?? 0) + 1
  }

  private log(level: SignalingLogEntry['level'], event: string, fields: Record<string, unknown>): void {
    const log = this.opts.log
    if (!log) return
    try {
      log({ time: new Date().toISOString(), level, event, ...fields })
    } catch {
      // A broken log sink must not take the server down.
    }
  }
}

/**
 * Starts a signaling server (HTTP + WebSocket on one port) and resolves once it is listening.
 * @throws {SignalingServerError} `ERR_INVALID_OPTION` for a bad option, `ERR_LISTEN` if the port
 *   cannot be bound.
 * @example
 * const server = await createSignalingServer({ port: 0, log: null })
 * console.log(server.url) // ws://127.0.0.1:54321
 * await server.close()
 */
export async function createSignalingServer(options: Partial<SignalingServerOptions> = {}): Promise<SignalingServer> {
  const opts = resolveSignalingOptions(options)
  const server = new RendezvousServer(opts)
  await server.listen()
  const port = server.port
  const host = opts.host
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}`
  return {
    port,
    host,
    url,
    close: () => server.close(),
    stats: () => server.stats()
  }
}
