/**
 * Browser stand-in for Node's `process`, for simple-peer's dependencies (readable-stream 3 calls
 * `process.nextTick` and compares streams with `process.stdout`; randombytes and debug read
 * `process` too). The bundler (`sdk/vite.config.ts`) rewrites each free `process` in those
 * modules into an import of this object, so nothing is added to `globalThis` and the page's own
 * `process` (if any) is left alone. Never imported by munro's own code.
 * @module
 */

type Tick = (...args: unknown[]) => void

/** The subset of Node's `process` that the bundled dependencies touch. */
export const process = Object.freeze({
  browser: true,
  env: Object.freeze({}) as Record<string, string | undefined>,
  version: '',
  versions: Object.freeze({}) as Record<string, string>,
  platform: 'browser',
  argv: Object.freeze([]) as readonly string[],
  stdout: undefined,
  stderr: undefined,
  /** Like Node's: runs `fn(...args)` after the current job, before timers. */
  nextTick (fn: Tick, ...args: unknown[]): void {
    queueMicrotask(() => { fn(...args) })
  },
  emitWarning (): void {},
  cwd (): string { return '/' }
})

export default process
