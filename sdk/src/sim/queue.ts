/**
 * The simulator's event queue: a binary min-heap ordered by time, then by insertion order, so
 * that events due at the same instant run in the order they were scheduled (determinism).
 * @module
 */

/** One scheduled event. `core` marks events that call into a munro instance. */
export interface SimEvent {
  readonly at: number
  readonly seq: number
  readonly fn: () => void
  readonly core: boolean
  cancelled: boolean
}

const before = (a: SimEvent, b: SimEvent): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq)

/** A binary min-heap of {@link SimEvent}s. Cancelled events stay until they surface (lazy delete). */
export class EventQueue {
  private readonly items: SimEvent[] = []

  get size (): number { return this.items.length }

  peek (): SimEvent | undefined { return this.items[0] }

  push (e: SimEvent): void {
    const a = this.items
    a.push(e)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = a[parent] as SimEvent
      if (!before(e, p)) break
      a[i] = p
      i = parent
    }
    a[i] = e
  }

  pop (): SimEvent | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (top === undefined || last === undefined || a.length === 0) return top
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= a.length) break
      const r = l + 1
      const c = r < a.length && before(a[r] as SimEvent, a[l] as SimEvent) ? r : l
      if (!before(a[c] as SimEvent, last)) break
      a[i] = a[c] as SimEvent
      i = c
    }
    a[i] = last
    return top
  }
}
