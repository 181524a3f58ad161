/**
 * Library builds of the SDK (`npm run build -w sdk`):
 *
 * - default mode: ESM for bundlers and `<script type="module">`, one file per entry
 *   (`dist/index.js` — everything; `dist/swarm.js`, `dist/signaling.js`, `dist/media.js` —
 *   subpaths), dependencies bundled in so that no consumer has to polyfill Node for simple-peer.
 * - `--mode iife`: `dist/munro.iife.js`, minified, global `Munro`, registers `<munro-player>`.
 *
 * Types come from `tsc -p tsconfig.build.json` (→ `dist/types`).
 */
import { defineConfig } from 'vite'
import { BROWSER_DEFINE, BROWSER_INJECT } from './vite.browser.js'

export default defineConfig(({ mode }) => {
  const iife = mode === 'iife'
  return {
    logLevel: 'warn',
    define: BROWSER_DEFINE,
    build: {
      outDir: 'dist',
      // The ESM build runs first and empties dist/; the IIFE build adds to it.
      emptyOutDir: !iife,
      target: 'es2022',
      sourcemap: true,
      minify: iife,
      reportCompressedSize: false,
      lib: iife
        ? { entry: 'src/browser/iife.ts', name: 'Munro', formats: ['iife'], fileName: () => 'munro.iife.js' }
        : {
            entry: {
              index: 'src/browser/index.ts',
              swarm: 'src/swarm/index.ts',
              signaling: 'src/signaling/index.ts',
              media: 'src/media/index.ts'
            },
            formats: ['es'],
            fileName: (_format, name) => `${name}.js`
          },
      rolldownOptions: {
        transform: { inject: BROWSER_INJECT }
      }
    }
  }
})
