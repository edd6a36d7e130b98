import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_ENVELOPES_PER_FRAME, DEFAULT_QUEUE_MAX_MESSAGES, MAX_FLOOD_MESSAGES } from '../../src/browser/index.js'
import { FLOOD_BOUND_MULTIPLE, FLOOD_FALLBACK_BURST, floodBurst, floodOutcomeText } from '../../web/flood.js'

describe('the dashboard Flood', () => {
  it('sizes the burst from the target queue bound, within MAX_FLOOD_MESSAGES', () => {
    expect(floodBurst(16)).toBe(16 * FLOOD_BOUND_MULTIPLE)
    expect(floodBurst(DEFAULT_QUEUE_MAX_MESSAGES)).toBe(DEFAULT_QUEUE_MAX_MESSAGES * FLOOD_BOUND_MULTIPLE)
    expect(floodBurst(1_000_000)).toBe(MAX_FLOOD_MESSAGES)
    expect(floodBurst(undefined)).toBe(FLOOD_FALLBACK_BURST)
  })

  it('states the outcome, and why a bound above a frame shows no rejects', () => {
    expect(floodOutcomeText({ target: 'vp3', sent: 64, bound: 16, refused: 48, committed: 16 })).toBe(
      'vp3 (queue bound 16 per link): 48 refused as queue full, 16 of 64 committed so far',
    )
    const none = floodOutcomeText({ target: 'vp1', sent: 4000, bound: 1000, refused: 0, committed: 4000 })
    expect(none).toContain('vp1 (queue bound 1000 per link): 0 refused as queue full, 4000 of 4000 committed so far. None refused:')
    expect(none).toContain(`at most ${DEFAULT_MAX_ENVELOPES_PER_FRAME} messages`)
  })
})
