/**
 * Where the demo finds the signaling server, and its STUN/TURN servers.
 *
 * - `?signal=ws://host:port` wins; else `ws(s)://<this page's host>:<port>`, the port from
 *   `/munro-config.json` (served by the demo's Vite server, see `npm start`), else 8787.
 * - `?stun=stun:host:port` (repeatable) adds ICE servers; without it the demo uses none, which
 *   works on one machine and on a LAN (host candidates). Across the internet add STUN (and TURN).
 */
export const DEFAULT_SIGNAL_PORT = 8787

export const query = new URLSearchParams(location.search)

export async function signalUrl (): Promise<string> {
  const explicit = query.get('signal')
  if (explicit !== null && explicit !== '') return explicit
  let port = DEFAULT_SIGNAL_PORT
  try {
    const res = await fetch('/munro-config.json', { cache: 'no-store' })
    if (res.ok) {
      const cfg = await res.json() as { signalPort?: unknown }
      if (typeof cfg.signalPort === 'number' && Number.isInteger(cfg.signalPort)) port = cfg.signalPort
    }
  } catch {
    // a static host without the config file: keep the default port
  }
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  return `${scheme}://${location.hostname}:${port}`
}

export function iceServers (): RTCIceServer[] {
  return query.getAll('stun').filter(s => s !== '').map(urls => ({ urls }))
}

/** An integer query parameter, or undefined. */
export function intParam (name: string): number | undefined {
  const v = query.get(name)
  if (v === null || v === '') return undefined
  const n = Number(v)
  return Number.isInteger(n) ? n : undefined
}

/** Records uncaught errors so the page (and the e2e tests) can show them. */
export function trackPageErrors (): string[] {
  const errors: string[] = []
  window.addEventListener('error', (e) => errors.push(String(e.message)))
  window.addEventListener('unhandledrejection', (e) => errors.push(String(e.reason)))
  return errors
}

/** Sets a stat cell's text and its raw value (`data-value`, read by the e2e tests). */
export function setStat (id: string, text: string, value: number | string | null): void {
  const el = document.querySelector<HTMLElement>(`[data-testid="${id}"]`)
  if (el === null) return
  el.textContent = text
  el.dataset.value = value === null ? '' : String(value)
}

export const fmtMs = (ms: number | null): string => ms === null ? '–' : `${Math.round(ms)} ms`
export const fmtPct = (r: number | null): string => r === null ? '–' : `${Math.round(r * 100)} %`
export const fmtBytes = (n: number): string => n < 1024 * 1024 ? `${(n / 1024).toFixed(0)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`
