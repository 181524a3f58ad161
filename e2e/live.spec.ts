import { expect, test } from '@playwright/test'
import { closeAll, expectPlaying, firstPlaying, openBroadcaster, openPeer, openViewer, stat, videoMuted, videoState, DEMO, type Peer } from './demo-helpers.js'

// Traces without DOM snapshots: taking one evaluates script in the page, which (like every
// Playwright evaluation) gives it sticky user activation and so lifts Chromium's autoplay policy;
// the late joiner checks that it starts playing without any (muted). Screenshots stay in the trace.
test.use({ trace: { mode: 'retain-on-failure', snapshots: false } })

/**
 * The demo site end to end: one broadcaster (fake camera) that serves a single viewer directly,
 * three viewers that must relay to each other, an embed page, a late joiner, and the end of the
 * stream. The tests share one broadcast and run in order.
 */
test.describe.serial('live stream through the demo pages', () => {
  let broadcaster: Peer & { id: string, startedAt: number }
  const viewers: Peer[] = []
  let embed: Peer | null = null
  let late: Peer | null = null
  const all = (): Peer[] => [broadcaster, ...viewers, embed, late].filter((p): p is Peer => p !== null && p !== undefined)

  test.afterAll(async () => { await closeAll(all()) })
  // On a failure, what every watch page shows: late blocks and rescue links, the player, sources.
  test.afterEach(async ({}, info) => {
    if (info.status === info.expectedStatus) return
    for (const p of [...viewers, late].filter((x): x is Peer => x !== null)) {
      const text = await Promise.all(['stat-peers', 'stat-from-broadcaster', 'stat-from-peers', 'stat-late', 'stat-buffer', 'stat-player']
        .map(async id => `${id.slice(5)} ${await p.page.getByTestId(id).textContent({ timeout: 1000 }).catch(() => '?')}`))
      console.log(`${p.name}: ${text.join(', ')}`)
    }
  })

  test('a broadcaster and 3 viewers, 1 direct slot: all play, and viewers serve each other', async ({ browser }) => {
    test.setTimeout(60_000)
    broadcaster = await openBroadcaster(browser, { maxBroadcasterPeers: '1' })
    for (let i = 1; i <= 3; i++) viewers.push(await openViewer(browser, `viewer${i}`, broadcaster.id))
    for (const v of viewers) await expectPlaying(v.page, { withinMs: 25_000 })
    // Let the mesh carry a few seconds of stream, then look at where blocks came from.
    await viewers[0]?.page.waitForTimeout(2000)
    const report: string[] = []
    let best = 0
    for (const v of viewers) {
      await expect(v.page.getByTestId('status')).toHaveAttribute('data-state', 'playing')
      const fromB = await stat(v.page, 'stat-from-broadcaster') ?? 0
      const fromP = await stat(v.page, 'stat-from-peers') ?? 0
      const p2p = await stat(v.page, 'stat-p2p')
      expect(await stat(v.page, 'stat-rejected')).toBe(0)
      expect(await stat(v.page, 'stat-verified')).toBeGreaterThan(0)
      report.push(`${v.name}: ${fromB} from broadcaster, ${fromP} from peers, p2p ${p2p}, ` +
        `latency ${await stat(v.page, 'stat-latency')} ms, buffer ${await stat(v.page, 'stat-buffer')} s, peers ${await stat(v.page, 'stat-peers')}`)
      best = Math.max(best, p2p ?? 0)
    }
    console.log(report.join('\n'))
    // The broadcaster serves one viewer directly; the others get (nearly) everything from viewers.
    expect(await stat(broadcaster.page, 'stat-peers')).toBe(1)
    expect(best).toBeGreaterThan(0.5)
    await viewers[1]?.page.screenshot({ path: 'test-results/watch-playing.png', fullPage: true })
  })

  test('the <script> embed page plays with <munro-player>, and the bundle adds no Node globals', async ({ browser }) => {
    embed = await openPeer(browser, 'embed', `${DEMO}/embed.html?stream=${broadcaster.id}`)
    await expectPlaying(embed.page, { inPlayerElement: true, withinMs: 20_000 })
    await expect(embed.page.locator('munro-player')).toHaveAttribute('state', 'playing')
    const globals = await embed.page.evaluate(() => ({
      Munro: typeof (window as unknown as { Munro?: unknown }).Munro,
      broadcast: typeof (window as unknown as { Munro: { broadcast?: unknown } }).Munro.broadcast,
      // Node globals a careless bundle of simple-peer leaks or needs: none may exist here.
      process: typeof (window as unknown as { process?: unknown }).process,
      global: typeof (window as unknown as { global?: unknown }).global,
      Buffer: typeof (window as unknown as { Buffer?: unknown }).Buffer,
      require: typeof (window as unknown as { require?: unknown }).require,
      viteClient: document.querySelector('script[src*="@vite"]') !== null
    }))
    expect(globals).toEqual({ Munro: 'object', broadcast: 'function', process: 'undefined', global: 'undefined', Buffer: 'undefined', require: 'undefined', viteClient: false })
    await embed.page.screenshot({ path: 'test-results/embed-playing.png' })
  })

  test('a viewer joining 10 s after the start plays within a few seconds, from a keyframe block', async ({ browser }) => {
    const wait = broadcaster.startedAt + 10_000 - Date.now()
    if (wait > 0) await broadcaster.page.waitForTimeout(wait)
    const joinedAt = Date.now()
    late = await openViewer(browser, 'late', broadcaster.id)
    // Nothing has touched the page yet (no user activation): it plays under Chromium's autoplay
    // policy because the player starts muted.
    expect(await firstPlaying(late, 6000)).toEqual({ muted: true, userActivated: false })
    await expectPlaying(late.page, { withinMs: 6000 })
    expect(await videoMuted(late.page)).toBe(true)
    const firstFrameMs = await stat(late.page, 'stat-first-frame')
    const join = await late.page.evaluate(() => window.__munroWatch?.handle()?.stats.join)
    console.log(`late viewer: first frame ${firstFrameMs} ms after watch() (first peer ${join?.peerMs?.toFixed(0)}, ` +
      `metadata ${join?.metadataMs?.toFixed(0)}, first block ${join?.firstBlockMs?.toFixed(0)}, first append ${join?.startMs?.toFixed(0)} ms), ` +
      `${Date.now() - joinedAt} ms after navigation (incl. the 3 s playback check)`)
    expect(firstFrameMs).not.toBe(null)
    expect(firstFrameMs).toBeLessThan(5000)
    const start = await late.page.getByTestId('stat-start').getAttribute('data-value')
    const [index, kind] = (start ?? '').split(':')
    expect(kind).toBe('keyframe')
    // It started near the live edge, not at the stream's beginning.
    expect(Number(index)).toBeGreaterThan(10)
    // The page's unmute control (a real click, a user gesture): sound on, and it keeps playing.
    await late.page.getByTestId('unmute').click()
    await expect(late.page.getByTestId('unmute')).toHaveText('Mute')
    expect(await videoMuted(late.page)).toBe(false)
    await expectPlaying(late.page, { withinMs: 3000, watchMs: 2000 })
    expect(await videoMuted(late.page)).toBe(false)
  })

  test('the broadcaster stops: every viewer shows the stream ended; no uncaught errors anywhere', async () => {
    await broadcaster.page.getByTestId('stop').click()
    await expect(broadcaster.page.getByTestId('status')).toHaveAttribute('data-state', 'ended', { timeout: 15_000 })
    for (const v of [...viewers, late as Peer]) {
      await expect(v.page.getByTestId('ended')).toBeVisible({ timeout: 15_000 })
      await expect(v.page.getByTestId('status')).toHaveAttribute('data-state', 'ended')
      await expect(v.page.getByTestId('status')).toHaveText('stream ended')
      const s = await videoState(v.page)
      expect(s.error).toBe(null)
    }
    await expect((embed as Peer).page.locator('munro-player')).toHaveAttribute('state', 'ended', { timeout: 15_000 })
    const errors = all().flatMap(p => p.errors)
    const pageSide = await Promise.all([...viewers, late as Peer].map(async v =>
      await v.page.evaluate(() => window.__munroWatch?.pageErrors ?? [])))
    const broadcasterSide = await broadcaster.page.evaluate(() => window.__munroDemo?.pageErrors ?? [])
    expect(errors).toEqual([])
    expect(pageSide.flat()).toEqual([])
    expect(broadcasterSide).toEqual([])
    for (const v of viewers) expect(await v.page.getByTestId('errors').textContent()).toBe('')
  })
})
