/**
 * The upload meter: capacity is measured only from saturated intervals, and bounds how many
 * stripe subscriptions a peer pushes.
 */
import { describe, expect, it } from 'vitest'
import { UploadMeter } from '../src/upload.js'

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

  it('reports copies of the stream the measured upload carries, null while unmeasured', () => {
    const m = new UploadMeter()
    for (let i = 0; i <= 10; i++) m.block(i, 90_000, 300 * i, 300 * i)
    expect(m.copies).toBe(null)
    m.sample(0, 0, true)
    m.sample(500, 150_000, true) // 300 B/ms: one copy
    expect(m.copies).toBeCloseTo(1)
  })
})
