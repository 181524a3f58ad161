/** Shared test helpers: start a quiet server on a free loopback port, drive raw sockets. */
import WebSocket from 'ws'
import { createSignalingServer, type SignalingServer, type SignalingServerOptions, type ServerMessage } from '../src/index.js'

/** A valid room id (discovery key), distinct per `n`. */
export function room(n = 1): string {
  return n.toString(16).padStart(2, '0').repeat(32)
}

const servers = new Set<SignalingServer>()
const sockets = new Set<TestSocket>()

/** Starts a server on 127.0.0.1:0 with logging off unless given. Closed by {@link cleanup}. */
export async function startServer(options: Partial<SignalingServerOptions> = {}): Promise<SignalingServer> {
  const server = await createSignalingServer({ port: 0, log: null, ...options })
  servers.add(server)
  return server
}

/** Closes every socket and server the helpers opened; call from `afterEach`. */
export async function cleanup(): Promise<void> {
  for (const s of sockets) s.ws.terminate()
  sockets.clear()
  await Promise.all([...servers].map((s) => s.close()))
  servers.clear()
}

/** A raw client socket that queues parsed frames and lets a test await them in order. */
export class TestSocket {
  readonly ws: WebSocket
  readonly frames: ServerMessage[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  private _waiters: Array<() => void> = []

  constructor(url: string, options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(url, options)
    sockets.add(this)
    this.ws.on('error', () => {})
    this.ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as ServerMessage)
      for (const w of this._waiters.splice(0)) w()
    })
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        for (const w of this._waiters.splice(0)) w()
        resolve({ code, reason: reason.toString() })
      })
    })
  }

  /** Resolves when the socket is open. */
  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('error', reject)
    })
  }

  /** Sends an object as JSON (or a raw string / buffer as is). */
  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame))
  }

  /**
   * Removes and returns the first queued frame of `type` (any type if omitted), waiting up to
   * `timeoutMs` for it. Frames of other types stay queued.
   */
  async next<T extends ServerMessage['type']>(type?: T, timeoutMs = 1000): Promise<Extract<ServerMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = this.frames.findIndex((f) => type === undefined || f.type === type)
      if (i >= 0) return this.frames.splice(i, 1)[0] as Extract<ServerMessage, { type: T }>
      const left = deadline - Date.now()
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`no "${type ?? 'any'}" frame within ${timeoutMs} ms; queued: ${JSON.stringify(this.frames)}`)
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this._waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Waits a little and asserts nothing of `type` arrived (for "is not told" checks). */
  async none(type: ServerMessage['type'], ms = 50): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms))
    return !this.frames.some((f) => f.type === type)
  }
}

/** Opens a socket, waits for `welcome`. */
export async function connect(server: SignalingServer, options?: WebSocket.ClientOptions): Promise<TestSocket> {
  const socket = new TestSocket(server.url, options)
  await socket.opened()
  await socket.next('welcome')
  return socket
}

/** Opens a socket and joins `roomId`; returns the socket and its peer id. */
export async function join(
  server: SignalingServer,
  roomId = room(),
  role?: 'broadcaster' | 'viewer'
): Promise<{ socket: TestSocket; peer: string; peers: { id: string; role: string }[] }> {
  const socket = await connect(server)
  socket.send(role ? { type: 'join', room: roomId, role } : { type: 'join', room: roomId })
  const joined = await socket.next('joined')
  return { socket, peer: joined.peer, peers: joined.peers }
}

/** GETs a path on the server's HTTP side. */
export async function get(server: SignalingServer, path: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(`http://${server.host}:${server.port}${path}`)
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() }
}
