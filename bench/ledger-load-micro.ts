/**
 * How long a Node peer's start takes to load its stored chain (not part of `npm run bench`):
 * writes `blocks` blocks of `txs` transactions through a LevelDB ledger store (`openNodeLedger`,
 * as `wspeer start` does), closes it, then opens it again `rounds` times and prints each load's
 * time and the process's RSS after it; while writing, it prints RSS, V8 heap and external memory
 * ten times (after a full GC when run with NODE_OPTIONS=--expose-gc, so garbage does not blur it).
 * Issue 15: a restart must continue where it stopped, and memory must not grow with the chain.
 * `npx tsx bench/ledger-load-micro.ts [blocks=10000] [txs=100] [rounds=2] [maxOpenFiles=LEDGER_MAX_OPEN_FILES]`
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
// For its side effect, as a peer process has it: Node's native SHA-256 and UTF-8 paths.
import '../src/node/index.js'
import { LEDGER_MAX_OPEN_FILES, openNodeLedger } from '../src/node/level-ledger.js'

const blocks = Number(process.argv[2] ?? 10_000)
const txs = Number(process.argv[3] ?? 100)
const rounds = Number(process.argv[4] ?? 2)
const maxOpenFiles = Number(process.argv[5] ?? LEDGER_MAX_OPEN_FILES)

const dataDir = mkdtempSync(join(tmpdir(), 'wspeer-load-'))
const rssMb = (): number => Math.round(process.memoryUsage().rss / 2 ** 20)
const memory = (): Record<string, number> => {
  ;(globalThis as { gc?: () => void }).gc?.()
  const m = process.memoryUsage()
  return { rss_mb: Math.round(m.rss / 2 ** 20), heap_mb: Math.round(m.heapUsed / 2 ** 20), external_mb: Math.round(m.external / 2 ** 20) }
}
/** Memory is printed every this many blocks while writing. */
const sampleEvery = Math.max(1, Math.floor(blocks / 10))
try {
  const first = await openNodeLedger({ dataDir, network: 'bench', fsync: 'never', maxOpenFiles })
  const t0 = performance.now()
  // The process's CPU (every thread: LevelDB's writes and compactions run off the main one).
  const cpu0 = process.cpuUsage()
  let seq = 0
  for (let b = 0; b < blocks; b++) {
    const id = `b${b}`
    first.ledger.beginTxBatch(id)
    first.ledger.execTxs(id, Array.from({ length: txs }, () => ({ txid: `client-${(seq++).toString(36)}`, payload: `k${seq % 1000}=${'v'.repeat(200)}`, timestamp: seq, origin: 'vp0' })))
    first.ledger.commitTxBatch(id, { timestamp: b, proposer: 'vp0' })
    if (b % 100 === 99) await first.store.flushed()
    if (b % sampleEvery === sampleEvery - 1) console.log(JSON.stringify({ committed: (b + 1) * txs, ...memory() }))
  }
  await first.store.close()
  const cpu = process.cpuUsage(cpu0)
  console.log(JSON.stringify({ wrote: { blocks, transactions: blocks * txs }, ms: Math.round(performance.now() - t0), cpu_ms: Math.round((cpu.user + cpu.system) / 1000), rss_mb: rssMb() }))
  for (let r = 0; r < rounds; r++) {
    const t1 = performance.now()
    const again = await openNodeLedger({ dataDir, network: 'bench', fsync: 'never', maxOpenFiles })
    const ms = Math.round(performance.now() - t1)
    console.log(JSON.stringify({ loaded: again.ledger.height() - 1, ms, per_block_us: Math.round((ms * 1000) / blocks), rss_mb: rssMb(), stats: again.store.stats() }))
    await again.store.close()
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}
