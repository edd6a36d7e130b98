import type { Transaction } from '../wire/payload-types.js'

/**
 * Where a peer keeps the transactions it acknowledged (answered 202) until a block commits them,
 * so a crash between the answer and the commit loses none: `add` resolves once the transaction is
 * stored, and a restarted peer submits again what `pending` still returns. ledger-store.ts is the
 * implementation over abstract-level; it deletes each one in the batch that stores its block.
 */
export interface PendingStore {
  /** Stores an accepted transaction; the peer answers its client only after this resolves. */
  add(tx: Transaction): Promise<void>
  /** Transactions stored before this start that no block has committed yet. */
  pending(): readonly Transaction[]
  /**
   * Blocks written so far, genesis included: a restart finds at least this height. A transaction
   * in a block past it is reported pending, not committed, so nothing reported committed can be
   * missing after a crash.
   */
  storedHeight(): number
}
