import { describe, expect, it } from 'vitest'
import { AddressBook, normalizeChatAddress, redialDelay } from '../../../src/core/peer/address-book.js'

describe('redialDelay', () => {
  it('grows exponentially from the base, stays within [ceiling/2, ceiling] and is capped', () => {
    const base = 500
    const max = 30_000
    expect(redialDelay(0, base, max)).toBe(0)
    for (let failures = 1; failures <= 12; failures++) {
      const ceiling = Math.min(max, base * 2 ** (failures - 1))
      expect(redialDelay(failures, base, max, () => 0)).toBe(ceiling / 2)
      expect(redialDelay(failures, base, max, () => 0.999999)).toBeCloseTo(ceiling, -1)
    }
    expect(redialDelay(1000, base, max, () => 1)).toBe(max)
  })

  it('spreads retries with jitter', () => {
    const seen = new Set<number>()
    let x = 0.1
    for (let i = 0; i < 20; i++) {
      x = (x * 9301 + 0.49297) % 1
      seen.add(redialDelay(4, 500, 30_000, () => x))
    }
    expect(seen.size).toBeGreaterThan(10)
  })
})

describe('normalizeChatAddress', () => {
  it('accepts ws and wss URLs and refuses everything else', () => {
    expect(normalizeChatAddress('ws://127.0.0.1:7051/chat')).toBe('ws://127.0.0.1:7051/chat')
    expect(normalizeChatAddress('wss://example.test/chat#x')).toBe('wss://example.test/chat')
    for (const bad of ['', 'http://x/chat', 'not a url', 'ws://user:pw@host/chat', 42, null, 'ws://' + 'a'.repeat(600)]) {
      expect(normalizeChatAddress(bad)).toBeUndefined()
    }
  })
})

describe('AddressBook', () => {
  it('is bounded and remembers IDs', () => {
    const book = new AddressBook(2)
    expect(book.add('ws://a/chat')).toBeDefined()
    expect(book.add('ws://b/chat', 'b')).toBeDefined()
    expect(book.add('ws://c/chat')).toBeUndefined()
    book.add('ws://a/chat', 'a')
    expect(book.findById('a')?.address).toBe('ws://a/chat')
    expect(book.size).toBe(2)
  })

  it('lists only entries due: not connected, not dialing, backoff elapsed', () => {
    const book = new AddressBook(10)
    const a = book.add('ws://a/chat')!
    const b = book.add('ws://b/chat')!
    const c = book.add('ws://c/chat')!
    b.connected = true
    c.nextDialAt = 1000
    expect(book.due(0).map((e) => e.address)).toEqual([a.address])
    a.dialing = true
    expect(book.due(1000).map((e) => e.address)).toEqual([c.address])
  })
})
