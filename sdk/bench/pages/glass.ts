// Glass-to-glass benchmark page (driven by sdk/bench/glass.ts). Query:
//   role=floor      canvas clock → createRecorder → createPlayer in this page, no network
//   role=broadcast  canvas clock → broadcast({ source: canvas stream }); &signal=ws://… &maxBroadcasterPeers=N
//   role=watch      watch({ stream }) → <video> → timecode read back; &signal=ws://… &stream=<id>
//                   [&targetLatency=S, default watch()'s]
// Everything measured is exposed as `window.glass` (see GlassState) for the harness to read.
import { broadcast, watch, DEFAULT_BROADCAST_OPTIONS, DEFAULT_WATCH_OPTIONS } from '../../src/browser/index.js'
import type { BroadcastHandle, WatchHandle } from '../../src/browser/index.js'
import { createPlayer } from '../../src/media/player.js'
import { createRecorder } from '../../src/media/recorder.js'
import { decodeTimecode, elapsedSince, encodeTimecode, cellRect, CELLS, timecodeOf } from './timecode.js'

/** The wall clock every page of one browser shares (epoch ms, sub-ms resolution). */
const wall = (t = performance.now()): number => performance.timeOrigin + t

export interface GlassSample {
  /** Wall-clock time (epoch ms) the decoded frame was (expected to be) shown. */
  t: number
  /** Latency: shown − painted, ms. */
  ms: number
}

export interface GlassStatsPoint {
  t: number
  state: string
  peers: number
  peerRoles: string[]
  fromBroadcaster: number
  fromPeers: number
  firstFrameMs: number | null
  bufferSeconds: number
  playbackRate: number
  /** Watch stats: mean broadcaster-append → verified-here time over the last blocks, ms. */
  networkLatencyMs: number | null
}

export interface GlassState {
  role: string
  /** Stream id (broadcast role), once live. */
  id: string | null
  errors: string[]
  /** Source frames painted (all roles that paint). */
  painted: number
  /** Video frames examined / decoded / refused by reason. */
  frames: number
  samples: GlassSample[]
  refused: Record<string, number>
  /** Decoded codes that gave a latency outside (−50 ms, 30 s): counted, not sampled. */
  implausible: number
  /** Whether requestVideoFrameCallback was available (else frames are polled per animation frame). */
  rvfc: boolean
  /** Wall time at which `watch()` (or the floor's player) was started, and of the first decoded frame. */
  startedAt: number | null
  firstDecodedAt: number | null
  stats: GlassStatsPoint[]
  /** `waiting` events of the `<video>` after its first frame (stalls: the buffer ran dry). */
  stalls: number
  /** The player's targetLatency (s) in this page. */
  targetLatency: number | null
}

const q = new URLSearchParams(location.search)
const role = q.get('role') ?? 'floor'
const state: GlassState = {
  role, id: null, errors: [], painted: 0, frames: 0, samples: [], refused: {}, implausible: 0,
  rvfc: 'requestVideoFrameCallback' in HTMLVideoElement.prototype, startedAt: null, firstDecodedAt: null, stats: [], stalls: 0, targetLatency: null
}
;(window as unknown as { glass: GlassState }).glass = state
window.addEventListener('error', (e) => state.errors.push(String(e.message)))
window.addEventListener('unhandledrejection', (e) => state.errors.push(String(e.reason)))
;(document.getElementById('role') as HTMLElement).textContent = `role=${role}`
const statusEl = document.getElementById('status') as HTMLPreElement
const source = document.getElementById('source') as HTMLCanvasElement
const video = document.getElementById('video') as HTMLVideoElement

/** Paints the wall clock as the timecode on every animation frame; returns the canvas stream. */
function startClock (): MediaStream {
  source.hidden = false
  const ctx = source.getContext('2d', { alpha: false }) as CanvasRenderingContext2D
  const rects = Array.from({ length: CELLS }, (_, i) => cellRect(i, source.width, source.height))
  const paint = (): void => {
    const cells = encodeTimecode(timecodeOf(wall()))
    ctx.fillStyle = '#000'
    ctx.fillRect(0, 0, source.width, source.height)
    ctx.fillStyle = '#fff'
    for (let i = 0; i < CELLS; i++) {
      if (cells[i] !== 1) continue
      const r = rects[i] as { x: number, y: number, w: number, h: number }
      ctx.fillRect(r.x, r.y, r.w, r.h)
    }
    state.painted++
    requestAnimationFrame(paint)
  }
  paint()
  return source.captureStream(30)
}

/** Reads the timecode of every frame the `<video>` presents. */
function startReading (): void {
  video.hidden = false
  video.addEventListener('waiting', () => { if (state.firstDecodedAt !== null) state.stalls++ })
  const w = 160
  const h = 120
  const canvas = document.createElement('canvas')
  canvas.width = w
  canvas.height = h
  const ctx = canvas.getContext('2d', { willReadFrequently: true, alpha: false }) as CanvasRenderingContext2D
  const read = (shownAt: number): void => {
    if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || video.videoWidth === 0) return
    state.frames++
    ctx.drawImage(video, 0, 0, w, h)
    const r = decodeTimecode(ctx.getImageData(0, 0, w, h).data, w, h)
    if (!r.ok) {
      state.refused[r.reason] = (state.refused[r.reason] ?? 0) + 1
      return
    }
    const ms = elapsedSince(r.value, shownAt)
    if (ms < -50 || ms > 30_000) {
      state.implausible++
      return
    }
    state.firstDecodedAt ??= shownAt
    state.samples.push({ t: shownAt, ms })
  }
  if (state.rvfc) {
    const onFrame = (_now: DOMHighResTimeStamp, meta: VideoFrameCallbackMetadata): void => {
      read(wall(meta.expectedDisplayTime))
      video.requestVideoFrameCallback(onFrame)
    }
    video.requestVideoFrameCallback(onFrame)
  } else {
    let last = -1
    const poll = (now: DOMHighResTimeStamp): void => {
      if (video.currentTime !== last) {
        last = video.currentTime
        read(wall(now))
      }
      requestAnimationFrame(poll)
    }
    requestAnimationFrame(poll)
  }
}

function show (text: string): void { statusEl.textContent = text }

async function runFloor (): Promise<void> {
  const stream = startClock()
  // The same recorder settings as broadcast() and the same player settings as watch().
  state.targetLatency = DEFAULT_WATCH_OPTIONS.targetLatency
  const player = createPlayer(video, { targetLatency: state.targetLatency })
  player.on('error', ({ error, fatal }) => state.errors.push(`player ${error.code}${fatal ? ' (fatal)' : ''}: ${error.message}`))
  state.startedAt = wall()
  let index = 0
  createRecorder(stream, {
    timeslice: DEFAULT_BROADCAST_OPTIONS.timeslice,
    keyIntervalMs: DEFAULT_BROADCAST_OPTIONS.keyIntervalMs,
    onInit: (meta) => { player.setMetadata(meta) },
    onBlock: (data, flags) => { player.push(index++, data, flags) },
    onError: (error) => state.errors.push(`recorder ${error.code}: ${error.message}`)
  })
  startReading()
  setInterval(() => {
    const p = player.stats
    state.stats.push({
      t: wall(), state: p.state, peers: 0, peerRoles: [], fromBroadcaster: p.appendedBlocks, fromPeers: 0,
      firstFrameMs: null, bufferSeconds: p.latency, playbackRate: p.playbackRate, networkLatencyMs: null
    })
    show(`floor: ${state.samples.length} samples, ${p.appendedBlocks} blocks, latency ${p.latency.toFixed(2)} s`)
  }, 1000)
}

async function runBroadcast (): Promise<void> {
  const signal = q.get('signal') ?? ''
  const max = Number(q.get('maxBroadcasterPeers') ?? DEFAULT_BROADCAST_OPTIONS.maxBroadcasterPeers)
  const live: BroadcastHandle = await broadcast({ signal, source: startClock(), iceServers: [], maxBroadcasterPeers: max })
  live.on('error', ({ error, fatal }) => { if (fatal) state.errors.push(`broadcast: ${error.message}`) })
  state.id = live.id
  setInterval(() => {
    const s = live.stats
    state.stats.push({
      t: wall(), state: s.state, peers: s.peers, peerRoles: s.swarm.peers.map((p) => p.role), fromBroadcaster: s.blocks,
      fromPeers: 0, firstFrameMs: null, bufferSeconds: 0, playbackRate: 1, networkLatencyMs: null
    })
    show(`broadcast ${live.id.slice(0, 8)}…: ${s.peers} direct viewers, ${s.blocks} blocks`)
  }, 1000)
}

async function runWatch (): Promise<void> {
  const signal = q.get('signal') ?? ''
  const stream = q.get('stream') ?? ''
  state.startedAt = wall()
  const targetLatency = Number(q.get('targetLatency') ?? DEFAULT_WATCH_OPTIONS.targetLatency)
  state.targetLatency = targetLatency
  const viewer: WatchHandle = watch({ signal, stream, video, iceServers: [], targetLatency })
  viewer.on('error', ({ error, fatal }) => { if (fatal) state.errors.push(`watch: ${error.message}`) })
  startReading()
  viewer.on('stats', (s) => {
    state.stats.push({
      t: wall(), state: s.state, peers: s.peers, peerRoles: s.swarm.peers.map((p) => p.role),
      fromBroadcaster: s.blocksFromBroadcaster, fromPeers: s.blocksFromPeers, firstFrameMs: s.firstFrameMs,
      bufferSeconds: s.bufferSeconds, playbackRate: s.player.playbackRate, networkLatencyMs: s.networkLatencyMs
    })
    show(`watch: ${s.state}, ${s.peers} peers (${s.swarm.peers.map((p) => p.role).join(', ')}), ` +
      `${s.blocksFromBroadcaster} from broadcaster / ${s.blocksFromPeers} from peers, ${state.samples.length} samples`)
  })
}

const run = role === 'broadcast' ? runBroadcast : role === 'watch' ? runWatch : runFloor
run().catch((err: unknown) => { state.errors.push(`${role}: ${String(err)}`) })
