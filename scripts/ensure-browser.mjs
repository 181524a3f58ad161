#!/usr/bin/env node
// Finds a Chromium that Playwright can drive, installing one if none exists, and records
// which one so that `playwright.config.ts` (and anything else) can read it.
//
// Order: Playwright's own download (if `chromium.executablePath()` exists on disk), then the
// system's (/usr/bin/chromium, chromium-browser, google-chrome, …), then an install:
// `apt-get install -y chromium` when running as root on Debian/Ubuntu (Playwright's download
// is blocked on some machines, e.g. this project's), else `npx playwright install chromium`.
//
// Output: the chosen path is printed, written to `node_modules/.cache/munro/browser.json`
// (`{ "executablePath", "source", "version" }`) and, with `--print-path`, printed alone on
// stdout (all other messages go to stderr). Exit code 1 with a message when nothing works.
//
// Usage: node scripts/ensure-browser.mjs [--print-path] [--no-install]

import { spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
/** Where the chosen browser is recorded; `playwright.config.ts` reads the same path. */
const CACHE_FILE = join(ROOT, 'node_modules', '.cache', 'munro', 'browser.json')
/** Names of system Chromium builds, searched on PATH and in the usual directories. */
const SYSTEM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']
const SYSTEM_DIRS = ['/usr/bin', '/usr/local/bin', '/snap/bin', '/opt/google/chrome']

const args = new Set(process.argv.slice(2))
const log = (msg) => process.stderr.write(`[ensure-browser] ${msg}\n`)

function isExecutable (file) {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function playwrightPath () {
  try {
    const require = createRequire(join(ROOT, 'package.json'))
    const { chromium } = require('playwright-core')
    const p = chromium.executablePath()
    return p && existsSync(p) ? p : null
  } catch {
    return null
  }
}

function systemPath () {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SYSTEM_DIRS]
  for (const name of SYSTEM_NAMES) {
    for (const dir of dirs) {
      const file = join(dir, name)
      if (isExecutable(file)) return file
    }
  }
  return null
}

/** Returns the browser's version line, or null when it does not run at all. */
function versionOf (file) {
  const r = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 20_000 })
  if (r.status !== 0) return null
  return r.stdout.trim().split('\n').pop() ?? ''
}

function isDebianLike () {
  try {
    const os = readFileSync('/etc/os-release', 'utf8')
    return /^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(os)
  } catch {
    return false
  }
}

function install () {
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  if (root && isDebianLike()) {
    log('no Chromium found; installing Debian\'s: apt-get install -y chromium')
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    let r = spawnSync('apt-get', ['install', '-y', 'chromium'], { stdio: ['ignore', 2, 2], env })
    if (r.status !== 0) {
      log('apt-get install failed; running apt-get update and trying once more')
      spawnSync('apt-get', ['update'], { stdio: ['ignore', 2, 2], env })
      r = spawnSync('apt-get', ['install', '-y', 'chromium'], { stdio: ['ignore', 2, 2], env })
    }
    if (r.status === 0) return systemPath()
  }
  log('installing Playwright\'s Chromium: npx playwright install chromium')
  const r = spawnSync('npx', ['playwright', 'install', 'chromium'], { stdio: ['ignore', 2, 2], cwd: ROOT })
  if (r.status === 0) return playwrightPath()
  return null
}

function choose () {
  const fromEnv = process.env.MUNRO_CHROMIUM
  if (fromEnv) {
    if (isExecutable(fromEnv)) return { executablePath: fromEnv, source: 'MUNRO_CHROMIUM' }
    log(`MUNRO_CHROMIUM=${fromEnv} is not an executable file; searching instead`)
  }
  const pw = playwrightPath()
  if (pw) return { executablePath: pw, source: 'playwright' }
  const sys = systemPath()
  if (sys) return { executablePath: sys, source: 'system' }
  if (args.has('--no-install')) return null
  const installed = install()
  return installed ? { executablePath: installed, source: 'installed' } : null
}

const chosen = choose()
const version = chosen ? versionOf(chosen.executablePath) : null
if (!chosen || version === null) {
  log(chosen
    ? `found ${chosen.executablePath} but it does not run (\`--version\` failed)`
    : 'no Chromium found and none could be installed.')
  log('Install one (e.g. `apt-get install -y chromium` or `npx playwright install chromium`)')
  log('or point MUNRO_CHROMIUM at a Chromium/Chrome executable.')
  process.exit(1)
}
const record = { ...chosen, version }
mkdirSync(dirname(CACHE_FILE), { recursive: true })
writeFileSync(CACHE_FILE, JSON.stringify(record, null, 2) + '\n')
log(`using ${record.source} Chromium: ${record.executablePath} (${version})`)
if (args.has('--print-path')) process.stdout.write(record.executablePath + '\n')
