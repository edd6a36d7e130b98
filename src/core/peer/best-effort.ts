/**
 * What a peer sends to followers only while they keep up (issue #16). A follower (a tab, a
 * non-validating peer) that cannot read as fast as blocks are announced would otherwise fill its
 * link's send buffer until the cap closes the link (4002); it redials, falls behind again, and is
 * closed again. Announcements are not needed to follow the chain: the follower sees the gap in the
 * next block it does get and pages the blocks it missed (chain-follower.ts), or catches up on the
 * discovery tick (block-sync.ts `retryCatchUp`). So an envelope of a type listed here, to a link
 * whose remote is not a validator and whose unsent bytes (transport plus outbox) pass
 * `followerBacklogBytes`, is skipped and counted (`announcementsSkipped` in the peer's metrics),
 * never queued. Everything else (sync answers, RESPONSEs, CONSENSUS, any send to a validator) is
 * queued as before and still meets the send-buffer cap.
 *
 *   if (skipForBacklog(link, envelope.type, limits.followerBacklogBytes)) metrics.announcementsSkipped++
 *   else link.send(envelope, now)
 */
import { MessageType } from '../wire/message-type.js'

/**
 * Unsent bytes (transport plus outbox) a follower's link may hold before best-effort envelopes to
 * it are skipped (1 MiB): about a second of blocks at full load, an eighth of the send-buffer cap,
 * so a slow follower is left to page long before its link would be closed.
 */
export const DEFAULT_FOLLOWER_BACKLOG_BYTES = 1024 * 1024

/** Message types sent to followers only while their link keeps up. The one place that lists them. */
export const BEST_EFFORT_TO_FOLLOWERS: ReadonlySet<number> = new Set<number>([MessageType.SYNC_BLOCK_ADDED])

/** A link as this rule reads it. */
export interface BacklogLink {
  readonly remoteIsValidator: boolean
  readonly backlogBytes: number
}

/** Whether an envelope of `type` to `link` is to be skipped: best-effort, to a follower, whose backlog passes `limitBytes`. */
export function skipForBacklog(link: BacklogLink, type: number, limitBytes: number): boolean {
  return BEST_EFFORT_TO_FOLLOWERS.has(type) && !link.remoteIsValidator && link.backlogBytes > limitBytes
}
