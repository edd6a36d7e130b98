/**
 * The Flood control's arithmetic: how large a burst to send a peer, from the queue bound its
 * GET /status reports (`queueLimits`), and what to say about the outcome. Pure, so the page and
 * a test agree.
 *
 * Why a bound over a frame's envelopes shows no rejects: a Node peer decodes a frame (at most
 * `maxEnvelopesPerFrame`, 256, envelopes) into the link's queue, and its engine drains the queue
 * before the next frame is read; while the queue is full the peer stops reading the link (TCP
 * back-pressure). So one link can overflow a queue only within one frame: a bound of 1000 (the
 * default) is never passed by a tab, however large the burst, and the flood commits whole.
 */
import { DEFAULT_MAX_ENVELOPES_PER_FRAME, MAX_FLOOD_MESSAGES } from '../src/browser/index.js'

/** A burst is this many times the target's queue bound (4), at most MAX_FLOOD_MESSAGES. */
export const FLOOD_BOUND_MULTIPLE = 4
/** Burst used when the target's bound is unknown (its /status unreadable): 2000. */
export const FLOOD_FALLBACK_BURST = 2000

export function floodBurst(queueMaxMessages: number | undefined): number {
  if (queueMaxMessages === undefined || !(queueMaxMessages > 0)) return FLOOD_FALLBACK_BURST
  return Math.min(MAX_FLOOD_MESSAGES, queueMaxMessages * FLOOD_BOUND_MULTIPLE)
}

export interface FloodOutcome {
  target: string
  sent: number
  /** The target's queue bound per link, when known. */
  bound: number | undefined
  /** ERR_QUEUE_FULL refusals from the target since the burst. */
  refused: number
  /** Transactions of the burst seen committed in a block by this tab. */
  committed: number
}

/** One line for the outcome of the latest burst; explains a bound no single link can pass. */
export function floodOutcomeText(o: FloodOutcome): string {
  const bound = o.bound === undefined ? '' : ` (queue bound ${o.bound} per link)`
  const line = `${o.target}${bound}: ${o.refused} refused as queue full, ${o.committed} of ${o.sent} committed so far`
  if (o.refused > 0 || o.bound === undefined || o.bound < DEFAULT_MAX_ENVELOPES_PER_FRAME) return line
  return (
    `${line}. None refused: ${o.target} drains each frame (at most ${DEFAULT_MAX_ENVELOPES_PER_FRAME} messages) before it reads ` +
    `the next, so one link cannot pass a bound of ${o.bound}; a peer started with --queue-max-messages under ` +
    `${DEFAULT_MAX_ENVELOPES_PER_FRAME} shows rejects.`
  )
}
