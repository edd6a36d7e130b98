import { describe, expect, it } from 'vitest'
import { createMemoryChatPair } from '../../../src/core/chat/memory-chat-stream.js'
import { DecodeError, SendBufferFullError } from '../../../src/core/errors.js'
import type { HandlerContext } from '../../../src/core/handlers/handler-context.js'
import { PeerHandler } from '../../../src/core/handlers/peer-handler.js'
import { genesisBlock } from '../../../src/core/ledger/block-hash.js'
import { createMemoryLedger } from '../../../src/core/ledger/memory-ledger.js'
import { Link } from '../../../src/core/handlers/link.js'
import { silentLogger } from '../../../src/core/util/logger.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { EndpointType, type Block } from '../../../src/core/wire/payload-types.js'
import { encodePayload } from '../../../src/core/wire/payloads.js'

/** An established link from vp0 to a handler whose context records heights and announced blocks. */
function setup(height: number) {
  const ledger = createMemoryLedger()
  for (let n = 1; n < height; n++) {
    ledger.beginTxBatch('b')
    ledger.execTxs('b', [{ txid: `t${n}`, payload: 'x', timestamp: n, origin: 'vp0' }])
    ledger.commitTxBatch('b', { timestamp: n, proposer: 'vp0' })
  }
  const heights: [string, number][] = []
  const added: Block[] = []
  const ctx = { ledger, log: silentLogger, recordHeight: (id: string, h: number) => heights.push([id, h]), blockAdded: (block: Block) => added.push(block) }
  const [stream] = createMemoryChatPair()
  const link = new Link({ stream, initiated: true, now: 0, outbox: { maxFrameBytes: 1 << 20, maxEnvelopesPerFrame: 64, targetFrameBytes: 1 << 16, sendBufferCapBytes: 1 << 20 } })
  link.state = 'established'
  link.remote = { id: 'vp0', address: '', type: EndpointType.VALIDATOR }
  const handler = new PeerHandler(link, ctx as unknown as HandlerContext)
  return { handler, heights, added, ledger }
}

/** A SYNC_BLOCK_ADDED payload for block `number` whose block fields after the number are garbage. */
function brokenAnnouncement(number: number): Uint8Array {
  const good = encodePayload(MessageType.SYNC_BLOCK_ADDED, { block: { ...genesisBlock(), number } })
  const broken = good.slice()
  broken.fill(0xc1, 20) // 0xc1 is never valid msgpack
  return broken
}

const envelope = (payload: Uint8Array) => ({ type: MessageType.SYNC_BLOCK_ADDED, timestamp: 1, payload })

describe('PeerHandler SYNC_BLOCK_ADDED', () => {
  it('records the height of an announced block it already holds without decoding the rest', async () => {
    const { handler, heights, added } = setup(4)
    await handler.handleMessage(envelope(brokenAnnouncement(2)))
    expect(heights).toEqual([['vp0', 3]])
    expect(added).toEqual([])
  })

  it('decodes and checks an announcement of a block it does not hold yet', async () => {
    const { handler, heights, added, ledger } = setup(4)
    expect(() => handler.handleMessage(envelope(brokenAnnouncement(4)))).toThrow(DecodeError)
    expect(heights).toEqual([])
    const block = { ...genesisBlock(), number: ledger.height(), previousBlockHash: ledger.headHash() }
    await handler.handleMessage(envelope(encodePayload(MessageType.SYNC_BLOCK_ADDED, { block })))
    expect(heights).toEqual([['vp0', 5]])
    expect(added.map((b) => b.number)).toEqual([4])
  })
})

describe('PeerHandler sync requests', () => {
  it('builds no answer for a link whose send buffer is already at the cap: closes it with 4002 instead', () => {
    const ledger = createMemoryLedger()
    let reads = 0
    const getBlock = ledger.getBlock.bind(ledger)
    ledger.getBlock = (...args: Parameters<typeof getBlock>) => {
      reads++
      return getBlock(...args)
    }
    const [stream] = createMemoryChatPair()
    let buffered = 0
    Object.defineProperty(stream, 'bufferedAmount', { get: () => buffered })
    const cap = 1 << 20
    const link = new Link({ stream, initiated: true, now: 0, outbox: { maxFrameBytes: 1 << 20, maxEnvelopesPerFrame: 64, targetFrameBytes: 1 << 16, sendBufferCapBytes: cap } })
    link.state = 'established'
    link.remote = { id: 'vp0', address: '', type: EndpointType.VALIDATOR }
    const handler = new PeerHandler(link, { ledger, log: silentLogger, syncAnswerBudget: { maxItems: 10, maxBytes: 1 << 19 }, now: () => 0 } as unknown as HandlerContext)
    const ask = { type: MessageType.SYNC_GET_BLOCKS, timestamp: 1, payload: encodePayload(MessageType.SYNC_GET_BLOCKS, { requestId: 1, start: 0, end: 0 }) }
    expect(() => handler.handleMessage(ask)).not.toThrow()
    expect(reads).toBe(1)
    buffered = cap
    expect(() => handler.handleMessage(ask)).toThrow(SendBufferFullError)
    expect(reads).toBe(1)
    expect(stream.closed).toBe(true)
  })
})
