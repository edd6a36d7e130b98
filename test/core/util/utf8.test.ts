import { afterEach, describe, expect, it } from 'vitest'
import { UTF8_SHORT_ASCII, portableUtf8, useUtf8Codec, utf8Write } from '../../../src/core/util/utf8.js'
import { seededRandom } from '../../support/seeded-random.js'
import { testSeed } from '../../support/test-seed.js'

afterEach(() => useUtf8Codec(portableUtf8))

describe('utf8Write', () => {
  it(`writes ASCII strings of up to ${UTF8_SHORT_ASCII} characters itself and hands the rest to the codec`, () => {
    const written: string[] = []
    useUtf8Codec({ ...portableUtf8, write: (t, text, offset) => (written.push(text), portableUtf8.write(t, text, offset)) })
    const target = new Uint8Array(256)
    const short = 'a'.repeat(UTF8_SHORT_ASCII)
    expect(utf8Write(target, short, 3)).toBe(UTF8_SHORT_ASCII)
    expect(new TextDecoder().decode(target.subarray(3, 3 + UTF8_SHORT_ASCII))).toBe(short)
    expect(utf8Write(target, '', 0)).toBe(0)
    expect(written).toEqual([])
    expect(utf8Write(target, `${short}b`, 0)).toBe(UTF8_SHORT_ASCII + 1)
    expect(utf8Write(target, 'abcé', 0)).toBe(5)
    expect(written).toEqual([`${short}b`, 'abcé'])
  })

  it('gives the bytes TextEncoder gives, a non-ASCII character at any position included (randomized)', () => {
    const seed = testSeed('utf8Write')
    const rand = seededRandom(seed)
    const alphabet = ['a', 'Z', '0', '=', '~', '\u007f', 'é', '€', '😀', '\ud800']
    const target = new Uint8Array(512)
    for (let i = 0; i < 2000; i++) {
      const length = Math.floor(rand() * (UTF8_SHORT_ASCII + 8))
      const text = Array.from({ length }, () => (rand() < 0.9 ? alphabet[Math.floor(rand() * 6)] : alphabet[6 + Math.floor(rand() * 4)])).join('')
      target.fill(0xee)
      const offset = Math.floor(rand() * 16)
      const n = utf8Write(target, text, offset)
      const expected = new TextEncoder().encode(text)
      expect(Buffer.from(target.subarray(offset, offset + n)).equals(Buffer.from(expected)), `seed ${seed}: ${JSON.stringify(text)}`).toBe(true)
    }
  })
})
