/**
 * The platform WebSocket, adapted to the core's WebSocketLike for one browser rule: a page may
 * only close a WebSocket with 1000 or 3000-4999; any other code makes `close()` throw
 * InvalidAccessError. The core closes with RFC 6455 codes (1001 going away, 1003 text frame,
 * 1007 undecodable, 1008, 1009 too big, 1011), and it swallows a throwing `close()`, so without
 * this the socket would stay open, the link would keep its registry slot and never be redialed.
 *
 * Such codes go out as 3000 + (code - 1000) (1003 -> 3003); the reason text is kept. The tab's
 * own view of the end keeps the original code (the core records the error it closed for).
 */
import type { WebSocketLike } from '../core/chat/websocket-chat-stream.js'

/** Offset added to a 1xxx close code browsers refuse to send (3000 - 1000). */
export const BROWSER_CLOSE_CODE_OFFSET = 2000

/** The code a browser may send for `code`: itself when allowed, else 3000 + (code - 1000), else 1000. */
export function browserCloseCode(code: number | undefined): number | undefined {
  if (code === undefined || code === 1000 || (code >= 3000 && code <= 4999)) return code
  if (code > 1000 && code < 2000) return code + BROWSER_CLOSE_CODE_OFFSET
  return 1000
}

export function adaptBrowserSocket(socket: WebSocket): WebSocketLike {
  return {
    get binaryType() {
      return socket.binaryType
    },
    set binaryType(value: string) {
      socket.binaryType = value as BinaryType
    },
    get readyState() {
      return socket.readyState
    },
    get bufferedAmount() {
      return socket.bufferedAmount
    },
    send: (data) => socket.send(data as Uint8Array<ArrayBuffer>),
    close: (code, reason) => (code === undefined ? socket.close() : socket.close(browserCloseCode(code), reason)),
    addEventListener: (type, listener) => socket.addEventListener(type, listener),
  }
}
