import { Packr, Unpackr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { DEFAULT_CODEC_LIMITS, DEFAULT_MAX_SIGNATURE_BYTES } from '../../../src/core/wire/codec-limits.js'
import { decodeFrame, encodeFrame } from '../../../src/core/wire/codec.js'
import type { Envelope } from '../../../src/core/wire/envelope.js'
import { decodeCanonicalFrame } from '../../../src/core/wire/frame-fast-path.js'
import { createPrng, testSeed } from './wire-fixtures.js'

const reader = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' })
const headerBytes = (frame: Uint8Array) => (frame[0] === 0xdc ? 3 : frame[0] === 0xdd ? 5 : 1)
const fast = (frame: Uint8Array, count: number) => decodeCanonicalFrame(frame, count, headerBytes(frame), DEFAULT_CODEC_LIMITS)

function randomEnvelope(rand: () => number): Envelope {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
  const env: Envelope = {
    type: pick([0, 5, 21, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]),
    payload: Uint8Array.from({ length: rand() < 0.05 ? pick([65_535, 65_536]) : pick([0, 1, 31, 255, 256, 300]) }, () => Math.floor(rand() * 256)),
  }
  if (rand() < 0.6) env.timestamp = pick([0, 1, 127, 255, 70_000, 1_700_000_000_000, Number.MAX_SAFE_INTEGER])
  if (rand() < 0.3) env.signature = new Uint8Array(pick([0, 64, DEFAULT_MAX_SIGNATURE_BYTES])).fill(0x5a)
  return env
}

const bytesEqual = (a: Uint8Array | undefined, b: Uint8Array | undefined) => (a === undefined ? b === undefined : b !== undefined && Buffer.compare(a, b) === 0)
/** Field by field (toEqual on 64 KiB payloads is slow): same keys, numbers and bytes. */
function same(a: readonly Envelope[], b: readonly Envelope[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i]!
      return Object.keys(x).sort().join() === Object.keys(y).sort().join() && x.type === y.type && x.timestamp === y.timestamp && bytesEqual(x.payload, y.payload) && bytesEqual(x.signature, y.signature)
    })
  )
}

describe('decodeCanonicalFrame', () => {
  it('reads what encodeFrame writes as a generic msgpack decoder does (randomized)', () => {
    const seed = testSeed('frame-fast-path')
    const prng = createPrng(seed)
    const rand = () => prng.next()
    for (let round = 0; round < 200; round++) {
      const envelopes = Array.from({ length: 1 + Math.floor(rand() * 20) }, () => randomEnvelope(rand))
      const frame = encodeFrame(envelopes)
      const decoded = fast(frame, envelopes.length)
      expect(decoded, `seed ${seed} round ${round}`).toBeDefined()
      expect(same(decoded!, reader.unpack(frame) as Envelope[]), `seed ${seed} round ${round}`).toBe(true)
      for (const env of decoded!) expect(Object.getPrototypeOf(env.payload)).toBe(Uint8Array.prototype)
      // A Buffer frame (what 'nodebuffer' sockets deliver) gives plain copies too.
      const fromBuffer = fast(Buffer.from(frame), envelopes.length)!
      expect(same(fromBuffer, decoded!)).toBe(true)
      expect(fromBuffer.every((env) => Object.getPrototypeOf(env.payload) === Uint8Array.prototype)).toBe(true)
    }
  })

  it('copies payloads: the frame can be reused without changing them', () => {
    const frame = encodeFrame([{ type: 21, payload: new Uint8Array([1, 2, 3]) }])
    const [env] = fast(frame, 1)!
    frame.fill(0)
    expect([...env!.payload]).toEqual([1, 2, 3])
  })

  it('leaves other layouts and every truncation to the full path, which decodes or refuses them', () => {
    const packr = new Packr({ useRecords: false, variableMapSize: true })
    const reordered = packr.pack([{ payload: new Uint8Array([1]), type: 21 }])
    expect(fast(reordered, 1)).toBeUndefined()
    expect(decodeFrame(reordered)).toEqual([{ type: 21, payload: new Uint8Array([1]) }])
    // A type in a signed-integer format is read as the full path reads it; a negative or
    // fractional one is left to the full path, which refuses it.
    const signed = packr.pack([{ type: 21, payload: new Uint8Array([1]) }])
    signed[signed.indexOf(21)] = 0xd0
    const withSigned = new Uint8Array([...signed.subarray(0, signed.indexOf(0xd0) + 1), 21, ...signed.subarray(signed.indexOf(0xd0) + 1)])
    expect(fast(withSigned, 1)).toEqual([{ type: 21, payload: new Uint8Array([1]) }])
    expect(decodeFrame(withSigned)).toEqual([{ type: 21, payload: new Uint8Array([1]) }])
    for (const type of [-1, 1.5]) {
      const bad = packr.pack([{ type, payload: new Uint8Array([1]) }])
      expect(fast(bad, 1)).toBeUndefined()
      expect(() => decodeFrame(bad)).toThrow(/"type" is not a non-negative safe integer/)
    }
    const frame = encodeFrame([{ type: 21, timestamp: 9, payload: new Uint8Array(300).fill(7), signature: new Uint8Array(64) }])
    for (let cut = 1; cut < frame.length; cut++) {
      expect(fast(frame.subarray(0, cut), 1)).toBeUndefined()
      expect(() => decodeFrame(frame.subarray(0, cut))).toThrow()
    }
    const trailing = new Uint8Array([...frame, 0])
    expect(fast(trailing, 1)).toBeUndefined()
    // A signature over the cap: refused by the full path, with its wording.
    const long = packr.pack([{ type: 21, payload: new Uint8Array(1), signature: new Uint8Array(DEFAULT_MAX_SIGNATURE_BYTES + 1) }])
    expect(fast(long, 1)).toBeUndefined()
    expect(() => decodeFrame(long)).toThrow(/signature/)
  })
})
