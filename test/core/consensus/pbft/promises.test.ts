import { describe, expect, it } from 'vitest'
import { NULL_DIGEST, batchDigest, type PbftBatch } from '../../../../src/core/consensus/pbft/batch.js'
import { encodePbftMessage, type PbftMessage } from '../../../../src/core/consensus/pbft/messages.js'
import { isPromise, restorePromises } from '../../../../src/core/consensus/pbft/promises.js'

const primary = (v: number) => v % 4
const batch = (i: number): PbftBatch => ({ timestamp: i, proposer: 'vp0', txs: [{ txid: `t${i}`, payload: 'x', timestamp: i, origin: 'vp0' }] })
const digest = (i: number) => batchDigest(batch(i))
const records = (...msgs: PbftMessage[]) => msgs.map(encodePbftMessage)
const ck = (n: number): PbftMessage => ({ t: 'ck', n, r: 2, d: String(n % 10).repeat(64) })

describe('pbft promises', () => {
  it('names what binds a replica: pre-prepares, prepares, commits, view changes and new views', () => {
    const d = digest(1)
    expect(isPromise({ t: 'pp', v: 0, n: 1, r: 0, b: batch(1) })).toBe(true)
    expect(isPromise({ t: 'p', v: 0, n: 1, r: 1, d })).toBe(true)
    expect(isPromise({ t: 'c', v: 0, n: 1, r: 1, d })).toBe(true)
    expect(isPromise({ t: 'vc', v: 1, r: 1, h: 0, C: [], P: [], Q: [] })).toBe(true)
    expect(isPromise({ t: 'nv', v: 1, r: 1, V: [0, 1, 2], k: [0, d], X: [] })).toBe(true)
    expect(isPromise(ck(10))).toBe(false)
    expect(isPromise({ t: 'fb', r: 1, d })).toBe(false)
    expect(isPromise({ t: 'vs', v: 0, r: 1 })).toBe(false)
  })

  it('puts a backup back in its view with its votes, the batches it accepted, and what it executed', () => {
    const r = restorePromises(
      records(
        { t: 'pp', v: 0, n: 1, r: 0, b: batch(1) },
        { t: 'p', v: 0, n: 1, r: 2, d: digest(1) },
        { t: 'c', v: 0, n: 1, r: 2, d: digest(1) },
        ck(1),
        { t: 'pp', v: 0, n: 2, r: 0, b: batch(2) },
        { t: 'p', v: 0, n: 2, r: 2, d: digest(2) },
        { t: 'pp', v: 0, n: 3, r: 0, b: null },
        { t: 'p', v: 0, n: 3, r: 2, d: NULL_DIGEST },
      ),
      2,
      primary,
    )
    expect(r.view).toBe(0)
    expect(r.active).toBe(true)
    expect(r.certs.get(1)).toEqual({ digest: digest(1), batch: batch(1), prepared: true, committed: true })
    expect(r.certs.get(2)).toEqual({ digest: digest(2), batch: batch(2), prepared: true, committed: false })
    expect(r.certs.get(3)).toEqual({ digest: NULL_DIGEST, batch: null, prepared: true, committed: false })
    expect(r.executed).toEqual(new Map([[1, '1'.repeat(64)]]))
    expect(r.seqNo).toBe(3)
    expect([...r.batches.keys()].sort()).toEqual([digest(1), digest(2)].sort())
  })

  it('keeps the first digest a replica logged for a sequence number: a second would be a contradiction it never made', () => {
    const r = restorePromises(records({ t: 'p', v: 0, n: 1, r: 2, d: digest(1) }, { t: 'c', v: 0, n: 1, r: 2, d: digest(9) }), 2, primary)
    expect(r.certs.get(1)).toMatchObject({ digest: digest(1), committed: false })
  })

  it('comes back in the view change it logged, with its P and Q sets, when no new view followed', () => {
    const vc: PbftMessage = { t: 'vc', v: 1, r: 2, h: 0, C: [], P: [[2, digest(2), 0]], Q: [[2, digest(2), 0], [3, digest(3), 0]] }
    const r = restorePromises(records({ t: 'p', v: 0, n: 2, r: 2, d: digest(2) }, { t: 'c', v: 0, n: 2, r: 2, d: digest(2) }, vc), 2, primary)
    expect(r.view).toBe(1)
    expect(r.active).toBe(false)
    expect(r.viewChange).toEqual(vc)
    expect(r.certs.size).toBe(0)
    expect(r.pset).toEqual(new Map([[2, { d: digest(2), v: 0 }]]))
    expect([...r.qset.keys()].sort()).toEqual([`2:${digest(2)}`, `3:${digest(3)}`])
  })

  it('comes back active in a view whose new view it installed, re-proposals included, earlier votes in P and Q', () => {
    const vc: PbftMessage = { t: 'vc', v: 1, r: 2, h: 0, C: [], P: [], Q: [] }
    const nv: PbftMessage = { t: 'nv', v: 1, r: 1, V: [0, 1, 2], k: [0, 'ab'.repeat(32)], X: [[1, digest(1)]] }
    const r = restorePromises(
      records({ t: 'pp', v: 0, n: 1, r: 0, b: batch(1) }, { t: 'p', v: 0, n: 1, r: 2, d: digest(1) }, { t: 'vc', v: 0, r: 2, h: 0, C: [], P: [], Q: [] }, vc, nv),
      2,
      primary,
    )
    expect(r.view).toBe(1)
    expect(r.active).toBe(true)
    expect(r.newView).toEqual(nv)
    expect(r.previousViewChange?.v).toBe(0)
    expect(r.certs.get(1)).toEqual({ digest: digest(1), batch: batch(1), prepared: false, committed: false })
    expect(r.qset.get(`1:${digest(1)}`)).toEqual({ n: 1, d: digest(1), v: 0 })
  })

  it("ignores pre-prepares not from their view's primary, votes of others, and counts records that do not decode", () => {
    const r = restorePromises(
      [...records({ t: 'pp', v: 0, n: 1, r: 3, b: batch(1) }, { t: 'p', v: 0, n: 2, r: 1, d: digest(2) }), Uint8Array.of(0xc1)],
      2,
      primary,
    )
    expect(r.certs.size).toBe(0)
    expect(r.batches.size).toBe(0)
    expect(r.undecodable).toBe(1)
  })
})
