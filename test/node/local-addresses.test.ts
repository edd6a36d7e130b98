import { describe, expect, it } from 'vitest'
import { localChatAddresses } from '../../src/node/local-addresses.js'

/** PROTOCOL.md 8.1.5: the own addresses a Node peer's handshake accepts as `dialedAddress`. */
describe('localChatAddresses', () => {
  it('a loopback bind also answers to its localhost and [::1] forms', () => {
    expect(localChatAddresses('127.0.0.1', 7051, false)).toEqual(
      expect.arrayContaining(['ws://127.0.0.1:7051/chat', 'ws://localhost:7051/chat', 'ws://[::1]:7051/chat']),
    )
    expect(localChatAddresses('localhost', 7051, true)).toEqual(
      expect.arrayContaining(['wss://127.0.0.1:7051/chat', 'wss://localhost:7051/chat', 'wss://[::1]:7051/chat']),
    )
  })

  it('a specific non-loopback bind answers to itself and its aliases only', () => {
    expect(localChatAddresses('10.1.2.3', 7051, false, ['wss://peer.example/chat'])).toEqual(['ws://10.1.2.3:7051/chat', 'wss://peer.example/chat'])
  })
})
