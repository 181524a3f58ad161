import { expect, test } from '@playwright/test'
import { DEV_PORT } from '../playwright.config.js'
import { closeAll, expectPlaying, openBroadcaster, openViewer, stat, type Peer } from './demo-helpers.js'

/**
 * Plain `npm start` (the README's first command) serves the demo from Vite's dev server over the
 * SDK's TypeScript source, not the build the other scenarios use: a broadcast started there
 * plays on a watch page.
 */
test('npm start (dev server): a broadcast plays on a watch page, with no page errors', async ({ browser }) => {
  const site = `http://127.0.0.1:${DEV_PORT}`
  let broadcaster: Peer | null = null
  let viewer: Peer | null = null
  try {
    const live = await openBroadcaster(browser, {}, site)
    broadcaster = live
    viewer = await openViewer(browser, 'viewer', live.id, {}, site)
    await expectPlaying(viewer.page, { withinMs: 20_000 })
    expect(await stat(viewer.page, 'stat-verified')).toBeGreaterThan(0)
    expect([...live.errors, ...viewer.errors]).toEqual([])
  } finally {
    await closeAll([viewer, broadcaster])
  }
})
