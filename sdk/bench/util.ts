/** Small helpers shared by the benchmark sections. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results')

/** The p-th percentile (0–100) of `values`, by nearest rank. */
export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] as number
}

/** Runs `fn` repeatedly for about `ms` milliseconds; returns operations per second. */
export function rate (fn: () => void, ms = 400): number {
  let n = 0
  const t0 = performance.now()
  let t = t0
  while (t - t0 < ms) {
    for (let i = 0; i < 16; i++) fn()
    n += 16
    t = performance.now()
  }
  return n / ((t - t0) / 1000)
}

/** Like {@link rate} for an async operation. */
export async function rateAsync (fn: () => Promise<unknown>, ms = 400): Promise<number> {
  let n = 0
  const t0 = performance.now()
  let t = t0
  while (t - t0 < ms) {
    await fn()
    n++
    t = performance.now()
  }
  return n / ((t - t0) / 1000)
}

/** Prints rows as an aligned text table. */
export function printTable (title: string, rows: ReadonlyArray<Record<string, string | number>>): void {
  console.log(`\n## ${title}`)
  if (rows.length === 0) return
  const cols = Object.keys(rows[0] as object)
  const cell = (v: string | number | undefined): string => typeof v === 'number' ? fmt(v) : String(v ?? '')
  const widths = cols.map(c => Math.max(c.length, ...rows.map(r => cell(r[c]).length)))
  const line = (vals: string[]): string => '| ' + vals.map((v, i) => v.padEnd(widths[i] as number)).join(' | ') + ' |'
  console.log(line(cols))
  console.log('|' + widths.map(w => '-'.repeat(w + 2)).join('|') + '|')
  for (const r of rows) console.log(line(cols.map(c => cell(r[c]))))
}

/** Numbers with a sensible number of digits. */
export function fmt (v: number): string {
  if (!Number.isFinite(v)) return String(v)
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US')
  if (Math.abs(v) >= 10) return v.toFixed(1)
  return v.toFixed(2)
}

/** Writes a JSON result file under bench/results/. */
export function writeResult (name: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const file = join(RESULTS_DIR, `${name}.json`)
  writeFileSync(file, JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, ...data as object }, null, 2) + '\n')
  mkdirSync(dirname(file), { recursive: true })
  return file
}
