/**
 * The upload meter: capacity is measured only from saturated intervals, and bounds how many
 * stripe subscriptions a peer pushes.
 */
import { describe, expect, it } from 'vitest'
import { UploadMeter } from '../src/upload.js'

describe('upload meter', () => {
  it('knows no capacity (allows the maximum) until the uplink was saturated for a whole interval', () => {
    const m = new UploadMeter()
    for (let t = 0; t <= 3000; t += 300) m.block(t, 90_000) // 300 B/ms stream
    m.sample(0, 0, false)
    m.sample(500, 100_000, true)
    expect(m.capacity).toBe(null)
    expect(m.allowedCopies(6)).toBe(6)
  })

  it('measures the drain rate of a saturated uplink and allows HEADROOM of it in copies of the stream', () => {
    const m = new UploadMeter()
    for (let t = 0; t <= 3000; t += 300) m.block(t, 90_000)
    expect(m.streamRate).toBeCloseTo(300)
    m.sample(0, 0, true)
    m.sample(500, 300_000, true) // 600 B/ms: twice the stream
    expect(m.capacity).toBeCloseTo(600)
    expect(m.allowedCopies(6)).toBeCloseTo(0.85 * 2)
    expect(m.allowedCopies(1)).toBe(1)
  })

  it('a peer below the bit rate can push less than one copy; a faster unsaturated interval raises the estimate', () => {
    const m = new UploadMeter()
    for (let t = 0; t <= 3000; t += 300) m.block(t, 90_000)
    m.sample(0, 0, true)
    m.sample(500, 50_000, true) // 100 B/ms
    expect(m.allowedCopies(6)).toBeLessThan(0.3)
    m.sample(1000, 250_000, false) // 400 B/ms, not saturated: a lower bound
    expect(m.capacity).toBeCloseTo(400)
  })
})
