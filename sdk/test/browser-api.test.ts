// The browser API's argument guards and the process shim, in Node (the browser paths themselves
// run in Chromium: e2e/live.spec.ts, e2e/tamper.spec.ts).
import { describe, expect, it } from 'vitest'
import { broadcast } from '../src/browser/broadcast.js'
import { defineMunroPlayer } from '../src/browser/player-element.js'
import { process as shim } from '../src/browser/node-shims.js'
import { watch } from '../src/browser/watch.js'
import * as entry from '../src/browser/index.js'
import { munro } from '../src/munro.js'

const ID = 'ab'.repeat(32)

describe('package entry (sdk/src/browser/index.ts → dist/index.js)', () => {
  it('has munro as its default export, as `import munro from \'munro\'` expects', () => {
    expect(typeof entry.default).toBe('function')
    expect(entry.default).toBe(munro)
    expect(entry.munro).toBe(munro)
  })

  it('still exports the browser API by name', () => {
    expect(entry.broadcast).toBe(broadcast)
    expect(entry.watch).toBe(watch)
    expect(entry.defineMunroPlayer).toBe(defineMunroPlayer)
  })
})

describe('browser API guards', () => {
  it('broadcast() names the bad option and picks TypeError or RangeError', async () => {
    await expect(broadcast(undefined as never)).rejects.toThrow(TypeError)
    await expect(broadcast({} as never)).rejects.toThrow(/signal must be a non-empty string/)
    await expect(broadcast({ signal: 'ws://x', maxBroadcasterPeers: 0 })).rejects.toThrow(RangeError)
    await expect(broadcast({ signal: 'ws://x', timeslice: 1.5 })).rejects.toThrow(/timeslice must be an integer/)
    await expect(broadcast({ signal: 'ws://x', source: 'microwave' as never })).rejects.toThrow(/source must be/)
  })

  it('broadcast() without getUserMedia fails with ERR_MEDIA_CAPTURE', async () => {
    await expect(broadcast({ signal: 'ws://x', source: 'camera' })).rejects.toMatchObject({ code: 'ERR_MEDIA_CAPTURE' })
  })

  it('watch() checks the signal URL, the stream id and the video element', () => {
    expect(() => watch({ stream: ID } as never)).toThrow(/signal must be a non-empty string/)
    expect(() => watch({ signal: 'ws://x', stream: 'abc', video: {} as never })).toThrow(/stream must be a stream id/)
    expect(() => watch({ signal: 'ws://x', stream: ID, video: {} as never })).toThrow(/video must be an HTMLVideoElement/)
  })

  it('defineMunroPlayer() outside a browser is a TypeError', () => {
    expect(() => defineMunroPlayer()).toThrow(TypeError)
  })
})

describe('process shim', () => {
  it('nextTick runs with its arguments after the current job, in order', async () => {
    const seen: unknown[] = []
    shim.nextTick((a: unknown, b: unknown) => seen.push([a, b]), 1, 2)
    shim.nextTick(() => seen.push('second'))
    seen.push('sync')
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(seen).toEqual(['sync', [1, 2], 'second'])
  })

  it('looks like a browser, not like Node', () => {
    expect(shim.browser).toBe(true)
    expect(shim.stdout).toBe(undefined)
    expect(Object.isFrozen(shim)).toBe(true)
  })
})
