/**
 * `npm run bench`: every benchmark section in one run, side by side. Prints tables and writes
 * JSON under sdk/bench/results/. Pass section names to run only some: `npm run bench -- core`;
 * all.json then keeps the other sections from its last run, and every section in it carries
 * the time of the run it comes from (`ranAt`), so a merged file says which figures are whose.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCoreBench } from './core.js'
import { runGlassBench } from './glass.js'
import { runSignalingLoad } from './signaling-load.js'
import { runSimBench } from './swarm-sim.js'
import { runWebrtcSwarm } from './webrtc-swarm.js'
import { RESULTS_DIR, writeResult } from './util.js'

type Section = () => Promise<Record<string, unknown>>
const sections: Record<string, Section> = {
  core: runCoreBench,
  signaling: runSignalingLoad,
  webrtc: runWebrtcSwarm,
  sim: runSimBench,
  glass: runGlassBench
}

const wanted = process.argv.slice(2).filter(a => !a.startsWith('-'))
const unknown = wanted.filter(w => !(w in sections))
if (unknown.length > 0) {
  console.error(`unknown section(s): ${unknown.join(', ')}; sections: ${Object.keys(sections).join(', ')}`)
  process.exit(2)
}
/** The sections of the last all.json, kept when only some sections run. */
function previous (): Record<string, unknown> {
  const file = join(RESULTS_DIR, 'all.json')
  if (wanted.length === 0 || !existsSync(file)) return {}
  const { generatedAt, node: _node, ...kept } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  return Object.fromEntries(Object.entries(kept).filter(([k]) => k in sections).map(([k, v]) =>
    [k, typeof v === 'object' && v !== null && !('ranAt' in v) ? { ranAt: generatedAt, ...v } : v]))
}

const all: Record<string, unknown> = previous()
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  console.log(`\n# ${name}`)
  const t0 = performance.now()
  const ranAt = new Date().toISOString()
  all[name] = { ranAt, ...await run() }
  console.log(`(${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`)
  console.log(`wrote ${writeResult(name, all[name])}`)
}
console.log(`\nwrote ${writeResult('all', all)}`)
process.exit(0) // WebRTC and timers of finished sections must not keep the run alive
