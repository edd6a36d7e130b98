/**
 * The browser entry of wspeer: the same core, with the platform WebSocket as the connector.
 * A tab cannot listen for connections, so a browser peer only dials (and is a non-validator by
 * default); tab-to-tab traffic goes through Node peers.
 */
import { openWebSocketChat } from '../core/chat/websocket-chat-stream.js'
import { adaptBrowserSocket } from './browser-socket.js'
import { createPeer } from '../core/peer/peer.js'
import { resolvePeerLimits } from '../core/peer/limits.js'
import type { ChatConnector, Peer, PeerConfig } from '../core/peer/peer-types.js'

export * from '../core/index.js'

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

export { startTabPeer, randomTabId, TAB_DISCOVERY_PERIOD_MS, TAB_REDIAL_MAX_MS, MAX_FLOOD_MESSAGES, MAX_REFUSALS_KEPT } from './tab-peer.js'
export type { TabPeer, TabPeerOptions, Refusal, LinkEnd } from './tab-peer.js'
export { loadTabKey, TAB_KEY_DB_NAME, TAB_KEY_STORE, TAB_KEY_RECORD, type TabKey } from './tab-key-store.js'
export { adaptBrowserSocket, browserCloseCode, BROWSER_CLOSE_CODE_OFFSET } from './browser-socket.js'
