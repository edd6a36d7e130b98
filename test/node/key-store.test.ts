import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { KeyError } from '../../src/core/errors.js'
import { verifySignature } from '../../src/core/identity/key-pair.js'
import { keyIdHex } from '../../src/core/identity/key-id.js'
import { fromHex } from '../../src/core/util/bytes.js'
import { decodeKeyPem, encodeKeyPem, keyFilePath, keygen, loadKey, loadOrCreateKey } from '../../src/node/key-store.js'

let root: string
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'wspeer-keys-'))
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

const msg = new TextEncoder().encode('hello')

describe('key store', () => {
  it('creates the key 0600 in a new 0700 directory, then loads the same key', async () => {
    const dir = join(root, 'vp0', 'data')
    const first = await loadOrCreateKey(dir)
    expect(first.created).toBe(true)
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    expect((await stat(first.path)).mode & 0o777).toBe(0o600)
    expect(first.keyPair.extractable).toBe(false)
    const second = await loadOrCreateKey(dir)
    expect(second.created).toBe(false)
    expect(second.keyPair.keyIdHex).toBe(first.keyPair.keyIdHex)
    // The reloaded key signs for the same public key.
    expect(await verifySignature(first.keyPair.publicKey, msg, await second.keyPair.sign(msg))).toBe(true)
  })

  it('writes PKCS#8 PEM that round-trips, and leaves no temporary file', async () => {
    const { path } = await loadOrCreateKey(root)
    const text = await readFile(path, 'utf8')
    expect(text).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=]+\n-----END PRIVATE KEY-----\n$/)
    expect(encodeKeyPem(decodeKeyPem(text))).toBe(text)
    const { readdir } = await import('node:fs/promises')
    expect(await readdir(root)).toEqual(['peer.key'])
  })

  it('two concurrent first starts end with one key', async () => {
    const [a, b] = await Promise.all([loadOrCreateKey(root), loadOrCreateKey(root)])
    expect(a.keyPair.keyIdHex).toBe(b.keyPair.keyIdHex)
    expect([a.created, b.created].filter(Boolean)).toHaveLength(1)
  })

  for (const mode of [0o640, 0o604, 0o644, 0o660]) {
    it(`refuses a key file with mode ${mode.toString(8)}`, async () => {
      const { path } = await loadOrCreateKey(root)
      await chmod(path, mode)
      await expect(loadOrCreateKey(root)).rejects.toThrow(KeyError)
      await expect(loadKey(path)).rejects.toThrow(/group or others/)
      // Refused, not repaired.
      expect((await stat(path)).mode & 0o777).toBe(mode)
    })
  }

  it('refuses a data directory others can write to', async () => {
    const dir = join(root, 'open')
    await mkdir(dir)
    await chmod(dir, 0o777)
    await expect(loadOrCreateKey(dir)).rejects.toThrow(/writable by group or others/)
  })

  it('refuses a symlinked key file and a key file that is not a key', async () => {
    const real = await loadOrCreateKey(join(root, 'real'))
    const dir = join(root, 'linked')
    await mkdir(dir, { mode: 0o700 })
    await symlink(real.path, keyFilePath(dir))
    await expect(loadOrCreateKey(dir)).rejects.toThrow(/symbolic link/)

    const junk = join(root, 'junk')
    await mkdir(junk, { mode: 0o700 })
    await writeFile(keyFilePath(junk), 'not a key\n', { mode: 0o600 })
    await expect(loadOrCreateKey(junk)).rejects.toThrow(KeyError)
  })

  it('keygen returns the public key and key id of the stored key', async () => {
    const out = await keygen(root)
    expect(out.created).toBe(true)
    expect(out.publicKey).toMatch(/^[0-9a-f]{64}$/)
    expect(out.keyId).toBe(keyIdHex(fromHex(out.publicKey)))
    expect(Buffer.from(out.publicKeyBase64, 'base64').toString('hex')).toBe(out.publicKey)
    const again = await keygen(root)
    expect(again.created).toBe(false)
    expect(again.keyId).toBe(out.keyId)
  })
})
