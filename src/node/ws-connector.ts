/**
 * The Node ChatConnector: dials a chat URL with `ws` and hands back a ChatStream once the socket
 * is open. A chat URL enters; a ChatStream (or TransportError / TimeoutError / AbortError) leaves.
 *
 * `ws` is configured the way hostile-inputs.md asks: maxPayload at the peer's frame limit (ws
 * closes bigger frames with 1009 before buffering them), no permessage-deflate (35x slower and a
 * decompression-bomb surface), a handshake timeout, and an 'error' listener attached before
 * anything can fail, because an EventEmitter 'error' without a listener kills the process.
 *
 *   const connect = createNodeConnector(config.limits)
 *   const stream = await connect('ws://127.0.0.1:7052/chat', { maxFrameBytes: 1 << 20 })
 */
import { rootCertificates } from 'node:tls'
import WebSocket from 'ws'
import { openWebSocketChat } from '../core/chat/websocket-chat-stream.js'
import type { WebSocketLike } from '../core/chat/websocket-chat-stream.js'
import { TransportError } from '../core/errors.js'
import type { PeerLimits } from '../core/peer/limits.js'
import type { ChatConnector } from '../core/peer/peer-types.js'
import { withCloseReasons } from './ws-close-reason.js'

export interface NodeConnectorOptions {
  /** PEM CA certificates trusted for wss:// besides the system's (a private network's own CA). */
  ca?: string
}

export function createNodeConnector(limits: Pick<PeerLimits, 'maxFrameBytes' | 'dialTimeoutMs'>, connectorOptions: NodeConnectorOptions = {}): ChatConnector {
  // Added to Node's bundled roots, not replacing them: public wss:// peers keep working.
  const ca = connectorOptions.ca === undefined ? undefined : [...rootCertificates, connectorOptions.ca]
  return (address, options) => {
    let url: URL
    try {
      url = new URL(address)
    } catch (err) {
      return Promise.reject(new TransportError(`not a chat URL: ${JSON.stringify(address)}`, { cause: err }))
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      return Promise.reject(new TransportError(`not a ws:// or wss:// chat URL: ${JSON.stringify(address)}`))
    }
    const maxFrameBytes = options.maxFrameBytes ?? limits.maxFrameBytes
    const createSocket = (): WebSocketLike => {
      const socket = new WebSocket(url, {
        maxPayload: maxFrameBytes,
        perMessageDeflate: false,
        handshakeTimeout: limits.dialTimeoutMs,
        ...(ca === undefined ? {} : { ca }),
      })
      // The chat stream listens too (and records the error); this one guarantees a listener exists
      // from the first tick, whatever the stream does.
      socket.on('error', () => {})
      withCloseReasons(socket, maxFrameBytes)
      return socket as unknown as WebSocketLike
    }
    return openWebSocketChat(createSocket, {
      remote: address,
      maxFrameBytes,
      binaryType: 'nodebuffer',
      timeoutMs: limits.dialTimeoutMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })
  }
}
