import { describe, expect, it } from 'vitest'
import { ChainFollower, type FetchBlocks } from '../../../src/core/peer/chain-follower.js'
import type { Ledger } from '../../../src/core/ledger/ledger.js'
import { createMemoryLedger } from '../../../src/core/ledger/memory-ledger.js'
import type { LogFields, Logger } from '../../../src/core/util/logger.js'
import { toHex } from '../../../src/core/util/bytes.js'
import type { Block } from '../../../src/core/wire/payload-types.js'
import { sourceChain } from '../../support/chains.js'

function warnings(): { log: Logger; warned: { msg: string; fields: LogFields | undefined }[] } {
  const warned: { msg: string; fields: LogFields | undefined }[] = []
  const log: Logger = { debug: () => undefined, info: () => undefined, warn: (msg, fields) => warned.push({ msg, fields }), error: () => undefined, child: () => log }
  return { log, warned }
}

/** Answers from `source` (or from `bySource[peer]`), at most `cap` blocks an answer, counting requests; `fail` makes the next answers fail. */
function fetcher(source: Ledger, cap = 3, bySource: Record<string, Ledger> = {}) {
  const requests: [string, number, number][] = []
  const fail = { count: 0 }
  const fetch: FetchBlocks = (peer, start, end) => {
    requests.push([peer, start, end])
    if (fail.count > 0) {
      fail.count--
      return Promise.reject(new Error('no answer'))
    }
    return Promise.resolve((bySource[peer] ?? source).getBlocks(start, end, cap))
  }
  return { fetch, requests, fail }
}

/** `source`'s chain with block `number` replaced by one holding another transaction (a forgery that still links to its parent). */
function forgedChain(blocks: number, number: number): Ledger {
  const ledger = createMemoryLedger()
  for (let i = 1; i <= blocks; i++) {
    ledger.beginTxBatch(`b${i}`)
    const payload = i === number ? `k${i}=forged` : `k${i}=v`
    ledger.execTxs(`b${i}`, [{ txid: `t${i}`, payload, timestamp: i, origin: 'vp0' }])
    ledger.commitTxBatch(`b${i}`, { timestamp: i, proposer: 'vp0' })
  }
  return ledger
}

const vp0 = { id: 'vp0', label: 'vp0' }
const vp1 = { id: 'vp1', label: 'vp1' }
const relay = { id: 'relay', label: 'relay' }

describe('chain follower, trusting announcements (open mode)', () => {
  it('applies an announced block that is next, and fetches the gap before one that is not, in capped answers', async () => {
    const source = sourceChain(10)
    const ledger = createMemoryLedger()
    const { fetch, requests } = fetcher(source)
    const follower = new ChainFollower({ ledger, log: warnings().log, fetchBlocks: fetch, verifying: false })
    follower.follow(source.getBlock(1)!, vp0)
    await follower.settled()
    expect(ledger.height()).toBe(2)
    expect(requests).toEqual([])
    follower.follow(source.getBlock(9)!, vp0)
    // Announced again while the first is being followed: applied once.
    follower.follow(source.getBlock(9)!, vp0)
    expect(follower.busy).toBe(true)
    await follower.settled()
    expect(follower.busy).toBe(false)
    expect(ledger.height()).toBe(10)
    expect(toHex(ledger.headHash())).toBe(toHex(source.blockHash(9)!))
    // The held block 9 is not fetched again.
    expect(requests).toEqual([['vp0', 2, 8], ['vp0', 5, 8], ['vp0', 8, 8]])
  })

  it('catches up to a claimed height; a failed fetch is reported and the period retries it', async () => {
    const source = sourceChain(6)
    const ledger = createMemoryLedger()
    const { fetch, fail } = fetcher(source, 100)
    const { log, warned } = warnings()
    const follower = new ChainFollower({ ledger, log, fetchBlocks: fetch, verifying: false })
    fail.count = 1
    follower.catchUp(vp0, 7)
    await follower.settled()
    expect(warned).toEqual([{ msg: 'could not follow the chain', fields: expect.objectContaining({ target: 6 }) as LogFields }])
    expect(ledger.height()).toBe(1)
    follower.retry([[vp0, 7]])
    await follower.settled()
    expect(ledger.height()).toBe(7)
    // Already there: nothing is asked.
    follower.catchUp(vp0, 3)
    expect(follower.busy).toBe(false)
  })

  it('retries from the source that claimed the greatest height, only when no step is pending', async () => {
    const source = sourceChain(8)
    const ledger = createMemoryLedger()
    const { fetch, requests } = fetcher(source, 100)
    const follower = new ChainFollower({ ledger, log: warnings().log, fetchBlocks: fetch, verifying: false })
    follower.retry([[vp0, 5], [vp1, 9], [{ id: 'vp2', label: 'vp2' }, 1]])
    expect(follower.busy).toBe(true)
    follower.retry([[vp0, 9]])
    await follower.settled()
    expect(ledger.height()).toBe(9)
    expect(requests).toEqual([['vp1', 1, 8]])
    follower.retry([[vp1, 9]])
    expect(follower.busy).toBe(false)
  })

  it('stops a range at an empty answer or a block out of order', async () => {
    const source = sourceChain(6)
    const follower = new ChainFollower({
      ledger: createMemoryLedger(),
      log: warnings().log,
      fetchBlocks: (_peer, start, end) =>
        Promise.resolve(start === 1 ? source.getBlocks(1, 2) : start === 3 ? [source.getBlock(4)!] : source.getBlocks(start, end)),
      verifying: false,
    })
    expect((await follower.fetchRange('vp0', 1, 6)).map((b) => b.number)).toEqual([1, 2])
    const empty = new ChainFollower({ ledger: createMemoryLedger(), log: warnings().log, fetchBlocks: () => Promise.resolve([]), verifying: false })
    expect(await empty.fetchRange('vp0', 1, 6)).toEqual([])
  })
})

describe('chain follower, verifying proofs', () => {
  it('holds announced blocks until a proof covers them, then applies up to the proven block only', async () => {
    const source = sourceChain(6)
    const ledger = createMemoryLedger()
    const { fetch, requests } = fetcher(source, 100)
    const follower = new ChainFollower({ ledger, log: warnings().log, fetchBlocks: fetch, verifying: true })
    for (const n of [1, 2, 3, 5]) follower.follow(source.getBlock(n)!, vp0)
    // A claimed height is no reason to take blocks.
    follower.catchUp(vp0, 7)
    await follower.settled()
    expect(ledger.height()).toBe(1)
    follower.proven(4, source.blockHash(4)!, vp1)
    await follower.settled()
    expect(ledger.height()).toBe(5)
    expect(requests).toEqual([['vp1', 4, 4]])
    // Block 5 is held; a proof of 6 needs only block 6.
    follower.proven(6, source.blockHash(6)!, vp1)
    await follower.settled()
    expect(ledger.height()).toBe(7)
    expect(requests).toEqual([['vp1', 4, 4], ['vp1', 6, 6]])
    expect(follower.refused).toBe(0)
  })

  it('refuses a forged block from a relay, and takes the real one from another source', async () => {
    const real = sourceChain(5)
    const forged = forgedChain(5, 3)
    expect(toHex(forged.blockHash(3)!)).not.toBe(toHex(real.blockHash(3)!))
    const ledger = createMemoryLedger()
    const { fetch } = fetcher(real, 100, { relay: forged })
    const { log, warned } = warnings()
    const follower = new ChainFollower({ ledger, log, fetchBlocks: fetch, verifying: true })
    for (let n = 1; n <= 5; n++) follower.follow(forged.getBlock(n)!, relay)
    follower.proven(5, real.blockHash(5)!, relay)
    await follower.settled()
    expect(ledger.height()).toBe(1)
    expect(follower.refused).toBeGreaterThan(0)
    expect(warned[0]).toEqual({ msg: 'refused blocks that do not lead to the proven block', fields: expect.objectContaining({ target: 5 }) as LogFields })
    // The relay is not asked again; a validator claiming the height is.
    follower.retry([[relay, 6], [vp1, 6]])
    await follower.settled()
    expect(ledger.height()).toBe(6)
    expect(toHex(ledger.headHash())).toBe(toHex(real.blockHash(5)!))
  })

  it('waits when a source is only behind, and completes once the blocks arrive', async () => {
    const source = sourceChain(4)
    const ledger = createMemoryLedger()
    const behind = sourceChain(2)
    const { fetch } = fetcher(source, 100, { vp0: behind })
    const follower = new ChainFollower({ ledger, log: warnings().log, fetchBlocks: fetch, verifying: true })
    follower.proven(4, source.blockHash(4)!, vp0)
    await follower.settled()
    expect(ledger.height()).toBe(1)
    expect(follower.refused).toBe(0)
    const announced: Block[] = [source.getBlock(3)!, source.getBlock(4)!]
    for (const block of announced) follower.follow(block, vp0)
    await follower.settled()
    expect(ledger.height()).toBe(5)
  })
})
