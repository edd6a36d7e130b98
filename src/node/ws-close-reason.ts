/**
 * Gives the closes `ws` makes by itself a close-reason token (PROTOCOL.md 13.1). `ws` refuses a
 * frame over maxPayload, a protocol violation or invalid UTF-8 before our code sees it, and closes
 * with the code alone (`close(1009)`): the remote then learns nothing machine-readable. Its
 * receiver calls the socket's own `close` method, so wrapping that method on the instance adds
 * the reason while keeping `ws`'s early refusal (a 4 GB frame is refused from its header).
 *
 * In: a `ws` WebSocket, just created or accepted. Out: the same socket; closes without a reason
 * get `TOKEN: prose` by code; closes with a reason (ours) are left as they are.
 *
 *   withCloseReasons(ws, maxFrameBytes)
 */
import type { WebSocket } from 'ws'
import { CloseToken, closeReason } from '../core/chat/close-reason.js'
import { CloseCode } from '../core/errors.js'

/** The reason `ws`'s own close with `code` gets; undefined for codes it does not send by itself. */
export function wsCloseReason(code: number | undefined, maxFrameBytes: number): string | undefined {
  switch (code) {
    case CloseCode.MESSAGE_TOO_BIG:
      return closeReason('ERR_FRAME_TOO_LARGE', `frame over the limit of ${maxFrameBytes} bytes`)
    case CloseCode.PROTOCOL_ERROR:
      return closeReason(CloseToken.WEBSOCKET_PROTOCOL, 'WebSocket protocol violation')
    case CloseCode.INVALID_PAYLOAD:
      return closeReason(CloseToken.INVALID_UTF8, 'invalid UTF-8 in a text frame or close reason')
    case CloseCode.POLICY_VIOLATION:
      return closeReason('ERR_LIMIT', 'too many fragments or buffered chunks in one message')
    default:
      return undefined
  }
}

export function withCloseReasons(ws: WebSocket, maxFrameBytes: number): WebSocket {
  const close = ws.close.bind(ws)
  ws.close = (code?: number, reason?: string | Buffer): void => {
    // ws also calls close(code) to echo a close the remote started: that echo is the remote's code,
    // not our reason (`_closeFrameReceived` is ws's own flag for it; were it renamed, an echo would
    // merely carry a token too).
    const echo = (ws as unknown as { _closeFrameReceived?: boolean })._closeFrameReceived === true
    if (!echo && (reason === undefined || reason.length === 0)) {
      const added = wsCloseReason(code, maxFrameBytes)
      if (added !== undefined) return close(code, added)
    }
    close(code, reason)
  }
  return ws
}
