/**
 * Hand-written encoders for the payloads every transaction pays for on the wire: a
 * CHAIN_TRANSACTION per request, and its share of a SYNC_BLOCK_ADDED (a block announced to
 * non-validators by f+1 validators). They give the bytes msgpackr gives for payloads.ts's
 * projections of the same values (a randomized test compares them), written by MsgpackWriter
 * into views of its buffer (`finishShared`), as msgpackr's pack returns views of its own.
 *
 * Why: msgpackr's generic pack looks up every object's keys and dispatches on every value's type;
 * it took about a tenth of a load client's CPU (one transaction at a time) and about 6% of each
 * announcing validator's at batch 100 (a hundred transaction maps per block).
 *
 * Values the fast path does not write (a timestamp or block number that is not a non-negative
 * safe integer, a field of another type) give undefined, and the caller packs with msgpackr as
 * before. A lone surrogate is written as U+FFFD, as the ledger's hashes write it.
 *
 *   const bytes = writeTransactionPayload(tx) ?? packr.pack(txWire(tx))
 */
import type { Block, Transaction } from './payload-types.js'
import { MsgpackWriter } from './msgpack-writer.js'

const writer = new MsgpackWriter()

function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function writable(tx: Transaction): boolean {
  return (
    typeof tx === 'object' &&
    tx !== null &&
    typeof tx.txid === 'string' &&
    typeof tx.payload === 'string' &&
    typeof tx.origin === 'string' &&
    isUint(tx.timestamp)
  )
}

/** Field order and names as payloads.ts's txWire. */
function writeTx(tx: Transaction): void {
  writer.map(4)
  writer.str('txid')
  writer.str(tx.txid)
  writer.str('payload')
  writer.str(tx.payload)
  writer.str('timestamp')
  writer.uint(tx.timestamp)
  writer.str('origin')
  writer.str(tx.origin)
}

/** A CHAIN_TRANSACTION payload, or undefined when the fast path does not write these values. */
export function writeTransactionPayload(tx: Transaction): Uint8Array | undefined {
  if (!writable(tx)) return undefined
  writeTx(tx)
  return writer.finishShared()
}

/** A SYNC_BLOCK_ADDED payload ({ block }), or undefined when the fast path does not write these values. */
export function writeBlockAddedPayload(block: Block): Uint8Array | undefined {
  if (
    typeof block !== 'object' ||
    block === null ||
    !isUint(block.number) ||
    !isUint(block.timestamp) ||
    typeof block.proposer !== 'string' ||
    !(block.previousBlockHash instanceof Uint8Array) ||
    !(block.stateHash instanceof Uint8Array) ||
    !Array.isArray(block.transactions)
  ) {
    return undefined
  }
  const txs = block.transactions
  for (let i = 0; i < txs.length; i++) if (!writable(txs[i]!)) return undefined
  // Field order and names as payloads.ts's blockWire, inside { block }.
  writer.map(1)
  writer.str('block')
  writer.map(6)
  writer.str('number')
  writer.uint(block.number)
  writer.str('previousBlockHash')
  writer.bin(block.previousBlockHash)
  writer.str('stateHash')
  writer.bin(block.stateHash)
  writer.str('timestamp')
  writer.uint(block.timestamp)
  writer.str('proposer')
  writer.str(block.proposer)
  writer.str('transactions')
  writer.array(txs.length)
  for (let i = 0; i < txs.length; i++) writeTx(txs[i]!)
  return writer.finishShared()
}
