/**
 * Issue #19: memory taken for a link is released when the link goes. A real `wspeer start`
 * process with the default 8 MiB send-buffer cap; 20 remotes complete the handshake, stop reading
 * at the TCP level and keep asking for every block. Each link is closed with 4002 once its send
 * buffer passes the cap; afterwards the peer's RSS (VmRSS of /proc/<pid>/status) must come back to
 * within 30 MB of its level before the attack. The peer runs with the environment `wspeer network`
 * gives its children (peer-process.ts peerProcessEnv); the wait covers the next major GC of an
 * idle peer (V8's memory reducer; measured 15-20 s after the links closed, 65 s on a loaded machine).
 */
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { afterAll, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { openWebSocketChat, type WebSocketLike } from '../../src/core/chat/websocket-chat-stream.js'
import { MessageType } from '../../src/core/wire/message-type.js'
import { makeEnvelope } from '../../src/core/wire/payloads.js'
import { freePortRun } from '../support/ports.js'
import { PeerProcesses, postTx, statusOf } from '../support/peer-process.js'
import { RawLink } from '../support/raw-link.js'

const ATTACKERS = 20
const TX_PAYLOAD_CHARS = 200 * 1024
const TXS = 4
/** What each attacker asks for in total: well past the 8 MiB cap plus loopback buffering. */
const ASKED_BYTES_PER_ATTACKER = 40 * 1024 * 1024
const RSS_SLACK_BYTES = 30 * 1024 * 1024

const procs = new PeerProcesses()
afterAll(() => procs.killAll())

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (match === null) throw new Error(`no VmRSS for ${pid}`)
  return Number(match[1]) * 1024
}

const MB = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`

it('after 20 non-reading peers are closed with 4002, the peer RSS returns to within 30 MB of before', async () => {
  const port = await freePortRun(1)
  const child = procs.start('vp0', port, ['--log-level', 'warn'])
  const pid = child.pid!
  await vi.waitFor(async () => expect(await statusOf(port)).toBeDefined(), { timeout: 30_000, interval: 50 })
  for (let i = 0; i < TXS; i++) expect(await postTx(port, `big${i}=${'x'.repeat(TX_PAYLOAD_CHARS)}`)).toBe(true)
  await vi.waitFor(async () => expect((await statusOf(port))?.chain.height).toBeGreaterThan(1), { timeout: 10_000, interval: 50 })
  const last = (await statusOf(port))!.chain.height - 1

  // A first honest round of the same requests warms up what a peer keeps anyway (code, pools).
  const warm = await dial(port, 'warm')
  warm.link.send(makeEnvelope(MessageType.SYNC_GET_BLOCKS, { requestId: 1, start: 1, end: last }))
  await warm.link.next({ type: MessageType.SYNC_BLOCKS })
  warm.ws.terminate()
  await vi.waitFor(async () => expect((await statusOf(port))?.peers).toEqual([]), { timeout: 10_000, interval: 50 })
  const before = rssBytes(pid)

  // From another address than the warm-up, one after the other: each completes HELLO within the
  // admission limits (20 new connections a second and 8 pending per address).
  const attackers: { link: RawLink; ws: WebSocket }[] = []
  for (let i = 0; i < ATTACKERS; i++) attackers.push(await dial(port, `slow${i}`, '127.0.0.2'))
  const asks = Math.ceil(ASKED_BYTES_PER_ATTACKER / (TXS * TX_PAYLOAD_CHARS))
  for (const { link, ws } of attackers) {
    ;(ws as unknown as { _socket: Socket })._socket.pause()
    for (let i = 0; i < asks; i++) link.send(makeEnvelope(MessageType.SYNC_GET_BLOCKS, { requestId: i + 1, start: 1, end: last }))
  }
  // The peer closes every attacker's link (4002); the attacker sockets stay paused, so the peer
  // cannot count on them to read its close frame.
  await vi.waitFor(async () => expect((await statusOf(port))?.peers).toEqual([]), { timeout: 60_000, interval: 100 })
  // The attack did cost memory (else this test would prove nothing): 20 send buffers at the cap.
  const closed = rssBytes(pid)
  expect(closed).toBeGreaterThan(before + RSS_SLACK_BYTES)
  // RSS must come back on its own: no signal, no debugger, no request to the peer but /status.
  let after = rssBytes(pid)
  await vi
    .waitFor(
      () => {
        after = rssBytes(pid)
        expect(after).toBeLessThanOrEqual(before + RSS_SLACK_BYTES)
      },
      { timeout: 120_000, interval: 200 },
    )
    .finally(() => console.log(`RSS before ${MB(before)}, when the links closed ${MB(closed)}, after ${MB(after)}`))
  for (const { ws } of attackers) ws.terminate()
}, 240_000)

async function dial(port: number, id: string, localAddress = '127.0.0.1'): Promise<{ link: RawLink; ws: WebSocket }> {
  const address = `ws://127.0.0.1:${port}/chat`
  const ws = new WebSocket(address, { perMessageDeflate: false, localAddress })
  ws.on('error', () => {})
  const stream = await openWebSocketChat(() => ws as unknown as WebSocketLike, { remote: address, maxFrameBytes: 1024 * 1024, timeoutMs: 5000 })
  return { link: await RawLink.established(stream, id), ws }
}
