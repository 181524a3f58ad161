/**
 * Signaling load: a bounded number of WebSocket clients on loopback join rooms and relay
 * signals to each other through one server process. Reports relayed messages per second,
 * relay latency (send → receive, same clock) and the server's memory.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { percentile, printTable } from './util.js'

const CLIENTS = 1000
const ROOM_SIZE = 10
/** Signals each client sends per second: under the server's default 20/s per socket. */
const RATE = 5
const DURATION_MS = 5000

interface Client { ws: WebSocket, room: string, id: string | null, peers: string[] }

const roomId = (r: number): string => r.toString(16).padStart(64, '0')

function startServer (): Promise<{ child: ChildProcess, url: string }> {
  const file = join(dirname(fileURLToPath(import.meta.url)), 'signaling-server-child.ts')
  const child = fork(file, [], { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.on('message', (m: { type: string, url?: string }) => { if (m.type === 'ready') resolve({ child, url: m.url as string }) })
  })
}

function ask<T> (child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { type: string }): void => { if (m.type === type) { child.off('message', on); resolve(m as T) } }
    child.on('message', on)
    child.send({ type })
  })
}

export async function runSignalingLoad (): Promise<Record<string, unknown>> {
  const { child, url } = await startServer()
  const before = await ask<{ memory: NodeJS.MemoryUsage }>(child, 'memory')
  const latencies: number[] = []
  let received = 0
  const clients: Client[] = []
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CLIENTS }, (_, i) => new Promise<void>((resolve, reject) => {
    const c: Client = { ws: new WebSocket(url), room: roomId(Math.floor(i / ROOM_SIZE)), id: null, peers: [] }
    clients.push(c)
    c.ws.on('error', reject)
    c.ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { type: string, peer?: string, peers?: Array<{ id: string }>, data?: { t: number } }
      if (m.type === 'welcome') c.ws.send(JSON.stringify({ type: 'join', room: c.room }))
      else if (m.type === 'joined') { c.id = m.peer ?? null; c.peers = (m.peers ?? []).map(p => p.id); resolve() }
      else if (m.type === 'peer-joined' && m.peer !== undefined) c.peers.push(m.peer)
      else if (m.type === 'signal' && m.data !== undefined) { received++; latencies.push(performance.now() - m.data.t) }
    })
  })))
  const joinMs = performance.now() - t0
  const joined = await ask<{ memory: NodeJS.MemoryUsage }>(child, 'memory')
  let sent = 0
  const sendStart = performance.now()
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (performance.now() - sendStart >= DURATION_MS) { clearInterval(timer); resolve(); return }
      // One tick every 100 ms: each client sends RATE/10 signals on average.
      for (const c of clients) {
        if (Math.random() >= RATE / 10 || c.peers.length === 0) continue
        const to = c.peers[Math.floor(Math.random() * c.peers.length)] as string
        c.ws.send(JSON.stringify({ type: 'signal', room: c.room, to, data: { t: performance.now(), sdp: 'x'.repeat(200) } }))
        sent++
      }
    }, 100)
  })
  await new Promise(resolve => setTimeout(resolve, 500))
  const seconds = (performance.now() - sendStart) / 1000
  const loaded = await ask<{ memory: NodeJS.MemoryUsage, stats: unknown }>(child, 'memory')
  for (const c of clients) c.ws.close()
  child.send({ type: 'close' })
  const mb = (m: NodeJS.MemoryUsage): number => m.rss / 1048576
  const result = {
    clients: CLIENTS, roomSize: ROOM_SIZE, ratePerClient: RATE, durationMs: DURATION_MS,
    joinAllMs: joinMs, sent, relayed: received, lost: sent - received,
    relayedPerSec: received / seconds,
    p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99),
    serverRssMbIdle: mb(before.memory), serverRssMbJoined: mb(joined.memory), serverRssMbLoaded: mb(loaded.memory),
    serverHeapMbLoaded: loaded.memory.heapUsed / 1048576
  }
  printTable(`Signaling load: ${CLIENTS} WebSocket clients on loopback, rooms of ${ROOM_SIZE}, ${RATE} signals/s each for ${DURATION_MS / 1000} s`, [
    { measure: 'all clients joined (ms)', value: result.joinAllMs },
    { measure: 'signals relayed / s', value: result.relayedPerSec },
    { measure: 'relay latency p50 (ms)', value: result.p50Ms },
    { measure: 'relay latency p99 (ms)', value: result.p99Ms },
    { measure: 'signals lost', value: result.lost },
    { measure: 'server RSS idle / joined / loaded (MB)', value: `${result.serverRssMbIdle.toFixed(0)} / ${result.serverRssMbJoined.toFixed(0)} / ${result.serverRssMbLoaded.toFixed(0)}` }
  ])
  return result
}
