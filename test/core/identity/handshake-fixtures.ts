/** Peers, a driver and helpers shared by the handshake tests. */
import { expect } from 'vitest'
import { HandshakeError } from '../../../src/core/errors.js'
import { createHandshake, type Handshake, type HandshakeOptions } from '../../../src/core/identity/handshake.js'
import type { HandshakeMessage } from '../../../src/core/identity/handshake-messages.js'
import { generateKeyPair, type KeyPair } from '../../../src/core/identity/key-pair.js'
import { ManualClock } from '../../../src/core/util/clock.js'
import { EndpointType, type PeerEndpoint } from '../../../src/core/wire/payload-types.js'

export interface TestPeer {
  endpoint: PeerEndpoint
  keyPair: KeyPair
}

export async function makePeer(id: string, address: string, type: EndpointType = EndpointType.VALIDATOR): Promise<TestPeer> {
  const keyPair = await generateKeyPair()
  return { endpoint: { id, address, type, pkiId: keyPair.keyId }, keyPair }
}

export function dialer(peer: TestPeer, dialedAddress: string, extra: Partial<HandshakeOptions> = {}): Handshake {
  return createHandshake({ role: 'dialer', self: peer.endpoint, keyPair: peer.keyPair, dialedAddress, clock: new ManualClock(), ...extra })
}

export function acceptor(peer: TestPeer, extra: Partial<HandshakeOptions> = {}): Handshake {
  return createHandshake({ role: 'acceptor', self: peer.endpoint, keyPair: peer.keyPair, clock: new ManualClock(), ...extra })
}

/** Runs an honest exchange and returns the three messages. */
export async function honestRun(d: Handshake, a: Handshake): Promise<[HandshakeMessage, HandshakeMessage, HandshakeMessage]> {
  const m1 = d.start()!
  a.start()
  const m2 = (await a.receive(m1))!
  const m3 = (await d.receive(m2))!
  expect(await a.receive(m3)).toBeUndefined()
  return [m1, m2, m3]
}

/**
 * Asserts that `receive` refuses `message` with a 1008 HandshakeError and that the handshake
 * never reports success: state failed, no result, `done` rejected with the same error.
 */
export async function expectRefused(hs: Handshake, message: HandshakeMessage, reason?: string): Promise<HandshakeError> {
  let caught: unknown
  try {
    await hs.receive(message)
  } catch (err) {
    caught = err
  }
  return expectFailed(hs, caught, reason)
}

export async function expectFailed(hs: Handshake, caught: unknown, reason?: string): Promise<HandshakeError> {
  expect(caught).toBeInstanceOf(HandshakeError)
  const err = caught as HandshakeError
  expect(err.closeCode).toBe(1008)
  if (reason !== undefined) expect(err.reason).toBe(reason)
  expect(hs.state).toBe('failed')
  expect(hs.result).toBeUndefined()
  await expect(hs.done).rejects.toBe(err)
  return err
}

export function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice()
  out[(bit >> 3) % out.length] = out[(bit >> 3) % out.length]! ^ (1 << (bit & 7))
  return out
}
