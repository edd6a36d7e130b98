import { Packr, Unpackr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import {
  MSGPACK_WRITER_KEPT_BYTES,
  MsgpackWriter,
  binHeaderBytes,
  containerHeaderBytes,
  strHeaderBytes,
  uintBytes,
  writeArrayHeaderAt,
  writeBinAt,
  writeMapHeaderAt,
  writeStrHeaderAt,
  writeUintAt,
} from '../../../src/core/wire/msgpack-writer.js'
import { createPrng, randomLength, randomText, randomUint, testSeed } from './wire-fixtures.js'

const reader = new Unpackr({ useRecords: false, mapsAsObjects: true })
/** msgpackr as payloads.ts configures it: what every byte wspeer writes must match. */
const reference = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, variableMapSize: true })
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const packed = (value: unknown) => hex(reference.pack(value))

/** What one write*At call puts into an exactly sized buffer, checking it fills the buffer. */
function exactly(size: number, write: (out: Uint8Array) => number): string {
  const out = new Uint8Array(size)
  expect(write(out)).toBe(size)
  return hex(out)
}

describe('the msgpack writer against msgpackr (seeded)', () => {
  it('writes integers as msgpackr does: shortest form, float 64 from 2^32 on (around 2^32 and 2^53 too)', () => {
    for (const [n, bytes] of [
      [2 ** 32 - 1, 'ceffffffff'],
      [2 ** 32, 'cb41f0000000000000'],
      [1_700_000_000_000, 'cb4278bcfe56800000'],
      [Number.MAX_SAFE_INTEGER, 'cb433fffffffffffff'],
    ] as const) {
      expect(packed(n)).toBe(bytes)
      expect(exactly(uintBytes(n), (out) => writeUintAt(out, 0, n))).toBe(bytes)
    }
    const seed = testSeed('msgpack-writer integers')
    const prng = createPrng(seed)
    const w = new MsgpackWriter()
    for (let round = 0; round < 3000; round++) {
      const n = randomUint(prng)
      const want = packed(n)
      w.uint(n)
      expect(hex(w.finish()), `seed ${seed} round ${round}: ${n}`).toBe(want)
      expect(exactly(uintBytes(n), (out) => writeUintAt(out, 0, n)), `seed ${seed} round ${round}: ${n}`).toBe(want)
    }
  })

  it('writes strings, bins, arrays and maps with the headers msgpackr gives them', () => {
    const seed = testSeed('msgpack-writer lengths')
    const prng = createPrng(seed)
    const w = new MsgpackWriter()
    for (let round = 0; round < 300; round++) {
      const at = `seed ${seed} round ${round}`
      const text = randomText(prng, randomLength(prng))
      w.str(text)
      const str = w.finish()
      expect(hex(str), at).toBe(packed(text))
      const utf8 = Buffer.byteLength(text)
      expect(exactly(strHeaderBytes(utf8), (out) => writeStrHeaderAt(out, 0, utf8)), at).toBe(hex(str.subarray(0, str.length - utf8)))

      const bytes = prng.bytes(randomLength(prng))
      w.bin(bytes)
      expect(hex(w.finish()), at).toBe(packed(bytes))
      expect(exactly(binHeaderBytes(bytes.length) + bytes.length, (out) => writeBinAt(out, 0, bytes)), at).toBe(packed(bytes))

      // Containers of nils, so the header is all that differs.
      const count = randomLength(prng)
      const list = new Array<null>(count).fill(null)
      w.array(count)
      for (let i = 0; i < count; i++) w.nil()
      expect(hex(w.finish()), at).toBe(packed(list))
      expect(exactly(containerHeaderBytes(count), (out) => writeArrayHeaderAt(out, 0, count)), at).toBe(packed(list).slice(0, -2 * count || undefined))
      if (count <= 0x10000 + 2 && prng.next() < 0.2) {
        const keys = Array.from({ length: count }, (_, i) => `k${i}`)
        w.map(count)
        for (const key of keys) {
          w.str(key)
          w.nil()
        }
        const map = w.finish()
        expect(hex(map), at).toBe(packed(Object.fromEntries(keys.map((k) => [k, null]))))
        expect(exactly(containerHeaderBytes(count), (out) => writeMapHeaderAt(out, 0, count)), at).toBe(hex(map.subarray(0, containerHeaderBytes(count))))
      }
    }
  })
})

describe('MsgpackWriter', () => {
  it('hands out views that later messages never overwrite, in the same buffer or after it is replaced', () => {
    const w = new MsgpackWriter()
    const views: { bytes: Uint8Array; text: string }[] = []
    // Enough messages of growing size to fill several buffers, one larger than a buffer alone.
    for (let i = 0; i < 400; i++) {
      const text = String(i).repeat(i === 200 ? MSGPACK_WRITER_KEPT_BYTES : 1 + (i % 700))
      w.str(text)
      views.push({ bytes: w.finishShared(), text })
    }
    for (const { bytes, text } of views) expect(reader.unpack(bytes)).toBe(text)
  })

  it('mixes copies and views, and a reset drops only the message being written', () => {
    const w = new MsgpackWriter()
    w.str('first')
    const view = w.finishShared()
    w.str('dropped')
    w.reset()
    w.uint(7)
    const copy = w.finish()
    w.str('x'.repeat(3 * MSGPACK_WRITER_KEPT_BYTES)) // grows past the kept size mid-message
    const big = w.finish()
    w.str('last')
    const last = w.finishShared()
    expect([view, copy, big, last].map((b) => reader.unpack(b))).toEqual(['first', 7, 'x'.repeat(3 * MSGPACK_WRITER_KEPT_BYTES), 'last'])
    expect(copy.byteOffset).toBe(0)
    expect(copy.buffer.byteLength).toBe(copy.byteLength)
  })
})
