/**
 * The limits the wire decoder enforces on untrusted bytes. A frame enters decodeFrame (codec.ts)
 * and a payload enters decodePayload (payloads.ts) with a Partial<CodecLimits>; whatever is not
 * given falls back to these defaults. PROTOCOL.md quotes them and test/core/wire/protocol-doc.test.ts
 * checks that it does.
 */
/** Largest inbound frame in bytes; bigger frames close the link with 1009 (a peer limit too: peer/limits.ts). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024

/** Envelopes in one frame at most, in and out (a peer limit too: peer/limits.ts). */
export const DEFAULT_MAX_ENVELOPES_PER_FRAME = 256

/**
 * Deepest container nesting accepted (the top-level value counts as level 1). Default 16: the
 * deepest real message (SYNC_BLOCKS -> block -> transactions -> transaction) needs 5, and a cap
 * keeps a recursive decoder far from the engine's stack limit, which differs between browsers.
 */
export const DEFAULT_MAX_DEPTH = 16

/**
 * Arrays plus maps in one decoded value. Default 65,536. An empty map is one byte on the wire but
 * an object of about 60 bytes in memory; the cap bounds that 40-64x expansion for any frame size.
 */
export const DEFAULT_MAX_CONTAINERS = 65_536

/** Largest envelope `signature` in bytes. Default 1024 (an Ed25519 signature is 64). */
export const DEFAULT_MAX_SIGNATURE_BYTES = 1024

export interface CodecLimits {
  /** Largest frame in bytes; checked before any decoding. Default DEFAULT_MAX_FRAME_BYTES (1 MiB). */
  maxFrameBytes: number
  /** Deepest container nesting. Default DEFAULT_MAX_DEPTH (16). */
  maxDepth: number
  /** Envelopes in one frame. Default DEFAULT_MAX_ENVELOPES_PER_FRAME (256). */
  maxEnvelopesPerFrame: number
  /** Arrays plus maps in one decoded value. Default DEFAULT_MAX_CONTAINERS (65,536). */
  maxContainers: number
}

export const DEFAULT_CODEC_LIMITS: Readonly<CodecLimits> = Object.freeze({
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxDepth: DEFAULT_MAX_DEPTH,
  maxEnvelopesPerFrame: DEFAULT_MAX_ENVELOPES_PER_FRAME,
  maxContainers: DEFAULT_MAX_CONTAINERS,
})

/** Defaults with the given overrides; undefined overrides keep the default. */
export function resolveCodecLimits(overrides?: Partial<CodecLimits>): Readonly<CodecLimits> {
  if (overrides === undefined) return DEFAULT_CODEC_LIMITS
  return {
    maxFrameBytes: overrides.maxFrameBytes ?? DEFAULT_CODEC_LIMITS.maxFrameBytes,
    maxDepth: overrides.maxDepth ?? DEFAULT_CODEC_LIMITS.maxDepth,
    maxEnvelopesPerFrame: overrides.maxEnvelopesPerFrame ?? DEFAULT_CODEC_LIMITS.maxEnvelopesPerFrame,
    maxContainers: overrides.maxContainers ?? DEFAULT_CODEC_LIMITS.maxContainers,
  }
}

// Payload schema caps (payloads.ts). Fixed by the protocol rather than configurable: a receiver
// must not refuse what a conforming sender may send. String caps count UTF-8 bytes, as the msgpack
// str header does. The frame limit (1 MiB by default) bounds every message further.

/** Peer IDs, transaction IDs, proposer and origin IDs: at most 128 UTF-8 bytes. */
export const MAX_ID_BYTES = 128
/** Chat URLs in PeerEndpoint.address: at most 512 UTF-8 bytes ('' for peers that cannot listen). */
export const MAX_ADDRESS_BYTES = 512
/** Human-readable text (RESPONSE msg, DISC_DISCONNECT reason): at most 4096 UTF-8 bytes. */
export const MAX_MSG_BYTES = 4096
/** RESPONSE error codes (`ERR_QUEUE_FULL`): at most 128 UTF-8 bytes. */
export const MAX_ERROR_CODE_BYTES = 128
/** A transaction's payload string: at most 256 KiB of UTF-8. */
export const MAX_TX_PAYLOAD_BYTES = 256 * 1024
/** Hashes (block, state): bin of at most 64 bytes (SHA-512 size; SHA-256 uses 32). */
export const MAX_HASH_BYTES = 64
/** PeerEndpoint.pkiId: bin of at most 256 bytes (room for a DER public key). */
export const MAX_PKI_ID_BYTES = 256
/** Signatures in one SYNC_COMMIT_PROOF: one per member at most (identity/membership.ts MAX_MEMBERS is 1024). */
export const MAX_PROOF_SIGNATURES = 1024
/** An Ed25519 signature: exactly 64 bytes. */
export const SIGNATURE_WIRE_BYTES = 64
/** Entries in one DISC_PEERS list accepted by the schema; the peer keeps fewer (DEFAULT_MAX_PEERS_LIST). */
export const MAX_PEERS_PER_MESSAGE = 10_000
/** Blocks in one SYNC_BLOCKS message. */
export const MAX_BLOCKS_PER_MESSAGE = 1000
/** Transactions in one block. */
export const MAX_TXS_PER_BLOCK = 100_000
/** Deltas in one SYNC_STATE_DELTAS message. */
export const MAX_DELTAS_PER_MESSAGE = 1000
/** Key-value pairs in one snapshot or one delta's write set. */
export const MAX_STATE_ENTRIES = 100_000
/** A state key: at most 1024 UTF-8 bytes. */
export const MAX_STATE_KEY_BYTES = 1024
/** A state value: at most 256 KiB of UTF-8. */
export const MAX_STATE_VALUE_BYTES = 256 * 1024
