import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import type { ChatStream } from '../../src/core/chat/chat-stream.js'
import { createWebSocketChatStream, openWebSocketChat, type WebSocketLike } from '../../src/core/chat/websocket-chat-stream.js'

/** A real WebSocket connection on loopback: `a` is the client side, `b` the server side. */
export async function createWsPair(
  options: { maxFrameBytes?: number; transportMaxPayload?: number; binaryType?: 'arraybuffer' | 'nodebuffer' } = {},
): Promise<{
  a: ChatStream
  b: ChatStream
  client: WebSocket
  server: WebSocket
  breakTransport(): void
  cleanup(): Promise<void>
}> {
  const maxFrameBytes = options.maxFrameBytes ?? 1024 * 1024
  const transportMax = options.transportMaxPayload ?? maxFrameBytes
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: transportMax, perMessageDeflate: false })
  await once(wss, 'listening')
  const { port } = wss.address() as AddressInfo
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>
  let client!: WebSocket
  const a = await openWebSocketChat(
    () => {
      client = new WebSocket(`ws://127.0.0.1:${port}/chat`, { perMessageDeflate: false, maxPayload: transportMax })
      return client as unknown as WebSocketLike
    },
    { remote: `ws://127.0.0.1:${port}/chat`, maxFrameBytes, timeoutMs: 5000, ...(options.binaryType ? { binaryType: options.binaryType } : {}) },
  )
  const [server] = await accepted
  server.on('error', () => {})
  const b = createWebSocketChatStream(server as unknown as WebSocketLike, {
    remote: 'client',
    maxFrameBytes,
    ...(options.binaryType ? { binaryType: options.binaryType } : {}),
  })
  return {
    a,
    b,
    client,
    server,
    breakTransport: () => {
      client.terminate()
      server.terminate()
    },
    cleanup: async () => {
      client.terminate()
      server.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}
