// Broadcast page: camera or screen → munro → the swarm, with a shareable watch link and live stats.
// Query (optional): autostart=1, source=camera|screen, maxBroadcasterPeers=N, keyIntervalMs=N,
// timeslice=N, signal=ws://…, stun=… (see config.ts).
import { broadcast, type BroadcastHandle, type BroadcastStats } from '../../sdk/src/browser/index.js'
import { fmtBytes, iceServers, intParam, query, setStat, signalUrl, trackPageErrors } from './config.js'

const pageErrors = trackPageErrors()
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T
const startBtn = $<HTMLButtonElement>('start')
const stopBtn = $<HTMLButtonElement>('stop')
const statusEl = $<HTMLSpanElement>('status')
const errorsEl = $<HTMLParagraphElement>('errors')
const preview = $<HTMLVideoElement>('preview')
let live: BroadcastHandle | null = null

function setStatus (text: string, state: string): void {
  statusEl.textContent = text
  statusEl.dataset.state = state
}

function showError (message: string): void {
  errorsEl.textContent += `${message}\n`
}

function render (s: BroadcastStats): void {
  setStat('stat-peers', String(s.peers), s.peers)
  setStat('stat-blocks', String(s.blocks), s.blocks)
  setStat('stat-keyframes', String(s.recorder.keyframes), s.recorder.keyframes)
  setStat('stat-recorded', fmtBytes(s.recorder.bytes), s.recorder.bytes)
  setStat('stat-sent', fmtBytes(s.bytesSent), s.bytesSent)
  setStat('stat-uptime', `${(s.uptimeMs / 1000).toFixed(0)} s`, s.uptimeMs)
}

function links (id: string): void {
  const params = new URLSearchParams({ stream: id })
  for (const name of ['signal', 'stun']) for (const v of query.getAll(name)) params.append(name, v)
  const watch = new URL(`/watch.html?${params.toString()}`, location.href).href
  const embed = new URL(`/embed.html?${params.toString()}`, location.href).href
  $('stream-id').textContent = id
  $<HTMLInputElement>('watch-link').value = watch
  $<HTMLAnchorElement>('watch-open').href = watch
  $<HTMLAnchorElement>('embed-open').href = embed
}

async function start (): Promise<void> {
  startBtn.disabled = true
  setStatus('starting…', 'starting')
  const picked = document.querySelector<HTMLInputElement>('input[name=source]:checked')?.value
  const source = picked === 'screen' ? 'screen' : 'camera'
  try {
    const options: Parameters<typeof broadcast>[0] = { signal: await signalUrl(), source, preview, iceServers: iceServers() }
    const maxBroadcasterPeers = intParam('maxBroadcasterPeers')
    if (maxBroadcasterPeers !== undefined) options.maxBroadcasterPeers = maxBroadcasterPeers
    const keyIntervalMs = intParam('keyIntervalMs')
    if (keyIntervalMs !== undefined) options.keyIntervalMs = keyIntervalMs
    const timeslice = intParam('timeslice')
    if (timeslice !== undefined) options.timeslice = timeslice
    live = await broadcast(options)
  } catch (err) {
    setStatus('failed', 'failed')
    showError(String(err))
    startBtn.disabled = false
    return
  }
  const handle = live
  links(handle.id)
  setStatus('live', 'live')
  stopBtn.disabled = false
  handle.on('stats', render)
  handle.on('error', ({ error, fatal }) => { if (fatal) showError(error.message) })
  handle.on('ended', () => {
    setStatus('ended', 'ended')
    startBtn.disabled = false
  })
}

async function stop (): Promise<void> {
  if (live === null) return
  stopBtn.disabled = true
  setStatus('stopping…', 'stopping')
  const handle = live
  live = null
  await handle.stop()
}

startBtn.addEventListener('click', () => { void start() })
stopBtn.addEventListener('click', () => { void stop() })
const src = query.get('source')
if (src === 'screen' || src === 'camera') {
  const radio = document.querySelector<HTMLInputElement>(`input[name=source][value=${src}]`)
  if (radio !== null) radio.checked = true
}
if (query.get('autostart') === '1') void start()

declare global { interface Window { __munroDemo?: { pageErrors: string[], handle: () => BroadcastHandle | null } } }
window.__munroDemo = { pageErrors, handle: () => live }
