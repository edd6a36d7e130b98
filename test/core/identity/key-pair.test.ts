import { describe, expect, it } from 'vitest'
import { KeyError } from '../../../src/core/errors.js'
import { defaultBackend, nobleBackend, seedToPkcs8, pkcs8ToSeed, webCryptoBackend } from '../../../src/core/identity/ed25519.js'
import { keyIdOf } from '../../../src/core/identity/key-id.js'
import {
  exportPublicKey,
  generateKeyPair,
  importPublicKey,
  keyPairFromCryptoKeys,
  keyPairFromSeed,
  verifySignature,
} from '../../../src/core/identity/key-pair.js'
import { fromHex, toHex } from '../../../src/core/util/bytes.js'

const data = new TextEncoder().encode('wspeer sign/verify round trip')

// RFC 8032 section 7.1, TEST 2: a one-byte message. Pins both backends to the standard, not to each other.
const RFC_SEED = fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb')
const RFC_PUBLIC = '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c'
const RFC_MESSAGE = fromHex('72')
const RFC_SIGNATURE =
  '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'

describe('Ed25519 key pairs', () => {
  it('uses WebCrypto on Node 20', async () => {
    expect((await defaultBackend()).name).toBe('webcrypto')
  })

  for (const backend of ['webcrypto', 'noble'] as const) {
    describe(`backend ${backend}`, () => {
      it('signs and verifies a round trip; a changed byte or another key fails', async () => {
        const pair = await generateKeyPair({ backend })
        const other = await generateKeyPair({ backend })
        expect(pair.backend).toBe(backend)
        const signature = await pair.sign(data)
        expect(signature).toHaveLength(64)
        expect(await verifySignature(pair.publicKey, data, signature, { backend })).toBe(true)
        const changed = data.slice()
        changed[3] = changed[3]! ^ 1
        expect(await verifySignature(pair.publicKey, changed, signature, { backend })).toBe(false)
        expect(await verifySignature(other.publicKey, data, signature, { backend })).toBe(false)
        const badSig = signature.slice()
        badSig[10] = badSig[10]! ^ 0x80
        expect(await verifySignature(pair.publicKey, data, badSig, { backend })).toBe(false)
      })

      it('matches the RFC 8032 test vector', async () => {
        const pair = await keyPairFromSeed(RFC_SEED, { backend })
        expect(toHex(pair.publicKey)).toBe(RFC_PUBLIC)
        expect(toHex(await pair.sign(RFC_MESSAGE))).toBe(RFC_SIGNATURE)
        expect(await verifySignature(pair.publicKey, RFC_MESSAGE, fromHex(RFC_SIGNATURE), { backend })).toBe(true)
      })

      it('returns false, never throws, for malformed keys and signatures', async () => {
        const pair = await generateKeyPair({ backend })
        const signature = await pair.sign(data)
        expect(await verifySignature(new Uint8Array(31), data, signature, { backend })).toBe(false)
        expect(await verifySignature(pair.publicKey, data, signature.subarray(0, 63), { backend })).toBe(false)
        // y = 2 is not on the curve: an invalid point, not a key.
        const notAPoint = new Uint8Array(32)
        notAPoint[0] = 2
        expect(await verifySignature(notAPoint, data, signature, { backend })).toBe(false)
      })

      it('exports the seed of an extractable key only', async () => {
        const extractable = await generateKeyPair({ backend, extractable: true })
        const again = await keyPairFromSeed(await extractable.exportSeed(), { backend })
        expect(toHex(again.publicKey)).toBe(toHex(extractable.publicKey))
        const locked = await generateKeyPair({ backend })
        await expect(locked.exportSeed()).rejects.toBeInstanceOf(KeyError)
      })
    })
  }

  it('both backends produce identical signatures and accept each other', async () => {
    const seed = globalThis.crypto.getRandomValues(new Uint8Array(32))
    const web = await keyPairFromSeed(seed, { backend: 'webcrypto' })
    const noble = await keyPairFromSeed(seed, { backend: 'noble' })
    expect(toHex(web.publicKey)).toBe(toHex(noble.publicKey))
    const sig = await web.sign(data)
    expect(toHex(await noble.sign(data))).toBe(toHex(sig))
    expect(await nobleBackend.verify(web.publicKey, data, sig)).toBe(true)
    expect(await webCryptoBackend.verify(noble.publicKey, data, await noble.sign(data))).toBe(true)
  })

  it('wraps existing WebCrypto keys (the browser IndexedDB case)', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair
    const wrapped = await keyPairFromCryptoKeys(pair.privateKey, pair.publicKey)
    expect(wrapped.extractable).toBe(false)
    const sig = await wrapped.sign(data)
    expect(await crypto.subtle.verify({ name: 'Ed25519' }, pair.publicKey, new Uint8Array(sig), data)).toBe(true)
    expect(toHex(wrapped.keyId)).toBe(toHex(keyIdOf(wrapped.publicKey)))
    await expect(wrapped.exportSeed()).rejects.toBeInstanceOf(KeyError)
  })

  it('imports and exports raw 32-byte public keys, refusing other lengths', async () => {
    const pair = await generateKeyPair()
    const raw = exportPublicKey(pair)
    expect(raw).toHaveLength(32)
    expect(toHex(importPublicKey(raw))).toBe(toHex(pair.publicKey))
    expect(() => importPublicKey(new Uint8Array(33))).toThrow(KeyError)
  })

  it('PKCS#8 wrapping round-trips and refuses other DER', () => {
    const seed = RFC_SEED
    expect(toHex(pkcs8ToSeed(seedToPkcs8(seed)))).toBe(toHex(seed))
    const der = seedToPkcs8(seed)
    der[9] = 0x71 // another OID (Ed448)
    expect(() => pkcs8ToSeed(der)).toThrow(KeyError)
    expect(() => seedToPkcs8(new Uint8Array(31))).toThrow(KeyError)
  })
})
