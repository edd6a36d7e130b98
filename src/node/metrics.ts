/**
 * Prometheus text exposition (format 0.0.4) of a peer's MetricsSnapshot. A snapshot enters, one
 * text document leaves; `GET /metrics` serves it. Every sample carries the `peer` label so
 * several peers can be scraped into one Prometheus without relabelling.
 *
 *   renderPrometheus(peer.metrics(), { peer: peer.id })
 *   // # HELP wspeer_frames_received_total WebSocket frames received.
 *   // # TYPE wspeer_frames_received_total counter
 *   // wspeer_frames_received_total{peer="vp0"} 42
 */
import type { MetricsSnapshot } from '../core/peer/peer-types.js'

/** Content-Type of the exposition format this module renders. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

type Labels = Record<string, string>
type Sample = { labels: Labels; value: number }
type Family = { name: string; type: 'counter' | 'gauge'; help: string; samples: Sample[] }

/** Escapes a label value: backslash, double quote and line feed (exposition format 0.0.4). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** Escapes HELP text: backslash and line feed only. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
  return parts.length === 0 ? '' : `{${parts.join(',')}}`
}

export function renderPrometheus(snapshot: MetricsSnapshot, labels: { peer: string }): string {
  const base: Labels = { peer: labels.peer }
  const one = (value: number): Sample[] => [{ labels: base, value }]
  const byKey = (record: Record<string, number>, key: string): Sample[] =>
    Object.entries(record)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, value]) => ({ labels: { ...base, [key]: k }, value }))
  const perQueue = (pick: (q: MetricsSnapshot['queues'][number]) => number): Sample[] =>
    snapshot.queues.map((q) => ({ labels: { ...base, remote: q.peer }, value: pick(q) }))

  const families: Family[] = [
    { name: 'wspeer_messages_received_total', type: 'counter', help: 'Envelopes received, by message type.', samples: byKey(snapshot.messagesReceived, 'type') },
    { name: 'wspeer_messages_sent_total', type: 'counter', help: 'Envelopes sent, by message type.', samples: byKey(snapshot.messagesSent, 'type') },
    { name: 'wspeer_frames_received_total', type: 'counter', help: 'WebSocket frames received.', samples: one(snapshot.framesReceived) },
    { name: 'wspeer_frames_sent_total', type: 'counter', help: 'WebSocket frames sent.', samples: one(snapshot.framesSent) },
    { name: 'wspeer_queue_depth', type: 'gauge', help: 'Messages waiting in a connection\'s consensus queue.', samples: perQueue((q) => q.depth) },
    { name: 'wspeer_queue_bytes', type: 'gauge', help: 'Payload bytes waiting in a connection\'s consensus queue.', samples: perQueue((q) => q.bytes) },
    { name: 'wspeer_queue_rejects_total', type: 'counter', help: 'Messages refused because a connection\'s consensus queue was full (live links).', samples: perQueue((q) => q.rejects) },
    { name: 'wspeer_queue_rejects_all_total', type: 'counter', help: 'Queue-full rejects over the peer\'s life, closed links included.', samples: one(snapshot.queueRejectsTotal) },
    { name: 'wspeer_fan_processed_total', type: 'counter', help: 'Messages handed to the consenter.', samples: one(snapshot.fanProcessed) },
    { name: 'wspeer_consenter_errors_total', type: 'counter', help: 'Errors thrown by the consenter.', samples: one(snapshot.consenterErrors) },
    { name: 'wspeer_handler_errors_total', type: 'counter', help: 'Errors raised by message handlers.', samples: one(snapshot.handlerErrors) },
    { name: 'wspeer_decode_errors_total', type: 'counter', help: 'Frames that could not be decoded.', samples: one(snapshot.decodeErrors) },
    { name: 'wspeer_announcements_skipped_total', type: 'counter', help: 'Block announcements not sent to followers whose link had too many unsent bytes (they page the blocks instead).', samples: one(snapshot.announcementsSkipped) },
    { name: 'wspeer_blocks_committed_total', type: 'counter', help: 'Blocks in this peer\'s chain: loaded from its store at start, then committed.', samples: one(snapshot.blocksCommitted) },
    { name: 'wspeer_transactions_committed_total', type: 'counter', help: 'Transactions in this peer\'s chain: loaded from its store at start, then committed.', samples: one(snapshot.transactionsCommitted) },
    { name: 'wspeer_connections', type: 'gauge', help: 'Connected peers, inbound and outbound.', samples: one(snapshot.connections) },
    { name: 'wspeer_dials_in_flight', type: 'gauge', help: 'Outbound dials in progress.', samples: one(snapshot.dialsInFlight) },
    { name: 'wspeer_known_addresses', type: 'gauge', help: 'Addresses remembered for redialing.', samples: one(snapshot.knownAddresses) },
  ]

  const lines: string[] = []
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`)
    for (const sample of family.samples) lines.push(`${family.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`)
  }
  return `${lines.join('\n')}\n`
}
