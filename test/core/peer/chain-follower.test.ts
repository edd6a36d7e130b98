import { describe, expect, it } from 'vitest'
import { ChainFollower, type FetchBlocks } from '../../../src/core/peer/chain-follower.js'
import type { Ledger } from '../../../src/core/ledger/ledger.js'
import { createMemoryLedger } from '../../../src/core/ledger/memory-ledger.js'
import type { LogFields, Logger } from '../../../src/core/util/logger.js'
import { toHex } from '../../../src/core/util/bytes.js'
import { sourceChain } from '../../support/chains.js'

function warnings(): { log: Logger; warned: { msg: string; fields: LogFields | undefined }[] } {
  const warned: { msg: string; fields: LogFields | undefined }[] = []
  const log: Logger = { debug: () => undefined, info: () => undefined, warn: (msg, fields) => warned.push({ msg, fields }), error: () => undefined, child: () => log }
  return { log, warned }
}

/** Answers from `source`, at most `cap` blocks an answer, counting requests; `fail` makes the next answers fail. */
function fetcher(source: Ledger, cap = 3): { fetch: FetchBlocks; requests: [number, number][]; fail: { count: number } } {
  const requests: [number, number][] = []
  const fail = { count: 0 }
  const fetch: FetchBlocks = (_peer, start, end) => {
    requests.push([start, end])
    if (fail.count > 0) {
      fail.count--
      return Promise.reject(new Error('no answer'))
    }
    return Promise.resolve(source.getBlocks(start, end, cap))
  }
  return { fetch, requests, fail }
}

const vp0 = { id: 'vp0', label: 'vp0' }

describe('chain follower', () => {
  it('applies an announced block that is next, and fetches the gap before one that is not, in capped answers', async () => {
    const source = sourceChain(10)
    const ledger = createMemoryLedger()
    const { fetch, requests } = fetcher(source)
    const follower = new ChainFollower(ledger, warnings().log, fetch)
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
    expect(requests).toEqual([[2, 8], [5, 8], [8, 8]])
  })

  it('catches up to a claimed height, and reports a failed fetch without stopping later steps', async () => {
    const source = sourceChain(6)
    const ledger = createMemoryLedger()
    const { fetch, fail } = fetcher(source, 100)
    const { log, warned } = warnings()
    const follower = new ChainFollower(ledger, log, fetch)
    fail.count = 1
    follower.catchUp(vp0, 7)
    follower.catchUp(vp0, 4)
    await follower.settled()
    expect(warned).toEqual([{ msg: 'could not catch up', fields: expect.objectContaining({ remotePeer: 'vp0', height: 7 }) as LogFields }])
    expect(ledger.height()).toBe(4)
    // Already there: nothing is asked.
    follower.catchUp(vp0, 3)
    expect(follower.busy).toBe(false)
  })

  it('retries from the source that claimed the greatest height, only when no step is pending', async () => {
    const source = sourceChain(8)
    const ledger = createMemoryLedger()
    const { fetch, requests } = fetcher(source, 100)
    const follower = new ChainFollower(ledger, warnings().log, fetch)
    const vp1 = { id: 'vp1', label: 'vp1' }
    follower.retry([[vp0, 5], [vp1, 9], [{ id: 'vp2', label: 'vp2' }, 1]])
    expect(follower.busy).toBe(true)
    follower.retry([[vp0, 9]])
    await follower.settled()
    expect(ledger.height()).toBe(9)
    expect(requests).toEqual([[1, 8]])
    follower.retry([[vp1, 9]])
    expect(follower.busy).toBe(false)
  })

  it('stops a range at an empty answer or a block out of order', async () => {
    const source = sourceChain(6)
    const follower = new ChainFollower(createMemoryLedger(), warnings().log, (_peer, start, end) =>
      Promise.resolve(start === 1 ? source.getBlocks(1, 2) : start === 3 ? [source.getBlock(4)!] : source.getBlocks(start, end)),
    )
    expect((await follower.fetchRange('vp0', 1, 6)).map((b) => b.number)).toEqual([1, 2])
    const empty = new ChainFollower(createMemoryLedger(), warnings().log, () => Promise.resolve([]))
    expect(await empty.fetchRange('vp0', 1, 6)).toEqual([])
  })
})
