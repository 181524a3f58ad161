/**
 * Helpers for the demo-site scenarios: one browser context per peer (its own fake camera and
 * WebRTC stack), pages driven through their `data-testid`s, and the `<video>` state checks.
 */
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test'
import { DEMO_PORT } from '../playwright.config.js'

export const DEMO = `http://127.0.0.1:${DEMO_PORT}`
export const BLOCK_FLAG_KEYFRAME = 2

/** A page in its own context, with every uncaught error recorded. */
export interface Peer {
  name: string
  context: BrowserContext
  page: Page
  /** Uncaught exceptions and unhandled rejections seen by Playwright. */
  errors: string[]
  /** Resolves at the page's first `playing` event (of an element in its document), with what it saw then. */
  firstPlaying: Promise<FirstPlaying>
}

/**
 * What the page's first `playing` event saw. An init script reports it on the console, so waiting
 * for it evaluates nothing in the page: every Playwright call that touches the page (`evaluate`,
 * locators, `expect(locator)`) gives it sticky user activation, which lifts the autoplay policy.
 */
export interface FirstPlaying { muted: boolean, userActivated: boolean | null }

const FIRST_PLAYING = '[e2e] first playing '

/** Runs in every page before its scripts; media events do not bubble, so listen in the capture phase. */
function reportFirstPlaying (prefix: string): void {
  let seen = false
  document.addEventListener('playing', (e) => {
    if (seen || !(e.target instanceof HTMLMediaElement)) return
    seen = true
    const activation = (navigator as Navigator & { userActivation?: { hasBeenActive: boolean } }).userActivation
    console.debug(prefix + JSON.stringify({ muted: e.target.muted, userActivated: activation?.hasBeenActive ?? null }))
  }, true)
  // For failure traces: each seek and stall of a media element, with its buffered ranges.
  for (const type of ['seeking', 'waiting']) {
    document.addEventListener(type, (e) => {
      const v = e.target
      if (!(v instanceof HTMLMediaElement)) return
      const b = v.buffered
      const ranges = Array.from({ length: b.length }, (_, i) => `${b.start(i).toFixed(3)}–${b.end(i).toFixed(3)}`)
      console.debug(`[e2e] ${type} at ${v.currentTime.toFixed(3)}, buffered ${ranges.join(' ') || '-'}, readyState ${v.readyState}`)
    }, true)
  }
}

export async function openPeer (browser: Browser, name: string, url: string): Promise<Peer> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`))
  await context.addInitScript(reportFirstPlaying, FIRST_PLAYING)
  const firstPlaying = new Promise<FirstPlaying>((resolve) => {
    page.on('console', (m) => {
      if (m.text().startsWith(FIRST_PLAYING)) resolve(JSON.parse(m.text().slice(FIRST_PLAYING.length)) as FirstPlaying)
    })
  })
  await page.goto(url)
  return { name, context, page, errors, firstPlaying }
}

/** `peer.firstPlaying`, or a failure after `withinMs`. Touches nothing in the page. */
export async function firstPlaying (peer: Peer, withinMs: number): Promise<FirstPlaying> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${peer.name}: no playing event within ${withinMs} ms`)) }, withinMs)
  })
  try {
    return await Promise.race([peer.firstPlaying, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The watch page's `<video>.muted`. */
export async function videoMuted (page: Page): Promise<boolean> {
  return await page.getByTestId('video').evaluate((v) => (v as HTMLVideoElement).muted)
}

/** Starts a broadcast from the demo's broadcast page; resolves with the peer and the stream id. */
export async function openBroadcaster (browser: Browser, query: Record<string, string> = {}, site = DEMO): Promise<Peer & { id: string, startedAt: number }> {
  const params = new URLSearchParams({ autostart: '1', ...query })
  const peer = await openPeer(browser, 'broadcaster', `${site}/?${params.toString()}`)
  await expect(peer.page.getByTestId('status')).toHaveAttribute('data-state', 'live', { timeout: 20_000 })
  const id = (await peer.page.getByTestId('stream-id').textContent()) ?? ''
  expect(id).toMatch(/^[0-9a-f]{64}$/)
  return { ...peer, id, startedAt: Date.now() }
}

export async function openViewer (browser: Browser, name: string, id: string, query: Record<string, string> = {}, site = DEMO): Promise<Peer> {
  const params = new URLSearchParams({ stream: id, ...query })
  return await openPeer(browser, name, `${site}/watch.html?${params.toString()}`)
}

/** Raw value of a stat cell (`data-value`), as a number, or null when empty. */
export async function stat (page: Page, testId: string): Promise<number | null> {
  const v = await page.getByTestId(testId).getAttribute('data-value')
  return v === null || v === '' ? null : Number(v)
}

export interface VideoState { readyState: number, currentTime: number, paused: boolean, error: number | null, width: number }

/** State of the watch page's `<video>`, or of the one inside `<munro-player>`. */
export async function videoState (page: Page, inPlayerElement = false): Promise<VideoState> {
  return await page.evaluate((inEl) => {
    const v = inEl
      ? (document.querySelector('munro-player') as (HTMLElement & { video: HTMLVideoElement }) | null)?.video
      : document.querySelector<HTMLVideoElement>('[data-testid="video"]')
    if (v === null || v === undefined) return { readyState: -1, currentTime: 0, paused: true, error: null, width: 0 }
    return { readyState: v.readyState, currentTime: v.currentTime, paused: v.paused, error: v.error?.code ?? null, width: v.videoWidth }
  }, inPlayerElement)
}

/** Waits until the video plays (readyState ≥ 3, not paused, time > 0, no error) within `withinMs`. */
export async function expectStarted (page: Page, opts: { withinMs?: number, inPlayerElement?: boolean } = {}): Promise<void> {
  const { withinMs = 20_000, inPlayerElement = false } = opts
  await expect.poll(async () => {
    const s = await videoState(page, inPlayerElement)
    return s.readyState >= 3 && !s.paused && s.currentTime > 0 && s.error === null
  }, { timeout: withinMs, intervals: [200] }).toBe(true)
}

/**
 * Waits until the video plays ({@link expectStarted}), then watches it for `watchMs`, sampling every 200 ms: `currentTime` must advance at least half as
 * fast as real time, no media error may appear, and readyState must be ≥ 3 in at least half the samples.
 * (A live stream ~0.6 s behind its edge can stall for a moment when the two cores are busy —
 * here, six browser contexts plus whatever else runs; a stall is not a failure, not playing is.)
 */
export async function expectPlaying (page: Page, opts: { withinMs?: number, watchMs?: number, inPlayerElement?: boolean } = {}): Promise<VideoState> {
  const { withinMs = 20_000, watchMs = 3000, inPlayerElement = false } = opts
  await expectStarted(page, { withinMs, inPlayerElement })
  const before = await videoState(page, inPlayerElement)
  const started = Date.now()
  let samples = 0
  let ready = 0
  let after = before
  while (Date.now() - started < watchMs) {
    await page.waitForTimeout(200)
    after = await videoState(page, inPlayerElement)
    samples++
    if (after.readyState >= 3) ready++
    expect(after.error).toBe(null)
  }
  const elapsed = (Date.now() - started) / 1000
  expect(after.currentTime - before.currentTime).toBeGreaterThan(elapsed * 0.5)
  expect(ready / samples).toBeGreaterThanOrEqual(0.5)
  return after
}

/** Closes every peer's context. */
export async function closeAll (peers: Array<Peer | null | undefined>): Promise<void> {
  await Promise.all(peers.map(async (p) => { await p?.context.close() }))
}
