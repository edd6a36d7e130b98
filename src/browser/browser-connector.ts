/**
 * The browser's dialer and peer factory: the platform WebSocket under the core's chat stream.
 * Its own file so the entry (index.ts) and the tab peer (tab-peer.ts) both import it without
 * importing each other.
 */
import { openWebSocketChat } from '../core/chat/websocket-chat-stream.js'
import { resolvePeerLimits } from '../core/peer/limits.js'
import { createPeer } from '../core/peer/peer.js'
import type { ChatConnector, Peer, PeerConfig } from '../core/peer/peer-types.js'
import { adaptBrowserSocket } from './browser-socket.js'

/**
 * Dials with the platform WebSocket (binaryType arraybuffer; frames size-checked before decoding;
 * close codes browsers refuse are mapped, see browser-socket.ts).
 */
export function createBrowserConnector(options: { dialTimeoutMs?: number } = {}): ChatConnector {
  const timeoutMs = options.dialTimeoutMs ?? resolvePeerLimits().dialTimeoutMs
  return (address, { signal, maxFrameBytes }) =>
    openWebSocketChat(() => adaptBrowserSocket(new WebSocket(address)), {
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
