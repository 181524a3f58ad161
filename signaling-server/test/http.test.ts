import { afterEach, describe, expect, it } from 'vitest'
import {
  createSignalingServer,
  DEFAULT_SIGNALING_OPTIONS,
  resolveSignalingOptions,
  SignalingServerError,
  type SignalingLogEntry
} from '../src/index.js'
import { parseCliArgs } from '../src/cli.js'
import { cleanup, connect, get, join, room, startServer } from './helpers.js'

afterEach(cleanup)

describe('HTTP endpoints', () => {
  it('GET /health reports sockets, rooms and uptime', async () => {
    const server = await startServer()
    await join(server)
    const res = await get(server, '/health')
    expect(res.status).toBe(200)
    expect(res.type).toMatch(/^application\/json/)
    const body = JSON.parse(res.body) as Record<string, unknown>
    expect(body).toMatchObject({ ok: true, sockets: 1, rooms: 1 })
    expect(typeof body.uptime).toBe('number')
  })

  it('GET /metrics counts sockets, rooms, relayed messages and rejects by reason', async () => {
    const server = await startServer()
    const a = await join(server)
    const b = await join(server)
    a.socket.send({ type: 'signal', room: room(), to: b.peer, data: 1 })
    a.socket.send({ type: 'signal', room: room(), to: b.peer, data: 2 })
    await b.socket.next('signal')
    await b.socket.next('signal')
    a.socket.send('nope')
    a.socket.send({ type: 'nope' })
    await a.socket.next('error')
    await a.socket.next('error')
    const res = await get(server, '/metrics')
    expect(res.status).toBe(200)
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/)
    const lines = res.body.split('\n')
    expect(lines).toContain('munro_signaling_sockets 2')
    expect(lines).toContain('munro_signaling_rooms 1')
    expect(lines).toContain('munro_signaling_connections_total 2')
    expect(lines).toContain('munro_signaling_messages_relayed_total 2')
    expect(lines).toContain('munro_signaling_rejects_total{reason="ERR_BAD_JSON"} 1')
    expect(lines).toContain('munro_signaling_rejects_total{reason="ERR_UNKNOWN_TYPE"} 1')
    expect(lines).toContain('# TYPE munro_signaling_rejects_total counter')
  })

  it('other paths are 404 and other methods 405', async () => {
    const server = await startServer()
    expect((await get(server, '/')).status).toBe(404)
    expect((await get(server, '/health/x')).status).toBe(404)
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })
    expect(res.status).toBe(405)
  })
})

describe('options, logs and CLI flags', () => {
  it('DEFAULT_SIGNALING_OPTIONS is frozen and strict', () => {
    expect(Object.isFrozen(DEFAULT_SIGNALING_OPTIONS)).toBe(true)
    expect(DEFAULT_SIGNALING_OPTIONS).toMatchObject({ host: '127.0.0.1', maxMessageBytes: 16384, allowedOrigins: null })
  })

  it('invalid options throw ERR_INVALID_OPTION naming the field', async () => {
    expect(() => resolveSignalingOptions({ maxPeersPerRoom: 0 })).toThrow(/maxPeersPerRoom/)
    expect(() => resolveSignalingOptions({ port: 70000 })).toThrow(SignalingServerError)
    await expect(createSignalingServer({ messagesPerSecond: -1, log: null })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' })
  })

  it('a taken port rejects with ERR_LISTEN', async () => {
    const server = await startServer()
    await expect(createSignalingServer({ port: server.port, log: null })).rejects.toMatchObject({ code: 'ERR_LISTEN' })
  })

  it('logs structured entries to the log option and survives a throwing logger', async () => {
    const entries: SignalingLogEntry[] = []
    const server = await startServer({ log: (e) => entries.push(e) })
    const a = await connect(server)
    a.ws.close()
    await a.closed
    await expect.poll(() => entries.map((e) => e.event)).toContain('disconnect')
    expect(entries[0]).toMatchObject({ level: 'info', event: 'listening', port: server.port })
    expect(typeof entries[0]!.time).toBe('string')
    const noisy = await startServer({
      log: () => {
        throw new Error('broken sink')
      }
    })
    await join(noisy)
  })

  it('parseCliArgs maps kebab-case flags onto options', () => {
    expect(parseCliArgs(['--port', '0', '--host', '::1', '--max-peers-per-room', '9', '--allowed-origin', 'https://a', '--allowed-origin', 'https://b', '--quiet'])).toEqual({
      port: 0,
      host: '::1',
      maxPeersPerRoom: 9,
      allowedOrigins: ['https://a', 'https://b'],
      log: null
    })
    expect(() => parseCliArgs(['--port', 'x'])).toThrow(/ERR_INVALID_OPTION/)
    expect(() => parseCliArgs(['--bogus'])).toThrow(/ERR_INVALID_OPTION/)
  })
})
