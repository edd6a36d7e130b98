/**
 * The key-value state machine blocks run on, and the chained state hash.
 *
 * In: transactions. Out: one write `[key, value]` per transaction, a block's sorted write set, and
 * the state hash after the block. A payload `key=value` (split at the first '='; key non-empty and
 * at most MAX_STATE_KEY_LENGTH code points) sets key to value; any other payload is stored whole
 * under `tx/<txid>`.
 *
 * The state hash is chained: stateHash(n) = SHA-256(domain || stateHash(n-1) || block n's sorted writes).
 * Honest peers at equal heights therefore hold equal state hashes, and a commit costs O(block)
 * instead of the O(state) a hash over the whole state (or a Merkle tree's upkeep) would. The price:
 * two states reached by different histories hash differently even when their contents are equal,
 * which is fine because a chain has one history.
 *
 *   const writes = new Map([transactionWrite(tx)])
 *   const next = nextStateHash(prev, sortWrites(writes))
 */
import { HashWriter, zeroHash } from './block-hash.js'
import type { Transaction } from '../wire/payload-types.js'

/** Domain prefix of the state hash, hashed as its 15 ASCII bytes with no length prefix. */
export const STATE_HASH_DOMAIN = 'wspeer-state-v2'
/** Longest key a `key=value` payload may set, in Unicode code points (default 256). Longer keys make the payload opaque. */
export const MAX_STATE_KEY_LENGTH = 256
/** Prefix of the key an opaque payload is stored under (`tx/<txid>`). */
export const OPAQUE_KEY_PREFIX = 'tx/'

const utf8 = new TextEncoder()
const DOMAIN_BYTES = utf8.encode(STATE_HASH_DOMAIN)

/** State hash of the empty state, i.e. of the genesis block: 32 zero bytes. */
export function emptyStateHash(): Uint8Array {
  return zeroHash()
}

/** The one write a transaction makes. */
export function transactionWrite(tx: Transaction): [key: string, value: string] {
  const key = payloadKey(tx.payload)
  return key === undefined ? [OPAQUE_KEY_PREFIX + tx.txid, tx.payload] : [key, tx.payload.slice(key.length + 1)]
}

/** The key a `key=value` payload sets; undefined for an opaque payload (stored under `tx/<txid>`). */
export function payloadKey(payload: string): string | undefined {
  const eq = payload.indexOf('=')
  if (eq <= 0) return undefined
  const key = payload.slice(0, eq)
  return codePointLengthAtMost(key, MAX_STATE_KEY_LENGTH) ? key : undefined
}

function codePointLengthAtMost(text: string, max: number): boolean {
  // Code points never outnumber UTF-16 code units, so short strings need no count.
  if (text.length <= max) return true
  let count = 0
  for (const _ of text) if (++count > max) return false
  return true
}

/**
 * Orders strings by Unicode code point (the same order as their UTF-8 bytes), which other languages
 * get from a plain byte comparison. JavaScript's `<` compares UTF-16 code units instead, which
 * differs for characters above U+FFFF against U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return codePointRank(x) - codePointRank(y)
  }
  return a.length - b.length
}

function codePointRank(unit: number): number {
  // Lift surrogates (which start code points >= U+10000) above U+E000..U+FFFF.
  if (unit < 0xd800) return unit
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000
}

/** A write set as `[key, value]` pairs sorted by key in code point order. */
export function sortWrites(writes: ReadonlyMap<string, string>): [string, string][] {
  return [...writes].sort((a, b) => compareCodePoints(a[0], b[0]))
}

/**
 * stateHash(n) = SHA-256("wspeer-state-v2" || stateHash(n-1) || lp(key) || lp(value) for each
 * write in sorted order). The writes go into the same hash as the chain link (no separate
 * write-set hash): at small blocks each SHA-256 call costs more than the bytes it hashes.
 */
export function nextStateHash(previous: Uint8Array, sortedWrites: readonly (readonly [string, string])[]): Uint8Array {
  const writer = new HashWriter().raw(DOMAIN_BYTES).raw(previous)
  for (let i = 0; i < sortedWrites.length; i++) writer.string(sortedWrites[i]![0]).string(sortedWrites[i]![1])
  return writer.digest()
}
