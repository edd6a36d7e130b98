import { afterEach, describe, expect, it } from 'vitest'
import type { ConsenterOptions } from '../../../../src/core/consensus/consenter.js'
import {
  DEFAULT_NOOPS_BLOCK_SIZE,
  DEFAULT_NOOPS_BLOCK_WAIT_MS,
  DEFAULT_NOOPS_RETRY_MS,
  NOOPS_PROBE_BLOCKS,
  createNoopsConsenter,
  encodeNoopsMessage,
  type NoopsConsenter,
} from '../../../../src/core/consensus/noops/index.js'
import { createMemoryLedger } from '../../../../src/core/ledger/memory-ledger.js'
import { toHex } from '../../../../src/core/util/bytes.js'
import { MessageType } from '../../../../src/core/wire/message-type.js'
import type { Block, PeerRole } from '../../../../src/core/wire/payload-types.js'
import { decodePayload } from '../../../../src/core/wire/payloads.js'
import { FakeNetwork, type FakeStack } from '../../../support/fake-network.js'
import { testSeed } from '../../../support/test-seed.js'

let net: FakeNetwork | undefined

afterEach(async () => {
  await net?.stop()
  // Nothing keeps running after stop: no timers left on the clock.
  if (net !== undefined) expect(net.clock.pending).toBe(0)
  net = undefined
})

interface Setup {
  validators?: number
  nonValidators?: { id: string; consenter: boolean }[]
  options?: ConsenterOptions
  seed?: number
  maxBlocksPerSync?: number
}

function addNoops(n: FakeNetwork, id: string, role: PeerRole, options: ConsenterOptions = {}): FakeStack {
  const stack = n.addPeer(id, role)
  n.attach(id, createNoopsConsenter(stack, options))
  return stack
}

async function setup({ validators = 4, nonValidators = [], options = {}, seed, maxBlocksPerSync }: Setup = {}): Promise<FakeNetwork> {
  net = new FakeNetwork({ seed, maxBlocksPerSync })
  for (let i = 0; i < validators; i++) addNoops(net, `vp${i}`, 'validator', options)
  for (const nv of nonValidators) {
    if (nv.consenter) addNoops(net, nv.id, 'non-validator', options)
    else net.addPeer(nv.id, 'non-validator')
  }
  net.connectAll()
  await net.start()
  await net.flush()
  return net
}

const noops = (n: FakeNetwork, id: string) => n.peer(id).consenter as NoopsConsenter

function chainOf(stack: FakeStack): string[] {
  return stack.ledger.getBlocks(0, stack.ledger.height()).map((b) => toHex(stack.ledger.hashBlock(b)))
}

/** All the given peers hold the same chain; returns its height. */
function expectSameChain(n: FakeNetwork, ids: string[]): number {
  const [first, ...rest] = ids.map((id) => n.peer(id))
  for (const stack of rest) {
    expect(stack.ledger.height(), `${stack.id} height`).toBe(first!.ledger.height())
    expect(toHex(stack.ledger.headHash()), `${stack.id} head`).toBe(toHex(first!.ledger.headHash()))
    expect(chainOf(stack)).toEqual(chainOf(first!))
  }
  return first!.ledger.height()
}

const validatorIds = (count = 4) => Array.from({ length: count }, (_, i) => `vp${i}`)
const committedTxids = (stack: FakeStack): string[] =>
  stack.ledger.getBlocks(1, stack.ledger.height()).flatMap((b) => b.transactions.map((t) => t.txid))

describe('noops consenter', () => {
  it('cuts a full batch of blockSize transactions at once', async () => {
    const n = await setup()
    for (let i = 0; i < DEFAULT_NOOPS_BLOCK_SIZE; i++) n.submit('vp0', `k${i}=${i}`)
    await n.flush()
    expect(n.clock.now()).toBe(0)
    const block = n.peer('vp0').ledger.getBlock(1)!
    expect(block.transactions).toHaveLength(DEFAULT_NOOPS_BLOCK_SIZE)
    expect(block.proposer).toBe('vp0')
    expect(expectSameChain(n, validatorIds())).toBe(2)
    expect(noops(n, 'vp0').status()).toMatchObject({ leader: 'vp0', blocksProposed: 1, pending: 0 })
    expect(noops(n, 'vp1').status()).toMatchObject({ leader: 'vp0', blocksApplied: 1, blocksProposed: 0 })
  })

  it('cuts a partial batch blockWaitMs after its first transaction, not before', async () => {
    const n = await setup()
    n.submit('vp0', 'a=1')
    await n.advance(100)
    n.submit('vp0', 'b=2')
    n.submit('vp0', 'c=3')
    await n.advance(DEFAULT_NOOPS_BLOCK_WAIT_MS - 101)
    expect(n.peer('vp0').ledger.height()).toBe(1)
    expect(noops(n, 'vp0').status().pending).toBe(3)
    await n.advance(1)
    const block = n.peer('vp0').ledger.getBlock(1)!
    expect(block.transactions.map((t) => t.payload)).toEqual(['a=1', 'b=2', 'c=3'])
    expect(block.timestamp).toBe(DEFAULT_NOOPS_BLOCK_WAIT_MS)
    expect(expectSameChain(n, validatorIds())).toBe(2)
  })

  it('keeps blocks under blockMaxBytes', async () => {
    const n = await setup({ options: { blockMaxBytes: 100 } })
    const txs = Array.from({ length: 6 }, (_, i) => n.submit('vp0', `key${i}=${'v'.repeat(25)}`))
    await n.advance(DEFAULT_NOOPS_BLOCK_WAIT_MS)
    const size = (t: { txid: string; payload: string; origin: string }) => t.txid.length + t.payload.length + t.origin.length
    const blocks = n.peer('vp0').ledger.getBlocks(1, 100)
    expect(blocks.length).toBeGreaterThan(1)
    for (const block of blocks) expect(block.transactions.reduce((sum, t) => sum + size(t), 0)).toBeLessThanOrEqual(100)
    expect(committedTxids(n.peer('vp0'))).toEqual(txs.map((t) => t.txid))
    expectSameChain(n, validatorIds())
  })

  it('commits transactions submitted at different validators in the same blocks everywhere', async () => {
    const seed = testSeed('noops same-blocks')
    const n = await setup({ seed, options: { blockSize: 7 } })
    const submitted: string[] = []
    for (let round = 0; round < 5; round++) {
      for (const id of validatorIds()) for (let i = 0; i < 3; i++) submitted.push(n.submit(id, `${id}-${round}-${i}=x`).txid)
      await n.advance(round * 150)
    }
    await n.advance(DEFAULT_NOOPS_BLOCK_WAIT_MS)
    const height = expectSameChain(n, validatorIds())
    expect(height).toBeGreaterThan(2)
    const vp2 = n.peer('vp2')
    expect(committedTxids(vp2).sort()).toEqual([...submitted].sort())
    for (const block of vp2.ledger.getBlocks(1, height)) {
      expect(block.proposer).toBe('vp0')
      expect(block.transactions.length).toBeLessThanOrEqual(7)
    }
    for (const id of validatorIds()) expect(noops(n, id).status()).toMatchObject({ rejected: 0, dropped: 0, pending: 0, inFlight: 0 })
    expect(n.errors).toEqual([])
  })

  it('executes a transaction submitted twice once', async () => {
    const n = await setup()
    n.submit('vp1', 'a=1', 'same')
    n.submit('vp2', 'a=2', 'same')
    n.submit('vp0', 'a=3', 'same')
    await n.advance(DEFAULT_NOOPS_BLOCK_WAIT_MS)
    expect(committedTxids(n.peer('vp3'))).toEqual(['same'])
    n.submit('vp3', 'a=4', 'same')
    await n.advance(DEFAULT_NOOPS_BLOCK_WAIT_MS)
    expect(expectSameChain(n, validatorIds())).toBe(2)
  })

  it('has every validator send SYNC_BLOCK_ADDED to non-validators, and forwards their transactions to the leader', async () => {
    const n = await setup({ nonValidators: [{ id: 'nv0', consenter: false }, { id: 'nv1', consenter: true }] })
    n.submit('nv1', 'from=client')
    await n.advance(DEFAULT_NOOPS_BLOCK_WAIT_MS)
    await n.flush()
    const block = n.peer('vp0').ledger.getBlock(1)!
    expect(block.transactions.map((t) => t.origin)).toEqual(['nv1'])
    for (const id of ['nv0', 'nv1']) {
      const added = n.peer(id).inbox.filter((m) => m.envelope.type === MessageType.SYNC_BLOCK_ADDED)
      // The leader first, then each validator once it applied the block (issue #16).
      expect(added[0]!.from).toBe('vp0')
      expect(added.map((m) => m.from).sort()).toEqual(validatorIds())
      for (const m of added) {
        const sent = decodePayload(MessageType.SYNC_BLOCK_ADDED, m.envelope.payload).block
        expect(toHex(n.peer('vp0').ledger.hashBlock(sent))).toBe(toHex(n.peer('vp0').ledger.headHash()))
      }
    }
    // Validators got the block as CONSENSUS, never as SYNC_BLOCK_ADDED.
    for (const id of validatorIds()) expect(n.peer(id).inbox).toEqual([])
    expectSameChain(n, [...validatorIds(), 'nv0', 'nv1'])
  })

  it('announces blocks to a non-validator linked only to a validator that does not lead', async () => {
    const n = await setup({ nonValidators: [{ id: 'nv0', consenter: true }] })
    for (const id of ['vp0', 'vp1', 'vp2']) n.disconnect('nv0', id)
    for (let i = 0; i < 3; i++) {
      n.submit('vp1', `k${i}=${i}`)
      await n.advance(DEFAULT_NOOPS_BLOCK_WAIT_MS)
    }
    await n.flush()
    const added = n.peer('nv0').inbox.filter((m) => m.envelope.type === MessageType.SYNC_BLOCK_ADDED)
    expect(added.map((m) => m.from)).toEqual(['vp3', 'vp3', 'vp3'])
    expect(expectSameChain(n, [...validatorIds(), 'nv0'])).toBe(4)
  })

  it('lets a validator that missed blocks fetch the gap before applying the next one', async () => {
    const n = await setup({ options: { blockSize: 2 }, maxBlocksPerSync: 1 })
    n.disconnect('vp0', 'vp3')
    for (let i = 0; i < 4; i++) n.submit('vp0', `k${i}=${i}`)
    await n.flush()
    expect(n.peer('vp0').ledger.height()).toBe(3)
    expect(n.peer('vp3').ledger.height()).toBe(1)
    n.connect('vp0', 'vp3')
    n.submit('vp1', 'x=1')
    n.submit('vp1', 'y=1')
    await n.flush()
    expect(n.clock.now()).toBe(0)
    expect(expectSameChain(n, validatorIds())).toBe(4)
    // Answers hold one block each here, so the gap took one call per block.
    expect(n.fetches.filter((f) => f.by === 'vp3')).toEqual([
      { by: 'vp3', from: 'vp0', start: 1, end: 2, returned: 1 },
      { by: 'vp3', from: 'vp0', start: 2, end: 2, returned: 1 },
    ])
    expect(noops(n, 'vp3').status()).toMatchObject({ blocksApplied: 3, rejected: 0 })
  })

  it('lets a validator that missed blocks catch up on its own from known heights', async () => {
    const n = await setup({ options: { blockSize: 1 } })
    n.isolate('vp3')
    n.submit('vp0', 'a=1')
    n.submit('vp0', 'b=1')
    await n.flush()
    n.connectAll()
    await n.advance(DEFAULT_NOOPS_RETRY_MS)
    expect(expectSameChain(n, validatorIds())).toBe(3)
    expect(n.fetches.some((f) => f.by === 'vp3' && f.returned > 0)).toBe(true)
  })

  it('tries a claim it could not fetch again, with backoff, on a network that stays quiet', async () => {
    const n = await setup({ validators: 2, options: { blockSize: 1 } })
    n.isolate('vp1')
    n.submit('vp0', 'a=1')
    await n.flush()
    // Two answers fail (a timeout under load, say), then the third gets through; nothing else is sent.
    n.failFetches('vp1', 2)
    n.connectAll()
    const failed = () => n.fetches.filter((f) => f.by === 'vp1' && f.returned === -1).length
    await n.advance(DEFAULT_NOOPS_RETRY_MS)
    expect(failed()).toBe(1)
    expect(n.peer('vp1').ledger.height()).toBe(1)
    // The next tries come later each time (retryMs, then twice that): no fetch every tick at a peer that cannot answer.
    await n.advance(DEFAULT_NOOPS_RETRY_MS)
    expect(failed()).toBe(1)
    await n.advance(DEFAULT_NOOPS_RETRY_MS)
    expect(failed()).toBe(2)
    for (let i = 0; i < 4 && n.peer('vp1').ledger.height() < 2; i++) await n.advance(DEFAULT_NOOPS_RETRY_MS)
    expect(expectSameChain(n, validatorIds(2))).toBe(2)
  })

  it('asks again from its head after a fetched block the ledger refused, and gives the claim up when the next answer applies nothing', async () => {
    net = new FakeNetwork()
    // vp0 serves its block 2 with a state hash that re-execution does not give.
    const served = createMemoryLedger()
    const forged = (b: Block): Block => (b.number === 2 ? { ...structuredClone(b), stateHash: new Uint8Array(32) } : b)
    const ledger = new Proxy(served, {
      get: (target, key) => {
        if (key === 'getBlocks') return (start: number, end: number, max?: number) => target.getBlocks(start, end, max).map(forged)
        const value: unknown = Reflect.get(target, key)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    net.attach('vp0', createNoopsConsenter(net.addPeer('vp0', 'validator', { ledger }), { blockSize: 1 }))
    addNoops(net, 'vp1', 'validator', { blockSize: 1 })
    await net.start()
    for (const tx of ['a=1', 'b=1', 'c=1']) net.submit('vp0', tx)
    await net.flush()
    expect(served.height()).toBe(4)
    net.connectAll()
    await net.advance(DEFAULT_NOOPS_RETRY_MS)
    expect(net.fetches.filter((f) => f.by === 'vp1')).toEqual([
      { by: 'vp1', from: 'vp0', start: 1, end: 3, returned: 3 },
      { by: 'vp1', from: 'vp0', start: 2, end: 3, returned: 2 },
    ])
    expect(net.peer('vp1').logged('warn', 'noops block refused by the ledger')).toHaveLength(2)
    expect(noops(net, 'vp1').status()).toMatchObject({ blocksApplied: 1, rejected: 2 })
    expect(net.peer('vp1').ledger.height()).toBe(2)
  })

  it('asks the leader on a quiet network when its last block never arrived and no height showed it', async () => {
    const n = await setup({ validators: 2, options: { blockSize: 1 } })
    // The leader's block message to vp1 is lost (vp1's link was not up yet, say); nothing else tells vp1.
    n.filter = (m) => !(m.to === 'vp1' && m.envelope.type === MessageType.CONSENSUS)
    n.submit('vp0', 'a=1')
    await n.flush()
    n.filter = undefined
    expect([n.peer('vp0').ledger.height(), n.peer('vp1').ledger.height()]).toEqual([2, 1])
    await n.advance(DEFAULT_NOOPS_RETRY_MS)
    expect(expectSameChain(n, validatorIds(2))).toBe(2)
    // One ask brings the block, the next brings nothing and ends the probe.
    expect(n.fetches.filter((f) => f.by === 'vp1')).toEqual([
      { by: 'vp1', from: 'vp0', start: 1, end: NOOPS_PROBE_BLOCKS, returned: 1 },
      { by: 'vp1', from: 'vp0', start: 2, end: NOOPS_PROBE_BLOCKS + 1, returned: 0 },
    ])
  })

  it('ignores stale blocks and counts blocks the ledger refuses', async () => {
    const n = await setup({ options: { blockSize: 1 } })
    n.submit('vp0', 'a=1')
    await n.flush()
    const good = n.peer('vp0').ledger.getBlock(1)!
    const consensus = (block: Block) => ({ type: MessageType.CONSENSUS, payload: encodeNoopsMessage({ kind: 'block', block }) })
    // Stale: block 1 again.
    n.enqueue({ from: 'vp0', to: 'vp1', envelope: consensus(good) })
    // Next number, but a state hash that does not match re-execution.
    const forged: Block = { ...structuredClone(good), number: 2, previousBlockHash: n.peer('vp1').ledger.headHash() }
    n.enqueue({ from: 'vp2', to: 'vp1', envelope: consensus(forged) })
    // Not msgpack at all.
    n.enqueue({ from: 'vp2', to: 'vp1', envelope: { type: MessageType.CONSENSUS, payload: new Uint8Array([0xc1, 0xff]) } })
    await n.flush()
    expect(noops(n, 'vp1').status()).toMatchObject({ blocksApplied: 1, rejected: 1, invalid: 1 })
    expect(n.peer('vp1').logged('warn', 'noops block refused by the ledger')).toHaveLength(1)
    expect(expectSameChain(n, validatorIds())).toBe(2)
    expect(n.errors).toEqual([])
  })

  it('moves leadership to the next lowest validator when the leader disconnects, resending what it held', async () => {
    const n = await setup()
    n.submit('vp1', 'before=1')
    await n.advance(DEFAULT_NOOPS_BLOCK_WAIT_MS)
    expect(expectSameChain(n, validatorIds())).toBe(2)
    // vp0 gets this one but leaves before cutting it.
    const lost = n.submit('vp2', 'held=1')
    await n.flush()
    expect(noops(n, 'vp0').status().pending).toBe(1)
    n.isolate('vp0')
    const after = n.submit('vp3', 'after=1')
    await n.advance(DEFAULT_NOOPS_BLOCK_WAIT_MS + DEFAULT_NOOPS_RETRY_MS)
    const rest = ['vp1', 'vp2', 'vp3']
    const height = expectSameChain(n, rest)
    // vp2 notices the change on its next housekeeping tick, so its resend may land in a later block.
    for (const block of n.peer('vp1').ledger.getBlocks(2, height)) expect(block.proposer).toBe('vp1')
    expect(committedTxids(n.peer('vp3')).slice(1).sort()).toEqual([after.txid, lost.txid].sort())
    for (const id of rest) expect(noops(n, id).status().leader).toBe('vp1')
    // No fault tolerance: the isolated vp0 still leads itself and cut what it held into a fork.
    expect(committedTxids(n.peer('vp0')).slice(1)).toEqual([lost.txid])
    expect(toHex(n.peer('vp0').ledger.getBlock(2)!.stateHash)).not.toBe(toHex(n.peer('vp1').ledger.getBlock(2)!.stateHash))
  })

  it('makes a restarted lowest-ID validator with an empty ledger catch up before it proposes', async () => {
    const n = await setup({ maxBlocksPerSync: 2 })
    for (let i = 0; i < 3; i++) {
      n.submit(`vp${i + 1}`, `round=${i}`)
      await n.advance(DEFAULT_NOOPS_BLOCK_WAIT_MS)
    }
    await n.removePeer('vp0')
    for (let i = 0; i < 2; i++) {
      n.submit('vp2', `without-vp0=${i}`)
      await n.advance(DEFAULT_NOOPS_BLOCK_WAIT_MS + DEFAULT_NOOPS_RETRY_MS)
    }
    const rest = ['vp1', 'vp2', 'vp3']
    expect(expectSameChain(n, rest)).toBe(6)
    expect(n.peer('vp1').ledger.getBlock(5)!.proposer).toBe('vp1')

    const vp0 = n.addPeer('vp0', 'validator', { ledger: createMemoryLedger() })
    const fresh = n.attach('vp0', createNoopsConsenter(vp0, {})) as NoopsConsenter
    for (const id of rest) n.connect('vp0', id)
    await fresh.start()
    n.submit('vp3', 'back=1')
    await n.advance(DEFAULT_NOOPS_BLOCK_WAIT_MS)
    expect(expectSameChain(n, validatorIds())).toBe(7)
    const newest = vp0.ledger.getBlock(6)!
    expect(newest.proposer).toBe('vp0')
    expect(newest.transactions.map((t) => t.payload)).toEqual(['back=1'])
    expect(fresh.status()).toMatchObject({ blocksProposed: 1, blocksApplied: 5, rejected: 0 })
    for (const id of rest) expect(noops(n, id).status().rejected).toBe(0)
    expect(n.fetches.filter((f) => f.by === 'vp0').reduce((sum, f) => sum + f.returned, 0)).toBe(5)
  })

  it('re-forwards a transaction once when views of the leader differ', async () => {
    const n = await setup({ options: { blockSize: 1 } })
    n.disconnect('vp0', 'vp3')
    const tx = n.submit('vp3', 'hop=1')
    await n.flush()
    expect(noops(n, 'vp3').status().leader).toBe('vp1')
    expect(noops(n, 'vp1').status()).toMatchObject({ leader: 'vp0', forwarded: 1 })
    expect(committedTxids(n.peer('vp0'))).toEqual([tx.txid])
    expectSameChain(n, ['vp0', 'vp1', 'vp2'])
  })

  it('holds transactions while no leader is reachable, drops past maxPending, forwards when one appears', async () => {
    const n = await setup({ validators: 1, nonValidators: [{ id: 'nv0', consenter: true }], options: { maxPending: 3 } })
    n.disconnect('vp0', 'nv0')
    for (let i = 0; i < 5; i++) n.submit('nv0', `k${i}=v`)
    await n.flush()
    expect(noops(n, 'nv0').status()).toMatchObject({ leader: null, pending: 3, dropped: 2 })
    expect(n.peer('nv0').logged('warn', 'transactions dropped')).toHaveLength(1)
    n.connect('vp0', 'nv0')
    await n.advance(DEFAULT_NOOPS_RETRY_MS + DEFAULT_NOOPS_BLOCK_WAIT_MS)
    expect(n.peer('vp0').ledger.getBlock(1)!.transactions.map((t) => t.payload)).toEqual(['k0=v', 'k1=v', 'k2=v'])
    expect(noops(n, 'nv0').status()).toMatchObject({ leader: 'vp0', pending: 0, inFlight: 0, forwarded: 3 })
  })

  it('refuses options that are not positive integers', () => {
    const stack = new FakeNetwork().addPeer('vp0')
    for (const bad of [{ blockSize: 0 }, { blockWaitMs: -1 }, { maxPending: 1.5 }, { retryMs: '10' }]) {
      expect(() => createNoopsConsenter(stack, bad)).toThrow(/noops option/)
    }
  })

  it('refuses blocks larger than one sync answer carries', () => {
    const stack = new FakeNetwork().addPeer('vp0')
    expect(() => createNoopsConsenter(stack, { blockMaxBytes: 512 * 1024 + 1 })).toThrow(/blockMaxBytes must be at most 524288/)
  })

  it('stops cleanly: timers cleared, later messages ignored', async () => {
    const n = await setup()
    n.submit('vp0', 'a=1')
    await n.flush()
    await n.stop()
    expect(n.clock.pending).toBe(0)
    n.submit('vp0', 'b=1')
    await n.advance(DEFAULT_NOOPS_BLOCK_WAIT_MS)
    expect(n.peer('vp0').ledger.height()).toBe(1)
  })
})
