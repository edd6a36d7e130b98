/**
 * The Ed25519 primitive behind key-pair.ts, with two interchangeable backends: WebCrypto (Node 20,
 * Chromium, recent Firefox and Safari; needs a secure context in browsers) and @noble/curves (pure
 * JavaScript, for runtimes whose WebCrypto lacks Ed25519). Both produce identical signatures
 * (Ed25519 is deterministic), so peers on different backends interoperate.
 *
 * In: a 32-byte seed or nothing (fresh key), bytes to sign or verify. Out: raw 32-byte public keys,
 * 64-byte signatures, and a boolean from verify (never an exception for a bad signature or key).
 */
import { KeyError } from '../errors.js'
import { bytesEqual } from '../util/bytes.js'

/** Raw Ed25519 public key length (RFC 8032). */
export const PUBLIC_KEY_BYTES = 32
/** Ed25519 private seed length (RFC 8032). */
export const SEED_BYTES = 32
/** Ed25519 signature length (RFC 8032). */
export const SIGNATURE_BYTES = 64

/**
 * PKCS#8 DER header of an Ed25519 private key (RFC 8410): what precedes the 32-byte seed. WebCrypto
 * imports seeds only through PKCS#8 or JWK, and every encoder writes exactly this prefix.
 */
export const ED25519_PKCS8_PREFIX = new Uint8Array([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
])

export type Ed25519BackendName = 'webcrypto' | 'noble'

/** A private key held by one backend. `exportSeed` fails for non-extractable keys. */
export interface Ed25519PrivateKey {
  readonly publicKey: Uint8Array
  readonly extractable: boolean
  sign(data: Uint8Array): Promise<Uint8Array>
  exportSeed(): Promise<Uint8Array>
}

export interface Ed25519Backend {
  readonly name: Ed25519BackendName
  generate(extractable: boolean): Promise<Ed25519PrivateKey>
  fromSeed(seed: Uint8Array, extractable: boolean): Promise<Ed25519PrivateKey>
  verify(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean>
}

/** WebCrypto wants ArrayBuffer-backed views; a copy also detaches us from the caller's buffer. */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes)
}

export function seedToPkcs8(seed: Uint8Array): Uint8Array {
  if (seed.length !== SEED_BYTES) throw new KeyError(`an Ed25519 seed is ${SEED_BYTES} bytes, got ${seed.length}`)
  const out = new Uint8Array(ED25519_PKCS8_PREFIX.length + SEED_BYTES)
  out.set(ED25519_PKCS8_PREFIX)
  out.set(seed, ED25519_PKCS8_PREFIX.length)
  return out
}

export function pkcs8ToSeed(der: Uint8Array): Uint8Array {
  const prefix = der.subarray(0, ED25519_PKCS8_PREFIX.length)
  if (der.length !== ED25519_PKCS8_PREFIX.length + SEED_BYTES || !bytesEqual(prefix, ED25519_PKCS8_PREFIX)) {
    throw new KeyError('not an Ed25519 PKCS#8 private key')
  }
  return der.slice(ED25519_PKCS8_PREFIX.length)
}

const ALGORITHM = { name: 'Ed25519' } as const

class WebCryptoKey implements Ed25519PrivateKey {
  readonly publicKey: Uint8Array
  readonly extractable: boolean
  readonly #key: CryptoKey

  constructor(key: CryptoKey, publicKey: Uint8Array) {
    this.#key = key
    this.publicKey = publicKey
    this.extractable = key.extractable
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await globalThis.crypto.subtle.sign(ALGORITHM, this.#key, own(data)))
  }

  async exportSeed(): Promise<Uint8Array> {
    if (!this.extractable) throw new KeyError('the private key is not extractable')
    return pkcs8ToSeed(new Uint8Array(await globalThis.crypto.subtle.exportKey('pkcs8', this.#key)))
  }
}

export const webCryptoBackend: Ed25519Backend = {
  name: 'webcrypto',
  async generate(extractable) {
    const pair = (await globalThis.crypto.subtle.generateKey(ALGORITHM, extractable, ['sign', 'verify'])) as CryptoKeyPair
    const publicKey = new Uint8Array(await globalThis.crypto.subtle.exportKey('raw', pair.publicKey))
    return new WebCryptoKey(pair.privateKey, publicKey)
  },
  async fromSeed(seed, extractable) {
    const subtle = globalThis.crypto.subtle
    const der = own(seedToPkcs8(seed))
    // WebCrypto derives the public key only through a JWK export, which needs an extractable key;
    // a second, non-extractable import is what gets kept when the caller asked for one.
    const probe = await subtle.importKey('pkcs8', der, ALGORITHM, true, ['sign'])
    const jwk = await subtle.exportKey('jwk', probe)
    if (typeof jwk.x !== 'string') throw new KeyError('WebCrypto returned no public key for the seed')
    const publicKey = fromBase64Url(jwk.x)
    const key = extractable ? probe : await subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign'])
    return new WebCryptoKey(key, publicKey)
  },
  async verify(publicKey, data, signature) {
    if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false
    try {
      const key = await globalThis.crypto.subtle.importKey('raw', own(publicKey), ALGORITHM, false, ['verify'])
      return await globalThis.crypto.subtle.verify(ALGORITHM, key, own(signature), own(data))
    } catch {
      // An invalid point is not a valid signature; callers only need the boolean.
      return false
    }
  },
}

type NobleEd25519 = typeof import('@noble/curves/ed25519.js').ed25519
let noble: Promise<NobleEd25519> | undefined
// Loaded on demand so runtimes with WebCrypto Ed25519 never fetch or parse it.
const loadNoble = (): Promise<NobleEd25519> => (noble ??= import('@noble/curves/ed25519.js').then((m) => m.ed25519))

class NobleKey implements Ed25519PrivateKey {
  readonly publicKey: Uint8Array
  readonly extractable: boolean
  readonly #seed: Uint8Array
  readonly #ed: NobleEd25519

  constructor(ed: NobleEd25519, seed: Uint8Array, extractable: boolean) {
    this.#ed = ed
    this.#seed = seed.slice()
    this.publicKey = ed.getPublicKey(this.#seed)
    this.extractable = extractable
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    return this.#ed.sign(data, this.#seed)
  }

  async exportSeed(): Promise<Uint8Array> {
    if (!this.extractable) throw new KeyError('the private key is not extractable')
    return this.#seed.slice()
  }
}

export const nobleBackend: Ed25519Backend = {
  name: 'noble',
  async generate(extractable) {
    return new NobleKey(await loadNoble(), globalThis.crypto.getRandomValues(new Uint8Array(SEED_BYTES)), extractable)
  },
  async fromSeed(seed, extractable) {
    if (seed.length !== SEED_BYTES) throw new KeyError(`an Ed25519 seed is ${SEED_BYTES} bytes, got ${seed.length}`)
    return new NobleKey(await loadNoble(), seed, extractable)
  },
  async verify(publicKey, data, signature) {
    if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false
    const ed = await loadNoble()
    try {
      // zip215 off: the strict RFC 8032 rules, as WebCrypto (OpenSSL, BoringSSL) applies them, so
      // both backends accept exactly the same signatures.
      return ed.verify(signature, data, publicKey, { zip215: false })
    } catch {
      return false
    }
  },
}

let detected: Promise<Ed25519Backend> | undefined

/** WebCrypto when it can generate an Ed25519 key here, @noble/curves otherwise; decided once. */
export function defaultBackend(): Promise<Ed25519Backend> {
  return (detected ??= (async () => {
    try {
      if (globalThis.crypto?.subtle === undefined) return nobleBackend
      await globalThis.crypto.subtle.generateKey(ALGORITHM, false, ['sign', 'verify'])
      return webCryptoBackend
    } catch {
      return nobleBackend
    }
  })())
}

export function backendByName(name: Ed25519BackendName): Ed25519Backend {
  return name === 'webcrypto' ? webCryptoBackend : nobleBackend
}

function fromBase64Url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/')
  const binary = globalThis.atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}
