/**
 * Reads and checks PBFT's messages from any peer's bytes (message-types.ts says what they hold), in
 * one pass with wspeer's strict msgpack reader (wire/msgpack-reader.ts): exact key sets, types,
 * size caps checked before anything is allocated, 32-byte digests (0 for a null request where
 * allowed), transactions that come out well-formed. Anything else throws DecodeError, whose message
 * names the field and never quotes received content. Key order on the wire is free.
 *
 *   const msg = decodePbftMessage(bytes) // throws DecodeError
 */
import { DecodeError } from '../../errors.js'
import { DEFAULT_CODEC_LIMITS, MAX_ID_BYTES, MAX_TX_PAYLOAD_BYTES, MAX_TXS_PER_BLOCK } from '../../wire/codec-limits.js'
import type { Transaction } from '../../wire/payload-types.js'
import type { PbftBatch } from './batch.js'
import { PBFT_MAX_REPLICAS } from './config.js'
import { MsgpackReader, ReadError } from '../../wire/msgpack-reader.js'
import { PBFT_MAX_BUNDLE_MESSAGES, PBFT_MAX_SET_ENTRIES, type SeqDigest, type SeqDigestView, type PbftMessage } from './message-types.js'

// One reader for every message: decoding is synchronous and never re-entered.
const reader = new MsgpackReader()

const code = (letter: string): number => letter.charCodeAt(0)
const K = { t: code('t'), x: code('x'), v: code('v'), n: code('n'), r: code('r'), b: code('b'), d: code('d'), h: code('h') }
const KS = { C: code('C'), P: code('P'), Q: code('Q'), V: code('V'), k: code('k'), X: code('X'), m: code('m') }
const KT = { i: code('i'), y: code('y'), s: code('s'), o: code('o'), p: code('p') }

/** Each top-level key's bit; 0 for letters that are no key. */
const KEY_BIT = new Int32Array(128)
const TOP_KEYS = 'txvnrbdhCPQVkXm'
for (let i = 0; i < TOP_KEYS.length; i++) KEY_BIT[code(TOP_KEYS[i] as string)] = 1 << i
const keysOf = (letters: string): number => [...letters].reduce((mask, l) => mask | (KEY_BIT[code(l)] as number), 0)

/** The exact key set of each message type. */
const TYPE_KEYS = new Map<string, number>([
  ['req', keysOf('tx')],
  ['pp', keysOf('tvnrb')],
  ['p', keysOf('tvnrd')],
  ['c', keysOf('tvnrd')],
  ['ck', keysOf('tnrd')],
  ['vc', keysOf('tvrhCPQ')],
  ['nv', keysOf('tvrVkX')],
  ['fb', keysOf('trd')],
  ['rb', keysOf('trb')],
  ['vs', keysOf('tvr')],
  ['m', keysOf('tm')],
])

/**
 * Where the decoder is, for error messages: map keys as negative char codes, array indices as
 * themselves. Only schema vocabulary and indices are ever quoted, never received content.
 */
const path = new Int32Array(6)
let depth = 0

function describePath(): string {
  const parts: string[] = []
  for (let i = 0; i < depth; i++) {
    const part = path[i] as number
    parts.push(part < 0 ? String.fromCharCode(-part) : String(part))
  }
  return parts.length === 0 ? 'top level' : parts.join('.')
}

function firstKey(mask: number): string {
  for (let i = 0; i < TOP_KEYS.length; i++) if (mask & (1 << i)) return TOP_KEYS[i] as string
  return '?'
}

function readTx(r: MsgpackReader): Transaction {
  const entries = r.map()
  let txid = ''
  let payload = ''
  let origin = ''
  let timestamp = 0
  let seen = 0
  const at = depth++
  for (let e = 0; e < entries; e++) {
    const key = r.key()
    path[at] = -key
    let bit: number
    if (key === KT.i) {
      bit = 1
      txid = r.str(MAX_ID_BYTES, 1)
    } else if (key === KT.y) {
      bit = 2
      payload = r.str(MAX_TX_PAYLOAD_BYTES)
    } else if (key === KT.s) {
      bit = 4
      timestamp = r.uint()
    } else if (key === KT.o) {
      bit = 8
      origin = r.str(MAX_ID_BYTES)
    } else {
      depth = at
      throw new ReadError('unknown key')
    }
    if (seen & bit) throw new ReadError('duplicate key')
    seen |= bit
  }
  if (seen !== 15) {
    depth = at
    throw new ReadError(`missing key ${'iyso'[[1, 2, 4, 8].findIndex((b) => (seen & b) === 0)]}`)
  }
  depth = at
  // Strings decoded from UTF-8 are well-formed and the timestamp is a safe integer: the ledger's
  // transactionProblem holds for every transaction this returns.
  return { txid, payload, timestamp, origin }
}

/** An array of at most `max` items, each read by `item`, with the index in the error path. */
function readList<T>(r: MsgpackReader, max: number, item: (r: MsgpackReader) => T): T[] {
  const count = r.array(max)
  const out = new Array<T>(count)
  const at = depth++
  for (let i = 0; i < count; i++) {
    path[at] = i
    out[i] = item(r)
  }
  depth = at
  return out
}

function readTxs(r: MsgpackReader): Transaction[] {
  return readList(r, MAX_TXS_PER_BLOCK, readTx)
}

function readBatch(r: MsgpackReader): PbftBatch {
  const entries = r.map()
  let timestamp = 0
  let proposer = ''
  let txs: Transaction[] | undefined
  let seen = 0
  const at = depth++
  for (let e = 0; e < entries; e++) {
    const key = r.key()
    path[at] = -key
    let bit: number
    if (key === KT.s) {
      bit = 1
      timestamp = r.uint()
    } else if (key === KT.p) {
      bit = 2
      proposer = r.str(MAX_ID_BYTES)
    } else if (key === K.x) {
      bit = 4
      txs = readTxs(r)
    } else {
      depth = at
      throw new ReadError('unknown key')
    }
    if (seen & bit) throw new ReadError('duplicate key')
    seen |= bit
  }
  depth = at
  if (seen !== 7 || txs === undefined) throw new ReadError(`missing key ${'spx'[[1, 2, 4].findIndex((b) => (seen & b) === 0)]}`)
  return { timestamp, proposer, txs }
}

function readReplica(r: MsgpackReader): number {
  const value = r.uint()
  if (value >= PBFT_MAX_REPLICAS) throw new ReadError(`not a replica index below ${PBFT_MAX_REPLICAS}`)
  return value
}

function readPair(r: MsgpackReader): SeqDigest {
  if (r.array(2) !== 2) throw new ReadError('not a [n, d] pair')
  const n = r.uint()
  return [n, r.digest(true)]
}

function readTriple(r: MsgpackReader): SeqDigestView {
  if (r.array(3) !== 3) throw new ReadError('not an [n, d, v] triple')
  const n = r.uint()
  const d = r.digest(true)
  return [n, d, r.uint()]
}

function readPairs(r: MsgpackReader): SeqDigest[] {
  return readList(r, PBFT_MAX_SET_ENTRIES, readPair)
}

function readTriples(r: MsgpackReader): SeqDigestView[] {
  return readList(r, PBFT_MAX_SET_ENTRIES, readTriple)
}

function readReplicas(r: MsgpackReader): number[] {
  return readList(r, PBFT_MAX_REPLICAS, readReplica)
}

const UNREAD = Object.freeze([]) as unknown as never[]

function read(r: MsgpackReader): PbftMessage {
  const entries = r.map()
  let seen = 0
  let t = ''
  let v = 0
  let n = 0
  let rep = 0
  let h = 0
  let d = ''
  let b: PbftBatch | null = null
  // Placeholders, never returned: each type's keys must all be present (checked below), so every
  // field a message carries was read. Shared, because a fresh empty array per field per message
  // was garbage on every message.
  let x: Transaction[] = UNREAD
  let C: SeqDigest[] = UNREAD
  let P: SeqDigestView[] = UNREAD
  let Q: SeqDigestView[] = UNREAD
  let V: number[] = UNREAD
  let k = UNREAD as unknown as SeqDigest
  let X: SeqDigest[] = UNREAD
  let parts: Uint8Array[] = UNREAD
  depth = 1
  for (let e = 0; e < entries; e++) {
    depth = 0
    const key = r.key()
    const bit = KEY_BIT[key] as number
    if (bit === 0) throw new ReadError('unknown key')
    path[0] = -key
    depth = 1
    if (seen & bit) throw new ReadError('duplicate key')
    seen |= bit
    switch (key) {
      case K.t:
        t = r.str(3)
        break
      case K.v:
        v = r.uint()
        break
      case K.n:
        n = r.uint()
        break
      case K.r:
        rep = readReplica(r)
        break
      case K.h:
        h = r.uint()
        break
      case K.d:
        d = r.digest(true)
        break
      case K.b:
        b = r.nil() ? null : readBatch(r)
        break
      case K.x:
        x = readTxs(r)
        break
      case KS.C:
        C = readPairs(r)
        break
      case KS.P:
        P = readTriples(r)
        break
      case KS.Q:
        Q = readTriples(r)
        break
      case KS.V:
        V = readReplicas(r)
        break
      case KS.k:
        k = readPair(r)
        break
      case KS.X:
        X = readPairs(r)
        break
      case KS.m: {
        const count = r.array(PBFT_MAX_BUNDLE_MESSAGES)
        parts = new Array<Uint8Array>(count)
        for (let i = 0; i < count; i++) {
          path[1] = i
          depth = 2
          parts[i] = r.bin(DEFAULT_CODEC_LIMITS.maxFrameBytes)
        }
        break
      }
    }
  }
  depth = 0
  const want = TYPE_KEYS.get(t)
  if (want === undefined) {
    depth = 1
    path[0] = -K.t
    throw new ReadError((seen & 1) === 0 ? 'missing' : 'not a message type')
  }
  if (seen !== want) {
    const extra = seen & ~want
    throw new ReadError(extra !== 0 ? `unexpected key ${firstKey(extra)}` : `missing key ${firstKey(want & ~seen)}`)
  }
  if ((t === 'ck' || t === 'fb') && d === '') {
    path[0] = -K.d
    depth = 1
    throw new ReadError('not a digest of 32 bytes')
  }
  switch (t) {
    case 'req':
      return { t: 'req', x }
    case 'pp':
      return { t: 'pp', v, n, r: rep, b }
    case 'p':
    case 'c':
      return { t, v, n, r: rep, d }
    case 'ck':
      return { t: 'ck', n, r: rep, d }
    case 'vc':
      return { t: 'vc', v, r: rep, h, C, P, Q }
    case 'nv':
      return { t: 'nv', v, r: rep, V, k, X }
    case 'fb':
      return { t: 'fb', r: rep, d }
    case 'vs':
      return { t: 'vs', v, r: rep }
    case 'm':
      // Opened by decodePbftMessage once this reader is done with the outer bytes.
      return { t: 'm', m: parts as unknown as PbftMessage[] }
    default:
      if (b === null) {
        path[0] = -K.b
        depth = 1
        throw new ReadError('not a batch')
      }
      return { t: 'rb', r: rep, b }
  }
}

/** Decodes and validates one PBFT message. Throws DecodeError on anything else. */
export function decodePbftMessage(bytes: Uint8Array): PbftMessage {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('pbft message is not bytes')
  if (bytes.byteLength > DEFAULT_CODEC_LIMITS.maxFrameBytes) {
    throw new DecodeError(`pbft message of ${bytes.byteLength} bytes exceeds ${DEFAULT_CODEC_LIMITS.maxFrameBytes} bytes`)
  }
  const r = reader
  r.reset(bytes)
  depth = 0
  let msg: PbftMessage
  try {
    msg = read(r)
    if (r.left !== 0) {
      depth = 0
      throw new ReadError('trailing bytes after the message')
    }
    if (msg.t === 'm') msg = { t: 'm', m: openBundle(msg.m as unknown as Uint8Array[]) }
  } catch (err) {
    if (err instanceof ReadError) throw new DecodeError(`pbft message refused at ${describePath()}: ${err.message}`)
    // A DataView read past the end (a bug here, or a length check missed) is still the sender's fault.
    if (err instanceof RangeError) throw new DecodeError(`pbft message refused at ${describePath()}: truncated`)
    throw err
  } finally {
    // Not kept alive by the shared reader.
    r.reset(EMPTY)
  }
  return msg
}

const EMPTY = new Uint8Array(0)

function openBundle(parts: readonly Uint8Array[]): PbftMessage[] {
  const out = new Array<PbftMessage>(parts.length)
  for (let i = 0; i < parts.length; i++) {
    let inner: PbftMessage
    try {
      inner = decodePbftMessage(parts[i] as Uint8Array)
    } catch (err) {
      throw new DecodeError(`pbft bundle refused at m.${i}: ${(err as Error).message}`)
    }
    if (inner.t === 'm') throw new DecodeError(`pbft bundle refused at m.${i}: a bundle inside a bundle`)
    out[i] = inner
  }
  return out
}
