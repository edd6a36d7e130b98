/**
 * A follower's collection of validators' commit signatures (SYNC_COMMIT_PROOF): it verifies each
 * against the membership and reports a block as proven once `proofQuorum` members signed the same
 * number and hash (identity/commit-statement.ts). Validators send their own signature; relays send
 * the quorum they verified, so a follower behind a relay still checks every signature itself.
 *
 * Bounded: each signer has at most `perSigner` signatures waiting (its lowest are dropped), so a
 * byzantine member signing many made-up blocks displaces only its own; signatures of blocks at or
 * below the latest proven one are dropped, and a signature is verified only while it can matter.
 *
 * Verification work per block does not grow with the network: N validators' statements, or N
 * validators' whole proofs, reach a peer at about the same moment, and checks are asynchronous.
 * So no more checks of one block run at once than it still lacks signatures (a further one waits
 * and is skipped if the block is proven meanwhile), and an identical signature being checked is
 * not checked again. At N = 32 a validator verifies 11 statements per signed block, not 31.
 *
 *   const proofs = new CommitProofs({ membership, height: () => ledger.height(), onProven })
 *   await proofs.add(payload, 'vp2')   // 'proven' | 'pending' | 'stale' | 'refused'
 */
import { proofQuorum, verifyCommitSignature } from '../identity/commit-statement.js'
import type { Membership } from '../identity/membership.js'
import { toHex } from '../util/bytes.js'
import type { CommitProofPayload, CommitSignature } from '../wire/payload-types.js'
import { DEFAULT_PROOF_SIGNATURES_PER_SIGNER } from './limits.js'

/** A block `quorum` members signed. */
export interface ProvenBlock {
  number: number
  blockHash: Uint8Array
  /** Exactly `quorum` verified signatures, one per signer. */
  signatures: CommitSignature[]
}

export type ProofOutcome = 'proven' | 'pending' | 'stale' | 'refused'

export interface CommitProofsOptions {
  membership: Membership
  /** The follower's chain height: signatures of blocks below it matter no more. */
  height(): number
  /** A block newly proven above the latest one; `source` sent the signature that completed it. */
  onProven(proven: ProvenBlock, source: string): void
  perSigner?: number
}

interface Candidate {
  number: number
  blockHash: Uint8Array
  signatures: Map<string, Uint8Array>
}

export class CommitProofs {
  readonly #o: CommitProofsOptions
  readonly #quorum: number
  readonly #perSigner: number
  /** Candidates by `<number>:<hash hex>`. */
  readonly #candidates = new Map<string, Candidate>()
  /** Keys of the candidates each signer signed, oldest first. */
  readonly #bySigner = new Map<string, string[]>()
  /** Signature checks in flight, by candidate key, then by `<signer>:<signature hex>`. */
  readonly #checking = new Map<string, Map<string, Promise<boolean>>>()
  #latest: ProvenBlock | undefined
  #refused = 0

  constructor(options: CommitProofsOptions) {
    this.#o = options
    this.#quorum = proofQuorum(options.membership)
    this.#perSigner = options.perSigner ?? DEFAULT_PROOF_SIGNATURES_PER_SIGNER
  }

  /** Signatures a proof needs (f + 1). */
  get quorum(): number {
    return this.#quorum
  }

  /** The highest proven block, with its signatures (what a relay passes on). */
  get latest(): ProvenBlock | undefined {
    return this.#latest
  }

  /** Signatures refused so far: not a member's, or not valid for the statement. */
  get refused(): number {
    return this.#refused
  }

  /**
   * Verifies the payload's signatures one by one until its block is proven. 'refused' when one
   * of them was bad (the rest are not looked at: whoever sent it is not to be believed),
   * 'stale' when the block is already proven or below the chain.
   */
  async add(payload: CommitProofPayload, source: string): Promise<ProofOutcome> {
    let outcome: ProofOutcome = 'stale'
    const key = `${payload.number}:${toHex(payload.blockHash)}`
    for (const sig of payload.signatures) {
      const verdict = await this.#check(key, payload, sig)
      if (verdict === 'stale') return outcome
      if (verdict === 'bad') {
        this.#refused++
        return 'refused'
      }
      outcome = verdict === 'known' ? 'pending' : this.#record(key, payload, sig, source)
      if (outcome === 'proven') return outcome
    }
    return outcome
  }

  /**
   * Verifies `sig` if it can still matter: 'stale' (the block is proven or below the chain),
   * 'known' (its signer already counts, or the same signature is being checked for another
   * sender and is good), 'good' or 'bad'.
   */
  async #check(key: string, payload: CommitProofPayload, sig: CommitSignature): Promise<'stale' | 'known' | 'good' | 'bad'> {
    const id = `${sig.signer}:${toHex(sig.signature)}`
    for (;;) {
      if (this.#isStale(payload.number)) return 'stale'
      if (this.#candidates.get(key)?.signatures.has(sig.signer) === true) return 'known'
      let checking = this.#checking.get(key)
      const same = checking?.get(id)
      if (same !== undefined) return (await same) ? 'known' : 'bad'
      const have = this.#candidates.get(key)?.signatures.size ?? 0
      if (checking !== undefined && have + checking.size >= this.#quorum) {
        // Enough checks run to prove the block: wait for one, then see whether this one is needed.
        await Promise.race(checking.values())
        continue
      }
      if (checking === undefined) {
        checking = new Map()
        this.#checking.set(key, checking)
      }
      const check = verifyCommitSignature(this.#o.membership, payload.number, payload.blockHash, sig).catch(() => false)
      checking.set(id, check)
      const good = await check
      checking.delete(id)
      if (checking.size === 0) this.#checking.delete(key)
      // Stale after the check: proven meanwhile, the signature is not needed (nor held against the sender).
      if (good && this.#isStale(payload.number)) return 'stale'
      return good ? 'good' : 'bad'
    }
  }

  #isStale(number: number): boolean {
    return number < this.#o.height() || (this.#latest !== undefined && number <= this.#latest.number)
  }

  #record(key: string, payload: CommitProofPayload, sig: CommitSignature, source: string): ProofOutcome {
    let candidate = this.#candidates.get(key)
    if (candidate === undefined) {
      candidate = { number: payload.number, blockHash: payload.blockHash, signatures: new Map() }
      this.#candidates.set(key, candidate)
    }
    candidate.signatures.set(sig.signer, sig.signature)
    const keys = this.#bySigner.get(sig.signer) ?? []
    keys.push(key)
    this.#bySigner.set(sig.signer, keys)
    if (keys.length > this.#perSigner) {
      keys.sort((a, b) => (this.#candidates.get(a)?.number ?? -1) - (this.#candidates.get(b)?.number ?? -1))
      this.#forget(sig.signer, keys.shift()!)
    }
    if (candidate.signatures.size < this.#quorum) return 'pending'
    const signatures = [...candidate.signatures].slice(0, this.#quorum).map(([signer, signature]) => ({ signer, signature }))
    this.#latest = { number: candidate.number, blockHash: candidate.blockHash, signatures }
    this.#dropUpTo(candidate.number)
    this.#o.onProven(this.#latest, source)
    return 'proven'
  }

  #forget(signer: string, key: string): void {
    const candidate = this.#candidates.get(key)
    if (candidate === undefined) return
    candidate.signatures.delete(signer)
    if (candidate.signatures.size === 0) this.#candidates.delete(key)
  }

  #dropUpTo(number: number): void {
    for (const [key, candidate] of this.#candidates) if (candidate.number <= number) this.#candidates.delete(key)
    for (const [signer, keys] of this.#bySigner) {
      const kept = keys.filter((key) => this.#candidates.has(key))
      if (kept.length === 0) this.#bySigner.delete(signer)
      else this.#bySigner.set(signer, kept)
    }
  }
}
