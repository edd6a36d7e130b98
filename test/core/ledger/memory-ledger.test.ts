import { describe, expect, it } from 'vitest'
import { LedgerError } from '../../../src/core/errors.js'
import type { Ledger } from '../../../src/core/ledger/ledger.js'
import { hashBlock, sealTransactions } from '../../../src/core/ledger/block-hash.js'
import { createMemoryLedger } from '../../../src/core/ledger/memory-ledger.js'
import { toHex } from '../../../src/core/util/bytes.js'
import type { Block, Transaction } from '../../../src/core/wire/payload-types.js'

let seq = 0
const tx = (payload: string, txid = `t${++seq}`): Transaction => ({ txid, payload, timestamp: 1000 + seq, origin: 'vp0' })

function commit(ledger: Ledger, txs: Transaction[], proposer = 'vp0', timestamp = 42): Block {
  const id = `batch-${ledger.height()}`
  ledger.beginTxBatch(id)
  ledger.execTxs(id, txs)
  return ledger.commitTxBatch(id, { timestamp, proposer })
}

const copy = (block: Block): Block => structuredClone(block)

const flip = (bytes: Uint8Array, i: number) => {
  bytes[i] = (bytes[i] ?? 0) ^ 1
}

describe('memory ledger', () => {
  it('starts every ledger with the same genesis block at height 1', () => {
    const a = createMemoryLedger()
    const b = createMemoryLedger()
    expect(a.height()).toBe(1)
    expect(toHex(a.headHash())).toBe(toHex(b.headHash()))
    expect(toHex(a.headHash())).toBe(toHex(a.hashBlock(a.getBlock(0)!)))
    expect(a.getBlock(0)).toMatchObject({ number: 0, timestamp: 0, proposer: '', transactions: [] })
    expect(a.info()).toEqual({ height: 1, currentBlockHash: a.headHash(), previousBlockHash: new Uint8Array(32) })
    expect(a.snapshot()).toEqual([])
    expect(a.getDelta(0)).toEqual({ blockNumber: 0, writes: [] })
  })

  it('chains blocks by hash', () => {
    const ledger = createMemoryLedger()
    const genesisHash = ledger.headHash()
    const b1 = commit(ledger, [tx('a=1')])
    const b2 = commit(ledger, [tx('b=2')])
    expect(b1.number).toBe(1)
    expect(toHex(b1.previousBlockHash)).toBe(toHex(genesisHash))
    expect(toHex(b2.previousBlockHash)).toBe(toHex(ledger.hashBlock(b1)))
    expect(toHex(ledger.headHash())).toBe(toHex(ledger.hashBlock(b2)))
    expect(ledger.info()).toEqual({ height: 3, currentBlockHash: ledger.headHash(), previousBlockHash: b2.previousBlockHash })
    expect(toHex(ledger.stateHash())).toBe(toHex(b2.stateHash))
  })

  it('reaches the same state hash on two ledgers fed the same transactions, and a different one otherwise', () => {
    const txs = [tx('a=1'), tx('b=2'), tx('opaque'), tx('a=3')]
    const a = createMemoryLedger()
    const b = createMemoryLedger()
    commit(a, txs.slice(0, 2))
    commit(a, txs.slice(2))
    commit(b, txs.slice(0, 2))
    commit(b, txs.slice(2))
    expect(toHex(a.stateHash())).toBe(toHex(b.stateHash()))
    expect(toHex(a.headHash())).toBe(toHex(b.headHash()))
    expect(a.snapshot()).toEqual([
      ['a', '3'],
      ['b', '2'],
      [`tx/${txs[2]!.txid}`, 'opaque'],
    ])
    const c = createMemoryLedger()
    commit(c, [txs[0]!, tx('b=different', txs[1]!.txid)])
    commit(c, txs.slice(2))
    expect(toHex(c.stateHash())).not.toBe(toHex(a.stateHash()))
  })

  it('executes a duplicate transaction once, in one batch or across blocks', () => {
    const ledger = createMemoryLedger()
    const first = tx('k=1', 'dup')
    const b1 = commit(ledger, [first, tx('k=2', 'dup'), tx('x=1')])
    expect(b1.transactions.map((t) => t.txid)).toEqual(['dup', expect.any(String)])
    expect(ledger.getState('k')).toBe('1')
    expect(ledger.hasTransaction('dup')).toBe(true)
    const b2 = commit(ledger, [tx('k=3', 'dup')])
    expect(b2.transactions).toEqual([])
    expect(ledger.getState('k')).toBe('1')
  })

  it('locates committed transactions by block and index, made here or applied, and not others', () => {
    const maker = createMemoryLedger()
    const follower = createMemoryLedger()
    // Enough blocks that the early ones are in the packed store, not only the head.
    const blocks = Array.from({ length: 40 }, (_, n) => commit(maker, [tx(`a=${n}`), tx('note'), tx(`b=${n}`)]))
    for (const block of blocks) follower.applyBlock(copy(block))
    for (const ledger of [maker, follower]) {
      expect(ledger.locateTransaction(blocks[0]!.transactions[0]!.txid)).toEqual({ block: 1, index: 0 })
      expect(ledger.locateTransaction(blocks[17]!.transactions[2]!.txid)).toEqual({ block: 18, index: 2 })
      expect(ledger.locateTransaction(blocks[39]!.transactions[1]!.txid)).toEqual({ block: 40, index: 1 })
      expect(ledger.locateTransaction('never-sent')).toBeUndefined()
    }
    // A transaction in an open batch is not committed yet; a rolled back one never is.
    maker.beginTxBatch('open')
    maker.execTxs('open', [tx('c=1', 'in-batch')])
    expect(maker.locateTransaction('in-batch')).toBeUndefined()
    maker.rollbackTxBatch('open')
    expect(maker.locateTransaction('in-batch')).toBeUndefined()
    // A duplicate keeps the place of its first commit.
    const again = commit(maker, [tx('d=1', 'first'), tx('d=2', 'first')])
    commit(maker, [tx('d=3'), tx('d=4', 'first')])
    expect(maker.locateTransaction('first')).toEqual({ block: again.number, index: 0 })
  })

  it('applies a block made by another ledger', () => {
    const maker = createMemoryLedger()
    const follower = createMemoryLedger()
    const events: [number, string][] = []
    follower.onBlock((block, hash) => events.push([block.number, toHex(hash)]))
    const b1 = commit(maker, [tx('a=1'), tx('note')])
    const b2 = commit(maker, [tx('a=2')])
    follower.applyBlock(copy(b1))
    follower.applyBlock(copy(b2))
    expect(follower.height()).toBe(3)
    expect(toHex(follower.headHash())).toBe(toHex(maker.headHash()))
    expect(follower.snapshot()).toEqual(maker.snapshot())
    expect(events).toEqual([
      [1, toHex(maker.hashBlock(b1))],
      [2, toHex(maker.hashBlock(b2))],
    ])
    expect(follower.hasTransaction(b1.transactions[0]!.txid)).toBe(true)
  })

  describe('refuses a tampered block without changing anything', () => {
    const cases: [string, (b: Block) => void][] = [
      ['a wrong number', (b) => (b.number += 1)],
      ['an old number', (b) => (b.number = 0)],
      ['a bad previous hash', (b) => flip(b.previousBlockHash, 0)],
      ['a bad state hash', (b) => flip(b.stateHash, 5)],
      ['a changed transaction', (b) => (b.transactions[0]!.payload = 'a=999')],
      ['an extra transaction', (b) => b.transactions.push(tx('z=1'))],
      ['a duplicate transaction', (b) => b.transactions.push({ ...b.transactions[0]! })],
      ['an unencodable field', (b) => (b.timestamp = -1)],
    ]
    for (const [name, tamper] of cases) {
      it(name, () => {
        const maker = createMemoryLedger()
        const follower = createMemoryLedger()
        follower.applyBlock(copy(commit(maker, [tx('a=1')])))
        const good = commit(maker, [tx('a=2'), tx('b=1')])
        const before = { height: follower.height(), head: toHex(follower.headHash()), state: follower.snapshot(), hash: toHex(follower.stateHash()) }
        let fired = 0
        follower.onBlock(() => fired++)
        const bad = copy(good)
        tamper(bad)
        expect(() => follower.applyBlock(bad)).toThrow(LedgerError)
        expect({ height: follower.height(), head: toHex(follower.headHash()), state: follower.snapshot(), hash: toHex(follower.stateHash()) }).toEqual(before)
        expect(follower.hasTransaction(good.transactions[0]!.txid)).toBe(false)
        expect(fired).toBe(0)
        // The untampered block still applies afterwards.
        follower.applyBlock(copy(good))
        expect(toHex(follower.headHash())).toBe(toHex(maker.headHash()))
      })
    }
  })

  it('refuses a replayed transaction in an applied block', () => {
    const maker = createMemoryLedger()
    const follower = createMemoryLedger()
    const first = commit(maker, [tx('a=1', 'once')])
    follower.applyBlock(copy(first))
    // A forged block 2 that repeats `once` with a state hash computed as if it ran again.
    const forger = createMemoryLedger()
    forger.applyBlock(copy(first))
    const honest = commit(forger, [tx('a=1', 'other')])
    const forged = copy(honest)
    forged.transactions[0]!.txid = 'once'
    expect(() => follower.applyBlock(forged)).toThrow(/duplicate/)
    expect(follower.height()).toBe(2)
  })

  it('allows one open batch at a time and refuses misuse', () => {
    const ledger = createMemoryLedger()
    expect(() => ledger.execTxs('x', [tx('a=1')])).toThrow(LedgerError)
    expect(() => ledger.previewCommit('x')).toThrow(LedgerError)
    expect(() => ledger.commitTxBatch('x', { timestamp: 1, proposer: 'p' })).toThrow(LedgerError)
    expect(() => ledger.rollbackTxBatch('x')).toThrow(LedgerError)
    ledger.beginTxBatch('x')
    expect(() => ledger.beginTxBatch('y')).toThrow(LedgerError)
    expect(() => ledger.execTxs('y', [tx('a=1')])).toThrow(LedgerError)
    expect(() => ledger.commitTxBatch('y', { timestamp: 1, proposer: 'p' })).toThrow(LedgerError)
    expect(() => ledger.applyBlock(copy(ledger.getBlock(0)!))).toThrow(LedgerError)
    expect(() => ledger.execTxs('x', [tx('ok=1'), { ...tx('bad'), timestamp: -1 }])).toThrow(LedgerError)
    expect(() => ledger.commitTxBatch('x', { timestamp: 1.5, proposer: 'p' })).toThrow(LedgerError)
    // The refused calls changed nothing: the batch is still open and empty.
    const emptyPreview = ledger.previewCommit('x')
    ledger.execTxs('x', [tx('a=1')])
    const preview = ledger.previewCommit('x')
    expect(toHex(preview)).not.toBe(toHex(emptyPreview))
    ledger.rollbackTxBatch('x')
    expect(ledger.height()).toBe(1)
    expect(ledger.getState('a')).toBeUndefined()
    ledger.beginTxBatch('z')
    ledger.execTxs('z', [tx('a=1')])
    expect(toHex(ledger.previewCommit('z'))).toBe(toHex(preview))
    const block = ledger.commitTxBatch('z', { timestamp: 1, proposer: 'p' })
    expect(toHex(block.stateHash)).toBe(toHex(preview))
    expect(() => ledger.commitTxBatch('z', { timestamp: 1, proposer: 'p' })).toThrow(LedgerError)
  })

  it('keeps each block\'s write set and serves snapshots and block ranges', () => {
    const ledger = createMemoryLedger()
    const t = tx('free text')
    commit(ledger, [tx('b=1'), tx('a=1'), tx('b=2')])
    commit(ledger, [t])
    commit(ledger, [tx('a=9')])
    expect(ledger.getDelta(1)).toEqual({ blockNumber: 1, writes: [['a', '1'], ['b', '2']] })
    expect(ledger.getDelta(2)).toEqual({ blockNumber: 2, writes: [[`tx/${t.txid}`, 'free text']] })
    expect(ledger.getDelta(4)).toBeUndefined()
    // A delta handed out is a copy.
    ledger.getDelta(1)!.writes.push(['x', 'y'])
    expect(ledger.getDelta(1)!.writes).toHaveLength(2)
    expect(ledger.snapshot()).toEqual([['a', '9'], ['b', '2'], [`tx/${t.txid}`, 'free text']])
    expect(ledger.getBlocks(1, 10).map((b) => b.number)).toEqual([1, 2, 3])
    expect(ledger.getBlocks(0, 3, 2).map((b) => b.number)).toEqual([0, 1])
    expect(ledger.getBlocks(-5, 1).map((b) => b.number)).toEqual([0, 1])
    expect(ledger.getBlocks(3, 1)).toEqual([])
    expect(ledger.getBlocks(1, 2, 0)).toEqual([])
    expect(ledger.getBlocks(Number.NaN, 2)).toEqual([])
  })

  it('rebuilds the same state from snapshot-free replay of its deltas', () => {
    const ledger = createMemoryLedger()
    for (let i = 0; i < 5; i++) commit(ledger, [tx(`k${i % 2}=${i}`), tx(`note ${i}`)])
    const state = new Map<string, string>()
    for (let n = 1; n < ledger.height(); n++) for (const [k, v] of ledger.getDelta(n)!.writes) state.set(k, v)
    expect([...state].sort((a, b) => (a[0] < b[0] ? -1 : 1))).toEqual(ledger.snapshot())
  })

  it('serves the same deltas, state and block hashes for applied blocks as for committed ones', () => {
    const source = createMemoryLedger()
    commit(source, [tx('b=1'), tx('a=1'), tx('b=2')])
    commit(source, [tx('opaque'), tx('a=7')])
    const copy = createMemoryLedger()
    for (const block of source.getBlocks(1, 2)) copy.applyBlock(block)
    for (const n of [1, 2]) {
      expect(copy.getDelta(n)).toEqual(source.getDelta(n))
      expect(toHex(copy.hashBlock(copy.getBlock(n)!))).toBe(toHex(source.hashBlock(source.getBlock(n)!)))
    }
    expect(copy.snapshot()).toEqual(source.snapshot())
    // Each block's previous hash is the hash of the block before it.
    expect(toHex(copy.getBlock(2)!.previousBlockHash)).toBe(toHex(copy.hashBlock(copy.getBlock(1)!)))
    expect(copy.blockHash(3)).toBeUndefined()
    for (const n of [0, 1, 2]) expect(toHex(copy.blockHash(n)!)).toBe(toHex(source.hashBlock(source.getBlock(n)!)))
    // A block the ledger does not hold (an equal copy) is hashed, not looked up.
    const outsider = { ...copy.getBlock(2)!, proposer: 'someone else' }
    expect(toHex(copy.hashBlock(outsider))).not.toBe(toHex(copy.hashBlock(copy.getBlock(2)!)))
  })

  it('serves every committed block back equal to what it committed, with chunks smaller than a block', () => {
    const ledger = createMemoryLedger({ blockStore: { chunkBytes: 64, hashesPerChunk: 2 } })
    const committed = [commit(ledger, [tx('a=1'), tx('é=ü')]), commit(ledger, [tx('x'.repeat(500))]), commit(ledger, [])]
    expect(ledger.getBlocks(1, 3)).toEqual(committed)
    for (const block of committed) expect(toHex(ledger.blockHash(block.number)!)).toBe(toHex(hashBlock(block)))
  })

  it('keeps committing when an onBlock listener throws, and unsubscribes', () => {
    const ledger = createMemoryLedger()
    let calls = 0
    ledger.onBlock(() => {
      throw new Error('listener bug')
    })
    const off = ledger.onBlock(() => calls++)
    commit(ledger, [tx('a=1')])
    expect(ledger.height()).toBe(2)
    expect(calls).toBe(1)
    off()
    commit(ledger, [tx('a=2')])
    expect(calls).toBe(1)
  })
})

describe('memory ledger against the published test vector', () => {
  it('commits block 1 of PROTOCOL.md ("Block hash") with its state and block hashes', () => {
    const ledger = createMemoryLedger()
    ledger.beginTxBatch('v')
    ledger.execTxs('v', [
      { txid: 't1', payload: 'a=1', timestamp: 5, origin: 'vp1' },
      { txid: 't2', payload: 'hello', timestamp: 6, origin: 'vp2' },
    ])
    const block = ledger.commitTxBatch('v', { timestamp: 1000, proposer: 'vp0' })
    expect(toHex(block.stateHash)).toBe('e425fa41ee5e0b61d0eb2a9eb065e294f1af5d57d95a4bf4d2953c03a82c38e1')
    expect(toHex(ledger.headHash())).toBe('ef7635138d5e570674b5dbf2d8463612a95ae04f31788922a5437dab70dce6dd')
  })
})

describe('memory ledger fast paths', () => {
  it('gives the same blocks for sealed and plain lists, whole, with duplicates, and over two execTxs', () => {
    const plain = createMemoryLedger()
    const sealedLedger = createMemoryLedger()
    const run = (ledger: Ledger, lists: Transaction[][], seal: boolean): Block => {
      const id = `b${ledger.height()}`
      ledger.beginTxBatch(id)
      for (const list of lists) ledger.execTxs(id, seal ? sealTransactions(list.map((t) => ({ ...t }))) : list)
      return ledger.commitTxBatch(id, { timestamp: 7, proposer: 'vp0' })
    }
    const a = tx('a=1')
    const cases: Transaction[][][] = [
      [[a, tx('b=1')]], // whole
      [[tx('c=1', 'd1'), tx('c=2', 'd1'), tx('n')]], // a duplicate inside the list
      [[{ ...a }, tx('e=1')]], // a duplicate of a committed transaction
      [[tx('f=1')], [tx('g=1'), tx('f=2')]], // two calls into one batch
    ]
    for (const lists of cases) {
      const p = run(plain, lists, false)
      const s = run(sealedLedger, lists, true)
      expect(s.transactions).toEqual(p.transactions)
      expect(toHex(sealedLedger.headHash())).toBe(toHex(plain.headHash()))
      expect(Object.isFrozen(s.transactions) && s.transactions.every((t) => Object.isFrozen(t))).toBe(true)
    }
    expect(plain.getBlock(2)?.transactions.map((t) => t.txid)).toEqual(['d1', expect.any(String)])
    expect(plain.getBlock(3)?.transactions).toHaveLength(1)
    expect(plain.getBlock(4)?.transactions).toHaveLength(3)
  })

  it('builds the state on its first read and keeps it current afterwards', () => {
    const ledger = createMemoryLedger()
    commit(ledger, [tx('k=1'), tx('opaque', 'op')])
    commit(ledger, [tx('k=2')])
    expect(ledger.getState('k')).toBe('2')
    expect(ledger.getState('tx/op')).toBe('opaque')
    commit(ledger, [tx('k=3'), tx('z=9')])
    expect(ledger.getState('k')).toBe('3')
    expect(ledger.snapshot()).toEqual([
      ['k', '3'],
      ['tx/op', 'opaque'],
      ['z', '9'],
    ])
    const follower = createMemoryLedger()
    for (let n = 1; n < ledger.height(); n++) follower.applyBlock(ledger.getBlock(n)!)
    expect(follower.snapshot()).toEqual(ledger.snapshot())
  })
})
