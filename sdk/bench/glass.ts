/**
 * Glass-to-glass latency in real Chromium (issue 4, section 5). A page paints the wall clock as a
 * grid of black/white squares (`pages/timecode.ts`) on a canvas, `canvas.captureStream(30)` is
 * broadcast, and viewers decode the squares from their `<video>` on every presented frame
 * (`requestVideoFrameCallback`): latency = expected display time − painted time, on the one
 * wall clock all pages of one browser share.
 *
 * Configurations, one after the other in one browser (one context per peer, `iceServers: []`):
 * - floor: canvas → createRecorder → createPlayer in one page, no network, same recorder settings
 *   as broadcast() and the same player settings as watch();
 * - mesh: a broadcaster with `maxBroadcasterPeers: 1` and two viewers. Samples are attributed
 *   from each viewer's watch stats (see {@link attribute}): hop 1 when all recent blocks came
 *   from the broadcaster, hop 2 when all came from peers;
 * - join: viewers joining the running stream one at a time: `watch()` → first decoded frame.
 *
 * Pages are served by an in-process Vite server (the demo's browser build settings) and the
 * signaling server runs in-process; both on 127.0.0.1.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test'
import { createServer, type ViteDevServer } from 'vite'
import { createSignalingServer } from '../../signaling-server/src/index.js'
import { BROWSER_DEFINE, BROWSER_INJECT } from '../vite.browser.js'
import type { GlassSample, GlassState, GlassStatsPoint } from './pages/glass.js'
import { percentile, printTable } from './util.js'

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const BROWSER_CACHE = join(REPO, 'node_modules', '.cache', 'munro', 'browser.json')
/** The flags of `playwright.config.ts`, plus no autoplay policy (the e2e suite keeps Chromium's). */
const CHROMIUM_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--disable-quic',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required'
]
/** Seconds of playback before sampling starts: the player converges to its target latency. */
const WARMUP_MS = Number(process.env.MUNRO_GLASS_WARMUP_MS ?? 6000)
/** Sampling window per configuration. */
const WINDOW_MS = Number(process.env.MUNRO_GLASS_WINDOW_MS ?? 15_000)
/** Viewers joining the running stream, one after the other. */
const JOINS = Number(process.env.MUNRO_GLASS_JOINS ?? 4)
/** A sample counts for a hop only if the viewer's blocks came from one kind of source for this long before it. */
const ATTRIBUTION_LOOKBACK_MS = 3000
/** A second pass uses this `watch({ targetLatency })` (default `DEFAULT_PLAYER_OPTIONS.targetLatency`, 0.12 s) to show what the player buffer costs. */
const TIGHT_TARGET_LATENCY = Number(process.env.MUNRO_GLASS_TIGHT_TARGET ?? 0.3)

/** The Chromium to drive: `MUNRO_CHROMIUM`, the one `scripts/ensure-browser.mjs` recorded, or run it now. */
function chromiumPath (): string {
  if (process.env.MUNRO_CHROMIUM) return process.env.MUNRO_CHROMIUM
  try {
    const cached = JSON.parse(readFileSync(BROWSER_CACHE, 'utf8')) as { executablePath?: unknown }
    if (typeof cached.executablePath === 'string' && existsSync(cached.executablePath)) return cached.executablePath
  } catch {
    // no cache yet
  }
  return execFileSync(process.execPath, [join(REPO, 'scripts', 'ensure-browser.mjs'), '--print-path'], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']
  }).trim()
}

async function startVite (): Promise<{ server: ViteDevServer, base: string }> {
  const server = await createServer({
    configFile: false,
    root: REPO,
    logLevel: 'warn',
    clearScreen: false,
    cacheDir: join(REPO, 'node_modules', '.cache', 'munro', 'vite-glass'),
    define: BROWSER_DEFINE,
    server: { host: '127.0.0.1', port: 0, hmr: false, fs: { allow: [REPO] } },
    optimizeDeps: {
      entries: ['sdk/bench/pages/glass.html'],
      rolldownOptions: { transform: { inject: BROWSER_INJECT } }
    }
  })
  await server.listen()
  const addr = server.httpServer?.address() as AddressInfo | null
  if (addr === null || addr === undefined) throw new Error('vite did not bind')
  return { server, base: `http://127.0.0.1:${addr.port}/sdk/bench/pages/glass.html` }
}

interface Peer { name: string, context: BrowserContext, page: Page, errors: string[] }

async function openPeer (browser: Browser, name: string, url: string): Promise<Peer> {
  const context = await browser.newContext({ viewport: { width: 400, height: 480 } })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`))
  await page.goto(url)
  return { name, context, page, errors }
}

async function glassState (p: Peer): Promise<GlassState> {
  return await p.page.evaluate(() => (window as unknown as { glass: GlassState }).glass)
}

/** Wall-clock now, as the pages see it. */
async function pageNow (p: Peer): Promise<number> {
  return await p.page.evaluate(() => performance.timeOrigin + performance.now())
}

async function waitFor (p: Peer, what: string, pred: (s: GlassState) => boolean, timeoutMs = 30_000): Promise<GlassState> {
  const t0 = Date.now()
  for (;;) {
    const s = await glassState(p)
    if (s.errors.length > 0 || p.errors.length > 0) throw new Error(`${p.name}: ${[...s.errors, ...p.errors].join('; ')}`)
    if (pred(s)) return s
    if (Date.now() - t0 > timeoutMs) throw new Error(`${p.name}: timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

export type Source = 'broadcaster' | 'peers' | 'mixed' | 'none'

/**
 * Labels each sample of one viewer with where its blocks came from. Between consecutive stats
 * points (1 s apart) the deltas of `blocksFromBroadcaster` / `blocksFromPeers` say which source
 * delivered; a frame shown at `t` was carried by a block that arrived within the latency before
 * it, so a sample is labelled only if every interval overlapping [t − lookback, t] has the same
 * pure source (`broadcaster`: hop 1, `peers`: served only by other viewers); otherwise `mixed`.
 */
export function attribute (samples: readonly GlassSample[], stats: readonly GlassStatsPoint[], lookbackMs = ATTRIBUTION_LOOKBACK_MS): Source[] {
  const intervals: Array<{ from: number, to: number, src: Source }> = []
  for (let i = 1; i < stats.length; i++) {
    const a = stats[i - 1] as GlassStatsPoint
    const b = stats[i] as GlassStatsPoint
    const dB = b.fromBroadcaster - a.fromBroadcaster
    const dP = b.fromPeers - a.fromPeers
    intervals.push({ from: a.t, to: b.t, src: dB > 0 && dP > 0 ? 'mixed' : dB > 0 ? 'broadcaster' : dP > 0 ? 'peers' : 'none' })
  }
  return samples.map(({ t }) => {
    const over = intervals.filter((iv) => iv.to > t - lookbackMs && iv.from < t)
    // The stats must cover the whole lookback (the last point may be up to 1 s before t).
    const first = over[0]
    if (first === undefined || first.from > t - lookbackMs) return 'none'
    const kinds = new Set(over.map((iv) => iv.src).filter((s) => s !== 'none'))
    if (kinds.size !== 1) return kinds.size === 0 ? 'none' : 'mixed'
    return [...kinds][0] as Source
  })
}

interface MeshResult {
  peers: Peer[]
  hop1: Summary
  hop2: Summary
  /** Watch stats `networkLatencyMs` (append → verified, transport only) per stats point, by hop. */
  net1: Summary
  net2: Summary
  unattributed: Record<string, number>
  viewers: Array<Record<string, unknown>>
}

interface Summary { samples: number, p50: number, p95: number, mean: number, min: number, max: number }

function summarize (ms: readonly number[]): Summary {
  const mean = ms.length === 0 ? NaN : ms.reduce((a, b) => a + b, 0) / ms.length
  return {
    samples: ms.length,
    p50: percentile(ms, 50),
    p95: percentile(ms, 95),
    mean,
    min: ms.length === 0 ? NaN : Math.min(...ms),
    max: ms.length === 0 ? NaN : Math.max(...ms)
  }
}

const round = (v: number, d = 1): number => Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v

/** Per-viewer facts for the JSON: decode health and where the blocks came from. */
function viewerReport (name: string, s: GlassState, from: number, to: number): Record<string, unknown> {
  const inWindow = s.stats.filter((p) => p.t >= from && p.t <= to)
  const a = inWindow[0]
  const b = inWindow[inWindow.length - 1]
  const last = s.stats[s.stats.length - 1]
  return {
    name,
    targetLatency: s.targetLatency,
    rvfc: s.rvfc,
    framesExamined: s.frames,
    framesDecoded: s.samples.length,
    refused: s.refused,
    implausible: s.implausible,
    peerRoles: last?.peerRoles ?? [],
    blocksInWindow: a === undefined || b === undefined ? null : {
      fromBroadcaster: b.fromBroadcaster - a.fromBroadcaster, fromPeers: b.fromPeers - a.fromPeers
    },
    playbackRateAtEnd: last?.playbackRate ?? null,
    bufferSecondsAtEnd: last === undefined ? null : round(last.bufferSeconds, 3)
  }
}

export async function runGlassBench (): Promise<Record<string, unknown>> {
  const t0 = performance.now()
  const executablePath = chromiumPath()
  const signaling = await createSignalingServer({ port: 0, host: '127.0.0.1', log: null })
  const { server: vite, base } = await startVite()
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS })
  const signal = encodeURIComponent(signaling.url)
  const peers: Peer[] = []
  const open = async (name: string, query: string): Promise<Peer> => {
    const p = await openPeer(browser, name, `${base}?${query}`)
    peers.push(p)
    return p
  }
  const close = async (p: Peer): Promise<void> => {
    await p.context.close()
    peers.splice(peers.indexOf(p), 1)
  }
  try {
    const version = browser.version()

    // 1. The floor: recorder → player in one page.
    console.log('glass: floor (recorder → player, one page, no network)…')
    const floorPeer = await open('floor', 'role=floor')
    await waitFor(floorPeer, 'the floor to play', (s) => s.samples.length > 0)
    await sleep(WARMUP_MS)
    const floorFrom = await pageNow(floorPeer)
    await sleep(WINDOW_MS)
    const floorTo = await pageNow(floorPeer)
    const floorState = await waitFor(floorPeer, 'floor state', () => true)
    const floorMs = floorState.samples.filter((x) => x.t >= floorFrom && x.t <= floorTo).map((x) => x.ms)
    const floorPainted = floorState.painted
    const floor = summarize(floorMs)
    const floorReport = viewerReport('floor', floorState, floorFrom, floorTo)
    await close(floorPeer)

    // 2. Hop 1 and hop 2: broadcaster (1 direct viewer) + two viewers, with watch()'s defaults.
    console.log('glass: broadcaster (maxBroadcasterPeers 1) + 2 viewers…')
    const bc = await open('broadcaster', `role=broadcast&signal=${signal}&maxBroadcasterPeers=1`)
    const id = (await waitFor(bc, 'the broadcast to start', (s) => s.id !== null)).id as string
    const watchQuery = `role=watch&signal=${signal}&stream=${id}`
    const mesh = async (label: string, query: string): Promise<MeshResult> => {
      const v1 = await open(`${label}viewer-1`, query)
      await waitFor(v1, 'viewer-1 to decode', (s) => s.samples.length > 0)
      const v2 = await open(`${label}viewer-2`, query)
      await waitFor(v2, 'viewer-2 to decode', (s) => s.samples.length > 0)
      await sleep(WARMUP_MS)
      const from = await pageNow(v1)
      await sleep(WINDOW_MS)
      const to = await pageNow(v1)
      const hopMs: Record<'broadcaster' | 'peers', number[]> = { broadcaster: [], peers: [] }
      const hopNet: Record<'broadcaster' | 'peers', number[]> = { broadcaster: [], peers: [] }
      const unattributed: Record<string, number> = {}
      const viewers: Array<Record<string, unknown>> = []
      for (const v of [v1, v2]) {
        const s = await glassState(v)
        const inWindow = s.samples.filter((x) => x.t >= from && x.t <= to)
        const labels = attribute(inWindow, s.stats)
        const counts: Record<string, number> = {}
        inWindow.forEach((x, i) => {
          const l = labels[i] as Source
          counts[l] = (counts[l] ?? 0) + 1
          if (l === 'broadcaster' || l === 'peers') hopMs[l].push(x.ms)
          else unattributed[l] = (unattributed[l] ?? 0) + 1
        })
        // Transport only (append at the broadcaster → verified here), attributed the same way.
        const netPoints = s.stats.filter((p) => p.t >= from && p.t <= to && p.networkLatencyMs !== null)
        const netLabels = attribute(netPoints.map((p) => ({ t: p.t, ms: 0 })), s.stats)
        netPoints.forEach((p, i) => {
          const l = netLabels[i] as Source
          if (l === 'broadcaster' || l === 'peers') hopNet[l].push(p.networkLatencyMs as number)
        })
        const net = summarize(netPoints.map((p) => p.networkLatencyMs as number))
        viewers.push({
          ...viewerReport(v.name, s, from, to), samplesBySource: counts, stalls: s.stalls,
          ...summarize(inWindow.map((x) => x.ms)), networkLatencyMsMean: round(net.mean)
        })
      }
      return {
        peers: [v1, v2],
        hop1: summarize(hopMs.broadcaster),
        hop2: summarize(hopMs.peers),
        net1: summarize(hopNet.broadcaster),
        net2: summarize(hopNet.peers),
        unattributed,
        viewers
      }
    }
    const main = await mesh('', watchQuery)
    const hop1 = main.hop1
    const hop2 = main.hop2
    const bcState = await glassState(bc)

    // 3. Join → first frame, while the stream runs.
    console.log(`glass: ${JOINS} viewers joining the running stream…`)
    const joins: Array<Record<string, unknown>> = []
    for (let k = 0; k < JOINS; k++) {
      const j = await open(`joiner-${k + 1}`, watchQuery)
      const s = await waitFor(j, 'a joiner to decode', (x) => x.firstDecodedAt !== null, 20_000)
      // The watch stats (firstFrameMs, sources) follow within a second.
      const s2 = await waitFor(j, 'joiner stats', (x) => x.stats.some((p) => p.firstFrameMs !== null), 5000).catch(() => s)
      const last = s2.stats[s2.stats.length - 1]
      joins.push({
        firstDecodedMs: round((s.firstDecodedAt as number) - (s.startedAt as number)),
        firstFrameMs: last?.firstFrameMs === null || last?.firstFrameMs === undefined ? null : round(last.firstFrameMs),
        firstLatencyMs: round(s.samples[0]?.ms ?? NaN),
        fromBroadcaster: last?.fromBroadcaster ?? null,
        fromPeers: last?.fromPeers ?? null,
        peerRoles: last?.peerRoles ?? []
      })
      await close(j)
    }
    // 4. The same mesh with another player target: how the latency follows the player's buffer.
    console.log(`glass: the same with watch({ targetLatency: ${TIGHT_TARGET_LATENCY} })…`)
    for (const v of main.peers) await close(v)
    await sleep(1000) // the broadcaster's one direct slot frees up
    const tight = await mesh('tight-', `${watchQuery}&targetLatency=${TIGHT_TARGET_LATENCY}`)
    const bcEnd = await glassState(bc)

    const joinDecoded = summarize(joins.map((j) => j.firstDecodedMs as number))
    const joinPlaying = summarize(joins.map((j) => j.firstFrameMs).filter((x): x is number => typeof x === 'number'))

    const ratio = (v: number): number => round(v / floor.p50, 2)
    const ratio95 = (v: number): number => round(v / floor.p95, 2)
    const extraOf = (m: MeshResult): { p50: number, p95: number } => ({ p50: round(m.hop2.p50 - m.hop1.p50), p95: round(m.hop2.p95 - m.hop1.p95) })
    const extra = extraOf(main)
    const extraTight = extraOf(tight)
    const row = (name: string, s: Summary, note: string, vsFloor = true): Record<string, string | number> => ({
      measure: name, samples: String(s.samples), 'p50 ms': round(s.p50), 'p95 ms': round(s.p95),
      'p50 / floor p50': vsFloor ? ratio(s.p50) : '', 'p95 / floor p95': vsFloor ? ratio95(s.p95) : '', note
    })
    const extraRow = (name: string, e: { p50: number, p95: number }, note: string): Record<string, string | number> => ({
      measure: name, samples: '', 'p50 ms': e.p50, 'p95 ms': e.p95, 'p50 / floor p50': '', 'p95 / floor p95': '', note
    })
    const t = TIGHT_TARGET_LATENCY
    printTable('glass-to-glass latency (canvas clock → <video> pixels, one machine clock)', [
      row('floor: recorder → player, 1 page', floor, 'no network, player as watch()'),
      row('hop 1: viewer ← broadcaster', hop1, 'watch() defaults; blocks all from broadcaster'),
      row('hop 2: viewer ← viewer', hop2, 'watch() defaults; blocks all from peers'),
      extraRow('extra per hop (hop 2 − hop 1)', extra, 'target ≤ 50 ms'),
      row(`hop 1, targetLatency ${t}`, tight.hop1, `player target ${t} s`),
      row(`hop 2, targetLatency ${t}`, tight.hop2, `player target ${t} s`),
      extraRow(`extra per hop, targetLatency ${t}`, extraTight, ''),
      row('transport hop 1 (append → verified)', main.net1, 'watch stats networkLatencyMs', false),
      row('transport hop 2 (append → verified)', main.net2, 'watch stats networkLatencyMs', false),
      row('join → first decoded frame', joinDecoded, `${JOINS} joins; watch() → first frame read`, false),
      row("join → 'playing' (watch stats)", joinPlaying, 'firstFrameMs', false)
    ])
    const targets = {
      hop1WithinOneAndHalfFloor: { p50: hop1.p50 <= 1.5 * floor.p50, p95: hop1.p95 <= 1.5 * floor.p95 },
      extraPerHopWithin50ms: { p50: extra.p50 <= 50, p95: extra.p95 <= 50 },
      tight: {
        hop1WithinOneAndHalfFloor: { p50: tight.hop1.p50 <= 1.5 * floor.p50, p95: tight.hop1.p95 <= 1.5 * floor.p95 },
        extraPerHopWithin50ms: { p50: extraTight.p50 <= 50, p95: extraTight.p95 <= 50 }
      }
    }
    const met = (b: boolean): string => b ? 'met' : 'NOT met'
    console.log(`targets (watch() defaults): hop 1 ≤ 1.5× floor: p50 ${met(targets.hop1WithinOneAndHalfFloor.p50)} (${ratio(hop1.p50)}×), ` +
      `p95 ${met(targets.hop1WithinOneAndHalfFloor.p95)} (${ratio95(hop1.p95)}×); ` +
      `extra per hop ≤ 50 ms: p50 ${met(targets.extraPerHopWithin50ms.p50)} (${extra.p50} ms), p95 ${met(targets.extraPerHopWithin50ms.p95)} (${extra.p95} ms)`)
    console.log(`targets (targetLatency ${t}): hop 1 ≤ 1.5× floor: p50 ${met(targets.tight.hop1WithinOneAndHalfFloor.p50)} (${ratio(tight.hop1.p50)}×), ` +
      `p95 ${met(targets.tight.hop1WithinOneAndHalfFloor.p95)} (${ratio95(tight.hop1.p95)}×); ` +
      `extra per hop ≤ 50 ms: p50 ${met(targets.tight.extraPerHopWithin50ms.p50)} (${extraTight.p50} ms), p95 ${met(targets.tight.extraPerHopWithin50ms.p95)} (${extraTight.p95} ms)`)
    const pageErrors = [...peers.flatMap((p) => p.errors), ...bcEnd.errors]
    if (pageErrors.length > 0) console.log(`page errors: ${pageErrors.join('; ')}`)

    const r = (s: Summary): Record<string, number> => ({
      samples: s.samples, p50: round(s.p50), p95: round(s.p95), mean: round(s.mean), min: round(s.min), max: round(s.max)
    })
    const meshJson = (m: MeshResult, e: { p50: number, p95: number }): Record<string, unknown> => ({
      hop1: { ...r(m.hop1), p50VsFloor: ratio(m.hop1.p50), p95VsFloor: ratio95(m.hop1.p95) },
      hop2: { ...r(m.hop2), p50VsFloor: ratio(m.hop2.p50), p95VsFloor: ratio95(m.hop2.p95) },
      extraPerHopMs: e,
      transportMs: { hop1: r(m.net1), hop2: r(m.net2) },
      unattributedSamples: m.unattributed,
      viewers: m.viewers
    })
    return {
      browser: version,
      config: {
        canvas: '640×360, painted every animation frame, captureStream(30)',
        timecode: '8×7 cells: 32-bit ms clock + CRC-16 + 8 sync cells, read at 160×120 on every requestVideoFrameCallback',
        sample: 'expectedDisplayTime of the frame − the time painted in it',
        recorder: 'broadcast() defaults (timeslice 250 ms, key interval 1000 ms, browser bitrate), video only',
        player: `watch() defaults (targetLatency ${String(floorState.targetLatency)} s); second pass targetLatency ${t} s`,
        topology: 'broadcaster maxBroadcasterPeers 1, two viewers; joiners while both viewers run',
        warmupMs: WARMUP_MS,
        windowMs: WINDOW_MS,
        attributionLookbackMs: ATTRIBUTION_LOOKBACK_MS,
        iceServers: [],
        chromiumArgs: CHROMIUM_ARGS
      },
      floor: { ...r(floor), ...floorReport, painted: floorPainted },
      ...meshJson(main, extra),
      tight: { targetLatency: t, ...meshJson(tight, extraTight) },
      broadcaster: { directViewers: bcState.stats[bcState.stats.length - 1]?.peers ?? null, painted: bcEnd.painted },
      join: { decoded: r(joinDecoded), playing: r(joinPlaying), runs: joins },
      targets,
      pageErrors,
      runtimeSeconds: round((performance.now() - t0) / 1000)
    }
  } finally {
    await Promise.allSettled(peers.map(async (p) => { await p.context.close() }))
    await browser.close()
    await vite.close()
    await signaling.close()
  }
}
