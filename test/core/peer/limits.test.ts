import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/core/errors.js'
import { DEFAULT_PEER_LIMITS, resolvePeerLimits } from '../../../src/core/peer/limits.js'

describe('resolvePeerLimits', () => {
  it('merges overrides onto the defaults', () => {
    expect(resolvePeerLimits({ maxPeers: 3 })).toEqual({ ...DEFAULT_PEER_LIMITS, maxPeers: 3 })
  })

  it('refuses, as a ConfigError, values that are not positive integers and keys that are no limit', () => {
    expect(() => resolvePeerLimits({ maxPeers: 0 })).toThrow(ConfigError)
    expect(() => resolvePeerLimits({ maxPeers: 0 })).toThrow(/limit maxPeers must be a positive integer/)
    expect(() => resolvePeerLimits({ queueMaxBytes: 1.5 })).toThrow(/queueMaxBytes/)
    expect(() => resolvePeerLimits({ maxPeer: 3 } as never)).toThrow(/unknown limit maxPeer/)
  })

  it('refuses a send-buffer cap below one frame: every large answer would close an honest link', () => {
    expect(() => resolvePeerLimits({ maxFrameBytes: 2048, sendBufferCapBytes: 2047 })).toThrow(/sendBufferCapBytes \(2047\) must be at least maxFrameBytes \(2048\)/)
    expect(resolvePeerLimits({ maxFrameBytes: 2048, sendBufferCapBytes: 2048 }).sendBufferCapBytes).toBe(2048)
  })
})
