// Test page: fake camera → recorder → cutter → (direct | two in-memory munro instances) → player.
// Query: via=direct|munro, joinAfterMs=N (the player, or the munro receiver, starts N ms late),
// drop=I (direct only: block I is never delivered and the player is told to skip it),
// backlogMs=N (direct, with joinAfterMs: the blocks since the keyframe before the last reach the
// joining player one every N ms, as a backlog fetch would; the player is told the log's length
// unless liveEdge=0), targetLatency=S (the player's, default 0.6).
import { munro } from '../../sdk/src/index.js'
import { BLOCK_FLAG_KEYFRAME } from '../../sdk/src/media/constants.js'
import { createPlayer, type Player, type PlayerEvents } from '../../sdk/src/media/player.js'
import { createRecorder, type Recorder } from '../../sdk/src/media/recorder.js'

const q = new URLSearchParams(location.search)
const via = q.get('via') === 'munro' ? 'munro' : 'direct'
const joinAfterMs = Number(q.get('joinAfterMs') ?? 0)
const dropIndex = q.has('drop') ? Number(q.get('drop')) : null
const backlogMs = q.has('backlogMs') ? Number(q.get('backlogMs')) : null
const tellLiveEdge = q.get('liveEdge') !== '0'
const targetLatency = Number(q.get('targetLatency') ?? 0.6)

const video = document.getElementById('video') as HTMLVideoElement
const statsEl = document.getElementById('stats') as HTMLPreElement
;(document.getElementById('mode') as HTMLElement).textContent = `via=${via} joinAfterMs=${joinAfterMs} drop=${String(dropIndex)}`

const state = {
  via,
  pageErrors: [] as string[],
  playerErrors: [] as string[],
  skips: [] as Array<PlayerEvents['skip']>,
  seeks: [] as Array<PlayerEvents['seek']>,
  blockFlags: [] as number[],
  recorded: 0,
  metadataBytes: 0,
  initBytes: 0,
  mimeType: '',
  startIndex: null as number | null,
  firstFrameMs: null as number | null,
  munroInvalid: 0,
  startedAt: performance.now()
}
window.addEventListener('error', (e) => state.pageErrors.push(String(e.message)))
window.addEventListener('unhandledrejection', (e) => state.pageErrors.push(String(e.reason)))

let player: Player | null = null
function makePlayer (): Player {
  const p = createPlayer(video, { targetLatency })
  p.on('error', ({ error, fatal }) => state.playerErrors.push(`${error.code}${fatal ? ' (fatal)' : ''}: ${error.message}`))
  p.on('skip', (e) => state.skips.push(e))
  p.on('seek', (e) => state.seeks.push(e))
  p.on('start', ({ index }) => { state.startIndex = index })
  const joinedAt = performance.now()
  video.addEventListener('playing', () => { state.firstFrameMs ??= performance.now() - joinedAt }, { once: true })
  return p
}

const cam = await navigator.mediaDevices.getUserMedia({ video: true, audio: true })
let recorder: Recorder

if (via === 'direct') {
  let metadata: Uint8Array | null = null
  let index = 0
  const later: Array<() => void> = []
  const recordedBlocks: Array<{ data: Uint8Array, flags: number }> = []
  const attach = (): void => {
    const p = makePlayer()
    player = p
    if (metadata !== null) p.setMetadata(metadata)
    if (backlogMs === null) return
    const isKey = (i: number): boolean => ((recordedBlocks[i]?.flags ?? 0) & BLOCK_FLAG_KEYFRAME) !== 0
    let from = recordedBlocks.length - 1
    while (from > 0 && !isKey(from)) from--
    if (from > 0) from--
    while (from > 0 && !isKey(from)) from--
    if (tellLiveEdge) p.setLiveEdge(recordedBlocks.length)
    recordedBlocks.forEach(({ data, flags }, i) => {
      if (i >= from) setTimeout(() => p.push(i, data, flags), (i - from) * backlogMs)
    })
  }
  if (joinAfterMs > 0) setTimeout(attach, joinAfterMs)
  else attach()
  recorder = createRecorder(cam, {
    onInit (meta, info) {
      metadata = meta
      state.metadataBytes = meta.length
      state.initBytes = info.init.bytes.length
      state.mimeType = info.mimeType
      player?.setMetadata(meta)
    },
    onBlock (data, flags) {
      const i = index++
      state.recorded++
      state.blockFlags[i] = flags
      if (backlogMs !== null) recordedBlocks.push({ data, flags })
      if (player === null) return
      if (tellLiveEdge) player.setLiveEdge(i + 1)
      if (i === dropIndex) {
        // The block "never arrives": tell the player a little later, as a fetcher would.
        later.push(() => player?.skip(i))
        setTimeout(() => later.shift()?.(), 300)
        return
      }
      player.push(i, data, flags)
    },
    onError: (error) => state.playerErrors.push(`recorder ${error.code}: ${error.message}`)
  })
} else {
  const b = munro()
  const startReceiver = (): void => {
    const r = munro(b.id)
    const s1 = b.peerStream()
    const s2 = r.peerStream()
    s1.pipe(s2).pipe(s1)
    player = makePlayer()
    const p = player
    const meta = r.metadata
    if (meta !== null) p.setMetadata(meta)
    r.on('metadata', ({ data }) => p.setMetadata(data))
    r.on('verified', ({ index, flags }) => {
      p.setLiveEdge(r.length)
      r.get(index).then((data) => p.push(index, data, flags), (err: unknown) => state.pageErrors.push(`get(${index}): ${String(err)}`))
    })
    r.on('invalid', () => { state.munroInvalid++ })
    r.on('error', ({ error }) => state.pageErrors.push(`receiver: ${error.message}`))
  }
  b.on('error', ({ error }) => state.pageErrors.push(`broadcaster: ${error.message}`))
  recorder = createRecorder(cam, {
    onInit (meta, info) {
      state.metadataBytes = meta.length
      state.initBytes = info.init.bytes.length
      state.mimeType = info.mimeType
      b.setMetadata(meta).catch((err: unknown) => state.pageErrors.push(`setMetadata: ${String(err)}`))
    },
    onBlock (data, flags) {
      state.blockFlags[state.recorded++] = flags
      b.append(data, { flags }).catch((err: unknown) => state.pageErrors.push(`append: ${String(err)}`))
    },
    onError: (error) => state.playerErrors.push(`recorder ${error.code}: ${error.message}`)
  })
  if (joinAfterMs > 0) setTimeout(startReceiver, joinAfterMs)
  else startReceiver()
}

function snapshot (): Record<string, unknown> {
  return {
    ...state,
    keyframeBlocks: state.blockFlags.filter((f) => (f & BLOCK_FLAG_KEYFRAME) !== 0).length,
    recorder: recorder.stats,
    player: player?.stats ?? null,
    video: {
      readyState: video.readyState,
      currentTime: video.currentTime,
      paused: video.paused,
      error: video.error?.message ?? null,
      width: video.videoWidth,
      height: video.videoHeight
    }
  }
}
setInterval(() => { statsEl.textContent = JSON.stringify(snapshot(), (k, v) => (k === 'blockFlags' ? undefined : v), 2) }, 500)

declare global { interface Window { __loop?: { snapshot: () => Record<string, unknown>, stop: () => Promise<void> } } }
window.__loop = { snapshot, stop: () => recorder.stop() }
