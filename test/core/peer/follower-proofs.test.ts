/**
 * Followers trust no single peer (issue #16): with a membership, a non-validator applies a block only
 * once f + 1 validators signed it (PROTOCOL.md 11.6). Real peers over in-memory links, and raw links
 * playing a byzantine validator and a lying relay.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import '../../support/test-consenters.js'
import { signCommit } from '../../../src/core/identity/commit-statement.js'
import { generateKeyPair, type KeyPair } from '../../../src/core/identity/key-pair.js'
import { validateMembership, type Membership } from '../../../src/core/identity/membership.js'
import type { Peer } from '../../../src/core/peer/peer-types.js'
import { toHex } from '../../../src/core/util/bytes.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { decodePayload, makeEnvelope } from '../../../src/core/wire/payloads.js'
import type { Block } from '../../../src/core/wire/payload-types.js'
import { MemoryNetwork } from '../../support/memory-network.js'
import { RawLink } from '../../support/raw-link.js'
import { sourceChain } from '../../support/chains.js'

let net: MemoryNetwork
afterEach(async () => {
  await net?.stopAll()
})

async function members(n: number): Promise<{ keys: KeyPair[]; membership: Membership }> {
  const keys = await Promise.all(Array.from({ length: n }, () => generateKeyPair()))
  return { keys, membership: validateMembership({ validators: keys.map((k, i) => ({ id: `vp${i}`, publicKey: toHex(k.publicKey) })) }) }
}

function committed(peer: Peer, count: number): Promise<void> {
  let seen = 0
  return new Promise((resolve) => {
    const off = peer.on('block-committed', () => {
      if (++seen === count) {
        off()
        resolve()
      }
    })
  })
}

describe('a verifying follower', () => {
  it('follows a 4-validator network on their signatures, also through one validator link, and says which validators proved its head', async () => {
    net = new MemoryNetwork()
    const { keys, membership } = await members(4)
    const validators = keys.map((keyPair, i) =>
      net.add({
        id: `vp${i}`,
        role: 'validator',
        consensus: 'noops',
        consensusOptions: { blockWaitMs: 5 },
        identity: { keyPair, membership },
        limits: { discoveryPeriodMs: 100 },
        ...(i === 0 ? {} : { bootstrap: [MemoryNetwork.address('vp0')] }),
      }),
    )
    for (const v of validators) await v.start()
    const vp0 = validators[0]!
    await vi.waitFor(() => expect(vp0.status().peers).toHaveLength(3), { timeout: 5000, interval: 5 })
    const follower = net.add({ id: 'nvp0', role: 'non-validator', consensus: 'noops', identity: { keyPair: await generateKeyPair(), membership }, limits: { discoveryPeriodMs: 100 }, bootstrap: [MemoryNetwork.address('vp0')] })
    // Room for one link only: vp0 hands it whole proofs, gathered from the other validators' signatures.
    const lonely = net.add({ id: 'nvp1', role: 'non-validator', consensus: 'noops', identity: { keyPair: await generateKeyPair(), membership }, limits: { maxPeers: 1, discoveryPeriodMs: 100 }, bootstrap: [MemoryNetwork.address('vp3')] })
    await follower.start()
    await lonely.start()
    await vi.waitFor(() => expect(follower.status().peers).toHaveLength(4), { timeout: 5000, interval: 5 })
    expect(lonely.status().peers.map((p) => p.id)).toEqual(['vp3'])
    const blocks = committed(vp0, 5)
    for (let i = 0; i < 5; i++) {
      // Listening before the submit: on a loaded host the block can commit before submit's caller resumes.
      const one = committed(vp0, 1)
      await vp0.submit(`k${i}=v`)
      await one
    }
    await blocks
    await vi.waitFor(() => expect(follower.status().chain).toEqual(vp0.status().chain), { timeout: 5000, interval: 5 })
    await vi.waitFor(() => expect(lonely.status().chain).toEqual(vp0.status().chain), { timeout: 5000, interval: 5 })
    expect(lonely.status().follower!.proof!.signers).toHaveLength(2)
    const status = follower.status().follower!
    expect(status.verifying).toBe(true)
    expect(status.proof!.number).toBe(vp0.status().chain.height - 1)
    expect(status.proof!.signers).toHaveLength(2)
    expect(status).toMatchObject({ refusedSignatures: 0, refusedBlocks: 0 })
  })

  it('refuses a block only one (byzantine) validator signed, and a relay\'s proof with a bad signature', async () => {
    net = new MemoryNetwork()
    const { keys, membership } = await members(4)
    const follower = net.add({ id: 'nvp0', role: 'non-validator', consensus: 'test-recording', identity: { keyPair: await generateKeyPair(), membership } })
    await follower.start()
    const real = sourceChain(1)
    const realBlock = real.getBlock(1)!
    const forged: Block = { ...realBlock, transactions: [{ ...realBlock.transactions[0]!, payload: 'k1=forged' }] }
    const forgedHash = new Uint8Array(32).fill(9)
    const vp3 = await RawLink.established(follower, 'vp3', 'validator', { keyPair: keys[3]! })
    vp3.send(
      makeEnvelope(MessageType.SYNC_BLOCK_ADDED, { block: forged }),
      makeEnvelope(MessageType.SYNC_COMMIT_PROOF, { number: 1, blockHash: forgedHash, signatures: [await signCommit(keys[3]!, 'vp3', 1, forgedHash)] }),
    )
    const relay = await RawLink.established(follower, 'relay', 'non-validator')
    const realHash = real.blockHash(1)!
    relay.send(
      makeEnvelope(MessageType.SYNC_COMMIT_PROOF, {
        number: 1,
        blockHash: realHash,
        signatures: [await signCommit(keys[1]!, 'vp1', 1, realHash), { signer: 'vp2', signature: new Uint8Array(64).fill(5) }],
      }),
    )
    await vi.waitFor(() => expect(follower.status().follower!.refusedSignatures).toBe(1), { timeout: 5000, interval: 5 })
    expect(follower.status().chain.height).toBe(1)
    expect(follower.status().follower!.proof).toBeUndefined()
    // Two honest validators sign the real block: it is proven, and the forged copy held is not what leads to it.
    const vp1 = await RawLink.established(follower, 'vp1', 'validator', { keyPair: keys[1]! })
    vp1.send(makeEnvelope(MessageType.SYNC_COMMIT_PROOF, { number: 1, blockHash: realHash, signatures: [await signCommit(keys[1]!, 'vp1', 1, realHash)] }))
    const vp2 = await RawLink.established(follower, 'vp2', 'validator', { keyPair: keys[2]! })
    vp2.send(makeEnvelope(MessageType.SYNC_COMMIT_PROOF, { number: 1, blockHash: realHash, signatures: [await signCommit(keys[2]!, 'vp2', 1, realHash)] }))
    await vi.waitFor(() => expect(follower.status().follower!.proof?.number).toBe(1), { timeout: 5000, interval: 5 })
    // The forged block held from vp3 does not lead to the proven hash: refused, and the real one is asked for.
    await vi.waitFor(() => expect(follower.status().follower!.refusedBlocks).toBe(1), { timeout: 5000, interval: 5 })
    expect(follower.status().chain.height).toBe(1)
    const asked = await vp2.next({ type: MessageType.SYNC_GET_BLOCKS })
    const request = decodePayload(MessageType.SYNC_GET_BLOCKS, asked.payload)
    expect(request).toMatchObject({ start: 1, end: 1 })
    vp2.send(makeEnvelope(MessageType.SYNC_BLOCKS, { requestId: request.requestId, blocks: [realBlock] }))
    await vi.waitFor(() => expect(follower.status().chain).toEqual({ height: 2, headHash: toHex(realHash) }), { timeout: 5000, interval: 5 })
  })
})
