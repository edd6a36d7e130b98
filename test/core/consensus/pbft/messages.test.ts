import { describe, expect, it } from 'vitest'
import { Packr } from 'msgpackr'
import { batchDigest, NULL_DIGEST } from '../../../../src/core/consensus/pbft/batch.js'
import { decodePbftMessage, encodePbftMessage, type PbftMessage } from '../../../../src/core/consensus/pbft/messages.js'
import { DecodeError } from '../../../../src/core/errors.js'

const tx = { txid: 't1', payload: 'k=v', timestamp: 5, origin: 'vp1' }
const batch = { timestamp: 1000, proposer: 'vp0', txs: [tx] }
const d = batchDigest(batch)

const samples: PbftMessage[] = [
  { t: 'req', x: [tx] },
  { t: 'pp', v: 1, n: 2, r: 1, b: batch },
  { t: 'pp', v: 1, n: 3, r: 1, b: null },
  { t: 'p', v: 1, n: 2, r: 2, d },
  { t: 'c', v: 1, n: 3, r: 2, d: NULL_DIGEST },
  { t: 'ck', n: 10, r: 3, d },
  { t: 'vc', v: 2, r: 0, h: 10, C: [[10, d]], P: [[11, d, 1]], Q: [[11, d, 1], [12, NULL_DIGEST, 1]] },
  { t: 'nv', v: 2, r: 2, V: [0, 1, 2], k: [10, d], X: [[11, d], [12, NULL_DIGEST]] },
  { t: 'fb', r: 1, d },
  { t: 'rb', r: 1, b: batch },
]

const raw = new Packr({ useRecords: false, variableMapSize: true })
const pack = (value: unknown) => new Uint8Array(raw.pack(value))

describe('pbft messages', () => {
  it.each(samples.map((m) => [m.t, m] as const))('round-trips %s', (_kind, msg) => {
    expect(decodePbftMessage(encodePbftMessage(msg))).toEqual(msg)
  })

  it('keeps a prepare small: one-letter keys and a 32-byte digest', () => {
    expect(encodePbftMessage({ t: 'p', v: 1, n: 2, r: 2, d }).byteLength).toBeLessThan(60)
  })

  it('refuses wrong digest lengths, unknown keys, out-of-range replicas and invalid transactions', () => {
    const bad: unknown[] = [
      { t: 'p', v: 1, n: 2, r: 2, d: new Uint8Array(31) },
      { t: 'ck', n: 10, r: 3, d: new Uint8Array(0) },
      { t: 'p', v: 1, n: 2, r: 2, d: new Uint8Array(32), extra: 'secret-text' },
      { t: 'p', v: 1, n: 2, r: 999, d: new Uint8Array(32) },
      { t: 'p', v: -1, n: 2, r: 1, d: new Uint8Array(32) },
      { t: 'zz' },
      { t: 'req', x: [{ i: '', y: '', s: 0, o: '' }] },
      { t: 'req', x: [{ i: 'a', y: '', s: -1, o: '' }] },
      { t: 'pp', v: 0, n: 1, r: 0, b: { s: 0, p: 'vp0', x: [{ i: 'a', y: '', s: 0.5, o: '' }] } },
    ]
    for (const value of bad) {
      const err = (() => {
        try {
          decodePbftMessage(pack(value))
        } catch (e) {
          return e
        }
        return undefined
      })()
      expect(err).toBeInstanceOf(DecodeError)
      expect((err as Error).message).not.toContain('secret-text')
    }
    expect(() => decodePbftMessage(new Uint8Array([0xc1]))).toThrow(DecodeError)
  })

  it('gives different batches different digests and a null request the empty digest', () => {
    expect(batchDigest({ ...batch, timestamp: 1001 })).not.toBe(d)
    expect(batchDigest({ ...batch, proposer: 'vp1' })).not.toBe(d)
    expect(d).toMatch(/^[0-9a-f]{64}$/)
    expect(NULL_DIGEST).toBe('')
  })
})
