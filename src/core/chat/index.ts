/**
 * chat/: frames in and out of one link. A ChatStream (WebSocket or in-memory) carries binary
 * frames; handleChat decodes them and hands each envelope to the link's handler; the Outbox
 * coalesces what a peer sends into frames.
 */
export * from './chat-stream.js'
export { createMemoryChatPair, type MemoryChatStream } from './memory-chat-stream.js'
export {
  createWebSocketChatStream,
  openWebSocketChat,
  DEFAULT_MAX_INBOUND_BUFFERED_BYTES,
  type WebSocketLike,
  type WebSocketChatStreamOptions,
  type OpenWebSocketChatOptions,
} from './websocket-chat-stream.js'
export { handleChat, type ChatHandler, type HandlerFactory, type HandleChatOptions } from './handle-chat.js'
export { Outbox, type OutboxOptions } from './outbox.js'
