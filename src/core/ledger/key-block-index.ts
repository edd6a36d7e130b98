/**
 * A durable map from string keys to block numbers, written a generation at a time: what lets a
 * store-backed ledger keep only recent keys in memory. Two live in a ledger store (ledger-store.ts):
 * committed txids -> the block holding each (committed-txids.ts), and state keys -> the newest
 * block that wrote each (state-keys.ts).
 *
 * Why generations rather than a record per key: a LevelDB put per transaction in each block's
 * write batch cost validators about a third of their durable throughput (bench
 * pbft.batch100_durable), while one write of a few thousand bucket records per generation costs
 * next to nothing.
 */

/** What a generation hands over: each key once, with its block. TxidSet fits, and so does a wrapped Map. */
export interface KeyBlockEntries {
  forEach(visit: (key: string, block: number) => void): void
}

export interface KeyBlockIndex {
  /**
   * The block the newest written generation holding `key` names; undefined when none holds it.
   * Generations are searched newest first, so a key written in several answers its latest block.
   */
  lookup(key: string): number | undefined
  /**
   * Writes a generation: its keys of blocks first..last, each with its block, and calls `written`
   * once it is stored. Until then the generation stays in memory, and for good if the write fails.
   */
  write(entries: KeyBlockEntries, first: number, last: number, written: () => void): void
}
