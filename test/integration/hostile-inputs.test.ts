import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { WebSocket } from 'ws'
import '../support/test-consenters.js'
import { instances } from '../support/test-consenters.js'
import { RawLink } from '../support/raw-link.js'
import { frame, rawUpgrade } from '../support/raw-socket.js'
import { startNodePeer, type NodePeer } from '../../src/node/index.js'
import { resolveConfig } from '../../src/node/config.js'
import { silentLogger } from '../../src/core/util/logger.js'
import { openWebSocketChat, type WebSocketLike } from '../../src/core/chat/websocket-chat-stream.js'
import type { ChatStream } from '../../src/core/chat/chat-stream.js'
import { MessageType } from '../../src/core/wire/message-type.js'
import { makeEnvelope } from '../../src/core/wire/payloads.js'
import { encodeFrame } from '../../src/core/wire/codec.js'

/**
 * The catalogue of ../shared/reference/hostile-inputs.md, cases 1-11 and 15-18, each against a
 * real Node peer over a real WebSocket on loopback, with the outcome the catalogue requires.
 * ("Kept": the link stays open and the peer goes on serving everyone else.)
 */
const QUEUE_BOUND = 50
let node: NodePeer
/** An honest link that must keep working through every case. */
let honest: RawLink

function dialStream(): Promise<ChatStream> {
  return openWebSocketChat(() => new WebSocket(node.address, { perMessageDeflate: false }) as unknown as WebSocketLike, {
    remote: node.address,
    maxFrameBytes: 1024 * 1024,
    timeoutMs: 5000,
  })
}

async function dial(): Promise<RawLink> {
  return new RawLink(await dialStream())
}

async function established(id: string): Promise<RawLink> {
  return RawLink.established(await dialStream(), id)
}

async function honestStillServed(): Promise<void> {
  const nonce = Math.floor(Math.random() * 1e9)
  honest.send(makeEnvelope(MessageType.KEEPALIVE_PING, { nonce }))
  await honest.next({ type: MessageType.KEEPALIVE_PONG })
  const res = await fetch(`http://127.0.0.1:${node.port}/status`)
  expect(res.status).toBe(200)
}

const ping = makeEnvelope(MessageType.KEEPALIVE_PING, { nonce: 1 })

beforeAll(async () => {
  const config = resolveConfig({ argv: ['--id', 'vp0', '--port', '0', '--consensus', 'test-gated', '--queue-max-messages', String(QUEUE_BOUND)], env: {} })
  node = await startNodePeer(config, { log: silentLogger })
  honest = await established('honest')
})

afterAll(async () => {
  await node?.stop()
})

describe('hostile-inputs catalogue over a real WebSocket', () => {
  it('1. a frame over the payload limit is closed with 1009; other links unaffected', async () => {
    const link = await dial()
    link.sendBytes(new Uint8Array(1024 * 1024 + 1))
    expect((await link.stream.done).code).toBe(1009)
    await honestStillServed()
  })

  it('2. a text frame is refused with 1003 and nothing is delivered', async () => {
    const ws = new WebSocket(node.address)
    ws.on('error', () => {})
    await new Promise((resolve) => ws.once('open', resolve))
    ws.send(JSON.stringify({ type: 21 }))
    const code = await new Promise<number>((resolve) => ws.once('close', (closeCode: number) => resolve(closeCode)))
    expect(code).toBe(1003)
    expect(node.peer.metrics().messagesReceived['CONSENSUS'] ?? 0).toBe(0)
    await honestStillServed()
  })

  it('3. invalid UTF-8, a reserved opcode and an unmasked client frame close the link (1007/1002) without a crash', async () => {
    const cases: [Buffer, number][] = [
      [frame(0x1, new Uint8Array([0xc3, 0x28])), 1007],
      [frame(0x3, new Uint8Array([1, 2, 3])), 1002],
      [frame(0x2, encodeFrame([ping]), false), 1002],
    ]
    for (const [bytes, expected] of cases) {
      const { socket, closed } = await rawUpgrade(node.port)
      socket.write(bytes)
      expect(await closed).toBe(expected)
    }
    await honestStillServed()
  })

  it('4. truncated msgpack and trailing bytes get a typed decode error; repeated offences close with 1007', async () => {
    const link = await dial()
    const good = encodeFrame([ping])
    link.sendBytes(good.subarray(0, good.length - 3))
    expect(await link.nextResponse()).toMatchObject({ status: 500, code: 'ERR_DECODE' })
    link.sendBytes(new Uint8Array([...good, 0x00]))
    expect(await link.nextResponse()).toMatchObject({ code: 'ERR_DECODE' })
    link.sendBytes(good.subarray(0, 2))
    expect((await link.stream.done).code).toBe(1007)
    await honestStillServed()
  })

  it('5. declared 4 GB string/bin/array/map/ext are refused as decode errors', async () => {
    const declared = [
      [0xdb, 0xff, 0xff, 0xff, 0xff], // str32
      [0xc6, 0xff, 0xff, 0xff, 0xff], // bin32
      [0xdd, 0xff, 0xff, 0xff, 0xff], // array32
      [0xdf, 0xff, 0xff, 0xff, 0xff], // map32
      [0xc9, 0xff, 0xff, 0xff, 0xff, 0x01], // ext32
    ]
    const link = await established('case5')
    // Every offence is answered, the third one just before the link is closed with 1007.
    for (const bytes of declared.slice(0, 3)) {
      link.sendBytes(new Uint8Array([0x91, ...bytes]))
      expect(await link.nextResponse()).toMatchObject({ code: 'ERR_DECODE' })
    }
    expect((await link.stream.done).code).toBe(1007)
    const again = await established('case5b')
    for (const bytes of declared.slice(3)) {
      again.sendBytes(new Uint8Array([0x91, ...bytes]))
      expect(await again.nextResponse()).toMatchObject({ code: 'ERR_DECODE' })
    }
    await honestStillServed()
  })

  it('6. allocation bombs are refused by a peer whose heap is capped at 256 MB', async () => {
    const run = promisify(execFile)
    const { stdout } = await run(process.execPath, ['--max-old-space-size=256', '--import', 'tsx', 'test/support/heap-bomb-child.ts'], {
      timeout: 60_000,
    })
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>
    expect(result).toMatchObject({ nestedArray16: 'ERR_DECODE', emptyMaps: 'ERR_DECODE', stillServing: 'yes' })
  }, 90_000)

  it('7. 100k nesting levels are a decode error, and the next valid frame decodes', async () => {
    const link = await established('case7')
    link.sendBytes(new Uint8Array(100_000).fill(0x91))
    expect(await link.nextResponse()).toMatchObject({ code: 'ERR_DECODE' })
    link.send(makeEnvelope(MessageType.KEEPALIVE_PING, { nonce: 77 }))
    await link.next({ type: MessageType.KEEPALIVE_PONG })
  })

  it('8. __proto__/constructor keys and msgpack extensions are schema errors; Object.prototype untouched', async () => {
    const link = await established('case8')
    const enc = new TextEncoder()
    const key = (k: string) => [0xa0 | k.length, ...enc.encode(k)]
    // [{__proto__: {polluted: 1}, type: 1, payload: bin(0)}]
    const proto = new Uint8Array([0x91, 0x83, ...key('__proto__'), 0x81, ...key('polluted'), 0x01, ...key('type'), 0x01, ...key('payload'), 0xc4, 0x00])
    const ctor = new Uint8Array([0x91, 0x83, ...key('constructor'), 0x01, ...key('type'), 0x01, ...key('payload'), 0xc4, 0x00])
    const regexpExt = new Uint8Array([0x91, 0xd4, 0x78, 0x00])
    link.sendBytes(proto)
    expect(await link.nextResponse()).toMatchObject({ code: 'ERR_DECODE' })
    link.sendBytes(ctor)
    expect(await link.nextResponse()).toMatchObject({ code: 'ERR_DECODE' })
    const link2 = await established('case8b')
    link2.sendBytes(regexpExt)
    expect(await link2.nextResponse()).toMatchObject({ code: 'ERR_DECODE' })
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
  })

  it('9. wrong top level, missing/extra/wrong-typed fields and integers past 2^53 are schema errors', async () => {
    const enc = new TextEncoder()
    const key = (k: string) => [0xa0 | k.length, ...enc.encode(k)]
    const bad = [
      new Uint8Array([0x81, ...key('type'), 0x01]), // a map, not an array of envelopes
      new Uint8Array([0x91, 0x81, ...key('type'), 0x01]), // payload missing
      new Uint8Array([0x91, 0x83, ...key('type'), 0x01, ...key('payload'), 0xc4, 0x00, ...key('extra'), 0x01]), // extra field
      new Uint8Array([0x91, 0x82, ...key('type'), 0xa1, 0x31, ...key('payload'), 0xc4, 0x00]), // type as a string
      new Uint8Array([0x91, 0x82, ...key('type'), 0xcf, 0x00, 0x40, 0, 0, 0, 0, 0, 0, ...key('payload'), 0xc4, 0x00]), // 2^54
    ]
    for (const bytes of bad) {
      const link = await established(`case9-${bad.indexOf(bytes)}`)
      link.sendBytes(bytes)
      expect(await link.nextResponse()).toMatchObject({ code: 'ERR_DECODE' })
      expect(link.stream.closed).toBe(false)
    }
  })

  it('10. a well-formed envelope with an unknown type gets an error reply and the link is kept', async () => {
    const link = await established('case10')
    link.send({ type: 99, payload: new Uint8Array() })
    expect(await link.nextResponse()).toMatchObject({ code: 'ERR_UNKNOWN_TYPE', inReplyTo: 99 })
    link.send(makeEnvelope(MessageType.KEEPALIVE_PING, { nonce: 3 }))
    await link.next({ type: MessageType.KEEPALIVE_PONG })
  })

  it('11. discovery or consensus before HELLO: error naming the type and state; not processed', async () => {
    const link = await dial()
    const before = instances.get('vp0')!.received.length
    link.send({ type: MessageType.CONSENSUS, payload: new Uint8Array([1]) })
    expect(await link.nextResponse()).toMatchObject({ code: 'ERR_HANDLER_STATE', msg: 'CONSENSUS is not accepted in state created' })
    link.send(makeEnvelope(MessageType.DISC_GET_PEERS, {}))
    expect(await link.nextResponse()).toMatchObject({ msg: 'DISC_GET_PEERS is not accepted in state created' })
    expect(instances.get('vp0')!.received.length).toBe(before)
    expect(node.peer.status().peers.map((p) => p.id)).not.toContain('')
  })

  it('15. a second connection for the same peer ID replaces the first; nothing it queued is lost', async () => {
    const first = await established('twin')
    first.send({ type: MessageType.CONSENSUS, payload: new Uint8Array([15, 1]) }, { type: MessageType.CONSENSUS, payload: new Uint8Array([15, 2]) })
    await vi.waitFor(() => expect(node.peer.metrics().messagesReceived['CONSENSUS'] ?? 0).toBeGreaterThanOrEqual(2), { timeout: 5000, interval: 5 })
    const second = await established('twin')
    expect((await first.stream.done).code).toBe(4001)
    second.send({ type: MessageType.CONSENSUS, payload: new Uint8Array([15, 3]) })
    const consenter = instances.get('vp0')!
    consenter.release()
    await vi.waitFor(
      () => expect(consenter.received.filter((m) => m.sender === 'twin').map((m) => m.envelope.payload[1])).toEqual([1, 2, 3]),
      { timeout: 5000, interval: 5 },
    )
  })

  it('16. simultaneous dials A<->B leave exactly one link on both sides', async () => {
    const a = await startNodePeer(resolveConfig({ argv: ['--id', 'A', '--port', '0'], env: {} }), { log: silentLogger })
    const b = await startNodePeer(resolveConfig({ argv: ['--id', 'B', '--port', '0'], env: {} }), { log: silentLogger })
    try {
      const ended = (who: string) => () => who
      const dials = [a.peer.chatWithPeer(b.address).then(ended('A'), ended('A')), b.peer.chatWithPeer(a.address).then(ended('B'), ended('B'))]
      // The link B dialed loses the tie-break on both sides (A < B), so B's dial is the one that
      // ends; A's stays up.
      expect(await Promise.race(dials)).toBe('B')
      // Either side may briefly hold the losing link before the winner's handshake completes:
      // wait for both to settle on one link each.
      await vi.waitFor(
        () => {
          expect(a.peer.status().peers.map((p) => p.id)).toEqual(['B'])
          expect(b.peer.status().peers.map((p) => p.id)).toEqual(['A'])
          expect([a.peer.metrics().connections, b.peer.metrics().connections]).toEqual([1, 1])
        },
        { timeout: 5000, interval: 5 },
      )
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it('17. a PEERS list of 10k entries with its own address and malformed URLs is capped and cleaned', async () => {
    const link = await established('case17')
    const peers = [
      { id: 'vp0', address: node.address, type: 1 as const },
      { id: 'bad1', address: 'http://x/chat', type: 1 as const },
      { id: 'bad2', address: '::::', type: 1 as const },
      ...Array.from({ length: 9_997 }, (_, i) => ({ id: `p${i}`, address: `ws://127.0.0.1:1/chat${i}`, type: 1 as const })),
    ]
    const before = node.peer.metrics().knownAddresses
    link.send(makeEnvelope(MessageType.DISC_PEERS, { peers }))
    await vi.waitFor(() => expect(node.peer.metrics().knownAddresses).toBe(before + 97), { timeout: 5000, interval: 5 })
    expect(node.peer.metrics().dialsInFlight).toBeLessThanOrEqual(8)
    await honestStillServed()
  })

  it('18. a flood of 10x the queue bound: exactly the bound accepted, the rest refused and reported, kept, others still served', async () => {
    const consenter = instances.get('vp0')!
    consenter.block()
    const flood = await established('flooder')
    const rejectsBefore = node.peer.metrics().queueRejectsTotal
    const fromFlooder = () => consenter.received.filter((m) => m.sender === 'flooder').length
    const depth = () => node.peer.status().queues.find((q) => q.peer === 'flooder')?.depth ?? 0
    const total = QUEUE_BOUND * 10
    for (let i = 0; i < total; i += 50) {
      flood.send(...Array.from({ length: 50 }, (_, j) => ({ type: MessageType.CONSENSUS, payload: new Uint8Array([18, (i + j) & 255]) })))
    }
    // The blocked consenter holds at most the one message it took; the queue fills to exactly the
    // bound, and the first message past it is refused and reported to the sender.
    await vi.waitFor(() => expect(depth()).toBe(QUEUE_BOUND), { timeout: 10_000, interval: 5 })
    expect(await flood.nextResponse()).toMatchObject({ code: 'ERR_QUEUE_FULL', msg: 'Message channel for flooder full, rejecting' })
    expect(fromFlooder()).toBeLessThanOrEqual(1)
    expect(flood.stream.closed).toBe(false)
    // While the flooder's link is full (and no longer read), the honest link is still served.
    await honestStillServed()
    honest.send({ type: MessageType.CONSENSUS, payload: new Uint8Array([18, 99]) })
    consenter.release()
    // Once the consenter moves, the link is read again: every flood message ends up accepted and
    // delivered, or refused and reported; none is lost or counted twice.
    await vi.waitFor(
      () => {
        const refused = node.peer.metrics().queueRejectsTotal - rejectsBefore
        expect(refused).toBeGreaterThan(0)
        expect(refused + fromFlooder()).toBe(total)
        expect(depth()).toBe(0)
      },
      { timeout: 10_000, interval: 5 },
    )
    await vi.waitFor(() => expect(consenter.received.some((m) => m.sender === 'honest')).toBe(true), { timeout: 10_000, interval: 5 })
    expect(flood.stream.closed).toBe(false)
  })
})
