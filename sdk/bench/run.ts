/**
 * `npm run bench`: every benchmark section in one run, side by side. Prints tables and writes
 * JSON under sdk/bench/results/. Pass section names to run only some: `npm run bench -- core`.
 */
import { runCoreBench } from './core.js'
import { runGlassBench } from './glass.js'
import { runSignalingLoad } from './signaling-load.js'
import { runSimBench } from './swarm-sim.js'
import { runWebrtcSwarm } from './webrtc-swarm.js'
import { writeResult } from './util.js'

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
const all: Record<string, unknown> = {}
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  console.log(`\n# ${name}`)
  const t0 = performance.now()
  all[name] = await run()
  console.log(`(${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`)
  console.log(`wrote ${writeResult(name, all[name])}`)
}
console.log(`\nwrote ${writeResult('all', all)}`)
process.exit(0) // WebRTC and timers of finished sections must not keep the run alive
