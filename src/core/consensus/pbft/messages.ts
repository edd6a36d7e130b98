/**
 * PBFT's messages, carried as the opaque payload of CONSENSUS envelopes. Keys are one or two
 * letters to keep prepares and commits small; digests travel as 32 raw bytes (0 bytes for a null
 * request) and are hex strings in memory.
 *
 *   req  { t, x: txs }                          requests forwarded to every replica (any sender)
 *   pp   { t, v, n, r, b: batch | nil }          pre-prepare; the digest is recomputed, never sent
 *   p    { t, v, n, r, d }                       prepare
 *   c    { t, v, n, r, d }                       commit
 *   ck   { t, n, r, d }                          checkpoint: d = hash of block n
 *   vc   { t, v, r, h, C: [n,d][], P: [n,d,v][], Q: [n,d,v][] }   view change
 *   nv   { t, v, r, V: replica[], k: [n,d], X: [n,d][] }          new view
 *   fb   { t, r, d }                             fetch a batch by digest
 *   rb   { t, r, b: batch }                      return a batch
 *
 * In: bytes from any peer, through the wire layer's hardened decoder (structural scan, msgpackr
 * without eval) and a strict valibot schema with size caps; transactions must also pass the
 * ledger's `transactionProblem`. Anything else throws DecodeError, whose message never quotes
 * received content. Out: msgpack maps. `r` must equal the authenticated sender's replica index;
 * the consenter checks that, not this module.
 *
 *   const bytes = encodePbftMessage({ t: 'p', v: 0, n: 1, r: 2, d })
 *   const msg = decodePbftMessage(bytes) // throws DecodeError
 */
import { Packr } from 'msgpackr'
import * as v from 'valibot'
import { DecodeError } from '../../errors.js'
import { transactionProblem } from '../../ledger/block-hash.js'
import { fromHex, toHex } from '../../util/bytes.js'
import { unpackUntrusted } from '../../wire/codec.js'
import { DEFAULT_CODEC_LIMITS, MAX_ID_BYTES, MAX_TX_PAYLOAD_BYTES, MAX_TXS_PER_BLOCK } from '../../wire/codec-limits.js'
import { utf8ByteLength } from '../../wire/payloads.js'
import type { Transaction } from '../../wire/payload-types.js'
import type { PbftBatch } from './batch.js'
import { PBFT_MAX_REPLICAS } from './config.js'

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

export type PbftMessage =
  | RequestMsg
  | PrePrepareMsg
  | PrepareMsg
  | CommitMsg
  | CheckpointMsg
  | ViewChangeMsg
  | NewViewMsg
  | FetchBatchMsg
  | ReturnBatchMsg

const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, variableMapSize: true })

const FIELD_NAMES = new Set(['t', 'x', 'v', 'n', 'r', 'b', 'd', 'h', 'C', 'P', 'Q', 'V', 'k', 'X', 's', 'p', 'i', 'y', 'o'])

const utf8 = (max: number) =>
  v.pipe(
    v.string(),
    v.check((text: string) => text.length <= max && (text.length * 3 <= max || utf8ByteLength(text) <= max), `at most ${max} UTF-8 bytes`),
  )
const uint = v.pipe(v.number(), v.safeInteger(), v.minValue(0))
const replica = v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(PBFT_MAX_REPLICAS - 1))
const digest = v.pipe(v.instance(Uint8Array), v.length(32))
const digestOrNull = v.pipe(
  v.instance(Uint8Array),
  v.check((b) => b.length === 32 || b.length === 0, 'digest of 32 or 0 bytes'),
)
const list = <S extends v.GenericSchema>(item: S, max: number) => v.pipe(v.array(v.unknown()), v.maxLength(max), v.array(item))

// Transactions on the wire are short-keyed too: i txid, y payload, s timestamp, o origin.
const txSchema = v.strictObject({
  i: v.pipe(utf8(MAX_ID_BYTES), v.minLength(1)),
  y: utf8(MAX_TX_PAYLOAD_BYTES),
  s: uint,
  o: utf8(MAX_ID_BYTES),
})
const txs = list(txSchema, MAX_TXS_PER_BLOCK)
const batchSchema = v.strictObject({ s: uint, p: utf8(MAX_ID_BYTES), x: txs })
const seqDigest = v.strictTuple([uint, digestOrNull])
const seqDigestView = v.strictTuple([uint, digestOrNull, uint])

const MessageSchema = v.variant('t', [
  v.strictObject({ t: v.literal('req'), x: txs }),
  v.strictObject({ t: v.literal('pp'), v: uint, n: uint, r: replica, b: v.nullable(batchSchema) }),
  v.strictObject({ t: v.literal('p'), v: uint, n: uint, r: replica, d: digestOrNull }),
  v.strictObject({ t: v.literal('c'), v: uint, n: uint, r: replica, d: digestOrNull }),
  v.strictObject({ t: v.literal('ck'), n: uint, r: replica, d: digest }),
  v.strictObject({
    t: v.literal('vc'),
    v: uint,
    r: replica,
    h: uint,
    C: list(seqDigest, PBFT_MAX_SET_ENTRIES),
    P: list(seqDigestView, PBFT_MAX_SET_ENTRIES),
    Q: list(seqDigestView, PBFT_MAX_SET_ENTRIES),
  }),
  v.strictObject({
    t: v.literal('nv'),
    v: uint,
    r: replica,
    V: list(replica, PBFT_MAX_REPLICAS),
    k: seqDigest,
    X: list(seqDigest, PBFT_MAX_SET_ENTRIES),
  }),
  v.strictObject({ t: v.literal('fb'), r: replica, d: digest }),
  v.strictObject({ t: v.literal('rb'), r: replica, b: batchSchema }),
])

type WireTx = { i: string; y: string; s: number; o: string }
type WireBatch = { s: number; p: string; x: WireTx[] }

const txToWire = (t: Transaction): WireTx => ({ i: t.txid, y: t.payload, s: t.timestamp, o: t.origin })
const txFromWire = (t: WireTx): Transaction => ({ txid: t.i, payload: t.y, timestamp: t.s, origin: t.o })
const batchToWire = (b: PbftBatch): WireBatch => ({ s: b.timestamp, p: b.proposer, x: b.txs.map(txToWire) })
const batchFromWire = (b: WireBatch): PbftBatch => ({ timestamp: b.s, proposer: b.p, txs: b.x.map(txFromWire) })
const hexBytes = (d: string): Uint8Array => (d === '' ? new Uint8Array(0) : fromHex(d))

function toWire(msg: PbftMessage): unknown {
  switch (msg.t) {
    case 'req':
      return { t: 'req', x: msg.x.map(txToWire) }
    case 'pp':
      return { t: 'pp', v: msg.v, n: msg.n, r: msg.r, b: msg.b === null ? null : batchToWire(msg.b) }
    case 'p':
    case 'c':
      return { t: msg.t, v: msg.v, n: msg.n, r: msg.r, d: hexBytes(msg.d) }
    case 'ck':
      return { t: 'ck', n: msg.n, r: msg.r, d: fromHex(msg.d) }
    case 'vc':
      return {
        t: 'vc',
        v: msg.v,
        r: msg.r,
        h: msg.h,
        C: msg.C.map(([n, d]) => [n, hexBytes(d)]),
        P: msg.P.map(([n, d, w]) => [n, hexBytes(d), w]),
        Q: msg.Q.map(([n, d, w]) => [n, hexBytes(d), w]),
      }
    case 'nv':
      return { t: 'nv', v: msg.v, r: msg.r, V: msg.V, k: [msg.k[0], hexBytes(msg.k[1])], X: msg.X.map(([n, d]) => [n, hexBytes(d)]) }
    case 'fb':
      return { t: 'fb', r: msg.r, d: fromHex(msg.d) }
    case 'rb':
      return { t: 'rb', r: msg.r, b: batchToWire(msg.b) }
  }
}

export function encodePbftMessage(msg: PbftMessage): Uint8Array {
  const packed = packr.pack(toWire(msg))
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength)
}

function checkTxs(list: readonly Transaction[]): void {
  for (let i = 0; i < list.length; i++) {
    const problem = transactionProblem(list[i] as Transaction)
    if (problem !== undefined) throw new DecodeError(`pbft message refused: transaction ${i}: ${problem}`)
  }
}

type Parsed = v.InferOutput<typeof MessageSchema>

function fromWire(raw: Parsed): PbftMessage {
  switch (raw.t) {
    case 'req': {
      const x = raw.x.map(txFromWire)
      checkTxs(x)
      return { t: 'req', x }
    }
    case 'pp': {
      const b = raw.b === null ? null : batchFromWire(raw.b)
      if (b !== null) checkTxs(b.txs)
      return { t: 'pp', v: raw.v, n: raw.n, r: raw.r, b }
    }
    case 'p':
    case 'c':
      return { t: raw.t, v: raw.v, n: raw.n, r: raw.r, d: toHex(raw.d) }
    case 'ck':
      return { t: 'ck', n: raw.n, r: raw.r, d: toHex(raw.d) }
    case 'vc':
      return {
        t: 'vc',
        v: raw.v,
        r: raw.r,
        h: raw.h,
        C: raw.C.map(([n, d]) => [n, toHex(d)] as SeqDigest),
        P: raw.P.map(([n, d, w]) => [n, toHex(d), w] as SeqDigestView),
        Q: raw.Q.map(([n, d, w]) => [n, toHex(d), w] as SeqDigestView),
      }
    case 'nv':
      return { t: 'nv', v: raw.v, r: raw.r, V: raw.V, k: [raw.k[0], toHex(raw.k[1])], X: raw.X.map(([n, d]) => [n, toHex(d)] as SeqDigest) }
    case 'fb':
      return { t: 'fb', r: raw.r, d: toHex(raw.d) }
    case 'rb': {
      const b = batchFromWire(raw.b)
      checkTxs(b.txs)
      return { t: 'rb', r: raw.r, b }
    }
  }
}

/** Decodes and validates one PBFT message. Throws DecodeError on anything else. */
export function decodePbftMessage(bytes: Uint8Array): PbftMessage {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('pbft message is not bytes')
  if (bytes.byteLength > DEFAULT_CODEC_LIMITS.maxFrameBytes) {
    throw new DecodeError(`pbft message of ${bytes.byteLength} bytes exceeds ${DEFAULT_CODEC_LIMITS.maxFrameBytes} bytes`)
  }
  const raw = unpackUntrusted(bytes, DEFAULT_CODEC_LIMITS, 'pbft message')
  const result = v.safeParse(MessageSchema, raw, { abortEarly: true })
  if (!result.success) {
    const issue = result.issues[0]
    // Only schema vocabulary is quoted: unknown keys and received values are the sender's text.
    const path = (issue.path ?? [])
      .map((item) => (typeof item.key === 'number' || FIELD_NAMES.has(String(item.key)) ? String(item.key) : '?'))
      .join('.')
    throw new DecodeError(`pbft message refused at ${path === '' ? 'top level' : path}: ${issue.kind} ${issue.type} check failed`)
  }
  return fromWire(result.output)
}
