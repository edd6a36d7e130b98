/**
 * The Node peer's key on disk: `<dataDir>/peer.key`, the Ed25519 private key as PKCS#8 PEM
 * ("BEGIN PRIVATE KEY", readable by `openssl pkey`), owner-only (0600) in a directory created
 * 0700. A key file that group or others can access, that is not a regular file, that is a symlink
 * or that belongs to another user is refused (KeyError), never silently repaired: a key others
 * could read must be replaced, not trusted.
 *
 * In: a data directory path. Out: the peer's KeyPair (non-extractable in memory) and whether it
 * was created now; `keygen` returns what an operator needs for a membership file.
 *
 *   const { keyPair, created } = await loadOrCreateKey('/var/lib/wspeer/vp0')
 */
import { constants } from 'node:fs'
import { link, mkdir, open, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { KeyError } from '../core/errors.js'
import { seedToPkcs8, pkcs8ToSeed } from '../core/identity/ed25519.js'
import { generateKeyPair, keyPairFromSeed, type KeyPair } from '../core/identity/key-pair.js'
import { toHex } from '../core/util/bytes.js'

/** Name of the key file inside the data directory. */
export const KEY_FILE_NAME = 'peer.key'
/** Mode of a key file: owner read/write only. */
export const KEY_FILE_MODE = 0o600
/** Mode of a data directory this module creates: owner only. */
export const DATA_DIR_MODE = 0o700
/** Largest key file read (a PKCS#8 Ed25519 PEM is 119 bytes); anything bigger is not ours. */
export const MAX_KEY_FILE_BYTES = 4096

const PEM_HEADER = '-----BEGIN PRIVATE KEY-----'
const PEM_FOOTER = '-----END PRIVATE KEY-----'
// POSIX permission bits are meaningless on Windows, where Node reports 0666 for every file.
const CHECK_MODES = process.platform !== 'win32'

export interface LoadedKey {
  keyPair: KeyPair
  path: string
  /** True when the key did not exist and was generated now. */
  created: boolean
}

export interface KeygenResult {
  /** Raw public key, 64 hex digits: the `publicKey` of a membership entry. */
  publicKey: string
  publicKeyBase64: string
  /** 40 hex digits (src/core/identity/key-id.ts). */
  keyId: string
  path: string
  created: boolean
}

export function keyFilePath(dataDir: string): string {
  return join(dataDir, KEY_FILE_NAME)
}

export function encodeKeyPem(seed: Uint8Array): string {
  const body = Buffer.from(seedToPkcs8(seed)).toString('base64')
  return `${PEM_HEADER}\n${body}\n${PEM_FOOTER}\n`
}

export function decodeKeyPem(text: string): Uint8Array {
  const lines = text.trim().split(/\r?\n/)
  if (lines.length < 3 || lines[0] !== PEM_HEADER || lines[lines.length - 1] !== PEM_FOOTER) throw new KeyError('the key file is not a PKCS#8 PEM private key')
  const body = lines.slice(1, -1).join('')
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new KeyError('the key file is not a PKCS#8 PEM private key')
  return pkcs8ToSeed(new Uint8Array(Buffer.from(body, 'base64')))
}

/** Refuses a directory others may write to: they could swap the key file. */
async function checkDir(dataDir: string): Promise<void> {
  const info = await stat(dataDir)
  if (!info.isDirectory()) throw new KeyError(`${dataDir} is not a directory`)
  if (CHECK_MODES && (info.mode & 0o022) !== 0) {
    throw new KeyError(`data directory ${dataDir} is writable by group or others (mode ${(info.mode & 0o777).toString(8)}); run chmod 700 on it`)
  }
}

/** Reads and checks an existing key file; KeyError when it is unsafe or unreadable as a key. */
export async function loadKey(path: string): Promise<KeyPair> {
  // O_NOFOLLOW and fstat on the open descriptor: what is checked is what is read.
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP') throw new KeyError(`key file ${path} is a symbolic link; refusing it`)
    throw err
  })
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw new KeyError(`key file ${path} is not a regular file`)
    if (CHECK_MODES) {
      if ((info.mode & 0o077) !== 0) {
        throw new KeyError(
          `key file ${path} is accessible by group or others (mode ${(info.mode & 0o777).toString(8)}); refusing it. ` +
            'Treat the key as exposed: delete it to generate a new one, or chmod 600 it if you are sure it was never read',
        )
      }
      const uid = process.getuid?.()
      if (uid !== undefined && info.uid !== uid) throw new KeyError(`key file ${path} belongs to another user (uid ${info.uid})`)
    }
    if (info.size > MAX_KEY_FILE_BYTES) throw new KeyError(`key file ${path} is larger than ${MAX_KEY_FILE_BYTES} bytes`)
    const text = await handle.readFile({ encoding: 'utf8' })
    return await keyPairFromSeed(decodeKeyPem(text), { extractable: false })
  } finally {
    await handle.close()
  }
}

/** Loads `<dataDir>/peer.key`, creating the directory (0700) and the key (0600) on first use. */
export async function loadOrCreateKey(dataDir: string): Promise<LoadedKey> {
  await mkdir(dataDir, { recursive: true, mode: DATA_DIR_MODE })
  await checkDir(dataDir)
  const path = keyFilePath(dataDir)
  try {
    return { keyPair: await loadKey(path), path, created: false }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const fresh = await generateKeyPair({ extractable: true })
  const seed = await fresh.exportSeed()
  // Written to a private temporary name, then hard-linked into place: the key file appears whole
  // or not at all, and of two processes starting at once exactly one key wins (link fails EEXIST).
  const tmp = join(dataDir, `.${KEY_FILE_NAME}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, KEY_FILE_MODE)
  try {
    await handle.chmod(KEY_FILE_MODE)
    await handle.writeFile(encodeKeyPem(seed), 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
    seed.fill(0)
  }
  try {
    await link(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return { keyPair: await loadKey(path), path, created: false }
  } finally {
    await unlink(tmp).catch(() => undefined)
  }
  return { keyPair: await loadKey(path), path, created: true }
}

/** What `wspeer keygen` prints: the public key and key id of the data directory's key, creating it if needed. */
export async function keygen(dataDir: string): Promise<KeygenResult> {
  const { keyPair, path, created } = await loadOrCreateKey(dataDir)
  return {
    publicKey: toHex(keyPair.publicKey),
    publicKeyBase64: Buffer.from(keyPair.publicKey).toString('base64'),
    keyId: keyPair.keyIdHex,
    path,
    created,
  }
}
