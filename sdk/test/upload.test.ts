/**
 * The upload meter: capacity is measured only from saturated intervals (or a probe), and bounds
 * how many stripe subscriptions a peer pushes.
 */
import type { Duplex } from 'streamx'
import { afterEach, describe, expect, it } from 'vitest'
import { MESSAGE_TYPE_IDS } from '../src/messages.js'
import type { Munro } from '../src/munro.js'
import { DEFAULT_OPTIONS } from '../src/options.js'
import { admitsSubscriber, beyondBudget, MIN_PUSH_COPIES, PROBE_BYTES, PROBE_MS, stripeCapacity, subscriberBudget, UploadMeter } from '../src/upload.js'
import { createBroadcaster, createReceiver, rawRemote, sleep, teardown } from './helpers.js'

describe('subscriber admission', () => {
  it('a receiver takes copies × STRIPES subscriptions in all, none below MIN_PUSH_COPIES', () => {
    expect(MIN_PUSH_COPIES).toBe(1)
    expect(subscriberBudget(2, false)).toBe(8)
    expect(subscriberBudget(1.7, false)).toBe(6)
    expect(subscriberBudget(0.9, false)).toBe(0)
    expect(admitsSubscriber(0.9, false, 0, 0)).toBe(false)
  })

  it('the broadcaster always pushes, one subscriber per stripe at one copy', () => {
    expect(subscriberBudget(0.5, true)).toBe(2)
    expect(admitsSubscriber(1, true, 0, 0)).toBe(true)
    expect(admitsSubscriber(1, true, 1, 1)).toBe(false) // that stripe has its subscriber
    expect(admitsSubscriber(1, true, 3, 0)).toBe(true)
    expect(admitsSubscriber(1, true, 4, 0)).toBe(false) // one copy: four stripes
  })

  it('at most ceil(copies) subscribers per stripe, so a block reaches them within about a block time', () => {
    expect(admitsSubscriber(1.7, false, 1, 1)).toBe(true)
    expect(admitsSubscriber(1.7, false, 2, 2)).toBe(false)
    expect(admitsSubscriber(1.7, false, 2, 0)).toBe(true)
    expect(admitsSubscriber(6.8, false, 6, 6)).toBe(true)
    expect(admitsSubscriber(6.8, false, 7, 7)).toBe(false)
  })

  it('tells its neighbours that cap as its capacity: 0 for a receiver that takes none, 1 for the broadcaster at one copy', () => {
    expect(stripeCapacity(1.7, false)).toBe(2)
    expect(stripeCapacity(6.8, false)).toBe(7)
    expect(stripeCapacity(0.9, false)).toBe(0)
    expect(stripeCapacity(1, true)).toBe(1)
    expect(stripeCapacity(0.5, true)).toBe(1)
  })

  it('when the upload drops, chokes what no longer fits, in all and per stripe, keeping the first', () => {
    const subs: Array<[string, number]> = [['a', 0], ['b', 0], ['c', 1], ['d', 2], ['e', 0], ['f', 3], ['g', 1]]
    expect(beyondBudget(subs, 6.8, false)).toEqual([]) // 27 in all, 7 per stripe
    expect(beyondBudget(subs, 1.7, false)).toEqual([['e', 0]]) // 6 in all, 2 per stripe: e is stripe 0's third
    expect(beyondBudget(subs, 1.2, false)).toEqual([['e', 0], ['f', 3], ['g', 1]]) // 4 in all
    expect(beyondBudget(subs, 1, false)).toEqual([['b', 0], ['e', 0], ['g', 1]]) // one per stripe
    expect(beyondBudget(subs, 0.5, false)).toEqual(subs) // below one copy: none
  })
})

describe('upload meter', () => {
  it('knows no capacity (allows the maximum) until the uplink was saturated for a whole interval', () => {
    const m = new UploadMeter()
    for (let i = 0; i <= 10; i++) m.block(i, 90_000, 300 * i, 300 * i) // 300 B/ms stream
    m.sample(0, 0, false)
    m.sample(500, 100_000, true)
    expect(m.capacity).toBe(null)
    expect(m.allowedCopies(6)).toBe(6)
  })

  it('measures the drain rate of a saturated uplink and allows HEADROOM of it in copies of the stream', () => {
    const m = new UploadMeter()
    for (let i = 0; i <= 10; i++) m.block(i, 90_000, 300 * i, 300 * i)
    expect(m.streamRate).toBeCloseTo(300)
    m.sample(0, 0, true)
    m.sample(500, 300_000, true) // 600 B/ms: twice the stream
    expect(m.capacity).toBeCloseTo(600)
    expect(m.allowedCopies(6)).toBeCloseTo(0.85 * 2)
    expect(m.allowedCopies(1)).toBe(1)
  })

  it('a peer below the bit rate can push less than one copy; a faster unsaturated interval raises the estimate', () => {
    const m = new UploadMeter()
    for (let i = 0; i <= 10; i++) m.block(i, 90_000, 300 * i, 300 * i)
    m.sample(0, 0, true)
    m.sample(500, 50_000, true) // 100 B/ms
    expect(m.allowedCopies(6)).toBeLessThan(0.3)
    m.sample(1000, 250_000, false) // 400 B/ms, not saturated: a lower bound
    expect(m.capacity).toBeCloseTo(400)
  })

  it('measures the stream by signed-head times and block indices: a backlog arriving in a burst, out of order, with gaps, is no faster stream', () => {
    const m = new UploadMeter()
    // Blocks 0–9 of 90 kB, signed 300 ms apart, all arriving within 50 ms in shuffled order, two missing.
    for (const [k, i] of [3, 0, 7, 1, 9, 4, 6, 2].entries()) m.block(i, 90_000, 1_000_000 + 300 * i, 5_000 + 6 * k)
    expect(m.streamRate).toBeCloseTo(300)
  })

  it('falls back to local arrival times for blocks without a signed time, never mixing the two clocks', () => {
    const m = new UploadMeter()
    m.block(0, 90_000, null, 0)
    expect(m.streamRate).toBe(null)
    m.block(1, 90_000, null, 300)
    expect(m.streamRate).toBeCloseTo(300)
    m.block(2, 90_000, 1_000_000, 600) // one stamped block: not enough for a stamped rate
    expect(m.streamRate).toBeCloseTo(300)
    m.block(3, 90_000, 1_000_150, 900) // stamped blocks 150 ms apart: the stream looks twice as fast
    expect(m.streamRate).toBeCloseTo(600)
  })

  it('takes the stream at the expected rate until two blocks were seen, then at its own', () => {
    const m = new UploadMeter(150) // 1.2 Mbit/s expected
    expect(m.streamRate).toBe(150)
    m.probed(150_000, 500) // 300 B/ms
    expect(m.copies).toBeCloseTo(2)
    m.block(0, 90_000, 0, 0)
    expect(m.copies).toBeCloseTo(2) // one block gives no rate
    m.block(1, 90_000, 300, 300)
    expect(m.streamRate).toBeCloseTo(300)
    expect(m.copies).toBeCloseTo(1)
  })

  it('reports copies of the stream the measured upload carries, null while unmeasured', () => {
    const m = new UploadMeter()
    for (let i = 0; i <= 10; i++) m.block(i, 90_000, 300 * i, 300 * i)
    expect(m.copies).toBe(null)
    m.sample(0, 0, true)
    m.sample(500, 150_000, true) // 300 B/ms: one copy
    expect(m.copies).toBeCloseTo(1)
  })
})

describe('upload probe (Munro.probeUpload)', () => {
  afterEach(teardown)

  /** A peer stream drained at `bytesPerTick` every `tickMs` by a transport that reports its buffer. */
  function throttled (m: Munro, bytesPerTick: number, tickMs: number): { stream: Duplex, probeBytes: () => number, stop: () => void } {
    let buffered = 0
    let probe = 0
    const stream = m.peerStream({ bufferedAmount: () => buffered })
    stream.on('data', (chunk: unknown) => {
      const f = chunk as Uint8Array
      buffered += f.length
      if (f[varintLength(f)] === MESSAGE_TYPE_IDS.probe) probe += f.length
      if (buffered > 16 * 1024) stream.pause()
    })
    const timer = setInterval(() => {
      buffered = Math.max(0, buffered - bytesPerTick)
      if (buffered <= 8 * 1024) stream.resume()
    }, tickMs)
    return { stream, probeBytes: () => probe, stop: () => { clearInterval(timer); stream.destroy() } }
  }
  const varintLength = (f: Uint8Array): number => { let i = 0; while (((f[i] as number) & 0x80) !== 0) i++; return i + 1 }

  it('measures the rate at which padding leaves, within its time limit, and drops the padding left over', async () => {
    const r = createReceiver(createBroadcaster())
    const link = throttled(r, 16 * 1024, 32) // 0.5 MB/s ≈ 4 Mbit/s
    const t0 = Date.now()
    const bps = await r.probeUpload(link.stream)
    const took = Date.now() - t0
    expect(took).toBeGreaterThanOrEqual(PROBE_MS - 20)
    expect(took).toBeLessThan(PROBE_MS + 300)
    expect(bps).toBeGreaterThan(2e6) // timers on a loaded machine tick late, never early
    expect(bps).toBeLessThan(5e6)
    // No block seen yet: copies of the stream at the expected bitrate (2.5 Mbit/s by default).
    expect(r.uploadCopies).toBeCloseTo((bps as number) / DEFAULT_OPTIONS.expectedBitrate, 1)
    await sleep(800) // time for all of the padding to drain, had it not been dropped
    expect(link.probeBytes()).toBeLessThan(0.75 * PROBE_BYTES) // the rest never left the outbox
    link.stop()
  })

  it('with expectedBitrate 0 a probed upload is no count of copies until blocks arrive', async () => {
    const r = createReceiver(createBroadcaster(), { expectedBitrate: 0 })
    const link = throttled(r, 16 * 1024, 32)
    expect(await r.probeUpload(link.stream)).toBeGreaterThan(0)
    expect(r.uploadCopies).toBe(null)
    link.stop()
  })

  it('a probe that finds the upload too weak to relay tells every peer CAPACITY 0, also when a peer joined in between', async () => {
    const r = createReceiver(createBroadcaster())
    const early = rawRemote(r)
    early.handshake()
    expect((await early.next('capacity')).perStripe).toBe(6) // unmeasured: up to maxSubscribers
    const link = throttled(r, 2 * 1024, 32) // 64 KB/s ≈ 0.5 Mbit/s: a fifth of a copy
    await r.probeUpload(link.stream)
    const late = rawRemote(r) // before the meter's next tick
    late.handshake()
    expect((await late.next('capacity')).perStripe).toBe(0)
    expect((await early.next('capacity', m => m.perStripe === 0, 2000)).perStripe).toBe(0)
    link.stop()
  })

  it('resolves null when the connection closes during the probe', async () => {
    const r = createReceiver(createBroadcaster())
    const link = throttled(r, 1024, 50)
    const probing = r.probeUpload(link.stream)
    await sleep(30)
    link.stop()
    expect(await probing).toBe(null)
  })
})
