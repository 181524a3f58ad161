import { expect, test, type Page } from '@playwright/test'

/** What `e2e/pages/media-loop.ts` exposes as `window.__loop.snapshot()`. */
interface Snapshot {
  pageErrors: string[]
  playerErrors: string[]
  skips: Array<{ from: number, to: number | null, reason: string }>
  seeks: Array<{ from: number, to: number, reason: string }>
  blockFlags: number[]
  recorded: number
  metadataBytes: number
  initBytes: number
  mimeType: string
  startIndex: number | null
  firstFrameMs: number | null
  munroInvalid: number
  keyframeBlocks: number
  player: {
    state: string, latency: number, bufferedSeconds: number, appendedBlocks: number, droppedBlocks: number,
    skippedBlocks: number, gaps: number, seeks: number, playbackRate: number, droppedFrames: number, errors: number
  } | null
  video: { readyState: number, currentTime: number, paused: boolean, error: string | null, width: number, height: number }
}

const BLOCK_FLAG_KEYFRAME = 2

async function snapshot (page: Page): Promise<Snapshot> {
  return await page.evaluate(() => (window.__loop as NonNullable<typeof window.__loop>).snapshot()) as unknown as Snapshot
}

/**
 * Opens the loop page, waits until the video plays, and checks that it keeps playing for
 * `watchMs`: readyState ≥ 3, currentTime advancing about in real time, no media or page error.
 */
async function expectPlays (page: Page, query: string, name: string, watchMs = 3000): Promise<Snapshot> {
  const pageErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(e.message))
  await page.goto(`/e2e/pages/media-loop.html?${query}`)
  await page.waitForFunction(() => window.__loop !== undefined, undefined, { timeout: 15_000 })
    .catch((err: unknown) => { throw new Error(`page did not start: ${pageErrors.join('; ') || String(err)}`) })
  await expect.poll(async () => {
    const s = await snapshot(page)
    return s.video.readyState >= 3 && s.video.currentTime > 0 && !s.video.paused
  }, { timeout: 20_000, intervals: [250] }).toBe(true)
  const before = await snapshot(page)
  await page.waitForTimeout(watchMs)
  const after = await snapshot(page)
  const advanced = after.video.currentTime - before.video.currentTime
  await page.screenshot({ path: `test-results/media-loop-${name}.png` })
  const p = after.player
  console.log(`[${name}] advanced ${advanced.toFixed(2)} s in ${watchMs / 1000} s; latency ${p?.latency.toFixed(2)} s, ` +
    `buffered ${p?.bufferedSeconds.toFixed(2)} s, rate ${p?.playbackRate}, blocks recorded ${after.recorded} ` +
    `(${after.keyframeBlocks} keyframe), appended ${p?.appendedBlocks}, dropped ${p?.droppedBlocks}, ` +
    `skipped ${p?.skippedBlocks}, gaps ${p?.gaps}, seeks ${p?.seeks}, dropped frames ${p?.droppedFrames}, ` +
    `first frame after ${after.firstFrameMs?.toFixed(0)} ms, start index ${after.startIndex}, ` +
    `seeks ${JSON.stringify(after.seeks.map(e => `${e.reason} ${e.from.toFixed(2)}→${e.to.toFixed(2)}`))}, ` +
    `init ${after.initBytes} B, metadata ${after.metadataBytes} B, ${after.mimeType}`)
  expect(pageErrors).toEqual([])
  expect(after.pageErrors).toEqual([])
  expect(after.playerErrors).toEqual([])
  expect(after.video.error).toBe(null)
  // At the live edge a busy machine can leave the sample instant in a momentary stall
  // (HAVE_CURRENT_DATA); playing means back to HAVE_FUTURE_DATA within a second.
  await expect.poll(async () => (await snapshot(page)).video.readyState, { timeout: 1000, intervals: [100] })
    .toBeGreaterThanOrEqual(3)
  expect(after.video.width).toBe(640)
  expect(advanced).toBeGreaterThan(watchMs / 1000 * 0.75)
  expect(p?.state).toBe('playing')
  expect(p?.latency).toBeLessThan(2)
  // The first block appended is a keyframe block.
  expect(after.startIndex).not.toBe(null)
  expect((after.blockFlags[after.startIndex as number] as number) & BLOCK_FLAG_KEYFRAME).toBe(BLOCK_FLAG_KEYFRAME)
  return after
}

test.describe('media loop: fake camera → recorder → cutter → player', () => {
  test('direct: plays at the live edge', async ({ page }) => {
    const s = await expectPlays(page, 'via=direct', 'direct')
    expect(s.initBytes).toBeGreaterThan(100)
    expect(s.mimeType).toBe('video/webm;codecs="vp8,opus"')
    expect(s.startIndex).toBe(0)
    expect(s.player?.droppedBlocks).toBe(0)
  })

  test('direct, late join: starts at a keyframe block and plays', async ({ page }) => {
    const s = await expectPlays(page, 'via=direct&joinAfterMs=2500', 'direct-late')
    expect(s.startIndex).toBeGreaterThan(0)
  })

  test('direct, late join with a slow backlog: buffers it before the first frame, no catch-up seek', async ({ page }) => {
    // The 7–14 blocks since the keyframe before the last land 100 ms apart after the join, with
    // watch()'s targetLatency. Told the log's length, the player holds the first frame until they
    // are buffered and seeks once; without that (liveEdge=0) it played the first block, then
    // seeked again ('behind') as the rest landed.
    const s = await expectPlays(page, 'via=direct&joinAfterMs=2500&backlogMs=100&targetLatency=0.12', 'direct-backlog')
    expect(s.startIndex).toBeGreaterThan(0)
    expect(s.seeks.map(e => e.reason)).toEqual(['start'])
    expect(s.player?.latency).toBeLessThan(1)
  })

  test('direct, missing block: skips to the next keyframe and keeps playing', async ({ page }) => {
    const s = await expectPlays(page, 'via=direct&drop=6', 'direct-gap', 4000)
    expect(s.player?.gaps).toBe(1)
    expect(s.skips[0]?.from).toBe(6)
    expect(s.player?.skippedBlocks).toBeGreaterThanOrEqual(1)
  })

  test('through two in-memory munro instances: plays', async ({ page }) => {
    const s = await expectPlays(page, 'via=munro', 'munro')
    expect(s.munroInvalid).toBe(0)
  })

  test('through munro, receiver joins late: plays from a keyframe', async ({ page }) => {
    const s = await expectPlays(page, 'via=munro&joinAfterMs=2500', 'munro-late')
    expect(s.startIndex).toBeGreaterThan(0)
  })
})
