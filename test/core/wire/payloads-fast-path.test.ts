import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { DecodeError } from '../../../src/core/errors.js'
import { MAX_HASH_BYTES, MAX_ID_BYTES, MAX_TX_PAYLOAD_BYTES, MAX_TXS_PER_BLOCK } from '../../../src/core/wire/codec-limits.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { decodePayload, encodePayload } from '../../../src/core/wire/payloads.js'
import { createPrng, sampleTx, testSeed } from './wire-fixtures.js'

/**
 * The hand-written checks of CHAIN_TRANSACTION and SYNC_BLOCK_ADDED (payloads.ts) against an
 * independent statement of their schemas: random and hostile values are accepted exactly when the
 * reference accepts them, with the same output; everything else is a DecodeError.
 */
const foreign = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, variableMapSize: true })
const utf8Length = (s: string): number => new TextEncoder().encode(s).length

type Rec = Record<string, unknown>
const isPlain = (x: unknown): x is Rec => typeof x === 'object' && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x)
const keysAre = (x: Rec, keys: string[]): boolean => {
  const own = Object.keys(x)
  return own.length === keys.length && keys.every((k) => own.includes(k))
}
const uint = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
const str = (x: unknown, max: number): boolean => typeof x === 'string' && utf8Length(x) <= max

function refTx(x: unknown): Rec | undefined {
  if (!isPlain(x) || !keysAre(x, ['txid', 'payload', 'timestamp', 'origin'])) return undefined
  if (!str(x.txid, MAX_ID_BYTES) || !str(x.payload, MAX_TX_PAYLOAD_BYTES) || !uint(x.timestamp) || !str(x.origin, MAX_ID_BYTES)) return undefined
  return { txid: x.txid, payload: x.payload, timestamp: x.timestamp, origin: x.origin }
}

function refBlockAdded(x: unknown): Rec | undefined {
  if (!isPlain(x) || !keysAre(x, ['block'])) return undefined
  const b = x.block
  if (!isPlain(b) || !keysAre(b, ['number', 'previousBlockHash', 'stateHash', 'timestamp', 'proposer', 'transactions'])) return undefined
  const hash = (h: unknown): boolean => h instanceof Uint8Array && h.length <= MAX_HASH_BYTES
  if (!uint(b.number) || !hash(b.previousBlockHash) || !hash(b.stateHash) || !uint(b.timestamp) || !str(b.proposer, MAX_ID_BYTES)) return undefined
  if (!Array.isArray(b.transactions) || b.transactions.length > MAX_TXS_PER_BLOCK) return undefined
  const txs = b.transactions.map(refTx)
  if (txs.some((t) => t === undefined)) return undefined
  return { block: { ...b, transactions: txs } }
}

type Prng = ReturnType<typeof createPrng>

/** A value near a valid one: one field changed, removed, added or replaced by a hostile value. */
function mutate(prng: Prng, value: Rec): Rec {
  const out: Rec = { ...value }
  const keys = Object.keys(out)
  const key = keys[prng.int(keys.length)]!
  const hostile: unknown[] = [
    undefined,
    null,
    -1,
    1.5,
    2 ** 53,
    'x',
    '',
    '€'.repeat(Math.floor(MAX_ID_BYTES / 3) + prng.int(2)),
    'a'.repeat(MAX_ID_BYTES + prng.int(2)),
    new Uint8Array(MAX_HASH_BYTES + prng.int(2)),
    [],
    {},
    true,
  ]
  switch (prng.int(3)) {
    case 0:
      delete out[key]
      break
    case 1:
      out[['extra', 'constructor', 'toString', 'txid2'][prng.int(4)]!] = 1
      break
    default:
      out[key] = hostile[prng.int(hostile.length)]
  }
  return out
}

const decodesLike = (type: typeof MessageType.CHAIN_TRANSACTION | typeof MessageType.SYNC_BLOCK_ADDED, value: unknown, reference: Rec | undefined): void => {
  const bytes = foreign.pack(value)
  if (reference === undefined) {
    expect(() => decodePayload(type, bytes)).toThrow(DecodeError)
  } else {
    expect(decodePayload(type, bytes)).toEqual(reference)
  }
}

describe('hand-written payload checks', () => {
  it('accept exactly what the schema accepts (seeded)', () => {
    const prng = createPrng(testSeed('payload fast path'))
    for (let i = 0; i < 3000; i++) {
      const tx = { ...sampleTx(i), payload: 'p'.repeat(prng.int(300)) } as unknown as Rec
      const txValue = prng.int(4) === 0 ? tx : mutate(prng, tx)
      decodesLike(MessageType.CHAIN_TRANSACTION, txValue, refTx(txValue))

      const txs: unknown[] = Array.from({ length: prng.int(4) }, (_, j) => ({ ...sampleTx(i * 10 + j) }))
      if (txs.length > 0 && prng.int(2) === 0) txs[prng.int(txs.length)] = mutate(prng, txs[0] as Rec)
      const block: Rec = {
        number: i,
        previousBlockHash: new Uint8Array(32).fill(i & 0xff),
        stateHash: new Uint8Array(32),
        timestamp: 1_700_000_000_000 + i,
        proposer: 'vp0',
        transactions: txs,
      }
      const blockValue = prng.int(3) === 0 ? block : mutate(prng, block)
      const added = prng.int(8) === 0 ? mutate(prng, { block: blockValue }) : { block: blockValue }
      decodesLike(MessageType.SYNC_BLOCK_ADDED, added, refBlockAdded(added))
    }
  })

  it('return objects of exactly the schema keys, in schema order', () => {
    const tx = decodePayload(MessageType.CHAIN_TRANSACTION, foreign.pack({ origin: 'o', timestamp: 3, payload: 'p', txid: 't' }))
    expect(Object.keys(tx)).toEqual(['txid', 'payload', 'timestamp', 'origin'])
    const added = decodePayload(
      MessageType.SYNC_BLOCK_ADDED,
      foreign.pack({ block: { transactions: [], proposer: 'vp0', timestamp: 1, stateHash: new Uint8Array(32), previousBlockHash: new Uint8Array(32), number: 1 } }),
    )
    expect(Object.keys(added.block)).toEqual(['number', 'previousBlockHash', 'stateHash', 'timestamp', 'proposer', 'transactions'])
  })

  it('word refusals as the schema does', () => {
    const message = (value: unknown): string => {
      try {
        decodePayload(MessageType.CHAIN_TRANSACTION, foreign.pack(value))
      } catch (err) {
        return (err as Error).message
      }
      return 'accepted'
    }
    expect(message({ ...sampleTx(1), extra: 1 })).toBe('CHAIN_TRANSACTION payload: unknown key at <unknown key>')
    expect(message({ payload: 'p', timestamp: 1, origin: 'o' })).toBe('CHAIN_TRANSACTION payload: missing key at txid')
    expect(message({ ...sampleTx(1), payload: 'p'.repeat(MAX_TX_PAYLOAD_BYTES + 1) })).toMatch(/at payload$/)
  })
})

describe('CHAIN_TRANSACTION decoded once per payload', () => {
  it('hands the first decode a copy and the second the kept object, then forgets it', () => {
    const bytes = encodePayload(MessageType.CHAIN_TRANSACTION, sampleTx(7))
    const first = decodePayload(MessageType.CHAIN_TRANSACTION, bytes)
    const second = decodePayload(MessageType.CHAIN_TRANSACTION, bytes)
    const third = decodePayload(MessageType.CHAIN_TRANSACTION, bytes)
    expect(first).toEqual(sampleTx(7))
    expect(second).toEqual(first)
    expect(third).toEqual(first)
    expect(second).not.toBe(first)
    expect(third).not.toBe(second)
    // A mutation of the first result does not reach the second caller.
    const bytes2 = encodePayload(MessageType.CHAIN_TRANSACTION, sampleTx(8))
    const a = decodePayload(MessageType.CHAIN_TRANSACTION, bytes2)
    a.txid = 'changed'
    expect(decodePayload(MessageType.CHAIN_TRANSACTION, bytes2).txid).toBe(sampleTx(8).txid)
  })

  it('never remembers a refused payload', () => {
    const bytes = foreign.pack({ ...sampleTx(1), extra: 1 })
    expect(() => decodePayload(MessageType.CHAIN_TRANSACTION, bytes)).toThrow(DecodeError)
    expect(() => decodePayload(MessageType.CHAIN_TRANSACTION, bytes)).toThrow(DecodeError)
  })
})
