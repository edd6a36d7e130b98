import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { NOOPS_MAX_FORWARD_HOPS } from '../../../../src/core/consensus/noops/constants.js'
import { decodeNoopsMessage, encodeNoopsMessage, type NoopsMessage } from '../../../../src/core/consensus/noops/noops-messages.js'
import { DecodeError } from '../../../../src/core/errors.js'
import { createMemoryLedger } from '../../../../src/core/ledger/memory-ledger.js'

const plainPack = new Packr({ useRecords: false })
const pack = (value: unknown) => plainPack.pack(value)

function block() {
  const ledger = createMemoryLedger()
  ledger.beginTxBatch('b')
  ledger.execTxs('b', [{ txid: 't1', payload: 'a=1', timestamp: 5, origin: 'vp1' }])
  return ledger.commitTxBatch('b', { timestamp: 9, proposer: 'vp0' })
}

const tx = { txid: 't1', payload: 'a=1', timestamp: 5, origin: 'vp1' }

describe('noops messages', () => {
  it('round-trips tx and block messages', () => {
    const messages: NoopsMessage[] = [{ kind: 'tx', tx, hops: 1 }, { kind: 'block', block: block() }]
    for (const msg of messages) {
      const decoded = decodeNoopsMessage(encodeNoopsMessage(msg))
      expect(decoded).toEqual(msg)
    }
    // A decoded block hashes like the original, so ledgers can apply it.
    const original = block()
    const decoded = decodeNoopsMessage(encodeNoopsMessage({ kind: 'block', block: original }))
    const ledger = createMemoryLedger()
    expect(decoded.kind).toBe('block')
    if (decoded.kind === 'block') expect(ledger.hashBlock(decoded.block)).toEqual(ledger.hashBlock(original))
  })

  it('puts only schema fields on the wire', () => {
    const extra = { ...tx, cached: 'x' }
    expect(decodeNoopsMessage(encodeNoopsMessage({ kind: 'tx', tx: extra, hops: 1 }))).toEqual({ kind: 'tx', tx, hops: 1 })
  })

  it('refuses anything outside the schema with DecodeError, never quoting content', () => {
    const good = { kind: 'block', block: { ...block() } }
    const hostile: unknown[] = [
      'just a string',
      [1, 2, 3],
      { kind: 'vote' },
      { kind: 'tx', tx },
      { kind: 'tx', tx, hops: 0 },
      { kind: 'tx', tx, hops: NOOPS_MAX_FORWARD_HOPS + 1 },
      { kind: 'tx', tx: { ...tx, txid: '' }, hops: 1 },
      { kind: 'tx', tx: { ...tx, timestamp: -1 }, hops: 1 },
      { kind: 'tx', tx: { ...tx, secret_attacker_text: 1 }, hops: 1 },
      { kind: 'tx', tx, hops: 1, extra: true },
      { kind: 'tx', tx: { ...tx, txid: 'x'.repeat(10_000) }, hops: 1 },
      { ...good, block: { ...good.block, stateHash: new Uint8Array(31) } },
      { ...good, block: { ...good.block, number: 1.5 } },
      { ...good, block: { ...good.block, transactions: 'none' } },
    ]
    for (const value of hostile) {
      let caught: unknown
      try {
        decodeNoopsMessage(pack(value))
      } catch (err) {
        caught = err
      }
      expect(caught, JSON.stringify(value)?.slice(0, 80)).toBeInstanceOf(DecodeError)
      expect((caught as Error).message).not.toContain('secret_attacker_text')
    }
  })

  it('refuses bytes that are not one msgpack value, deep nesting and prototype keys', () => {
    const before = Object.keys(Object.prototype)
    const deep = new Uint8Array(100_000).fill(0x91)
    const inputs = [
      new Uint8Array([]),
      new Uint8Array([0xc1]),
      new Uint8Array([0x92, 0x01]), // truncated array
      Uint8Array.from([...encodeNoopsMessage({ kind: 'tx', tx, hops: 1 }), 0x00]), // trailing byte
      deep,
      pack(JSON.parse('{"__proto__": {"polluted": true}, "kind": "tx"}')),
      new Uint8Array([0xd4, 0x78, 0x00]), // a RegExp extension
    ]
    for (const bytes of inputs) expect(() => decodeNoopsMessage(bytes)).toThrow(DecodeError)
    expect(Object.keys(Object.prototype)).toEqual(before)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
