import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { LedgerError } from '../../../src/core/errors.js'
import { BLOCK_HASH_DOMAIN, genesisBlock, hashBlock, transactionsRoot } from '../../../src/core/ledger/block-hash.js'
import { MAX_STATE_KEY_LENGTH, STATE_HASH_DOMAIN } from '../../../src/core/ledger/state-machine.js'
import type { Block, Transaction } from '../../../src/core/wire/payload-types.js'
import { specBlockHash, specTxRoot } from '../../support/block-hash-reference.js'

const sample = (): Block => ({
  number: 2 ** 40 + 7,
  previousBlockHash: new Uint8Array(32).map((_, i) => i),
  stateHash: new Uint8Array(32).map((_, i) => 255 - i),
  timestamp: 1_700_000_000_123,
  proposer: 'vp0-é',
  transactions: [
    { txid: 'a1', payload: 'k=v', timestamp: 5, origin: 'vp1' },
    { txid: 'b2', payload: 'snow ☃ and 😀', timestamp: 2 ** 53 - 1, origin: '' },
  ],
})

const flip = (bytes: Uint8Array, i: number) => {
  bytes[i] = (bytes[i] ?? 0) ^ 1
}

describe('block hash', () => {
  it('follows the PROTOCOL.md definition byte for byte', () => {
    expect(BLOCK_HASH_DOMAIN).toBe('wspeer-block-v1')
    const block = sample()
    expect(Buffer.from(hashBlock(block)).toString('hex')).toBe(specBlockHash(block).toString('hex'))
    expect(Buffer.from(transactionsRoot(block.transactions)).toString('hex')).toBe(specTxRoot(block.transactions).toString('hex'))
  })

  it('hashes the genesis block as the spec says, identically each time', () => {
    const genesis = genesisBlock()
    expect(genesis).toMatchObject({ number: 0, timestamp: 0, proposer: '', transactions: [] })
    expect([...genesis.previousBlockHash]).toEqual(new Array(32).fill(0))
    expect([...genesis.stateHash]).toEqual(new Array(32).fill(0))
    expect(Buffer.from(hashBlock(genesis)).toString('hex')).toBe(specBlockHash(genesis).toString('hex'))
    expect(hashBlock(genesisBlock())).toEqual(hashBlock(genesis))
  })

  it('changes when any field changes', () => {
    const base = Buffer.from(hashBlock(sample())).toString('hex')
    const variants: ((b: Block) => void)[] = [
      (b) => (b.number += 1),
      (b) => flip(b.previousBlockHash, 31),
      (b) => flip(b.stateHash, 0),
      (b) => (b.timestamp += 1),
      (b) => (b.proposer = 'vp1'),
      (b) => (b.transactions[0]!.txid = 'a2'),
      (b) => (b.transactions[0]!.payload = 'k=w'),
      (b) => (b.transactions[1]!.origin = 'x'),
      (b) => (b.transactions[1]!.timestamp -= 1),
      (b) => b.transactions.reverse(),
      (b) => b.transactions.pop(),
      // Length prefixes keep field boundaries: moving a character across them changes the hash.
      (b) => {
        b.transactions[0]!.txid = 'a1k'
        b.transactions[0]!.payload = '=v'
      },
    ]
    const seen = new Set([base])
    for (const change of variants) {
      const block = sample()
      change(block)
      const hex = Buffer.from(hashBlock(block)).toString('hex')
      expect(seen.has(hex)).toBe(false)
      seen.add(hex)
    }
  })

  it('refuses fields it cannot encode with LedgerError', () => {
    const bad: ((b: Block) => void)[] = [
      (b) => (b.number = -1),
      (b) => (b.number = 1.5),
      (b) => (b.timestamp = 2 ** 53),
      (b) => (b.previousBlockHash = new Uint8Array(31)),
      (b) => (b.stateHash = 'x' as unknown as Uint8Array),
      (b) => (b.proposer = '\ud800'),
      (b) => (b.transactions[0]!.txid = ''),
      (b) => (b.transactions[0]!.payload = 'x\udc00'),
      (b) => (b.transactions[0]!.timestamp = -5),
      (b) => (b.transactions = null as unknown as Transaction[]),
    ]
    for (const change of bad) {
      const block = sample()
      change(block)
      expect(() => hashBlock(block)).toThrow(LedgerError)
    }
  })

  // The test vectors PROTOCOL.md ("Block hash") publishes, computed independently in Python from its text.
  it('matches the published test vectors', () => {
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
    const genesisHash = hashBlock(genesisBlock())
    expect(hex(genesisHash)).toBe('8f8a7c97edb66be4c5871879d324cd7885f93b9fcb8ccfdd89984737f4aec574')
    const block1: Block = {
      number: 1,
      previousBlockHash: genesisHash,
      stateHash: Buffer.from('721abfe180f62f9b972b718d0545361122053b52af619bb187a58c675122e2be', 'hex'),
      timestamp: 1000,
      proposer: 'vp0',
      transactions: [
        { txid: 't1', payload: 'a=1', timestamp: 5, origin: 'vp1' },
        { txid: 't2', payload: 'hello', timestamp: 6, origin: 'vp2' },
      ],
    }
    expect(hex(hashBlock(block1))).toBe('80107241c5d60b6e91207d9698e065947886a35b548796230cd3f0e6a19757f9')
  })

  it('is what PROTOCOL.md section 12 says, vectors and key limit included', () => {
    const doc = readFileSync(new URL('../../../PROTOCOL.md', import.meta.url), 'utf8')
    const section = doc.slice(doc.indexOf('## 12. Block hash'), doc.indexOf('## 13.'))
    expect(section).toContain(Buffer.from(hashBlock(genesisBlock())).toString('hex'))
    expect(section).toContain('80107241c5d60b6e91207d9698e065947886a35b548796230cd3f0e6a19757f9')
    expect(section).toContain(`"${BLOCK_HASH_DOMAIN}"`)
    expect(section).toContain(`"${STATE_HASH_DOMAIN}"`)
    expect(section).toContain(`at most ${MAX_STATE_KEY_LENGTH} Unicode code points`)
  })
})
