import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { MessageType } from '../../../src/core/wire/message-type.js'
import type { Block, Transaction } from '../../../src/core/wire/payload-types.js'
import { writeBlockAddedPayload, writeTransactionPayload } from '../../../src/core/wire/payload-writer.js'
import { decodePayload, encodePayload } from '../../../src/core/wire/payloads.js'
import { createPrng, testSeed } from './wire-fixtures.js'

/** msgpackr as payloads.ts configures it, over the same projections: what the writer must match. */
const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, variableMapSize: true })
const txWire = (t: Transaction) => ({ txid: t.txid, payload: t.payload, timestamp: t.timestamp, origin: t.origin })
const blockWire = (b: Block) => ({
  number: b.number,
  previousBlockHash: b.previousBlockHash,
  stateHash: b.stateHash,
  timestamp: b.timestamp,
  proposer: b.proposer,
  transactions: b.transactions.map(txWire),
})
const packed = (value: unknown): Buffer => Buffer.from(packr.pack(value))

const UINTS = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 1_764_000_000_000, Number.MAX_SAFE_INTEGER]
const PIECES = ['a', 'Z', '0', '=', ' ', 'é', 'ß', '日本', '€', '🎉', '\uFEFF']

function randomString(rand: ReturnType<typeof createPrng>): string {
  // Lengths around every str header boundary (fixstr < 32 bytes, str8 < 256, str16 < 65536).
  const length = [0, 1, 30, 31, 32, 33, 100, 254, 255, 256, 300, 70_000][rand.int(rand.next() < 0.97 ? 11 : 12)]!
  let text = ''
  const ascii = rand.next() < 0.6
  while (text.length < length) text += ascii ? String.fromCharCode(32 + rand.int(95)) : PIECES[rand.int(PIECES.length)]!
  return text
}

function randomTx(rand: ReturnType<typeof createPrng>): Transaction {
  return { txid: randomString(rand), payload: randomString(rand), timestamp: UINTS[rand.int(UINTS.length)]!, origin: randomString(rand) }
}

describe('payload writer', () => {
  it('writes transactions and announced blocks as msgpackr packs them (randomized)', () => {
    const seed = testSeed('payload-writer')
    const rand = createPrng(seed)
    for (let round = 0; round < 300; round++) {
      const tx = randomTx(rand)
      expect(Buffer.from(writeTransactionPayload(tx)!).equals(packed(txWire(tx))), `seed ${seed} round ${round}`).toBe(true)
      const block: Block = {
        number: UINTS[rand.int(UINTS.length)]!,
        previousBlockHash: rand.bytes([32, 0, 255, 256][rand.int(4)]!),
        stateHash: rand.bytes(32),
        timestamp: UINTS[rand.int(UINTS.length)]!,
        proposer: randomString(rand),
        transactions: Array.from({ length: [0, 1, 15, 16, 40][rand.int(5)]! }, () => randomTx(rand)),
      }
      expect(Buffer.from(writeBlockAddedPayload(block)!).equals(packed({ block: blockWire(block) })), `seed ${seed} round ${round}`).toBe(true)
    }
  })

  it('leaves values it does not write to msgpackr, and encodePayload still encodes them', () => {
    const tx: Transaction = { txid: 't', payload: 'p', timestamp: 5, origin: 'o' }
    for (const odd of [{ ...tx, timestamp: -1 }, { ...tx, timestamp: 1.5 }, { ...tx, txid: 7 as unknown as string }]) {
      expect(writeTransactionPayload(odd)).toBeUndefined()
      expect(Buffer.from(encodePayload(MessageType.CHAIN_TRANSACTION, odd)).equals(packed(txWire(odd)))).toBe(true)
    }
    const block: Block = { number: 1, previousBlockHash: new Uint8Array(32), stateHash: new Uint8Array(32), timestamp: 2, proposer: 'vp0', transactions: [tx] }
    for (const odd of [{ ...block, number: -1 }, { ...block, transactions: [{ ...tx, timestamp: Number.NaN }] }, { ...block, stateHash: 'ab' as unknown as Uint8Array }]) {
      expect(writeBlockAddedPayload(odd)).toBeUndefined()
      expect(Buffer.from(encodePayload(MessageType.SYNC_BLOCK_ADDED, { block: odd })).equals(packed({ block: blockWire(odd) }))).toBe(true)
    }
  })

  it('writes what the hardened decoder reads back as the same payload', () => {
    const tx: Transaction = { txid: 'client-1', payload: 'k=v'.padEnd(200, 'x'), timestamp: 1_764_000_000_000, origin: 'client' }
    expect(decodePayload(MessageType.CHAIN_TRANSACTION, encodePayload(MessageType.CHAIN_TRANSACTION, tx))).toEqual(tx)
    const block: Block = { number: 9, previousBlockHash: new Uint8Array(32).fill(1), stateHash: new Uint8Array(32).fill(2), timestamp: 3, proposer: 'vp1', transactions: [tx, { ...tx, txid: 'client-2' }] }
    expect(decodePayload(MessageType.SYNC_BLOCK_ADDED, encodePayload(MessageType.SYNC_BLOCK_ADDED, { block }))).toEqual({ block })
  })
})
