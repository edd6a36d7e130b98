/**
 * Hostile frames against a browser peer: hostile-inputs.md cases 1, 2, 4, 5, 6, 7, 8, 9 and 10
 * (case 3 is below what a page can see: the browser's own WebSocket refuses those frames; the rest
 * need a listening peer or are Node-side). A tab can only dial out, so the hostile side sits
 * on the tab's own links: page.routeWebSocket puts a tap between the tab and each Node peer of
 * the shared network (the real authenticated handshake passes through untouched), the test pushes
 * crafted frames at the tab, decodes what the tab answers with the wire codec, and sees the close
 * code the tab puts on the wire. Browsers may only send 1000 and 3000-4999, so 1007/1003/1009
 * leave the tab as 3007/3003/3009 (PROTOCOL.md §13); the tab's own record of the end
 * (the dashboard's LINK_END entries) keeps the RFC 6455 code.
 *
 * Each link plan ends with the link closed, so the next round starts on fresh links: a tab
 * tolerates DEFAULT_MAX_DECODE_ERRORS - 1 undecodable frames on a link and closes it on the next
 * (1007). The four links are attacked in parallel, four rounds. Afterwards the tab has no page
 * errors, Object.prototype is untouched, and a transaction it submits commits everywhere.
 */
import { expect, test, type Page, type WebSocketRoute } from '@playwright/test'
import { decodeFrame } from '../src/core/wire/codec.js'
import type { Envelope } from '../src/core/wire/envelope.js'
import { MessageType } from '../src/core/wire/message-type.js'
import { decodePayload } from '../src/core/wire/payloads.js'
import type { ResponsePayload } from '../src/core/wire/payload-types.js'
import { chatUrl, peerIds } from './network.js'
import { committedIn, linkedIds, nodeHeads, openTab, recordCommits, tabStatus, type Tab } from './helpers.js'

// ---- msgpack by hand: hostile frames are exactly the ones an encoder would never write ----

type Part = number | Uint8Array

function bytes(...parts: Part[]): Uint8Array {
  const arrays = parts.map((p) => (typeof p === 'number' ? Uint8Array.of(p) : p))
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0))
  let at = 0
  for (const a of arrays) {
    out.set(a, at)
    at += a.length
  }
  return out
}

/** `part` `times` times over. */
function repeat(part: Uint8Array, times: number): Uint8Array {
  const out = new Uint8Array(part.length * times)
  for (let i = 0; i < times; i++) out.set(part, i * part.length)
  return out
}

const be = (n: number, width: 2 | 4): number[] => (width === 2 ? [n >>> 8, n & 0xff] : [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])

function str(s: string): Uint8Array {
  const utf8 = new TextEncoder().encode(s)
  return utf8.length < 32 ? bytes(0xa0 | utf8.length, utf8) : bytes(0xd9, utf8.length, utf8)
}

function bin(data: Uint8Array): Uint8Array {
  if (data.length < 0x100) return bytes(0xc4, data.length, data)
  return data.length < 0x10000 ? bytes(0xc5, ...be(data.length, 2), data) : bytes(0xc6, ...be(data.length, 4), data)
}

/** Any non-negative integer, 64-bit ones from a bigint (so unsafe values can be written too). */
function uint(n: number | bigint): Uint8Array {
  if (typeof n === 'number' && n < 0x80) return bytes(n)
  if (typeof n === 'number' && n < 0x10000) return bytes(0xcd, ...be(n, 2))
  if (typeof n === 'number' && n < 0x100000000) return bytes(0xce, ...be(n, 4))
  const out = new Uint8Array(9)
  out[0] = 0xcf
  new DataView(out.buffer).setBigUint64(1, BigInt(n))
  return out
}

function map(entries: [string, Uint8Array][]): Uint8Array {
  return bytes(0x80 | entries.length, ...entries.flatMap(([k, v]) => [str(k), v]))
}

function array(items: Uint8Array[]): Uint8Array {
  return bytes(0x90 | items.length, ...items)
}

const EMPTY_MAP = bytes(0x80)

/** One envelope map: `type` as given (a number, or raw msgpack for wrong types), `payload` as bin. */
function envelope(type: number | Uint8Array, payload: Uint8Array = EMPTY_MAP, more: [string, Uint8Array][] = []): Uint8Array {
  return map([['type', typeof type === 'number' ? uint(type) : type], ['payload', bin(payload)], ...more])
}

const frame = (...envelopes: Uint8Array[]): Uint8Array => array(envelopes)
/** Array16 headers each declaring 65535 elements, 72 KB of them: once drove msgpackr to heap exhaustion. */
const ARRAY16_CHAIN = repeat(bytes(0xdc, 0xff, 0xff), (72 * 1024) / 3)
/** An array32 of empty maps filling most of a 1 MiB frame: a 40-64x expansion if decoded naively. */
const EMPTY_MAPS_COUNT = 1024 * 1024 - 128
const EMPTY_MAPS = bytes(0xdd, ...be(EMPTY_MAPS_COUNT, 4), new Uint8Array(EMPTY_MAPS_COUNT).fill(0x80))
const ping = (nonce: number, more: [string, Uint8Array][] = []): Uint8Array => frame(envelope(MessageType.KEEPALIVE_PING, map([['nonce', uint(nonce)], ...more])))
/** An extension value: ext 8 with `type` and `data`. */
const ext8 = (type: number, data: Uint8Array): Uint8Array => bytes(0xc7, data.length, type, data)
const FOUR_GB = be(0xffffffff, 4)
/** The frame limit every peer uses by default (DEFAULT_MAX_FRAME_BYTES, 1 MiB). */
const MAX_FRAME = 1024 * 1024

// ---- the tap on one routed link ----

/** One WebSocket the tab opened to a Node peer, with the test in the middle. */
class Tap {
  readonly fromTab: Envelope[] = []
  /** Frames from the tab the test could not decode (a tab bug if ever non-zero). */
  undecodable = 0
  closed: { code: number | undefined; reason: string } | undefined
  readonly #route: WebSocketRoute

  constructor(route: WebSocketRoute) {
    this.#route = route
    const server = route.connectToServer()
    route.onMessage((message) => {
      if (typeof message === 'string') this.undecodable++
      else {
        try {
          this.fromTab.push(...decodeFrame(new Uint8Array(message)))
        } catch {
          this.undecodable++
        }
      }
      try {
        server.send(message)
      } catch {
        // The Node side is gone already; the tab will see its link end.
      }
    })
    // The tab's close, as it went on the wire; passed on so the Node peer ends its side too.
    route.onClose((code, reason) => {
      this.closed = { code, reason: reason ?? '' }
      server.close(code === undefined ? {} : { code, reason: reason ?? '' }).catch(() => undefined)
    })
  }

  send(data: Uint8Array | string): void {
    this.#route.send(typeof data === 'string' ? data : Buffer.from(data))
  }

  /** Every RESPONSE the tab sent on this link, decoded. */
  responses(): ResponsePayload[] {
    return this.fromTab.filter((e) => e.type === MessageType.RESPONSE).map((e) => decodePayload(MessageType.RESPONSE, e.payload))
  }

  pongs(): number[] {
    return this.fromTab.filter((e) => e.type === MessageType.KEEPALIVE_PONG).map((e) => decodePayload(MessageType.KEEPALIVE_PONG, e.payload).nonce)
  }
}

interface LinkEndSeen {
  peer: string
  close: string
}

declare global {
  interface Window {
    /** The dashboard's LINK_END entries as they were added (test instrumentation). */
    wspeerLinkEnds?: LinkEndSeen[]
  }
}

/** Keeps every LINK_END the dashboard logs: the events panel itself only holds the newest 60. */
async function recordLinkEnds(page: Page): Promise<void> {
  await page.evaluate(() => {
    const ends: LinkEndSeen[] = []
    window.wspeerLinkEnds = ends
    new MutationObserver((records) => {
      for (const r of records) {
        for (const node of r.addedNodes) {
          if (node instanceof HTMLElement && node.dataset['code'] === 'LINK_END') ends.push({ peer: node.dataset['peer'] ?? '', close: node.dataset['close'] ?? '' })
        }
      }
    }).observe(document.querySelector('#events')!, { childList: true })
  })
}

const linkEnds = (page: Page, peer: string, close: number): Promise<number> =>
  page.evaluate(([p, c]) => (window.wspeerLinkEnds ?? []).filter((e) => e.peer === p && e.close === c).length, [peer, String(close)] as const)

// ---- plans: what each link gets, and what must come back ----

interface Step {
  name: string
  frame: Uint8Array | string
  /** The RESPONSE(FAILURE) the tab must answer with; absent: it must answer nothing. */
  refused?: { code: string; inReplyTo?: number; msg?: RegExp }
  /** A KEEPALIVE_PONG with this nonce must come back (the frame was processed). */
  pong?: number
  /** No KEEPALIVE_PONG with this nonce may come back (the frame was not processed). */
  noPong?: number
}

interface LinkPlan {
  peer: string
  title: string
  steps: Step[]
  /** How the tab closes the link after the last step: the code on the wire, and in its own record. */
  end: { wire: number; tab: number; reason: RegExp }
}

const decodeError = (msg: RegExp, inReplyTo?: number): Step['refused'] => ({ code: 'ERR_DECODE', msg, ...(inReplyTo === undefined ? {} : { inReplyTo }) })
const unknownType = (type: number): Step['refused'] => ({ code: 'ERR_UNKNOWN_TYPE', inReplyTo: type, msg: new RegExp(`unknown or unsupported message type ${type}$`) })
/** The third undecodable frame on a link (DEFAULT_MAX_DECODE_ERRORS): closed 1007, sent as 3007. */
const CLOSED_1007 = { wire: 3007, tab: 1007, reason: /^ERR_DECODE: 3 undecodable (frames|messages); last: / }
const MARKER = 'EVIL-MARKER'

const rounds = (): LinkPlan[][] => [
  [
    {
      peer: 'vp0',
      title: 'case 10 unknown types are refused and the link kept; case 4 truncated and trailing bytes',
      steps: [
        { name: 'a valid PING is answered (the tap sees processing)', frame: ping(424242), pong: 424242 },
        { name: 'type 99', frame: frame(envelope(99)), refused: unknownType(99) },
        { name: 'UNDEFINED (0)', frame: frame(envelope(0)), refused: unknownType(0) },
        { name: 'DISC_NEWMSG (5)', frame: frame(envelope(5)), refused: unknownType(5) },
        { name: 'type 2^53-1', frame: frame(envelope(Number.MAX_SAFE_INTEGER)), refused: unknownType(Number.MAX_SAFE_INTEGER) },
        { name: 'truncated', frame: frame(envelope(99)).slice(0, -2), refused: decodeError(/^frame: truncated msgpack/) },
        { name: 'trailing bytes', frame: bytes(frame(envelope(99)), str(MARKER)), refused: decodeError(/^frame: trailing bytes/) },
        { name: 'array 16 header cut off', frame: bytes(0xdc, 0x00), refused: decodeError(/array header is cut off/) },
      ],
      end: CLOSED_1007,
    },
    {
      peer: 'vp1',
      title: 'case 5 declared 4 GB lengths',
      steps: [
        { name: 'str 32 of 4 GB', frame: bytes(0x91, 0xdb, ...FOUR_GB), refused: decodeError(/declares 4294967295 bytes/) },
        { name: 'bin 32 payload of 4 GB', frame: bytes(0x91, 0x82, str('type'), 30, str('payload'), 0xc6, ...FOUR_GB), refused: decodeError(/declares 4294967295 bytes/) },
        { name: 'map 32 of 4 G pairs', frame: bytes(0x91, 0xdf, ...FOUR_GB), refused: decodeError(/declares 8589934590 elements/) },
      ],
      end: CLOSED_1007,
    },
    {
      peer: 'vp2',
      title: 'case 7 100k nesting levels; the next valid frame decodes',
      steps: [
        { name: '100k nested arrays', frame: bytes(new Uint8Array(100_000).fill(0x91), 0xc0), refused: decodeError(/nesting deeper than 16 levels/) },
        { name: 'the next valid frame decodes', frame: frame(envelope(99)), refused: unknownType(99) },
        { name: '100k nested maps', frame: bytes(0x91, repeat(bytes(0x81, str('a')), 100_000), 0xc0), refused: decodeError(/nesting deeper than 16 levels/) },
        {
          name: 'a PING payload nested 17 deep',
          frame: ping(1717, [['x', bytes(new Uint8Array(16).fill(0x91), 0xc0)]]),
          refused: decodeError(/^KEEPALIVE_PING payload: msgpack nesting deeper than 16 levels/, MessageType.KEEPALIVE_PING),
          noPong: 1717,
        },
      ],
      end: CLOSED_1007,
    },
    {
      peer: 'vp3',
      title: 'case 8 __proto__ and constructor keys',
      steps: [
        { name: '__proto__ in an envelope', frame: frame(envelope(MessageType.KEEPALIVE_PING, map([['nonce', uint(1)]]), [['__proto__', map([['wspeerPolluted', bytes(0xc3)]])]])), refused: decodeError(/has a key other than/) },
        {
          name: '__proto__ in a PING payload',
          frame: ping(31337, [['__proto__', map([['wspeerPolluted', bytes(0xc3)]])]]),
          refused: decodeError(/^KEEPALIVE_PING payload/, MessageType.KEEPALIVE_PING),
          noPong: 31337,
        },
        {
          name: 'constructor in a PING payload',
          frame: ping(31338, [['constructor', map([['prototype', map([['wspeerPolluted', bytes(0xc3)]])]])]]),
          refused: decodeError(/^KEEPALIVE_PING payload/, MessageType.KEEPALIVE_PING),
          noPong: 31338,
        },
      ],
      end: CLOSED_1007,
    },
  ],
  [
    {
      peer: 'vp0',
      title: 'case 8 extension types (RegExp, record, Error of 4 GB)',
      steps: [
        { name: 'RegExp (0x78) as payload', frame: bytes(0x91, 0x82, str('type'), 30, str('payload'), ext8(0x78, bytes(0x92, str('.*'), str('g')))), refused: decodeError(/extension types are not accepted/) },
        { name: 'record definition (0x72), fixext 1', frame: bytes(0x91, 0xd4, 0x72, 0x40), refused: decodeError(/extension types are not accepted/) },
        { name: 'Error (0x65), ext 32 of 4 GB', frame: bytes(0x91, 0xc9, ...FOUR_GB, 0x65), refused: decodeError(/extension types are not accepted/) },
      ],
      end: CLOSED_1007,
    },
    {
      peer: 'vp1',
      title: 'case 8 extension types (Set, typed array, structured clone)',
      steps: [
        { name: 'Set (0x73) inside a PING payload', frame: ping(7373, [['s', ext8(0x73, array([uint(1)]))]]), refused: decodeError(/^KEEPALIVE_PING payload: msgpack extension types/, MessageType.KEEPALIVE_PING), noPong: 7373 },
        { name: 'typed array (0x74), ext 16', frame: bytes(0x91, 0xc8, 0x00, 0x04, 0x74, 1, 2, 3, 4), refused: decodeError(/extension types are not accepted/) },
        { name: 'structured clone (0x69), fixext 4', frame: bytes(0x91, 0xd6, 0x69, 0, 0, 0, 1), refused: decodeError(/extension types are not accepted/) },
      ],
      end: CLOSED_1007,
    },
    {
      peer: 'vp2',
      title: 'case 9 wrong top level and envelope shapes',
      steps: [
        { name: 'top level a map', frame: envelope(99), refused: decodeError(/^frame: top level is not a msgpack array$/) },
        { name: 'no envelope', frame: bytes(0x90), refused: decodeError(/^frame: holds no envelope$/) },
        { name: 'envelope an array', frame: frame(array([uint(99), bin(EMPTY_MAP)])), refused: decodeError(/^frame: envelope 0 is not a map$/) },
      ],
      end: CLOSED_1007,
    },
    {
      peer: 'vp3',
      title: 'case 9 missing, extra and wrong-typed fields',
      steps: [
        { name: 'no payload', frame: frame(map([['type', uint(99)]])), refused: decodeError(/^frame: envelope 0 has no "payload"$/) },
        { name: 'an extra key', frame: frame(envelope(99, EMPTY_MAP, [['extra', uint(1)]])), refused: decodeError(/^frame: envelope 0 has a key other than/) },
        { name: 'type a string', frame: frame(envelope(str('99'))), refused: decodeError(/^frame: envelope 0 "type" is not a non-negative safe integer$/) },
      ],
      end: CLOSED_1007,
    },
  ],
  [
    {
      peer: 'vp0',
      title: 'case 9 integers beyond 2^53, nil, bin as str',
      steps: [
        { name: 'type 2^53+1', frame: frame(envelope(uint(2n ** 53n + 1n))), refused: decodeError(/outside the safe integer range/) },
        { name: 'timestamp nil', frame: frame(envelope(99, EMPTY_MAP, [['timestamp', bytes(0xc0)]])), refused: decodeError(/"timestamp" is not a non-negative safe integer$/) },
        { name: 'payload a str', frame: frame(map([['type', uint(99)], ['payload', str('x')]])), refused: decodeError(/"payload" is not bin$/) },
      ],
      end: CLOSED_1007,
    },
    {
      peer: 'vp1',
      title: 'case 5 and 9 declared counts and lengths over the caps',
      steps: [
        { name: 'array 32 of 4 G envelopes', frame: bytes(0xdd, ...FOUR_GB), refused: decodeError(/^frame: 4294967295 envelopes exceed the limit of 256$/) },
        { name: 'signature of 1025 bytes', frame: frame(envelope(99, EMPTY_MAP, [['signature', bin(new Uint8Array(1025))]])), refused: decodeError(/"signature" is longer than 1024 bytes$/) },
        { name: 'timestamp extension (-1)', frame: frame(envelope(99, EMPTY_MAP, [['timestamp', bytes(0xd6, 0xff, 0, 0, 0, 0)]])), refused: decodeError(/extension types are not accepted/) },
      ],
      end: CLOSED_1007,
    },
    {
      peer: 'vp2',
      title: 'case 2 a text frame',
      steps: [{ name: 'text', frame: '[{"type":99,"payload":""}]' }],
      end: { wire: 3003, tab: 1003, reason: /^ERR_TEXT_FRAME: text frames are not accepted/ },
    },
    {
      peer: 'vp3',
      title: 'case 1 a frame over the 1 MiB limit (one at the limit is decoded)',
      steps: [
        { name: 'exactly 1 MiB', frame: bytes(0x90, new Uint8Array(MAX_FRAME - 1)), refused: decodeError(/^frame: holds no envelope$/) },
        { name: '1 MiB + 1', frame: new Uint8Array(MAX_FRAME + 1).fill(0x90) },
      ],
      end: { wire: 3009, tab: 1009, reason: new RegExp(`^ERR_FRAME_TOO_LARGE: frame of ${MAX_FRAME + 1} bytes exceeds the limit of ${MAX_FRAME} bytes`) },
    },
  ],
  [
    {
      peer: 'vp0',
      title: 'case 6 allocation bombs: a nested array16 chain, 1 MiB of empty maps',
      steps: [
        { name: '72 KB array16 chain as a frame', frame: ARRAY16_CHAIN, refused: decodeError(/^frame: 65535 envelopes exceed the limit of 256$/) },
        { name: '72 KB array16 chain in a PING payload', frame: ping(6161, [['x', ARRAY16_CHAIN]]), refused: decodeError(/^KEEPALIVE_PING payload: msgpack nesting deeper than 16 levels/, MessageType.KEEPALIVE_PING), noPong: 6161 },
        { name: '1 MiB of empty maps in a PING payload', frame: ping(6262, [['x', EMPTY_MAPS]]), refused: decodeError(/^KEEPALIVE_PING payload: more than 65536 arrays and maps in one value$/, MessageType.KEEPALIVE_PING), noPong: 6262 },
      ],
      end: CLOSED_1007,
    },
  ],
]

// ---- the run ----

const tabs: Tab[] = []
test.afterEach(async () => {
  for (const tab of tabs.splice(0)) {
    expect(tab.errors, `uncaught errors in ${tab.id}`).toEqual([])
    await tab.context.close()
  }
})

test('a tab peer survives hostile frames on its links, answers each with the right refusal or close code, and still commits', async ({ browser }) => {
  const taps = new Map<string, Tap[]>(peerIds.map((id) => [id, []]))
  const tab = await openTab(browser, '/', {
    before: async (page) => {
      for (const id of peerIds) await page.routeWebSocket(chatUrl(id), (route) => taps.get(id)!.push(new Tap(route)))
    },
  })
  tabs.push(tab)
  const { page } = tab
  await recordLinkEnds(page)
  await recordCommits(page)
  const used = new Set<Tap>()

  /** The tap of the tab's current, established link to `peer` (a fresh one: each plan ends its link). */
  const liveTap = async (peer: string): Promise<Tap> => {
    await expect
      .poll(async () => {
        const tap = taps.get(peer)!.at(-1)
        return tap !== undefined && !used.has(tap) && tap.closed === undefined && linkedIds(await tabStatus(page)).includes(peer)
      }, { message: `a fresh link from ${tab.id} to ${peer}`, timeout: 20_000 })
      .toBe(true)
    const tap = taps.get(peer)!.at(-1)!
    used.add(tap)
    return tap
  }

  const run = async (plan: LinkPlan): Promise<void> => {
    const tap = await liveTap(plan.peer)
    const endsBefore = await linkEnds(page, plan.peer, plan.end.tab)
    let refusals = 0
    for (const step of plan.steps) {
      const what = `${plan.peer}: ${plan.title}: ${step.name}`
      tap.send(step.frame)
      if (step.refused !== undefined) {
        await expect.poll(() => tap.responses().length, { message: `${what}: a RESPONSE` }).toBeGreaterThan(refusals)
        const got = tap.responses()[refusals++]!
        expect(got, what).toMatchObject({ status: 500, code: step.refused.code })
        expect(got.inReplyTo, `${what}: inReplyTo`).toBe(step.refused.inReplyTo)
        if (step.refused.msg !== undefined) expect(got.msg, what).toMatch(step.refused.msg)
        // Error text never quotes what the frame carried.
        expect(got.msg, what).not.toContain(MARKER)
      }
      if (step.pong !== undefined) await expect.poll(() => tap.pongs(), { message: `${what}: PONG` }).toContain(step.pong)
    }
    const what = `${plan.peer}: ${plan.title}`
    await expect.poll(() => tap.closed?.code, { message: `${what}: closed by the tab` }).toBe(plan.end.wire)
    expect(tap.closed!.reason, what).toMatch(plan.end.reason)
    await expect.poll(() => linkEnds(page, plan.peer, plan.end.tab), { message: `${what}: the tab's own record of the close` }).toBe(endsBefore + 1)
    // One answer per refused frame and nothing else: no RESPONSE for a text or oversized frame,
    // and nothing processed from a refused one.
    expect(tap.responses(), what).toHaveLength(refusals)
    for (const step of plan.steps) if (step.noPong !== undefined) expect(tap.pongs(), `${what}: ${step.name} was not processed`).not.toContain(step.noPong)
    expect(tap.undecodable, `${what}: frames from the tab the test could not decode`).toBe(0)
  }

  for (const round of rounds()) {
    await Promise.all(round.map(run))
    // The tab peer is alive after each round: it answers, and nothing went uncaught.
    expect((await tabStatus(page)).id).toBe(tab.id)
    expect(tab.errors).toEqual([])
  }

  expect(await page.evaluate(() => Object.prototype.hasOwnProperty.call(Object.prototype, 'wspeerPolluted') || ({} as Record<string, unknown>)['wspeerPolluted'] !== undefined)).toBe(false)
  // Back on all four links by itself, and a transaction from the tab commits on every Node peer.
  await expect.poll(async () => linkedIds(await tabStatus(page)), { timeout: 20_000 }).toEqual(peerIds)
  const { txid } = await page.evaluate(() => window.peer!.submit('hostile=survived'))
  // Until it commits the poll shows what the Node peers refused of this tab, if anything.
  await expect
    .poll(async () => (await committedIn(page, txid)) ?? { refusals: await page.evaluate(() => window.peer!.refusalCounts()) }, {
      message: `${txid} committed in ${tab.id}`,
    })
    .toMatchObject({ txids: expect.arrayContaining([txid]) })
  const block = (await committedIn(page, txid))!
  await expect.poll(() => nodeHeads()).toEqual(Array(4).fill(`${block.number + 1}:${block.hash}`))
})
