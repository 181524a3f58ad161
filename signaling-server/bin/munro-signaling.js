#!/usr/bin/env node
// Runs the compiled CLI (signaling-server/dist, from `npm run build -w signaling-server`). Without
// a build (a fresh `npm ci`), or with MUNRO_SIGNALING_SOURCE=1 (a stale build), it runs the
// TypeScript source through tsx, a devDependency of the repo root, in this same process.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dist = new URL('../dist/signaling-server/src/cli.js', import.meta.url)
const source = new URL('../src/cli.ts', import.meta.url)

function fail(message) {
  process.stderr.write(`munro-signaling: ${message}\n`)
  process.exit(1)
}

/** The CLI module: the build if there is one, else the source through tsx. */
async function load() {
  if (process.env.MUNRO_SIGNALING_SOURCE !== '1' && existsSync(fileURLToPath(dist))) return await import(dist.href)
  if (!existsSync(fileURLToPath(source))) fail('not built yet; run `npm run build -w signaling-server` from the repo root')
  let tsImport
  try {
    ({ tsImport } = await import('tsx/esm/api'))
  } catch {
    fail('not built, and tsx (a devDependency of the repo root) is not installed to run the source; run `npm ci`, or `npm run build -w signaling-server`')
  }
  return await tsImport(source.href, import.meta.url)
}

const { main } = await load()
process.exitCode = await main(process.argv.slice(2))
