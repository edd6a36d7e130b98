/**
 * ChatStream: one bidirectional stream of binary frames between two peers (Fabric's Chat stream).
 * Implementations: WebSocket (websocket-chat-stream.ts, Node and browser alike) and in-memory
 * (memory-chat-stream.ts, for tests and simulation). Both pass test/core/chat/chat-stream-compliance.
 *
 * Contract:
 * - `send` queues one frame; it never blocks. It throws StreamClosedError after close.
 * - Iteration yields inbound frames in order. It ends (returns) when the stream closes cleanly
 *   (close codes 1000, 1001, 1005, or a local close) and throws TransportError on any other end.
 * - Only one iterator at a time.
 * - `close` is idempotent.
 */
export interface ChatStream extends AsyncIterable<Uint8Array> {
  /** Queues one binary frame. */
  send(frame: Uint8Array): void
  /** Bytes queued for sending and not yet handed to the network. */
  readonly bufferedAmount: number
  /** Closes the stream; frames already received can still be iterated. */
  close(code?: number, reason?: string): void
  readonly closed: boolean
  /** Settles when the stream has closed, with how it closed. Never rejects. */
  readonly done: Promise<ChatStreamEnd>
  /**
   * Stops reading inbound frames where the transport can (TCP back-pressure reaches the sender);
   * absent or a no-op where it cannot (browsers). Frames already received are still delivered.
   */
  pauseReading?(): void
  resumeReading?(): void
  /** Where the other side is, for logs ("ws://127.0.0.1:7052/chat", "127.0.0.1:51234"). */
  readonly remote: string
}

export interface ChatStreamEnd {
  code: number
  reason: string
  /** True when this side called close(). */
  local: boolean
  /** True when the end is an error (abnormal close, socket error, error close code). */
  error: boolean
}

/** Close codes that count as a clean end of stream (EOF). */
export const CLEAN_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1005])
