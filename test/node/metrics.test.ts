import { describe, expect, it } from 'vitest'
import type { MetricsSnapshot } from '../../src/core/peer/peer-types.js'
import { escapeLabelValue, renderPrometheus } from '../../src/node/metrics.js'
import { fakeMetrics } from './fake-peer.js'

/** Parses exposition text into samples and per-family HELP/TYPE, failing on any malformed line. */
function parseExposition(text: string) {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = []
  const help = new Map<string, string>()
  const type = new Map<string, string>()
  expect(text.endsWith('\n')).toBe(true)
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# HELP (\w+) (.*)$/.exec(line)
    if (m) {
      help.set(m[1]!, m[2]!)
      continue
    }
    m = /^# TYPE (\w+) (counter|gauge)$/.exec(line)
    if (m) {
      type.set(m[1]!, m[2]!)
      continue
    }
    m = /^(\w+)\{((?:\w+="(?:[^"\\\n]|\\[\\"n])*",?)*)\} (\S+)$/.exec(line)
    if (!m) throw new Error(`malformed line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of m[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    }
    expect(type.has(m[1]!), `${m[1]} has a TYPE line before its samples`).toBe(true)
    samples.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return { samples, help, type }
}

const EXPECTED_FAMILIES = [
  'wspeer_messages_received_total',
  'wspeer_messages_sent_total',
  'wspeer_frames_received_total',
  'wspeer_frames_sent_total',
  'wspeer_queue_depth',
  'wspeer_queue_bytes',
  'wspeer_queue_rejects_total',
  'wspeer_queue_rejects_all_total',
  'wspeer_fan_processed_total',
  'wspeer_consenter_errors_total',
  'wspeer_handler_errors_total',
  'wspeer_decode_errors_total',
  'wspeer_announcements_skipped_total',
  'wspeer_blocks_committed_total',
  'wspeer_transactions_committed_total',
  'wspeer_connections',
  'wspeer_dials_in_flight',
  'wspeer_known_addresses',
]

describe('renderPrometheus', () => {
  it('renders every family with HELP and TYPE, and every figure of the snapshot', () => {
    const snapshot = fakeMetrics()
    const { samples, help, type } = parseExposition(renderPrometheus(snapshot, { peer: 'vp0' }))
    for (const name of EXPECTED_FAMILIES) {
      expect(help.has(name), name).toBe(true)
      expect(type.get(name), name).toBe(name.endsWith('_total') ? 'counter' : 'gauge')
    }
    expect([...type.keys()].sort()).toEqual([...EXPECTED_FAMILIES].sort())
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries({ peer: 'vp0', ...labels }).every(([k, v]) => s.labels[k] === v))?.value
    expect(value('wspeer_messages_received_total', { type: 'CONSENSUS' })).toBe(snapshot.messagesReceived['CONSENSUS'])
    expect(value('wspeer_messages_received_total', { type: 'DISC_HELLO' })).toBe(snapshot.messagesReceived['DISC_HELLO'])
    expect(value('wspeer_messages_sent_total', { type: 'CONSENSUS' })).toBe(snapshot.messagesSent['CONSENSUS'])
    expect(value('wspeer_frames_received_total')).toBe(snapshot.framesReceived)
    expect(value('wspeer_frames_sent_total')).toBe(snapshot.framesSent)
    expect(value('wspeer_queue_depth', { remote: 'vp1' })).toBe(snapshot.queues[0]!.depth)
    expect(value('wspeer_queue_bytes', { remote: 'vp1' })).toBe(snapshot.queues[0]!.bytes)
    expect(value('wspeer_queue_rejects_total', { remote: 'vp1' })).toBe(snapshot.queues[0]!.rejects)
    expect(value('wspeer_queue_rejects_all_total')).toBe(snapshot.queueRejectsTotal)
    expect(value('wspeer_fan_processed_total')).toBe(snapshot.fanProcessed)
    expect(value('wspeer_announcements_skipped_total')).toBe(snapshot.announcementsSkipped)
    expect(value('wspeer_blocks_committed_total')).toBe(snapshot.blocksCommitted)
    expect(value('wspeer_transactions_committed_total')).toBe(snapshot.transactionsCommitted)
    expect(value('wspeer_connections')).toBe(snapshot.connections)
    expect(value('wspeer_known_addresses')).toBe(snapshot.knownAddresses)
    expect(samples.every((s) => s.labels['peer'] === 'vp0')).toBe(true)
  })

  it('escapes backslash, double quote and newline in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd')
    const snapshot: MetricsSnapshot = { ...fakeMetrics(), queues: [{ peer: 'evil"} 1\nx', depth: 9, bytes: 0, rejects: 0 }] }
    const text = renderPrometheus(snapshot, { peer: 'p\\"q' })
    const { samples } = parseExposition(text)
    const depth = samples.find((s) => s.name === 'wspeer_queue_depth')!
    expect(depth.labels).toEqual({ peer: 'p\\"q', remote: 'evil"} 1\nx' })
    expect(depth.value).toBe(9)
  })

  it('keeps families with no samples well-formed', () => {
    const snapshot: MetricsSnapshot = { ...fakeMetrics(), queues: [], messagesReceived: {}, messagesSent: {} }
    const { samples, type } = parseExposition(renderPrometheus(snapshot, { peer: 'vp0' }))
    expect(type.has('wspeer_queue_depth')).toBe(true)
    expect(samples.some((s) => s.name === 'wspeer_queue_depth')).toBe(false)
  })
})
