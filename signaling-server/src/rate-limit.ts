/**
 * A token bucket: `burst` tokens, refilled at `ratePerSecond`. Refilled lazily on each `take`, so
 * it needs no timer and costs nothing for idle sockets.
 * @example
 * const bucket = new TokenBucket(20, 40)
 * if (!bucket.take()) reject()
 */
export class TokenBucket {
  private _tokens: number
  private _last: number

  constructor(
    private readonly _ratePerSecond: number,
    private readonly _burst: number,
    private readonly _now: () => number = Date.now
  ) {
    this._tokens = _burst
    this._last = _now()
  }

  /** Takes one token; false if the bucket is empty. */
  take(): boolean {
    const now = this._now()
    const elapsed = Math.max(0, now - this._last)
    this._last = now
    this._tokens = Math.min(this._burst, this._tokens + (elapsed * this._ratePerSecond) / 1000)
    if (this._tokens < 1) return false
    this._tokens -= 1
    return true
  }
}
