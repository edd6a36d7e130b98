/**
 * The bytes of a list of transactions, as the body hash covers them (PROTOCOL.md section 12) and
 * as the block store keeps them: for each transaction, in order,
 *   u32be(len) txid UTF-8 | u32be(len) payload UTF-8 | u32be(len) origin UTF-8 | u64be(timestamp)
 *
 * Why one layout for both. A validator encodes a batch's transactions for its digest when the
 * pre-prepare arrives and again, into the block store, when it commits; at batch 100 the second
 * encoding was about 6% of a backup's CPU. A sealed list (block-hash.ts) keeps the bytes of its
 * digest until the store takes them, and the store copies them instead of encoding again.
 *
 * The caller checks the transactions first (`transactionProblem`): timestamps must be integers in
 * 0..2^53-1 and strings well-formed.
 *
 *   const bytes = encodeTransactionRecords(txs)         // a fresh array of exactly the records
 *   const end = writeTransactionRecords(txs, chunk, view, start)  // into room of recordsMostBytes(txs)
 */
import type { Transaction } from '../wire/payload-types.js'
import { utf8Read, utf8Write } from '../util/utf8.js'

/** Three length prefixes and a timestamp. */
const RECORD_FIXED_BYTES = 3 * 4 + 8
/** UTF-8 needs at most 3 bytes per UTF-16 code unit. */
const UTF8_BYTES_PER_UNIT = 3
const TWO_32 = 2 ** 32

/** An upper bound of the records' size in bytes. */
export function recordsMostBytes(txs: readonly Transaction[]): number {
  let bytes = 0
  for (let i = 0; i < txs.length; i++) {
    const tx = txs[i]!
    bytes += RECORD_FIXED_BYTES + (tx.txid.length + tx.payload.length + tx.origin.length) * UTF8_BYTES_PER_UNIT
  }
  return bytes
}

/** Writes the records at `offset`, which must have room for recordsMostBytes(txs); returns the end offset. */
export function writeTransactionRecords(txs: readonly Transaction[], target: Uint8Array, view: DataView, offset: number): number {
  let pos = offset
  for (let i = 0; i < txs.length; i++) {
    const tx = txs[i]!
    pos = writeString(target, view, pos, tx.txid)
    pos = writeString(target, view, pos, tx.payload)
    pos = writeString(target, view, pos, tx.origin)
    view.setUint32(pos, Math.floor(tx.timestamp / TWO_32))
    view.setUint32(pos + 4, tx.timestamp % TWO_32)
    pos += 8
  }
  return pos
}

function writeString(target: Uint8Array, view: DataView, pos: number, text: string): number {
  const written = utf8Write(target, text, pos + 4)
  view.setUint32(pos, written)
  return pos + 4 + written
}

/** Reused for every encodeTransactionRecords call; grown when a list needs more. */
let scratch = new Uint8Array(64 * 1024)
let scratchView = new DataView(scratch.buffer)

/** The records as a fresh array of exactly their size. */
export function encodeTransactionRecords(txs: readonly Transaction[]): Uint8Array {
  const most = recordsMostBytes(txs)
  if (most > scratch.length) {
    scratch = new Uint8Array(Math.max(most, 2 * scratch.length))
    scratchView = new DataView(scratch.buffer)
  }
  return scratch.slice(0, writeTransactionRecords(txs, scratch, scratchView, 0))
}

/** Reads the record at `offset` (the block store's decode, off the hot path): the transaction and the offset after it. */
export function readTransactionRecord(bytes: Uint8Array, view: DataView, offset: number): { tx: Transaction; end: number } {
  let pos = offset
  const txidEnd = pos + 4 + view.getUint32(pos)
  const txid = utf8Read(bytes, pos + 4, txidEnd)
  pos = txidEnd
  const payloadEnd = pos + 4 + view.getUint32(pos)
  const payload = utf8Read(bytes, pos + 4, payloadEnd)
  pos = payloadEnd
  const originEnd = pos + 4 + view.getUint32(pos)
  const origin = utf8Read(bytes, pos + 4, originEnd)
  pos = originEnd
  const timestamp = view.getUint32(pos) * TWO_32 + view.getUint32(pos + 4)
  return { tx: { txid, payload, timestamp, origin }, end: pos + 8 }
}
