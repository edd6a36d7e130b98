/**
 * The fuzz harness's frames: a seeded PRNG enters, an endless sequence of frames leaves, each with
 * the name of the recipe that made it. The same seed gives the same frames in the same order, so a
 * run replays from its seed whatever the timing of the links was.
 *
 * Recipes start from valid frames of every message type (encodeFrame/makeEnvelope, noops CONSENSUS
 * messages, empty and unknown types) and then maybe: flip bits, truncate, splice two frames, corrupt
 * a length field, change the type number, swap the payload for nested garbage, declare a 4 GB
 * length, add `__proto__`/`constructor` keys, put extension types (RegExp, Error, Set, typed arrays,
 * records, structured clone, timestamps) anywhere, or just send random bytes.
 *
 *   const next = createFrameGenerator(seededRandom(42))
 *   const { frame, recipe } = next()
 */
import { encodeNoopsMessage } from '../src/core/consensus/noops/noops-messages.js'
import { encodeFrame } from '../src/core/wire/codec.js'
import type { Envelope } from '../src/core/wire/envelope.js'
import { MessageType } from '../src/core/wire/message-type.js'
import { makeEnvelope, makeResponse } from '../src/core/wire/payloads.js'
import type { Block, PeerEndpoint, Transaction } from '../src/core/wire/payload-types.js'
import { EndpointType, ResponseStatus } from '../src/core/wire/payload-types.js'
import { writeMsgpack, type HostileValue } from './msgpack-writer.js'

export interface GeneratedFrame {
  frame: Uint8Array
  recipe: string
}

type Rand = () => number

const ALL_TYPES = Object.values(MessageType) as number[]
/** msgpackr's extension types (hostile-inputs.md) plus the timestamp and a few nobody defines. */
const EXT_TYPES = [0x65, 0x78, 0x73, 0x74, 0x72, 0x69, 0x70, 0x42, 0x62, 0xff, 0x00, 0x01, 0x7f] as const
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'type', 'payload', 'peerEndpoint'] as const

export function createFrameGenerator(rand: Rand): () => GeneratedFrame {
  const int = (n: number): number => Math.floor(rand() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T
  const chance = (p: number): boolean => rand() < p
  const bytes = (n: number): Uint8Array => {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = int(256)
    return out
  }
  const text = (max: number): string => {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-_.:/ \u00e9\u4e2d\ud83d\ude00'
    let s = ''
    const n = int(max + 1)
    for (let i = 0; i < n; i++) s += alphabet[int(alphabet.length)]
    return s
  }
  // Fuzz peers never sort before vp0: a fuzz "validator" must not become the noops leader by its ID.
  const fuzzId = (): string => pick(['zz-a', 'zz-b', 'zz-' + text(8), 'vp0', 'zz-\u00e9'])
  const hash = (): Uint8Array => bytes(pick([0, 32, 32, 64]))
  const uint = (): number => pick([0, 1, 2, 7, 127, 128, 255, 65535, 2 ** 32, 2 ** 53 - 1, int(1000)])
  const endpoint = (): PeerEndpoint => ({
    id: fuzzId(),
    address: pick(['', 'ws://127.0.0.1:1/chat', 'ws://[::1]:1/chat', 'http://x', 'ws://' + text(20), text(30)]),
    type: pick([EndpointType.UNDEFINED, EndpointType.NON_VALIDATOR, EndpointType.NON_VALIDATOR]),
    ...(chance(0.2) ? { pkiId: bytes(int(40)) } : {}),
  })
  const tx = (): Transaction => ({ txid: 'fz-' + text(12), payload: text(40), timestamp: uint(), origin: fuzzId() })
  const block = (): Block => ({
    number: uint(),
    previousBlockHash: hash(),
    stateHash: hash(),
    timestamp: uint(),
    proposer: fuzzId(),
    transactions: Array.from({ length: int(4) }, tx),
  })
  const kv = (): [string, string] => [text(10), text(20)]

  const validEnvelope = (): Envelope => {
    const ts = chance(0.5) ? { t: uint() } : undefined
    const env = ((): Envelope => {
      switch (int(20)) {
        case 0:
          return makeEnvelope(MessageType.DISC_HELLO, {
            peerEndpoint: endpoint(),
            blockchainInfo: { height: pick([0, 1, 2]), currentBlockHash: hash(), previousBlockHash: hash() },
          })
        case 1:
          return makeEnvelope(MessageType.DISC_DISCONNECT, { reason: text(20) })
        case 2:
          return makeEnvelope(MessageType.DISC_GET_PEERS, {})
        case 3:
          return makeEnvelope(MessageType.DISC_PEERS, { peers: Array.from({ length: int(6) }, endpoint) })
        case 4:
          return makeEnvelope(MessageType.CHAIN_TRANSACTION, tx())
        case 5:
          return makeEnvelope(MessageType.SYNC_GET_BLOCKS, { requestId: uint(), start: uint(), end: uint() })
        case 6:
          return makeEnvelope(MessageType.SYNC_BLOCKS, { requestId: uint(), blocks: Array.from({ length: int(3) }, block) })
        case 7:
          return makeEnvelope(MessageType.SYNC_BLOCK_ADDED, { block: block() })
        case 8:
          return makeEnvelope(MessageType.SYNC_STATE_GET_SNAPSHOT, { requestId: uint() })
        case 9:
          return makeEnvelope(MessageType.SYNC_STATE_SNAPSHOT, { requestId: uint(), height: uint(), stateHash: hash(), entries: Array.from({ length: int(4) }, kv) })
        case 10:
          return makeEnvelope(MessageType.SYNC_STATE_GET_DELTAS, { requestId: uint(), start: uint(), end: uint() })
        case 11:
          return makeEnvelope(MessageType.SYNC_STATE_DELTAS, {
            requestId: uint(),
            deltas: Array.from({ length: int(3) }, () => ({ blockNumber: uint(), writes: Array.from({ length: int(3) }, kv) })),
          })
        case 12:
          return makeResponse(pick([ResponseStatus.SUCCESS, ResponseStatus.FAILURE]), text(30), chance(0.5) ? { code: 'ERR_' + text(5), inReplyTo: uint() } : undefined)
        case 13:
          return makeEnvelope(MessageType.KEEPALIVE_PING, { nonce: uint() })
        case 14:
          return makeEnvelope(MessageType.KEEPALIVE_PONG, { nonce: uint() })
        case 15:
          return { type: MessageType.CONSENSUS, payload: encodeNoopsMessage({ kind: 'tx', tx: tx(), hops: pick([0, 1, 2, 3, 99]) }) }
        case 16:
          return { type: MessageType.CONSENSUS, payload: encodeNoopsMessage({ kind: 'block', block: block() }) }
        case 17:
          return { type: MessageType.CONSENSUS, payload: bytes(int(64)) }
        case 18:
          return { type: pick([MessageType.UNDEFINED, MessageType.DISC_NEWMSG]), payload: bytes(int(8)) }
        default:
          return { type: pick([7, 8, 9, 10, 18, 19, 22, 29, 32, 255, 65536, 2 ** 32, 2 ** 53 - 1]), payload: bytes(int(16)) }
      }
    })()
    if (ts !== undefined) env.timestamp = ts.t
    if (chance(0.05)) env.signature = bytes(pick([0, 64, 1024]))
    return env
  }

  const validFrame = (): Uint8Array => encodeFrame(Array.from({ length: 1 + (chance(0.8) ? 0 : int(6)) }, validEnvelope))

  /** A random msgpack value, nested, with hostile keys and extension types mixed in. */
  const garbage = (depth: number): HostileValue => {
    const k = int(depth <= 0 ? 7 : 11)
    switch (k) {
      case 0:
        return null
      case 1:
        return chance(0.5)
      case 2:
        return pick([0, -1, 2 ** 53, 2 ** 64, -(2 ** 63), 0.5, Number.NaN, Infinity, 1e308, uint()])
      case 3:
        return text(12)
      case 4:
        return bytes(int(12))
      case 5:
        return { ext: pick(EXT_TYPES), data: bytes(pick([0, 1, 2, 4, 8, 12, 16, 20])) }
      case 6:
        return pick<HostileValue>([{ declared: 'str', length: 0xffffffff }, { declared: 'bin', length: 0xfffffff0 }, { declared: 'array', length: 0xffffffff }, { declared: 'map', length: 0xffffffff }, { declared: 'ext', length: 0xffffffff }])
      case 7:
      case 8:
        return Array.from({ length: int(5) }, () => garbage(depth - 1))
      default:
        return { map: Array.from({ length: int(5) }, (): [HostileValue, HostileValue] => [chance(0.7) ? pick(HOSTILE_KEYS) : garbage(0), garbage(depth - 1)]) }
    }
  }

  /** An envelope map written by hand: hostile keys, wrong value types, extension values. */
  const hostileEnvelopeMap = (): HostileValue => {
    const entries: [HostileValue, HostileValue][] = [
      ['type', chance(0.7) ? pick(ALL_TYPES) : garbage(1)],
      ['payload', chance(0.5) ? writeMsgpack(garbage(3)) : garbage(2)],
    ]
    const extras = int(3)
    for (let i = 0; i < extras; i++) entries.splice(int(entries.length + 1), 0, [pick(HOSTILE_KEYS), garbage(2)])
    if (chance(0.2)) entries.push(['timestamp', garbage(0)])
    return { map: entries }
  }

  const nestedBomb = (): Uint8Array => {
    // Deep chains and container floods within a frame well under 1 MiB.
    const depth = pick([17, 100, 1000, 10_000, 100_000])
    switch (int(3)) {
      case 0: {
        const out = new Uint8Array(depth + 1).fill(0x91)
        out[depth] = 0xc0
        return out
      }
      case 1: {
        const out = new Uint8Array(depth * 3).fill(0)
        for (let i = 0; i < depth; i++) out.set([0xdc, 0x00, 0x01], i * 3)
        return out
      }
      default: {
        // One array of many empty maps: the 40-64x expansion case.
        const n = pick([1000, 65_537, 200_000])
        const out = new Uint8Array(5 + n).fill(0x80)
        out.set([0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])
        return out
      }
    }
  }

  const mutate = (frame: Uint8Array): { frame: Uint8Array; how: string } => {
    const out = frame.slice()
    switch (int(7)) {
      case 0: {
        const flips = 1 + int(8)
        for (let i = 0; i < flips; i++) {
          const at = int(out.length)
          out[at] = (out[at] as number) ^ (1 << int(8))
        }
        return { frame: out, how: 'bitflip' }
      }
      case 1:
        return { frame: out.subarray(0, int(out.length)), how: 'truncate' }
      case 2: {
        const other = validFrame()
        // A prefix of one frame followed by a suffix of another.
        const head = out.subarray(0, int(out.length + 1))
        const tail = other.subarray(int(other.length + 1))
        const joined = new Uint8Array(head.length + tail.length)
        joined.set(head)
        joined.set(tail, head.length)
        return { frame: joined, how: 'splice' }
      }
      case 3: {
        // Length fields: find a header byte that declares a length and rewrite what it declares.
        const candidates: number[] = []
        for (let i = 0; i < out.length; i++) {
          const b = out[i] as number
          if ((b >= 0x80 && b <= 0xbf) || (b >= 0xc4 && b <= 0xc9) || (b >= 0xd9 && b <= 0xdf)) candidates.push(i)
        }
        if (candidates.length === 0) return { frame: out, how: 'length-none' }
        const at = pick(candidates)
        const b = out[at] as number
        if (b <= 0xbf) out[at] = (b & 0xf0 & (b >= 0xa0 ? 0xe0 : 0xf0)) | int(b >= 0xa0 ? 32 : 16)
        else for (let i = 1; i <= 4 && at + i < out.length; i++) out[at + i] = pick([0x00, 0xff, int(256)])
        return { frame: out, how: 'length-field' }
      }
      case 4:
        out.fill(0, int(out.length))
        return { frame: out, how: 'zero-tail' }
      case 5: {
        const at = int(out.length + 1)
        const insert = writeMsgpack(garbage(2))
        const joined = new Uint8Array(out.length + insert.length)
        joined.set(out.subarray(0, at))
        joined.set(insert, at)
        joined.set(out.subarray(at), at + insert.length)
        return { frame: joined, how: 'insert-garbage' }
      }
      default: {
        const at = int(out.length)
        out[at] = pick([0xc1, 0xd4, 0xc7, 0xdb, 0xdd, 0xdf, 0xcf, 0xd3, 0xcb, 0x65, 0x78])
        return { frame: out, how: 'header-byte' }
      }
    }
  }

  const recipes: [number, () => GeneratedFrame][] = [
    [6, () => ({ frame: validFrame(), recipe: 'valid' })],
    [30, () => {
      const m = mutate(validFrame())
      return { frame: m.frame, recipe: `mutated:${m.how}` }
    }],
    [10, () => {
      // Type-number change on otherwise valid envelopes: each payload meets every handler.
      const envs = Array.from({ length: 1 + int(3) }, validEnvelope).map((e) => ({ ...e, type: chance(0.8) ? pick(ALL_TYPES) : int(2 ** 31) }))
      return { frame: encodeFrame(envs), recipe: 'retyped' }
    }],
    [12, () => {
      const envs = Array.from({ length: 1 + int(3) }, () => ({ type: pick(ALL_TYPES), payload: writeMsgpack(garbage(4)) }))
      return { frame: encodeFrame(envs), recipe: 'garbage-payload' }
    }],
    [10, () => ({ frame: writeMsgpack(Array.from({ length: 1 + int(3) }, hostileEnvelopeMap)), recipe: 'hostile-envelope' })],
    [8, () => ({ frame: writeMsgpack(chance(0.5) ? garbage(4) : [garbage(3)]), recipe: 'garbage-frame' })],
    [6, () => {
      const huge = pick<HostileValue>([{ declared: 'str', length: 0xffffffff }, { declared: 'bin', length: 0xffffffff }, { declared: 'array', length: 0xffffffff }, { declared: 'map', length: 0xffffffff }, { declared: 'ext', length: 0xffffffff }])
      const where = int(3)
      const value: HostileValue =
        where === 0 ? huge : where === 1 ? [{ map: [['type', 21], ['payload', huge]] }] : [{ map: [['type', 21], ['payload', writeMsgpack(huge)]] }]
      return { frame: writeMsgpack(value), recipe: 'huge-length' }
    }],
    [6, () => {
      const ext = { ext: pick(EXT_TYPES), data: bytes(pick([0, 1, 4, 8, 16, 30])) }
      const value: HostileValue = chance(0.5) ? ext : [{ map: [['type', pick(ALL_TYPES)], ['payload', chance(0.5) ? ext : writeMsgpack({ map: [['peerEndpoint', ext]] })]] }]
      return { frame: writeMsgpack(value), recipe: 'ext-type' }
    }],
    [3, () => ({ frame: nestedBomb(), recipe: 'bomb' })],
    [5, () => ({ frame: bytes(int(200)), recipe: 'random-bytes' })],
  ]
  const total = recipes.reduce((sum, [w]) => sum + w, 0)

  return () => {
    let r = rand() * total
    for (const [weight, make] of recipes) {
      r -= weight
      if (r < 0) return make()
    }
    return (recipes[0] as [number, () => GeneratedFrame])[1]()
  }
}
