/**
 * noops' own messages, carried as the opaque payload of CONSENSUS envelopes (PROTOCOL.md 11.3,
 * with test vectors: change both together):
 *   { kind: 'tx', tx, hops }   a transaction forwarded towards the leader
 *   { kind: 'block', block }   a block the leader committed, for every validator to apply
 *
 * Out: msgpack maps (msgpackr, no records, no structured clone). In: bytes from any peer, decoded
 * by the wire layer's hardened decoder (structural scan with depth and container caps, then
 * msgpackr without eval) and checked against a strict schema with the wire's own field limits;
 * anything else throws DecodeError, whose message never quotes received content. Hashes and block
 * numbers are checked again by the ledger when a block is applied.
 *
 *   const bytes = encodeNoopsMessage({ kind: 'block', block })
 *   const msg = decodeNoopsMessage(bytes) // throws DecodeError
 */
import { Packr } from 'msgpackr'
import * as v from 'valibot'
import { DecodeError } from '../../errors.js'
import { unpackUntrusted } from '../../wire/codec.js'
import { DEFAULT_CODEC_LIMITS, MAX_ID_BYTES, MAX_TX_PAYLOAD_BYTES, MAX_TXS_PER_BLOCK } from '../../wire/codec-limits.js'
import { utf8ByteLength } from '../../wire/payloads.js'
import type { Block, Transaction } from '../../wire/payload-types.js'
import { NOOPS_MAX_FORWARD_HOPS } from './constants.js'

export interface NoopsTxMessage {
  kind: 'tx'
  tx: Transaction
  /** Times this transaction has been forwarded, this send included (1..NOOPS_MAX_FORWARD_HOPS). */
  hops: number
}

export interface NoopsBlockMessage {
  kind: 'block'
  block: Block
}

export type NoopsMessage = NoopsTxMessage | NoopsBlockMessage

const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, variableMapSize: true })

const FIELD_NAMES = new Set([
  'kind',
  'tx',
  'hops',
  'block',
  'txid',
  'payload',
  'timestamp',
  'origin',
  'number',
  'previousBlockHash',
  'stateHash',
  'proposer',
  'transactions',
])

const utf8 = (max: number) =>
  v.pipe(
    v.string(),
    v.check((text: string) => text.length <= max && utf8ByteLength(text) <= max, `at most ${max} UTF-8 bytes`),
  )
const uint = v.pipe(v.number(), v.safeInteger(), v.minValue(0))
const id = utf8(MAX_ID_BYTES)
const hash = v.pipe(v.instance(Uint8Array), v.length(32))

const TransactionSchema = v.strictObject({
  txid: v.pipe(id, v.minLength(1)),
  payload: utf8(MAX_TX_PAYLOAD_BYTES),
  timestamp: uint,
  origin: id,
})

const BlockSchema = v.strictObject({
  number: uint,
  previousBlockHash: hash,
  stateHash: hash,
  timestamp: uint,
  proposer: id,
  transactions: v.pipe(v.array(TransactionSchema), v.maxLength(MAX_TXS_PER_BLOCK)),
})

const NoopsMessageSchema = v.variant('kind', [
  v.strictObject({
    kind: v.literal('tx'),
    tx: TransactionSchema,
    hops: v.pipe(uint, v.minValue(1), v.maxValue(NOOPS_MAX_FORWARD_HOPS)),
  }),
  v.strictObject({ kind: v.literal('block'), block: BlockSchema }),
])

const txWire = (t: Transaction): Transaction => ({ txid: t.txid, payload: t.payload, timestamp: t.timestamp, origin: t.origin })

export function encodeNoopsMessage(msg: NoopsMessage): Uint8Array {
  // Projected onto exactly the schema's fields: a ledger's objects may carry more.
  const wire =
    msg.kind === 'tx'
      ? { kind: 'tx', tx: txWire(msg.tx), hops: msg.hops }
      : {
          kind: 'block',
          block: {
            number: msg.block.number,
            previousBlockHash: msg.block.previousBlockHash,
            stateHash: msg.block.stateHash,
            timestamp: msg.block.timestamp,
            proposer: msg.block.proposer,
            transactions: msg.block.transactions.map(txWire),
          },
        }
  const packed = packr.pack(wire)
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength)
}

/** Decodes and validates one noops message. Throws DecodeError on anything else. */
export function decodeNoopsMessage(bytes: Uint8Array): NoopsMessage {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('noops message is not bytes')
  if (bytes.byteLength > DEFAULT_CODEC_LIMITS.maxFrameBytes) {
    throw new DecodeError(`noops message of ${bytes.byteLength} bytes exceeds ${DEFAULT_CODEC_LIMITS.maxFrameBytes} bytes`)
  }
  const raw = unpackUntrusted(bytes, DEFAULT_CODEC_LIMITS, 'noops message')
  const result = v.safeParse(NoopsMessageSchema, raw, { abortEarly: true })
  if (!result.success) {
    const issue = result.issues[0]
    // Only schema vocabulary is quoted: unknown keys and received values are the sender's text.
    const path = (issue.path ?? [])
      .map((item) => (typeof item.key === 'number' || FIELD_NAMES.has(String(item.key)) ? String(item.key) : '?'))
      .join('.')
    throw new DecodeError(`noops message refused at ${path === '' ? 'top level' : path}: ${issue.kind} ${issue.type} check failed`)
  }
  return result.output as NoopsMessage
}
