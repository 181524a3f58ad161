import { afterEach, describe, expect, it } from 'vitest'
import { SIGNALING_PROTOCOL_VERSION, PEER_ID_PATTERN, DEFAULT_SIGNALING_OPTIONS } from '../src/index.js'
import { TestSocket, cleanup, connect, join, room, startServer } from './helpers.js'

afterEach(cleanup)

describe('rendezvous protocol', () => {
  it('ping is answered with pong; url is ws://host:port', async () => {
    const server = await startServer()
    const socket = await connect(server)
    socket.send({ type: 'ping' })
    expect(await socket.next('pong')).toEqual({ type: 'pong' })
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}`)
    expect(server.port).toBeGreaterThan(0)
  })

  it('welcome announces the configured limits', async () => {
    const server = await startServer({ maxPeersPerRoom: 7, maxMessageBytes: 4096 })
    const socket = new TestSocket(server.url)
    const welcome = await socket.next('welcome')
    expect(welcome.version).toBe(SIGNALING_PROTOCOL_VERSION)
    expect(welcome.limits).toEqual({
      maxMessageBytes: 4096,
      messagesPerSecond: DEFAULT_SIGNALING_OPTIONS.messagesPerSecond,
      messageBurst: DEFAULT_SIGNALING_OPTIONS.messageBurst,
      maxRoomsPerSocket: DEFAULT_SIGNALING_OPTIONS.maxRoomsPerSocket,
      maxPeersPerRoom: 7
    })
  })

  it('join assigns a random hex peer id and lists the other members', async () => {
    const server = await startServer()
    const a = await join(server)
    expect(a.peer).toMatch(PEER_ID_PATTERN)
    expect(a.peers).toEqual([])
    const b = await join(server)
    expect(b.peer).toMatch(PEER_ID_PATTERN)
    expect(b.peer).not.toBe(a.peer)
    expect(b.peers).toEqual([{ id: a.peer, role: 'viewer' }])
    expect(await a.socket.next('peer-joined')).toEqual({ type: 'peer-joined', room: room(), peer: b.peer, role: 'viewer' })
    expect(server.stats()).toMatchObject({ sockets: 2, rooms: 1 })
  })

  it('peer ids differ per room for the same socket', async () => {
    const server = await startServer()
    const a = await join(server, room(1))
    a.socket.send({ type: 'join', room: room(2) })
    const second = await a.socket.next('joined')
    expect(second.room).toBe(room(2))
    expect(second.peer).not.toBe(a.peer)
  })

  it('joined always lists broadcasters and samples at most peersInJoined others', async () => {
    const server = await startServer({ peersInJoined: 2 })
    const viewers = [await join(server), await join(server), await join(server)]
    const broadcaster = await join(server, room(), 'broadcaster')
    expect(broadcaster.peers).toHaveLength(2)
    for (const p of broadcaster.peers) expect(viewers.map((v) => v.peer)).toContain(p.id)
    const late = await join(server)
    expect(late.peers).toHaveLength(3)
    expect(late.peers[0]).toEqual({ id: broadcaster.peer, role: 'broadcaster' })
    const announced = [] as unknown[]
    for (let i = 0; i < 4; i++) announced.push(await viewers[0]!.socket.next('peer-joined'))
    expect(announced).toContainEqual({ type: 'peer-joined', room: room(), peer: broadcaster.peer, role: 'broadcaster' })
  })

  it('signal is relayed only to the named peer, with from set by the server', async () => {
    const server = await startServer()
    const a = await join(server)
    const b = await join(server)
    const c = await join(server)
    a.socket.send({ type: 'signal', room: room(), to: b.peer, data: { sdp: 'offer' }, from: c.peer })
    expect(await b.socket.next('signal')).toEqual({ type: 'signal', room: room(), from: a.peer, data: { sdp: 'offer' } })
    expect(await c.socket.none('signal')).toBe(true)
    expect(server.stats().messagesRelayed).toBe(1)
  })

  it('signal to a peer in another room is ERR_UNKNOWN_PEER', async () => {
    const server = await startServer()
    const a = await join(server, room(1))
    const b = await join(server, room(2))
    a.socket.send({ type: 'signal', room: room(1), to: b.peer, data: 1 })
    expect(await a.socket.next('error')).toMatchObject({ code: 'ERR_UNKNOWN_PEER', room: room(1), ref: 'signal' })
    expect(await b.socket.none('signal')).toBe(true)
  })

  it('signal or leave for a room not joined is ERR_NOT_IN_ROOM', async () => {
    const server = await startServer()
    const a = await join(server, room(1))
    const b = await join(server, room(2))
    b.socket.send({ type: 'signal', room: room(1), to: a.peer, data: 1 })
    expect(await b.socket.next('error')).toMatchObject({ code: 'ERR_NOT_IN_ROOM', ref: 'signal' })
    b.socket.send({ type: 'leave', room: room(1) })
    expect(await b.socket.next('error')).toMatchObject({ code: 'ERR_NOT_IN_ROOM', ref: 'leave' })
    expect(await a.socket.none('signal')).toBe(true)
  })

  it('joining the same room twice is ERR_ALREADY_IN_ROOM', async () => {
    const server = await startServer()
    const a = await join(server)
    a.socket.send({ type: 'join', room: room() })
    expect(await a.socket.next('error')).toMatchObject({ code: 'ERR_ALREADY_IN_ROOM', room: room() })
  })

  it('leave tells the others only peer-left, and removes the empty room', async () => {
    const server = await startServer()
    const a = await join(server)
    const b = await join(server)
    await a.socket.next('peer-joined')
    b.socket.send({ type: 'leave', room: room() })
    expect(await a.socket.next('peer-left')).toEqual({ type: 'peer-left', room: room(), peer: b.peer })
    a.socket.send({ type: 'signal', room: room(), to: b.peer, data: 1 })
    expect(await a.socket.next('error')).toMatchObject({ code: 'ERR_UNKNOWN_PEER' })
    a.socket.send({ type: 'leave', room: room() })
    await expect.poll(() => server.stats().rooms).toBe(0)
    expect(server.stats().sockets).toBe(2)
  })

  it('closing a socket tells its rooms peer-left and frees all state', async () => {
    const server = await startServer()
    const a = await join(server, room(1))
    const b = await join(server, room(1))
    b.socket.send({ type: 'join', room: room(2) })
    await b.socket.next('joined')
    b.socket.ws.close()
    expect(await a.socket.next('peer-left')).toEqual({ type: 'peer-left', room: room(1), peer: b.peer })
    await expect.poll(() => server.stats()).toMatchObject({ sockets: 1, rooms: 1 })
    a.socket.ws.close()
    await expect.poll(() => server.stats()).toMatchObject({ sockets: 0, rooms: 0 })
  })

  it('hello with another protocol version gets ERR_UNSUPPORTED_VERSION and close 4002', async () => {
    const server = await startServer()
    const a = await connect(server)
    a.send({ type: 'hello', version: SIGNALING_PROTOCOL_VERSION })
    a.send({ type: 'ping' })
    await a.next('pong')
    a.send({ type: 'hello', version: 99 })
    expect(await a.next('error')).toMatchObject({ code: 'ERR_UNSUPPORTED_VERSION' })
    expect((await a.closed).code).toBe(4002)
  })

  it('close() closes every socket with 1001 and is idempotent', async () => {
    const server = await startServer()
    const a = await join(server)
    await Promise.all([server.close(), server.close()])
    expect((await a.socket.closed).code).toBe(1001)
    expect(server.stats().sockets).toBe(0)
  })
})
