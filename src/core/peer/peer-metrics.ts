import type { Envelope } from '../wire/envelope.js'
import { messageTypeName } from '../wire/message-type.js'

/**
 * Counters a peer keeps for /status, /metrics and the dashboard. Plain numbers, updated on the
 * hot path without allocation (type names are looked up once per type).
 */
export class PeerMetrics {
  readonly received = new Map<number, number>()
  readonly sent = new Map<number, number>()
  framesReceived = 0
  framesSent = 0
  queueRejectsTotal = 0
  handlerErrors = 0
  decodeErrors = 0
  blocksCommitted = 0
  transactionsCommitted = 0
  peersListEntriesDropped = 0

  countReceived(envelope: Envelope): void {
    this.received.set(envelope.type, (this.received.get(envelope.type) ?? 0) + 1)
  }

  countSent(envelopes: readonly Envelope[]): void {
    this.framesSent++
    for (const envelope of envelopes) this.sent.set(envelope.type, (this.sent.get(envelope.type) ?? 0) + 1)
  }

  static byName(counts: ReadonlyMap<number, number>): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [type, count] of [...counts].sort((a, b) => a[0] - b[0])) out[messageTypeName(type)] = count
    return out
  }
}
