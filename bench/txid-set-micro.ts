/**
 * Micro-benchmark of the committed-txid set's hot path (not part of `npm run bench`): per new
 * transaction, two lookups that miss and one add, as the ledger does, into a set already holding
 * `prefill` IDs. Compares the keyed hash (HalfSipHash-1-3, the default) with the seeded
 * multiply-xorshift it replaced, interleaved in one process so both see the same machine state.
 * `npx tsx bench/txid-set-micro.ts [prefill=1000000] [ops=500000] [rounds=3]`
 */
import { keyedTxidHash, TxidSet } from '../src/core/ledger/txid-set.js'

const prefill = Number(process.argv[2] ?? 1_000_000)
const ops = Number(process.argv[3] ?? 500_000)
const rounds = Number(process.argv[4] ?? 3)

/** The hash the set used before 2026-12-03, for comparison only. */
function oldHash(seed: number): (txid: string) => number {
  return (txid) => {
    let h = seed ^ txid.length
    for (let i = 0; i < txid.length; i++) {
      h = Math.imul(h ^ txid.charCodeAt(i), 0x5bd1e995)
      h ^= h >>> 15
    }
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
    return h ^ (h >>> 16)
  }
}

const shapes: Record<string, (i: number) => string> = {
  // What the bench's clients send.
  short: (i) => `client-${i.toString(36)}`,
  // A UUID-sized ID.
  uuid: (i) => `${i.toString(16).padStart(8, '0')}-4b1d-4c2e-9f3a-${(i * 2654435761 >>> 0).toString(16).padStart(12, '0')}`,
}

function run(make: () => TxidSet, id: (i: number) => string): number {
  const set = make()
  for (let i = 0; i < prefill; i++) set.add(id(i))
  const fresh = Array.from({ length: ops }, (_, i) => id(prefill + i))
  const t0 = process.hrtime.bigint()
  let hits = 0
  for (const txid of fresh) {
    if (set.has(txid)) hits++
    if (set.has(txid)) hits++
    set.add(txid)
  }
  const ns = Number(process.hrtime.bigint() - t0) / ops
  if (hits !== 0 || set.size !== prefill + ops) throw new Error('wrong answers')
  return ns
}

const variants: [string, () => TxidSet][] = [
  ['old multiply-xorshift', () => new TxidSet({ hash: oldHash(0x9e3779b9) })],
  ['keyed HalfSipHash-1-3', () => new TxidSet()],
]
/** The hash alone, ns per ID. */
function hashOnly(hash: (txid: string) => number, id: (i: number) => string): number {
  const ids = Array.from({ length: ops }, (_, i) => id(i))
  let sink = 0
  const t0 = process.hrtime.bigint()
  for (let r = 0; r < 4; r++) for (const txid of ids) sink ^= hash(txid)
  const ns = Number(process.hrtime.bigint() - t0) / (4 * ops)
  if (sink === 0.5) console.log(sink)
  return ns
}

for (const [shape, id] of Object.entries(shapes)) {
  const old = oldHash(0x9e3779b9)
  const keyed = (txid: string): number => keyedTxidHash(txid)
  const pairs = Array.from({ length: rounds }, () => [hashOnly(old, id), hashOnly(keyed, id)] as const)
  console.log(`${shape.padEnd(5)} hash alone: old ${pairs.map((p) => p[0].toFixed(1)).join(' / ')} ns, keyed ${pairs.map((p) => p[1].toFixed(1)).join(' / ')} ns`)
}
for (const [shape, id] of Object.entries(shapes)) {
  const results = new Map<string, number[]>(variants.map(([name]) => [name, []]))
  for (let r = 0; r < rounds; r++) for (const [name, make] of variants) results.get(name)!.push(run(make, id))
  for (const [name, ns] of results) {
    console.log(`${shape.padEnd(5)} ${name.padEnd(22)} ${ns.map((n) => n.toFixed(0)).join(' / ')} ns per (2 misses + add), prefill ${prefill}`)
  }
}
