/**
 * Bundles on the fake network: what one input makes a replica broadcast leaves as one envelope,
 * and the consenter checks every message in a received bundle as if it had come alone.
 */
import { describe, expect, it } from 'vitest'
import { decodePbftMessage, encodePbftMessage, type PbftMessage } from '../../../../src/core/consensus/pbft/index.js'
import { encodeBundle } from '../../../../src/core/consensus/pbft/messages.js'
import { toHex } from '../../../../src/core/util/bytes.js'
import { MessageType } from '../../../../src/core/wire/message-type.js'
import { PBFT_TEST_VALIDATORS, pbftOf, usePbftFakeNetwork } from '../../../support/pbft-fake-network.js'
import { FakeNetwork, type FakeMessage } from '../../../support/fake-network.js'

const validators = [...PBFT_TEST_VALIDATORS]
const { setup } = usePbftFakeNetwork()
const pbft = pbftOf

function consensus(n: FakeNetwork, from: string, to: string): PbftMessage[] {
  return n.delivered
    .filter((m: FakeMessage) => m.from === from && m.to === to && m.envelope.type === MessageType.CONSENSUS)
    .map((m) => decodePbftMessage(m.envelope.payload))
}

describe('pbft bundles', () => {
  it('sends the pre-prepares a moving watermark releases as one bundle, answered by bundles of prepares', async () => {
    // L = 10: the primary pre-prepares 5 batches ahead of the stable checkpoint, then waits.
    const n = await setup({ batchSize: 1, k: 5, logMultiplier: 2 })
    for (let i = 0; i < 20; i++) n.submit('vp0', `b${i}=${i}`)
    await n.advance(100)
    for (const id of validators) expect(n.peer(id).ledger.height()).toBe(21)
    const chains = n.stacks().map((s) => s.ledger.getBlocks(0, 30).map((b) => toHex(s.ledger.hashBlock(b))))
    for (const chain of chains) expect(chain).toEqual(chains[0])
    const kinds = (m: PbftMessage) => (m.t === 'm' ? m.m.map((x) => x.t).join(',') : m.t)
    const toBackup = consensus(n, 'vp0', 'vp2').map(kinds)
    // The first five went one by one (each request its own input); the rest five at a time.
    expect(toBackup.filter((k) => k === 'pp')).toHaveLength(5)
    expect(toBackup.filter((k) => k === 'pp,pp,pp,pp,pp')).toHaveLength(3)
    expect(consensus(n, 'vp2', 'vp3').map(kinds)).toContain('p,p,p,p,p')
  })

  it('checks each message of a bundle against its sender, keeping the good ones', async () => {
    const n = await setup({ batchSize: 1 })
    const d = 'ab'.repeat(32)
    const forged: PbftMessage = { t: 'c', v: 0, n: 1, r: 3, d } // vp2 claiming to be replica 3
    const honest: PbftMessage = { t: 'c', v: 0, n: 1, r: 2, d }
    const payload = encodeBundle([encodePbftMessage(forged), encodePbftMessage(honest)])
    n.enqueue({ from: 'vp2', to: 'vp1', envelope: { type: MessageType.CONSENSUS, payload } })
    // From outside the validator set, nothing in a bundle but requests is taken.
    n.addPeer('nv0', 'non-validator')
    n.connect('nv0', 'vp1')
    const req: PbftMessage = { t: 'req', x: [{ txid: 'outside', payload: 'o=1', timestamp: 0, origin: 'nv0' }] }
    n.enqueue({ from: 'nv0', to: 'vp1', envelope: { type: MessageType.CONSENSUS, payload: encodeBundle([encodePbftMessage(honest), encodePbftMessage(req)]) } })
    await n.flush()
    expect(pbft(n, 'vp1').status()).toMatchObject({ refused: 2, invalid: 0, outstanding: 1 })
    expect(n.errors).toEqual([])
  })
})
