/**
 * What a peer puts in its answers to SYNC_GET_BLOCKS and SYNC_STATE_GET_DELTAS: a prefix of what
 * was asked, cut by count and by an upper bound of the encoded bytes, so the answer always fits in
 * one frame whatever the blocks hold (a count alone did not: 50 blocks of 100 transactions of 250
 * bytes are over 1 MiB, and the asker retried the same request forever). At least one item goes
 * out whenever one exists, since every block fits a budget by construction (wire/block-size.ts).
 * The asker pages on from the first item it did not get (PROTOCOL.md 10).
 *
 * A snapshot cannot be cut without changing what it means (the state hash covers all of it):
 * one over the budget is refused with SnapshotTooLargeError and the asker syncs by blocks.
 */
import { SnapshotTooLargeError } from '../errors.js'
import type { Ledger } from '../ledger/ledger.js'
import { blockWireBytesMost } from '../wire/block-size.js'
import type { Block, StateDelta } from '../wire/payload-types.js'
import { utf8ByteLength } from '../wire/payloads.js'

/** msgpack bytes of one [key, value] pair beyond its strings (an array header and two string headers). */
const ENTRY_OVERHEAD_BYTES = 11
/** msgpack bytes of one delta beyond its entries (a map, two keys, a number, an array header). */
const DELTA_OVERHEAD_BYTES = 32

export interface AnswerBudget {
  /** Items at most (maxBlocksPerSync). */
  maxItems: number
  /** Upper bound of the encoded items' bytes (maxSyncAnswerBytes). */
  maxBytes: number
}

/** Blocks start..end that exist, in order, within the budget (at least the first when it exists). */
export function blocksAnswer(ledger: Ledger, start: number, end: number, budget: AnswerBudget): Block[] {
  const out: Block[] = []
  let bytes = 0
  const last = Math.min(end, ledger.height() - 1, start + budget.maxItems - 1)
  for (let n = Math.max(0, start); n <= last; n++) {
    const block = ledger.getBlock(n)
    if (block === undefined) break
    bytes += blockWireBytesMost(block)
    if (out.length > 0 && bytes > budget.maxBytes) break
    out.push(block)
  }
  return out
}

/** Write sets of blocks start..end that exist, in order, within the budget (at least the first). */
export function deltasAnswer(ledger: Ledger, start: number, end: number, budget: AnswerBudget): StateDelta[] {
  const out: StateDelta[] = []
  let bytes = 0
  const last = Math.min(end, start + budget.maxItems - 1)
  for (let n = Math.max(0, start); n <= last; n++) {
    const delta = ledger.getDelta(n)
    if (delta === undefined) break
    bytes += DELTA_OVERHEAD_BYTES + entriesBytes(delta.writes)
    if (out.length > 0 && bytes > budget.maxBytes) break
    out.push(delta)
  }
  return out
}

/**
 * The whole state, or SnapshotTooLargeError when it would not fit the budget, or may not: a ledger
 * whose state keys live in a durable index does not build a state it cannot bound first.
 */
export function snapshotAnswer(ledger: Ledger, budget: AnswerBudget): [string, string][] {
  const entries = ledger.snapshot(budget.maxBytes)
  if (entries === undefined) throw new SnapshotTooLargeError(undefined, budget.maxBytes)
  const bytes = entriesBytes(entries)
  if (bytes > budget.maxBytes) throw new SnapshotTooLargeError(bytes, budget.maxBytes)
  return entries
}

function entriesBytes(entries: readonly (readonly [string, string])[]): number {
  let bytes = 0
  for (const [key, value] of entries) bytes += ENTRY_OVERHEAD_BYTES + utf8ByteLength(key) + utf8ByteLength(value)
  return bytes
}
