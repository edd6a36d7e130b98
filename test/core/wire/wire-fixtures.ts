/**
 * Shared material for the wire tests: a seeded PRNG, one realistic payload per message type, and
 * small builders for hand-made msgpack bytes (hostile frames are easier to read as bytes).
 */
import { EndpointType, ResponseStatus } from '../../../src/core/wire/payload-types.js'
import type { Block, Transaction } from '../../../src/core/wire/payload-types.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import type { PayloadMap, PayloadType } from '../../../src/core/wire/payloads.js'
import { seededRandom } from '../../support/seeded-random.js'

/** A seeded PRNG with helpers for ints and bytes; the same seed gives the same run. */
export function createPrng(seed: number): { next(): number; int(maxExclusive: number): number; bytes(n: number): Uint8Array } {
  const next = seededRandom(seed)
  const int = (maxExclusive: number): number => Math.floor(next() * maxExclusive)
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256))
  return { next, int, bytes }
}

/** Fixed by default, WSPEER_TEST_SEED to replay: see test/support/test-seed.ts. */
export { testSeed } from '../../support/test-seed.js'

export const hash32 = (fill: number): Uint8Array => new Uint8Array(32).fill(fill)

export const sampleTx = (i: number): Transaction => ({
  txid: `tx-${i}`,
  payload: `put k${i} v${i} ✓`,
  timestamp: 1_700_000_000_000 + i,
  origin: 'vp0',
})

export const sampleBlock = (number: number, txCount: number): Block => ({
  number,
  previousBlockHash: hash32(number),
  stateHash: hash32(0xee),
  timestamp: 1_700_000_000_000 + number,
  proposer: 'vp1',
  transactions: Array.from({ length: txCount }, (_, i) => sampleTx(i)),
})

/** One realistic payload per type with a schema, optional fields present where there are any. */
export const SAMPLE_PAYLOADS: { [K in PayloadType]: PayloadMap[K] } = {
  [MessageType.DISC_HELLO]: {
    peerEndpoint: { id: 'vp0', address: 'ws://127.0.0.1:7051/chat', type: EndpointType.VALIDATOR, pkiId: new Uint8Array([1, 2, 3]) },
    blockchainInfo: { height: 3, currentBlockHash: hash32(1), previousBlockHash: hash32(2) },
  },
  [MessageType.DISC_DISCONNECT]: { reason: 'shutting down' },
  [MessageType.DISC_GET_PEERS]: {},
  [MessageType.DISC_PEERS]: {
    peers: [
      { id: 'vp1', address: 'ws://127.0.0.1:7052/chat', type: EndpointType.VALIDATOR },
      { id: 'tab-3f2a', address: '', type: EndpointType.NON_VALIDATOR },
      { id: 'old', address: 'ws://10.0.0.9:7051/chat', type: EndpointType.UNDEFINED },
    ],
  },
  [MessageType.CHAIN_TRANSACTION]: sampleTx(7),
  [MessageType.SYNC_GET_BLOCKS]: { requestId: 9, start: 1, end: 40 },
  [MessageType.SYNC_BLOCKS]: { requestId: 9, blocks: [sampleBlock(1, 2), sampleBlock(2, 0)] },
  [MessageType.SYNC_BLOCK_ADDED]: { block: sampleBlock(5, 3) },
  [MessageType.SYNC_STATE_GET_SNAPSHOT]: { requestId: 4 },
  [MessageType.SYNC_STATE_SNAPSHOT]: {
    requestId: 4,
    height: 12,
    stateHash: hash32(0x5a),
    entries: [
      ['a', '1'],
      ['b', 'zwei'],
    ],
  },
  [MessageType.SYNC_STATE_GET_DELTAS]: { requestId: 5, start: 2, end: 3 },
  [MessageType.SYNC_STATE_DELTAS]: {
    requestId: 5,
    deltas: [
      { blockNumber: 2, writes: [['a', '1']] },
      { blockNumber: 3, writes: [] },
    ],
  },
  [MessageType.RESPONSE]: { status: ResponseStatus.FAILURE, msg: 'Message channel for vp1 full, rejecting', code: 'ERR_QUEUE_FULL', inReplyTo: 21 },
  [MessageType.KEEPALIVE_PING]: { nonce: 17 },
  [MessageType.KEEPALIVE_PONG]: { nonce: 2 ** 40 },
  [MessageType.SYNC_COMMIT_PROOF]: {
    number: 16,
    blockHash: hash32(0x3c),
    signatures: [
      { signer: 'vp0', signature: new Uint8Array(64).fill(7) },
      { signer: 'vp2', signature: new Uint8Array(64).fill(9) },
    ],
  },
}

export const PAYLOAD_TYPES = Object.keys(SAMPLE_PAYLOADS).map(Number) as PayloadType[]

// ---- msgpack byte builders ----

export const bytes = (...parts: (number | number[] | Uint8Array)[]): Uint8Array => {
  const out: number[] = []
  for (const part of parts) {
    if (typeof part === 'number') out.push(part)
    else out.push(...part)
  }
  return Uint8Array.from(out)
}

export const fixstr = (text: string): number[] => {
  const encoded = [...new TextEncoder().encode(text)]
  if (encoded.length > 31) throw new Error('fixstr too long')
  return [0xa0 | encoded.length, ...encoded]
}

export const bin8 = (data: number[]): number[] => [0xc4, data.length, ...data]

/** A frame of one envelope map given as raw [key bytes, value bytes] entries. */
export const frameOf = (...entries: [number[], number[]][]): Uint8Array =>
  bytes(0x91, 0x80 | entries.length, ...entries.flatMap(([k, v]) => [...k, ...v]))

/** The entries of a minimal valid envelope: type 1, payload bin [0x80]. */
export const TYPE_ENTRY: [number[], number[]] = [fixstr('type'), [0x01]]
export const PAYLOAD_ENTRY: [number[], number[]] = [fixstr('payload'), bin8([0x80])]

// ---- random msgpack values, for comparing wspeer's writer and reader with msgpackr ----

type Prng = ReturnType<typeof createPrng>

/** Where msgpack's integer and length forms change (and where a float 64 stops being exact). */
const BOUNDARIES = [0x80, 0x100, 0x10000, 2 ** 32, 2 ** 53]

/** A non-negative integer near a format boundary (2^32 and 2^53 among them) or of a random bit length up to 53. */
export function randomUint(prng: Prng): number {
  if (prng.next() < 0.5) {
    const near = BOUNDARIES[prng.int(BOUNDARIES.length)] as number
    return Math.max(0, near - 3 + prng.int(6))
  }
  const bits = prng.int(54)
  const high = bits > 32 ? prng.int(2 ** (bits - 32)) : 0
  return high * 2 ** 32 + prng.int(2 ** Math.min(bits, 32))
}

/** A length or element count near a header boundary (fixstr/fixarray, 8, 16 and 32 bits) or small. */
export function randomLength(prng: Prng): number {
  if (prng.next() < 0.3) return prng.int(40)
  const near = [16, 32, 0x100, 0x10000][prng.int(4)] as number
  return near - 2 + prng.int(4)
}

const NON_ASCII = ['é', '€', '😀', 'ß', '\u0800']

/** A string of `length` UTF-16 units, ASCII or with some 2-, 3- and 4-byte characters (no lone surrogates). */
export function randomText(prng: Prng, length: number): string {
  const ascii = prng.next() < 0.5
  let text = ''
  while (text.length < length) {
    const c = !ascii && prng.next() < 0.2 ? (NON_ASCII[prng.int(NON_ASCII.length)] as string) : String.fromCharCode(0x20 + prng.int(95))
    text += text.length + c.length <= length ? c : 'x'
  }
  return text
}
