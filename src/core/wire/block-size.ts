/**
 * How many bytes blocks take on the wire, so that what a peer sends in one message always fits in
 * one frame: the proposers (noops leader, PBFT primary) cut blocks by the UTF-8 bytes of their
 * transactions' strings, and the peer fills sync answers up to a byte budget by an upper bound
 * of each block's encoded size. The chain of limits, each below the next with room to spare:
 *
 *   a transaction's payload (MAX_TX_PAYLOAD_BYTES, 256 KiB)
 *   < a block's transaction bytes (DEFAULT_MAX_BLOCK_BYTES, 512 KiB)
 *   < a sync answer (DEFAULT_MAX_SYNC_ANSWER_BYTES in peer/limits.ts, 768 KiB)
 *   < a frame (DEFAULT_MAX_FRAME_BYTES, 1 MiB)
 */
import type { Block, Transaction } from './payload-types.js'
import { utf8ByteLength } from './payloads.js'

/** UTF-8 bytes of a block's transaction strings (txid, payload, origin) at most, as proposers cut them. */
export const DEFAULT_MAX_BLOCK_BYTES = 512 * 1024

/**
 * msgpack bytes one transaction adds beyond its strings: a map header, four keys, three string
 * headers of up to 5 bytes and a 9-byte timestamp come to 55; rounded up.
 */
export const BLOCK_TX_OVERHEAD_BYTES = 64
/** msgpack bytes of a block beyond its transactions and proposer: keys, two hashes of up to 64 bytes, numbers, headers. */
export const BLOCK_FIXED_OVERHEAD_BYTES = 320

/** The UTF-8 bytes a transaction's strings add to a block (the measure blocks are cut by). */
export function transactionBytes(tx: Transaction): number {
  return utf8ByteLength(tx.txid) + utf8ByteLength(tx.payload) + utf8ByteLength(tx.origin)
}

/**
 * An upper bound of transactionBytes without counting: one UTF-16 unit is at most 3 UTF-8 bytes.
 * Ordinary batches stay far below their byte cap by this bound, so the primary's hot path and a
 * backup's check count nothing; only a batch near the cap is counted exactly.
 */
export function transactionBytesMost(tx: Transaction): number {
  return 3 * (tx.txid.length + tx.payload.length + tx.origin.length)
}

/** Whether the transactions' strings exceed `max` UTF-8 bytes (counted exactly only near it). */
export function transactionsExceed(txs: readonly Transaction[], max: number): boolean {
  let most = 0
  for (let i = 0; i < txs.length; i++) most += transactionBytesMost(txs[i]!)
  if (most <= max) return false
  let bytes = 0
  for (let i = 0; i < txs.length; i++) bytes += transactionBytes(txs[i]!)
  return bytes > max
}

/** An upper bound of a block's encoded size in bytes (the payloads' writer and msgpackr alike). */
export function blockWireBytesMost(block: Block): number {
  let bytes = BLOCK_FIXED_OVERHEAD_BYTES + utf8ByteLength(block.proposer)
  const txs = block.transactions
  for (let i = 0; i < txs.length; i++) bytes += transactionBytes(txs[i]!) + BLOCK_TX_OVERHEAD_BYTES
  return bytes
}
