import { afterEach, describe, expect, it } from 'vitest'
import '../../support/test-consenters.js'
import { MemoryNetwork } from '../../support/memory-network.js'
import { RawLink } from '../../support/raw-link.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { decodePayload, makeEnvelope } from '../../../src/core/wire/payloads.js'

/** PROTOCOL.md 10: empty and out-of-range sync requests get an empty answer, never a refusal. */
describe('sync requests for nothing', () => {
  let net: MemoryNetwork | undefined
  afterEach(async () => {
    await net?.stopAll()
  })

  it.each([
    ['end < start', 3, 1],
    ['start at the height', 1, 5],
    ['start far above the height', 1_000_000, 2_000_000],
  ])('%s: SYNC_BLOCKS and SYNC_STATE_DELTAS with empty lists, echoing the requestId', async (_name, start, end) => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording' })
    await peer.start()
    expect(peer.status().chain.height).toBe(1)
    const raw = await RawLink.established(peer, 'vp1')
    raw.send(makeEnvelope(MessageType.SYNC_GET_BLOCKS, { requestId: 7, start, end }))
    expect(decodePayload(MessageType.SYNC_BLOCKS, (await raw.next({ type: MessageType.SYNC_BLOCKS })).payload)).toEqual({ requestId: 7, blocks: [] })
    raw.send(makeEnvelope(MessageType.SYNC_STATE_GET_DELTAS, { requestId: 8, start, end }))
    expect(decodePayload(MessageType.SYNC_STATE_DELTAS, (await raw.next({ type: MessageType.SYNC_STATE_DELTAS })).payload)).toEqual({ requestId: 8, deltas: [] })
  })
})
