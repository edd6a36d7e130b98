/**
 * Every error wspeer raises on purpose. Each carries a machine-readable `code`; errors that end a
 * link also carry the WebSocket close code the transport should use (the protocol layer decides,
 * the socket layer only closes). Callers match on `code` or `instanceof`, never on message text.
 */

/** WebSocket close codes wspeer uses (RFC 6455 section 7.4 plus the 4000-4999 private range). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  NO_STATUS: 1005,
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
  /** This link lost the duplicate-link tie-break; another link to the same peer survives. */
  DUPLICATE_LINK: 4001,
  /** The remote stopped reading and our send buffer passed its cap. */
  SEND_BUFFER_FULL: 4002,
  /** No frame arrived within the keepalive timeout. */
  KEEPALIVE_TIMEOUT: 4003,
  /** The peer is at its connection cap. */
  TOO_MANY_PEERS: 4005,
} as const
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

export class WspeerError extends Error {
  // A literal, not new.target.name: minifiers rename classes (the dashboard bundle said `r`).
  override readonly name: string = 'WspeerError'
  readonly code: string
  /** Close code to end the link with, when this error ends one. */
  readonly closeCode: number | undefined

  constructor(code: string, message: string, options?: { cause?: unknown; closeCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.closeCode = options?.closeCode
  }
}

/** A frame could not be decoded into envelopes: bad msgpack, a cap exceeded, or a schema error. */
export class DecodeError extends WspeerError {
  override readonly name: string = 'DecodeError'
  constructor(message: string, options?: { cause?: unknown; closeCode?: number }) {
    super('ERR_DECODE', message, { closeCode: CloseCode.INVALID_PAYLOAD, ...options })
  }
}

/** A frame larger than the configured payload limit. */
export class FrameTooLargeError extends WspeerError {
  override readonly name: string = 'FrameTooLargeError'
  constructor(size: number, limit: number) {
    super('ERR_FRAME_TOO_LARGE', `frame of ${size} bytes exceeds the limit of ${limit} bytes`, {
      closeCode: CloseCode.MESSAGE_TOO_BIG,
    })
  }
}

/** An outbound message that would not fit in one frame the receiver accepts; nothing was sent. */
export class MessageTooLargeError extends WspeerError {
  override readonly name: string = 'MessageTooLargeError'
  constructor(size: number, limit: number) {
    super('ERR_MESSAGE_TOO_LARGE', `message of ${size} bytes does not fit in a frame of at most ${limit} bytes`)
  }
}

/** A state snapshot too large for one sync answer; the asker should sync by blocks (SYNC_GET_BLOCKS). */
export class SnapshotTooLargeError extends WspeerError {
  override readonly name: string = 'SnapshotTooLargeError'
  /** `size` undefined: the state may be over the budget, and is not built to find out. */
  constructor(size: number | undefined, limit: number) {
    super(
      'ERR_SNAPSHOT_TOO_LARGE',
      size === undefined
        ? `the state snapshot may be over the sync answer budget of ${limit} bytes (this peer's state lives in its store and is not built whole to measure it); sync by blocks instead`
        : `the state snapshot is about ${size} bytes, over the sync answer budget of ${limit} bytes; sync by blocks instead`,
    )
  }
}

/** A text frame where only binary frames are allowed. */
export class TextFrameError extends WspeerError {
  override readonly name: string = 'TextFrameError'
  constructor() {
    super('ERR_TEXT_FRAME', 'text frames are not accepted; send binary msgpack frames', {
      closeCode: CloseCode.UNSUPPORTED_DATA,
    })
  }
}

/** A well-formed envelope whose type number wspeer does not know or does not accept. */
export class UnknownTypeError extends WspeerError {
  override readonly name: string = 'UnknownTypeError'
  constructor(type: number) {
    super('ERR_UNKNOWN_TYPE', `unknown or unsupported message type ${type}`)
  }
}

/** A message that the handler's current state does not accept (e.g. CONSENSUS before HELLO). */
export class HandlerStateError extends WspeerError {
  override readonly name: string = 'HandlerStateError'
  constructor(typeName: string, state: string) {
    super('ERR_HANDLER_STATE', `${typeName} is not accepted in state ${state}`)
  }
}

/** A second HELLO on an established link. */
export class DuplicateHelloError extends WspeerError {
  override readonly name: string = 'DuplicateHelloError'
  constructor() {
    super('ERR_DUPLICATE_HELLO', 'DISC_HELLO already received on this link')
  }
}

/** The per-connection consensus queue is full; the message was refused, the link stays up. */
export class QueueFullError extends WspeerError {
  override readonly name: string = 'QueueFullError'
  constructor(peerId: string) {
    super('ERR_QUEUE_FULL', `Message channel for ${peerId} full, rejecting`)
  }
}

/** A queue was used after it was closed. */
export class QueueClosedError extends WspeerError {
  override readonly name: string = 'QueueClosedError'
  constructor(what: string) {
    super('ERR_QUEUE_CLOSED', `${what} is closed`)
  }
}

/** `unicast` to a peer ID that has no registered link ("handler not found" in Fabric). */
export class PeerNotFoundError extends WspeerError {
  override readonly name: string = 'PeerNotFoundError'
  constructor(peerId: string) {
    super('ERR_PEER_NOT_FOUND', `no connected peer with id ${JSON.stringify(peerId)}`)
  }
}

/** The transport failed (abnormal close, socket error, connect failure). */
export class TransportError extends WspeerError {
  override readonly name: string = 'TransportError'
  readonly remoteCloseCode: number | undefined
  constructor(message: string, options?: { cause?: unknown; remoteCloseCode?: number }) {
    super('ERR_TRANSPORT', message, options)
    this.remoteCloseCode = options?.remoteCloseCode
  }
}

/** A send on a stream that is closed or closing. */
export class StreamClosedError extends WspeerError {
  override readonly name: string = 'StreamClosedError'
  constructor() {
    super('ERR_STREAM_CLOSED', 'the chat stream is closed')
  }
}

/** The remote is not reading: our send buffer passed its cap. The link is closed. */
export class SendBufferFullError extends WspeerError {
  override readonly name: string = 'SendBufferFullError'
  constructor(buffered: number, cap: number) {
    super('ERR_SEND_BUFFER_FULL', `send buffer of ${buffered} bytes passed the cap of ${cap} bytes`, {
      closeCode: CloseCode.SEND_BUFFER_FULL,
    })
  }
}

/** This link lost the duplicate-link tie-break (see peer-registry.ts); it is closed with 4001. */
export class DuplicateLinkError extends WspeerError {
  override readonly name: string = 'DuplicateLinkError'
  constructor(peerId: string) {
    super('ERR_DUPLICATE_LINK', `already linked to ${peerId}; this link loses the tie-break`, {
      closeCode: CloseCode.DUPLICATE_LINK,
    })
  }
}

/** A limit on peers, dials or similar was reached. */
export class LimitExceededError extends WspeerError {
  override readonly name: string = 'LimitExceededError'
  constructor(message: string, closeCode?: number) {
    super('ERR_LIMIT', message, closeCode === undefined ? undefined : { closeCode })
  }
}

/** A consenter plugin name that is not registered. Raised at start, never silently replaced. */
export class UnknownConsenterError extends WspeerError {
  override readonly name: string = 'UnknownConsenterError'
  constructor(name: string, known: readonly string[]) {
    super('ERR_UNKNOWN_CONSENTER', `unknown consensus plugin ${JSON.stringify(name)}; known: ${known.join(', ')}`)
  }
}

/** A block that does not extend the chain, or whose hashes do not match its content. */
export class LedgerError extends WspeerError {
  override readonly name: string = 'LedgerError'
  constructor(message: string) {
    super('ERR_LEDGER', message)
  }
}

/**
 * A ledger store that cannot be used: corrupt (ERR_LEDGER_CORRUPT), made by another network
 * (ERR_LEDGER_OTHER_NETWORK), held open by another process (ERR_LEDGER_LOCKED) or failing to
 * write (ERR_LEDGER_WRITE), or closed while the ledger still reads old blocks from it
 * (ERR_LEDGER_CLOSED). The message names where the
 * store is and how to discard it; the peer then catches up from the others.
 */
export class LedgerStoreError extends WspeerError {
  override readonly name: string = 'LedgerStoreError'
  constructor(code: 'ERR_LEDGER_CORRUPT' | 'ERR_LEDGER_OTHER_NETWORK' | 'ERR_LEDGER_LOCKED' | 'ERR_LEDGER_WRITE' | 'ERR_LEDGER_CLOSED', message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}

/** Invalid configuration: a bad flag, environment variable or config file entry. */
export class ConfigError extends WspeerError {
  override readonly name: string = 'ConfigError'
  constructor(message: string) {
    super('ERR_CONFIG', message)
  }
}

/** The operation was aborted through its AbortSignal or by stop(). */
export class AbortError extends WspeerError {
  override readonly name: string = 'AbortError'
  constructor(message = 'the operation was aborted') {
    super('ERR_ABORTED', message)
  }
}

/** A request (e.g. SYNC_GET_BLOCKS) got no answer in time. */
export class TimeoutError extends WspeerError {
  override readonly name: string = 'TimeoutError'
  constructor(message: string) {
    super('ERR_TIMEOUT', message)
  }
}

/** Why a handshake was refused; see src/core/identity/handshake.ts and PROTOCOL.md 8.1.5. */
export type HandshakeFailure =
  | 'malformed'
  | 'unexpected-message'
  | 'own-id'
  | 'own-key'
  | 'key-mismatch'
  | 'not-a-member'
  | 'wrong-address'
  | 'bad-nonce'
  | 'bad-signature'
  | 'endpoint-changed'
  | 'aborted'
  | 'timeout'

/**
 * An authenticated handshake was refused. Always ends the link with 1008: the remote could not
 * prove who it claims to be, and nothing about it is registered.
 */
export class HandshakeError extends WspeerError {
  override readonly name: string = 'HandshakeError'
  readonly reason: HandshakeFailure
  constructor(reason: HandshakeFailure, message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'ERR_HANDSHAKE', message, { closeCode: CloseCode.POLICY_VIOLATION, cause: options?.cause })
    this.reason = reason
  }
}

/** The handshake did not complete within its timeout (1008, like every handshake refusal). */
export class HandshakeTimeoutError extends HandshakeError {
  override readonly name: string = 'HandshakeTimeoutError'
  constructor(timeoutMs: number) {
    super('timeout', `handshake not completed within ${timeoutMs} ms`, { code: 'ERR_HANDSHAKE_TIMEOUT' })
  }
}

/**
 * A CONSENSUS message from a peer that is not a validator: not in the membership, or (open
 * development mode, no membership) not announced as a validator. Refused; the link stays, since
 * non-validators may still submit transactions and follow blocks.
 */
export class NotAMemberError extends WspeerError {
  override readonly name: string = 'NotAMemberError'
  constructor(peerId: string) {
    super('ERR_NOT_A_MEMBER', `CONSENSUS refused: ${peerId} is not a validator of this network`)
  }
}

/** Unusable key material: wrong length, not extractable, a bad or insecure key file. */
export class KeyError extends WspeerError {
  override readonly name: string = 'KeyError'
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KEY', message, options)
  }
}

/** Text for an unknown thrown value, safe to send to a remote (bounded, no raw data dump). */
export function describeError(err: unknown, maxLength = 200): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.length > maxLength ? `${text.slice(0, maxLength)}...` : text
}
