/**
 * Small helpers shared by the browser API: argument guards that name the argument, and an
 * emitter wrapper that keeps a throwing handler from breaking the caller.
 * @module
 */
import type { Emitter, EventType } from 'mitt'

/** @throws {TypeError} unless `v` is a non-empty string. */
export function assertNonEmptyString (name: string, v: unknown): asserts v is string {
  if (typeof v !== 'string' || v.length === 0) throw new TypeError(`${name} must be a non-empty string, got ${String(v)}`)
}

/** @throws {TypeError|RangeError} unless `v` is undefined or an integer ≥ `min`. */
export function assertOptionalInt (name: string, v: unknown, min: number): void {
  if (v === undefined) return
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer, got ${String(v)}`)
  if (v < min) throw new RangeError(`${name} must be ≥ ${min}, got ${v}`)
}

/** @throws {TypeError|RangeError} unless `v` is undefined or a finite number ≥ `min`. */
export function assertOptionalNumber (name: string, v: unknown, min: number): void {
  if (v === undefined) return
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${name} must be a finite number, got ${String(v)}`)
  if (v < min) throw new RangeError(`${name} must be ≥ ${min}, got ${v}`)
}

/** `o` without its undefined fields, so that spreading it over defaults keeps the defaults. */
export function stripUndefined<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

export function toError (err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

/**
 * Calls every handler of `type`; a handler that throws is reported asynchronously (so it shows
 * up as an uncaught error in the page) and the others still run.
 */
export function emitSafely<E extends Record<EventType, unknown>, K extends keyof E> (emitter: Emitter<E>, type: K, event: E[K]): void {
  const handlers = emitter.all.get(type) as Array<(e: E[K]) => void> | undefined
  for (const h of handlers?.slice() ?? []) {
    try { h(event) } catch (err) { setTimeout(() => { throw err }) }
  }
}
