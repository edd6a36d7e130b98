/**
 * hostile-inputs.md case 19 against a real Node peer over real sockets: a remote that stops
 * reading while it keeps asking for data. The peer's send buffer for that link passes its cap
 * and that link is closed (4002); an honest link goes on being served.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import type { Socket } from 'node:net'
import { RawLink } from '../support/raw-link.js'
import { startNodePeer, type NodePeer } from '../../src/node/index.js'
import { resolveConfig } from '../../src/node/config.js'
import { silentLogger } from '../../src/core/util/logger.js'
import { openWebSocketChat, type WebSocketLike } from '../../src/core/chat/websocket-chat-stream.js'
import { MessageType } from '../../src/core/wire/message-type.js'
import { makeEnvelope } from '../../src/core/wire/payloads.js'

/** The smallest cap allowed (one full frame), so a few answers pass it once the kernel's socket buffers are full. */
const SEND_CAP_BYTES = 1024 * 1024
const TX_PAYLOAD_CHARS = 200 * 1024
const TXS = 4

let node: NodePeer

beforeAll(async () => {
  const config = resolveConfig({ argv: ['--id', 'vp0', '--port', '0', '--send-buffer-cap-bytes', String(SEND_CAP_BYTES)], env: {} })
  node = await startNodePeer(config, { log: silentLogger })
  // Blocks worth asking for: large transactions, in however many blocks noops cuts.
  for (let i = 0; i < TXS; i++) await node.peer.submit(`big${i}=${'x'.repeat(TX_PAYLOAD_CHARS)}`)
  await vi.waitFor(() => expect(node.peer.metrics().transactionsCommitted).toBe(TXS), { timeout: 10_000, interval: 20 })
})

afterAll(async () => {
  await node?.stop()
})

/** An authenticated raw link, and the `ws` socket under it. */
async function dial(id: string): Promise<{ link: RawLink; ws: WebSocket }> {
  const ws = new WebSocket(node.address, { perMessageDeflate: false })
  ws.on('error', () => {})
  const stream = await openWebSocketChat(() => ws as unknown as WebSocketLike, { remote: node.address, maxFrameBytes: 1024 * 1024, timeoutMs: 5000 })
  return { link: await RawLink.established(stream, id), ws }
}

it('19. a peer that stops reading passes the send-buffer cap and its link is closed; others unaffected', async () => {
  const honest = (await dial('honest')).link
  const slow = await dial('slow')
  // Stop reading at the TCP level, then keep asking for every block, again and again.
  ;(slow.ws as unknown as { _socket: Socket })._socket.pause()
  // Each answer carries every transaction (~800 KB); 24 MB of them is past any loopback buffering.
  const last = node.peer.status().chain.height - 1
  const asks = Math.ceil((24 * 1024 * 1024) / (TXS * TX_PAYLOAD_CHARS))
  for (let i = 0; i < asks; i++) slow.link.send(makeEnvelope(MessageType.SYNC_GET_BLOCKS, { requestId: i + 1, start: 1, end: last }))

  await vi.waitFor(() => expect(node.peer.status().peers.map((p) => p.id)).toEqual(['honest']), { timeout: 10_000, interval: 20 })

  // The honest link is still served, blocks included.
  honest.send(makeEnvelope(MessageType.SYNC_GET_BLOCKS, { requestId: 99, start: 1, end: 1 }))
  const answer = await honest.next({ type: MessageType.SYNC_BLOCKS })
  expect(answer.payload.byteLength).toBeGreaterThan(TX_PAYLOAD_CHARS)
  expect(node.peer.metrics().transactionsCommitted).toBe(TXS)
})
