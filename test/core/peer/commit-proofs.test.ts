/**
 * Follower proofs in pieces: the signed statement, a follower's collection of signatures (quorum,
 * refusals, bounds), and a validator's choice of blocks to sign.
 */
import { describe, expect, it } from 'vitest'
import { commitStatement, proofQuorum, signCommit, verifyCommitSignature, COMMIT_STATEMENT_DOMAIN } from '../../../src/core/identity/commit-statement.js'
import { generateKeyPair, type KeyPair } from '../../../src/core/identity/key-pair.js'
import { validateMembership, type Membership } from '../../../src/core/identity/membership.js'
import { CommitAttester } from '../../../src/core/peer/commit-attester.js'
import { CommitProofs, type ProvenBlock } from '../../../src/core/peer/commit-proofs.js'
import { ManualClock } from '../../../src/core/util/clock.js'
import { toHex } from '../../../src/core/util/bytes.js'
import { silentLogger } from '../../../src/core/util/logger.js'
import type { Envelope } from '../../../src/core/wire/envelope.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { decodePayload } from '../../../src/core/wire/payloads.js'
import { sourceChain } from '../../support/chains.js'

async function validators(n: number): Promise<{ keys: KeyPair[]; membership: Membership }> {
  const keys = await Promise.all(Array.from({ length: n }, () => generateKeyPair()))
  const membership = validateMembership({ validators: keys.map((k, i) => ({ id: `vp${i}`, publicKey: toHex(k.publicKey) })) })
  return { keys, membership }
}

const hash = (b: number) => new Uint8Array(32).fill(b)

describe('commit statement', () => {
  it('binds the domain, the number and the hash, and needs f + 1 of n members', async () => {
    const statement = commitStatement(258, hash(7))
    expect(new TextDecoder().decode(statement.subarray(0, 16))).toBe(COMMIT_STATEMENT_DOMAIN)
    expect([...statement.subarray(16, 26)]).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 2, 7])
    expect(statement.length).toBe(16 + 1 + 8 + 32)
    const { keys, membership } = await validators(4)
    expect(proofQuorum(membership)).toBe(2)
    expect(proofQuorum((await validators(7)).membership)).toBe(3)
    expect(proofQuorum((await validators(1)).membership)).toBe(1)
    const sig = await signCommit(keys[1]!, 'vp1', 258, hash(7))
    expect(await verifyCommitSignature(membership, 258, hash(7), sig)).toBe(true)
    expect(await verifyCommitSignature(membership, 259, hash(7), sig)).toBe(false)
    expect(await verifyCommitSignature(membership, 258, hash(8), sig)).toBe(false)
    // Another member's name on vp1's signature, and a non-member.
    expect(await verifyCommitSignature(membership, 258, hash(7), { ...sig, signer: 'vp2' })).toBe(false)
    expect(await verifyCommitSignature(membership, 258, hash(7), { ...sig, signer: 'mallory' })).toBe(false)
  })
})

describe('commit proofs (a follower)', () => {
  async function setup(height = 1) {
    const { keys, membership } = await validators(4)
    const proven: [ProvenBlock, string][] = []
    const proofs = new CommitProofs({ membership, height: () => height, onProven: (p, source) => proven.push([p, source]), perSigner: 2 })
    const sign = async (i: number, number: number, h: Uint8Array) => signCommit(keys[i]!, `vp${i}`, number, h)
    return { proofs, proven, sign }
  }

  it('proves a block once f + 1 members signed the same number and hash', async () => {
    const { proofs, proven, sign } = await setup()
    expect(await proofs.add({ number: 16, blockHash: hash(1), signatures: [await sign(0, 16, hash(1))] }, 'vp0')).toBe('pending')
    // The same signer again counts once; a signature of another hash counts for that hash only.
    expect(await proofs.add({ number: 16, blockHash: hash(1), signatures: [await sign(0, 16, hash(1))] }, 'vp0')).toBe('pending')
    expect(await proofs.add({ number: 16, blockHash: hash(2), signatures: [await sign(1, 16, hash(2))] }, 'vp1')).toBe('pending')
    expect(proven).toEqual([])
    expect(await proofs.add({ number: 16, blockHash: hash(1), signatures: [await sign(2, 16, hash(1))] }, 'vp2')).toBe('proven')
    expect(proven.map(([p, s]) => [p.number, toHex(p.blockHash), p.signatures.map((x) => x.signer).sort(), s])).toEqual([[16, toHex(hash(1)), ['vp0', 'vp2'], 'vp2']])
    // Below or at the latest proven block: nothing to do.
    expect(await proofs.add({ number: 16, blockHash: hash(1), signatures: [await sign(3, 16, hash(1))] }, 'vp3')).toBe('stale')
  })

  it('takes a relay\'s proof of f + 1 signatures at once, and refuses one with a bad or foreign signature', async () => {
    const { proofs, proven, sign } = await setup()
    const forged = { signer: 'vp1', signature: new Uint8Array(64).fill(1) }
    expect(await proofs.add({ number: 32, blockHash: hash(3), signatures: [await sign(0, 32, hash(3)), forged] }, 'relay')).toBe('refused')
    expect(await proofs.add({ number: 32, blockHash: hash(3), signatures: [{ ...(await sign(2, 32, hash(3))), signer: 'outsider' }] }, 'relay')).toBe('refused')
    expect(proofs.refused).toBe(2)
    expect(proven).toEqual([])
    expect(await proofs.add({ number: 32, blockHash: hash(3), signatures: [await sign(1, 32, hash(3)), await sign(3, 32, hash(3))] }, 'relay')).toBe('proven')
    expect(proofs.latest?.number).toBe(32)
  })

  it('keeps at most perSigner waiting signatures of one signer, dropping its lowest', async () => {
    const { proofs, proven, sign } = await setup()
    // A member signing made-up blocks pushes out only its own older signatures.
    for (const n of [10, 20, 30]) await proofs.add({ number: n, blockHash: hash(n), signatures: [await sign(3, n, hash(n))] }, 'vp3')
    await proofs.add({ number: 10, blockHash: hash(10), signatures: [await sign(0, 10, hash(10))] }, 'vp0')
    expect(proven).toEqual([])
    await proofs.add({ number: 20, blockHash: hash(20), signatures: [await sign(0, 20, hash(20))] }, 'vp0')
    expect(proven.map(([p]) => p.number)).toEqual([20])
  })

  it('checks no more signatures of a block than it lacks, however many copies arrive at once', async () => {
    // N = 7, quorum 3: every validator's statement, then every validator's whole proof, arrive together.
    const { keys, membership } = await validators(7)
    let verified = 0
    const counting: Membership = {
      members: membership.members,
      get: (id) => {
        verified++
        return membership.get(id)
      },
      getByKeyId: (keyId) => membership.getByKeyId(keyId),
      authorize: (endpoint, key) => membership.authorize(endpoint, key),
    }
    const proven: number[] = []
    const proofs = new CommitProofs({ membership: counting, height: () => 0, onProven: (p) => proven.push(p.number) })
    const sigs = await Promise.all(keys.map((k, i) => signCommit(k, `vp${i}`, 16, hash(1))))
    const outcomes = await Promise.all(sigs.map((sig) => proofs.add({ number: 16, blockHash: hash(1), signatures: [sig] }, sig.signer)))
    expect(proven).toEqual([16])
    expect(verified).toBe(3)
    expect(outcomes.filter((o) => o === 'proven')).toHaveLength(1)
    expect(outcomes.filter((o) => o === 'refused')).toEqual([])

    verified = 0
    const whole = { number: 32, blockHash: hash(2), signatures: await Promise.all([0, 1, 2].map((i) => signCommit(keys[i]!, `vp${i}`, 32, hash(2)))) }
    await Promise.all(keys.map((_, i) => proofs.add(whole, `vp${i}`)))
    expect(proven).toEqual([16, 32])
    expect(verified).toBe(3)
  })

  it('checks a waiting signature after all when one being checked turns out bad', async () => {
    const { keys, membership } = await validators(4)
    const proven: number[] = []
    const proofs = new CommitProofs({ membership, height: () => 0, onProven: (p) => proven.push(p.number) })
    const forged = [0, 1].map((i) => ({ signer: `vp${i}`, signature: new Uint8Array(64).fill(9) }))
    const real = await Promise.all([2, 3].map((i) => signCommit(keys[i]!, `vp${i}`, 8, hash(5))))
    // The forged pair starts first and fills the quorum's checks; the real pair waits, then is checked.
    const outcomes = await Promise.all([...forged, ...real].map((sig) => proofs.add({ number: 8, blockHash: hash(5), signatures: [sig] }, 'relay')))
    expect(outcomes.slice(0, 2)).toEqual(['refused', 'refused'])
    // Both real ones are checked at once once the forged fail: either may complete the proof.
    expect(outcomes.slice(2).sort()).toEqual(['pending', 'proven'])
    expect(proven).toEqual([8])
    expect(proofs.refused).toBe(2)
  })

  it('ignores blocks below the chain', async () => {
    const { proofs, sign } = await setup(50)
    expect(await proofs.add({ number: 40, blockHash: hash(4), signatures: [await sign(0, 40, hash(4))] }, 'vp0')).toBe('stale')
  })
})

describe('commit attester (a validator)', () => {
  it('signs every everyBlocks-th block, and the head once no block followed for idleMs', async () => {
    const { keys, membership } = await validators(4)
    const ledger = sourceChain(0)
    const clock = new ManualClock()
    const sent: Envelope[] = []
    const attester = new CommitAttester({ keyPair: keys[0]!, signer: 'vp0', ledger, clock, log: silentLogger, everyBlocks: 4, periodMs: 1_000_000, idleMs: 50, send: (e) => sent.push(e) })
    attester.start()
    const commit = (i: number) => {
      ledger.beginTxBatch(`b${i}`)
      ledger.execTxs(`b${i}`, [{ txid: `t${i}`, payload: `k${i}=v`, timestamp: i, origin: 'vp0' }])
      ledger.commitTxBatch(`b${i}`, { timestamp: i, proposer: 'vp0' })
    }
    const signedNumbers = async (count: number) => {
      await expect.poll(() => sent.length).toBe(count)
      return sent.map((e) => decodePayload(MessageType.SYNC_COMMIT_PROOF, e.payload).number)
    }
    for (let i = 1; i <= 5; i++) commit(i)
    expect(await signedNumbers(1)).toEqual([4])
    clock.advance(49)
    commit(6)
    clock.advance(49)
    expect(sent).toHaveLength(1)
    clock.advance(1)
    expect(await signedNumbers(2)).toEqual([4, 6])
    const proof = decodePayload(MessageType.SYNC_COMMIT_PROOF, sent[1]!.payload)
    expect(toHex(proof.blockHash)).toBe(toHex(ledger.blockHash(6)!))
    expect(await verifyCommitSignature(membership, 6, proof.blockHash, proof.signatures[0]!)).toBe(true)
    expect(attester.latest).toBe(sent[1])
    attester.stop()
    commit(7)
    commit(8)
    clock.advance(100)
    expect(sent).toHaveLength(2)
  })

  it('signs the first block of each period of proposer time, so followers wait about a period at any rate', async () => {
    const { keys } = await validators(1)
    const ledger = sourceChain(0)
    const sent: Envelope[] = []
    const attester = new CommitAttester({ keyPair: keys[0]!, signer: 'vp0', ledger, clock: new ManualClock(), log: silentLogger, everyBlocks: 1000, periodMs: 100, idleMs: 50, send: (e) => sent.push(e) })
    attester.start()
    ;[10, 50, 120, 150, 230].forEach((timestamp, i) => {
      ledger.beginTxBatch(`b${i}`)
      ledger.execTxs(`b${i}`, [{ txid: `t${i}`, payload: `k${i}=v`, timestamp, origin: 'vp0' }])
      ledger.commitTxBatch(`b${i}`, { timestamp, proposer: 'vp0' })
    })
    await expect.poll(() => sent.length).toBe(2)
    expect(sent.map((e) => decodePayload(MessageType.SYNC_COMMIT_PROOF, e.payload).number)).toEqual([3, 5])
    attester.stop()
  })
})
