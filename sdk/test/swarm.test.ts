/**
 * The swarm over real WebRTC in Node (@roamhq/wrtc) with a real signaling server on 127.0.0.1.
 */
import wrtc from '@roamhq/wrtc'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createSignalingServer } from '../../signaling-server/src/index.js'
import { munro, type Munro, type MunroOptions } from '../src/index.js'
import type { WebSocketConstructor } from '../src/signaling/index.js'
import { joinSwarm, type Swarm, type SwarmOptions } from '../src/swarm/index.js'

type Server = Awaited<ReturnType<typeof createSignalingServer>>
let server: Server
const cleanup: Array<() => Promise<void> | void> = []

beforeAll(async () => { server = await createSignalingServer({ port: 0, host: '127.0.0.1', log: () => {} }) })
afterAll(async () => { await server.close() })
afterEach(async () => { for (const f of cleanup.splice(0).reverse()) await f() })

const swarmOptions = (extra: Partial<SwarmOptions> = {}): Partial<SwarmOptions> & { signal: string } => ({
  signal: server.url,
  wrtc,
  WebSocket: WebSocket as unknown as WebSocketConstructor,
  iceServers: [],
  maxPeers: 2,
  maxBroadcasterPeers: 2,
  maintainIntervalMs: 200,
  retryAfterMs: 500,
  ...extra
})

function peer (m: Munro, extra: Partial<SwarmOptions> = {}): Swarm {
  const s = joinSwarm(m, swarmOptions(extra))
  cleanup.push(async () => { s.destroy(); await m.destroy() })
  return s
}

function viewer (b: Munro, opts: Partial<MunroOptions> = { start: 0 }, extra: Partial<SwarmOptions> = {}): { m: Munro, s: Swarm } {
  const m = munro(b.id, { requestTimeout: 1000, ...opts })
  return { m, s: peer(m, extra) }
}

async function until (cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now()
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

const BLOCK = 20_000
const block = (i: number): Uint8Array => new Uint8Array(BLOCK).map((_, k) => (i * 31 + k) & 0xff)
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const holdsAll = (m: Munro, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) if (m.info(i)?.complete !== true) return false
  return true
}
async function appendPaced (b: Munro, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) { await b.append(block(i)); await sleep(30) }
}
async function expectBlocks (m: Munro, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) expect(Buffer.from(await m.get(i)).equals(block(i))).toBe(true)
}

describe('swarm over WebRTC', () => {
  it('serves a broadcaster and 5 viewers: all blocks verified everywhere, most from viewers', async () => {
    const b = munro()
    const bs = peer(b)
    const viewers = Array.from({ length: 5 }, () => viewer(b))
    await until(() => viewers.every(v => v.s.stats().peers.length > 0), 15_000, 'viewers to connect')
    const N = 30
    await appendPaced(b, 0, N)
    await until(() => viewers.every(v => holdsAll(v.m, 0, N)), 20_000, 'every block at every viewer')
    for (const v of viewers) await expectBlocks(v.m, 0, N)

    const bStats = bs.stats()
    expect(bStats.peers.length).toBeLessThanOrEqual(2)
    const p2p = viewers.map(v => v.s.stats().p2pRatio ?? 0)
    expect(Math.max(...p2p)).toBeGreaterThan(0.5)
    // The broadcaster pushes to one subscriber, which fans out: about one copy of the stream.
    expect(bStats.bytesSent / (N * BLOCK)).toBeLessThan(1.6)
  }, 60_000)

  it('keeps serving when a viewer leaves mid-stream', async () => {
    const b = munro()
    peer(b)
    const viewers = Array.from({ length: 4 }, () => viewer(b))
    await until(() => viewers.every(v => v.s.stats().peers.length > 0), 15_000, 'viewers to connect')
    await appendPaced(b, 0, 10)
    // Leave with the viewer that serves the most others.
    const leaving = viewers.reduce((a, v) => (v.s.stats().bytesSent > a.s.stats().bytesSent ? v : a))
    leaving.s.destroy()
    await leaving.m.destroy()
    const rest = viewers.filter(v => v !== leaving)
    await appendPaced(b, 10, 30)
    await until(() => rest.every(v => holdsAll(v.m, 0, 30)), 20_000, 'the rest to get every block')
    for (const v of rest) await expectBlocks(v.m, 0, 30)
  }, 60_000)

  it('starts a late viewer at the live edge', async () => {
    const b = munro()
    peer(b)
    const early = [viewer(b), viewer(b)]
    await until(() => early.every(v => v.s.stats().peers.length > 0), 15_000, 'viewers to connect')
    await appendPaced(b, 0, 40)
    const late = viewer(b, { start: 'live' })
    await until(() => late.s.stats().peers.length > 0, 15_000, 'the late viewer to connect')
    await appendPaced(b, 40, 50)
    await until(() => holdsAll(late.m, 45, 50), 20_000, 'the late viewer to get the newest blocks')
    // It did not download the stream's past: at most a block or two before it joined.
    let old = 0
    for (let i = 0; i < 38; i++) if (late.m.info(i) !== undefined) old++
    expect(old).toBe(0)
    await expectBlocks(late.m, 45, 50)
  }, 60_000)

  it('drops a viewer that serves tampered data; its neighbours fetch the blocks elsewhere', async () => {
    const b = munro()
    peer(b, { maxBroadcasterPeers: 1 })
    // The only viewer the broadcaster serves directly tampers with what it sends on.
    const bad = viewer(b, { start: 0 }, { unsafeTamperOutgoing: true })
    await until(() => bad.s.stats().peers.length > 0, 15_000, 'the tamperer to connect')
    const good = Array.from({ length: 3 }, () => viewer(b, { start: 0 }, { maxPeers: 3 }))
    await until(() => good.every(v => v.s.stats().peers.length > 0), 15_000, 'viewers to connect')
    await appendPaced(b, 0, 10)
    await until(() => good.some(v => v.s.stats().invalid > 0), 15_000, 'a neighbour to detect the tampering')
    // The tamperer's own blocks are fine (it verified them); its neighbours must get theirs from
    // the broadcaster once it has room (the tamperer was dropped everywhere).
    bad.s.destroy()
    await bad.m.destroy()
    await appendPaced(b, 10, 20)
    await until(() => good.every(v => holdsAll(v.m, 0, 20)), 30_000, 'honest viewers to get every block').catch((err) => {
      console.log(good.map(v => ({ missing: Array.from({ length: 20 }, (_, i) => i).filter(i => v.m.info(i)?.complete !== true), info: v.m.peers.map(p => [p.label, p.length]), st: v.m.start })))
      throw err
    })
    for (const v of good) await expectBlocks(v.m, 0, 20)
    expect(good.reduce((a, v) => a + v.s.stats().invalid, 0)).toBeGreaterThan(0)
  }, 90_000)
})
