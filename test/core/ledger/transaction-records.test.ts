import { describe, expect, it } from 'vitest'
import { encodeTransactionRecords, readTransactionRecord, recordsMostBytes } from '../../../src/core/ledger/transaction-records.js'
import type { Transaction } from '../../../src/core/wire/payload-types.js'
import { txBytes } from '../../support/block-hash-reference.js'

const STRINGS = ['', 'a', 'héllo wörld', '日本語', 'emoji 🎉', '\uFEFFbom', 'x'.repeat(40), 'k=v']
const TIMESTAMPS = [0, 1, 2 ** 32 - 1, 2 ** 32, 1_764_000_000_000, Number.MAX_SAFE_INTEGER]

function txs(count: number, payload = (i: number) => STRINGS[(i * 3) % STRINGS.length]!): Transaction[] {
  return Array.from({ length: count }, (_, i) => ({
    txid: `tx-${i}-${STRINGS[i % STRINGS.length]}`,
    payload: payload(i),
    timestamp: TIMESTAMPS[i % TIMESTAMPS.length]!,
    origin: STRINGS[(i + 5) % STRINGS.length]!,
  }))
}

function readAll(bytes: Uint8Array): Transaction[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out: Transaction[] = []
  for (let pos = 0; pos < bytes.length; ) {
    const { tx, end } = readTransactionRecord(bytes, view, pos)
    out.push(tx)
    pos = end
  }
  return out
}

describe('transaction records', () => {
  it('are the bytes PROTOCOL.md gives a body for its transactions, and read back to the same transactions', () => {
    const list = txs(40)
    const bytes = encodeTransactionRecords(list)
    expect(Buffer.from(bytes).equals(txBytes(list))).toBe(true)
    expect(bytes.length).toBeLessThanOrEqual(recordsMostBytes(list))
    expect(readAll(bytes)).toEqual(list)
  })

  it('hand out a fresh array each time, of exactly the records, also past the reused scratch size', () => {
    const big = txs(3, () => 'é'.repeat(50_000)) // 300 KB of UTF-8: more than the 64 KiB scratch
    const bigBytes = encodeTransactionRecords(big)
    expect(Buffer.from(bigBytes).equals(txBytes(big))).toBe(true)
    const small = txs(2)
    const first = encodeTransactionRecords(small)
    const second = encodeTransactionRecords(small)
    expect(first).not.toBe(second)
    first.fill(0)
    expect(Buffer.from(second).equals(txBytes(small))).toBe(true)
    expect(Buffer.from(bigBytes).equals(txBytes(big))).toBe(true)
    expect(encodeTransactionRecords([])).toHaveLength(0)
  })
})
