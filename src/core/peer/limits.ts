/**
 * Every limit a peer enforces, as named defaults. README's "Limits" table quotes these constants
 * and test/core/peer/limits.test.ts checks that it does, so docs and code cannot drift.
 */
import { ConfigError } from '../errors.js'
import { resolveIntegerOptions } from '../util/integer-options.js'
import { DEFAULT_FAN_QUANTUM_BYTES } from '../engine/message-fan.js'
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from '../identity/handshake.js'
import { DEFAULT_MAX_ENVELOPES_PER_FRAME, DEFAULT_MAX_FRAME_BYTES } from '../wire/codec-limits.js'
import { DEFAULT_FOLLOWER_BACKLOG_BYTES } from './best-effort.js'

/**
 * Largest inbound frame in bytes; bigger frames close the link with 1009. Envelopes coalesced into
 * one outbound frame at most. (Both defined in wire/codec-limits.ts, the decoder's layer.)
 */
export { DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_ENVELOPES_PER_FRAME }
/** Messages a connection's consensus queue holds (Fabric's `consensus.buffersize`). */
export const DEFAULT_QUEUE_MAX_MESSAGES = 1000
/** Payload bytes a connection's consensus queue holds. */
export const DEFAULT_QUEUE_MAX_BYTES = 16 * 1024 * 1024
/** Bytes of credit each link's queue gains per turn of the engine's fan (defined in message-fan.ts). */
export { DEFAULT_FAN_QUANTUM_BYTES }
/** Transactions submitted to this peer and waiting for the consenter. */
export const DEFAULT_LOCAL_QUEUE_MAX_MESSAGES = 10_000
/** Connected peers, inbound and outbound together. */
export const DEFAULT_MAX_PEERS = 64
/** Of those, links other peers dialed (48): accepted connections leave room for the peer's own dials. */
export const DEFAULT_MAX_INBOUND_PEERS = 48
/** Of those, links this peer dialed (32). */
export const DEFAULT_MAX_OUTBOUND_PEERS = 32
/**
 * Of all links, those to followers (non-validators: tabs, non-validating peers) (32). A
 * validator's link is never refused for want of room while a follower holds a slot: that follower
 * is closed with 4005 instead (peer-registry.ts), so followers cannot lock validators out.
 */
export const DEFAULT_MAX_FOLLOWER_LINKS = 32
/** Outbound dials in progress at once. */
export const DEFAULT_MAX_DIALS_IN_FLIGHT = 8
/** Entries taken from one DISC_PEERS list; the rest are ignored. */
export const DEFAULT_MAX_PEERS_LIST = 100
/** Addresses remembered for redialing. */
export const DEFAULT_MAX_KNOWN_ADDRESSES = 1000
/** Period of DISC_GET_PEERS (Fabric's `discovery.period`). */
export const DEFAULT_DISCOVERY_PERIOD_MS = 5000
/** First redial delay of a lost or failed address; doubles up to the max, with full jitter. */
export const DEFAULT_REDIAL_BASE_MS = 500
export const DEFAULT_REDIAL_MAX_MS = 30_000
/** Connect timeout of one dial (Fabric: 3 s). */
export const DEFAULT_DIAL_TIMEOUT_MS = 3000
/** A link must complete its authenticated handshake within this time or is closed with 1008 (defined in identity/handshake.ts). */
export { DEFAULT_HANDSHAKE_TIMEOUT_MS }
/** A KEEPALIVE_PING is sent on a link idle this long. */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 5000
/** A link with no inbound frame for this long is closed with 4003. */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 15_000
/** Bytes a link may have waiting to be sent before it is closed with 4002 (remote not reading). */
export const DEFAULT_SEND_BUFFER_CAP_BYTES = 8 * 1024 * 1024
/** Unsent bytes of a follower's link past which block announcements to it are skipped, not queued (defined in best-effort.ts, beside the rule). */
export { DEFAULT_FOLLOWER_BACKLOG_BYTES }
/** Outbound frames are cut at about this size so no frame nears the receiver's limit. */
export const DEFAULT_TARGET_FRAME_BYTES = 256 * 1024
/** Undecodable frames a link may send before it is closed with 1007. */
export const DEFAULT_MAX_DECODE_ERRORS = 3
/** Blocks sent in one SYNC_BLOCKS answer. */
export const DEFAULT_MAX_BLOCKS_PER_SYNC = 50
/**
 * Upper bound of the encoded blocks (or deltas) in one sync answer, in bytes: answers are cut here
 * as well as at maxBlocksPerSync, so one always fits in a frame (wire/block-size.ts has the chain
 * of limits). A block of the largest size proposers cut (512 KiB of transaction strings) fits.
 */
export const DEFAULT_MAX_SYNC_ANSWER_BYTES = 768 * 1024
/** Room left in a frame beside a sync answer's items: the envelope, the answer's own fields, the frame header. */
export const SYNC_ANSWER_HEADROOM_BYTES = 4096
/** Time to wait for a SYNC_BLOCKS answer. */
export const DEFAULT_SYNC_TIMEOUT_MS = 5000
/**
 * A validator signs every this-many-th block it commits for its followers (16): one signature,
 * and one verification per follower, covers that many blocks through the hash chain.
 */
export const DEFAULT_COMMIT_PROOF_EVERY_BLOCKS = 16
/**
 * A validator also signs the first block whose proposer timestamp falls in a new period of this
 * many ms (100), so a follower waits about that long for a proof at any block rate.
 */
export const DEFAULT_COMMIT_PROOF_PERIOD_MS = 100
/** A validator also signs its head once no block followed for this long (50 ms), so the last blocks before a pause are proven. */
export const DEFAULT_COMMIT_PROOF_IDLE_MS = 50
/**
 * Announced blocks a verifying follower holds above its chain until a proof covers them (1024);
 * one further above is not kept (it is fetched once proven).
 */
export const DEFAULT_MAX_UNPROVEN_BLOCKS = 1024
/**
 * Signatures of one validator a peer keeps while they wait for a quorum (8): a byzantine member
 * signing made-up blocks displaces only its own.
 */
export const DEFAULT_PROOF_SIGNATURES_PER_SIGNER = 8
/**
 * SYNC_COMMIT_PROOF messages a peer verifies at once (64), or PROOFS_VERIFYING_PER_MEMBER per
 * member of a larger membership; more are dropped and counted: each validator sends a few a
 * second, so only a flood gets here, and a later proof covers the blocks.
 */
export const DEFAULT_MAX_PROOFS_VERIFYING = 64
/**
 * Messages in verification per member (4), when that is more than maxProofsVerifying: every
 * member's statement of one block arrives at once (N - 1 at a validator, N whole proofs at a
 * follower), so a fixed bound would drop a large network's statements of two blocks in a row, and
 * its validators would never gather a quorum.
 */
export const PROOFS_VERIFYING_PER_MEMBER = 4

export interface PeerLimits {
  maxFrameBytes: number
  queueMaxMessages: number
  queueMaxBytes: number
  fanQuantumBytes: number
  localQueueMaxMessages: number
  maxPeers: number
  maxInboundPeers: number
  maxOutboundPeers: number
  maxFollowerLinks: number
  maxDialsInFlight: number
  maxPeersList: number
  maxKnownAddresses: number
  discoveryPeriodMs: number
  redialBaseMs: number
  redialMaxMs: number
  dialTimeoutMs: number
  handshakeTimeoutMs: number
  keepaliveIntervalMs: number
  keepaliveTimeoutMs: number
  sendBufferCapBytes: number
  /** Unsent bytes on a follower's link past which best-effort envelopes (best-effort.ts) to it are skipped; at or above sendBufferCapBytes, never. */
  followerBacklogBytes: number
  maxEnvelopesPerFrame: number
  targetFrameBytes: number
  maxDecodeErrors: number
  maxBlocksPerSync: number
  maxSyncAnswerBytes: number
  syncTimeoutMs: number
  commitProofEveryBlocks: number
  commitProofPeriodMs: number
  commitProofIdleMs: number
  maxUnprovenBlocks: number
  proofSignaturesPerSigner: number
  maxProofsVerifying: number
}

export const DEFAULT_PEER_LIMITS: Readonly<PeerLimits> = Object.freeze({
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  queueMaxMessages: DEFAULT_QUEUE_MAX_MESSAGES,
  queueMaxBytes: DEFAULT_QUEUE_MAX_BYTES,
  fanQuantumBytes: DEFAULT_FAN_QUANTUM_BYTES,
  localQueueMaxMessages: DEFAULT_LOCAL_QUEUE_MAX_MESSAGES,
  maxPeers: DEFAULT_MAX_PEERS,
  maxInboundPeers: DEFAULT_MAX_INBOUND_PEERS,
  maxOutboundPeers: DEFAULT_MAX_OUTBOUND_PEERS,
  maxFollowerLinks: DEFAULT_MAX_FOLLOWER_LINKS,
  maxDialsInFlight: DEFAULT_MAX_DIALS_IN_FLIGHT,
  maxPeersList: DEFAULT_MAX_PEERS_LIST,
  maxKnownAddresses: DEFAULT_MAX_KNOWN_ADDRESSES,
  discoveryPeriodMs: DEFAULT_DISCOVERY_PERIOD_MS,
  redialBaseMs: DEFAULT_REDIAL_BASE_MS,
  redialMaxMs: DEFAULT_REDIAL_MAX_MS,
  dialTimeoutMs: DEFAULT_DIAL_TIMEOUT_MS,
  handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
  keepaliveIntervalMs: DEFAULT_KEEPALIVE_INTERVAL_MS,
  keepaliveTimeoutMs: DEFAULT_KEEPALIVE_TIMEOUT_MS,
  sendBufferCapBytes: DEFAULT_SEND_BUFFER_CAP_BYTES,
  followerBacklogBytes: DEFAULT_FOLLOWER_BACKLOG_BYTES,
  maxEnvelopesPerFrame: DEFAULT_MAX_ENVELOPES_PER_FRAME,
  targetFrameBytes: DEFAULT_TARGET_FRAME_BYTES,
  maxDecodeErrors: DEFAULT_MAX_DECODE_ERRORS,
  maxBlocksPerSync: DEFAULT_MAX_BLOCKS_PER_SYNC,
  maxSyncAnswerBytes: DEFAULT_MAX_SYNC_ANSWER_BYTES,
  syncTimeoutMs: DEFAULT_SYNC_TIMEOUT_MS,
  commitProofEveryBlocks: DEFAULT_COMMIT_PROOF_EVERY_BLOCKS,
  commitProofPeriodMs: DEFAULT_COMMIT_PROOF_PERIOD_MS,
  commitProofIdleMs: DEFAULT_COMMIT_PROOF_IDLE_MS,
  maxUnprovenBlocks: DEFAULT_MAX_UNPROVEN_BLOCKS,
  proofSignaturesPerSigner: DEFAULT_PROOF_SIGNATURES_PER_SIGNER,
  maxProofsVerifying: DEFAULT_MAX_PROOFS_VERIFYING,
})

/**
 * Merges overrides onto the defaults, refusing (ConfigError) values that are not positive integers
 * (util/integer-options.ts) and keys that are no limit.
 */
export function resolvePeerLimits(overrides: Partial<PeerLimits> = {}): PeerLimits {
  const { values: limits, unknown } = resolveIntegerOptions('limit', DEFAULT_PEER_LIMITS, overrides)
  if (unknown.length > 0) throw new ConfigError(`unknown limit ${unknown.join(', ')}; known: ${Object.keys(DEFAULT_PEER_LIMITS).join(', ')}`)
  // One full frame must fit, or every large answer (a sync batch) would close an honest link.
  if (limits.sendBufferCapBytes < limits.maxFrameBytes) {
    throw new ConfigError(`limit sendBufferCapBytes (${limits.sendBufferCapBytes}) must be at least maxFrameBytes (${limits.maxFrameBytes})`)
  }
  return limits
}
