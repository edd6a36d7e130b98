/**
 * hostile-inputs.md case 3 against a browser peer: WebSocket protocol violations below what a page
 * can see (a reserved opcode, a text frame of invalid UTF-8, a masked frame from the server). A raw
 * TCP server completes the upgrade for the tab and then sends one violation per connection; the
 * browser's own WebSocket must fail the connection, the tab peer must see its link end and redial,
 * and nothing may reach the page as an error. Afterwards the same tab links to the real network
 * and its transaction commits.
 */
import { createHash } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { expect, test } from '@playwright/test'
import { chatUrl, httpUrl, peerIds } from './network.js'
import { committedIn, linkedIds, nodeHeads, openTab, recordCommits, tabStatus, type Tab } from './helpers.js'

/** RFC 6455 section 1.3: the accept key for a client's Sec-WebSocket-Key. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/** One violation per connection, in order; the tab redials after each. */
const VIOLATIONS: { name: string; frame: Buffer }[] = [
  // FIN + opcode 0x3 (reserved), no payload.
  { name: 'reserved opcode', frame: Buffer.from([0x83, 0x00]) },
  // FIN + text frame holding 0xff 0xfe: not UTF-8.
  { name: 'text frame of invalid UTF-8', frame: Buffer.from([0x81, 0x02, 0xff, 0xfe]) },
  // FIN + binary frame with the mask bit set: a server must never mask.
  { name: 'masked frame from the server', frame: Buffer.from([0x82, 0x81, 1, 2, 3, 4, 0x90 ^ 1]) },
]

interface RawServer {
  server: Server
  url: string
  /** Connections that completed the upgrade, in order. */
  upgraded: number
  /** How each upgraded connection ended: 'closed' once the browser dropped it. */
  ends: string[]
}

async function startRawServer(): Promise<RawServer> {
  const raw: RawServer = { server: createServer(), url: '', upgraded: 0, ends: [] }
  raw.server.on('connection', (socket: Socket) => {
    socket.on('error', () => {})
    let head = ''
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      socket.off('data', onData)
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? ''
      const accept = createHash('sha1').update(key + WS_GUID).digest('base64')
      const index = raw.upgraded++
      const violation = VIOLATIONS[index % VIOLATIONS.length]!
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)
      socket.write(violation.frame)
      socket.once('close', () => raw.ends.push(violation.name))
    }
    socket.on('data', onData)
  })
  await new Promise<void>((resolve) => raw.server.listen(0, '127.0.0.1', resolve))
  raw.url = `ws://127.0.0.1:${(raw.server.address() as { port: number }).port}/chat`
  return raw
}

const tabs: Tab[] = []
let raw: RawServer | undefined
test.afterEach(async () => {
  for (const tab of tabs.splice(0)) {
    expect(tab.errors, `uncaught errors in ${tab.id}`).toEqual([])
    await tab.context.close()
  }
  await new Promise<void>((resolve) => (raw === undefined ? resolve() : raw.server.close(() => resolve())))
})

test('a tab survives WebSocket protocol violations on a link (case 3): the browser fails the link, the tab redials, then works', async ({ browser }) => {
  raw = await startRawServer()
  const server = raw
  // Served by vp0, but told to dial the raw server first: it knows no other peer yet. Room for a
  // link to every Node peer (it checks each below) beside the raw server it keeps redialing.
  const tab = await openTab(browser, `${httpUrl('vp0')}/?connect=${encodeURIComponent(server.url)}&maxLinks=${peerIds.length + 1}`, { linked: [] })
  tabs.push(tab)
  // Every violation was sent and the browser dropped each connection; the tab kept redialing.
  await expect.poll(() => server.ends.length, { timeout: 30_000, message: 'the browser failing each violating connection' }).toBeGreaterThanOrEqual(VIOLATIONS.length)
  expect(server.ends.slice(0, VIOLATIONS.length)).toEqual(VIOLATIONS.map((v) => v.name))
  // The tab saw its links end with an error code (the dashboard logs them once it is up; the tab
  // keeps redialing, so more ends follow), and is alive and unlinked.
  const closeCodes = (): Promise<number[]> =>
    tab.page.locator('#events [data-code="LINK_END"]').evaluateAll((nodes) => nodes.map((n) => Number((n as HTMLElement).dataset['close'])))
  await expect.poll(async () => (await closeCodes()).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(VIOLATIONS.length)
  for (const code of await closeCodes()) expect([1002, 1006, 1007]).toContain(code)
  expect(linkedIds(await tabStatus(tab.page))).toEqual([])

  // The same tab then joins the real network, and its transaction commits everywhere.
  await recordCommits(tab.page)
  await tab.page.evaluate((url) => void window.peer!.core.chatWithPeer(url).catch(() => undefined), chatUrl('vp0'))
  await expect.poll(async () => linkedIds(await tabStatus(tab.page)), { timeout: 20_000 }).toEqual(peerIds)
  const { txid } = await tab.page.evaluate(() => window.peer!.submit('protocol=survived'))
  await expect.poll(() => committedIn(tab.page, txid), { timeout: 20_000 }).toMatchObject({ txids: expect.arrayContaining([txid]) })
  const block = (await committedIn(tab.page, txid))!
  await expect.poll(() => nodeHeads()).toEqual(Array(4).fill(`${block.number + 1}:${block.hash}`))
})
