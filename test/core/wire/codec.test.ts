import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Packr, Unpackr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { DecodeError, FrameTooLargeError } from '../../../src/core/errors.js'
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_ENVELOPES_PER_FRAME } from '../../../src/core/peer/limits.js'
import { DEFAULT_CODEC_LIMITS, DEFAULT_MAX_CONTAINERS, DEFAULT_MAX_SIGNATURE_BYTES } from '../../../src/core/wire/codec-limits.js'
import { FRAME_HEADER_MAX_BYTES, decodeFrame, encodeFrame, envelopeWireSize } from '../../../src/core/wire/codec.js'
import type { Envelope } from '../../../src/core/wire/envelope.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { decodePayload, hasPayloadSchema, makeEnvelope } from '../../../src/core/wire/payloads.js'
import {
  PAYLOAD_ENTRY,
  PAYLOAD_TYPES,
  SAMPLE_PAYLOADS,
  TYPE_ENTRY,
  bin8,
  bytes,
  createPrng,
  fixstr,
  frameOf,
  randomUint,
  testSeed,
} from './wire-fixtures.js'

const reference = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, variableMapSize: true })
const referenceReader = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' })

/** The envelope as a generic encoder would write it: keys in the same order, absent keys left out. */
const asPlainObject = (env: Envelope): Record<string, unknown> => {
  const out: Record<string, unknown> = { type: env.type }
  if (env.timestamp !== undefined) out.timestamp = env.timestamp
  out.payload = env.payload
  if (env.signature !== undefined) out.signature = env.signature
  return out
}

const envelopeVariants = (): Envelope[] => {
  const variants: Envelope[] = []
  for (const type of [0, 1, 21, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
    variants.push({ type, payload: new Uint8Array([type & 0xff]) })
  }
  for (const length of [0, 1, 255, 256, 65_535, 65_536, 70_000]) {
    variants.push({ type: MessageType.CONSENSUS, payload: Uint8Array.from({ length }, (_, i) => i * 7) })
  }
  for (const timestamp of [0, 1, 127, 1_700_000_000_000, Number.MAX_SAFE_INTEGER]) {
    variants.push({ type: MessageType.CONSENSUS, timestamp, payload: new Uint8Array([9]) })
  }
  for (const length of [0, 64, 255, 256, DEFAULT_MAX_SIGNATURE_BYTES]) {
    variants.push({ type: 21, timestamp: 5, payload: new Uint8Array([1]), signature: new Uint8Array(length).fill(0x5a) })
  }
  variants.push({ type: 21, payload: new Uint8Array([1]), signature: new Uint8Array(3) })
  return variants
}

describe('encodeFrame / decodeFrame', () => {
  it('round-trips every envelope form, alone and together', () => {
    const variants = envelopeVariants()
    for (const env of variants) expect(decodeFrame(encodeFrame([env]))).toEqual([env])
    const limits = { maxFrameBytes: 4 * DEFAULT_MAX_FRAME_BYTES }
    expect(decodeFrame(encodeFrame(variants), limits)).toEqual(variants)
  })

  it('round-trips a real envelope of every payload type', () => {
    const envelopes = PAYLOAD_TYPES.map((type) => makeEnvelope(type, SAMPLE_PAYLOADS[type], 1_700_000_000_000))
    const decoded = decodeFrame(encodeFrame(envelopes))
    expect(decoded.map((env) => env.type)).toEqual(PAYLOAD_TYPES)
    for (const env of decoded) {
      if (!hasPayloadSchema(env.type)) throw new Error('sample without schema')
      expect(decodePayload(env.type, env.payload)).toEqual(SAMPLE_PAYLOADS[env.type])
    }
  })

  it('writes exactly what a generic msgpack encoder writes (float 64 from 2^32 on), and any reader reads it', () => {
    const variants = envelopeVariants()
    for (const env of variants) {
      const frame = encodeFrame([env])
      expect(frame).toEqual(new Uint8Array(reference.pack([asPlainObject(env)])))
      const generic = referenceReader.unpack(frame) as Record<string, unknown>[]
      expect(generic[0]?.type).toBe(env.type)
      expect(generic[0]?.timestamp).toBe(env.timestamp)
    }
  })

  it('writes random frames byte for byte as msgpackr packs them (seeded)', () => {
    const seed = testSeed('encodeFrame')
    const prng = createPrng(seed)
    for (let round = 0; round < 300; round++) {
      const envelopes = Array.from({ length: 1 + prng.int(20) }, (): Envelope => {
        const env: Envelope = { type: Math.min(randomUint(prng), Number.MAX_SAFE_INTEGER), payload: prng.bytes(prng.int(300)) }
        if (prng.next() < 0.7) env.timestamp = Math.min(randomUint(prng), Number.MAX_SAFE_INTEGER)
        if (prng.next() < 0.3) env.signature = prng.bytes(prng.int(DEFAULT_MAX_SIGNATURE_BYTES + 1))
        return env
      })
      const frame = encodeFrame(envelopes)
      expect(Buffer.from(frame).equals(reference.pack(envelopes.map(asPlainObject))), `seed ${seed} round ${round}`).toBe(true)
    }
  })

  it('uses the fixarray, array 16 and array 32 frame headers', () => {
    const env: Envelope = { type: 3, payload: new Uint8Array([0x80]) }
    const lots = { maxEnvelopesPerFrame: 70_000, maxContainers: 70_001, maxFrameBytes: 2 * DEFAULT_MAX_FRAME_BYTES }
    for (const [count, header] of [
      [1, 0x91],
      [15, 0x9f],
      [16, 0xdc],
      [65_535, 0xdc],
      [65_536, 0xdd],
    ] as const) {
      const frame = encodeFrame(new Array<Envelope>(count).fill(env))
      expect(frame[0]).toBe(header)
      expect(decodeFrame(frame, lots)).toHaveLength(count)
    }
  })

  it('envelopeWireSize is the exact encoded size; the frame adds at most FRAME_HEADER_MAX_BYTES', () => {
    const variants = envelopeVariants()
    for (const env of variants) expect(encodeFrame([env]).length).toBe(1 + envelopeWireSize(env))
    const total = variants.reduce((sum, env) => sum + envelopeWireSize(env), 0)
    const frame = encodeFrame(variants)
    expect(frame.length).toBeGreaterThan(total)
    expect(frame.length).toBeLessThanOrEqual(total + FRAME_HEADER_MAX_BYTES)
  })

  it('decoded bins are plain Uint8Array copies that do not pin the frame', () => {
    const frame = encodeFrame([{ type: 21, payload: new Uint8Array(1000).fill(1), signature: new Uint8Array(64).fill(2) }])
    const [env] = decodeFrame(Buffer.from(frame))
    expect(env?.payload.constructor).toBe(Uint8Array)
    expect(env?.payload.buffer.byteLength).toBe(1000)
    expect(env?.signature?.buffer.byteLength).toBe(64)
  })

  it('refuses to encode what a receiver would refuse', () => {
    const payload = new Uint8Array(1)
    expect(() => encodeFrame([])).toThrow(RangeError)
    expect(() => encodeFrame([{ type: -1, payload }])).toThrow(TypeError)
    expect(() => encodeFrame([{ type: 1.5, payload }])).toThrow(TypeError)
    expect(() => encodeFrame([{ type: 2 ** 53, payload }])).toThrow(TypeError)
    expect(() => encodeFrame([{ type: 1, payload: 'x' as unknown as Uint8Array }])).toThrow(TypeError)
    expect(() => encodeFrame([{ type: 1, payload, timestamp: -5 }])).toThrow(TypeError)
    expect(() => encodeFrame([{ type: 1, payload, signature: new Uint8Array(DEFAULT_MAX_SIGNATURE_BYTES + 1) }])).toThrow(RangeError)
  })

  it('uses the peer limits as its defaults', () => {
    expect(DEFAULT_CODEC_LIMITS.maxFrameBytes).toBe(DEFAULT_MAX_FRAME_BYTES)
    expect(DEFAULT_CODEC_LIMITS.maxEnvelopesPerFrame).toBe(DEFAULT_MAX_ENVELOPES_PER_FRAME)
  })
})

/** The thrown error, so tests can look at its class and message. */
const thrown = (fn: () => unknown): Error => {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

describe('decodeFrame on hostile input (hostile-inputs.md 1, 4-9)', () => {
  it('1: a frame over maxFrameBytes is refused before it is read, whatever it holds', () => {
    const garbage = new Uint8Array(DEFAULT_MAX_FRAME_BYTES + 1).fill(0xc1)
    expect(thrown(() => decodeFrame(garbage))).toBeInstanceOf(FrameTooLargeError)
    const valid = encodeFrame([{ type: 21, payload: new Uint8Array(2000) }])
    expect(thrown(() => decodeFrame(valid, { maxFrameBytes: 1000 }))).toBeInstanceOf(FrameTooLargeError)
    expect(decodeFrame(valid, { maxFrameBytes: valid.length })).toHaveLength(1)
  })

  it('4: every truncation of a valid frame, and trailing bytes, give DecodeError without quoting data', () => {
    const secret = new TextEncoder().encode('SECRET-MARKER')
    const frame = encodeFrame([
      { type: 1, timestamp: 1_700_000_000_000, payload: secret },
      { type: 21, payload: new Uint8Array(300), signature: new Uint8Array(64) },
    ])
    for (let length = 0; length < frame.length; length++) {
      expect(thrown(() => decodeFrame(frame.subarray(0, length))), `length ${length}`).toBeInstanceOf(DecodeError)
    }
    for (const extra of [bytes(0x00), bytes(0xc0), frame]) {
      const error = thrown(() => decodeFrame(bytes(frame, extra)))
      expect(error).toBeInstanceOf(DecodeError)
      expect(error.message).toMatch(/trailing bytes/)
      expect(error.message).not.toContain('SECRET')
    }
  })

  // Speed lives in the bench; here the point is how they fail: on the declared size against the
  // bytes that remain (or a cap), before anything of that size exists.
  it('5: declared 4 GB str, bin, array, map and ext inside a frame fail on their declared size', () => {
    const huge = [0xff, 0xff, 0xff, 0xff]
    const cases = [
      frameOf(TYPE_ENTRY, [fixstr('payload'), [0xdb, ...huge, 0x61]]),
      frameOf(TYPE_ENTRY, [fixstr('payload'), [0xc6, ...huge, 0x61]]),
      frameOf(TYPE_ENTRY, [fixstr('payload'), [0xdd, ...huge, 0x01]]),
      frameOf(TYPE_ENTRY, [fixstr('payload'), [0xdf, ...huge, 0xa1, 0x61]]),
      frameOf(TYPE_ENTRY, [fixstr('payload'), [0xc9, ...huge, 0x01]]),
      bytes(0xdd, huge, 0x80),
    ]
    for (const frame of cases) {
      const error = thrown(() => decodeFrame(frame))
      expect(error).toBeInstanceOf(DecodeError)
      expect(error.message).toMatch(/declares \d{10,} (bytes|elements)|4294967295 .*exceed|extension types are not accepted/)
    }
  })

  it('6: a nested array16 chain bomb is refused on a cap, without walking the chain', () => {
    const chain = new Uint8Array(72 * 1024)
    for (let i = 0; i + 2 < chain.length; i += 3) chain.set([0xdc, 0xff, 0xff], i)
    const error = thrown(() => decodeFrame(chain))
    expect(error).toBeInstanceOf(DecodeError)
    expect(error.message).toMatch(/65535 envelopes exceed the limit/)
    const nested = thrown(() => decodeFrame(bytes(0x91, chain)))
    expect(nested).toBeInstanceOf(DecodeError)
    expect(nested.message).toMatch(/exceed|more than|deeper|nest/)
  })

  it('6: 1 MiB of empty maps is refused by the container cap, without decoding them', () => {
    const frame = new Uint8Array(DEFAULT_MAX_FRAME_BYTES).fill(0x80)
    const count = frame.length - 5
    frame.set([0xdd, count >>> 24, (count >>> 16) & 0xff, (count >>> 8) & 0xff, count & 0xff])
    // Counted as containers, the maps pass every other check (the envelope count is the first
    // cap only when the frame is read as envelopes), so raise that one to reach the scan.
    const limits = { maxEnvelopesPerFrame: count }
    const heapBefore = process.memoryUsage().heapUsed
    const error = thrown(() => decodeFrame(frame, limits))
    const grown = process.memoryUsage().heapUsed - heapBefore
    expect(error).toBeInstanceOf(DecodeError)
    expect(error.message).toContain(`more than ${DEFAULT_MAX_CONTAINERS} arrays and maps`)
    // Decoding a million maps would take tens of MB of heap; the scan takes none.
    expect(grown).toBeLessThan(8 * 1024 * 1024)
    // With the default envelope cap the header alone is refused.
    expect(thrown(() => decodeFrame(frame)).message).toMatch(/envelopes exceed the limit/)
  })

  it('6: both bombs, 50 times each, are refused in a process limited to a 64 MB heap', () => {
    const codecUrl = new URL('../../../src/core/wire/codec.ts', import.meta.url).href
    const script = `
      import { decodeFrame } from ${JSON.stringify(codecUrl)}
      const maps = new Uint8Array(${DEFAULT_MAX_FRAME_BYTES}).fill(0x80)
      const n = maps.length - 5
      maps.set([0xdd, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])
      const chain = new Uint8Array(72 * 1024)
      for (let i = 0; i + 2 < chain.length; i += 3) chain.set([0xdc, 0xff, 0xff], i)
      const seen = new Set()
      for (const [frame, limits] of [[maps, { maxEnvelopesPerFrame: n }], [chain, undefined]]) {
        for (let i = 0; i < 50; i++) {
          try { decodeFrame(frame, limits); seen.add('decoded') } catch (err) { seen.add(err.constructor.name) }
        }
      }
      console.log(JSON.stringify([...seen]))
    `
    const child = spawnSync(process.execPath, ['--max-old-space-size=64', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      encoding: 'utf8',
      timeout: 15_000,
    })
    expect(child.status, child.stderr).toBe(0)
    expect(JSON.parse(child.stdout.trim().split('\n').pop() ?? '[]')).toEqual(['DecodeError'])
  })

  it('7: 100k nesting levels give DecodeError, and the next valid frame still decodes', () => {
    const deep = new Uint8Array(100_001).fill(0x91)
    deep[100_000] = 0xc0
    expect(thrown(() => decodeFrame(deep))).toBeInstanceOf(DecodeError)
    const inPayload = frameOf(TYPE_ENTRY, [fixstr('payload'), [...deep]])
    expect(thrown(() => decodeFrame(inPayload))).toBeInstanceOf(DecodeError)
    const valid = encodeFrame([{ type: 1, payload: new Uint8Array([0x80]) }])
    expect(decodeFrame(valid)).toEqual([{ type: 1, payload: new Uint8Array([0x80]) }])
  })

  it('8: __proto__ and constructor keys are schema errors and Object.prototype stays untouched', () => {
    const pollution = [0x81, ...fixstr('polluted'), 0xc3]
    const frames = [
      frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('__proto__'), pollution]),
      frameOf([fixstr('__proto__'), pollution], TYPE_ENTRY, PAYLOAD_ENTRY),
      frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('constructor'), pollution]),
      frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('toString'), [0x01]]),
      frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('hasOwnProperty'), [0x01]]),
      frameOf([fixstr('type'), pollution], PAYLOAD_ENTRY),
    ]
    for (const frame of frames) expect(thrown(() => decodeFrame(frame))).toBeInstanceOf(DecodeError)
    expect(Object.keys(Object.prototype)).toEqual([])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype.constructor).toBe(Object)
  })

  it('8: every ext type, in any field, is a DecodeError', () => {
    const more = new Packr({ moreTypes: true, structuredClone: true })
    const extensions = [
      more.pack(/x/),
      more.pack(new Error('e')),
      more.pack(new Set([1])),
      more.pack(new Float32Array([1])),
      more.pack(new Date(0)),
      more.pack(undefined),
      new Packr({ useRecords: true }).pack({ a: 1 }),
      bytes(0xd4, 0x01, 0x00),
      bytes(0xd5, 0x01, 0x00, 0x00),
      bytes(0xd6, 0x01, 0, 0, 0, 0),
      bytes(0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0),
      bytes(0xd8, 0x01, new Uint8Array(16)),
      bytes(0xc7, 0x01, 0x01, 0x00),
      bytes(0xc8, 0x00, 0x01, 0x01, 0x00),
      bytes(0xc9, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00),
    ]
    for (const ext of extensions) {
      for (const frame of [
        frameOf([fixstr('type'), [...ext]], PAYLOAD_ENTRY),
        frameOf(TYPE_ENTRY, [fixstr('payload'), [...ext]]),
        frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('timestamp'), [...ext]]),
        frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('signature'), [...ext]]),
        bytes(0x91, ext),
        ext,
      ]) {
        expect(thrown(() => decodeFrame(frame))).toBeInstanceOf(DecodeError)
      }
    }
  })

  it('9: a top level that is not an array of 1..maxEnvelopesPerFrame maps', () => {
    const env = encodeFrame([{ type: 1, payload: new Uint8Array([0x80]) }]).subarray(1)
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(0), /empty/],
      [new ArrayBuffer(4) as unknown as Uint8Array, /not a Uint8Array/],
      [env, /not a msgpack array/], // a bare envelope map
      [bytes(fixstr('hello')), /not a msgpack array/],
      [bytes(0xc0), /not a msgpack array/],
      [bytes(0x90), /no envelope/],
      [bytes(0x91, 0x01), /envelope 0 is not a map/],
      [bytes(0x91, 0x90), /envelope 0 is not a map/],
      [bytes(0x91, bin8([1])), /envelope 0 is not a map/],
      [bytes(0x91, 0xc0), /envelope 0 is not a map/],
      [bytes(0x92, env, 0x91, 0x01), /envelope 1 is not a map/],
    ]
    for (const [frame, message] of cases) {
      const error = thrown(() => decodeFrame(frame))
      expect(error).toBeInstanceOf(DecodeError)
      expect(error.message).toMatch(message)
    }
    const tooMany = encodeFrame(new Array<Envelope>(DEFAULT_MAX_ENVELOPES_PER_FRAME + 1).fill({ type: 3, payload: new Uint8Array([0x80]) }))
    expect(thrown(() => decodeFrame(tooMany)).message).toMatch(/exceed the limit of 256/)
    expect(decodeFrame(tooMany.subarray(0, tooMany.length), { maxEnvelopesPerFrame: 257 })).toHaveLength(257)
  })

  it('9: missing, extra and wrong-typed fields', () => {
    const u64 = (high: number, low: number) => [0xcf, ...u32(high), ...u32(low)]
    const u32 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
    const cases: [Uint8Array, RegExp][] = [
      [frameOf(PAYLOAD_ENTRY), /no "type"/],
      [frameOf(TYPE_ENTRY), /no "payload"/],
      [frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('extra'), [0x01]]), /a key other than/],
      [frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('Type'), [0x01]]), /a key other than/],
      [frameOf([fixstr('type'), fixstr('1')], PAYLOAD_ENTRY), /"type" is not/],
      [frameOf([fixstr('type'), [0xff]], PAYLOAD_ENTRY), /"type" is not/], // -1
      [frameOf([fixstr('type'), [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]], PAYLOAD_ENTRY), /"type" is not/], // 1.5
      [frameOf([fixstr('type'), [0xc0]], PAYLOAD_ENTRY), /"type" is not/],
      [frameOf([fixstr('type'), [0xc3]], PAYLOAD_ENTRY), /"type" is not/],
      [frameOf([fixstr('type'), [0xcb, 0x43, 0x40, 0, 0, 0, 0, 0, 0]], PAYLOAD_ENTRY), /"type" is not/], // 2^53 as float
      [frameOf(TYPE_ENTRY, [fixstr('payload'), fixstr('abc')]), /"payload" is not bin/],
      [frameOf(TYPE_ENTRY, [fixstr('payload'), [0x91, 0x01]]), /"payload" is not bin/],
      [frameOf(TYPE_ENTRY, [fixstr('payload'), [0xc0]]), /"payload" is not bin/],
      [frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('timestamp'), [0xd0, 0x80]]), /"timestamp" is not/],
      [frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('timestamp'), fixstr('now')]), /"timestamp" is not/],
      [frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('timestamp'), [0xc0]]), /"timestamp" is not/],
      [frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('signature'), fixstr('sig')]), /"signature" is not bin/],
      [frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('signature'), [0xc0]]), /"signature" is not bin/],
      [frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('signature'), [0xc5, 0x04, 0x01, ...new Uint8Array(1025)]]), /longer than 1024/],
      // integers beyond 2^53, as uint64 and int64
      [frameOf([fixstr('type'), u64(0x200000, 0)], PAYLOAD_ENTRY), /safe integer/],
      [frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('timestamp'), u64(0xffffffff, 0xffffffff)]), /safe integer/],
      [frameOf(TYPE_ENTRY, PAYLOAD_ENTRY, [fixstr('timestamp'), [0xd3, 0xff, 0xe0, 0, 0, 0, 0, 0, 0]]), /safe integer/],
    ]
    for (const [frame, message] of cases) {
      const error = thrown(() => decodeFrame(frame))
      expect(error, message.source).toBeInstanceOf(DecodeError)
      expect(error.message).toMatch(message)
    }
    // The largest safe values pass, and a 1024-byte signature is fine.
    const ok = decodeFrame(frameOf([fixstr('type'), u64(0x1fffff, 0xffffffff)], PAYLOAD_ENTRY, [fixstr('signature'), [0xc5, 0x04, 0x00, ...new Uint8Array(1024)]]))
    expect(ok[0]?.type).toBe(Number.MAX_SAFE_INTEGER)
    expect(ok[0]?.signature).toHaveLength(1024)
  })

  it('10: a well-formed envelope of an unknown type decodes (dispatch answers it)', () => {
    expect(decodeFrame(encodeFrame([{ type: 999, payload: new Uint8Array(0) }]))).toEqual([{ type: 999, payload: new Uint8Array(0) }])
  })

  it('keys may come in any order and map16 headers are read', () => {
    const frame = bytes(0x91, 0xde, 0x00, 0x03, ...PAYLOAD_ENTRY[0], ...PAYLOAD_ENTRY[1], fixstr('timestamp'), 0x05, ...TYPE_ENTRY[0], ...TYPE_ENTRY[1])
    expect(decodeFrame(frame)).toEqual([{ type: 1, timestamp: 5, payload: new Uint8Array([0x80]) }])
  })
})

describe('decodeFrame fuzz', () => {
  it('throws only DecodeError or FrameTooLargeError on ~20k random and mutated frames', () => {
    const seed = testSeed('wire fuzz')
    const rng = createPrng(seed)
    const seeds = [
      encodeFrame(PAYLOAD_TYPES.map((type) => makeEnvelope(type, SAMPLE_PAYLOADS[type], 1_700_000_000_000))),
      encodeFrame([{ type: 21, timestamp: 3, payload: rng.bytes(40), signature: rng.bytes(64) }]),
      encodeFrame([makeEnvelope(MessageType.DISC_HELLO, SAMPLE_PAYLOADS[MessageType.DISC_HELLO])]),
    ]
    const interesting = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc4, 0xc6, 0xc7, 0xc9, 0xcb, 0xcf, 0xd3, 0xd4, 0xd8, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff]
    const limits = { maxFrameBytes: 64 * 1024 }
    let decoded = 0
    let payloadsDecoded = 0
    for (let i = 0; i < 20_000; i++) {
      let input: Uint8Array
      const pick = rng.int(4)
      if (pick === 0) {
        input = rng.bytes(rng.int(64))
      } else {
        const base = seeds[rng.int(seeds.length)] as Uint8Array
        const out = Array.from(base)
        for (let m = 1 + rng.int(4); m > 0; m--) {
          const at = rng.int(out.length + 1)
          switch (rng.int(5)) {
            case 0:
              out[at] = rng.int(256)
              break
            case 1:
              out[at] = interesting[rng.int(interesting.length)] as number
              break
            case 2:
              out.splice(at, 1 + rng.int(8))
              break
            case 3:
              out.splice(at, 0, ...rng.bytes(1 + rng.int(8)))
              break
            default:
              out.length = Math.min(out.length, at)
          }
        }
        input = Uint8Array.from(out)
        if (pick === 3 && input.length > 0) input = bytes(0x91, input.subarray(1)) // re-frame as one envelope
      }
      let envelopes: Envelope[]
      try {
        envelopes = decodeFrame(input, limits)
      } catch (err) {
        if (!(err instanceof DecodeError || err instanceof FrameTooLargeError)) {
          throw new Error(`seed ${seed}, input ${i}: ${String(err)}`, { cause: err })
        }
        continue
      }
      decoded++
      for (const env of envelopes) {
        expect(Number.isSafeInteger(env.type) && env.payload instanceof Uint8Array).toBe(true)
        if (!hasPayloadSchema(env.type)) continue
        try {
          decodePayload(env.type, env.payload)
          payloadsDecoded++
        } catch (err) {
          if (!(err instanceof DecodeError)) throw new Error(`seed ${seed}, input ${i}, payload: ${String(err)}`, { cause: err })
        }
      }
    }
    // The mutations must leave some frames valid, or the loop tests nothing past the scan.
    expect(decoded).toBeGreaterThan(100)
    expect(payloadsDecoded).toBeGreaterThan(100)
    expect(Object.keys(Object.prototype)).toEqual([])
  })
})
