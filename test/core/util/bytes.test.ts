import { describe, expect, it } from 'vitest'
import { bytesEqual, fromHex, toHex } from '../../../src/core/util/bytes.js'

/** The obvious implementation, to compare the fast one against. */
function referenceHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

function bytesOf(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

describe('toHex', () => {
  it('writes every byte value as two lowercase digits', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    expect(toHex(all)).toBe(referenceHex(all))
    expect(toHex(new Uint8Array(0))).toBe('')
  })

  it('matches the obvious implementation at hash size, around it, and past the one-call chunk', () => {
    for (const length of [1, 31, 32, 33, 64, 4095, 4096, 4097, 10_000]) {
      const bytes = bytesOf(length, length)
      expect(toHex(bytes)).toBe(referenceHex(bytes))
    }
  })

  it('converts a range, and consecutive 32-byte hashes do not share their result', () => {
    const bytes = bytesOf(96, 7)
    const first = toHex(bytes, 0, 32)
    const second = toHex(bytes, 32, 64)
    expect(first).toBe(referenceHex(bytes.subarray(0, 32)))
    expect(second).toBe(referenceHex(bytes.subarray(32, 64)))
    expect(toHex(bytes, 10, 10)).toBe('')
    expect(toHex(bytes, 90)).toBe(referenceHex(bytes.subarray(90)))
  })

  it('round-trips through fromHex', () => {
    const bytes = bytesOf(200, 3)
    expect(bytesEqual(fromHex(toHex(bytes)), bytes)).toBe(true)
  })
})
