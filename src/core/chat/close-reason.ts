/**
 * The reason text of every WebSocket close a wspeer peer sends: `TOKEN: prose` (PROTOCOL.md 13.1),
 * so a client in any language reads why a link ended from the token, never from the prose. The
 * token is the error's `code` (ERR_...) for error ends and STOPPING or DISCONNECT for clean ones;
 * it is never cut, the prose is cut to fit RFC 6455's 123-byte limit.
 *
 * In: a token and prose (or a WspeerError). Out: the reason string; and back, the token of a
 * received reason, or undefined for a reason without one (an older or foreign peer).
 *
 *   closeReason('ERR_DUPLICATE_LINK', 'superseded by another link')  // 'ERR_DUPLICATE_LINK: superseded by another link'
 *   parseCloseReason('ERR_DECODE: bad msgpack')  // { token: 'ERR_DECODE', text: 'bad msgpack' }
 */
import type { WspeerError } from '../errors.js'

/** RFC 6455 5.5: a close frame's body is at most 125 bytes, 2 of them the code. */
export const CLOSE_REASON_MAX_BYTES = 123
/** A token is at most this many bytes (the longest wspeer sends is 21), so prose always has room. */
export const CLOSE_TOKEN_MAX_BYTES = 48

/** Tokens of closes that no WspeerError stands for. */
export const CloseToken = {
  /** 1001: this peer (or its server) is stopping, or is not running yet. */
  STOPPING: 'STOPPING',
  /** 1000: the remote sent DISC_DISCONNECT. */
  DISCONNECT: 'DISCONNECT',
  /** 1011: this peer's receive loop failed (a bug, not the remote's fault). */
  INTERNAL: 'ERR_INTERNAL',
  /** 4003: nothing arrived within the keepalive timeout. */
  KEEPALIVE_TIMEOUT: 'ERR_KEEPALIVE_TIMEOUT',
  /** 1002: the WebSocket library refused a frame as an RFC 6455 violation (reserved bits, unmasked frame...). */
  WEBSOCKET_PROTOCOL: 'ERR_WEBSOCKET_PROTOCOL',
  /** 1007 from the WebSocket library: invalid UTF-8 in a text frame or a close reason. */
  INVALID_UTF8: 'ERR_INVALID_UTF8',
} as const

/** Token grammar: an upper-case letter, then upper-case letters, digits and underscores. */
export const CLOSE_TOKEN_PATTERN = /^[A-Z][A-Z0-9_]*$/

const encoder = new TextEncoder()

/** `token: prose`, the prose cut (with `...`) so the whole stays within CLOSE_REASON_MAX_BYTES. */
export function closeReason(token: string, prose: string): string {
  if (!CLOSE_TOKEN_PATTERN.test(token) || token.length > CLOSE_TOKEN_MAX_BYTES) throw new TypeError(`not a close token: ${token}`)
  const head = `${token}: `
  const room = CLOSE_REASON_MAX_BYTES - head.length
  const bytes = encoder.encode(prose)
  if (bytes.length <= room) return head + prose
  // Cut at a byte count, then drop a split character's replacement: the reason stays valid UTF-8.
  const cut = new TextDecoder().decode(bytes.subarray(0, room - 3)).replace(/\uFFFD$/, '')
  return `${head}${cut}...`
}

/**
 * The reason for closing because of `error`: its code as the token, its message as the prose. A
 * handshake refusal's own reason (`wrong-address`, `bad-signature`... PROTOCOL.md 8.1.5) leads the
 * prose, so a client can tell refusals apart without parsing sentences.
 */
export function closeReasonOf(error: Pick<WspeerError, 'code' | 'message'> & { reason?: unknown }): string {
  const lead = typeof error.reason === 'string' && CLOSE_SUBREASON_PATTERN.test(error.reason) ? `${error.reason}: ` : ''
  return closeReason(error.code, lead + error.message)
}

/** A handshake refusal reason as 8.1.5 names them: lower-case words joined by hyphens. */
const CLOSE_SUBREASON_PATTERN = /^[a-z]+(?:-[a-z]+)*$/

/** The token and prose of a received reason; undefined when it carries no token. */
export function parseCloseReason(reason: string): { token: string; text: string } | undefined {
  const colon = reason.indexOf(': ')
  if (colon <= 0) return undefined
  const token = reason.slice(0, colon)
  if (!CLOSE_TOKEN_PATTERN.test(token)) return undefined
  return { token, text: reason.slice(colon + 2) }
}
