/**
 * What a validator signs to tell followers it committed a block, and how a follower checks it
 * (PROTOCOL.md 11.6). The statement binds a block number to the block's hash (PROTOCOL.md 12),
 * whose previous-hash field chains it to every block below: a proof of block n proves the chain
 * up to n. A follower accepts a block once `proofQuorum` members signed it (f + 1 of n = 3f + 1:
 * at least one of them is honest, and an honest validator commits only what its network agreed).
 *
 *   const sig = await signCommit(keyPair, 'vp0', 16, hash)
 *   await verifyCommitSignature(membership, 16, hash, sig)   // true
 */
import type { CommitSignature } from '../wire/payload-types.js'
import type { KeyPair } from './key-pair.js'
import { verifySignature } from './key-pair.js'
import type { Membership } from './membership.js'

/** Domain string that starts every commit statement, so no other signed wspeer bytes can pass for one. */
export const COMMIT_STATEMENT_DOMAIN = 'wspeer-commit-v1'

const DOMAIN_BYTES = new TextEncoder().encode(COMMIT_STATEMENT_DOMAIN)

/** The signed bytes: the domain's ASCII, one 0x00, the block number as uint64 big-endian, the block hash. */
export function commitStatement(number: number, blockHash: Uint8Array): Uint8Array {
  const out = new Uint8Array(DOMAIN_BYTES.length + 1 + 8 + blockHash.length)
  out.set(DOMAIN_BYTES, 0)
  const view = new DataView(out.buffer)
  view.setBigUint64(DOMAIN_BYTES.length + 1, BigInt(number))
  out.set(blockHash, DOMAIN_BYTES.length + 9)
  return out
}

/** Signatures a proof needs: f + 1, where f = floor((n - 1) / 3) is the faults n members tolerate. */
export function proofQuorum(membership: Membership): number {
  return Math.floor((membership.members.length - 1) / 3) + 1
}

/** This validator's signature over "block `number` has hash `blockHash`". */
export async function signCommit(keyPair: KeyPair, signer: string, number: number, blockHash: Uint8Array): Promise<CommitSignature> {
  return { signer, signature: await keyPair.sign(commitStatement(number, blockHash)) }
}

/** Whether `sig` is a member's valid signature of the statement. False for non-members; never throws. */
export async function verifyCommitSignature(membership: Membership, number: number, blockHash: Uint8Array, sig: CommitSignature): Promise<boolean> {
  const member = membership.get(sig.signer)
  if (member === undefined) return false
  return verifySignature(member.publicKey, commitStatement(number, blockHash), sig.signature)
}
