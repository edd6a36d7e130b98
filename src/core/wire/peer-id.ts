import { MAX_ID_BYTES } from './codec-limits.js'

/**
 * The one rule for a peer ID, wherever one is given (a peer's config, `--id`, a membership file):
 * 1 to MAX_PEER_ID_LENGTH characters of A-Z a-z 0-9 . _ : - (so an ID is ASCII and always fits the
 * wire's MAX_ID_BYTES). IDs a remote announces are bounded by the wire's byte limit only, and are
 * authenticated by the handshake rather than by their spelling.
 */
export const MAX_PEER_ID_LENGTH = MAX_ID_BYTES
export const PEER_ID_PATTERN = /^[A-Za-z0-9._:-]+$/
/** How the rule reads in error messages. */
export const PEER_ID_RULE = `1-${MAX_PEER_ID_LENGTH} characters of A-Z a-z 0-9 . _ : -`

/** Whether `id` is a valid peer ID. */
export function isPeerId(id: unknown): id is string {
  return typeof id === 'string' && id.length >= 1 && id.length <= MAX_PEER_ID_LENGTH && PEER_ID_PATTERN.test(id)
}
