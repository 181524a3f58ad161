/**
 * Scheduling and flow control: retries after a failed peer, where a late joiner starts, a lying
 * live edge, and the per-peer backlog bound.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_PEER_BACKLOG } from '../src/constants.js'
import {
  appendBlocks, bytes, connect, createBroadcaster, createReceiver, pattern, rawRemote, sleep, teardown, text, until
} from './helpers.js'

afterEach(teardown)

describe('scheduler', () => {
  it('a peer that timed out is asked again after its back-off; get keeps waiting instead of rejecting', async () => {
    const b = createBroadcaster()
    await appendBlocks(b, 1)
    const r = createReceiver(b, { start: 0, requestTimeout: 100 })
    const silent = rawRemote(r)
    silent.handshake({ length: 1 })
    silent.send({ type: 'have', start: 0, count: 1, headLength: 1 })
    let settled: string | null = null
    r.get(0).then(d => { settled = text(d) }, (e: { code?: string }) => { settled = e.code ?? 'error' })
    await silent.next('request')
    await silent.next('cancel') // timed out
    await sleep(150)
    expect(settled).toBe(null) // not ERR_OUT_OF_WINDOW: the block exists, this peer was just slow
    // After 4 timeouts of back-off the same peer is asked again.
    await silent.next('request', m => m.index === 0, 1000)
    // An honest peer arriving serves it.
    connect(b, r)
    await until(() => settled !== null)
    expect(settled).toBe('block 0')
  })

  it('a late joiner reports its start at the live edge and reads from there', async () => {
    const b = createBroadcaster()
    await appendBlocks(b, 50)
    const r = createReceiver(b)
    connect(b, r)
    await until(() => r.info(49)?.complete === true)
    expect(r.start).toBe(49)
    const chunks: string[] = []
    const rs = r.readStream({ live: false })
    for await (const chunk of rs) chunks.push(text(chunk as Uint8Array))
    expect(chunks).toEqual(['block 49'])
  })

  it('a peer lying about the live edge is dropped and the start is chosen again from honest peers', async () => {
    const b = createBroadcaster()
    await appendBlocks(b, 5)
    const r = createReceiver(b, { requestTimeout: 200 })
    const liar = rawRemote(r)
    liar.handshake({ length: 1_000_000 })
    liar.send({ type: 'have', start: 999_990, count: 10, headLength: 1_000_000 })
    await liar.next('request')
    expect(r.start).toBe(999_999)
    liar.stream.destroy()
    connect(b, r)
    await until(() => r.info(4)?.complete === true)
    expect(r.start).toBe(4)
  })

  it('answers pulls with NO_DATA BUSY once its uplink is measured backed up, and serves them once it drains', async () => {
    const b = createBroadcaster()
    const big = pattern(MAX_PEER_BACKLOG + 100_000, 3)
    await b.append(big)
    await b.append(bytes('small'))
    const slow = rawRemote(b) // its stream is read only through `data` listeners, which consume
    slow.stream.pause()
    slow.handshake()
    slow.send({ type: 'request', index: 0, fullProof: false, alone: false })
    // While the uplink was never seen saturated it is taken to be fast: the pull is queued.
    slow.send({ type: 'request', index: 1, fullProof: false, alone: false })
    await sleep(1200) // two upload samples with the outbox full and nothing drained
    slow.send({ type: 'request', index: 1, fullProof: false, alone: false })
    await sleep(20)
    slow.stream.resume()
    expect((await slow.next('data', m => m.index === 0)).byteLength).toBe(big.length)
    expect((await slow.next('data', m => m.index === 1)).byteLength).toBe(5)
    const answer = await slow.next('no-data', m => m.index === 1)
    expect(answer.reason).toBe(3) // BUSY: held, ask again shortly
    slow.send({ type: 'request', index: 1, fullProof: false, alone: false })
    expect((await slow.next('data', m => m.index === 1)).byteLength).toBe(5)
  })
})
