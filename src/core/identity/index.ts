/**
 * Peer identity: Ed25519 key pairs, key ids, the validator membership and the authenticated
 * handshake. In: keys, a membership file's text, handshake messages parsed out of DISC_HELLO.
 * Out: signatures, a Membership, an authenticated remote (or a HandshakeError, close code 1008).
 * The peer handler runs the handshake on every link (PROTOCOL.md 8.1).
 */
export * from './ed25519.js'
export * from './key-id.js'
export * from './key-pair.js'
export * from './membership.js'
export * from './handshake-transcript.js'
export * from './handshake-messages.js'
export * from './handshake.js'
