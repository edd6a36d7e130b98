/**
 * The peer's one listening port: WebSocket chat on `/chat` and the HTTP API (http-api.ts) on
 * everything else. An upgrade request for `/chat` becomes a `ws` socket, wrapped in a ChatStream
 * and handed to `peer.acceptStream`; upgrades for any other path get a 404 and are destroyed.
 *
 * Hardening (hostile-inputs.md): maxPayload at the frame limit, no permessage-deflate, an 'error'
 * listener on the server and on every accepted socket (without one a bad frame kills the
 * process), and HTTP header/request timeouts so a half-sent upgrade cannot live forever (case
 * 12). The handshake timeout after the upgrade is the core's job (close 1008). With `tls` the
 * same port speaks https and wss.
 *
 * Admission (connection-limiter.ts), decided on the upgrade request before ws creates anything:
 * more than `maxConnectionsPerSecond` new connections from one address get 429; an address that
 * already holds `maxPendingConnectionsPerAddress` chats without HELLO gets 503; when all
 * `maxPendingConnections` slots are taken a newcomer from a less busy address takes the oldest
 * slot of the busiest one (that socket is destroyed), otherwise 503. A chat
 * stops counting as pending when the core registers it (acceptStream's `onEstablished`) or when
 * its socket closes, whichever comes first.
 *
 *   const server = createPeerServer({ peer, host: '127.0.0.1', port: 0, limits, log })
 *   const { port } = await server.start()
 *   ...
 *   await server.stop()
 */
import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { WebSocket } from 'ws'
import { CloseToken, closeReason } from '../core/chat/close-reason.js'
import { createWebSocketChatStream } from '../core/chat/websocket-chat-stream.js'
import type { WebSocketLike } from '../core/chat/websocket-chat-stream.js'
import { CloseCode, describeError } from '../core/errors.js'
import type { PeerLimits } from '../core/peer/limits.js'
import type { Peer } from '../core/peer/peer-types.js'
import type { Logger } from '../core/util/logger.js'
import { createConnectionLimiter } from './connection-limiter.js'
import type { ConnectionLimiterStats, ConnectionLimits } from './connection-limiter.js'
import { createHttpApi } from './http-api.js'
import { withCloseReasons } from './ws-close-reason.js'

/** Path of the chat endpoint. */
export const CHAT_PATH = '/chat'
/** A request (upgrades included) must send its complete headers within this time (10 s). */
export const HTTP_HEADERS_TIMEOUT_MS = 10_000
/** A request must be received completely within this time (30 s). */
export const HTTP_REQUEST_TIMEOUT_MS = 30_000
/** How often Node checks the two timeouts above; it bounds how late they fire (1 s). */
export const HTTP_CONNECTIONS_CHECK_INTERVAL_MS = 1000
/** stop() waits this long for chat sockets to finish their close handshake, then terminates them (2 s). */
export const STOP_GRACE_MS = 2000

export interface PeerServerOptions {
  peer: Peer
  host: string
  port: number
  limits: PeerLimits
  log: Logger
  staticDir?: string
  /** Overrides HTTP_HEADERS_TIMEOUT_MS (tests use a short one). */
  headersTimeoutMs?: number
  /** Admission limits; defaults DEFAULT_CONNECTION_LIMITS (64 pending, 8 pending per address, 20 per second per address). */
  connectionLimits?: Partial<ConnectionLimits>
  /** The limiter's clock in milliseconds (tests); default performance.now. */
  now?: () => number
  /** PEM certificate chain and private key: serve https:// and wss:// instead of http:// and ws://. */
  tls?: { cert: string | Buffer; key: string | Buffer }
}

export interface PeerServer {
  /** Listens; resolves with the bound port (the real one when `port` was 0) and address. */
  start(): Promise<{ port: number; address: string }>
  /** Closes chat sockets with 1001, stops accepting, resolves once every socket is closed. */
  stop(): Promise<void>
  /** Pending handshakes and refusals so far (connection-limiter.ts). */
  connectionStats(): ConnectionLimiterStats
}

function remoteOf(req: IncomingMessage): string {
  const { remoteAddress, remotePort } = req.socket
  const host = remoteAddress?.includes(':') ? `[${remoteAddress}]` : (remoteAddress ?? 'unknown')
  return `${host}:${remotePort ?? 0}`
}

const STATUS_LINES = { 404: '404 Not Found', 429: '429 Too Many Requests', 503: '503 Service Unavailable' } as const

function refuseUpgrade(socket: Duplex, status: keyof typeof STATUS_LINES): void {
  socket.on('error', () => {})
  // Both refusals that can pass with time say when to try again; 404 never will.
  const retry = status === 404 ? '' : 'Retry-After: 1\r\n'
  socket.end(`HTTP/1.1 ${STATUS_LINES[status]}\r\nConnection: close\r\n${retry}Content-Length: 0\r\n\r\n`)
  socket.destroy()
}

export function createPeerServer(options: PeerServerOptions): PeerServer {
  const { peer, limits, log } = options
  let stopping = false
  let stopped: Promise<void> | undefined
  const limiter = createConnectionLimiter({ ...options.connectionLimits, ...(options.now === undefined ? {} : { now: options.now }) })

  const headersTimeout = options.headersTimeoutMs ?? HTTP_HEADERS_TIMEOUT_MS
  const httpOptions = {
    headersTimeout,
    requestTimeout: Math.max(HTTP_REQUEST_TIMEOUT_MS, headersTimeout),
    connectionsCheckingInterval: Math.min(HTTP_CONNECTIONS_CHECK_INTERVAL_MS, headersTimeout),
  }
  const httpServer = options.tls === undefined ? createServer(httpOptions) : createHttpsServer({ ...httpOptions, cert: options.tls.cert, key: options.tls.key })
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: true,
  })
  const api = createHttpApi({
    peer,
    log,
    isStopping: () => stopping,
    ...(options.staticDir === undefined ? {} : { staticDir: options.staticDir }),
  })

  httpServer.on('request', api)
  // Unanswered, so a body over its limit is refused before the client sends it (http-api.ts).
  httpServer.on('checkContinue', api)
  wss.on('error', (err) => log.error('websocket server error', { error: err }))

  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = (req.url ?? '').split('?')[0]
    if (pathname !== CHAT_PATH) return refuseUpgrade(socket, 404)
    if (stopping) return refuseUpgrade(socket, 503)
    const remote = remoteOf(req)
    // Evicted for a newcomer from a less busy address (connection-limiter.ts): the socket goes, its slot is already free.
    const admission = limiter.admit(req.socket.remoteAddress ?? 'unknown', () => {
      log.debug('pending chat evicted for a newcomer', { remote })
      socket.destroy()
    })
    if (!admission.ok) {
      // debug, not warn: a flood would otherwise turn into a flood of log lines.
      log.debug('chat upgrade refused', { remote, status: admission.status, reason: admission.reason })
      return refuseUpgrade(socket, admission.status)
    }
    const { ticket } = admission
    // Covers every end: an upgrade ws aborts, a socket that never says HELLO, a chat that ends.
    socket.once('close', () => ticket.release())
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      withCloseReasons(ws, limits.maxFrameBytes)
      ws.on('error', (err) => log.debug('chat socket error', { remote, error: describeError(err) }))
      if (stopping) {
        ws.close(CloseCode.GOING_AWAY, closeReason(CloseToken.STOPPING, 'server stopping'))
        return
      }
      const stream = createWebSocketChatStream(ws as unknown as WebSocketLike, { remote, maxFrameBytes: limits.maxFrameBytes, binaryType: 'nodebuffer' })
      log.debug('chat accepted', { remote })
      peer.acceptStream(stream, { onEstablished: () => ticket.established() }).catch((err: unknown) => {
        // A remote that vanished or broke the protocol is routine for a server; the core already logged what it refused.
        log.info('chat ended with an error', { remote, error: describeError(err) })
      })
    })
  })

  const closeClients = async (): Promise<void> => {
    const clients = [...wss.clients]
    if (clients.length === 0) return
    await Promise.all(
      clients.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve()
            const timer = setTimeout(() => ws.terminate(), STOP_GRACE_MS)
            ws.once('close', () => {
              clearTimeout(timer)
              resolve()
            })
            ws.close(CloseCode.GOING_AWAY, closeReason(CloseToken.STOPPING, 'server stopping'))
          }),
      ),
    )
  }

  return {
    start() {
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => {
          httpServer.off('listening', onListening)
          reject(err)
        }
        const onListening = (): void => {
          httpServer.off('error', onError)
          // Listen failures reject start(); later errors are only logged.
          httpServer.on('error', (err) => log.error('http server error', { error: err }))
          const info = httpServer.address() as AddressInfo
          log.info('listening', { address: info.address, port: info.port, chat: CHAT_PATH })
          resolve({ port: info.port, address: info.address })
        }
        httpServer.once('error', onError)
        httpServer.once('listening', onListening)
        httpServer.listen(options.port, options.host)
      })
    },

    connectionStats: () => limiter.stats(),

    stop() {
      if (stopped !== undefined) return stopped
      stopping = true
      stopped = (async () => {
        const closed = httpServer.listening
          ? new Promise<void>((resolve) => httpServer.close(() => resolve()))
          : Promise.resolve()
        await closeClients()
        await new Promise<void>((resolve) => wss.close(() => resolve()))
        // Keep-alive and half-sent requests would hold close() open until their timeouts.
        httpServer.closeAllConnections()
        await closed
      })()
      return stopped
    },
  }
}
