#!/usr/bin/env node
// `npm run test:unit`: vitest, run once more if (and only if) a test worker process died.
// @roamhq/wrtc, the WebRTC of the Node swarm tests, now and then crashes its process natively
// (a segfault, no JavaScript error) — seen in a few percent of runs of sdk/test/swarm.test.ts,
// at startup or mid-test. That is the test harness's WebRTC, not munro's code path in browsers
// (the end-to-end tests cover those). Any test failure fails at once; a crash is retried once
// and says so.
import { spawnSync } from 'node:child_process'

const args = ['vitest', 'run', ...process.argv.slice(2)]
const run = () => spawnSync('npx', args, { stdio: ['inherit', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
const echo = (r) => { process.stdout.write(r.stdout ?? ''); process.stderr.write(r.stderr ?? '') }

let r = run()
echo(r)
const crashed = (x) => /Worker exited unexpectedly/.test((x.stdout ?? '') + (x.stderr ?? '')) && !/\bFAIL\b/.test(x.stdout ?? '')
if (r.status !== 0 && crashed(r)) {
  console.error('\n[unit] a test worker process crashed (no test failed); running the suite once more\n')
  r = run()
  echo(r)
}
process.exit(r.status ?? 1)
