import { describe, expect, it } from 'vitest'
import { ReportedChain } from '../../../src/core/peer/reported-chain.js'
import { toHex } from '../../../src/core/util/bytes.js'
import { sourceChain } from '../../support/chains.js'

const nothingWaits = (): boolean => false

describe('reported chain', () => {
  it('without a store reports every block the ledger holds', () => {
    const ledger = sourceChain(3)
    const reported = new ReportedChain(ledger, undefined)
    expect(reported.head()).toEqual({ height: 4, headHash: toHex(ledger.headHash()) })
    expect(reported.chainInfo().stateHash).toBe(toHex(ledger.getBlock(3)!.stateHash))
    expect(reported.block(3)?.hash).toBe(toHex(ledger.blockHash(3)!))
    expect(reported.transactionStatus('t3', nothingWaits)).toEqual({ status: 'committed', block: 3, index: 0 })
  })

  it('with a store reports its stored head: blocks above it are not shown, their transactions are pending', () => {
    const ledger = sourceChain(3)
    const store = { stored: 2, storedHeight: () => store.stored }
    const reported = new ReportedChain(ledger, store)
    expect(reported.height()).toBe(2)
    expect(reported.head()).toEqual({ height: 2, headHash: toHex(ledger.blockHash(1)!) })
    expect(reported.chainInfo()).toEqual({ height: 2, headHash: toHex(ledger.blockHash(1)!), stateHash: toHex(ledger.getBlock(1)!.stateHash) })
    expect(reported.block(1)?.block.number).toBe(1)
    expect(reported.block(2)).toBeUndefined()
    expect(reported.transactionStatus('t1', nothingWaits)).toEqual({ status: 'committed', block: 1, index: 0 })
    expect(reported.transactionStatus('t2', nothingWaits)).toEqual({ status: 'pending' })
    store.stored = 4
    expect(reported.transactionStatus('t3', nothingWaits)).toEqual({ status: 'committed', block: 3, index: 0 })
  })

  it('asks whether an unknown transaction waits at this peer: pending if so, unknown if not', () => {
    const reported = new ReportedChain(sourceChain(1), undefined)
    expect(reported.transactionStatus('queued', (txid) => txid === 'queued')).toEqual({ status: 'pending' })
    expect(reported.transactionStatus('other', (txid) => txid === 'queued')).toEqual({ status: 'unknown' })
  })

  it('has no block below 0, past its head, or at a number that is not an integer', () => {
    const reported = new ReportedChain(sourceChain(2), undefined)
    for (const number of [-1, 3, 1.5, Number.NaN]) expect(reported.block(number)).toBeUndefined()
    expect(reported.block(0)?.block.number).toBe(0)
  })
})
