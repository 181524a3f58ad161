// Watch page: plays `?stream=<id>` from the swarm and shows where the blocks came from.
// Query: stream=<64 hex> (else a form asks), signal=ws://…, stun=…, maxPeers=N, targetLatency=S,
// tamper=1 (TEST ONLY: this viewer corrupts every block it relays, to exercise its neighbours).
import { watch, type WatchHandle, type WatchStats } from '../../sdk/src/browser/index.js'
import { fmtMs, fmtPct, iceServers, intParam, query, setStat, signalUrl, trackPageErrors } from './config.js'

const pageErrors = trackPageErrors()
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T
const video = $<HTMLVideoElement>('video')
const statusEl = $<HTMLSpanElement>('status')
const errorsEl = $<HTMLParagraphElement>('errors')
const unmute = $<HTMLButtonElement>('unmute')
let viewer: WatchHandle | null = null

function setStatus (text: string, state: string): void {
  statusEl.textContent = text
  statusEl.dataset.state = state
}

function render (s: WatchStats): void {
  setStat('stat-peers', String(s.peers), s.peers)
  setStat('stat-from-broadcaster', String(s.blocksFromBroadcaster), s.blocksFromBroadcaster)
  setStat('stat-from-peers', String(s.blocksFromPeers), s.blocksFromPeers)
  setStat('stat-p2p', fmtPct(s.p2pRatio), s.p2pRatio)
  setStat('stat-latency', fmtMs(s.liveLatencyMs), s.liveLatencyMs)
  setStat('stat-network', fmtMs(s.networkLatencyMs), s.networkLatencyMs)
  setStat('stat-buffer', `${s.bufferSeconds.toFixed(2)} s`, s.bufferSeconds)
  setStat('stat-verified', String(s.verifiedBlocks), s.verifiedBlocks)
  setStat('stat-rejected', String(s.rejectedBlocks), s.rejectedBlocks)
  const rescued = s.swarm.peers.some(p => p.rescue)
  setStat('stat-late', `${s.swarm.lateBlocks}${rescued ? ' (rescue link to the broadcaster)' : ''}`, s.swarm.lateBlocks)
  setStat('stat-start', s.startIndex === null ? '–' : `${s.startIndex}${s.startedAtKeyframe === true ? ' (keyframe)' : ''}`,
    s.startIndex === null ? null : `${s.startIndex}:${s.startedAtKeyframe === true ? 'keyframe' : 'other'}`)
  const j = s.join
  setStat('stat-first-frame', s.firstFrameMs === null ? '–'
    : `${fmtMs(s.firstFrameMs)} (peer ${fmtMs(j.peerMs)}, metadata ${fmtMs(j.metadataMs)}, first block ${fmtMs(j.firstBlockMs)})`, s.firstFrameMs)
  setStat('stat-player', `${s.player.state}, ${s.player.gaps} gaps, ${s.player.errors} errors`, s.player.state)
  if (s.state === 'playing') setStatus(`live · ${s.peers} peers`, 'playing')
}

async function start (stream: string): Promise<void> {
  setStatus('connecting…', 'connecting')
  try {
    const options: Parameters<typeof watch>[0] = { signal: await signalUrl(), stream, video, iceServers: iceServers() }
    const maxPeers = intParam('maxPeers')
    if (maxPeers !== undefined) options.maxPeers = maxPeers
    const targetLatency = Number(query.get('targetLatency') ?? NaN)
    if (Number.isFinite(targetLatency)) options.targetLatency = targetLatency
    if (query.get('tamper') === '1') options.unsafeTamperOutgoing = true
    viewer = watch(options)
  } catch (err) {
    setStatus('failed', 'failed')
    errorsEl.textContent += `${String(err)}\n`
    return
  }
  viewer.on('stats', render)
  viewer.on('playing', () => { setStatus('live', 'playing') })
  viewer.on('ended', ({ reason }) => {
    setStatus(reason === 'broadcaster' ? 'stream ended' : 'stream ended (no data)', 'ended')
    $('ended').hidden = false
    if (viewer !== null) render(viewer.stats)
  })
  viewer.on('error', ({ error, fatal }) => {
    if (fatal) {
      setStatus('error', 'failed')
      errorsEl.textContent += `${error.message}\n`
    }
  })
}

unmute.addEventListener('click', () => {
  video.muted = !video.muted
  unmute.textContent = video.muted ? 'Unmute' : 'Mute'
  if (video.paused) video.play().catch(() => {})
})

const stream = query.get('stream')
if (stream !== null && /^[0-9a-fA-F]{64}$/.test(stream)) {
  void start(stream)
} else {
  const form = $<HTMLFormElement>('pick')
  form.hidden = false
  setStatus(stream === null ? 'enter a stream id' : 'not a stream id (64 hex characters)', 'idle')
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const params = new URLSearchParams(location.search)
    params.set('stream', String(new FormData(form).get('stream') ?? '').trim())
    location.search = params.toString()
  })
}

declare global { interface Window { __munroWatch?: { pageErrors: string[], handle: () => WatchHandle | null } } }
window.__munroWatch = { pageErrors, handle: () => viewer }
