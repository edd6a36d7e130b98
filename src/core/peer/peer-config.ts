/**
 * The checks createPeer makes of its config before anything else, so a bad config fails at once
 * with a ConfigError that names the setting: the peer ID rule (wire/peer-id.ts), the role, the
 * address and aliases (ws:// or wss:// chat URLs, normalized), the limits (limits.ts). In that
 * order; the first failure throws.
 *
 * In: a PeerConfig. Out: what the peer keeps of it in normalized form.
 *
 *   const { address, ownAddresses, limits } = checkPeerConfig(config)
 */
import { ConfigError } from '../errors.js'
import { PEER_ID_RULE, isPeerId } from '../wire/peer-id.js'
import { normalizeChatAddress } from './address-book.js'
import { resolvePeerLimits, type PeerLimits } from './limits.js'
import type { PeerConfig } from './peer-types.js'

export interface CheckedPeerConfig {
  /** This peer's own chat URL, normalized; '' for a peer that cannot listen. */
  address: string
  /** The address and every alias: a handshake naming another address was meant for someone else. */
  ownAddresses: string[]
  limits: PeerLimits
}

export function checkPeerConfig(config: PeerConfig): CheckedPeerConfig {
  if (!isPeerId(config.id)) {
    throw new ConfigError(`peer id must be ${PEER_ID_RULE}, got ${JSON.stringify(config.id)}`)
  }
  if (config.role !== 'validator' && config.role !== 'non-validator') {
    throw new ConfigError(`role must be "validator" or "non-validator", got ${JSON.stringify(config.role)}`)
  }
  let address = ''
  if (config.address !== undefined && config.address !== '') {
    const normalized = normalizeChatAddress(config.address)
    if (normalized === undefined) throw new ConfigError(`address must be a ws:// or wss:// URL, got ${JSON.stringify(config.address)}`)
    address = normalized
  }
  const limits = resolvePeerLimits(config.limits)
  const ownAddresses = address === '' ? [] : [address]
  for (const alias of config.identity?.aliases ?? []) {
    const normalized = normalizeChatAddress(alias)
    if (normalized === undefined) throw new ConfigError(`alias must be a ws:// or wss:// URL, got ${JSON.stringify(alias)}`)
    if (!ownAddresses.includes(normalized)) ownAddresses.push(normalized)
  }
  return { address, ownAddresses, limits }
}
