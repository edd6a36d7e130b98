/**
 * Run by test/integration/hostile-inputs.test.ts under `--max-old-space-size=256` (catalogue case
 * 6): a real Node peer receives allocation bombs over a real WebSocket, must refuse them, stay up,
 * and still answer a valid frame. Prints one JSON line with what happened and exits 0 on success.
 */
import { WebSocket } from 'ws'
import { startNodePeer } from '../../src/node/index.js'
import { resolveConfig } from '../../src/node/config.js'
import { silentLogger } from '../../src/core/util/logger.js'
import { openWebSocketChat, type WebSocketLike } from '../../src/core/chat/websocket-chat-stream.js'
import { MessageType } from '../../src/core/wire/message-type.js'
import { makeEnvelope } from '../../src/core/wire/payloads.js'
import { RawLink } from './raw-link.js'

const node = await startNodePeer(resolveConfig({ argv: ['--id', 'vp0', '--port', '0', '--max-decode-errors', '100'], env: {} }), {
  log: silentLogger,
})
const stream = await openWebSocketChat(() => new WebSocket(node.address, { perMessageDeflate: false }) as unknown as WebSocketLike, {
  remote: node.address,
  maxFrameBytes: 1024 * 1024,
  timeoutMs: 5000,
})
const link = new RawLink(stream)
const results: Record<string, string | number | undefined> = {}

// A chain of array16 headers each declaring 65535 elements: 72 KB that once drove msgpackr to heap exhaustion.
const chain = new Uint8Array(72 * 1024)
for (let i = 0; i < chain.length; i += 3) chain.set([0xdc, 0xff, 0xff], i)
link.sendBytes(chain)
results.nestedArray16 = (await link.nextResponse()).code

// A frame of 1 MiB (less a little) of empty maps: a 40-64x expansion in memory if decoded naively.
const maps = new Uint8Array(1024 * 1024 - 16)
maps.set([0xdd, 0, 0, 0, 0])
new DataView(maps.buffer).setUint32(1, maps.length - 5)
maps.fill(0x80, 5)
link.sendBytes(maps)
results.emptyMaps = (await link.nextResponse()).code

// The same peer still answers a valid frame.
await link.hello('probe')
link.send(makeEnvelope(MessageType.KEEPALIVE_PING, { nonce: 42 }))
await link.next({ type: MessageType.KEEPALIVE_PONG })
results.stillServing = 'yes'
results.heapUsedMb = Math.round(process.memoryUsage().heapUsed / 1024 / 1024)

console.log(JSON.stringify(results))
stream.close()
await node.stop()
process.exit(0)
