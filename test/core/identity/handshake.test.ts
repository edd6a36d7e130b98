import { describe, expect, it } from 'vitest'
import { HandshakeError, HandshakeTimeoutError } from '../../../src/core/errors.js'
import { createHandshake } from '../../../src/core/identity/handshake.js'
import { helloFieldsOf, messageFromHello, type HelloConfirm, type HelloInit, type HelloReply } from '../../../src/core/identity/handshake-messages.js'
import { SignerRole, handshakeTranscript } from '../../../src/core/identity/handshake-transcript.js'
import { keyIdOf } from '../../../src/core/identity/key-id.js'
import { validateMembership } from '../../../src/core/identity/membership.js'
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from '../../../src/core/peer/limits.js'
import { toHex } from '../../../src/core/util/bytes.js'
import { ManualClock } from '../../../src/core/util/clock.js'
import { EndpointType } from '../../../src/core/wire/payload-types.js'
import { acceptor, dialer, expectFailed, expectRefused, flip, honestRun, makePeer } from './handshake-fixtures.js'

const A_URL = 'ws://10.0.0.1:7051/chat'
const B_URL = 'ws://10.0.0.2:7051/chat'
const M_URL = 'ws://10.0.0.66:7051/chat'

const [A, B, M] = await Promise.all([makePeer('vp0', A_URL), makePeer('vp1', B_URL), makePeer('mallory', M_URL)])
const peerA = A!
const peerB = B!
const peerM = M!

describe('handshake: honest exchange', () => {
  it('authenticates both sides with each other\'s key, and clears its timer', async () => {
    const clockD = new ManualClock()
    const clockA = new ManualClock()
    const d = dialer(peerA, B_URL, { clock: clockD })
    const a = acceptor(peerB, { clock: clockA })
    await honestRun(d, a)
    const [rd, ra] = await Promise.all([d.done, a.done])
    expect(d.state).toBe('authenticated')
    expect(a.state).toBe('authenticated')
    expect(rd.remote.id).toBe('vp1')
    expect(rd.remoteKeyIdHex).toBe(peerB.keyPair.keyIdHex)
    expect(rd.remotePublicKey).toEqual(peerB.keyPair.publicKey)
    expect(ra.remote.id).toBe('vp0')
    expect(ra.remote.address).toBe(A_URL)
    expect(ra.remoteKeyIdHex).toBe(peerA.keyPair.keyIdHex)
    expect(clockD.pending).toBe(0)
    expect(clockA.pending).toBe(0)
  })

  it('survives the trip through DISC_HELLO fields', async () => {
    const d = dialer(peerA, B_URL)
    const a = acceptor(peerB)
    const through = (m: Parameters<typeof helloFieldsOf>[0]) => {
      const { peerEndpoint, auth } = helloFieldsOf(m)
      return messageFromHello(peerEndpoint, auth)
    }
    a.start()
    const m2 = await a.receive(through(d.start()!))
    const m3 = await d.receive(through(m2!))
    await a.receive(through(m3!))
    expect((await a.done).remote.id).toBe('vp0')
  })

  it('accepts a dialer using one of several configured own addresses, with a membership', async () => {
    const membership = validateMembership({
      validators: [
        { id: 'vp0', publicKey: toHex(peerA.keyPair.publicKey) },
        { id: 'vp1', publicKey: toHex(peerB.keyPair.publicKey) },
      ],
    })
    const d = dialer(peerA, 'ws://localhost:7051/chat', { membership })
    const a = acceptor(peerB, { membership, ownAddresses: [B_URL, 'ws://localhost:7051/chat'] })
    await honestRun(d, a)
    expect((await a.done).remote.id).toBe('vp0')
  })
})

describe('handshake: refusals (1008, nothing registered)', () => {
  it('forged signature on the reply', async () => {
    const d = dialer(peerA, B_URL)
    const a = acceptor(peerB)
    const m1 = d.start()!
    a.start()
    const m2 = (await a.receive(m1)) as HelloReply
    await expectRefused(d, { ...m2, signature: flip(m2.signature, 5) }, 'bad-signature')
  })

  it('forged signature on the confirm', async () => {
    const d = dialer(peerA, B_URL)
    const a = acceptor(peerB)
    a.start()
    const m2 = (await a.receive(d.start()!))!
    const m3 = (await d.receive(m2)) as HelloConfirm
    await expectRefused(a, { ...m3, signature: flip(m3.signature, 200) }, 'bad-signature')
  })

  it('an impostor signing with its own key under the victim\'s endpoint', async () => {
    // M claims to be vp1 with B's key id but signs with its own key: the key id does not match.
    const d = dialer(peerA, B_URL)
    const fakeB = acceptor({ endpoint: { ...peerB.endpoint, pkiId: peerB.keyPair.keyId }, keyPair: peerM.keyPair })
    fakeB.start()
    const m2 = (await fakeB.receive(d.start()!)) as HelloReply
    await expectRefused(d, { ...m2, endpoint: { ...m2.endpoint, pkiId: peerB.keyPair.keyId } }, 'key-mismatch')
  })

  it('replayed handshake: a dialer\'s messages from another session', async () => {
    const [old1, , old3] = await honestRun(dialer(peerA, B_URL), acceptor(peerB))
    const a = acceptor(peerB)
    a.start()
    await a.receive(old1) // a fresh acceptor nonce goes out, so the old confirm cannot cover it
    await expectRefused(a, old3, 'bad-signature')
  })

  it('replayed handshake: an acceptor\'s reply from another session', async () => {
    const [, old2] = await honestRun(dialer(peerA, B_URL), acceptor(peerB))
    const d = dialer(peerA, B_URL)
    d.start()
    await expectRefused(d, old2, 'bad-signature')
  })

  it('forwarded handshake: a relay passing the dialer\'s step 1 on unchanged', async () => {
    // A dials M; M relays to B. B sees a handshake meant for M's address.
    const d = dialer(peerA, M_URL)
    const b = acceptor(peerB)
    b.start()
    await expectRefused(b, d.start()!, 'wrong-address')
  })

  it('compares the dialed address as an exact string (PROTOCOL.md 8.1.5): another spelling of an own address is refused', async () => {
    // B_URL in another case, and with a trailing slash: the same place to a URL parser, not to B.
    for (const spelling of [B_URL.toUpperCase(), `${B_URL}/`]) {
      const d = dialer(peerA, spelling)
      const b = acceptor(peerB)
      b.start()
      await expectRefused(b, d.start()!, 'wrong-address')
    }
    // Listed aliases (a Node peer adds its localhost and [::1] forms) are accepted as written.
    const alias = 'ws://[::1]:7051/chat'
    const [, , confirm] = await honestRun(dialer(peerA, alias), acceptor(peerB, { ownAddresses: [B_URL, alias] }))
    expect(confirm.step).toBe(3)
  })

  it('forwarded handshake: a relay rewriting the dialed address', async () => {
    const d = dialer(peerA, M_URL)
    const b = acceptor(peerB)
    b.start()
    const m1 = d.start()!
    const m2 = (await b.receive({ ...m1, dialedAddress: B_URL }))!
    // B signed "A dialed B"; A knows it dialed M: the signature does not cover A's transcript.
    await expectRefused(d, m2, 'bad-signature')
    // And the relay cannot finish toward B either: it has no signature from A over B's nonce.
    const forged = { step: 3, endpoint: m1.endpoint, signature: await peerM.keyPair.sign(new Uint8Array(8)) } as const
    await expectRefused(b, forged, 'bad-signature')
  })

  it('forwarded handshake: a relay posing as the acceptor with its own identity toward one side', async () => {
    // M answers A as itself but with B's nonce and signature: signatures bind the signer's key.
    const d = dialer(peerA, M_URL)
    const b = acceptor(peerB, { ownAddresses: [B_URL, M_URL] })
    b.start()
    const m2 = (await b.receive(d.start()!)) as HelloReply
    const spliced: HelloReply = { ...m2, endpoint: peerM.endpoint, publicKey: peerM.keyPair.publicKey }
    await expectRefused(d, spliced, 'bad-signature')
  })

  it('mismatched ID and key: endpoint key id of another key', async () => {
    const a = acceptor(peerB)
    a.start()
    const m1 = dialer(peerA, B_URL).start()!
    await expectRefused(a, { ...m1, endpoint: { ...m1.endpoint, pkiId: peerM.keyPair.keyId } }, 'key-mismatch')
  })

  it('mismatched ID and key: a member ID presented with a non-member key', async () => {
    const membership = validateMembership({ validators: [{ id: 'vp0', publicKey: toHex(peerA.keyPair.publicKey) }] })
    const a = acceptor(peerB, { membership })
    a.start()
    // M calls itself vp0, honestly with its own key and key id.
    const m1 = dialer({ endpoint: { ...peerM.endpoint, id: 'vp0' }, keyPair: peerM.keyPair }, B_URL).start()!
    await expectRefused(a, m1, 'key-mismatch')
  })

  it('a validator claim from outside a closed membership', async () => {
    const membership = validateMembership({ validators: [{ id: 'vp1', publicKey: toHex(peerB.keyPair.publicKey) }] })
    const a = acceptor(peerB, { membership })
    a.start()
    await expectRefused(a, dialer(peerM, B_URL).start()!, 'not-a-member')
    // The same key as a non-validator is let in (it may submit transactions and read blocks).
    const ok = acceptor(peerB, { membership })
    const tab = { endpoint: { ...peerM.endpoint, id: 'tab-1', type: EndpointType.NON_VALIDATOR, address: '' }, keyPair: peerM.keyPair }
    await honestRun(dialer(tab, B_URL, { membership }), ok)
    expect((await ok.done).remote.id).toBe('tab-1')
  })

  it('wrong nonce: a reply whose signature covers another challenge', async () => {
    const d = dialer(peerA, B_URL)
    const m1 = d.start()!
    const wrongChallenge = flip(m1.nonce, 0)
    const acceptorNonce = crypto.getRandomValues(new Uint8Array(32))
    const bEnd = { endpoint: peerB.endpoint, keyId: peerB.keyPair.keyId, publicKey: peerB.keyPair.publicKey }
    const aEnd = { endpoint: m1.endpoint, keyId: keyIdOf(m1.publicKey), publicKey: m1.publicKey }
    const signature = await peerB.keyPair.sign(
      handshakeTranscript({ signer: SignerRole.ACCEPTOR, dialerNonce: wrongChallenge, acceptorNonce, dialedAddress: B_URL, dialer: aEnd, acceptor: bEnd }),
    )
    const reply: HelloReply = { step: 2, endpoint: peerB.endpoint, nonce: acceptorNonce, publicKey: peerB.keyPair.publicKey, signature }
    await expectRefused(d, reply, 'bad-signature')
  })

  it('wrong nonce: a short nonce, or our own nonce reflected back', async () => {
    const a = acceptor(peerB)
    a.start()
    const m1 = dialer(peerA, B_URL).start()!
    await expectRefused(a, { ...m1, nonce: m1.nonce.subarray(0, 16) }, 'bad-nonce')
    const d = dialer(peerA, B_URL)
    const own = d.start()!
    const a2 = acceptor(peerB)
    a2.start()
    const m2 = (await a2.receive(own)) as HelloReply
    await expectRefused(d, { ...m2, nonce: own.nonce }, 'bad-nonce')
  })

  it('a signature made as dialer does not pass as the acceptor\'s (roles are signed)', async () => {
    const d = dialer(peerA, B_URL)
    const a = acceptor(peerB)
    a.start()
    const m1 = d.start()!
    const m2 = (await a.receive(m1)) as HelloReply
    const bEnd = { endpoint: peerB.endpoint, keyId: peerB.keyPair.keyId, publicKey: peerB.keyPair.publicKey }
    const aEnd = { endpoint: m1.endpoint, keyId: keyIdOf(m1.publicKey), publicKey: m1.publicKey }
    const asDialer = await peerB.keyPair.sign(
      handshakeTranscript({ signer: SignerRole.DIALER, dialerNonce: m1.nonce, acceptorNonce: m2.nonce, dialedAddress: B_URL, dialer: aEnd, acceptor: bEnd }),
    )
    await expectRefused(d, { ...m2, signature: asDialer }, 'bad-signature')
  })

  it('our own id, our own key, a changed endpoint on confirm, and out-of-turn messages', async () => {
    const a = acceptor(peerB)
    a.start()
    await expectRefused(a, { ...dialer(peerA, B_URL).start()!, endpoint: { ...peerA.endpoint, id: 'vp1' } }, 'own-id')

    const a2 = acceptor(peerB)
    a2.start()
    const twin = { endpoint: { ...peerB.endpoint, id: 'vp1-twin' }, keyPair: peerB.keyPair }
    await expectRefused(a2, dialer(twin, B_URL).start()!, 'own-key')

    const d3 = dialer(peerA, B_URL)
    const a3 = acceptor(peerB)
    a3.start()
    const m3 = (await d3.receive((await a3.receive(d3.start()!))!)) as HelloConfirm
    await expectRefused(a3, { ...m3, endpoint: { ...m3.endpoint, address: 'ws://elsewhere/chat' } }, 'endpoint-changed')

    const a4 = acceptor(peerB)
    a4.start()
    const d4 = dialer(peerA, B_URL)
    const m1 = d4.start()!
    await expectRefused(a4, { step: 3, endpoint: m1.endpoint, signature: new Uint8Array(64) }, 'unexpected-message')
    const d5 = dialer(peerA, B_URL)
    d5.start()
    await expectRefused(d5, m1 as HelloInit, 'unexpected-message')
  })

  it('a second message while the first is still being processed', async () => {
    const a = acceptor(peerB)
    a.start()
    const m1 = dialer(peerA, B_URL).start()!
    const first = a.receive(m1)
    const second = a.receive(m1).catch((e: unknown) => e)
    const [firstResult, secondError] = await Promise.all([first.catch((e: unknown) => e), second])
    expect(secondError).toBeInstanceOf(HandshakeError)
    await expectFailed(a, firstResult, 'unexpected-message')
  })

  it('timeout: no answer within DEFAULT_HANDSHAKE_TIMEOUT_MS', async () => {
    const clock = new ManualClock()
    const a = createHandshake({ role: 'acceptor', self: peerB.endpoint, keyPair: peerB.keyPair, clock })
    a.start()
    clock.advance(DEFAULT_HANDSHAKE_TIMEOUT_MS - 1)
    expect(a.state).toBe('awaiting-init')
    clock.advance(1)
    const err = await a.done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HandshakeTimeoutError)
    expect((err as HandshakeTimeoutError).code).toBe('ERR_HANDSHAKE_TIMEOUT')
    await expectFailed(a, err, 'timeout')
    expect(clock.pending).toBe(0)
    // A late, valid step 1 changes nothing.
    await expectRefused(a, dialer(peerA, B_URL).start()!, 'timeout')
  })

  it('timeout while a signature is being checked: the late result is dropped', async () => {
    const clock = new ManualClock()
    const d = dialer(peerA, B_URL, { clock, timeoutMs: 50 })
    const a = acceptor(peerB)
    a.start()
    const m2 = (await a.receive(d.start()!))!
    const pending = d.receive(m2).catch((e: unknown) => e)
    clock.advance(50) // fires before the verify's promise settles
    await expectFailed(d, await pending, 'timeout')
  })

  it('abort ends the handshake and clears its timer', async () => {
    const clock = new ManualClock()
    const a = acceptor(peerB, { clock })
    a.start()
    a.abort()
    await expect(a.done).rejects.toMatchObject({ reason: 'aborted', closeCode: 1008 })
    expect(clock.pending).toBe(0)
  })

  it('malformed auth maps from the wire are refused with 1008, echoing no remote key', () => {
    const endpoint = peerA.endpoint
    const bad: unknown[] = [
      undefined,
      {},
      { step: 4 },
      { step: 1, nonce: new Uint8Array(32), publicKey: new Uint8Array(32) },
      { step: 3, signature: new Uint8Array(63) },
      { step: 3, signature: new Uint8Array(64), evil_key_name: 1 },
      { step: 2, nonce: new Uint8Array(32), publicKey: new Uint8Array(32), signature: 'x'.repeat(64) },
    ]
    for (const auth of bad) {
      let caught: unknown
      try {
        messageFromHello(endpoint, auth)
      } catch (err) {
        caught = err
      }
      expect(caught).toBeInstanceOf(HandshakeError)
      expect((caught as HandshakeError).closeCode).toBe(1008)
      expect((caught as HandshakeError).reason).toBe('malformed')
      expect((caught as Error).message).not.toContain('evil_key_name')
    }
  })
})
