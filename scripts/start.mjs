#!/usr/bin/env node
// `npm start`: builds what the demo needs, then runs the signaling server and the demo site on
// 127.0.0.1 and prints their URLs. Ctrl-C stops both.
//
// What it builds, only when missing or older than its sources:
//   - sdk/dist/munro.iife.js   (the <script> bundle the embed page loads)   vite build --mode iife
//   - signaling-server/dist/   (the server, run here as a library)          tsc -p signaling-server/tsconfig.build.json
//   - demo/dist/               (with --preview only)                       vite build --config demo/vite.config.ts
// By default the broadcast and watch pages are served from the SDK's TypeScript source by Vite's
// dev server, without hot reload (a reload would end a broadcast; pass --hmr to get it). With
// --preview the built demo is served instead (what the e2e tests use: fewer, smaller files).
//
// Usage: node scripts/start.mjs [--port 5173] [--signal-port 8787] [--host 127.0.0.1] [--preview] [--hmr] [--verbose]
//   --host 0.0.0.0 serves the LAN; note that browsers allow the camera only on https:// or
//   http://localhost / 127.0.0.1, so other machines can watch but not broadcast over plain http.

import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const log = (msg) => process.stdout.write(`[munro] ${msg}\n`)

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.MUNRO_DEMO_PORT ?? '5173' },
    'signal-port': { type: 'string', default: process.env.MUNRO_SIGNAL_PORT ?? '8787' },
    host: { type: 'string', default: '127.0.0.1' },
    verbose: { type: 'boolean', default: false },
    preview: { type: 'boolean', default: false },
    hmr: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false }
  }
})
if (args.help) {
  process.stdout.write('usage: npm start -- [--port 5173] [--signal-port 8787] [--host 127.0.0.1] [--preview] [--hmr] [--verbose]\n')
  process.exit(0)
}
const port = Number(args.port)
const signalPort = Number(args['signal-port'])
for (const [name, v] of [['--port', port], ['--signal-port', signalPort]]) {
  if (!Number.isInteger(v) || v < 0 || v > 65535) {
    process.stderr.write(`[munro] ${name} must be a TCP port (0–65535)\n`)
    process.exit(2)
  }
}

/** Newest modification time (ms) of the files under `paths`. */
function newest (paths) {
  let t = 0
  const walk = (p) => {
    if (!existsSync(p)) return
    const s = statSync(p)
    if (s.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e))
    else t = Math.max(t, s.mtimeMs)
  }
  for (const p of paths) walk(p)
  return t
}

/** Runs `cmd` (an npm-installed binary) in `cwd` unless `output` is newer than every source. */
function buildIfStale (what, output, sources, cwd, cmd) {
  if (existsSync(output) && statSync(output).mtimeMs >= newest(sources)) {
    log(`${what}: up to date`)
    return
  }
  log(`${what}: building (${cmd.join(' ')})`)
  const started = Date.now()
  const r = spawnSync('npx', ['--no-install', ...cmd], { cwd, stdio: ['ignore', 'inherit', 'inherit'] })
  if (r.status !== 0) {
    process.stderr.write(`[munro] building ${what} failed (exit ${r.status}); did you run \`npm install\`?\n`)
    process.exit(1)
  }
  log(`${what}: built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

const sdk = join(ROOT, 'sdk')
buildIfStale('sdk/dist/munro.iife.js', join(sdk, 'dist', 'munro.iife.js'),
  [join(sdk, 'src'), join(sdk, 'vite.config.ts'), join(sdk, 'vite.browser.ts'), join(sdk, 'package.json')],
  sdk, ['vite', 'build', '--mode', 'iife'])
const signalDist = join(ROOT, 'signaling-server', 'dist', 'signaling-server', 'src', 'index.js')
buildIfStale('signaling-server/dist', signalDist,
  [join(ROOT, 'signaling-server', 'src'), join(sdk, 'src', 'signaling', 'protocol.ts')],
  ROOT, ['tsc', '-p', 'signaling-server/tsconfig.build.json'])

const demoDir = join(ROOT, 'demo')
const demoConfig = join(demoDir, 'vite.config.ts')
if (args.preview) {
  buildIfStale('demo/dist', join(demoDir, 'dist', 'index.html'),
    [join(demoDir, 'src'), join(demoDir, 'public'), join(demoDir, 'index.html'), join(demoDir, 'watch.html'), demoConfig,
      join(sdk, 'src'), join(sdk, 'vite.browser.ts')],
    ROOT, ['vite', 'build', '--config', demoConfig, '--logLevel', 'warn'])
}

const { createSignalingServer } = await import(pathToFileURL(signalDist).href)
let signaling
try {
  signaling = await createSignalingServer({ port: signalPort, host: args.host, ...(args.verbose ? {} : { log: null }) })
} catch (err) {
  process.stderr.write(`[munro] could not start the signaling server on ${args.host}:${signalPort}: ${err.message}\n` +
    '        (another `npm start` running? pick another port with --signal-port)\n')
  process.exit(1)
}

// The demo's Vite config reads this to tell pages where the signaling server is.
process.env.MUNRO_SIGNAL_PORT = String(signaling.port)
const vite = await import('vite')
let demo
try {
  if (args.preview) {
    demo = await vite.preview({
      configFile: demoConfig,
      logLevel: args.verbose ? 'info' : 'warn',
      preview: { host: args.host, port, strictPort: true }
    })
  } else {
    demo = await vite.createServer({
      configFile: demoConfig,
      logLevel: args.verbose ? 'info' : 'warn',
      server: { host: args.host, port, strictPort: true, hmr: args.hmr }
    })
    await demo.listen()
  }
} catch (err) {
  await signaling.close()
  process.stderr.write(`[munro] could not start the demo on ${args.host}:${port}: ${err.message}\n` +
    '        (port busy? pick another with --port)\n')
  process.exit(1)
}

const address = demo.httpServer?.address()
const demoPort = typeof address === 'object' && address !== null ? address.port : port
const shown = args.host === '0.0.0.0' ? '127.0.0.1' : args.host
const base = `http://${shown}:${demoPort}`
log(`ready (${args.preview ? 'built demo, vite preview' : 'vite dev server'})`)
log(`  broadcast   ${base}/`)
log(`  watch       ${base}/watch.html?stream=<id>   (the broadcast page shows the link)`)
log(`  embed       ${base}/embed.html?stream=<id>   (<script src="/munro.iife.js"> + <munro-player>)`)
log(`  signaling   ws://${shown}:${signaling.port}   (health: http://${shown}:${signaling.port}/health)`)
log('Press Ctrl-C to stop.')

let closing = false
async function shutdown (signal) {
  if (closing) return
  closing = true
  log(`${signal}: stopping`)
  const force = setTimeout(() => process.exit(1), 5000)
  force.unref()
  await Promise.allSettled([demo.close(), signaling.close()])
  log('stopped')
  process.exit(0)
}
process.on('SIGINT', () => { void shutdown('SIGINT') })
process.on('SIGTERM', () => { void shutdown('SIGTERM') })
