/**
 * Durable records a consenter keeps for itself beside the chain (Fabric v0.6's StatePersistor,
 * where obcpbft kept its view, checkpoints and log). PBFT keeps its promises here (pbft/promise-log.ts).
 *
 * Why the records are read at open and handed over synchronously: a consenter starts and runs
 * inside the engine's one-message-at-a-time loop without awaiting, so the peer reads them while it
 * opens its storage (ledger-store.ts does, in the same database as the chain) and the consenter
 * only ever waits on writes.
 */

/** Puts (a value) and deletes (undefined), applied atomically. */
export type ConsenterStoreChanges = ReadonlyMap<string, Uint8Array | undefined>

export interface ConsenterStore {
  /** The records as they stood when the store was opened. */
  loaded(): ReadonlyMap<string, Uint8Array>
  /**
   * Applies the changes as one atomic write; resolves once they are written (and forced to disk
   * when the store's policy says so), together with every block the ledger committed before the
   * call: the chain and these records share one ordered queue, so a PBFT checkpoint sent after a
   * write names a state that is on disk. Rejects when the write failed: nothing of it may be
   * relied on.
   */
  write(changes: ConsenterStoreChanges): Promise<void>
}

/** A store in memory, for tests (nothing survives the process; its ledger is taken as written at once). */
export function createMemoryConsenterStore(initial: ReadonlyMap<string, Uint8Array> = new Map()): ConsenterStore & { records: Map<string, Uint8Array> } {
  const records = new Map(initial)
  const snapshot = new Map(initial)
  return {
    records,
    loaded: () => snapshot,
    write: (changes) => {
      for (const [key, value] of changes) {
        if (value === undefined) records.delete(key)
        else records.set(key, value)
      }
      return Promise.resolve()
    },
  }
}
