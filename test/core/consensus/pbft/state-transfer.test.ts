/**
 * transferState on its own: targets are (sequence number, head hash) and null requests make no
 * block, so the target block is found by hash at or below block n, and our own head may already be
 * the target.
 */
import { describe, expect, it } from 'vitest'
import { PBFT_MAX_FETCHES_PER_PEER, transferState } from '../../../../src/core/consensus/pbft/state-transfer.js'
import type { Ledger } from '../../../../src/core/ledger/ledger.js'
import { toHex } from '../../../../src/core/util/bytes.js'
import { FakeNetwork } from '../../../support/fake-network.js'

function grow(ledger: Ledger, blocks: number, tag: string): void {
  for (let i = 0; i < blocks; i++) {
    const id = `${tag}${i}`
    ledger.beginTxBatch(id)
    ledger.execTxs(id, [{ txid: id, payload: `${id}=1`, timestamp: i, origin: 'vp0' }])
    ledger.commitTxBatch(id, { timestamp: 1000 + i, proposer: 'vp0' })
  }
}

function network(maxBlocksPerSync?: number): FakeNetwork {
  const net = new FakeNetwork(maxBlocksPerSync === undefined ? {} : { maxBlocksPerSync })
  for (const id of ['vp0', 'vp1', 'vp2', 'vp3']) net.addPeer(id)
  net.connectAll()
  return net
}

const headOf = (ledger: Ledger) => toHex(ledger.headHash())

describe('pbft state transfer', () => {
  it('needs no block when our head already is the target (only null requests since)', async () => {
    const net = network()
    const me = net.peer('vp3')
    grow(me.ledger, 2, 'a')
    const applied = await transferState(me, { n: 30, d: headOf(me.ledger) }, ['vp0'], new AbortController().signal)
    expect(applied).toEqual([])
    expect(net.fetches).toEqual([])
  })

  it('stops at the block hashing to the target, below block n, and applies only up to it', async () => {
    const net = network()
    const source = net.peer('vp0').ledger
    grow(source, 3, 'b')
    const target = { n: 12, d: headOf(source) } // sequence 12 executed 9 null requests: its head is block 3
    grow(source, 4, 'c') // the source went on since
    const me = net.peer('vp3')
    const applied = await transferState(me, target, ['vp0'], new AbortController().signal)
    expect(applied?.map((b) => b.number)).toEqual([1, 2, 3])
    expect(me.ledger.height()).toBe(4)
    expect(headOf(me.ledger)).toBe(target.d)
  })

  it('refuses a peer whose chain does not reach the target and tries the next one', async () => {
    const net = network()
    grow(net.peer('vp0').ledger, 3, 'good')
    grow(net.peer('vp1').ledger, 3, 'fork')
    const target = { n: 10, d: headOf(net.peer('vp0').ledger) }
    const me = net.peer('vp3')
    const applied = await transferState(me, target, ['vp1', 'vp0'], new AbortController().signal)
    expect([...new Set(net.fetches.map((f) => f.from))]).toEqual(['vp1', 'vp0'])
    expect(applied).toHaveLength(3)
    expect(headOf(me.ledger)).toBe(target.d)
  })

  it('reports failure (undefined), not success, when no peer reaches the target', async () => {
    const net = network()
    grow(net.peer('vp1').ledger, 3, 'fork')
    const me = net.peer('vp3')
    const applied = await transferState(me, { n: 10, d: 'ab'.repeat(32) }, ['vp1', 'vp2'], new AbortController().signal)
    expect(applied).toBeUndefined()
    expect(me.ledger.height()).toBe(1)
  })

  it('asks one peer PBFT_MAX_FETCHES_PER_PEER times at most, then tries the next', async () => {
    const net = network(1)
    for (const id of ['vp0', 'vp1']) grow(net.peer(id).ledger, PBFT_MAX_FETCHES_PER_PEER + 1, 'same')
    const me = net.peer('vp3')
    const far = { n: PBFT_MAX_FETCHES_PER_PEER + 1, d: headOf(net.peer('vp0').ledger) }
    expect(await transferState(me, far, ['vp0', 'vp1'], new AbortController().signal)).toBeUndefined()
    expect(net.fetches.map((f) => f.from)).toEqual([...Array<string>(PBFT_MAX_FETCHES_PER_PEER).fill('vp0'), ...Array<string>(PBFT_MAX_FETCHES_PER_PEER).fill('vp1')])
    expect(me.ledger.height()).toBe(1)
    // One block nearer, the cap is enough.
    const near = { n: PBFT_MAX_FETCHES_PER_PEER, d: toHex(net.peer('vp0').ledger.blockHash(PBFT_MAX_FETCHES_PER_PEER)!) }
    expect(await transferState(me, near, ['vp0'], new AbortController().signal)).toHaveLength(PBFT_MAX_FETCHES_PER_PEER)
    expect(headOf(me.ledger)).toBe(near.d)
  })
})
