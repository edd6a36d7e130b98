/**
 * handlers/: what one link does with each envelope. The consensus handler takes CONSENSUS (and
 * relayed transactions) into the link's bounded queue; everything else goes to the peer handler
 * (HELLO state machine, discovery, sync, keepalive), which calls back into its peer through
 * HandlerContext.
 */
export { ConsensusHandler } from './consensus-handler.js'
export { PeerHandler } from './peer-handler.js'
export type { HandlerContext } from './handler-context.js'
