import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/core/errors.js'
import { generateKeyPair } from '../../../src/core/identity/key-pair.js'
import { formatMembership, parseMembership, validateMembership } from '../../../src/core/identity/membership.js'
import { toHex } from '../../../src/core/util/bytes.js'
import { EndpointType } from '../../../src/core/wire/payload-types.js'

const [k0, k1, k2] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair()])
const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b))
const b64url = (b: Uint8Array) => b64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

function refused(value: unknown): string {
  try {
    validateMembership(value)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).code).toBe('ERR_CONFIG')
    return (err as Error).message
  }
  throw new Error('membership was accepted')
}

describe('membership file', () => {
  it('parses hex, base64 and base64url keys and indexes them by id and key id', () => {
    const m = parseMembership(JSON.stringify({
      validators: [
        { id: 'vp0', publicKey: toHex(k0!.publicKey) },
        { id: 'vp1', publicKey: b64(k1!.publicKey) },
        { id: 'vp2', publicKey: b64url(k2!.publicKey) },
      ],
    }))
    expect(m.members.map((x) => x.id)).toEqual(['vp0', 'vp1', 'vp2'])
    expect(m.get('vp1')?.publicKey).toEqual(k1!.publicKey)
    expect(m.get('vp2')?.publicKey).toEqual(k2!.publicKey)
    expect(m.getByKeyId(k0!.keyIdHex)?.id).toBe('vp0')
    expect(m.get('__proto__')).toBeUndefined()
  })

  it('round-trips through formatMembership', () => {
    const text = formatMembership([{ id: 'vp0', publicKey: k0!.publicKey }, { id: 'vp1', publicKey: k1!.publicKey }])
    expect(parseMembership(text).get('vp1')?.keyIdHex).toBe(k1!.keyIdHex)
  })

  it('refuses schema errors, naming the entry', () => {
    const good = { id: 'vp0', publicKey: toHex(k0!.publicKey) }
    expect(refused([])).toMatch(/top level/)
    expect(refused({})).toMatch(/validators/)
    expect(refused({ validators: [good], extra: 1 })).toMatch(/extra|key/i)
    expect(refused({ validators: [{ ...good, role: 'x' }] })).toMatch(/validators\[0\]/)
    expect(refused({ validators: [{ id: 'vp0' }] })).toMatch(/validators\[0\]\.publicKey/)
    expect(refused({ validators: [{ id: '', publicKey: good.publicKey }] })).toMatch(/validators\[0\]\.id/)
    expect(refused({ validators: [{ id: 'x'.repeat(129), publicKey: good.publicKey }] })).toMatch(/128/)
    expect(refused({ validators: [{ id: 7, publicKey: good.publicKey }] })).toMatch(/validators\[0\]\.id/)
    expect(refused({ validators: [{ id: 'vp0', publicKey: good.publicKey.slice(2) }] })).toMatch(/validators\[0\]\.publicKey/)
    expect(refused({ validators: [{ id: 'vp0', publicKey: b64(new Uint8Array(31)) }] })).toMatch(/publicKey/)
    expect(refused({ validators: Array.from({ length: 1025 }, () => good) })).toMatch(/1024/)
  })

  it('refuses duplicate ids and duplicate keys', () => {
    const a = toHex(k0!.publicKey)
    expect(refused({ validators: [{ id: 'vp0', publicKey: a }, { id: 'vp0', publicKey: toHex(k1!.publicKey) }] })).toMatch(/validators\[1\]\.id: duplicate/)
    // The same key spelled differently is still the same key.
    expect(refused({ validators: [{ id: 'vp0', publicKey: a }, { id: 'vp1', publicKey: b64(k0!.publicKey) }] })).toMatch(/validators\[1\]\.publicKey: the same key as "vp0"/)
  })

  it('refuses text that is not JSON, without echoing it at length', () => {
    expect(() => parseMembership('{ nope')).toThrow(ConfigError)
    expect(() => parseMembership(' '.repeat(1024 * 1024 + 1))).toThrow(/larger than/)
  })

  it('authorizes members with their own key and refuses impostors', () => {
    const m = validateMembership({ validators: [{ id: 'vp0', publicKey: toHex(k0!.publicKey) }] })
    expect(m.authorize({ id: 'vp0', type: EndpointType.VALIDATOR }, k0!.publicKey)).toBeUndefined()
    expect(m.authorize({ id: 'vp0', type: EndpointType.VALIDATOR }, k1!.publicKey)).toBe('key-mismatch')
    expect(m.authorize({ id: 'vp9', type: EndpointType.NON_VALIDATOR }, k0!.publicKey)).toBe('key-mismatch')
    expect(m.authorize({ id: 'vp9', type: EndpointType.VALIDATOR }, k1!.publicKey)).toBe('not-a-member')
    expect(m.authorize({ id: 'tab-1', type: EndpointType.NON_VALIDATOR }, k1!.publicKey)).toBeUndefined()
  })
})
