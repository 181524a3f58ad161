import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Serves the e2e test pages (`/e2e/pages/*.html`), compiling the SDK's TypeScript on the fly.
 * The root is the repository so pages can import `/sdk/src/…`; it listens on 127.0.0.1 only.
 */
export default defineConfig({
  root: ROOT,
  logLevel: 'warn',
  clearScreen: false,
  server: {
    host: '127.0.0.1',
    fs: { allow: [ROOT] }
  },
  resolve: {
    // streamx → events-universal → require('events'): Node's module, absent in browsers.
    // bare-events (already installed, streamx's own choice on Bare) is a pure-JS EventEmitter.
    alias: { events: 'bare-events' }
  },
  // Some Node-flavoured dependencies (simple-peer's) read `global`.
  define: { global: 'globalThis' }
})
