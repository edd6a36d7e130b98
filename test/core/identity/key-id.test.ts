import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { KeyError } from '../../../src/core/errors.js'
import { KEY_ID_BYTES, KEY_ID_DOMAIN, formatKeyId, keyIdHex, keyIdOf, parseKeyId } from '../../../src/core/identity/key-id.js'
import { generateKeyPair, keyPairFromSeed } from '../../../src/core/identity/key-pair.js'
import { fromHex, toHex } from '../../../src/core/util/bytes.js'

describe('key id', () => {
  it('is SHA-256(domain || 0x00 || publicKey) truncated to 20 bytes, as documented', () => {
    const pub = fromHex('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c')
    const input = new Uint8Array([...new TextEncoder().encode(KEY_ID_DOMAIN), 0, ...pub])
    expect(keyIdOf(pub)).toEqual(sha256(input).slice(0, KEY_ID_BYTES))
    expect(keyIdHex(pub)).toMatch(/^[0-9a-f]{40}$/)
  })

  it('matches the known-answer vector quoted in PROTOCOL.md 8.1.1', async () => {
    const { readFile } = await import('node:fs/promises')
    const doc = await readFile(new URL('../../../PROTOCOL.md', import.meta.url), 'utf8')
    const id = keyIdHex(fromHex('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c'))
    expect(id).toBe('db3d6aab086bd1aa3a14d9ecdee60e2f878d04f7')
    expect(doc).toContain(`key id \`${id}\``)
  })

  it('is stable: the same key gives the same id across backends and loads', async () => {
    const seed = crypto.getRandomValues(new Uint8Array(32))
    const a = await keyPairFromSeed(seed, { backend: 'webcrypto' })
    const b = await keyPairFromSeed(seed, { backend: 'noble' })
    expect(a.keyIdHex).toBe(b.keyIdHex)
    expect(a.keyIdHex).toBe(keyIdHex(a.publicKey))
    expect(toHex(a.keyId)).toBe(a.keyIdHex)
  })

  it('differs between keys', async () => {
    const ids = new Set<string>()
    for (let i = 0; i < 20; i++) ids.add((await generateKeyPair()).keyIdHex)
    expect(ids.size).toBe(20)
  })

  it('text form round-trips; other lengths and malformed text are refused', () => {
    const id = keyIdOf(new Uint8Array(32).fill(7))
    expect(parseKeyId(formatKeyId(id))).toEqual(id)
    expect(() => parseKeyId('ab')).toThrow(KeyError)
    expect(() => parseKeyId(formatKeyId(id).toUpperCase())).toThrow(KeyError)
    expect(() => keyIdOf(new Uint8Array(31))).toThrow(KeyError)
  })
})
