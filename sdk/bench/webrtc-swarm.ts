/**
 * A real WebRTC swarm in Node (@roamhq/wrtc, loopback, signaling server in-process): one
 * broadcaster and a handful of viewers, a 2.5 Mbit/s stream in 300 ms blocks. Reports the
 * broadcaster's upload as a multiple of the stream, where viewers got their blocks, and
 * append → verified latency.
 */
import wrtc from '@roamhq/wrtc'
import WebSocket from 'ws'
import { createSignalingServer } from '../../signaling-server/src/index.js'
import { munro, type Munro } from '../src/index.js'
import type { WebSocketConstructor } from '../src/signaling/index.js'
import { joinSwarm, type Swarm } from '../src/swarm/index.js'
import { percentile, printTable } from './util.js'

const VIEWERS = 8
const BITRATE = 2_500_000
const BLOCK_MS = 300
const SECONDS = 10

export async function runWebrtcSwarm (): Promise<Record<string, unknown>> {
  const server = await createSignalingServer({ port: 0, host: '127.0.0.1', log: null })
  const common = {
    signal: server.url, wrtc, WebSocket: WebSocket as unknown as WebSocketConstructor, iceServers: [],
    maxPeers: 3, maxBroadcasterPeers: 2, maintainIntervalMs: 250, retryAfterMs: 1000
  }
  const b = munro()
  const swarms: Swarm[] = [joinSwarm(b, common)]
  const viewers: Munro[] = []
  const latencies: number[] = []
  for (let i = 0; i < VIEWERS; i++) {
    const v = munro(b.id, { start: 'live' })
    v.on('verified', (e) => { if (e.latency !== null) latencies.push(e.latency) })
    viewers.push(v)
    swarms.push(joinSwarm(v, common))
  }
  const t0 = Date.now()
  while (swarms.slice(1).some(s => s.stats().peers.length === 0) && Date.now() - t0 < 20_000) await new Promise(resolve => setTimeout(resolve, 100))
  const connectMs = Date.now() - t0
  const blockBytes = Math.round(BITRATE / 8 * BLOCK_MS / 1000)
  const blocks = Math.round(SECONDS * 1000 / BLOCK_MS)
  const sentBefore = b.stats().bytesSent
  const data = new Uint8Array(blockBytes).map((_, k) => k & 0xff)
  for (let i = 0; i < blocks; i++) {
    data[0] = i & 0xff
    await b.append(data)
    await new Promise(resolve => setTimeout(resolve, BLOCK_MS))
  }
  await new Promise(resolve => setTimeout(resolve, 1000))
  const uploaded = b.stats().bytesSent - sentBefore
  const vs = swarms.slice(1).map(s => s.stats())
  const complete = viewers.map(v => { let n = 0; for (let i = 0; i < blocks; i++) if (v.info(i)?.complete === true) n++; return n })
  const fromB = vs.reduce((a, s) => a + s.blocksFromBroadcaster, 0)
  const fromP = vs.reduce((a, s) => a + s.blocksFromPeers, 0)
  const result = {
    viewers: VIEWERS, bitrate: BITRATE, blockMs: BLOCK_MS, seconds: SECONDS, connectMs,
    broadcasterUploadMultiple: uploaded / (blockBytes * blocks),
    p2pShare: fromP / (fromB + fromP),
    viewersWithAllBlocks: complete.filter(n => n >= blocks - 1).length,
    latencyP50Ms: percentile(latencies, 50), latencyP95Ms: percentile(latencies, 95)
  }
  printTable(`WebRTC swarm in Node: 1 broadcaster + ${VIEWERS} viewers, ${BITRATE / 1e6} Mbit/s in ${BLOCK_MS} ms blocks for ${SECONDS} s (maxBroadcasterPeers 2, maxPeers 3)`, [
    { measure: 'all viewers connected (ms)', value: connectMs },
    { measure: 'broadcaster upload (x stream bitrate)', value: result.broadcasterUploadMultiple },
    { measure: 'blocks viewers got from viewers (share)', value: result.p2pShare },
    { measure: `viewers holding every block since they joined`, value: `${result.viewersWithAllBlocks} / ${VIEWERS}` },
    { measure: 'append → verified p50 / p95 (ms)', value: `${result.latencyP50Ms.toFixed(1)} / ${result.latencyP95Ms.toFixed(1)}` }
  ])
  for (const s of swarms) s.destroy()
  for (const m of [b, ...viewers]) await m.destroy()
  await server.close()
  return result
}
