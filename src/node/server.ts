/**
 * The peer's one listening port: WebSocket chat on `/chat` and the HTTP API (http-api.ts) on
 * everything else. An upgrade request for `/chat` becomes a `ws` socket, wrapped in a ChatStream
 * and handed to `peer.acceptStream`; upgrades for any other path get a 404 and are destroyed.
 *
 * Hardening (hostile-inputs.md): maxPayload at the frame limit, no permessage-deflate, an 'error'
 * listener on the server and on every accepted socket (without one a bad frame kills the
 * process), and HTTP header/request timeouts so a half-sent upgrade cannot live forever (case
 * 12). The HELLO timeout after the upgrade is the core's job (close 4004).
 *
 *   const server = createPeerServer({ peer, host: '127.0.0.1', port: 0, limits, log })
 *   const { port } = await server.start()
 *   ...
 *   await server.stop()
 */
import { createServer } from 'node:http'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { WebSocket } from 'ws'
import { createWebSocketChatStream } from '../core/chat/websocket-chat-stream.js'
import type { WebSocketLike } from '../core/chat/websocket-chat-stream.js'
import { CloseCode, describeError } from '../core/errors.js'
import type { PeerLimits } from '../core/peer/limits.js'
import type { Peer } from '../core/peer/peer-types.js'
import type { Logger } from '../core/util/logger.js'
import { createHttpApi } from './http-api.js'

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
}

export interface PeerServer {
  /** Listens; resolves with the bound port (the real one when `port` was 0) and address. */
  start(): Promise<{ port: number; address: string }>
  /** Closes chat sockets with 1001, stops accepting, resolves once every socket is closed. */
  stop(): Promise<void>
}

function remoteOf(req: IncomingMessage): string {
  const { remoteAddress, remotePort } = req.socket
  const host = remoteAddress?.includes(':') ? `[${remoteAddress}]` : (remoteAddress ?? 'unknown')
  return `${host}:${remotePort ?? 0}`
}

function refuseUpgrade(socket: Duplex, status: string): void {
  socket.on('error', () => {})
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  socket.destroy()
}

export function createPeerServer(options: PeerServerOptions): PeerServer {
  const { peer, limits, log } = options
  let stopping = false
  let stopped: Promise<void> | undefined

  const headersTimeout = options.headersTimeoutMs ?? HTTP_HEADERS_TIMEOUT_MS
  const httpServer = createServer({
    headersTimeout,
    requestTimeout: Math.max(HTTP_REQUEST_TIMEOUT_MS, headersTimeout),
    connectionsCheckingInterval: Math.min(HTTP_CONNECTIONS_CHECK_INTERVAL_MS, headersTimeout),
  })
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
  wss.on('error', (err) => log.error('websocket server error', { error: err }))

  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = (req.url ?? '').split('?')[0]
    if (pathname !== CHAT_PATH) return refuseUpgrade(socket, '404 Not Found')
    if (stopping) return refuseUpgrade(socket, '503 Service Unavailable')
    const remote = remoteOf(req)
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      ws.on('error', (err) => log.debug('chat socket error', { remote, error: describeError(err) }))
      if (stopping) {
        ws.close(CloseCode.GOING_AWAY, 'server stopping')
        return
      }
      const stream = createWebSocketChatStream(ws as unknown as WebSocketLike, { remote, maxFrameBytes: limits.maxFrameBytes })
      log.debug('chat accepted', { remote })
      peer.acceptStream(stream).catch((err: unknown) => {
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
            ws.close(CloseCode.GOING_AWAY, 'server stopping')
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
