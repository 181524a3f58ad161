import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, room, TestSocket } from './helpers.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const bin = fileURLToPath(new URL('../bin/munro-signaling.js', import.meta.url))

afterEach(cleanup)

describe('CLI', () => {
  it('runs the bin without a build, applies its flags, serves /health, and shuts down gracefully on SIGTERM', async () => {
    // MUNRO_SIGNALING_SOURCE=1 takes the path of a fresh `npm ci` (no dist/) even where dist/ is
    // built: the bin runs the TypeScript source through tsx.
    const child = spawn(process.execPath, [bin, '--port', '0', '--max-peers-per-room', '3'], {
      cwd: root,
      env: { ...process.env, MUNRO_SIGNALING_SOURCE: '1' },
      stdio: ['ignore', 'ignore', 'pipe']
    })
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
    try {
      const port = await listening
      const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as Record<string, unknown>
      expect(health).toMatchObject({ ok: true, sockets: 0, rooms: 0 })

      // --max-peers-per-room 3: three members fit, the fourth is refused.
      const sockets = Array.from({ length: 4 }, () => new TestSocket(`ws://127.0.0.1:${port}`))
      for (const s of sockets) {
        await s.opened()
        expect(await s.next('welcome')).toMatchObject({ limits: { maxPeersPerRoom: 3 } })
      }
      for (const s of sockets.slice(0, 3)) {
        s.send({ type: 'join', room: room() })
        await s.next('joined')
      }
      sockets[3]?.send({ type: 'join', room: room() })
      expect(await sockets[3]?.next('error')).toMatchObject({ code: 'ERR_ROOM_FULL', ref: 'join' })
      await cleanup()

      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
      const lifecycle = ['listening', 'closing', 'closed']
      expect(lines.map((l) => l.event).filter((e) => lifecycle.includes(e as string))).toEqual(lifecycle)
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
  })
})
