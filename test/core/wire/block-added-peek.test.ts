import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { genesisBlock } from '../../../src/core/ledger/block-hash.js'
import { peekAnnouncedBlockNumber } from '../../../src/core/wire/block-added-peek.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { encodePayload } from '../../../src/core/wire/payloads.js'

const announce = (number: number) => encodePayload(MessageType.SYNC_BLOCK_ADDED, { block: { ...genesisBlock(), number } })

describe('peekAnnouncedBlockNumber', () => {
  it('reads the number of every size our encoder writes, float 64 from 2^32 on', () => {
    for (const n of [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      expect(peekAnnouncedBlockNumber(announce(n))).toBe(n)
    }
  })

  it('gives undefined for other key orders, other types and truncated bytes', () => {
    const packr = new Packr({ useRecords: false, variableMapSize: true })
    const { number, ...rest } = { ...genesisBlock(), number: 5 }
    expect(peekAnnouncedBlockNumber(packr.pack({ block: { ...rest, number } }))).toBeUndefined()
    expect(peekAnnouncedBlockNumber(packr.pack({ block: { number: -1 } }))).toBeUndefined()
    expect(peekAnnouncedBlockNumber(packr.pack({ block: { number: 1.5 } }))).toBeUndefined()
    expect(peekAnnouncedBlockNumber(packr.pack({ block: { number: '5' } }))).toBeUndefined()
    expect(peekAnnouncedBlockNumber(packr.pack({ blocks: { number: 5 } }))).toBeUndefined()
    const bytes = announce(70_000)
    for (let cut = 0; cut < 20; cut++) expect(peekAnnouncedBlockNumber(bytes.subarray(0, cut))).toBeUndefined()
    expect(peekAnnouncedBlockNumber(new Uint8Array(0))).toBeUndefined()
  })
})
