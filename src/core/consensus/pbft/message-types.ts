/**
 * PBFT's messages, carried as the opaque payload of CONSENSUS envelopes (specified, with test
 * vectors, in PROTOCOL.md 11.4: change both together). Keys are one or two
 * letters to keep prepares and commits small; digests travel as 32 raw bytes (0 bytes for a null
 * request) and are hex strings in memory.
 *
 *   req  { t, x: txs }                          requests forwarded to every replica (any sender)
 *   pp   { t, v, n, r, b: batch | nil }          pre-prepare; the digest is recomputed, never sent
 *   p    { t, v, n, r, d }                       prepare
 *   c    { t, v, n, r, d }                       commit
 *   ck   { t, n, r, d }                          checkpoint: d = hash of the head block once n is executed
 *   vc   { t, v, r, h, C: [n,d][], P: [n,d,v][], Q: [n,d,v][] }   view change
 *   nv   { t, v, r, V: replica[], k: [n,d], X: [n,d][] }          new view
 *   fb   { t, r, d }                             fetch a batch by digest
 *   rb   { t, r, b: batch }                      return a batch
 *   vs   { t, v, r }                             view status: the sender is active in view v (sent
 *                                                when it starts and to each validator that links to
 *                                                it); a replica active in a later view answers with
 *                                                its view change and new view, so the sender joins
 *   m    { t, m: bin[] }                         a bundle: other messages (not bundles), each encoded
 *                                                as above, sent together; the receiver handles them
 *                                                in order, each as if it came alone (same checks)
 *
 * A replica sends one message alone as itself, and bundles only what one input (a message, a
 * bundle, a request, a timer) made it broadcast at once; a peer that knows no bundles would refuse
 * them, so versions without them cannot take part with this one.
 *
 * This file holds the shapes and their caps; message-encoder.ts writes them and
 * message-decoder.ts reads and checks them (messages.ts is the one place to import all three from).
 *
 * In: bytes from any peer, read in one pass by a strict msgpack reader (wire/msgpack-reader.ts) that
 * knows these shapes: exact key sets, types, size caps (checked before anything is allocated),
 * 32-byte digests (0 for a null request where allowed). Transactions come out well-formed (the
 * ledger's `transactionProblem` holds for them). Anything else throws DecodeError, whose message
 * names the field and never quotes received content. Key order on the wire is free. Out: msgpack
 * maps (wire/msgpack-writer.ts), byte for byte what msgpackr encodes for the same wire objects. `r` must
 * equal the authenticated sender's replica index; the consenter checks that, not this module.
 *
 *   const prepare: PrepareMsg = { t: 'p', v: 0, n: 1, r: 2, d }
 */
import type { Transaction } from '../../wire/payload-types.js'
import type { PbftBatch } from './batch.js'

/** Messages in one bundle at most (default 1024). */
export const PBFT_MAX_BUNDLE_MESSAGES = 1024
/**
 * A sender closes a bundle once it holds this many bytes (default 64 KiB), so a bundle fits a frame
 * with room to spare; a larger message goes alone.
 */
export const PBFT_MAX_BUNDLE_BYTES = 64 * 1024

/** Entries of a view-change set (C, P or Q) at most (default 4096); honest sets hold at most L (or L per view for Q). */
export const PBFT_MAX_SET_ENTRIES = 4096

/** (sequence number, digest) */
export type SeqDigest = [n: number, d: string]
/** (sequence number, digest, view) */
export type SeqDigestView = [n: number, d: string, v: number]

export interface RequestMsg {
  t: 'req'
  x: Transaction[]
}
export interface PrePrepareMsg {
  t: 'pp'
  v: number
  n: number
  r: number
  b: PbftBatch | null
}
export interface PrepareMsg {
  t: 'p'
  v: number
  n: number
  r: number
  d: string
}
export interface CommitMsg {
  t: 'c'
  v: number
  n: number
  r: number
  d: string
}
export interface CheckpointMsg {
  t: 'ck'
  n: number
  r: number
  d: string
}
export interface ViewChangeMsg {
  t: 'vc'
  v: number
  r: number
  /** The sender's low watermark. */
  h: number
  /** Checkpoints the sender holds, h included. */
  C: SeqDigest[]
  /** Prepared: the highest view each sequence number prepared in, above h. */
  P: SeqDigestView[]
  /** Pre-prepared: the highest view each (n, digest) pre-prepared in, above h. */
  Q: SeqDigestView[]
}
export interface NewViewMsg {
  t: 'nv'
  v: number
  r: number
  /** Replicas whose view-change messages the new primary used. */
  V: number[]
  /** The starting checkpoint. */
  k: SeqDigest
  /** What each sequence number after the checkpoint re-proposes ('' = null request). */
  X: SeqDigest[]
}
export interface FetchBatchMsg {
  t: 'fb'
  r: number
  d: string
}
export interface ReturnBatchMsg {
  t: 'rb'
  r: number
  b: PbftBatch
}
export interface ViewStatusMsg {
  t: 'vs'
  v: number
  r: number
}

/** A bundle: messages sent as one (never a bundle inside a bundle). */
export interface BundleMsg {
  t: 'm'
  m: PbftMessage[]
}

export type PbftMessage =
  | BundleMsg
  | RequestMsg
  | PrePrepareMsg
  | PrepareMsg
  | CommitMsg
  | CheckpointMsg
  | ViewChangeMsg
  | NewViewMsg
  | FetchBatchMsg
  | ReturnBatchMsg
  | ViewStatusMsg
