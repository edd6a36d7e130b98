/**
 * The payload object of each message type, as TypeScript types. Their wire schemas and the
 * checks that enforce them live in payloads.ts; PROTOCOL.md is the language-neutral spec.
 */

/** Fabric's PeerEndpoint.Type. */
export const EndpointType = { UNDEFINED: 0, VALIDATOR: 1, NON_VALIDATOR: 2 } as const
export type EndpointType = (typeof EndpointType)[keyof typeof EndpointType]

export type PeerRole = 'validator' | 'non-validator'

export interface PeerEndpoint {
  /** Human-readable peer ID, unique in the network (`vp0`, `tab-3f2a`). */
  id: string
  /** The peer's chat endpoint URL (`ws://127.0.0.1:7051/chat`); empty for peers that cannot listen (browser tabs). */
  address: string
  type: EndpointType
  /**
   * The key id of the peer's Ed25519 public key (20 bytes, src/core/identity/key-id.ts). Every
   * wspeer endpoint carries it; in DISC_PEERS lists it is an unauthenticated hint.
   */
  pkiId?: Uint8Array
}

export interface BlockchainInfo {
  height: number
  currentBlockHash: Uint8Array
  previousBlockHash: Uint8Array
}

/** DISC_HELLO */
export interface HelloPayload {
  peerEndpoint: PeerEndpoint
  blockchainInfo: BlockchainInfo
  /**
   * One step of the authenticated handshake (PROTOCOL.md 8.1), a strict map checked by the
   * handshake (`HelloAuthSchema`), not here: a malformed one is a handshake refusal (1008), not a
   * decode error. A HELLO without it is refused.
   */
  auth?: unknown
}

/** DISC_PEERS */
export interface PeersPayload {
  peers: PeerEndpoint[]
}

/** DISC_DISCONNECT */
export interface DisconnectPayload {
  reason: string
}

/** Fabric's Response.StatusCode. */
export const ResponseStatus = { SUCCESS: 200, FAILURE: 500 } as const
export type ResponseStatus = (typeof ResponseStatus)[keyof typeof ResponseStatus]

/** RESPONSE */
export interface ResponsePayload {
  status: ResponseStatus
  msg: string
  /** The error code (`ERR_QUEUE_FULL`, ...) when status is FAILURE. */
  code?: string
  /** The type of the message this answers, when it answers one. */
  inReplyTo?: number
}

/** CHAIN_TRANSACTION, and each transaction inside a block. */
export interface Transaction {
  txid: string
  payload: string
  /** Milliseconds since the epoch at the submitting peer. */
  timestamp: number
  /** ID of the peer that accepted it from the client. */
  origin: string
}

export interface Block {
  number: number
  previousBlockHash: Uint8Array
  stateHash: Uint8Array
  /** Set by the proposer, so every peer computes the same block hash. */
  timestamp: number
  proposer: string
  transactions: Transaction[]
}

/** SYNC_GET_BLOCKS: blocks start..end inclusive. */
export interface GetBlocksPayload {
  requestId: number
  start: number
  end: number
}

/** SYNC_BLOCKS: the answer; may hold fewer blocks than asked (caps, or the sender's height). */
export interface BlocksPayload {
  requestId: number
  blocks: Block[]
}

/** SYNC_BLOCK_ADDED */
export interface BlockAddedPayload {
  block: Block
}

/** One validator's signature over "block `number` has hash `blockHash`" (identity/commit-statement.ts). */
export interface CommitSignature {
  /** The validator's peer ID, as the membership lists it. */
  signer: string
  /** Ed25519 signature (64 bytes) over the commit statement. */
  signature: Uint8Array
}

/**
 * SYNC_COMMIT_PROOF: validators' signatures that they committed block `number` with hash
 * `blockHash`. A validator sends its own (one signature); a relay sends the f+1 it verified.
 */
export interface CommitProofPayload {
  number: number
  blockHash: Uint8Array
  signatures: CommitSignature[]
}

/** SYNC_STATE_GET_SNAPSHOT */
export interface GetSnapshotPayload {
  requestId: number
}

/** SYNC_STATE_SNAPSHOT: the whole key-value state at `height`. */
export interface SnapshotPayload {
  requestId: number
  height: number
  stateHash: Uint8Array
  entries: [string, string][]
}

/** SYNC_STATE_GET_DELTAS: write sets of blocks start..end inclusive. */
export interface GetDeltasPayload {
  requestId: number
  start: number
  end: number
}

export interface StateDelta {
  blockNumber: number
  writes: [string, string][]
}

/** SYNC_STATE_DELTAS */
export interface DeltasPayload {
  requestId: number
  deltas: StateDelta[]
}

/** KEEPALIVE_PING / KEEPALIVE_PONG */
export interface KeepalivePayload {
  nonce: number
}
