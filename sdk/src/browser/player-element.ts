/**
 * `<munro-player stream="…" signal="…">`: a live player in one tag. The IIFE bundle registers it
 * on load; ESM users call {@link defineMunroPlayer}.
 *
 * Attributes: `stream` (stream id, required), `signal` (signaling URL, required),
 * `ice-servers` (JSON array of RTCIceServer; `[]` on a LAN; default: simple-peer's public STUN),
 * `target-latency` (seconds), `max-peers`. Changing `stream` or `signal` restarts the player.
 * The element shows a muted video, an "Unmute" button and a status line ("connecting",
 * "live", "stream ended", or the error), and fires `munro-stats`, `munro-playing`,
 * `munro-ended` and `munro-error` DOM events (the `detail` is the watch event's payload).
 * @module
 */
import { watch, type WatchHandle, type WatchOptions, type WatchStats } from './watch.js'

/** The element's tag name. */
export const MUNRO_PLAYER_TAG = 'munro-player'

/** What the element exposes besides HTMLElement. */
export interface MunroPlayerElement extends HTMLElement {
  /** The running viewer's numbers, or null before both attributes are set. */
  readonly stats: WatchStats | null
  /** The running viewer, or null. */
  readonly handle: WatchHandle | null
  /** The inner `<video>`. */
  readonly video: HTMLVideoElement
}

const STYLE = `
:host { display: inline-block; position: relative; background: #000; width: 640px; max-width: 100%; aspect-ratio: 4 / 3; }
video { width: 100%; height: 100%; display: block; object-fit: contain; }
.bar { position: absolute; left: 0; right: 0; bottom: 0; display: flex; gap: 8px; align-items: center;
  padding: 6px 8px; font: 13px system-ui, sans-serif; color: #fff; background: linear-gradient(transparent, rgba(0,0,0,.7)); }
.status { flex: 1; }
button { font: inherit; padding: 2px 10px; border-radius: 4px; border: 1px solid #fff8; background: #0008; color: #fff; cursor: pointer; }
`

function parseIceServers (value: string | null): RTCIceServer[] | undefined {
  if (value === null || value.trim() === '') return undefined
  const parsed: unknown = JSON.parse(value)
  if (!Array.isArray(parsed)) throw new TypeError('ice-servers must be a JSON array of RTCIceServer')
  return parsed as RTCIceServer[]
}

function optionalNumber (value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined
  const n = Number(value)
  if (!Number.isFinite(n)) throw new TypeError(`expected a number, got ${value}`)
  return n
}

function createElementClass (): CustomElementConstructor {
  return class MunroPlayer extends HTMLElement implements MunroPlayerElement {
    static readonly observedAttributes = ['stream', 'signal', 'ice-servers', 'target-latency', 'max-peers']
    readonly video: HTMLVideoElement
    private readonly status: HTMLSpanElement
    private readonly unmute: HTMLButtonElement
    private viewer: WatchHandle | null = null

    constructor () {
      super()
      const root = this.attachShadow({ mode: 'open' })
      const style = document.createElement('style')
      style.textContent = STYLE
      this.video = document.createElement('video')
      this.video.muted = true
      this.video.playsInline = true
      this.video.setAttribute('part', 'video')
      const bar = document.createElement('div')
      bar.className = 'bar'
      this.status = document.createElement('span')
      this.status.className = 'status'
      this.status.setAttribute('part', 'status')
      this.unmute = document.createElement('button')
      this.unmute.type = 'button'
      this.unmute.textContent = 'Unmute'
      this.unmute.addEventListener('click', () => {
        this.video.muted = !this.video.muted
        this.unmute.textContent = this.video.muted ? 'Unmute' : 'Mute'
      })
      bar.append(this.status, this.unmute)
      root.append(style, this.video, bar)
    }

    get stats (): WatchStats | null { return this.viewer?.stats ?? null }
    get handle (): WatchHandle | null { return this.viewer }

    private restartQueued = false

    connectedCallback (): void { this.queueRestart() }
    disconnectedCallback (): void { this.halt() }
    attributeChangedCallback (): void { if (this.isConnected) this.queueRestart() }

    /** Coalesces the attribute callbacks of one task (an upgrade fires one per attribute). */
    private queueRestart (): void {
      if (this.restartQueued) return
      this.restartQueued = true
      queueMicrotask(() => {
        this.restartQueued = false
        if (this.isConnected) this.restart()
      })
    }

    private setStatus (text: string, state: string): void {
      this.status.textContent = text
      this.setAttribute('state', state)
    }

    private halt (): void {
      this.viewer?.stop()
      this.viewer = null
    }

    private restart (): void {
      this.halt()
      const stream = this.getAttribute('stream')
      const signal = this.getAttribute('signal')
      if (stream === null || signal === null || stream === '' || signal === '') {
        this.setStatus('waiting for the stream and signal attributes', 'idle')
        return
      }
      let viewer: WatchHandle
      try {
        const options: WatchOptions = { stream, signal, video: this.video }
        const iceServers = parseIceServers(this.getAttribute('ice-servers'))
        if (iceServers !== undefined) options.iceServers = iceServers
        const targetLatency = optionalNumber(this.getAttribute('target-latency'))
        if (targetLatency !== undefined) options.targetLatency = targetLatency
        const maxPeers = optionalNumber(this.getAttribute('max-peers'))
        if (maxPeers !== undefined) options.maxPeers = maxPeers
        viewer = watch(options)
      } catch (err) {
        this.setStatus(`error: ${String(err)}`, 'failed')
        this.dispatchEvent(new CustomEvent('munro-error', { detail: { error: err, fatal: true } }))
        return
      }
      this.viewer = viewer
      this.setStatus('connecting…', 'connecting')
      viewer.on('playing', (e) => {
        this.setStatus('live', 'playing')
        this.dispatchEvent(new CustomEvent('munro-playing', { detail: e }))
      })
      viewer.on('stats', (s) => {
        if (s.state === 'playing') {
          const p2p = s.p2pRatio === null ? '–' : `${Math.round(s.p2pRatio * 100)}%`
          this.setStatus(`live · ${s.peers} peers · ${p2p} from peers`, 'playing')
        }
        this.dispatchEvent(new CustomEvent('munro-stats', { detail: s }))
      })
      viewer.on('ended', (e) => {
        this.setStatus('stream ended', 'ended')
        this.dispatchEvent(new CustomEvent('munro-ended', { detail: e }))
      })
      viewer.on('error', (e) => {
        if (e.fatal) this.setStatus(`error: ${e.error.message}`, 'failed')
        this.dispatchEvent(new CustomEvent('munro-error', { detail: e }))
      })
    }
  }
}

/**
 * Registers `<munro-player>` (or `name`) with `customElements`, once: calling it again, or after
 * the IIFE bundle registered it, does nothing. Returns the registered constructor.
 * @example
 * ```ts
 * import { defineMunroPlayer } from 'munro'
 * defineMunroPlayer()
 * document.body.insertAdjacentHTML('beforeend', `<munro-player stream="${id}" signal="wss://signal.example"></munro-player>`)
 * ```
 */
export function defineMunroPlayer (name: string = MUNRO_PLAYER_TAG): CustomElementConstructor {
  if (typeof customElements === 'undefined') throw new TypeError('customElements is not available (not a browser?)')
  const existing = customElements.get(name)
  if (existing !== undefined) return existing
  const ctor = createElementClass()
  customElements.define(name, ctor)
  return ctor
}
