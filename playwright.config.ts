import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from '@playwright/test'

const ROOT = dirname(fileURLToPath(import.meta.url))
/** Written by `scripts/ensure-browser.mjs`. */
const BROWSER_CACHE = join(ROOT, 'node_modules', '.cache', 'munro', 'browser.json')
/** Port of the Vite server that serves `e2e/pages/` (127.0.0.1 only). */
export const E2E_PORT = Number(process.env.MUNRO_E2E_PORT ?? 5183)
/** Ports of `scripts/start.mjs` (the demo and its signaling server) during e2e runs. */
export const DEMO_PORT = Number(process.env.MUNRO_E2E_DEMO_PORT ?? 5184)
export const SIGNAL_PORT = Number(process.env.MUNRO_E2E_SIGNAL_PORT ?? 8797)
/** Ports of plain `npm start` (Vite's dev server over the SDK's source) during e2e runs. */
export const DEV_PORT = Number(process.env.MUNRO_E2E_DEV_PORT ?? 5185)
export const DEV_SIGNAL_PORT = Number(process.env.MUNRO_E2E_DEV_SIGNAL_PORT ?? 8798)

/**
 * The Chromium to drive: `MUNRO_CHROMIUM`, else the one `scripts/ensure-browser.mjs` recorded
 * (if it is still on disk), else run that script now (it finds or installs one, or fails with a
 * message saying what to do). The config is loaded by the runner and by each worker; the cache
 * file keeps the search to once.
 */
function chromiumPath (): string {
  if (process.env.MUNRO_CHROMIUM) return process.env.MUNRO_CHROMIUM
  try {
    const cached = JSON.parse(readFileSync(BROWSER_CACHE, 'utf8')) as { executablePath?: unknown }
    if (typeof cached.executablePath === 'string' && existsSync(cached.executablePath)) {
      return cached.executablePath
    }
  } catch {
    // no cache yet
  }
  const out = execFileSync(process.execPath, [join(ROOT, 'scripts', 'ensure-browser.mjs'), '--print-path'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const path = out.trim()
  process.env.MUNRO_CHROMIUM = path
  return path
}

export default defineConfig({
  testDir: 'e2e',
  // One browser context per peer and a fake camera each: two cores cannot run files in parallel.
  workers: 1,
  // Six browser contexts with fake cameras, recorders and players load two cores to a load
  // average near 10; a live-playback check that misses its window under that load is run once
  // more in CI (a serial group re-runs whole). Locally a failure is reported at once.
  retries: process.env.CI ? 1 : 0,
  fullyParallel: false,
  timeout: 60_000,
  outputDir: 'test-results',
  reporter: process.env.CI ? [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]] : 'list',
  use: {
    browserName: 'chromium',
    baseURL: `http://127.0.0.1:${E2E_PORT}`,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: chromiumPath(),
      args: [
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        '--disable-quic',
        '--disable-features=WebRtcHideLocalIpsWithMdns'
        // No --autoplay-policy: Chromium's own policy holds, so the player's muted start is what
        // lets it play. (Each Playwright evaluation or trace snapshot in a page gives it user
        // activation, which lifts the policy: e2e/live.spec.ts checks a late joiner that nothing
        // touched before it played, with traces without snapshots, and clicks its unmute button.)
      ]
    }
  },
  webServer: [
    {
      command: `npx vite --config e2e/vite.config.ts --host 127.0.0.1 --port ${E2E_PORT} --strictPort`,
      url: `http://127.0.0.1:${E2E_PORT}/e2e/pages/media-loop.html`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe'
    },
    {
      // What `npm start` runs, with the demo built (`--preview`): builds what is stale, then serves.
      command: `node scripts/start.mjs --preview --port ${DEMO_PORT} --signal-port ${SIGNAL_PORT}`,
      url: `http://127.0.0.1:${DEMO_PORT}/munro.iife.js`,
      reuseExistingServer: !process.env.CI,
      timeout: 120_000,
      stdout: 'ignore',
      stderr: 'pipe'
    },
    {
      // Plain `npm start`, the README's first command: the demo from Vite's dev server.
      command: `node scripts/start.mjs --port ${DEV_PORT} --signal-port ${DEV_SIGNAL_PORT}`,
      url: `http://127.0.0.1:${DEV_PORT}/`,
      reuseExistingServer: !process.env.CI,
      timeout: 120_000,
      stdout: 'ignore',
      stderr: 'pipe'
    }
  ]
})
