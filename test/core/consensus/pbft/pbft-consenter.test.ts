import { describe, expect, it, vi } from 'vitest'
import type { Block } from '../../../../src/core/wire/payload-types.js'
import type { Clock } from '../../../../src/core/util/clock.js'
import { decodePbftMessage, encodePbftMessage } from '../../../../src/core/consensus/pbft/index.js'
import { createConsenter } from '../../../../src/core/consensus/registry.js'
import { PBFT_MIN_BATCH_MAX_BYTES } from '../../../../src/core/consensus/pbft/config.js'
import { MessageType } from '../../../../src/core/wire/message-type.js'
import { decodePayload } from '../../../../src/core/wire/payloads.js'
import { TimeoutError } from '../../../../src/core/errors.js'
import { PBFT_TEST_VALIDATORS, expectSameChains, pbftOf, usePbftFakeNetwork } from '../../../support/pbft-fake-network.js'
import { FakeNetwork } from '../../../support/fake-network.js'

const validators = [...PBFT_TEST_VALIDATORS]
const { setup, setupWithFollower, addReplica, track } = usePbftFakeNetwork()
const pbft = pbftOf

describe('pbft consenter on a fake network', () => {
  it('orders requests into identical blocks on every replica, stamped by the primary', async () => {
    const n = await setup({ batchSize: 10 })
    const txs = Array.from({ length: 25 }, (_, i) => n.submit(`vp${(i % 3) + 1}`, `k${i}=v${i}`))
    await n.advance(3000)
    const height = expectSameChains(n.stacks())
    expect(height).toBeGreaterThanOrEqual(4)
    const ledger = n.peer('vp2').ledger
    for (const tx of txs) expect(ledger.hasTransaction(tx.txid)).toBe(true)
    const blocks = ledger.getBlocks(1, height)
    expect(blocks.every((b) => b.proposer === 'vp0')).toBe(true)
    expect(blocks.reduce((sum, b) => sum + b.transactions.length, 0)).toBe(25)
    expect(pbft(n, 'vp3').status()).toMatchObject({ view: 0, primary: 0, active: true, replica: 3, lastExec: height - 1 })
  })

  it('cuts a full batch at once and the rest after it', async () => {
    const n = await setup({ batchSize: 5, batchTimeoutMs: 1000 })
    for (let i = 0; i < 7; i++) n.submit('vp1', `a${i}=1`)
    await n.advance(100)
    expect(n.peer('vp3').ledger.height()).toBeGreaterThanOrEqual(2) // the full batch of 5
    expect(n.peer('vp3').ledger.getBlock(1)?.transactions).toHaveLength(5)
    await n.advance(1000)
    expect(n.peer('vp3').ledger.height()).toBe(3) // the remaining 2
    expect(n.peer('vp3').ledger.getBlock(2)?.transactions).toHaveLength(2)
  })

  it('cuts batches by bytes as well as by count, so every block fits in a sync answer', async () => {
    const n = await setup({ batchSize: 100, batchTimeoutMs: 1000, batchMaxBytes: PBFT_MIN_BATCH_MAX_BYTES })
    const big = 'x'.repeat(100 * 1024)
    for (let i = 0; i < 5; i++) n.submit('vp1', `big${i}=${big}`)
    await n.advance(3000)
    expectSameChains(n.stacks())
    // 257 KiB hold two transactions of 100 KiB, not three.
    expect(n.peer('vp3').ledger.getBlocks(1, 10).map((b) => b.transactions.length)).toEqual([2, 2, 1])
  })

  it('cuts a partial batch at once when nothing is in flight, else on the batch timer', async () => {
    const n = await setup({ batchSize: 5, batchTimeoutMs: 1000 })
    // At the primary, one request at a time: the first finds the pipeline idle, the next five
    // fill a batch while it is in flight, and the last waits for the timer.
    for (let i = 0; i < 7; i++) n.submit('vp0', `b${i}=1`)
    await n.advance(100)
    const sizes = (): number[] => n.peer('vp3').ledger.getBlocks(1, 10).map((b) => b.transactions.length)
    expect(sizes()).toEqual([1, 5])
    await n.advance(1000)
    expect(sizes()).toEqual([1, 5, 1])
  })

  it('executes a transaction submitted at two replicas once', async () => {
    const n = await setup({ batchSize: 10 })
    n.submit('vp1', 'x=1', 'dup')
    n.submit('vp2', 'x=1', 'dup')
    await n.advance(3000)
    expectSameChains(n.stacks())
    const all = n.peer('vp0').ledger.getBlocks(1, 100).flatMap((b) => b.transactions.map((t) => t.txid))
    expect(all).toEqual(['dup'])
  })

  it('refuses a message whose replica id is not the sender\'s, and one from outside the validator set', async () => {
    const n = await setup()
    const payload = encodePbftMessage({ t: 'c', v: 0, n: 1, r: 1, d: 'ab'.repeat(32) })
    n.addPeer('nv0', 'non-validator')
    n.connect('nv0', 'vp0')
    n.enqueue({ from: 'vp2', to: 'vp0', envelope: { type: MessageType.CONSENSUS, payload } })
    n.enqueue({ from: 'nv0', to: 'vp0', envelope: { type: MessageType.CONSENSUS, payload } })
    n.enqueue({ from: 'vp2', to: 'vp0', envelope: { type: MessageType.CONSENSUS, payload: new Uint8Array([0xc1]) } })
    await n.flush()
    expect(pbft(n, 'vp0').status()).toMatchObject({ refused: 2, invalid: 1 })
    expect(n.errors).toEqual([])
  })

  it('moves the low watermark at stable checkpoints and drops old state', async () => {
    const n = await setup({ batchSize: 1, k: 5, logMultiplier: 2 })
    for (let i = 0; i < 23; i++) {
      n.submit('vp1', `c${i}=1`)
      await n.advance(20)
    }
    await n.advance(2000)
    expectSameChains(n.stacks())
    for (const id of validators) expect(pbft(n, id).status()).toMatchObject({ lastExec: 23, h: 20 })
  })

  it('changes view when the primary is cut off, and commits resume under the new primary', async () => {
    const n = await setup({ batchSize: 2 })
    n.submit('vp1', 'before=1')
    n.submit('vp1', 'before=2')
    await n.advance(500)
    expect(n.peer('vp1').ledger.height()).toBe(2)
    n.isolate('vp0')
    const tx = n.submit('vp2', 'after=1')
    await n.advance(15_000)
    const live = ['vp1', 'vp2', 'vp3'].map((id) => n.peer(id))
    expectSameChains(live)
    for (const stack of live) expect(stack.ledger.hasTransaction(tx.txid)).toBe(true)
    const status = pbft(n, 'vp2').status()
    expect(status.view).toBeGreaterThanOrEqual(1)
    expect(status.primary).not.toBe(0)
    expect(status.active).toBe(true)
  })

  it('brings a replica that fell past the watermarks up to date by state transfer', async () => {
    const n = await setup({ batchSize: 1, k: 5, logMultiplier: 2 })
    n.isolate('vp3')
    for (const a of ['vp0', 'vp1', 'vp2']) for (const b of ['vp0', 'vp1', 'vp2']) if (a < b) n.connect(a, b)
    for (let i = 0; i < 30; i++) {
      n.submit('vp1', `s${i}=1`)
      await n.advance(20)
    }
    expect(n.peer('vp3').ledger.height()).toBe(1)
    for (const other of ['vp0', 'vp1', 'vp2']) n.connect('vp3', other)
    for (let i = 0; i < 6; i++) {
      n.submit('vp1', `t${i}=1`)
      await n.advance(20)
    }
    await n.advance(3000)
    expectSameChains(n.stacks())
    expect(pbft(n, 'vp3').status().transfers).toBeGreaterThanOrEqual(1)
    expect(n.fetches.some((f) => f.by === 'vp3')).toBe(true)
  })

  it('logs a throw in the code that runs after a state transfer, instead of leaving an unhandled rejection', async () => {
    const n = await setup({ batchSize: 1, k: 5, logMultiplier: 2 })
    n.isolate('vp3')
    for (const a of ['vp0', 'vp1', 'vp2']) for (const b of ['vp0', 'vp1', 'vp2']) if (a < b) n.connect(a, b)
    for (let i = 0; i < 30; i++) {
      n.submit('vp1', `s${i}=1`)
      await n.advance(20)
    }
    // vp3's first fetch is held until the test releases it (with nothing: the transfer fails).
    const stack = n.peer('vp3')
    let release: ((blocks: Block[]) => void) | undefined
    Object.assign(stack.sync, {
      fetchBlocks: (): Promise<Block[]> => (release === undefined ? new Promise<Block[]>((resolve) => (release = resolve)) : Promise.resolve([])),
    })
    for (const other of ['vp0', 'vp1', 'vp2']) n.connect('vp3', other)
    for (let i = 0; i < 6 && release === undefined; i++) {
      n.submit('vp1', `t${i}=1`)
      await n.advance(20)
    }
    expect(release).toBeDefined()
    // A failed transfer arms its retry timer in that code; make arming it throw.
    const clock = stack.clock
    const failing: Clock = {
      now: () => clock.now(),
      setTimeout: () => {
        throw new Error('clock failed')
      },
      clearTimeout: (handle) => clock.clearTimeout(handle),
    }
    Object.defineProperty(stack, 'clock', { value: failing, configurable: true })
    release!([])
    await vi.waitFor(() => expect(stack.logs.map((r) => r.msg)).toContain('pbft state transfer: applying its result failed'), { timeout: 5000, interval: 5 })
    Object.defineProperty(stack, 'clock', { value: clock, configurable: true })
  })

  it('reports a failing state transfer once, retries it with backoff from every validator, and catches up when fetches work again', async () => {
    const n = await setup({ batchSize: 1, k: 5, logMultiplier: 2 })
    n.isolate('vp3')
    for (const a of ['vp0', 'vp1', 'vp2']) for (const b of ['vp0', 'vp1', 'vp2']) if (a < b) n.connect(a, b)
    for (let i = 0; i < 30; i++) {
      n.submit('vp1', `s${i}=1`)
      await n.advance(20)
    }
    let failing = true
    const fetchBlocks = n.fetchBlocks.bind(n)
    n.fetchBlocks = async (...args) => {
      if (failing) throw new TimeoutError('no answer (test)')
      return fetchBlocks(...args)
    }
    for (const other of ['vp0', 'vp1', 'vp2']) n.connect('vp3', other)
    for (let i = 0; i < 6; i++) {
      n.submit('vp1', `t${i}=1`)
      await n.advance(20)
    }
    await n.advance(20_000)
    const reported = n.peer('vp3').logged('warn', 'pbft state transfer failed; retrying with backoff from every validator')
    expect(reported).toHaveLength(1)
    expect(n.peer('vp3').ledger.height()).toBeLessThan(n.peer('vp0').ledger.height())
    failing = false
    await n.advance(20_000)
    expectSameChains(n.stacks())
    expect(n.peer('vp3').logged('info', 'pbft state transfer succeeded after retries')).toHaveLength(1)
  })

  it('lets a restarted replica with an empty ledger catch up to the same head', async () => {
    const n = await setup({ batchSize: 1, k: 5, logMultiplier: 2 })
    for (let i = 0; i < 12; i++) {
      n.submit('vp1', `r${i}=1`)
      await n.advance(20)
    }
    await n.removePeer('vp2')
    const fresh = addReplica(n, 'vp2', { batchSize: 1, k: 5, logMultiplier: 2 })
    for (const other of ['vp0', 'vp1', 'vp3']) n.connect('vp2', other)
    fresh.start()
    for (let i = 0; i < 10; i++) {
      n.submit('vp1', `q${i}=1`)
      await n.advance(20)
    }
    await n.advance(3000)
    expectSameChains(n.stacks())
    expect(n.peer('vp2').ledger.height()).toBe(23)
  })

  it('lets a restarted replica catch up with no traffic at all: it probes when f+1 validators announced longer chains', async () => {
    const options = { batchSize: 1, k: 5, logMultiplier: 2, resendViewChangeMs: 500 }
    const n = await setup(options)
    for (let i = 0; i < 12; i++) {
      n.submit('vp1', `r${i}=1`)
      await n.advance(20)
    }
    await n.advance(1000)
    const height = n.peer('vp0').ledger.height()
    expect(height).toBe(13)
    await n.removePeer('vp3')
    const fresh = addReplica(n, 'vp3', options)
    for (const other of ['vp0', 'vp1', 'vp2']) n.connect('vp3', other)
    fresh.start()
    // No request from here on: only the probe can reveal the gap.
    await n.advance(2000)
    expectSameChains(n.stacks())
    expect(n.peer('vp3').ledger.height()).toBe(height)
    expect(fresh.status().transfers).toBe(1)
    // Caught up, it probes no more: the others see no stale checkpoint from it again.
    const sent = n.delivered.length
    await n.advance(2000)
    expect(n.delivered.slice(sent).filter((m) => m.from === 'vp3' && m.envelope.type === MessageType.CONSENSUS)).toEqual([])
  })

  it('lets a replica that missed the last few blocks after linking catch up with no traffic: it asks for heads when it falls quiet', async () => {
    const options = { batchSize: 1, k: 5, logMultiplier: 2, resendViewChangeMs: 500 }
    const n = await setup(options)
    for (let i = 0; i < 6; i++) {
      n.submit('vp1', `r${i}=1`)
      await n.advance(20)
    }
    await n.advance(1000)
    // Linked all along (the heights it heard at HELLO are old), vp3 misses every message of the
    // next three requests: fewer than K blocks, so no checkpoint ahead of it is ever sent.
    n.filter = (m) => m.to !== 'vp3'
    for (let i = 0; i < 3; i++) {
      n.submit('vp1', `q${i}=1`)
      await n.advance(20)
    }
    await n.advance(200)
    n.filter = undefined
    expect(n.peer('vp0').ledger.height()).toBe(10)
    expect(n.peer('vp3').ledger.height()).toBe(7)
    expect(n.peerHeightsOf(n.peer('vp3')).get('vp0')).toBe(1)
    // No request from here on.
    await n.advance(3000)
    expectSameChains(n.stacks())
    expect(n.peer('vp3').ledger.height()).toBe(10)
    // Once caught up, every replica has asked once at its height and asks no more.
    const sent = n.delivered.length
    await n.advance(3000)
    expect(n.delivered.slice(sent).filter((m) => m.envelope.type === MessageType.CONSENSUS)).toEqual([])
  })

  it('forwards a non-validator\'s client transactions to the validators', async () => {
    const net = await setupWithFollower({ batchSize: 1 })
    const follower = net.peer('nv0')
    const tx = net.submit('nv0', 'from=outside')
    await net.advance(2000)
    expect(net.peer('vp0').ledger.hasTransaction(tx.txid)).toBe(true)
    // Validators announce blocks to non-validators, which follow them.
    expect(follower.ledger.hasTransaction(tx.txid)).toBe(true)
    expect(pbft(net, 'nv0').status().replica).toBeNull()
  })

  it('forwards a backup\'s client request to the primary only, and to every replica when it waits too long', async () => {
    const n = await setup({ batchSize: 10, batchTimeoutMs: 100, requestTimeoutMs: 1000 })
    const reqs = () =>
      n.delivered
        .filter((m) => m.envelope.type === MessageType.CONSENSUS && decodePbftMessage(m.envelope.payload).t === 'req')
        .map((m) => `${m.from}>${m.to}`)
    const tx = n.submit('vp2', 'fwd=1')
    await n.advance(500)
    expect(reqs()).toEqual(['vp2>vp0'])
    for (const id of validators) expect(n.peer(id).ledger.hasTransaction(tx.txid)).toBe(true)
    // The forward of the next one is lost on its way: the backup re-sends it to all before a view change.
    const isReq = (m: { envelope: { type: number; payload: Uint8Array } }) =>
      m.envelope.type === MessageType.CONSENSUS && decodePbftMessage(m.envelope.payload).t === 'req'
    n.filter = (m) => !(m.from === 'vp2' && m.to === 'vp0' && isReq(m))
    n.delivered.length = 0
    n.submit('vp2', 'fwd=2')
    await n.advance(500)
    expect(reqs()).toEqual([])
    await n.advance(1000)
    expect(reqs().sort()).toEqual(['vp2>vp1', 'vp2>vp3'])
  })

  it('has every replica announce each block to non-validators, each in order', async () => {
    const net = await setupWithFollower({ batchSize: 1 })
    const follower = net.peer('nv0')
    for (let i = 0; i < 5; i++) net.submit('vp1', `a${i}=1`)
    await net.advance(2000)
    const announced = net.delivered.filter((m) => m.envelope.type === MessageType.SYNC_BLOCK_ADDED && m.to === 'nv0')
    expect(new Set(announced.map((m) => m.from))).toEqual(new Set(validators))
    expect(announced).toHaveLength(validators.length * 5)
    for (const id of validators) {
      const numbers = announced.filter((m) => m.from === id).map((m) => decodePayload(MessageType.SYNC_BLOCK_ADDED, m.envelope.payload).block.number)
      expect(numbers).toEqual([1, 2, 3, 4, 5])
    }
    expect(follower.ledger.height()).toBe(6)
  })

  it('announces blocks to a follower linked only to the last replica (above f), which follows them', async () => {
    const net = await setupWithFollower({ batchSize: 1 })
    for (const id of ['vp0', 'vp1', 'vp2']) net.disconnect('nv0', id)
    for (let i = 0; i < 5; i++) net.submit('vp1', `b${i}=1`)
    await net.advance(2000)
    const announced = net.delivered.filter((m) => m.envelope.type === MessageType.SYNC_BLOCK_ADDED && m.to === 'nv0')
    expect(new Set(announced.map((m) => m.from))).toEqual(new Set(['vp3']))
    expect(net.peer('nv0').ledger.height()).toBe(6)
  })

  it('is registered as "pbft"', () => {
    const net = track(new FakeNetwork())
    const consenter = createConsenter('PBFT', net.addPeer('vp0'), { validators })
    expect(consenter.name).toBe('pbft')
  })

  it('sends its view change for a view it left to a replica still collecting for that view, once per resend period', async () => {
    const n = await setup({ viewChangeTimeoutMs: 500, resendViewChangeMs: 2000 })
    // vp3 alone is driven: what it sends is recorded and goes nowhere, and what it gets is made here.
    const fromVp3: { to: string; msg: ReturnType<typeof decodePbftMessage> }[] = []
    n.filter = (m) => {
      if (m.from !== 'vp3') return true
      if (m.envelope.type === MessageType.CONSENSUS) fromVp3.push({ to: m.to, msg: decodePbftMessage(m.envelope.payload) })
      return false
    }
    const vc = (v: number, r: number) => ({ type: MessageType.CONSENSUS, payload: encodePbftMessage({ t: 'vc', v, r, h: 0, C: [], P: [], Q: [] }) })
    // f+1 = 2 replicas ask for view 1: vp3 joins; with its own, 2f+1 view changes and no new view.
    n.enqueue({ from: 'vp0', to: 'vp3', envelope: vc(1, 0) })
    n.enqueue({ from: 'vp1', to: 'vp3', envelope: vc(1, 1) })
    await n.advance(10)
    expect(pbft(n, 'vp3').status()).toMatchObject({ view: 1, active: false })
    // Its view-change timer runs out: it moves to view 2.
    await n.advance(600)
    expect(pbft(n, 'vp3').status()).toMatchObject({ view: 2, active: false })
    const sentBefore = fromVp3.length
    // vp2, still collecting view changes for view 1, sends its own twice.
    n.enqueue({ from: 'vp2', to: 'vp3', envelope: vc(1, 2) })
    n.enqueue({ from: 'vp2', to: 'vp3', envelope: vc(1, 2) })
    await n.advance(10)
    const answers = fromVp3.slice(sentBefore).filter((s) => s.to === 'vp2' && s.msg.t === 'vc')
    expect(answers.map((s) => s.msg)).toEqual([{ t: 'vc', v: 1, r: 3, h: 0, C: expect.any(Array), P: [], Q: [] }])
  })
})
