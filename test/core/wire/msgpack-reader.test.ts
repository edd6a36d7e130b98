import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import {
  MsgpackReader,
  NOT_SAFE_UINT,
  NO_MATCH,
  ReadError,
  TRUNCATED,
  readArrayHeaderAt,
  readBinHeaderAt,
  readMapHeaderAt,
  readStrHeaderAt,
  readUintAt,
  readValue,
} from '../../../src/core/wire/msgpack-reader.js'
import { createPrng, randomLength, randomText, randomUint, testSeed } from './wire-fixtures.js'

/** msgpackr as payloads.ts configures it: the writer whose output every wspeer reader must take. */
const reference = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, variableMapSize: true })
const pack = (value: unknown) => new Uint8Array(reference.pack(value))

/** readValue after a read*At call that must read the whole of `bytes` but `rest` bytes. */
function header(read: (b: Uint8Array, at: number) => number, bytes: Uint8Array, rest: number): number {
  expect(read(bytes, 0)).toBe(bytes.length - rest)
  return readValue
}

describe('the msgpack reader on what msgpackr writes (seeded)', () => {
  it('reads every non-negative safe integer in every format msgpackr gives it, float 64 and 64-bit ints included', () => {
    const seed = testSeed('msgpack-reader integers')
    const prng = createPrng(seed)
    const r = new MsgpackReader()
    for (let round = 0; round < 3000; round++) {
      const n = randomUint(prng)
      const at = `seed ${seed} round ${round}: ${n}`
      // As a number (float 64 from 2^32 on) and as a BigInt (int 64, or uint 64 for msgpackr).
      for (const bytes of [pack(n), pack(BigInt(n))]) {
        r.reset(bytes)
        if (Number.isSafeInteger(n)) {
          expect(header(readUintAt, bytes, 0), at).toBe(n)
          expect(r.uint(), at).toBe(n)
        } else {
          expect(readUintAt(bytes, 0), at).toBe(NOT_SAFE_UINT)
          expect(() => r.uint(), at).toThrow(/not an integer in 0..2\^53-1/)
        }
      }
    }
  })

  it('refuses negative, fractional and unsafe numbers, and other types, without reading past the end', () => {
    for (const value of [-1, -200, -(2 ** 40), 0.5, 2 ** 32 + 0.5, 2 ** 53, 2n ** 53n, 2n ** 64n - 1n, -(2n ** 60n)]) {
      const expected = value === -1 ? NO_MATCH : NOT_SAFE_UINT // -1 is a negative fixint: no number format of ours
      expect(readUintAt(pack(value), 0), String(value)).toBe(expected)
    }
    for (const value of ['5', null, true, new Uint8Array(1), [1], { a: 1 }]) expect(readUintAt(pack(value), 0)).toBe(NO_MATCH)
    for (const value of [200, 70_000, 2 ** 31, 2 ** 40, 2n ** 40n]) {
      const bytes = pack(value)
      for (let cut = 0; cut < bytes.length; cut++) expect(readUintAt(bytes.subarray(0, cut), 0)).toBe(TRUNCATED)
    }
  })

  it('reads str, bin, array and map headers as msgpackr writes them, and MsgpackReader their contents', () => {
    const seed = testSeed('msgpack-reader lengths')
    const prng = createPrng(seed)
    const r = new MsgpackReader()
    for (let round = 0; round < 300; round++) {
      const at = `seed ${seed} round ${round}`
      const text = randomText(prng, randomLength(prng))
      const utf8 = Buffer.byteLength(text)
      const str = pack(text)
      expect(header(readStrHeaderAt, str, utf8), at).toBe(utf8)
      r.reset(str)
      expect(r.str(utf8), at).toBe(text)

      const data = prng.bytes(randomLength(prng))
      const bin = pack(data)
      expect(header(readBinHeaderAt, bin, data.length), at).toBe(data.length)
      r.reset(bin)
      expect(Buffer.from(r.bin(data.length)).equals(data), at).toBe(true)

      const count = randomLength(prng)
      const list = pack(new Array<number>(count).fill(0))
      expect(header(readArrayHeaderAt, list, count), at).toBe(count)
      r.reset(list)
      expect(r.array(count), at).toBe(count)

      const map = pack(Object.fromEntries(Array.from({ length: Math.min(count, 300) }, (_, i) => [String.fromCharCode(0x41 + (i % 26)) + i, 0])))
      const entries = Math.min(count, 300)
      expect(readMapHeaderAt(map, 0), at).toBeGreaterThan(0)
      expect(readValue, at).toBe(entries)
      r.reset(map)
      expect(r.map(), at).toBe(entries)
    }
  })

  it('tells a cut header (TRUNCATED) from another type (NO_MATCH)', () => {
    const cases: [(b: Uint8Array, at: number) => number, unknown][] = [
      [readStrHeaderAt, 'x'.repeat(300)],
      [readStrHeaderAt, 'x'.repeat(70_000)],
      [readBinHeaderAt, new Uint8Array(300)],
      [readBinHeaderAt, new Uint8Array(70_000)],
      [readArrayHeaderAt, new Array(300).fill(0)],
      [readArrayHeaderAt, new Array(70_000).fill(0)],
      [readMapHeaderAt, Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 0]))],
    ]
    for (const [read, value] of cases) {
      const bytes = pack(value)
      const end = read(bytes, 0)
      expect(end).toBeGreaterThan(1)
      for (let cut = 0; cut < end; cut++) expect(read(bytes.subarray(0, cut), 0)).toBe(TRUNCATED)
      expect(read(pack(7), 0)).toBe(NO_MATCH)
    }
    expect(() => new MsgpackReader(pack(7)).str(10)).toThrow(ReadError)
  })
})
