import type { Envelope } from '../wire/envelope.js'
import { isKnownMessageType, messageTypeName } from '../wire/message-type.js'

/** The counter key of every type number wspeer does not know. */
const UNKNOWN_TYPE = -1

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
  /** Best-effort envelopes (block announcements) not sent to followers whose link had too much unsent (best-effort.ts). */
  announcementsSkipped = 0

  countReceived(envelope: Envelope): void {
    // Unknown numbers share one counter: a sender choosing types must not grow our metrics.
    const type = isKnownMessageType(envelope.type) ? envelope.type : UNKNOWN_TYPE
    this.received.set(type, (this.received.get(type) ?? 0) + 1)
  }

  countSent(envelopes: readonly Envelope[]): void {
    this.framesSent++
    for (const envelope of envelopes) this.sent.set(envelope.type, (this.sent.get(envelope.type) ?? 0) + 1)
  }

  static byName(counts: ReadonlyMap<number, number>): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [type, count] of [...counts].sort((a, b) => a[0] - b[0])) out[type === UNKNOWN_TYPE ? 'UNKNOWN' : messageTypeName(type)] = count
    return out
  }
}
