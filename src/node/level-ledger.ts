/**
 * The Node peer's durable ledger: the in-memory ledger with its ledger store (ledger-store.ts) in
 * LevelDB (classic-level, whose prebuilt binaries ship in its npm package) under
 * `<dataDir>/ledger`. One process at a time: LevelDB's lock refuses a second with ERR_LEDGER_LOCKED.
 */
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import type { FsyncPolicy, LedgerStore } from '../core/ledger/ledger-store.js'
import { openLedgerStore } from '../core/ledger/ledger-store.js'
import type { Ledger } from '../core/ledger/ledger.js'
import { createMemoryLedger } from '../core/ledger/memory-ledger.js'
import type { Logger } from '../core/util/logger.js'

/** The ledger's directory under a peer's data directory. */
export const LEDGER_DIR_NAME = 'ledger'
/**
 * Table files LevelDB keeps open at most (default 20; LevelDB's own default is 1,000). Each open
 * file keeps its index in memory, and LevelDB maps the files it reads (compactions read through
 * the same open files) into the process, so the pages it touched count in the peer's RSS until the
 * file is closed. With LevelDB's default, writing 5,000,000 transactions through one ledger store
 * grew native memory by 53 MB (8 MB with 50 open); in the soak with 20 the mapped pages of table
 * files stayed at 15-21 MB (README "Durability"). Reads of old blocks and of the key indexes are
 * rare; a closed file is opened again on demand, and same-run durable benches showed no cost.
 */
export const LEDGER_MAX_OPEN_FILES = 20

export interface NodeLedgerOptions {
  dataDir: string
  network: string
  fsync: FsyncPolicy
  /** Default LEDGER_MAX_OPEN_FILES. */
  maxOpenFiles?: number
  log?: Logger
}

/** Opens (or creates) `<dataDir>/ledger` and loads its chain; refuses a corrupt or foreign one (LedgerStoreError). */
export async function openNodeLedger(options: NodeLedgerOptions): Promise<{ ledger: Ledger; store: LedgerStore }> {
  const location = join(options.dataDir, LEDGER_DIR_NAME)
  const db = new ClassicLevel<string, Uint8Array>(location, { valueEncoding: 'view', maxOpenFiles: options.maxOpenFiles ?? LEDGER_MAX_OPEN_FILES })
  const ledger = createMemoryLedger(options.log === undefined ? {} : { log: options.log })
  const store = await openLedgerStore(ledger, {
    db,
    network: options.network,
    location,
    fsync: options.fsync,
    discardHint: `to discard it and catch up from the peers, stop the peer and run: rm -rf '${location}'`,
    ...(options.log === undefined ? {} : { log: options.log }),
  })
  return { ledger, store }
}
