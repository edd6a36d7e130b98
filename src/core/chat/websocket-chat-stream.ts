import {
  AbortError,
  CloseCode,
  FrameTooLargeError,
  LimitExceededError,
  StreamClosedError,
  TextFrameError,
  TimeoutError,
  TransportError,
  type WspeerError,
} from '../errors.js'
import { CLEAN_CLOSE_CODES, type ChatStream, type ChatStreamEnd } from './chat-stream.js'
import { CLOSE_REASON_MAX_BYTES, closeReasonOf } from './close-reason.js'
import { FrameInbox } from './frame-inbox.js'

/**
 * ChatStream over anything shaped like the WHATWG WebSocket: the browser's, and `ws`'s in Node
 * (which implements the same addEventListener API). One implementation serves both platforms.
 *
 * Inbound: every frame is checked before anything decodes it: text frames close the link with
 * 1003, frames over `maxFrameBytes` with 1009 (browsers have no maxPayload of their own), and a
 * receiver that falls behind by more than `maxInboundBufferedBytes` closes with 1008 rather than
 * buffering without bound.
 */

/** Bytes received but not yet handled before the link is closed (the handler loop is stuck). */
export const DEFAULT_MAX_INBOUND_BUFFERED_BYTES = 32 * 1024 * 1024

export interface WebSocketLike {
  binaryType: string
  readonly readyState: number
  readonly bufferedAmount: number
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- DOM's WebSocket and ws type their events differently; each listener narrows its own.
  addEventListener(type: string, listener: (event: any) => void): void
  /** `ws` in Node can stop reading its socket; browsers' WebSocket cannot. */
  pause?(): void
  resume?(): void
  /** `ws` in Node can drop the connection at once, without a close handshake; browsers cannot. */
  terminate?(): void
}

export interface WebSocketChatStreamOptions {
  remote: string
  maxFrameBytes: number
  maxInboundBufferedBytes?: number
  /**
   * How the socket hands over binary messages (default 'arraybuffer', what browsers offer). In Node,
   * `ws` with 'arraybuffer' copies every message that shares its socket read with anything else
   * (nearly all of them) into an ArrayBuffer of its own; 'nodebuffer' hands over a view of the
   * read, which the stream takes as it is.
   */
  binaryType?: 'arraybuffer' | 'nodebuffer'
}

const OPEN = 1

function truncateReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason)
  if (bytes.length <= CLOSE_REASON_MAX_BYTES) return reason
  return new TextDecoder().decode(bytes.slice(0, CLOSE_REASON_MAX_BYTES - 3)).replace(/\uFFFD$/, '') + '...'
}

export function createWebSocketChatStream(socket: WebSocketLike, options: WebSocketChatStreamOptions): ChatStream {
  const maxInbound = options.maxInboundBufferedBytes ?? DEFAULT_MAX_INBOUND_BUFFERED_BYTES
  const inbox = new FrameInbox()
  let closing = false
  let localError: WspeerError | undefined
  /** The code passed to close(), reported as the end's code even when the socket was terminated. */
  let requestedCode: number | undefined
  let socketError: unknown
  let resolveDone!: (end: ChatStreamEnd) => void
  const done = new Promise<ChatStreamEnd>((resolve) => {
    resolveDone = resolve
  })

  socket.binaryType = options.binaryType ?? 'arraybuffer'

  const closeWith = (error: WspeerError): void => {
    if (closing) return
    localError = error
    closing = true
    try {
      socket.close(error.closeCode ?? CloseCode.POLICY_VIOLATION, closeReasonOf(error))
    } catch {
      // Closing a socket that is already going away can throw in some runtimes; the close event follows anyway.
    }
  }

  socket.addEventListener('message', (event: { data: unknown }) => {
    if (closing) return
    const data = event.data
    let frame: Uint8Array
    if (data instanceof ArrayBuffer) frame = new Uint8Array(data)
    else if (ArrayBuffer.isView(data)) frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    else return closeWith(new TextFrameError())
    if (frame.byteLength > options.maxFrameBytes) return closeWith(new FrameTooLargeError(frame.byteLength, options.maxFrameBytes))
    if (inbox.bufferedBytes + frame.byteLength > maxInbound) {
      return closeWith(new LimitExceededError(`receiver fell behind by more than ${maxInbound} bytes`, CloseCode.POLICY_VIOLATION))
    }
    inbox.push(frame)
  })

  socket.addEventListener('error', (event: { error?: unknown; message?: string }) => {
    // Listening is what keeps a bad frame from becoming an uncaught exception in `ws`; the close event follows.
    socketError = event.error ?? new Error(event.message ?? 'WebSocket error')
  })

  socket.addEventListener('close', (event: { code: number; reason: string }) => {
    // Browsers cannot send most 1xxx codes and send 3000 + (code - 1000) instead (PROTOCOL.md §13).
    const received = event.code > 3000 && event.code < 4000 ? event.code - 2000 : event.code
    // A terminated socket reports 1006; the code this side chose is the one that says why.
    const code = localError?.closeCode ?? requestedCode ?? received
    // A close this side asked for through close() is a clean end whatever code it used: the caller
    // knows why. Everything else is judged by the code, and a socket error is always an error.
    const error = localError !== undefined || (!closing && (socketError !== undefined || !CLEAN_CLOSE_CODES.has(code)))
    const end: ChatStreamEnd = { code, reason: localError?.message ?? event.reason ?? '', local: closing, error }
    closing = true
    inbox.end(end, localError ?? socketError)
    resolveDone(end)
  })

  return {
    remote: options.remote,
    get bufferedAmount() {
      return socket.bufferedAmount
    },
    get closed() {
      return closing || socket.readyState !== OPEN
    },
    done,
    send(frame: Uint8Array): void {
      if (closing || socket.readyState !== OPEN) throw new StreamClosedError()
      socket.send(frame)
    },
    close(code: number = CloseCode.NORMAL, reason = ''): void {
      if (closing) return
      closing = true
      requestedCode = code
      try {
        socket.close(code, truncateReason(reason))
        // 4002: the remote stopped reading. Its close frame would queue behind the megabytes it is
        // not reading and the socket (with its whole send buffer) would live until ws's close
        // timeout (30 s), or forever for a transport without one: issue #19 measured 20 such links
        // keeping ~170 MB. Drop the connection now; its buffers go with it.
        if (code === CloseCode.SEND_BUFFER_FULL) socket.terminate?.()
      } catch {
        // See closeWith.
      }
    },
    ...(typeof socket.pause === 'function' && typeof socket.resume === 'function'
      ? {
          pauseReading: () => socket.pause!(),
          resumeReading: () => socket.resume!(),
        }
      : {}),
    [Symbol.asyncIterator]: () => inbox[Symbol.asyncIterator](),
  }
}

export interface OpenWebSocketChatOptions extends WebSocketChatStreamOptions {
  timeoutMs: number
  signal?: AbortSignal
}

/**
 * Creates a client socket and resolves with its ChatStream once it is open. Rejects with
 * TransportError (refused, closed before open), TimeoutError, or AbortError.
 */
export function openWebSocketChat(createSocket: () => WebSocketLike, options: OpenWebSocketChatOptions): Promise<ChatStream> {
  if (options.signal?.aborted) return Promise.reject(new AbortError())
  return new Promise<ChatStream>((resolve, reject) => {
    let socket: WebSocketLike
    try {
      socket = createSocket()
    } catch (err) {
      reject(new TransportError(`cannot connect to ${options.remote}: ${String(err)}`, { cause: err }))
      return
    }
    const stream = createWebSocketChatStream(socket, options)
    let settled = false
    const finish = (err?: WspeerError): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      if (err === undefined) resolve(stream)
      else {
        stream.close(CloseCode.GOING_AWAY, closeReasonOf(err))
        reject(err)
      }
    }
    const onAbort = (): void => finish(new AbortError(`dial to ${options.remote} aborted`))
    const timer = setTimeout(() => finish(new TimeoutError(`dial to ${options.remote} timed out after ${options.timeoutMs} ms`)), options.timeoutMs)
    options.signal?.addEventListener('abort', onAbort, { once: true })
    socket.addEventListener('open', () => finish())
    stream.done
      .then((end) =>
        finish(new TransportError(`connection to ${options.remote} closed before it opened (code ${end.code})`, { remoteCloseCode: end.code })),
      )
      .catch(reject)
  })
}
