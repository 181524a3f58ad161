/** Counters the server keeps, exposed by `stats()`, `GET /health` and `GET /metrics`. */
export interface SignalingStats {
  /** Open WebSocket connections. */
  sockets: number
  /** Rooms with at least one member. */
  rooms: number
  /** WebSocket connections accepted since start. */
  connections: number
  /** `signal` frames relayed to their target. */
  messagesRelayed: number
  /** Rejected frames and upgrades, by reason (an `ERR_*` code). */
  rejects: Record<string, number>
  /** Milliseconds since the server started listening. */
  uptimeMs: number
}

const PREFIX = 'munro_signaling'

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/**
 * Renders stats in the Prometheus text exposition format (version 0.0.4).
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/
 * @example
 * res.end(renderPrometheus(server.stats()))
 */
export function renderPrometheus(stats: SignalingStats): string {
  const lines: string[] = [
    `# HELP ${PREFIX}_sockets Open WebSocket connections.`,
    `# TYPE ${PREFIX}_sockets gauge`,
    `${PREFIX}_sockets ${stats.sockets}`,
    `# HELP ${PREFIX}_rooms Rooms with at least one member.`,
    `# TYPE ${PREFIX}_rooms gauge`,
    `${PREFIX}_rooms ${stats.rooms}`,
    `# HELP ${PREFIX}_connections_total WebSocket connections accepted.`,
    `# TYPE ${PREFIX}_connections_total counter`,
    `${PREFIX}_connections_total ${stats.connections}`,
    `# HELP ${PREFIX}_messages_relayed_total Signal frames relayed to their target.`,
    `# TYPE ${PREFIX}_messages_relayed_total counter`,
    `${PREFIX}_messages_relayed_total ${stats.messagesRelayed}`,
    `# HELP ${PREFIX}_rejects_total Rejected frames and upgrades by reason.`,
    `# TYPE ${PREFIX}_rejects_total counter`
  ]
  for (const reason of Object.keys(stats.rejects).sort()) {
    lines.push(`${PREFIX}_rejects_total{reason="${escapeLabel(reason)}"} ${stats.rejects[reason] ?? 0}`)
  }
  lines.push(
    `# HELP ${PREFIX}_uptime_seconds Seconds since the server started.`,
    `# TYPE ${PREFIX}_uptime_seconds gauge`,
    `${PREFIX}_uptime_seconds ${(stats.uptimeMs / 1000).toFixed(3)}`
  )
  return lines.join('\n') + '\n'
}
