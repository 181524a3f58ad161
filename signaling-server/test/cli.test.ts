import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))

describe('CLI', () => {
  it('starts with flags, serves /health, and shuts down gracefully on SIGTERM', async () => {
    // Run the TypeScript entry through tsx so the test needs no build step.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '-e', `import(${JSON.stringify(cli)}).then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)) })`, '--', '--port', '0', '--max-peers-per-room', '3'],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] }
    )
    const lines: Array<Record<string, unknown>> = []
    let buffered = ''
    const listening = new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`CLI exited early with ${code}: ${buffered}`)))
      child.stderr.on('data', (chunk: Buffer) => {
        buffered += chunk.toString()
        let nl: number
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl)
          buffered = buffered.slice(nl + 1)
          try {
            const entry = JSON.parse(line) as Record<string, unknown>
            lines.push(entry)
            if (entry.event === 'listening') resolve(entry.port as number)
          } catch {
            // not a log line (e.g. a runtime warning)
          }
        }
      })
    })
    const port = await listening
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as Record<string, unknown>
    expect(health).toMatchObject({ ok: true, sockets: 0, rooms: 0 })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(lines.map((l) => l.event)).toEqual(['listening', 'closing', 'closed'])
  })
})
