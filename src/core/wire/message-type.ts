/**
 * Message type numbers. 0-21 are Hyperledger Fabric v0.6's `Message_Type` values, kept so the
 * wire reads like the original; 30 and 31 are wspeer's application-level keepalive (browsers
 * cannot send WebSocket pings, and a dead socket can stay OPEN there); 32 carries validators'
 * signatures over committed blocks, which followers need before they accept a block (PROTOCOL.md 9).
 */
export const MessageType = {
  UNDEFINED: 0,
  DISC_HELLO: 1,
  DISC_DISCONNECT: 2,
  DISC_GET_PEERS: 3,
  DISC_PEERS: 4,
  DISC_NEWMSG: 5,
  CHAIN_TRANSACTION: 6,
  SYNC_GET_BLOCKS: 11,
  SYNC_BLOCKS: 12,
  SYNC_BLOCK_ADDED: 13,
  SYNC_STATE_GET_SNAPSHOT: 14,
  SYNC_STATE_SNAPSHOT: 15,
  SYNC_STATE_GET_DELTAS: 16,
  SYNC_STATE_DELTAS: 17,
  RESPONSE: 20,
  CONSENSUS: 21,
  KEEPALIVE_PING: 30,
  KEEPALIVE_PONG: 31,
  SYNC_COMMIT_PROOF: 32,
} as const

export type MessageTypeName = keyof typeof MessageType
export type MessageType = (typeof MessageType)[MessageTypeName]

const names = new Map<number, MessageTypeName>(
  (Object.entries(MessageType) as [MessageTypeName, number][]).map(([name, value]) => [value, name]),
)

/** The name of a type number, or `TYPE_<n>` for numbers wspeer does not know. */
export function messageTypeName(type: number): string {
  return names.get(type) ?? `TYPE_${type}`
}

export function isKnownMessageType(type: number): type is MessageType {
  return names.has(type)
}
