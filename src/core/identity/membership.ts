/**
 * The validator membership: peer IDs bound to Ed25519 public keys, read from a JSON file
 *
 *   { "validators": [ { "id": "vp0", "publicKey": "<64 hex digits, or base64 of 32 bytes>" }, ... ] }
 *
 * The schema is strict (no other keys at either level); IDs and keys must be unique. A peer with a
 * membership refuses a handshake from a member ID with another key, and from a non-member claiming
 * to be a validator (see `authorize`). Without one the peer runs in open development mode (the
 * caller's decision; this module only parses and answers questions).
 *
 * In: the file's text, or an already parsed JSON value. Out: a Membership, or a ConfigError naming
 * the offending entry.
 */
import * as v from 'valibot'
import { ConfigError, type HandshakeFailure } from '../errors.js'
import { fromHex, bytesEqual } from '../util/bytes.js'
import { EndpointType } from '../wire/payload-types.js'
import { PEER_ID_RULE, isPeerId } from '../wire/peer-id.js'
import { PUBLIC_KEY_BYTES } from './ed25519.js'
import { keyIdHex, keyIdOf } from './key-id.js'

/** Validators one membership file may list (default 1024); far above any PBFT network's size. */
export const MAX_MEMBERS = 1024
/** Largest membership file accepted, in characters (default 1 MiB), checked before JSON.parse. */
export const MAX_MEMBERSHIP_FILE_CHARS = 1024 * 1024

export interface Member {
  readonly id: string
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  readonly keyId: Uint8Array
  readonly keyIdHex: string
}

export interface Membership {
  readonly members: readonly Member[]
  get(id: string): Member | undefined
  getByKeyId(keyIdHex: string): Member | undefined
  /**
   * Whether a remote that proved `publicKey` may use this endpoint: undefined when it may,
   * otherwise the refusal reason ('key-mismatch': a member ID with another key or a member's key
   * under another ID; 'not-a-member': a validator claim from outside the set).
   */
  authorize(endpoint: { id: string; type: number }, publicKey: Uint8Array): HandshakeFailure | undefined
}


const peerId = v.pipe(v.string(), v.check((id: string) => isPeerId(id), `must be a peer ID: ${PEER_ID_RULE}`))

const MembershipSchema = v.strictObject({
  validators: v.pipe(v.array(v.unknown()), v.maxLength(MAX_MEMBERS, `at most ${MAX_MEMBERS} validators`), v.array(
    v.strictObject({ id: peerId, publicKey: v.string() }),
  )),
})

/** Decodes a public key written as 64 hex digits or as base64 / base64url (padded or not) of 32 bytes. */
export function decodePublicKeyText(text: string): Uint8Array {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return fromHex(text)
  // 32 bytes are 43 base64 characters plus one '=' of padding; the last character carries only
  // 4 bits, so it must be one of the 16 letters whose low bits are zero (canonical encoding).
  const m = /^([A-Za-z0-9+/]{42}|[A-Za-z0-9_-]{42})([AEIMQUYcgkosw048])(=?)$/.exec(text)
  if (m !== null) {
    const std = text.replace(/=$/, '').replace(/-/g, '+').replace(/_/g, '/') + '='
    const binary = globalThis.atob(std)
    const out = new Uint8Array(binary.length)
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
    if (out.length === PUBLIC_KEY_BYTES) return out
  }
  throw new TypeError(`a public key is ${PUBLIC_KEY_BYTES} bytes as 64 hex digits or base64`)
}

function issuePath(issue: v.BaseIssue<unknown>): string {
  const path = issue.path?.map((item) => (typeof item.key === 'number' ? `[${item.key}]` : `.${String(item.key)}`)).join('') ?? ''
  return path === '' ? '(top level)' : path.replace(/^\./, '')
}

/** Validates a parsed membership value; throws ConfigError naming the first bad entry. */
export function validateMembership(value: unknown, source = 'membership'): Membership {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`${source}: (top level): must be a JSON object with a "validators" array`)
  }
  const result = v.safeParse(MembershipSchema, value, { abortEarly: true })
  if (!result.success) {
    const issue = result.issues[0]
    throw new ConfigError(`${source}: ${issuePath(issue)}: ${issue.message}`)
  }
  const byId = new Map<string, Member>()
  const byKey = new Map<string, Member>()
  result.output.validators.forEach((entry, i) => {
    let publicKey: Uint8Array
    try {
      publicKey = decodePublicKeyText(entry.publicKey)
    } catch (err) {
      throw new ConfigError(`${source}: validators[${i}].publicKey: ${(err as Error).message}`)
    }
    const member: Member = { id: entry.id, publicKey, keyId: keyIdOf(publicKey), keyIdHex: keyIdHex(publicKey) }
    if (byId.has(member.id)) throw new ConfigError(`${source}: validators[${i}].id: duplicate id ${JSON.stringify(member.id)}`)
    const other = byKey.get(member.keyIdHex)
    if (other !== undefined) {
      throw new ConfigError(`${source}: validators[${i}].publicKey: the same key as ${JSON.stringify(other.id)}`)
    }
    byId.set(member.id, member)
    byKey.set(member.keyIdHex, member)
  })
  const members = Object.freeze([...byId.values()])
  return {
    members,
    get: (id) => byId.get(id),
    getByKeyId: (hex) => byKey.get(hex),
    authorize(endpoint, publicKey) {
      const member = byId.get(endpoint.id)
      if (member !== undefined) return bytesEqual(member.publicKey, publicKey) ? undefined : 'key-mismatch'
      // A member's key under a name that is not its own would let one validator appear twice.
      if (publicKey.length === PUBLIC_KEY_BYTES && byKey.has(keyIdHex(publicKey))) return 'key-mismatch'
      return endpoint.type === EndpointType.VALIDATOR ? 'not-a-member' : undefined
    },
  }
}

/** Parses a membership file's text (JSON); throws ConfigError. */
export function parseMembership(text: string, source = 'membership'): Membership {
  if (text.length > MAX_MEMBERSHIP_FILE_CHARS) throw new ConfigError(`${source}: larger than ${MAX_MEMBERSHIP_FILE_CHARS} characters`)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`${source}: not valid JSON (${(err as Error).message.slice(0, 120)})`)
  }
  return validateMembership(value, source)
}

/** The JSON text of a membership (hex keys), as `wspeer network` would write it. */
export function formatMembership(members: readonly { id: string; publicKey: Uint8Array }[]): string {
  const validators = members.map((m) => ({ id: m.id, publicKey: [...m.publicKey].map((b) => b.toString(16).padStart(2, '0')).join('') }))
  return `${JSON.stringify({ validators }, null, 2)}\n`
}
