/**
 * A set of block indices kept as sorted, disjoint half-open ranges. A live stream's HAVEs are
 * nearly always one contiguous range, so this stays a handful of entries.
 * @module
 */
export class RangeSet {
  /** Sorted, disjoint, non-adjacent [start, end) pairs. */
  private ranges: Array<[number, number]> = []

  get size (): number { return this.ranges.length }

  /** Highest index held plus one, or 0 when empty. */
  get end (): number { return this.ranges.length === 0 ? 0 : (this.ranges[this.ranges.length - 1] as [number, number])[1] }

  add (start: number, end: number): void {
    if (end <= start) return
    const out: Array<[number, number]> = []
    let placed = false
    for (const r of this.ranges) {
      if (r[1] < start) { out.push(r); continue }
      if (r[0] > end) {
        if (!placed) { out.push([start, end]); placed = true }
        out.push(r)
        continue
      }
      start = Math.min(start, r[0])
      end = Math.max(end, r[1])
    }
    if (!placed) out.push([start, end])
    this.ranges = out.sort((a, b) => a[0] - b[0])
  }

  delete (index: number): void {
    const out: Array<[number, number]> = []
    for (const r of this.ranges) {
      if (index < r[0] || index >= r[1]) { out.push(r); continue }
      if (r[0] < index) out.push([r[0], index])
      if (index + 1 < r[1]) out.push([index + 1, r[1]])
    }
    this.ranges = out
  }

  /** The ranges as [start, end) pairs, newest first. */
  descending (): Array<readonly [number, number]> { return this.ranges.slice().reverse() }

  has (index: number): boolean {
    for (const r of this.ranges) if (index >= r[0] && index < r[1]) return true
    return false
  }

  /** Whether every index in [start, end) is held. */
  covers (start: number, end: number): boolean {
    for (const r of this.ranges) if (start >= r[0] && end <= r[1]) return true
    return false
  }

  /** Forgets every index below `start`. */
  trimBelow (start: number): void {
    this.ranges = this.ranges.filter(r => r[1] > start).map(r => [Math.max(r[0], start), r[1]])
  }
}
