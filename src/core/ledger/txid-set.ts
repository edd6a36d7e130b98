/**
 * The set of every committed transaction ID: a hash set of strings kept in typed arrays, split
 * over many shards.
 *
 * Why not a Set of strings. Every transaction asks this set twice whether its ID was committed
 * (once as a request, once when executed) and adds it once, and the answer is almost always "no".
 * A Set of a few million strings answers a miss only after chasing pointers to its entries and to
 * string objects scattered over the old generation, cache misses each: profiles of validators at
 * batch 100 showed 10-13% of their CPU in `Set.has`, and the kept strings made every major GC mark
 * millions of objects. Measured here with three million IDs: two misses and an add took 1.5-1.7 us
 * with the sharded Set this replaces and 0.3-0.5 us with this one; the V8 heap held 210-320 MB
 * against 6-14 MB (the typed arrays are off the heap: the garbage collector never walks them).
 *
 * Layout. Each shard has an open-addressing table (linear probing, at most half full) of
 * `[hash, arena offset + 1]` pairs, 0 meaning an empty slot, and an arena of the IDs' UTF-16 code
 * units, each ID stored as its length in two units, a 32-bit value in two units, then its units.
 * A hash match is confirmed against the arena, so answers are exact whatever the hash does.
 *
 * The value. The ledger keeps each ID's block number there, so "which block holds this
 * transaction?" (GET /transactions/:txid) costs a lookup and a scan of one block, and the commit
 * path still makes no heap object per transaction.
 *
 * Tags. Beside the table, one byte per slot: 0 for empty, else 8 bits of the ID's hash. A probe
 * reads the tags and touches the table only on a tag match (1 in 255 for another ID), so a miss,
 * the usual answer, reads one byte array an eighth of the table's size. With millions of IDs the
 * table no longer fits the CPU's caches (nor its TLB), and each lookup was a trip to memory:
 * at two million IDs, a miss took 120-127 ns without tags and 52-75 ns with them.
 *
 * Why shards. A table grows by rehashing into one twice its size in one synchronous call; a single
 * table of millions of IDs would stall a commit for tens of milliseconds (a single JavaScript Set
 * stalled 183 ms at two million IDs here). A shard holds about 1/256 of the IDs, so one growth step
 * stays well under a millisecond.
 *
 * The hash. Senders choose txids, so a hash they can predict lets them pick IDs that all land in
 * one shard and one probe run (hash flooding): every lookup then walks the whole run, and n such
 * IDs cost n^2/2 probes. Seeding a weak hash does not stop that: the 32-bit multiply-xorshift this
 * set used before is a bijection per code unit, and IDs that collide under it can be made for a
 * given seed in O(1) each (test/core/ledger/txid-set.test.ts does). So the hash is keyed:
 * HalfSipHash-1-3 (SipHash's 32-bit variant, the one Linux uses for its hash tables), over the ID's
 * length and then its UTF-16 code units two to a word, with a 64-bit key drawn per process from
 * the platform's random source. Without the key, chosen IDs spread like any others. Its cost per
 * lookup, measured with bench/txid-set-micro.ts, is in README.md (Performance). Colliding IDs
 * would make lookups slower, never answers wrong: every hash match is confirmed against the arena.
 *
 *   const ids = new TxidSet()
 *   ids.add('tx-1'); ids.has('tx-1')  // true
 */

/** Shards of the committed-txid set (default 256; a power of two). */
export const TXID_SET_SHARDS = 256
/** Most shards a set may have: the top 16 bits of a hash pick the shard, the rest the slot. */
export const MAX_TXID_SET_SHARDS = 2 ** 16
/** Largest value an ID may carry (it is stored in 32 bits). */
export const MAX_TXID_SET_VALUE = 2 ** 32 - 1
/** Arena units before an ID's code units: its length and its value, two units each. */
const HEADER_UNITS = 4
/** Code units turned into a string per String.fromCharCode call when forEach rebuilds an ID. */
const FROM_CHAR_CODE_SLICE = 4096

export interface TxidSetOptions {
  /** Number of shards, a power of two (default TXID_SET_SHARDS). */
  shards?: number
  /** A 32-bit hash of an ID (default: keyedTxidHash with this process's key). Tests pass a poor one to force collisions. */
  hash?: (txid: string) => number
}

const INITIAL_SLOTS = 64
const INITIAL_ARENA_UNITS = 256

interface Shard {
  /** One byte per slot: 0 empty, else the ID's tag (tagOf). */
  tags: Uint8Array
  /** 2 * slots entries: hash, then arena offset + 1 (0: empty). */
  table: Int32Array
  /** slots - 1; slots is a power of two. */
  mask: number
  count: number
  /** Each ID: length low 16 bits, length high 16 bits, value low 16 bits, value high 16 bits, code units. */
  arena: Uint16Array
  used: number
}

function newShard(): Shard {
  return {
    tags: new Uint8Array(INITIAL_SLOTS),
    table: new Int32Array(2 * INITIAL_SLOTS),
    mask: INITIAL_SLOTS - 1,
    count: 0,
    arena: new Uint16Array(INITIAL_ARENA_UNITS),
    used: 0,
  }
}

/**
 * A slot's tag, never 0: bits 16-23 of the hash (the low bit forced on), which the slot (low bits)
 * does not use below 2^16 slots and the shard (top bits) does not use up to 256 shards. With more
 * shards, or larger ones, tags and placement share bits and filter less; answers stay exact.
 */
function tagOf(h: number): number {
  return ((h >>> 16) & 0xff) | 1
}

/** This process's hash key: 64 random bits, drawn once. */
const KEY = globalThis.crypto.getRandomValues(new Uint32Array(2))

/**
 * HalfSipHash-1-3 of an ID under a 64-bit key (k0, k1): one SipRound per 32-bit word, three to
 * finish. The words are the length, then the code units two at a time (the last one alone when
 * the length is odd), so different IDs are different word sequences.
 */
export function keyedTxidHash(txid: string, k0: number = KEY[0]!, k1: number = KEY[1]!): number {
  let v0 = k0 | 0
  let v1 = k1 | 0
  let v2 = (0x6c796765 ^ k0) | 0
  let v3 = (0x74656462 ^ k1) | 0
  const n = txid.length
  let m = n
  let i = 0
  for (;;) {
    v3 ^= m
    // SipRound (32-bit rotations 5, 16, 8, 7, 13, 16).
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16)
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16)
    v0 ^= m
    if (i >= n) break
    m = i + 1 < n ? txid.charCodeAt(i) | (txid.charCodeAt(i + 1) << 16) : txid.charCodeAt(i)
    i += 2
  }
  v2 ^= 0xff
  for (let r = 0; r < 3; r++) {
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16)
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16)
  }
  return v1 ^ v3
}

export class TxidSet {
  readonly #shards: Shard[]
  /** How far to shift a hash right to get its shard (the top bits pick the shard, the low bits the slot). */
  readonly #shardShift: number
  readonly #hash: (txid: string) => number
  #size = 0

  constructor(options: TxidSetOptions = {}) {
    const shards = options.shards ?? TXID_SET_SHARDS
    if (!(Number.isSafeInteger(shards) && shards > 0 && shards <= MAX_TXID_SET_SHARDS && (shards & (shards - 1)) === 0)) {
      throw new RangeError(`shards must be a power of two from 1 to ${MAX_TXID_SET_SHARDS}`)
    }
    this.#shards = Array.from({ length: shards }, newShard)
    // >>> 32 would shift by 0: one shard takes every hash through `& 0` instead.
    this.#shardShift = shards === 1 ? 0 : 32 - Math.log2(shards)
    this.#hash = options.hash ?? keyedTxidHash
  }

  get size(): number {
    return this.#size
  }

  /** IDs in the fullest shard: about size / shards unless the hash was made to collide. */
  get largestShard(): number {
    let most = 0
    for (const shard of this.#shards) most = Math.max(most, shard.count)
    return most
  }

  has(txid: string): boolean {
    const h = this.#hash(txid) | 0
    return this.#find(this.#shardOf(h), h, txid) < 0
  }

  /** The value the ID was added with, or undefined when it is not in the set. */
  get(txid: string): number | undefined {
    const h = this.#hash(txid) | 0
    const shard = this.#shardOf(h)
    if (this.#find(shard, h, txid) >= 0) return undefined
    const offset = this.#lastFound
    return shard.arena[offset + 2]! + shard.arena[offset + 3]! * 0x10000
  }

  /**
   * Adds the ID with a value (an integer 0..MAX_TXID_SET_VALUE, default 0); an ID already in the
   * set keeps its first value.
   */
  add(txid: string, value = 0): void {
    if (!(Number.isInteger(value) && value >= 0 && value <= MAX_TXID_SET_VALUE)) {
      throw new RangeError(`value must be an integer from 0 to ${MAX_TXID_SET_VALUE}`)
    }
    const h = this.#hash(txid) | 0
    const shard = this.#shardOf(h)
    const slot = this.#find(shard, h, txid)
    if (slot < 0) return
    const offset = this.#store(shard, txid, value)
    shard.tags[slot] = tagOf(h)
    shard.table[2 * slot] = h
    shard.table[2 * slot + 1] = offset + 1
    shard.count++
    this.#size++
    if (2 * shard.count > shard.mask + 1) this.#grow(shard)
  }

  /** Calls `visit` with every ID in the set and its value, in no particular order. */
  forEach(visit: (txid: string, value: number) => void): void {
    for (const shard of this.#shards) {
      const arena = shard.arena
      for (let offset = 0; offset < shard.used; ) {
        const n = arena[offset]! + arena[offset + 1]! * 0x10000
        const start = offset + HEADER_UNITS
        let txid = ''
        // In slices: String.fromCharCode takes its units as arguments, and a call has a bounded stack.
        for (let i = 0; i < n; i += FROM_CHAR_CODE_SLICE) txid += String.fromCharCode(...arena.subarray(start + i, start + Math.min(n, i + FROM_CHAR_CODE_SLICE)))
        visit(txid, arena[offset + 2]! + arena[offset + 3]! * 0x10000)
        offset = start + n
      }
    }
  }

  /**
   * How many slots a lookup of this ID reads (1 when its first slot settles it). For tests and
   * diagnostics: the hot paths do not count.
   */
  probesFor(txid: string): number {
    const h = this.#hash(txid) | 0
    const shard = this.#shardOf(h)
    const tag = tagOf(h)
    let slot = h & shard.mask
    for (let probes = 1; ; probes++) {
      const t = shard.tags[slot]!
      if (t === 0) return probes
      if (t === tag && shard.table[2 * slot] === h && sameId(shard.arena, shard.table[2 * slot + 1]! - 1, txid)) return probes
      slot = (slot + 1) & shard.mask
    }
  }

  #shardOf(h: number): Shard {
    return this.#shards[this.#shardShift === 0 ? 0 : h >>> this.#shardShift]!
  }

  /**
   * -1 when the ID is in the shard (its arena offset then in #lastFound), else the empty slot
   * where it would go.
   */
  #find(shard: Shard, h: number, txid: string): number {
    const tags = shard.tags
    const mask = shard.mask
    const tag = tagOf(h)
    let slot = h & mask
    for (;;) {
      const t = tags[slot]!
      if (t === 0) return slot
      if (t === tag && shard.table[2 * slot] === h) {
        const offset = shard.table[2 * slot + 1]! - 1
        if (sameId(shard.arena, offset, txid)) {
          this.#lastFound = offset
          return -1
        }
      }
      slot = (slot + 1) & mask
    }
  }

  /** Arena offset of the ID #find last found (a field rather than a returned pair: no allocation per lookup). */
  #lastFound = 0

  /** Appends the ID and its value to the shard's arena; returns its offset. */
  #store(shard: Shard, txid: string, value: number): number {
    const n = txid.length
    const need = shard.used + HEADER_UNITS + n
    if (need > shard.arena.length) {
      let units = shard.arena.length * 2
      while (units < need) units *= 2
      const arena = new Uint16Array(units)
      arena.set(shard.arena.subarray(0, shard.used))
      shard.arena = arena
    }
    const arena = shard.arena
    const offset = shard.used
    arena[offset] = n & 0xffff
    arena[offset + 1] = n >>> 16
    arena[offset + 2] = value & 0xffff
    arena[offset + 3] = value >>> 16
    for (let i = 0; i < n; i++) arena[offset + HEADER_UNITS + i] = txid.charCodeAt(i)
    shard.used = need
    return offset
  }

  #grow(shard: Shard): void {
    const old = shard.table
    const slots = 2 * (shard.mask + 1)
    const table = new Int32Array(2 * slots)
    const tags = new Uint8Array(slots)
    const mask = slots - 1
    for (let i = 0; i < old.length; i += 2) {
      const ref = old[i + 1]!
      if (ref === 0) continue
      const h = old[i]!
      let slot = h & mask
      while (tags[slot] !== 0) slot = (slot + 1) & mask
      tags[slot] = tagOf(h)
      table[2 * slot] = h
      table[2 * slot + 1] = ref
    }
    shard.tags = tags
    shard.table = table
    shard.mask = mask
  }
}

function sameId(arena: Uint16Array, offset: number, txid: string): boolean {
  const n = txid.length
  if (arena[offset] !== (n & 0xffff) || arena[offset + 1] !== n >>> 16) return false
  const start = offset + HEADER_UNITS
  for (let i = 0; i < n; i++) if (arena[start + i] !== txid.charCodeAt(i)) return false
  return true
}
