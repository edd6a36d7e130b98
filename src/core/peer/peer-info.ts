/**
 * How a peer names the others to its consenter and its callers: the wire's PeerEndpoint (numeric
 * endpoint type, key id as bytes) as the consenter's PeerInfo (role name, key id in hex), and the
 * list of linked peers sorted by ID that both status() and the Stack's network info report. Its
 * own file because the peer, its Stack adapter and its events all speak PeerInfo.
 *
 *   roleToType('validator')                 // EndpointType.VALIDATOR, for this peer's own endpoint
 *   infoOf(link.remote!)                    // { id, address, role, keyId } for a 'peer-connected' event
 *   linkedPeerInfos(registry.values())      // every linked peer, sorted by ID
 */
import type { PeerInfo } from '../consensus/consenter.js'
import { toHex } from '../util/bytes.js'
import { EndpointType, type PeerEndpoint, type PeerRole } from '../wire/payload-types.js'

export function roleToType(role: PeerRole): PeerEndpoint['type'] {
  return role === 'validator' ? EndpointType.VALIDATOR : EndpointType.NON_VALIDATOR
}

export function typeToRole(type: number): PeerRole {
  return type === EndpointType.VALIDATOR ? 'validator' : 'non-validator'
}

export function infoOf(endpoint: PeerEndpoint): PeerInfo {
  const info: PeerInfo = { id: endpoint.id, address: endpoint.address, role: typeToRole(endpoint.type) }
  if (endpoint.pkiId !== undefined) info.keyId = toHex(endpoint.pkiId)
  return info
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** The remotes of registered links (each has its authenticated `remote`), sorted by peer ID. */
export function linkedPeerInfos(links: Iterable<{ readonly remote: PeerEndpoint | undefined }>): PeerInfo[] {
  return [...links].map((link) => infoOf(link.remote!)).sort(byId)
}
