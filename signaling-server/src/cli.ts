/**
 * `munro-signaling` command line: parses flags into {@link SignalingServerOptions}, starts the
 * server and shuts it down gracefully on SIGTERM/SIGINT. The `bin/` script only calls {@link main}.
 */
import { parseArgs } from 'node:util'
import { SignalingServerError } from './errors.js'
import { DEFAULT_SIGNALING_OPTIONS, type SignalingServerOptions } from './options.js'
import { createSignalingServer } from './server.js'

/** Numeric options, each exposed as a kebab-case flag (`maxPeersPerRoom` → `--max-peers-per-room`). */
const NUMERIC_OPTIONS = [
  'port',
  'maxMessageBytes',
  'messagesPerSecond',
  'messageBurst',
  'maxRoomsPerSocket',
  'maxPeersPerRoom',
  'peersInJoined',
  'maxSockets',
  'maxErrorsPerSocket',
  'heartbeatIntervalMs',
  'maxBufferedBytes'
] as const satisfies readonly (keyof SignalingServerOptions)[]

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())

/** Usage text printed by `--help`. */
export function usage(): string {
  const lines = [
    'Usage: munro-signaling [options]',
    '',
    'Rendezvous server for munro: WebSocket rooms keyed by discovery key, /health, /metrics.',
    '',
    `  --host <addr>                 interface to bind (default ${DEFAULT_SIGNALING_OPTIONS.host})`
  ]
  for (const name of NUMERIC_OPTIONS) {
    lines.push(`  --${kebab(name)} <n>`.padEnd(32) + `(default ${String(DEFAULT_SIGNALING_OPTIONS[name])})`)
  }
  lines.push(
    '  --allowed-origin <origin>     allow WebSocket upgrades only from this Origin (repeatable)',
    '  --quiet                       no logs',
    '  --help                        this text'
  )
  return lines.join('\n')
}

/**
 * Parses CLI flags into server options (only the flags given).
 * @throws {SignalingServerError} `ERR_INVALID_OPTION` for an unknown flag or a non-numeric value.
 * @example
 * parseCliArgs(['--port', '0', '--quiet']) // { port: 0, log: null }
 */
export function parseCliArgs(argv: readonly string[]): Partial<SignalingServerOptions> & { help?: boolean } {
  const spec: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {
    host: { type: 'string' },
    'allowed-origin': { type: 'string', multiple: true },
    quiet: { type: 'boolean' },
    help: { type: 'boolean' }
  }
  for (const name of NUMERIC_OPTIONS) spec[kebab(name)] = { type: 'string' }
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>
  try {
    values = parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw new SignalingServerError('ERR_INVALID_OPTION', (err as Error).message, { cause: err })
  }
  const out: Partial<SignalingServerOptions> & { help?: boolean } = {}
  if (values.help === true) out.help = true
  if (typeof values.host === 'string') out.host = values.host
  if (values.quiet === true) out.log = null
  const origins = values['allowed-origin']
  if (Array.isArray(origins)) out.allowedOrigins = origins.map(String)
  for (const name of NUMERIC_OPTIONS) {
    const raw = values[kebab(name)]
    if (typeof raw !== 'string') continue
    const n = Number(raw)
    if (raw.trim() === '' || !Number.isFinite(n)) {
      throw new SignalingServerError('ERR_INVALID_OPTION', `--${kebab(name)} must be a number, got "${raw}"`)
    }
    out[name] = n
  }
  return out
}

/**
 * Runs the CLI: starts the server, prints nothing but logs, exits 0 after a graceful shutdown.
 * Returns the process exit code for argument errors instead of throwing.
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let options: ReturnType<typeof parseCliArgs>
  try {
    options = parseCliArgs(argv)
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage()}\n`)
    return 2
  }
  if (options.help) {
    process.stdout.write(usage() + '\n')
    return 0
  }
  delete options.help
  let server
  try {
    server = await createSignalingServer(options)
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    return 1
  }
  const running = server
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop)
      process.off('SIGINT', stop)
      resolve()
    }
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
  })
  await running.close()
  return 0
}
