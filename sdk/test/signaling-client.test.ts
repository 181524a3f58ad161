import { afterEach, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { createSignalingServer, type SignalingServer } from '../../signaling-server/src/index.js'
import {
  createSignalingClient,
  SignalingError,
  SIGNALING_PROTOCOL_VERSION,
  type SignalingClient,
  type SignalingClientEvents,
  type SignalingClientOptions,
  type WebSocketConstructor
} from '../src/signaling/index.js'

const ROOM = 'cd'.repeat(32)

const servers: SignalingServer[] = []
const clients: SignalingClient[] = []
const rawServers: WebSocketServer[] = []

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy()
  await Promise.all(servers.splice(0).map((s) => s.close()))
  await Promise.all(rawServers.splice(0).map((w) => new Promise((r) => w.close(r))))
})

async function startServer(options: Parameters<typeof createSignalingServer>[0] = {}): Promise<SignalingServer> {
  const server = await createSignalingServer({ port: 0, log: null, ...options })
  servers.push(server)
  return server
}

function client(url: string, options: Partial<SignalingClientOptions> = {}): SignalingClient {
  const c = createSignalingClient({
    url,
    room: ROOM,
    WebSocket,
    backoffInitialMs: 20,
    backoffMaxMs: 100,
    ...options
  })
  clients.push(c)
  return c
}

/** Resolves with the next `type` event of `c` (rejects after `ms`). */
function once<K extends keyof SignalingClientEvents>(c: SignalingClient, type: K, ms = 2000): Promise<SignalingClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${type}" event within ${ms} ms`)), ms)
    const handler = (payload: SignalingClientEvents[K]): void => {
      clearTimeout(timer)
      c.off(type, handler)
      resolve(payload)
    }
    c.on(type, handler)
  })
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('signaling client against a real server', () => {
  it('relays signals between a broadcaster and a viewer, with roles', async () => {
    const server = await startServer()
    const broadcaster = client(server.url, { role: 'broadcaster' })
    const joinedB = await once(broadcaster, 'joined')
    expect(joinedB.peers).toEqual([])
    expect(broadcaster.state).toBe('joined')

    const viewer = client(server.url)
    const peerJoined = once(broadcaster, 'peer-joined')
    const joinedV = await once(viewer, 'joined')
    expect(joinedV).toEqual({ room: ROOM, peer: viewer.peerId, peers: [{ id: broadcaster.peerId, role: 'broadcaster' }] })
    expect(await peerJoined).toEqual({ room: ROOM, peer: viewer.peerId, role: 'viewer' })
    expect(broadcaster.peers.get(viewer.peerId!)).toBe('viewer')
    expect(viewer.limits?.maxMessageBytes).toBe(16384)

    const offer = once(broadcaster, 'signal')
    viewer.send(broadcaster.peerId!, { type: 'offer', sdp: 'v=0' })
    expect(await offer).toEqual({ room: ROOM, from: viewer.peerId, data: { type: 'offer', sdp: 'v=0' } })
    const answer = once(viewer, 'signal')
    broadcaster.send(viewer.peerId!, { type: 'answer' })
    expect((await answer).from).toBe(broadcaster.peerId)

    const left = once(broadcaster, 'peer-left')
    const viewerId = viewer.peerId
    viewer.destroy()
    expect(await left).toEqual({ room: ROOM, peer: viewerId })
    expect(broadcaster.peers.has(viewerId!)).toBe(false)
  })

  it('reconnects with a new peer id and rejoins after the server restarts', async () => {
    const first = await startServer()
    const port = first.port
    const c = client(first.url)
    const firstJoin = await once(c, 'joined')
    const closed = once(c, 'close')
    await first.close()
    servers.splice(servers.indexOf(first), 1)
    expect(await closed).toMatchObject({ code: 1001, willReconnect: true })
    expect(c.peerId).toBeNull()
    expect(() => c.send('0123456789abcdef', 1)).toThrow(expect.objectContaining({ code: 'ERR_NOT_JOINED' }))
    await once(c, 'reconnecting') // at least one failed attempt while nothing listens
    const second = await startServer({ port })
    const rejoin = await once(c, 'joined', 3000)
    expect(rejoin.peer).not.toBe(firstJoin.peer)
    expect(second.stats()).toMatchObject({ sockets: 1, rooms: 1 })
  })

  it('surfaces server error frames as SignalingError events and retries a refused join', async () => {
    const server = await startServer({ maxPeersPerRoom: 1 })
    const first = client(server.url)
    await once(first, 'joined')
    const second = client(server.url)
    const err = await once(second, 'error')
    expect(err).toBeInstanceOf(SignalingError)
    expect(err).toMatchObject({ code: 'ERR_ROOM_FULL', room: ROOM, ref: 'join' })
    first.destroy()
    expect(await once(second, 'joined', 3000)).toMatchObject({ room: ROOM })
  })

  it('rejects oversized signals locally with ERR_MESSAGE_TOO_LARGE', async () => {
    const server = await startServer({ maxMessageBytes: 1024 })
    const a = client(server.url)
    await once(a, 'joined')
    expect(() => a.send('0123456789abcdef', 'x'.repeat(2000))).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE' }))
    // A send to a peer that left is the server's ERR_UNKNOWN_PEER, surfaced as an event.
    const err = once(a, 'error')
    a.send('0123456789abcdef', 'hi')
    expect(await err).toMatchObject({ code: 'ERR_UNKNOWN_PEER', ref: 'signal' })
  })

  it('destroy closes the socket, stops reconnecting and makes send throw ERR_DESTROYED', async () => {
    const server = await startServer()
    const a = client(server.url)
    await once(a, 'joined')
    const events: string[] = []
    a.on('close', () => events.push('close'))
    a.on('reconnecting', () => events.push('reconnecting'))
    a.destroy()
    a.destroy()
    expect(a.state).toBe('destroyed')
    expect(events).toEqual(['close'])
    expect(() => a.send('0123456789abcdef', 1)).toThrow(expect.objectContaining({ code: 'ERR_DESTROYED' }))
    await expect.poll(() => server.stats().sockets).toBe(0)
    await tick(150)
    expect(server.stats().connections).toBe(1)
  })

  it('a throwing handler is reported as ERR_HANDLER_THREW and does not break the client', async () => {
    const server = await startServer()
    const a = client(server.url)
    const errors: SignalingError[] = []
    a.on('error', (e) => errors.push(e))
    a.on('joined', () => {
      throw new Error('boom')
    })
    const joined = once(a, 'joined')
    await joined
    expect(errors.map((e) => e.code)).toEqual(['ERR_HANDLER_THREW'])
    const b = client(server.url)
    await once(b, 'joined')
    const got = once(a, 'signal')
    b.send(a.peerId!, 'still works')
    expect((await got).data).toBe('still works')
  })
})

describe('signaling client reconnect and liveness', () => {
  it('backs off exponentially with jitter, capped at backoffMaxMs', async () => {
    const unused = await startServer()
    const url = unused.url
    await unused.close()
    servers.pop()
    const delays: number[] = []
    const c = client(url, {
      backoffInitialMs: 100,
      backoffMaxMs: 500,
      backoffFactor: 2,
      backoffJitter: 0.5,
      random: () => 0.5,
      // Record the requested delay but fire quickly so the test stays fast.
      timers: { setTimeout: (fn, ms) => setTimeout(fn, ms >= 75 ? 1 : ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) }
    })
    c.on('reconnecting', ({ delayMs }) => delays.push(delayMs))
    await expect.poll(() => delays.length, { timeout: 3000 }).toBeGreaterThanOrEqual(5)
    expect(delays.slice(0, 5)).toEqual([75, 150, 300, 375, 375])
  })

  it('stops (no reconnect) when the server speaks another protocol version', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    rawServers.push(wss)
    await new Promise((r) => wss.once('listening', r))
    let connections = 0
    wss.on('connection', (ws) => {
      connections++
      ws.send(JSON.stringify({ type: 'welcome', version: SIGNALING_PROTOCOL_VERSION + 1, limits: {} }))
    })
    const c = client(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`)
    const err = await once(c, 'error')
    expect(err.code).toBe('ERR_UNSUPPORTED_VERSION')
    expect(c.state).toBe('stopped')
    await tick(100)
    expect(connections).toBe(1)
  })

  it('replaces a socket on which the server has gone silent', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    rawServers.push(wss)
    await new Promise((r) => wss.once('listening', r))
    let connections = 0
    wss.on('connection', (ws) => {
      connections++
      ws.on('error', () => {})
      ws.on('message', (raw) => {
        const msg = JSON.parse(raw.toString()) as { type: string }
        // Answer the join, then never answer pings: a half-dead server.
        if (msg.type === 'join') ws.send(JSON.stringify({ type: 'joined', room: ROOM, peer: '00000000000000' + String(connections).padStart(2, '0'), peers: [] }))
      })
    })
    const c = client(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`, { pingIntervalMs: 30 })
    await once(c, 'joined')
    const closed = await once(c, 'close', 1000)
    expect(closed).toMatchObject({ code: 4900, willReconnect: true })
    expect(await once(c, 'joined')).toMatchObject({ peer: '0000000000000002' })
  })

  it('validates its options with typed errors', () => {
    const base = { url: 'ws://127.0.0.1:1', room: ROOM, WebSocket }
    const bad: Array<[Partial<SignalingClientOptions>, string]> = [
      [{ url: 'http://x' }, 'ERR_INVALID_ARGUMENT'],
      [{ room: 'AB'.repeat(32) }, 'ERR_INVALID_ARGUMENT'],
      [{ role: 'admin' as 'viewer' }, 'ERR_INVALID_ARGUMENT'],
      [{ backoffJitter: 2 }, 'ERR_INVALID_ARGUMENT'],
      [{ backoffFactor: 0.5 }, 'ERR_INVALID_ARGUMENT']
    ]
    for (const [override, code] of bad) {
      expect(() => createSignalingClient({ ...base, ...override })).toThrow(expect.objectContaining({ code }))
    }
    const saved = (globalThis as { WebSocket?: unknown }).WebSocket
    ;(globalThis as { WebSocket?: unknown }).WebSocket = undefined
    try {
      expect(() => createSignalingClient({ url: base.url, room: ROOM })).toThrow(expect.objectContaining({ code: 'ERR_NO_WEBSOCKET' }))
    } finally {
      ;(globalThis as { WebSocket?: unknown }).WebSocket = saved
    }
  })

  it('type-checks its surface', () => {
    // Both the `ws` class and the DOM WebSocket fit WebSocketConstructor without casts.
    const fromWs: WebSocketConstructor = WebSocket
    const fromDom: WebSocketConstructor | undefined = (globalThis as { WebSocket?: typeof globalThis.WebSocket }).WebSocket
    expect(typeof fromWs).toBe('function')
    void fromDom
    const noop = (): void => {}
    const c = { on: noop, off: noop } as unknown as SignalingClient
    c.on('signal', ({ from, data }) => void [from.length, data])
    // @ts-expect-error unknown event name
    c.on('offer', noop)
    // @ts-expect-error peer-left carries no role
    c.on('peer-left', ({ role }) => role)
  })
})
