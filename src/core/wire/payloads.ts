/**
 * Payload schemas: what the `payload` bytes of each message type hold. An object enters
 * encodePayload/makeEnvelope and leaves as msgpack bytes holding exactly the schema's fields
 * (absent optional fields are omitted, never sent as nil); untrusted bytes enter decodePayload
 * and leave as a checked object, or as a DecodeError naming the type and the failing field path.
 *
 * Decoding reuses the frame decoder's layers (structural scan, hardened msgpackr) and then a
 * valibot strict schema with a length cap on every string, bin and list (codec-limits.ts). The
 * hot types (CHAIN_TRANSACTION, SYNC_BLOCK_ADDED) first try a hand-written check that accepts
 * only what their schema accepts; anything it does not take goes through the schema, so refusals
 * and their messages are the schema's own. A CHAIN_TRANSACTION is decoded once per payload: the
 * consensus handler checks it and the consenter reads it again from the same bytes (see
 * decodePayload).
 * CONSENSUS (21) carries opaque consenter bytes and UNDEFINED (0) / DISC_NEWMSG (5) carry nothing
 * wspeer accepts, so none of them has a schema here. PROTOCOL.md documents every schema.
 */
import { Packr } from 'msgpackr'
import * as v from 'valibot'
import { DecodeError } from '../errors.js'
import {
  MAX_ADDRESS_BYTES,
  MAX_BLOCKS_PER_MESSAGE,
  MAX_DELTAS_PER_MESSAGE,
  MAX_ERROR_CODE_BYTES,
  MAX_HASH_BYTES,
  MAX_ID_BYTES,
  MAX_MSG_BYTES,
  MAX_PEERS_PER_MESSAGE,
  MAX_PKI_ID_BYTES,
  MAX_PROOF_SIGNATURES,
  SIGNATURE_WIRE_BYTES,
  MAX_STATE_ENTRIES,
  MAX_STATE_KEY_BYTES,
  MAX_STATE_VALUE_BYTES,
  MAX_TX_PAYLOAD_BYTES,
  MAX_TXS_PER_BLOCK,
  resolveCodecLimits,
} from './codec-limits.js'
import type { CodecLimits } from './codec-limits.js'
import { unpackUntrusted } from './codec.js'
import type { Envelope } from './envelope.js'
import { MessageType, messageTypeName } from './message-type.js'
import { writeBlockAddedPayload, writeTransactionPayload } from './payload-writer.js'
import type {
  Block,
  BlockAddedPayload,
  BlocksPayload,
  BlockchainInfo,
  CommitProofPayload,
  DeltasPayload,
  DisconnectPayload,
  GetBlocksPayload,
  GetDeltasPayload,
  GetSnapshotPayload,
  HelloPayload,
  KeepalivePayload,
  PeerEndpoint,
  PeersPayload,
  ResponsePayload,
  ResponseStatus,
  SnapshotPayload,
  StateDelta,
  Transaction,
} from './payload-types.js'

/** The payload object of every message type that has one. */
export interface PayloadMap {
  [MessageType.DISC_HELLO]: HelloPayload
  [MessageType.DISC_DISCONNECT]: DisconnectPayload
  [MessageType.DISC_GET_PEERS]: Record<string, never>
  [MessageType.DISC_PEERS]: PeersPayload
  [MessageType.CHAIN_TRANSACTION]: Transaction
  [MessageType.SYNC_GET_BLOCKS]: GetBlocksPayload
  [MessageType.SYNC_BLOCKS]: BlocksPayload
  [MessageType.SYNC_BLOCK_ADDED]: BlockAddedPayload
  [MessageType.SYNC_STATE_GET_SNAPSHOT]: GetSnapshotPayload
  [MessageType.SYNC_STATE_SNAPSHOT]: SnapshotPayload
  [MessageType.SYNC_STATE_GET_DELTAS]: GetDeltasPayload
  [MessageType.SYNC_STATE_DELTAS]: DeltasPayload
  [MessageType.RESPONSE]: ResponsePayload
  [MessageType.KEEPALIVE_PING]: KeepalivePayload
  [MessageType.KEEPALIVE_PONG]: KeepalivePayload
  [MessageType.SYNC_COMMIT_PROOF]: CommitProofPayload
}
export type PayloadType = keyof PayloadMap

// ---- UTF-8 length caps without encoding the string ----

/** UTF-8 length of a string as TextEncoder would write it (lone surrogates become U+FFFD, 3 bytes). */
export function utf8ByteLength(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}

/** Whether `text` fits in `max` UTF-8 bytes; one UTF-16 unit is 1 to 3 bytes, so most cases need no count. */
function fitsUtf8(text: string, max: number): boolean {
  if (text.length * 3 <= max) return true
  if (text.length > max) return false
  return utf8ByteLength(text) <= max
}

// ---- schemas ----

/** Field names of every schema: the only object keys an error message may quote. */
const FIELD_NAMES = new Set<string>()

function strictMap<const E extends v.ObjectEntries>(entries: E) {
  for (const key of Object.keys(entries)) FIELD_NAMES.add(key)
  return v.strictObject(entries)
}

const utf8 = (max: number) =>
  v.pipe(
    v.string(),
    v.check((text: string) => fitsUtf8(text, max), `string longer than ${max} UTF-8 bytes`),
  )
const uint = v.pipe(v.number(), v.safeInteger(), v.minValue(0))
const bin = (max: number) => v.pipe(v.instance(Uint8Array), v.maxLength(max))
// The length cap runs before any element is looked at, so an oversized list costs nothing.
const list = <S extends v.GenericSchema>(item: S, max: number) => v.pipe(v.array(v.unknown()), v.maxLength(max), v.array(item))

const id = utf8(MAX_ID_BYTES)
const hash = bin(MAX_HASH_BYTES)
const keyValue = v.strictTuple([utf8(MAX_STATE_KEY_BYTES), utf8(MAX_STATE_VALUE_BYTES)])

const peerEndpoint = strictMap({
  id,
  address: utf8(MAX_ADDRESS_BYTES),
  type: v.picklist([0, 1, 2]),
  pkiId: v.optional(bin(MAX_PKI_ID_BYTES)),
})
const blockchainInfo = strictMap({ height: uint, currentBlockHash: hash, previousBlockHash: hash })
const transaction = strictMap({ txid: id, payload: utf8(MAX_TX_PAYLOAD_BYTES), timestamp: uint, origin: id })
const block = strictMap({
  number: uint,
  previousBlockHash: hash,
  stateHash: hash,
  timestamp: uint,
  proposer: id,
  transactions: list(transaction, MAX_TXS_PER_BLOCK),
})
const range = strictMap({ requestId: uint, start: uint, end: uint })
const stateDelta = strictMap({ blockNumber: uint, writes: list(keyValue, MAX_STATE_ENTRIES) })
const keepalive = strictMap({ nonce: uint })
const commitSignature = strictMap({
  signer: id,
  signature: v.pipe(v.instance(Uint8Array), v.length(SIGNATURE_WIRE_BYTES)),
})

const SCHEMAS: { readonly [K in PayloadType]: v.GenericSchema<unknown, PayloadMap[K]> } = {
  [MessageType.DISC_HELLO]: strictMap({ peerEndpoint, blockchainInfo, auth: v.optional(v.unknown()) }),
  [MessageType.DISC_DISCONNECT]: strictMap({ reason: utf8(MAX_MSG_BYTES) }),
  [MessageType.DISC_GET_PEERS]: strictMap({}) as v.GenericSchema<unknown, Record<string, never>>,
  [MessageType.DISC_PEERS]: strictMap({ peers: list(peerEndpoint, MAX_PEERS_PER_MESSAGE) }),
  [MessageType.CHAIN_TRANSACTION]: transaction,
  [MessageType.SYNC_GET_BLOCKS]: range,
  [MessageType.SYNC_BLOCKS]: strictMap({ requestId: uint, blocks: list(block, MAX_BLOCKS_PER_MESSAGE) }),
  [MessageType.SYNC_BLOCK_ADDED]: strictMap({ block }),
  [MessageType.SYNC_STATE_GET_SNAPSHOT]: strictMap({ requestId: uint }),
  [MessageType.SYNC_STATE_SNAPSHOT]: strictMap({
    requestId: uint,
    height: uint,
    stateHash: hash,
    entries: list(keyValue, MAX_STATE_ENTRIES),
  }),
  [MessageType.SYNC_STATE_GET_DELTAS]: range,
  [MessageType.SYNC_STATE_DELTAS]: strictMap({ requestId: uint, deltas: list(stateDelta, MAX_DELTAS_PER_MESSAGE) }),
  [MessageType.RESPONSE]: strictMap({
    status: v.picklist([200, 500]),
    msg: utf8(MAX_MSG_BYTES),
    code: v.optional(utf8(MAX_ERROR_CODE_BYTES)),
    inReplyTo: v.optional(uint),
  }),
  [MessageType.KEEPALIVE_PING]: keepalive,
  [MessageType.KEEPALIVE_PONG]: keepalive,
  [MessageType.SYNC_COMMIT_PROOF]: strictMap({
    number: uint,
    blockHash: hash,
    signatures: v.pipe(list(commitSignature, MAX_PROOF_SIGNATURES), v.minLength(1)),
  }),
}

// ---- hand-written checks of the hot types ----

/**
 * Each returns the schema's output (a fresh object of the schema's keys in its order) when the
 * value is certainly valid, or undefined to let the schema decide (and word the refusal).
 */
type FastCheck = (value: unknown) => unknown

/** A plain map (what msgpackr makes of a msgpack map) whose enumerable keys are exactly `count` of `allowed`. */
function hasExactKeys(value: unknown, allowed: ReadonlySet<string>, count: number): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  let n = 0
  // for-in also sees inherited enumerable keys, so a polluted prototype fails here too.
  for (const key in value) {
    if (!allowed.has(key)) return false
    n++
  }
  return n === count
}

const isUintValue = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
const isId = (x: unknown): x is string => typeof x === 'string' && fitsUtf8(x, MAX_ID_BYTES)
const isHashBin = (x: unknown): x is Uint8Array => x instanceof Uint8Array && x.length <= MAX_HASH_BYTES

const TX_KEYS = new Set(['txid', 'payload', 'timestamp', 'origin'])
function fastTransaction(value: unknown): Transaction | undefined {
  if (!hasExactKeys(value, TX_KEYS, 4)) return undefined
  const { txid, payload, timestamp, origin } = value
  if (!isId(txid) || typeof payload !== 'string' || !fitsUtf8(payload, MAX_TX_PAYLOAD_BYTES) || !isUintValue(timestamp) || !isId(origin)) {
    return undefined
  }
  return { txid, payload, timestamp, origin }
}

const BLOCK_KEYS = new Set(['number', 'previousBlockHash', 'stateHash', 'timestamp', 'proposer', 'transactions'])
function fastBlock(value: unknown): Block | undefined {
  if (!hasExactKeys(value, BLOCK_KEYS, 6)) return undefined
  const { number, previousBlockHash, stateHash, timestamp, proposer, transactions } = value
  if (!isUintValue(number) || !isHashBin(previousBlockHash) || !isHashBin(stateHash) || !isUintValue(timestamp) || !isId(proposer)) {
    return undefined
  }
  if (!Array.isArray(transactions) || transactions.length > MAX_TXS_PER_BLOCK) return undefined
  const txs = new Array<Transaction>(transactions.length)
  for (let i = 0; i < transactions.length; i++) {
    const tx = fastTransaction(transactions[i])
    if (tx === undefined) return undefined
    txs[i] = tx
  }
  return { number, previousBlockHash, stateHash, timestamp, proposer, transactions: txs }
}

const BLOCK_ADDED_KEYS = new Set(['block'])
function fastBlockAdded(value: unknown): BlockAddedPayload | undefined {
  if (!hasExactKeys(value, BLOCK_ADDED_KEYS, 1)) return undefined
  const block = fastBlock(value.block)
  return block === undefined ? undefined : { block }
}

const FAST_CHECKS = new Map<number, FastCheck>([
  [MessageType.CHAIN_TRANSACTION, fastTransaction],
  [MessageType.SYNC_BLOCK_ADDED, fastBlockAdded],
])

const SCHEMA_BY_TYPE = new Map<number, v.GenericSchema>(
  Object.entries(SCHEMAS).map(([type, schema]) => [Number(type), schema as v.GenericSchema]),
)

/** Whether a type number has a payload schema (CONSENSUS, UNDEFINED and DISC_NEWMSG do not). */
export function hasPayloadSchema(type: number): type is PayloadType {
  return SCHEMA_BY_TYPE.has(type)
}

// ---- encoding ----

const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, variableMapSize: true })

// Projections onto exactly the schema's fields: objects from elsewhere (a ledger's Block with a
// cached hash, an endpoint with pkiId: undefined) must not put extra or nil fields on the wire.
const endpointWire = (e: PeerEndpoint): PeerEndpoint =>
  e.pkiId === undefined ? { id: e.id, address: e.address, type: e.type } : { id: e.id, address: e.address, type: e.type, pkiId: e.pkiId }
const chainInfoWire = (b: BlockchainInfo): BlockchainInfo => ({
  height: b.height,
  currentBlockHash: b.currentBlockHash,
  previousBlockHash: b.previousBlockHash,
})
const txWire = (t: Transaction): Transaction => ({ txid: t.txid, payload: t.payload, timestamp: t.timestamp, origin: t.origin })
const blockWire = (b: Block): Block => ({
  number: b.number,
  previousBlockHash: b.previousBlockHash,
  stateHash: b.stateHash,
  timestamp: b.timestamp,
  proposer: b.proposer,
  transactions: b.transactions.map(txWire),
})
const deltaWire = (d: StateDelta): StateDelta => ({ blockNumber: d.blockNumber, writes: d.writes })
const rangeWire = (r: GetBlocksPayload): GetBlocksPayload => ({ requestId: r.requestId, start: r.start, end: r.end })
const keepaliveWire = (k: KeepalivePayload): KeepalivePayload => ({ nonce: k.nonce })

const TO_WIRE: { readonly [K in PayloadType]: (payload: PayloadMap[K]) => unknown } = {
  [MessageType.DISC_HELLO]: (p) => ({
    peerEndpoint: endpointWire(p.peerEndpoint),
    blockchainInfo: chainInfoWire(p.blockchainInfo),
    ...(p.auth === undefined ? {} : { auth: p.auth }),
  }),
  [MessageType.DISC_DISCONNECT]: (p) => ({ reason: p.reason }),
  [MessageType.DISC_GET_PEERS]: () => ({}),
  [MessageType.DISC_PEERS]: (p) => ({ peers: p.peers.map(endpointWire) }),
  [MessageType.CHAIN_TRANSACTION]: txWire,
  [MessageType.SYNC_GET_BLOCKS]: rangeWire,
  [MessageType.SYNC_BLOCKS]: (p) => ({ requestId: p.requestId, blocks: p.blocks.map(blockWire) }),
  [MessageType.SYNC_BLOCK_ADDED]: (p) => ({ block: blockWire(p.block) }),
  [MessageType.SYNC_STATE_GET_SNAPSHOT]: (p) => ({ requestId: p.requestId }),
  [MessageType.SYNC_STATE_SNAPSHOT]: (p) => ({ requestId: p.requestId, height: p.height, stateHash: p.stateHash, entries: p.entries }),
  [MessageType.SYNC_STATE_GET_DELTAS]: rangeWire,
  [MessageType.SYNC_STATE_DELTAS]: (p) => ({ requestId: p.requestId, deltas: p.deltas.map(deltaWire) }),
  [MessageType.RESPONSE]: (p) => {
    const out: ResponsePayload = { status: p.status, msg: p.msg }
    if (p.code !== undefined) out.code = p.code
    if (p.inReplyTo !== undefined) out.inReplyTo = p.inReplyTo
    return out
  },
  [MessageType.KEEPALIVE_PING]: keepaliveWire,
  [MessageType.KEEPALIVE_PONG]: keepaliveWire,
  [MessageType.SYNC_COMMIT_PROOF]: (p) => ({
    number: p.number,
    blockHash: p.blockHash,
    signatures: p.signatures.map((s) => ({ signer: s.signer, signature: s.signature })),
  }),
}

/**
 * The msgpack bytes of a payload. It does not validate (hot path): a payload outside its schema
 * is refused by the receiver, and the round-trip tests keep wspeer's own payloads inside.
 */
export function encodePayload<T extends PayloadType>(type: T, payload: PayloadMap[T]): Uint8Array {
  // The two payloads every transaction pays for: written by hand (payload-writer.ts), same bytes.
  if (type === MessageType.CHAIN_TRANSACTION) {
    const fast = writeTransactionPayload(payload as Transaction)
    if (fast !== undefined) return fast
  } else if (type === MessageType.SYNC_BLOCK_ADDED) {
    const fast = writeBlockAddedPayload((payload as PayloadMap[typeof MessageType.SYNC_BLOCK_ADDED]).block)
    if (fast !== undefined) return fast
  }
  const toWire = TO_WIRE[type] as ((payload: PayloadMap[T]) => unknown) | undefined
  if (toWire === undefined) throw new TypeError(`encodePayload: ${messageTypeName(type)} has no payload schema`)
  const packed = packr.pack(toWire(payload))
  // A plain view (Node's Packr returns Buffers), so encoded and decoded bytes compare equal anywhere.
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength)
}

/**
 * CHAIN_TRANSACTIONs decoded with the default limits, by their payload bytes, each kept for the
 * one decode after it: the consensus handler checks a transaction (so a bad one is refused to its
 * sender) and the consenter decodes the same bytes again, which then costs a lookup. Taken once,
 * so no third caller ever shares the object. Payload bytes of a received envelope are not written to.
 */
const decodedTransactions = new WeakMap<Uint8Array, Transaction>()

/** Decodes and checks a payload; DecodeError naming the type and field path on any failure. */
export function decodePayload<T extends PayloadType>(type: T, bytes: Uint8Array, limits?: Partial<CodecLimits>): PayloadMap[T] {
  if (type === MessageType.CHAIN_TRANSACTION && limits === undefined && bytes instanceof Uint8Array) {
    const known = decodedTransactions.get(bytes)
    if (known !== undefined) {
      decodedTransactions.delete(bytes)
      return known as PayloadMap[T]
    }
    const tx = decodeChecked(type, bytes, undefined) as Transaction
    decodedTransactions.set(bytes, tx)
    return { ...tx } as PayloadMap[T]
  }
  return decodeChecked(type, bytes, limits)
}

function decodeChecked<T extends PayloadType>(type: T, bytes: Uint8Array, limits: Partial<CodecLimits> | undefined): PayloadMap[T] {
  const name = messageTypeName(type)
  const schema = SCHEMA_BY_TYPE.get(type)
  if (schema === undefined) throw new DecodeError(`${name} has no payload schema`)
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(`${name} payload is not bytes`)
  const lim = resolveCodecLimits(limits)
  if (bytes.byteLength > lim.maxFrameBytes) {
    throw new DecodeError(`${name} payload of ${bytes.byteLength} bytes exceeds the limit of ${lim.maxFrameBytes} bytes`)
  }
  const value = unpackUntrusted(bytes, lim, `${name} payload`)
  const fast = FAST_CHECKS.get(type)?.(value)
  if (fast !== undefined) return fast as PayloadMap[T]
  const result = v.safeParse(schema, value, { abortEarly: true })
  if (!result.success) throw schemaError(name, result.issues[0])
  return result.output as PayloadMap[T]
}

/**
 * Says which field failed and how, using only the schema's own vocabulary: valibot's default
 * messages quote the received value, and unknown keys are attacker text, so neither is used.
 */
function schemaError(typeName: string, issue: v.BaseIssue<unknown>): DecodeError {
  const path = (issue.path ?? [])
    .map((item) => {
      if (typeof item.key === 'number') return String(item.key)
      if (typeof item.key === 'string' && FIELD_NAMES.has(item.key)) return item.key
      return '<unknown key>'
    })
    .join('.')
  let problem: string
  if (issue.type === 'strict_object' && issue.expected === 'never') problem = 'unknown key'
  else if (issue.type === 'strict_tuple' && issue.expected === 'never') problem = 'too many elements'
  else if (issue.kind === 'schema' && issue.received === 'undefined' && issue.expected?.startsWith('"')) problem = 'missing key'
  else if (issue.type === 'check') problem = issue.message
  else if (issue.kind === 'schema') problem = `expected ${issue.expected ?? issue.type}`
  else problem = issue.expected === null ? `failed ${issue.type}` : `failed ${issue.type} ${issue.expected}`
  return new DecodeError(`${typeName} payload: ${problem} at ${path === '' ? 'top level' : path}`)
}

// ---- envelopes ----

/** An envelope carrying `payload` encoded for `type`. */
export function makeEnvelope<T extends PayloadType>(type: T, payload: PayloadMap[T], timestamp?: number): Envelope {
  const bytes = encodePayload(type, payload)
  return timestamp === undefined ? { type, payload: bytes } : { type, timestamp, payload: bytes }
}

/**
 * A RESPONSE envelope. `msg` and `code` are cut to their caps (with "...") so a long local error
 * text can never make the answer itself undecodable.
 */
export function makeResponse(
  status: ResponseStatus,
  msg: string,
  extra?: { code?: string; inReplyTo?: number },
): Envelope {
  const payload: ResponsePayload = { status, msg: truncateUtf8(msg, MAX_MSG_BYTES) }
  if (extra?.code !== undefined) payload.code = truncateUtf8(extra.code, MAX_ERROR_CODE_BYTES)
  if (extra?.inReplyTo !== undefined) payload.inReplyTo = extra.inReplyTo
  return makeEnvelope(MessageType.RESPONSE, payload)
}

const ELLIPSIS = '...'

/** `text` if it fits in `max` UTF-8 bytes, else its longest prefix that fits with "..." appended. */
export function truncateUtf8(text: string, max: number): string {
  if (fitsUtf8(text, max)) return text
  const bytes = new TextEncoder().encode(text)
  let cut = Math.max(0, max - ELLIPSIS.length)
  // Back off continuation bytes (10xxxxxx) so the cut falls on a character boundary.
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut--
  return new TextDecoder().decode(bytes.subarray(0, cut)) + ELLIPSIS
}
