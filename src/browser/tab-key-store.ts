/**
 * A browser's peer key: a non-extractable Ed25519 WebCrypto key pair kept in IndexedDB, so a
 * reloaded tab proves the same key id and no script (ours included) can ever read the private
 * key out. IndexedDB stores CryptoKey objects by structured clone without exposing their bytes.
 *
 * One key per origin: tabs of one browser share it under different peer IDs, which the handshake
 * allows for non-members (SECURITY.md). Where IndexedDB or WebCrypto Ed25519 is missing (an
 * insecure http:// origin other than localhost, an old browser), the tab gets a fresh in-memory
 * key instead and says so through `persistent: false`.
 *
 * In: nothing (or a database name, for tests). Out: the tab's KeyPair.
 */
import { generateKeyPair, keyPairFromCryptoKeys, type KeyPair } from '../core/identity/key-pair.js'

/** IndexedDB database holding the tab key. */
export const TAB_KEY_DB_NAME = 'wspeer'
/** Object store and record key inside it. */
export const TAB_KEY_STORE = 'keys'
export const TAB_KEY_RECORD = 'peer'

export interface TabKey {
  keyPair: KeyPair
  /** True when the key lives in IndexedDB and survives reloads. */
  persistent: boolean
}

interface StoredKey {
  privateKey: CryptoKey
  publicKey: CryptoKey
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'))
  })
}

function openDb(name: string): Promise<IDBDatabase> {
  const req = globalThis.indexedDB.open(name, 1)
  req.onupgradeneeded = () => req.result.createObjectStore(TAB_KEY_STORE)
  return request(req)
}

async function loadOrCreate(name: string): Promise<KeyPair> {
  const db = await openDb(name)
  try {
    const stored = (await request(db.transaction(TAB_KEY_STORE, 'readonly').objectStore(TAB_KEY_STORE).get(TAB_KEY_RECORD))) as StoredKey | undefined
    if (stored !== undefined) return await keyPairFromCryptoKeys(stored.privateKey, stored.publicKey)
    const pair = (await globalThis.crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair
    // `add`, not `put`: of two tabs creating a key at once, the second fails and reads the first's.
    try {
      await request(db.transaction(TAB_KEY_STORE, 'readwrite').objectStore(TAB_KEY_STORE).add({ privateKey: pair.privateKey, publicKey: pair.publicKey } satisfies StoredKey, TAB_KEY_RECORD))
    } catch {
      const winner = (await request(db.transaction(TAB_KEY_STORE, 'readonly').objectStore(TAB_KEY_STORE).get(TAB_KEY_RECORD))) as StoredKey | undefined
      if (winner !== undefined) return await keyPairFromCryptoKeys(winner.privateKey, winner.publicKey)
    }
    return await keyPairFromCryptoKeys(pair.privateKey, pair.publicKey)
  } finally {
    db.close()
  }
}

/** The origin's persistent tab key, or a fresh in-memory one where that cannot be had. */
export async function loadTabKey(options: { dbName?: string } = {}): Promise<TabKey> {
  if (globalThis.indexedDB !== undefined && globalThis.crypto?.subtle !== undefined) {
    try {
      return { keyPair: await loadOrCreate(options.dbName ?? TAB_KEY_DB_NAME), persistent: true }
    } catch {
      // No Ed25519 in this WebCrypto, or storage refused (private mode): fall through.
    }
  }
  return { keyPair: await generateKeyPair(), persistent: false }
}
