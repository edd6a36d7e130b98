import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { DecodeError } from '../../../src/core/errors.js'
import {
  DEFAULT_MAX_DEPTH,
  MAX_ADDRESS_BYTES,
  MAX_BLOCKS_PER_MESSAGE,
  MAX_ERROR_CODE_BYTES,
  MAX_HASH_BYTES,
  MAX_ID_BYTES,
  MAX_MSG_BYTES,
  MAX_PEERS_PER_MESSAGE,
  MAX_TX_PAYLOAD_BYTES,
} from '../../../src/core/wire/codec-limits.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { EndpointType, ResponseStatus } from '../../../src/core/wire/payload-types.js'
import type { PeerEndpoint } from '../../../src/core/wire/payload-types.js'
import {
  decodePayload,
  encodePayload,
  hasPayloadSchema,
  makeEnvelope,
  makeResponse,
  truncateUtf8,
  utf8ByteLength,
} from '../../../src/core/wire/payloads.js'
import type { PayloadType } from '../../../src/core/wire/payloads.js'
import { PAYLOAD_TYPES, SAMPLE_PAYLOADS, bytes, createPrng, fixstr, sampleBlock, sampleTx, testSeed } from './wire-fixtures.js'

/** Packs arbitrary objects the way a foreign (or hostile) sender would. */
const foreign = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, variableMapSize: true })
const raw = (value: unknown): Uint8Array => foreign.pack(value)

const thrown = (fn: () => unknown): Error => {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

/** Decoding `value` as `type` fails with a DecodeError whose message matches. */
const refuses = (type: PayloadType, value: unknown, message: RegExp): void => {
  const error = thrown(() => decodePayload(type, raw(value)))
  expect(error).toBeInstanceOf(DecodeError)
  expect(error.message).toMatch(message)
}

const endpoint = (over: Partial<Record<keyof PeerEndpoint, unknown>> = {}) => ({
  id: 'vp1',
  address: 'ws://127.0.0.1:7052/chat',
  type: EndpointType.VALIDATOR,
  ...over,
})
const hello = (over: Partial<Record<keyof PeerEndpoint, unknown>> = {}) => ({
  peerEndpoint: endpoint(over),
  blockchainInfo: { height: 1, currentBlockHash: new Uint8Array(32), previousBlockHash: new Uint8Array(0) },
})

describe('payload schemas', () => {
  it('have a schema for every type that carries an object, and none for the others', () => {
    expect([...PAYLOAD_TYPES].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 6, 11, 12, 13, 14, 15, 16, 17, 20, 30, 31, 32])
    for (const type of PAYLOAD_TYPES) expect(hasPayloadSchema(type)).toBe(true)
    for (const type of [0, 5, 7, 10, 18, 21, 33, 999, -1, 1.5]) expect(hasPayloadSchema(type)).toBe(false)
    for (const type of [0, 5, 21, 999]) {
      expect(thrown(() => decodePayload(type as PayloadType, raw({})))).toBeInstanceOf(DecodeError)
      expect(() => encodePayload(type as PayloadType, {} as never)).toThrow(TypeError)
    }
  })

  it('round-trip every type', () => {
    for (const type of PAYLOAD_TYPES) {
      expect(decodePayload(type, encodePayload(type, SAMPLE_PAYLOADS[type])), `type ${type}`).toEqual(SAMPLE_PAYLOADS[type])
    }
  })

  it('round-trip optional fields when absent, and never put nil or undefined on the wire', () => {
    const bare = { peerEndpoint: { id: 'x', address: '', type: EndpointType.NON_VALIDATOR, pkiId: undefined }, blockchainInfo: SAMPLE_PAYLOADS[1].blockchainInfo }
    const encoded = encodePayload(MessageType.DISC_HELLO, bare)
    expect(encoded.includes(0xc0)).toBe(false)
    expect(encoded.includes(0xd4)).toBe(false)
    const decoded = decodePayload(MessageType.DISC_HELLO, encoded)
    expect('pkiId' in decoded.peerEndpoint).toBe(false)

    const response = decodePayload(MessageType.RESPONSE, encodePayload(MessageType.RESPONSE, { status: 200, msg: 'ok', code: undefined }))
    expect(response).toEqual({ status: 200, msg: 'ok' })
    expect(Object.keys(response)).toEqual(['status', 'msg'])
  })

  it('encode exactly the schema fields of objects that carry more', () => {
    const block = { ...sampleBlock(3, 1), hash: new Uint8Array(32), cached: () => 1 }
    const tx = { ...sampleTx(1), extra: 'x' }
    expect(decodePayload(MessageType.SYNC_BLOCK_ADDED, encodePayload(MessageType.SYNC_BLOCK_ADDED, { block }))).toEqual({ block: sampleBlock(3, 1) })
    expect(decodePayload(MessageType.CHAIN_TRANSACTION, encodePayload(MessageType.CHAIN_TRANSACTION, tx))).toEqual(sampleTx(1))
  })

  it('accept any Uint8Array, Node Buffers included, for bytes and bin fields', () => {
    const payload = hello()
    payload.blockchainInfo.currentBlockHash = Buffer.alloc(32, 7)
    const encoded = encodePayload(MessageType.DISC_HELLO, payload as never)
    const decoded = decodePayload(MessageType.DISC_HELLO, Buffer.from(encoded))
    expect(decoded.blockchainInfo.currentBlockHash).toEqual(new Uint8Array(32).fill(7))
    const viaBufferBins = decodePayload(MessageType.DISC_HELLO, foreign.pack(payload))
    expect([...viaBufferBins.blockchainInfo.currentBlockHash]).toEqual(new Array(32).fill(7))
  })

  it('keep earlier encodings intact while encoding more (msgpackr reuses its buffer)', () => {
    const encoded = Array.from({ length: 2000 }, (_, i) => encodePayload(MessageType.CHAIN_TRANSACTION, sampleTx(i)))
    encoded.forEach((bytes, i) => expect(decodePayload(MessageType.CHAIN_TRANSACTION, bytes).txid).toBe(`tx-${i}`))
  })

  it('makeEnvelope sets type, payload and timestamp only when given', () => {
    const withTime = makeEnvelope(MessageType.KEEPALIVE_PING, { nonce: 1 }, 42)
    expect(withTime).toEqual({ type: 30, timestamp: 42, payload: encodePayload(MessageType.KEEPALIVE_PING, { nonce: 1 }) })
    expect('timestamp' in makeEnvelope(MessageType.KEEPALIVE_PING, { nonce: 1 })).toBe(false)
  })
})

describe('decodePayload refuses', () => {
  it('unknown, missing and wrong-typed fields, naming the type and the path', () => {
    refuses(MessageType.KEEPALIVE_PING, { nonce: 1, extra: 2 }, /^KEEPALIVE_PING payload: unknown key at <unknown key>$/)
    refuses(MessageType.KEEPALIVE_PING, {}, /^KEEPALIVE_PING payload: missing key at nonce$/)
    refuses(MessageType.KEEPALIVE_PONG, { nonce: '1' }, /KEEPALIVE_PONG payload: .* at nonce/)
    refuses(MessageType.KEEPALIVE_PING, { nonce: -1 }, /at nonce/)
    refuses(MessageType.KEEPALIVE_PING, { nonce: 1.5 }, /at nonce/)
    refuses(MessageType.KEEPALIVE_PING, [1], /KEEPALIVE_PING payload/)
    refuses(MessageType.KEEPALIVE_PING, 'nonce', /at top level/)
    refuses(MessageType.DISC_GET_PEERS, { any: 1 }, /DISC_GET_PEERS payload: unknown key/)
    refuses(MessageType.DISC_HELLO, hello({ type: 3 }), /DISC_HELLO payload: .* at peerEndpoint\.type/)
    refuses(MessageType.DISC_HELLO, hello({ id: 7 }), /at peerEndpoint\.id/)
    refuses(MessageType.DISC_HELLO, hello({ pkiId: 'abc' }), /at peerEndpoint\.pkiId/)
    refuses(MessageType.DISC_HELLO, hello({ pkiId: null }), /at peerEndpoint\.pkiId/)
    refuses(MessageType.DISC_PEERS, { peers: [endpoint(), endpoint({ address: 5 })] }, /DISC_PEERS payload: .* at peers\.1\.address/)
    refuses(MessageType.RESPONSE, { status: 201, msg: '' }, /RESPONSE payload: .* at status/)
    refuses(MessageType.RESPONSE, { status: 500, msg: '', inReplyTo: 'x' }, /at inReplyTo/)
    refuses(MessageType.SYNC_BLOCKS, { requestId: 1, blocks: [{ ...sampleBlock(1, 1), transactions: [{ ...sampleTx(1), timestamp: -3 }] }] }, /at blocks\.0\.transactions\.0\.timestamp/)
    refuses(MessageType.SYNC_STATE_SNAPSHOT, { requestId: 1, height: 1, stateHash: new Uint8Array(32), entries: [['a', 'b', 'c']] }, /at entries\.0/)
    refuses(MessageType.SYNC_STATE_SNAPSHOT, { requestId: 1, height: 1, stateHash: new Uint8Array(32), entries: [['a', 1]] }, /at entries\.0\.1/)
    refuses(MessageType.SYNC_STATE_DELTAS, { requestId: 1, deltas: [{ blockNumber: 1 }] }, /missing key at deltas\.0\.writes/)
    refuses(MessageType.SYNC_GET_BLOCKS, { requestId: 1, start: 2 ** 53, end: 1 }, /at start/)
  })

  it('strings, bins and lists over their caps, and takes exactly the cap', () => {
    const euro = (bytes: number) => '€'.repeat(Math.floor(bytes / 3)) + 'x'.repeat(bytes % 3) // € is 3 UTF-8 bytes
    const peers = (n: number) => ({ peers: Array.from({ length: n }, (_, i) => endpoint({ id: `p${i}` })) })
    const cases: [PayloadType, (n: number) => unknown, number, RegExp][] = [
      [MessageType.DISC_HELLO, (n) => hello({ id: euro(n) }), MAX_ID_BYTES, /longer than 128 UTF-8 bytes at peerEndpoint\.id/],
      [MessageType.DISC_HELLO, (n) => hello({ address: 'a'.repeat(n) }), MAX_ADDRESS_BYTES, /at peerEndpoint\.address/],
      [MessageType.DISC_DISCONNECT, (n) => ({ reason: euro(n) }), MAX_MSG_BYTES, /at reason/],
      [MessageType.RESPONSE, (n) => ({ status: 500, msg: 'm', code: 'E'.repeat(n) }), MAX_ERROR_CODE_BYTES, /at code/],
      [MessageType.CHAIN_TRANSACTION, (n) => ({ ...sampleTx(1), payload: 'p'.repeat(n) }), MAX_TX_PAYLOAD_BYTES, /at payload/],
      [MessageType.CHAIN_TRANSACTION, (n) => ({ ...sampleTx(1), txid: euro(n) }), MAX_ID_BYTES, /at txid/],
      [MessageType.SYNC_BLOCK_ADDED, (n) => ({ block: { ...sampleBlock(1, 0), stateHash: new Uint8Array(n) } }), MAX_HASH_BYTES, /at block\.stateHash/],
      [MessageType.DISC_PEERS, peers, MAX_PEERS_PER_MESSAGE, /at peers/],
      [MessageType.SYNC_BLOCKS, (n) => ({ requestId: 1, blocks: new Array(n).fill(sampleBlock(1, 0)) }), MAX_BLOCKS_PER_MESSAGE, /at blocks/],
    ]
    for (const [type, make, cap, message] of cases) {
      const limits = { maxFrameBytes: 4 * 1024 * 1024 }
      expect(() => decodePayload(type, raw(make(cap)), limits), `cap ${cap} ${message.source}`).not.toThrow()
      const error = thrown(() => decodePayload(type, raw(make(cap + 1)), limits))
      expect(error, message.source).toBeInstanceOf(DecodeError)
      expect(error.message).toMatch(message)
    }
  })

  it('__proto__ and constructor keys at any level, leaving Object.prototype untouched', () => {
    const proto = bytes(0x81, fixstr('__proto__'), 0x81, fixstr('polluted'), 0xc3)
    const cases = [
      bytes(0x82, fixstr('nonce'), 0x01, fixstr('__proto__'), 0x81, fixstr('polluted'), 0xc3),
      bytes(0x82, fixstr('nonce'), 0x01, fixstr('constructor'), 0x81, fixstr('prototype'), 0x81, fixstr('polluted'), 0xc3),
      bytes(0x82, fixstr('__proto__'), 0x81, fixstr('polluted'), 0xc3, fixstr('nonce'), 0x01),
    ]
    for (const input of cases) expect(thrown(() => decodePayload(MessageType.KEEPALIVE_PING, input))).toBeInstanceOf(DecodeError)
    const nested = bytes(0x81, fixstr('peers'), 0x91, proto)
    expect(thrown(() => decodePayload(MessageType.DISC_PEERS, nested)).message).toMatch(/unknown key at peers\.0\.<unknown key>|missing key at peers\.0/)
    expect(Object.keys(Object.prototype)).toEqual([])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('msgpack the frame decoder would refuse: ext types, depth, trailing and truncated bytes', () => {
    const ok = encodePayload(MessageType.KEEPALIVE_PING, { nonce: 3 })
    expect(thrown(() => decodePayload(MessageType.KEEPALIVE_PING, bytes(ok, 0x00))).message).toMatch(/KEEPALIVE_PING payload: trailing bytes/)
    expect(thrown(() => decodePayload(MessageType.KEEPALIVE_PING, ok.subarray(0, ok.length - 1)))).toBeInstanceOf(DecodeError)
    expect(thrown(() => decodePayload(MessageType.KEEPALIVE_PING, bytes(0x81, fixstr('nonce'), 0xd4, 0x00, 0x00)))).toBeInstanceOf(DecodeError)
    const deep = bytes(0x81, fixstr('peers'), new Uint8Array(DEFAULT_MAX_DEPTH).fill(0x91), 0xc0)
    expect(thrown(() => decodePayload(MessageType.DISC_PEERS, deep)).message).toMatch(/nesting deeper than 16/)
    expect(thrown(() => decodePayload(MessageType.KEEPALIVE_PING, new Uint8Array(0)))).toBeInstanceOf(DecodeError)
    expect(thrown(() => decodePayload(MessageType.KEEPALIVE_PING, ok, { maxFrameBytes: ok.length - 1 }))).toBeInstanceOf(DecodeError)
    expect(thrown(() => decodePayload(MessageType.KEEPALIVE_PING, 'x' as unknown as Uint8Array))).toBeInstanceOf(DecodeError)
  })

  it('with messages that never quote the received data', () => {
    const secret = 'SECRET-MARKER'
    const inputs: [PayloadType, unknown][] = [
      [MessageType.KEEPALIVE_PING, { [secret]: 1, nonce: 1 }],
      [MessageType.KEEPALIVE_PING, { nonce: secret }],
      [MessageType.DISC_HELLO, hello({ type: secret })],
      [MessageType.DISC_HELLO, hello({ id: secret.repeat(20) })],
      [MessageType.RESPONSE, { status: secret, msg: secret }],
      [MessageType.SYNC_STATE_SNAPSHOT, { requestId: 1, height: 1, stateHash: new Uint8Array(1), entries: [[secret, secret, secret]] }],
    ]
    for (const [type, value] of inputs) {
      const error = thrown(() => decodePayload(type, raw(value)))
      expect(error).toBeInstanceOf(DecodeError)
      expect(error.message).not.toContain('SECRET')
    }
  })
})

describe('makeResponse', () => {
  it('builds a RESPONSE with optional code and inReplyTo', () => {
    const env = makeResponse(ResponseStatus.FAILURE, 'queue full', { code: 'ERR_QUEUE_FULL', inReplyTo: MessageType.CONSENSUS })
    expect(env.type).toBe(MessageType.RESPONSE)
    expect(decodePayload(MessageType.RESPONSE, env.payload)).toEqual({ status: 500, msg: 'queue full', code: 'ERR_QUEUE_FULL', inReplyTo: 21 })
    expect(decodePayload(MessageType.RESPONSE, makeResponse(ResponseStatus.SUCCESS, '').payload)).toEqual({ status: 200, msg: '' })
  })

  it('cuts msg and code to their caps so the answer always decodes', () => {
    const long = `${'é'.repeat(3000)}tail` // 6004 bytes; the cut lands mid-character
    const decoded = decodePayload(MessageType.RESPONSE, makeResponse(500, long, { code: 'C'.repeat(500) }).payload)
    expect(utf8ByteLength(decoded.msg)).toBeLessThanOrEqual(MAX_MSG_BYTES)
    expect(utf8ByteLength(decoded.msg)).toBeGreaterThan(MAX_MSG_BYTES - 5)
    expect(decoded.msg.endsWith('é...')).toBe(true)
    expect(decoded.code).toHaveLength(MAX_ERROR_CODE_BYTES)
  })
})

describe('utf8ByteLength and truncateUtf8', () => {
  it('agree with TextEncoder on random strings, surrogates included', () => {
    const rng = createPrng(testSeed('utf8 lengths'))
    const pool = ['a', 'Z', '~', 'é', 'ß', '€', '中', '\u{1F600}', '\uD800', '\uDC00', '\u0000', '\uFFFF']
    const encoder = new TextEncoder()
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: rng.int(40) }, () => pool[rng.int(pool.length)]).join('')
      expect(utf8ByteLength(text), JSON.stringify(text)).toBe(encoder.encode(text).length)
      const max = 3 + rng.int(60)
      const cut = truncateUtf8(text, max)
      expect(encoder.encode(cut).length).toBeLessThanOrEqual(max)
      if (encoder.encode(text).length <= max) expect(cut).toBe(text)
      else expect(cut.endsWith('...')).toBe(true)
    }
  })
})
