import type { Ledger } from '../../src/core/ledger/ledger.js'
import { createMemoryLedger } from '../../src/core/ledger/memory-ledger.js'

/** A validator's chain: genesis and `blocks` blocks, block i holding one transaction, t<i> (`k<i>=v`). */
export function sourceChain(blocks: number): Ledger {
  const ledger = createMemoryLedger()
  for (let i = 1; i <= blocks; i++) {
    ledger.beginTxBatch(`b${i}`)
    ledger.execTxs(`b${i}`, [{ txid: `t${i}`, payload: `k${i}=v`, timestamp: i, origin: 'vp0' }])
    ledger.commitTxBatch(`b${i}`, { timestamp: i, proposer: 'vp0' })
  }
  return ledger
}
