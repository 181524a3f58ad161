import { afterEach, describe, expect, it } from 'vitest'
import { SIGNALING_CLOSE_CODES } from '../src/index.js'
import { TestSocket, cleanup, connect, join, room, startServer } from './helpers.js'

afterEach(cleanup)

describe('limits', () => {
  it('a frame over maxMessageBytes gets ERR_MESSAGE_TOO_LARGE and is not relayed', async () => {
    const server = await startServer({ maxMessageBytes: 1024 })
    const a = await join(server)
    const b = await join(server)
    a.socket.send({ type: 'signal', room: room(), to: b.peer, data: 'x'.repeat(1100) })
    expect(await a.socket.next('error')).toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE' })
    a.socket.send({ type: 'signal', room: room(), to: b.peer, data: 'x'.repeat(800) })
    expect((await b.socket.next('signal')).data).toBe('x'.repeat(800))
    expect(await b.socket.none('signal')).toBe(true)
  })

  it('a frame over twice maxMessageBytes is cut off by ws maxPayload (close 1009)', async () => {
    const server = await startServer({ maxMessageBytes: 1024 })
    const a = await connect(server)
    a.send('x'.repeat(4096))
    expect((await a.closed).code).toBe(1009)
    await expect.poll(() => server.stats().rejects.ERR_MESSAGE_TOO_LARGE).toBe(1)
  })

  it('frames beyond the token bucket get ERR_RATE_LIMIT, and the bucket refills', async () => {
    const server = await startServer({ messagesPerSecond: 20, messageBurst: 3, maxErrorsPerSocket: 100 })
    const a = await connect(server)
    for (let i = 0; i < 5; i++) a.send({ type: 'ping' })
    for (let i = 0; i < 3; i++) await a.next('pong')
    expect(await a.next('error')).toMatchObject({ code: 'ERR_RATE_LIMIT' })
    expect(await a.next('error')).toMatchObject({ code: 'ERR_RATE_LIMIT' })
    await new Promise((r) => setTimeout(r, 120)) // 20/s refills 2 tokens in 100 ms
    a.send({ type: 'ping' })
    expect(await a.next('pong')).toEqual({ type: 'pong' })
    expect(server.stats().rejects.ERR_RATE_LIMIT).toBe(2)
  })

  it('joining more than maxRoomsPerSocket rooms is ERR_TOO_MANY_ROOMS', async () => {
    const server = await startServer({ maxRoomsPerSocket: 2 })
    const a = await connect(server)
    for (const n of [1, 2]) {
      a.send({ type: 'join', room: room(n) })
      await a.next('joined')
    }
    a.send({ type: 'join', room: room(3) })
    expect(await a.next('error')).toMatchObject({ code: 'ERR_TOO_MANY_ROOMS', room: room(3) })
    a.send({ type: 'leave', room: room(1) })
    a.send({ type: 'join', room: room(3) })
    expect(await a.next('joined')).toMatchObject({ room: room(3) })
  })

  it('joining a room with maxPeersPerRoom members is ERR_ROOM_FULL', async () => {
    const server = await startServer({ maxPeersPerRoom: 2 })
    await join(server)
    const b = await join(server)
    const c = await connect(server)
    c.send({ type: 'join', room: room() })
    expect(await c.next('error')).toMatchObject({ code: 'ERR_ROOM_FULL', room: room(), ref: 'join' })
    b.socket.send({ type: 'leave', room: room() })
    await new Promise((r) => setTimeout(r, 30))
    c.send({ type: 'join', room: room() })
    expect(await c.next('joined')).toMatchObject({ room: room() })
  })

  it('sockets beyond maxSockets get ERR_SERVER_FULL and close 1013', async () => {
    const server = await startServer({ maxSockets: 2 })
    await connect(server)
    await connect(server)
    const third = new TestSocket(server.url)
    expect(await third.next('error')).toMatchObject({ code: 'ERR_SERVER_FULL' })
    expect((await third.closed).code).toBe(SIGNALING_CLOSE_CODES.TRY_AGAIN_LATER)
    expect(server.stats()).toMatchObject({ sockets: 2, rejects: { ERR_SERVER_FULL: 1 } })
  })

  it('the error that reaches maxErrorsPerSocket closes the socket with 4001', async () => {
    const server = await startServer({ maxErrorsPerSocket: 3 })
    const a = await connect(server)
    for (let i = 0; i < 3; i++) a.send('not json')
    for (let i = 0; i < 3; i++) expect(await a.next('error')).toMatchObject({ code: 'ERR_BAD_JSON' })
    const closed = await a.closed
    expect(closed).toEqual({ code: SIGNALING_CLOSE_CODES.TOO_MANY_ERRORS, reason: 'too many errors' })
  })

  it('a socket that does not answer pings is dropped after a heartbeat', async () => {
    const server = await startServer({ heartbeatIntervalMs: 40 })
    const live = await join(server)
    const dead = await join(server)
    // Stop the dead socket from answering pings (ws auto-pongs by default).
    ;(dead.socket.ws as unknown as { pong: () => void }).pong = () => {}
    const closed = await dead.socket.closed
    expect(closed.code).toBe(1006) // terminated without a close frame
    expect(await live.socket.next('peer-left')).toMatchObject({ peer: dead.peer })
    expect(live.socket.ws.readyState).toBe(live.socket.ws.OPEN)
    expect(server.stats().rejects.ERR_HEARTBEAT_TIMEOUT).toBe(1)
  })

  it('allowedOrigins refuses other origins (and none) with HTTP 403', async () => {
    const server = await startServer({ allowedOrigins: ['https://ok.example'] })
    const ok = await connect(server, { origin: 'https://ok.example' })
    expect(ok.ws.readyState).toBe(ok.ws.OPEN)
    for (const headers of [{ origin: 'https://evil.example' }, {}]) {
      const bad = new TestSocket(server.url, headers)
      const status = await new Promise<number>((resolve) => bad.ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)))
      expect(status).toBe(403)
    }
    expect(server.stats().rejects.ERR_FORBIDDEN_ORIGIN).toBe(2)
  })
})
