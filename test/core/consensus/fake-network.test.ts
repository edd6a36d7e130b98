import { describe, expect, it } from 'vitest'
import type { Consenter } from '../../../src/core/consensus/consenter.js'
import { AbortError, PeerNotFoundError } from '../../../src/core/errors.js'
import type { Envelope } from '../../../src/core/wire/envelope.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { FakeNetwork } from '../../support/fake-network.js'
import { testSeed } from '../../support/test-seed.js'

/** A consenter that records what it receives. */
function recorder(log: [string, number][]): Consenter {
  return { name: 'rec', start() {}, stop() {}, recvMsg: (msg, sender) => void log.push([sender, msg.payload[0] ?? -1]) }
}

const msg = (n: number): Envelope => ({ type: MessageType.CONSENSUS, payload: new Uint8Array([n]) })

function build(seed?: number) {
  const net = new FakeNetwork({ seed, maxBlocksPerSync: 2 })
  const got = new Map<string, [string, number][]>()
  for (const [id, role] of [['vp2', 'validator'], ['vp0', 'validator'], ['vp1', 'validator'], ['nv0', 'non-validator']] as const) {
    net.addPeer(id, role)
    got.set(id, [])
    net.attach(id, recorder(got.get(id)!))
  }
  net.connectAll()
  return { net, got }
}

describe('fake network (test support for consenters)', () => {
  it('broadcasts by role and reports how many links it reached', async () => {
    const { net, got } = build()
    const vp0 = net.peer('vp0')
    expect(vp0.broadcast(msg(1), 'validator')).toBe(2)
    expect(vp0.broadcast(msg(2), 'non-validator')).toBe(1)
    expect(vp0.broadcast(msg(3))).toBe(3)
    await net.flush()
    expect(got.get('vp1')).toEqual([['vp0', 1], ['vp0', 3]])
    expect(got.get('nv0')).toEqual([['vp0', 2], ['vp0', 3]])
    expect(got.get('vp0')).toEqual([])
  })

  it('unicasts to connected peers only, and loses messages in transit on a broken link', async () => {
    const { net, got } = build()
    const vp0 = net.peer('vp0')
    vp0.unicast(msg(7), 'vp1')
    net.disconnect('vp0', 'vp1')
    expect(() => vp0.unicast(msg(8), 'vp1')).toThrow(PeerNotFoundError)
    expect(() => vp0.unicast(msg(8), 'nobody')).toThrow(PeerNotFoundError)
    await net.flush()
    expect(got.get('vp1')).toEqual([])
  })

  it('describes the network sorted by ID, without self', () => {
    const { net } = build()
    net.disconnect('vp1', 'vp2')
    const info = net.peer('vp1').getNetworkInfo()
    expect(info.self).toEqual({ id: 'vp1', address: '', role: 'validator' })
    expect(info.validators.map((p) => p.id)).toEqual(['vp0'])
    expect(info.peers.map((p) => p.id)).toEqual(['nv0', 'vp0'])
    expect(net.peer('vp1').getNetworkHandles().map((h) => [h.id, h.type]).sort()).toEqual([['nv0', 2], ['vp0', 1]])
  })

  it('keeps per-link order under a seeded scheduler and replays the same order for the same seed', async () => {
    const seed = testSeed('fake network scheduler')
    const orders: string[][] = []
    for (let run = 0; run < 2; run++) {
      const { net, got } = build(seed)
      for (let i = 0; i < 20; i++) {
        net.peer('vp0').unicast(msg(i), 'vp2')
        net.peer('vp1').unicast(msg(100 + i), 'vp2')
      }
      await net.flush()
      const received = got.get('vp2')!
      expect(received.filter(([s]) => s === 'vp0').map(([, n]) => n)).toEqual([...Array(20).keys()])
      expect(received.filter(([s]) => s === 'vp1').map(([, n]) => n)).toEqual([...Array(20).keys()].map((i) => 100 + i))
      orders.push(received.map(([s, n]) => `${s}:${n}`))
    }
    expect(orders[1]).toEqual(orders[0])
  })

  it('serves fetchBlocks from the target ledger, capped per answer, and tracks heights as HELLO would', async () => {
    const { net } = build()
    const vp0 = net.peer('vp0')
    for (let i = 0; i < 3; i++) {
      vp0.ledger.beginTxBatch(`b${i}`)
      vp0.ledger.execTxs(`b${i}`, [{ txid: `t${i}`, payload: `k=${i}`, timestamp: 0, origin: 'vp0' }])
      vp0.ledger.commitTxBatch(`b${i}`, { timestamp: 0, proposer: 'vp0' })
    }
    const vp1 = net.peer('vp1')
    expect(vp1.sync.peerHeights().get('vp0')).toBe(1)
    net.disconnect('vp0', 'vp1')
    expect(vp1.sync.peerHeights().has('vp0')).toBe(false)
    await expect(vp1.sync.fetchBlocks('vp0', 1, 3)).rejects.toBeInstanceOf(PeerNotFoundError)
    net.connect('vp0', 'vp1')
    expect(vp1.sync.peerHeights().get('vp0')).toBe(4)
    const blocks = await vp1.sync.fetchBlocks('vp0', 1, 3)
    expect(blocks.map((b) => b.number)).toEqual([1, 2])
    vp1.ledger.applyBlock(blocks[0]!)
    vp1.ledger.applyBlock(blocks[1]!)
    expect(vp0.ledger.getBlock(1)).not.toBe(blocks[0])
    const aborted = new AbortController()
    aborted.abort()
    await expect(vp1.sync.fetchBlocks('vp0', 3, 3, { signal: aborted.signal })).rejects.toBeInstanceOf(AbortError)
    expect(net.fetches).toEqual([{ by: 'vp1', from: 'vp0', start: 1, end: 3, returned: 2 }])
  })

  it('signs and verifies with a stand-in signature', async () => {
    const { net } = build()
    const data = new Uint8Array([1, 2, 3])
    const signature = await net.peer('vp0').sign(data)
    expect(await net.peer('vp1').verify('vp0', signature, data)).toBe(true)
    expect(await net.peer('vp1').verify('vp2', signature, data)).toBe(false)
  })
})
