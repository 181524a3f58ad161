/**
 * The demo site: `index.html` (broadcast), `watch.html`, and `public/embed.html` (the `<script>`
 * bundle and `<munro-player>` only). The first two import the SDK's TypeScript source. The embed
 * page lives in `public/` so that it is served byte for byte, with no Vite client injected (as on
 * any static host); it loads the built `sdk/dist/munro.iife.js`, served here at `/munro.iife.js`
 * (build it with `npm run build -w sdk`; `npm start` does).
 *
 * `/munro-config.json` tells pages the signaling server's port (env `MUNRO_SIGNAL_PORT`,
 * default 8787); the pages connect to that port on the host they were loaded from.
 */
import { createReadStream, existsSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import { defineConfig, type Plugin } from 'vite'
import { BROWSER_DEFINE, BROWSER_INJECT } from '../sdk/vite.browser.js'

const DEMO = fileURLToPath(new URL('.', import.meta.url))
const REPO = fileURLToPath(new URL('..', import.meta.url))
const IIFE = fileURLToPath(new URL('../sdk/dist/munro.iife.js', import.meta.url))

function munroDemoFiles (): Plugin {
  const handle = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const path = (req.url ?? '').split('?')[0]
    if (path === '/munro-config.json') {
      res.setHeader('content-type', 'application/json')
      res.setHeader('cache-control', 'no-store')
      res.end(JSON.stringify({ signalPort: Number(process.env.MUNRO_SIGNAL_PORT ?? 8787) }))
      return
    }
    if (path === '/munro.iife.js' || path === '/munro.iife.js.map') {
      const file = IIFE + (path.endsWith('.map') ? '.map' : '')
      if (!existsSync(file)) {
        res.statusCode = 404
        res.end('munro.iife.js is not built: run `npm run build -w sdk` (npm start does it)\n')
        return
      }
      res.setHeader('content-type', path.endsWith('.map') ? 'application/json' : 'text/javascript')
      res.setHeader('cache-control', 'no-store')
      createReadStream(file).pipe(res)
      return
    }
    next()
  }
  return {
    name: 'munro-demo-files',
    configureServer (server) { server.middlewares.use(handle) },
    configurePreviewServer (server) { server.middlewares.use(handle) }
  }
}

export default defineConfig({
  root: DEMO,
  clearScreen: false,
  plugins: [munroDemoFiles()],
  define: BROWSER_DEFINE,
  server: { host: '127.0.0.1', fs: { allow: [REPO] } },
  preview: { host: '127.0.0.1' },
  optimizeDeps: {
    rolldownOptions: { transform: { inject: BROWSER_INJECT } }
  },
  build: {
    outDir: 'dist',
    target: 'es2022',
    rolldownOptions: {
      input: {
        index: `${DEMO}index.html`,
        watch: `${DEMO}watch.html`
      },
      transform: { inject: BROWSER_INJECT }
    }
  }
})
