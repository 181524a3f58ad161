/**
 * What a browser build of munro needs from a bundler, shared by the SDK's own build
 * (`sdk/vite.config.ts`), the demo (`demo/vite.config.ts`) and the e2e pages.
 *
 * simple-peer 9 and its dependencies (readable-stream 3, randombytes, debug) were written for
 * browserify: they read the Node globals `process` and `global`, and `require('events')` /
 * `require('buffer')`. `events` and `buffer` are real npm packages in the SDK's dependencies, so
 * any bundler resolves them. `process` is injected as an import of `src/browser/node-shims.ts`
 * wherever it appears free, and `global` is rewritten to `globalThis`: no global is created.
 */
import { fileURLToPath } from 'node:url'

const SHIMS = fileURLToPath(new URL('./src/browser/node-shims.ts', import.meta.url))

/** `define` entries: compile-time replacements. */
export const BROWSER_DEFINE: Record<string, string> = {
  global: 'globalThis',
  'process.env.NODE_ENV': JSON.stringify('production')
}

/** rolldown `transform.inject` entries: free identifiers → imports. */
export const BROWSER_INJECT: Record<string, [string, string]> = {
  process: [SHIMS, 'process'],
  Buffer: ['buffer', 'Buffer']
}
