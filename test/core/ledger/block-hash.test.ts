import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { LedgerError } from '../../../src/core/errors.js'
import { BLOCK_HASH_DOMAIN, BODY_HASH_DOMAIN, bodyHash, genesisBlock, hashBlock } from '../../../src/core/ledger/block-hash.js'
import { MAX_STATE_KEY_LENGTH, STATE_HASH_DOMAIN } from '../../../src/core/ledger/state-machine.js'
import type { Block, Transaction } from '../../../src/core/wire/payload-types.js'
import { specBlockHash, specBodyHash } from '../../support/block-hash-reference.js'

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
    expect(BLOCK_HASH_DOMAIN).toBe('wspeer-block-v2')
    expect(BODY_HASH_DOMAIN).toBe('wspeer-body-v1')
    const block = sample()
    expect(Buffer.from(hashBlock(block)).toString('hex')).toBe(specBlockHash(block).toString('hex'))
    expect(Buffer.from(bodyHash(block.timestamp, block.proposer, block.transactions)).toString('hex')).toBe(
      specBodyHash(block.timestamp, block.proposer, block.transactions).toString('hex'),
    )
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
    expect(hex(genesisHash)).toBe('bc0f57c6445a9a30ec36973c1c3edaed5dbd6b8503073674ecf29f6c6f5ae6fb')
    const block1: Block = {
      number: 1,
      previousBlockHash: genesisHash,
      stateHash: Buffer.from('e425fa41ee5e0b61d0eb2a9eb065e294f1af5d57d95a4bf4d2953c03a82c38e1', 'hex'),
      timestamp: 1000,
      proposer: 'vp0',
      transactions: [
        { txid: 't1', payload: 'a=1', timestamp: 5, origin: 'vp1' },
        { txid: 't2', payload: 'hello', timestamp: 6, origin: 'vp2' },
      ],
    }
    expect(hex(bodyHash(block1.timestamp, block1.proposer, block1.transactions))).toBe('2258fa3699c39c647b27fa501d3ee07731a7f149405480ae0702441c2589cd24')
    expect(hex(hashBlock(block1))).toBe('ef7635138d5e570674b5dbf2d8463612a95ae04f31788922a5437dab70dce6dd')
  })

  it('is what PROTOCOL.md section 12 says, vectors and key limit included', () => {
    const doc = readFileSync(new URL('../../../PROTOCOL.md', import.meta.url), 'utf8')
    const section = doc.slice(doc.indexOf('## 12. Block hash'), doc.indexOf('## 13.'))
    expect(section).toContain(Buffer.from(hashBlock(genesisBlock())).toString('hex'))
    expect(section).toContain('ef7635138d5e570674b5dbf2d8463612a95ae04f31788922a5437dab70dce6dd')
    expect(section).toContain(`"${BLOCK_HASH_DOMAIN}"`)
    expect(section).toContain(`"${BODY_HASH_DOMAIN}"`)
    expect(section).toContain(`"${STATE_HASH_DOMAIN}"`)
    expect(section).toContain(`at most ${MAX_STATE_KEY_LENGTH} Unicode code points`)
  })
})
