import { Packr, unpack } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { DecodeError } from '../../../src/core/errors.js'
import { DEFAULT_MAX_CONTAINERS, DEFAULT_MAX_DEPTH } from '../../../src/core/wire/codec-limits.js'
import { scanMsgpack } from '../../../src/core/wire/msgpack-scan.js'
import { bytes, fixstr } from './wire-fixtures.js'

const limits = { maxDepth: DEFAULT_MAX_DEPTH, maxContainers: DEFAULT_MAX_CONTAINERS }
const plain = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, variableMapSize: true })

const scan = (input: Uint8Array, lim = limits) => () => scanMsgpack(input, lim)

/** n nested one-element arrays around a nil. */
const nested = (levels: number): Uint8Array => {
  const out = new Uint8Array(levels + 1).fill(0x91)
  out[levels] = 0xc0
  return out
}

describe('scanMsgpack accepts', () => {
  it('every msgpack family the wire uses, as msgpackr writes it', () => {
    const values: unknown[] = [
      null,
      true,
      false,
      0,
      127,
      128,
      255,
      256,
      65535,
      65536,
      2 ** 32 - 1,
      2 ** 32,
      Number.MAX_SAFE_INTEGER,
      -1,
      -32,
      -33,
      -129,
      -32769,
      -(2 ** 31) - 1,
      Number.MIN_SAFE_INTEGER,
      1.5,
      '',
      'x'.repeat(31),
      'x'.repeat(32),
      'y'.repeat(300),
      'z'.repeat(70_000),
      new Uint8Array(0),
      new Uint8Array(300),
      new Uint8Array(70_000),
      [],
      Array.from({ length: 20 }, (_, i) => i),
      Array.from({ length: 70_000 }, () => 0),
      {},
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
      { a: [{ b: { c: [1, 'two', new Uint8Array([3])] } }] },
    ]
    for (const value of values) expect(scan(plain.pack(value)), JSON.stringify(value)?.slice(0, 40)).not.toThrow()
  })

  it('64-bit integers exactly at the safe-integer bounds', () => {
    // uint64 2^53 - 1, int64 -(2^53 - 1), int64 2^53 - 1
    expect(scan(bytes(0xcf, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).not.toThrow()
    expect(scan(bytes(0xd3, 0xff, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01))).not.toThrow()
    expect(scan(bytes(0xd3, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).not.toThrow()
  })

  it('nesting of exactly maxDepth and exactly maxContainers containers', () => {
    expect(scan(nested(DEFAULT_MAX_DEPTH))).not.toThrow()
    const flat = new Uint8Array(5 + DEFAULT_MAX_CONTAINERS - 1).fill(0x80)
    flat.set([0xdd, 0, 0, (DEFAULT_MAX_CONTAINERS - 1) >> 8, (DEFAULT_MAX_CONTAINERS - 1) & 0xff])
    expect(scan(flat)).not.toThrow()
  })
})

describe('scanMsgpack refuses', () => {
  it('nesting deeper than maxDepth, and 100k levels without recursion', () => {
    expect(scan(nested(DEFAULT_MAX_DEPTH + 1))).toThrow(DecodeError)
    expect(scan(nested(5), { maxDepth: 4, maxContainers: 100 })).toThrow(/deeper than 4/)
    expect(scan(nested(100_000))).toThrow(DecodeError)
    // Empty containers count as a level too.
    expect(scan(bytes(new Uint8Array(DEFAULT_MAX_DEPTH).fill(0x91), 0x90))).toThrow(DecodeError)
  })

  it('more than maxContainers arrays and maps', () => {
    const flat = new Uint8Array(5 + DEFAULT_MAX_CONTAINERS).fill(0x80)
    flat.set([0xdd, 0, 1, 0, 0])
    expect(scan(flat)).toThrow(/more than 65536 arrays and maps/)
  })

  it('every ext header, whatever follows', () => {
    for (const header of [0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xc7, 0xc8, 0xc9]) {
      expect(scan(bytes(header, new Uint8Array(20))), header.toString(16)).toThrow(/extension/)
      expect(scan(bytes(0x91, header, new Uint8Array(20))), header.toString(16)).toThrow(/extension/)
    }
  })

  it("msgpackr's RegExp, Error, Set, typed-array, Date, undefined, record, structured-clone and BigInt extensions", () => {
    const more = new Packr({ moreTypes: true, structuredClone: true })
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const cases: [string, Uint8Array][] = [
      ['RegExp', more.pack(/ab+c/gi)],
      ['Error', more.pack(new Error('boom'))],
      ['Set', more.pack(new Set([1]))],
      ['Float64Array', more.pack(new Float64Array([1.5]))],
      ['Uint16Array', more.pack(new Uint16Array([1]))],
      ['Date', more.pack(new Date(1))],
      ['undefined', more.pack(undefined)],
      ['record', new Packr({ useRecords: true }).pack({ a: 1, b: 2 })],
      ['structured clone', more.pack(cyclic)],
      ['BigInt', more.pack(2n ** 70n)],
    ]
    for (const [name, encoded] of cases) {
      // The bytes do reach msgpackr's extension machinery when not scanned first.
      const decoded = unpack(encoded) as unknown
      expect(decoded === undefined || typeof decoded === 'bigint' || Object.getPrototypeOf(decoded) !== Array.prototype, name).toBe(true)
      expect(scan(encoded), name).toThrow(DecodeError)
      expect(scan(bytes(0x92, 0x01, encoded)), name).toThrow(DecodeError)
    }
  })

  it('the never-used byte 0xc1', () => {
    expect(scan(bytes(0xc1))).toThrow(/0xc1/)
    expect(scan(bytes(0x91, 0xc1))).toThrow(/0xc1/)
  })

  it('map keys that are not strings', () => {
    expect(scan(bytes(0x81, 0x01, 0x02))).toThrow(/not a string/)
    expect(scan(bytes(0x81, 0xc4, 0x01, 0x61, 0x02))).toThrow(/not a string/)
    expect(scan(bytes(0x81, 0x80, 0x02))).toThrow(/not a string/)
    // Values in the key position of a later entry are checked too.
    expect(scan(bytes(0x82, fixstr('a'), 0x01, 0xc0, 0x02))).toThrow(/not a string/)
    expect(scan(bytes(0x81, 0xd9, 0x01, 0x61, 0x01))).not.toThrow()
  })

  it('64-bit integers outside the safe range', () => {
    expect(scan(bytes(0xcf, 0x00, 0x20, 0, 0, 0, 0, 0, 0))).toThrow(/safe integer/)
    expect(scan(bytes(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).toThrow(/safe integer/)
    expect(scan(bytes(0xd3, 0x00, 0x20, 0, 0, 0, 0, 0, 0))).toThrow(/safe integer/)
    expect(scan(bytes(0xd3, 0xff, 0xe0, 0, 0, 0, 0, 0, 0))).toThrow(/safe integer/) // -2^53
    expect(scan(bytes(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0))).toThrow(/safe integer/)
  })

  it('every truncation of a valid value', () => {
    const whole = plain.pack({ type: 1, list: [1, 'two', new Uint8Array(300), 2 ** 40, -70_000, 1.25], s: 'x'.repeat(300) })
    expect(scan(whole)).not.toThrow()
    for (let length = 0; length < whole.length; length++) {
      expect(scan(whole.subarray(0, length)), `length ${length}`).toThrow(DecodeError)
    }
  })

  it('trailing bytes after the one top-level value', () => {
    expect(scan(bytes(0x01, 0x02))).toThrow(/trailing bytes/)
    expect(scan(bytes(plain.pack([1, 2]), 0xc0))).toThrow(/trailing bytes/)
  })

  // Speed lives in the bench; here the point is that each fails on its declared size against
  // the bytes that remain, before anything of that size exists.
  it('declared 4 GB strings, bins, arrays, maps and ext fail on their declared size', () => {
    const huge = [0xff, 0xff, 0xff, 0xff]
    const cases = [
      bytes(0xdb, huge, 0x61),
      bytes(0xc6, huge, 0x61),
      bytes(0xdd, huge, 0x01),
      bytes(0xdf, huge, 0xa1, 0x61, 0x01),
      bytes(0xc9, huge, 0x01, 0x00),
      bytes(0x91, 0xdb, huge),
    ]
    for (const input of cases) {
      expect(scan(input)).toThrow(DecodeError)
      expect(scan(input)).toThrow(/declares \d{10,} (bytes|elements)|4294967295 .*exceed|extension types are not accepted/)
    }
  })

  it('error messages never quote decoded content', () => {
    const secret = 'SECRET-MARKER'
    const inputs = [
      bytes(plain.pack({ [secret]: secret }), 0x01),
      plain.pack({ [secret]: [secret, 2 ** 53] }).subarray(0, 20),
      bytes(0x92, fixstr(secret), 0xd4, 0x00, 0x00),
    ]
    for (const input of inputs) {
      let message = ''
      try {
        scanMsgpack(input, limits)
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError)
        message = (err as Error).message
      }
      expect(message).not.toBe('')
      expect(message).not.toContain(secret)
    }
  })
})
