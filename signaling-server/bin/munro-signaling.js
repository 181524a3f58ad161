#!/usr/bin/env node
// Runs the compiled CLI; build first with `npm run build -w signaling-server`.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const cli = new URL('../dist/signaling-server/src/cli.js', import.meta.url)
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('munro-signaling: not built yet; run `npm run build -w signaling-server` from the repo root\n')
  process.exit(1)
}
const { main } = await import(cli.href)
process.exitCode = await main(process.argv.slice(2))
