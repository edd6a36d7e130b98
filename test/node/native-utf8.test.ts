/**
 * Node's offset-taking UTF-8 calls must give exactly the portable codec's bytes and strings, for
 * well-formed text and for what the wire may bring instead: lone surrogates to write, invalid
 * bytes to read, a leading BOM.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { portableUtf8, useUtf8Codec, utf8Read, utf8Write, type Utf8Codec } from '../../src/core/util/utf8.js'
import { installNativeUtf8, nodeUtf8 } from '../../src/node/native-utf8.js'
import { seededRandom } from '../support/seeded-random.js'
import { testSeed } from '../support/test-seed.js'

afterEach(() => useUtf8Codec(portableUtf8))

/** Code units mixing ASCII, two- and three-byte characters, surrogate pairs, lone surrogates and BOMs. */
function randomText(rand: () => number, length: number): string {
  const pools = [
    () => 0x20 + Math.floor(rand() * 0x5f),
    () => 0x80 + Math.floor(rand() * 0x780),
    () => 0x800 + Math.floor(rand() * 0xd000),
    () => 0xfeff,
    () => 0xd800 + Math.floor(rand() * 0x800),
  ]
  let text = ''
  while (text.length < length) {
    if (rand() < 0.1) text += String.fromCodePoint(0x10000 + Math.floor(rand() * 0xfffff))
    else text += String.fromCharCode(pools[Math.floor(rand() * pools.length)]!())
  }
  return text
}

function written(codec: Utf8Codec, text: string, offset: number): Uint8Array {
  const target = new Uint8Array(offset + 3 * text.length + 8).fill(0xaa)
  const n = codec.write(target, text, offset)
  return target.subarray(0, offset + n)
}

describe('native UTF-8', () => {
  it('writes the portable bytes at any offset and reads back the portable strings, invalid bytes included', () => {
    const seed = testSeed('native-utf8')
    const rand = seededRandom(seed)
    for (let i = 0; i < 500; i++) {
      const text = randomText(rand, Math.floor(rand() * 300))
      const offset = Math.floor(rand() * 40)
      const ours = written(nodeUtf8, text, offset)
      expect(Buffer.from(ours).equals(Buffer.from(written(portableUtf8, text, offset)))).toBe(true)
      expect(nodeUtf8.read(ours, offset, ours.length)).toBe(portableUtf8.read(ours, offset, ours.length))
      // Arbitrary bytes: truncated sequences, overlongs, surrogates encoded in UTF-8, stray continuations.
      const noise = new Uint8Array(Math.floor(rand() * 64)).map(() => Math.floor(rand() * 256))
      const start = Math.floor(rand() * (noise.length + 1))
      expect(nodeUtf8.read(noise, start, noise.length)).toBe(portableUtf8.read(noise, start, noise.length))
    }
    expect(nodeUtf8.read(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), 0, 4)).toBe('\ufeffa')
  })

  it('is what utf8Write and utf8Read use once installed', () => {
    const target = new Uint8Array(16)
    const calls: string[] = []
    useUtf8Codec({
      write: (t, text, offset) => (calls.push(`write ${text} ${offset}`), portableUtf8.write(t, text, offset)),
      read: (b, s, e) => (calls.push(`read ${s} ${e}`), portableUtf8.read(b, s, e)),
    })
    expect(utf8Write(target, 'hé', 2)).toBe(3)
    expect(utf8Read(target, 2, 5)).toBe('hé')
    expect(calls).toEqual(['write hé 2', 'read 2 5'])
    installNativeUtf8()
    expect(utf8Write(target, 'ok', 0)).toBe(2)
    expect(utf8Read(target, 0, 2)).toBe('ok')
    expect(calls).toHaveLength(2)
  })
})
