/**
 * peer/: the peer that owns links, registry, discovery, keepalive and block sync, and lends its
 * consenter a Stack. createPeer is the entry; peer.ts's header lists the parts it wires together;
 * limits.ts names every limit with its default.
 */
export { createPeer, MAX_TRANSACTION_PAYLOAD_BYTES, DEFAULT_CONSENSUS_PLUGIN, MAX_PEER_ID_LENGTH } from './peer.js'
export * from './peer-types.js'
export * from './limits.js'
export { PeerRegistry, incomingLinkWins } from './peer-registry.js'
export { AddressBook, redialDelay, normalizeChatAddress } from './address-book.js'
