/**
 * The browser entry of wspeer: the same core, with the platform WebSocket as the connector.
 * A tab cannot listen for connections, so a browser peer only dials (and is a non-validator by
 * default); tab-to-tab traffic goes through Node peers.
 */
import { openWebSocketChat, type WebSocketLike } from '../core/chat/websocket-chat-stream.js'
import { createPeer } from '../core/peer/peer.js'
import { resolvePeerLimits } from '../core/peer/limits.js'
import type { ChatConnector, Peer, PeerConfig } from '../core/peer/peer-types.js'

export * from '../core/index.js'

/** Dials with the platform WebSocket (binaryType arraybuffer; frames size-checked before decoding). */
export function createBrowserConnector(options: { dialTimeoutMs?: number } = {}): ChatConnector {
  const timeoutMs = options.dialTimeoutMs ?? resolvePeerLimits().dialTimeoutMs
  return (address, { signal, maxFrameBytes }) =>
    openWebSocketChat(() => new WebSocket(address) as unknown as WebSocketLike, {
      remote: address,
      maxFrameBytes,
      timeoutMs,
      ...(signal === undefined ? {} : { signal }),
    })
}

/** A peer for a browser tab: non-validator, no address of its own, dialing with the platform WebSocket. */
export function createBrowserPeer(config: Omit<PeerConfig, 'role' | 'connect'> & Partial<Pick<PeerConfig, 'role'>>): Peer {
  return createPeer({ role: 'non-validator', ...config, address: '', connect: createBrowserConnector(config.limits ?? {}) })
}
