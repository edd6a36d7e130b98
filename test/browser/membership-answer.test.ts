import { describe, expect, it } from 'vitest'
import { membershipFromAnswer } from '../../src/browser/tab-peer.js'
import { ConfigError } from '../../src/core/errors.js'

const key = 'ab'.repeat(32)

describe("a Node peer's /membership answer", () => {
  it('is a membership when closed, nothing when open, and refused otherwise', () => {
    expect(membershipFromAnswer({ mode: 'open' }, 'x')).toBeUndefined()
    const m = membershipFromAnswer({ mode: 'closed', validators: [{ id: 'vp0', publicKey: key }] }, 'x')
    expect(m?.members.map((v) => v.id)).toEqual(['vp0'])
    expect(() => membershipFromAnswer({ validators: [] }, 'x')).toThrow(ConfigError)
    expect(() => membershipFromAnswer({ mode: 'closed', validators: [{ id: 'vp0', publicKey: 'nope' }] }, 'x')).toThrow(ConfigError)
    expect(() => membershipFromAnswer(null, 'x')).toThrow(ConfigError)
  })
})
