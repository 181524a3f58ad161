import { afterEach, describe, expect, it } from 'vitest'
import { parseClientMessage } from '../src/index.js'
import { cleanup, connect, join, room, startServer } from './helpers.js'

afterEach(cleanup)

describe('parseClientMessage', () => {
  const cases: Array<[string, string]> = [
    ['{', 'ERR_BAD_JSON'],
    ['', 'ERR_BAD_JSON'],
    ['null', 'ERR_BAD_MESSAGE'],
    ['[1,2]', 'ERR_BAD_MESSAGE'],
    ['"join"', 'ERR_BAD_MESSAGE'],
    ['{}', 'ERR_UNKNOWN_TYPE'],
    ['{"type":7}', 'ERR_UNKNOWN_TYPE'],
    ['{"type":"offer"}', 'ERR_UNKNOWN_TYPE'],
    ['{"type":"__proto__"}', 'ERR_UNKNOWN_TYPE'],
    ['{"type":"hello"}', 'ERR_BAD_MESSAGE'],
    ['{"type":"join"}', 'ERR_BAD_ROOM'],
    [`{"type":"join","room":"${'AB'.repeat(32)}"}`, 'ERR_BAD_ROOM'],
    [`{"type":"join","room":"${'ab'.repeat(31)}"}`, 'ERR_BAD_ROOM'],
    [`{"type":"join","room":"${'ab'.repeat(32)}","role":"admin"}`, 'ERR_BAD_MESSAGE'],
    [`{"type":"leave","room":5}`, 'ERR_BAD_ROOM'],
    [`{"type":"signal","room":"${'ab'.repeat(32)}","data":{}}`, 'ERR_BAD_MESSAGE'],
    [`{"type":"signal","room":"${'ab'.repeat(32)}","to":"../x","data":{}}`, 'ERR_BAD_MESSAGE'],
    [`{"type":"signal","room":"${'ab'.repeat(32)}","to":"0123456789abcdef"}`, 'ERR_BAD_MESSAGE']
  ]
  for (const [text, code] of cases) {
    it(`${JSON.stringify(text.slice(0, 60))} is ${code}`, () => {
      const result = parseClientMessage(text)
      expect(result.ok).toBe(false)
      if (!result.ok) expect(result.code).toBe(code)
    })
  }

  it('accepts valid frames, defaults role to viewer and ignores extra fields', () => {
    expect(parseClientMessage(`{"type":"join","room":"${'ab'.repeat(32)}","x":1}`)).toEqual({
      ok: true,
      message: { type: 'join', room: 'ab'.repeat(32), role: 'viewer' }
    })
    expect(parseClientMessage(`{"type":"signal","room":"${'ab'.repeat(32)}","to":"0123456789abcdef","data":null}`)).toMatchObject({
      ok: true,
      message: { type: 'signal', data: null }
    })
  })
})

describe('malformed input on the wire', () => {
  it('bad JSON, unknown types, bad rooms and binary frames each get their error code', async () => {
    const server = await startServer()
    const a = await connect(server)
    a.send('{oops')
    expect(await a.next('error')).toMatchObject({ code: 'ERR_BAD_JSON' })
    a.send({ type: 'teleport' })
    expect(await a.next('error')).toMatchObject({ code: 'ERR_UNKNOWN_TYPE' })
    a.send({ type: 'join', room: 'a-public-key' })
    expect(await a.next('error')).toMatchObject({ code: 'ERR_BAD_ROOM', ref: 'join' })
    a.send(Buffer.from('{"type":"ping"}'))
    expect(await a.next('error')).toMatchObject({ code: 'ERR_BAD_JSON' })
    a.send({ type: 'ping' })
    expect(await a.next('pong')).toEqual({ type: 'pong' })
    expect(server.stats().rejects).toMatchObject({ ERR_BAD_JSON: 2, ERR_UNKNOWN_TYPE: 1, ERR_BAD_ROOM: 1 })
  })

  it('the server survives garbage from many sockets and keeps serving', async () => {
    const server = await startServer({ maxErrorsPerSocket: 5 })
    const garbage = [
      '\u0000\u0001\u0002',
      '{"type":"signal","room":{"toString":1}}',
      '{"type":"join","room":"' + 'f'.repeat(64) + '","role":{}}',
      '9'.repeat(5000),
      '{"type":"ping","__proto__":{"polluted":1}}',
      JSON.stringify({ type: 'join', room: ['x'] }),
      '\ud800'
    ]
    const sockets = await Promise.all(Array.from({ length: 5 }, () => connect(server)))
    for (const s of sockets) for (const g of garbage) s.send(g)
    for (const s of sockets) s.ws.send(Buffer.alloc(100, 0xff), { binary: true })
    await Promise.all(sockets.map((s) => s.closed))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const a = await join(server)
    const b = await join(server)
    a.socket.send({ type: 'signal', room: room(), to: b.peer, data: 'still alive' })
    expect((await b.socket.next('signal')).data).toBe('still alive')
    expect(server.stats()).toMatchObject({ sockets: 2, rooms: 1 })
  })
})
