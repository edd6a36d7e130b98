/**
 * The hand-written PBFT codec (wire/msgpack-reader.ts, wire/msgpack-writer.ts, messages.ts): the
 * bytes stay what msgpackr gave for the same wire objects, any key order and integer encoding is
 * read, and hostile bytes end in DecodeError only, quoting nothing received.
 */
import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { NULL_DIGEST, batchDigest, type PbftBatch } from '../../../../src/core/consensus/pbft/batch.js'
import {
  PBFT_MAX_BUNDLE_MESSAGES,
  decodePbftMessage,
  encodeBundle,
  encodePbftMessage,
  type PbftMessage,
} from '../../../../src/core/consensus/pbft/messages.js'
import { DecodeError } from '../../../../src/core/errors.js'
import { fromHex } from '../../../../src/core/util/bytes.js'
import type { Transaction } from '../../../../src/core/wire/payload-types.js'
import { seededRandom } from '../../../support/seeded-random.js'

const tx = (i: number, payload = `k${i}=v${i}`): Transaction => ({ txid: `t${i}`, payload, timestamp: 1_700_000_000_000 + i, origin: 'vp1' })
const batch: PbftBatch = { timestamp: 1_700_000_000_123, proposer: 'vp0', txs: [tx(1), tx(2, 'é€😀'.repeat(30)), tx(3, 'x'.repeat(300))] }
const d = batchDigest(batch)

const samples: PbftMessage[] = [
  { t: 'req', x: [tx(1), tx(300, 'y'.repeat(70_000))] },
  { t: 'pp', v: 1, n: 2, r: 1, b: batch },
  { t: 'pp', v: 70_000, n: 2 ** 40, r: 255, b: null },
  { t: 'p', v: 1, n: 200, r: 2, d },
  { t: 'c', v: 1, n: 3, r: 2, d: NULL_DIGEST },
  { t: 'ck', n: 10, r: 3, d },
  { t: 'vc', v: 2, r: 0, h: 10, C: [[10, d]], P: [[11, d, 1]], Q: [[11, d, 1], [12, NULL_DIGEST, 1]] },
  { t: 'nv', v: 2, r: 2, V: [0, 1, 2], k: [10, d], X: [[11, d], [12, NULL_DIGEST]] },
  { t: 'fb', r: 1, d },
  { t: 'rb', r: 1, b: batch },
  { t: 'vs', v: 3, r: 2 },
]

// The wire objects the msgpackr-based codec built, and its Packr: the reference for the bytes.
const reference = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, variableMapSize: true })
const txWire = (t: Transaction) => ({ i: t.txid, y: t.payload, s: t.timestamp, o: t.origin })
const batchWire = (b: PbftBatch) => ({ s: b.timestamp, p: b.proposer, x: b.txs.map(txWire) })
const dWire = (h: string) => (h === '' ? new Uint8Array(0) : fromHex(h))
function wire(msg: PbftMessage): unknown {
  switch (msg.t) {
    case 'req':
      return { t: 'req', x: msg.x.map(txWire) }
    case 'pp':
      return { t: 'pp', v: msg.v, n: msg.n, r: msg.r, b: msg.b === null ? null : batchWire(msg.b) }
    case 'p':
    case 'c':
      return { t: msg.t, v: msg.v, n: msg.n, r: msg.r, d: dWire(msg.d) }
    case 'ck':
      return { t: 'ck', n: msg.n, r: msg.r, d: dWire(msg.d) }
    case 'vc':
      return { t: 'vc', v: msg.v, r: msg.r, h: msg.h, C: msg.C.map(([n, x]) => [n, dWire(x)]), P: msg.P.map(([n, x, w]) => [n, dWire(x), w]), Q: msg.Q.map(([n, x, w]) => [n, dWire(x), w]) }
    case 'nv':
      return { t: 'nv', v: msg.v, r: msg.r, V: msg.V, k: [msg.k[0], dWire(msg.k[1])], X: msg.X.map(([n, x]) => [n, dWire(x)]) }
    case 'fb':
      return { t: 'fb', r: msg.r, d: dWire(msg.d) }
    case 'rb':
      return { t: 'rb', r: msg.r, b: batchWire(msg.b) }
    case 'vs':
      return { t: 'vs', v: msg.v, r: msg.r }
    case 'm':
      return { t: 'm', m: msg.m.map(encodePbftMessage) }
  }
}
const pack = (value: unknown) => new Uint8Array(reference.pack(value))

function decodeError(bytes: Uint8Array): DecodeError {
  try {
    decodePbftMessage(bytes)
  } catch (err) {
    if (err instanceof DecodeError) return err
    throw err
  }
  throw new Error('decoded')
}

describe('pbft message codec', () => {
  it.each(samples.map((m) => [m.t, m] as const))('encodes %s byte for byte as msgpackr did, and decodes it back', (_t, msg) => {
    const bytes = encodePbftMessage(msg)
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(pack(wire(msg))).toString('hex'))
    expect(decodePbftMessage(bytes)).toEqual(msg)
  })

  it('writes strings of every length across the msgpack header boundaries as msgpackr does (32-char txids)', () => {
    for (const length of [0, 1, 30, 31, 32, 33, 47, 48, 255, 256, 65535, 65536]) {
      for (const char of ['a', 'é']) {
        const text = char.repeat(length)
        const msg: PbftMessage = { t: 'req', x: [{ txid: `t${length}`, payload: text, timestamp: 1, origin: text.slice(0, 40) || 'o' }] }
        const bytes = encodePbftMessage(msg)
        expect(Buffer.from(bytes).equals(Buffer.from(pack(wire(msg)))), `${length} x ${char}`).toBe(true)
        expect(decodePbftMessage(bytes)).toEqual(msg)
      }
    }
    const txid = 'ec35f749f6a7f868f3ca37df3ae26256'
    const pp: PbftMessage = { t: 'pp', v: 0, n: 1, r: 0, b: { timestamp: 5, proposer: 'vp0', txs: [{ txid, payload: 'color=blue', timestamp: 1, origin: 'tab-1' }] } }
    expect(decodePbftMessage(encodePbftMessage(pp))).toEqual(pp)
  })

  it('keeps a prepare small: one-letter keys and a 32-byte digest', () => {
    expect(encodePbftMessage({ t: 'p', v: 1, n: 2, r: 2, d }).byteLength).toBeLessThan(60)
  })

  it('reads keys in any order and integers in any exact encoding', () => {
    const reordered = { d: dWire(d), r: 2, n: 5, v: 1, t: 'p' }
    expect(decodePbftMessage(pack(reordered))).toEqual({ t: 'p', v: 1, n: 5, r: 2, d })
    // v as uint64 (cf), n as float64 (cb), r as int8 (d0): all exact non-negative integers.
    const head = [0x85, 0xa1, 0x74, 0xa1, 0x70]
    const v = [0xa1, 0x76, 0xcf, 0, 0, 0, 0, 0, 0, 0, 7]
    const n = [0xa1, 0x6e, 0xcb, ...new Uint8Array(new Float64Array([9]).buffer).reverse()]
    const r = [0xa1, 0x72, 0xd0, 3]
    const dig = [0xa1, 0x64, 0xc4, 32, ...fromHex(d)]
    expect(decodePbftMessage(Uint8Array.from([...head, ...v, ...n, ...r, ...dig]))).toEqual({ t: 'p', v: 7, n: 9, r: 3, d })
  })

  it('refuses what the schema does not allow, naming the field and quoting nothing', () => {
    const cases: [unknown, string][] = [
      [{ t: 'p', v: 1, n: 2, r: 2, d: new Uint8Array(31) }, 'd'],
      [{ t: 'ck', n: 10, r: 3, d: new Uint8Array(0) }, 'd'],
      [{ t: 'fb', r: 3, d: new Uint8Array(0) }, 'd'],
      [{ t: 'p', v: 1, n: 2, r: 2, d: new Uint8Array(32), e: 'secret-text' }, 'top level'],
      [{ t: 'p', v: 1, n: 2, r: 2, d: new Uint8Array(32), secret_text: 1 }, 'top level'],
      [{ t: 'p', v: 1, n: 2, r: 256, d: new Uint8Array(32) }, 'r'],
      [{ t: 'p', v: -1, n: 2, r: 1, d: new Uint8Array(32) }, 'v'],
      [{ t: 'p', v: 1.5, n: 2, r: 1, d: new Uint8Array(32) }, 'v'],
      [{ t: 'p', v: 2 ** 53, n: 2, r: 1, d: new Uint8Array(32) }, 'v'],
      [{ t: 'p', v: 1, n: 2, r: 1 }, 'top level'],
      [{ t: 'secret-text' }, 't'],
      [{ v: 1 }, 't'],
      [{ t: 'rb', r: 1, b: null }, 'b'],
      [{ t: 'req', x: [{ i: '', y: '', s: 0, o: '' }] }, 'x.0.i'],
      [{ t: 'req', x: [{ i: 'a', y: '', s: -1, o: '' }] }, 'x.0.s'],
      [{ t: 'req', x: [txWire(tx(1)), { i: 'a', y: '', s: 0 }] }, 'x.1'],
      [{ t: 'req', x: [{ i: 'a', y: 'secret-text', s: 0, o: '', z: 1 }] }, 'x.0'],
      [{ t: 'req', x: [{ i: 'a'.repeat(129), y: '', s: 0, o: '' }] }, 'x.0.i'],
      [{ t: 'pp', v: 0, n: 1, r: 0, b: { s: 0, p: 'vp0', x: [{ i: 'a', y: '', s: 0.5, o: '' }] } }, 'b.x.0.s'],
      [{ t: 'vc', v: 1, r: 0, h: 0, C: [[1]], P: [], Q: [] }, 'C.0'],
      [{ t: 'vc', v: 1, r: 0, h: 0, C: [], P: [[1, new Uint8Array(32)]], Q: [] }, 'P.0'],
      [{ t: 'nv', v: 1, r: 0, V: [300], k: [0, new Uint8Array(0)], X: [] }, 'V.0'],
      [{ t: 'p', v: new Uint8Array(2), n: 2, r: 1, d: new Uint8Array(32) }, 'v'],
      [['t', 'p'], 'top level'],
    ]
    for (const [value, at] of cases) {
      const err = decodeError(pack(value))
      expect(err.message, JSON.stringify(value)).toContain(`at ${at}:`)
      expect(err.message).not.toContain('secret')
    }
  })

  it('refuses duplicate keys, extension types, __proto__ keys and trailing bytes', () => {
    const p = encodePbftMessage({ t: 'p', v: 1, n: 2, r: 2, d })
    // A sixth entry repeating v.
    const dup = Uint8Array.from([0x86, ...p.subarray(1), 0xa1, 0x76, 0x01])
    expect(decodeError(dup).message).toContain('duplicate')
    const proto = new Packr({ useRecords: false }).pack({ t: 'p', ['__proto__']: 1 })
    expect(decodeError(new Uint8Array(proto))).toBeInstanceOf(DecodeError)
    expect(({} as Record<string, unknown>).t).toBeUndefined()
    // A Uint8Array as msgpackr's typed-array extension (0x74) instead of a bin.
    const ext = new Packr({ useRecords: false, moreTypes: true }).pack({ t: 'fb', r: 1, d: new Uint8Array(32) })
    expect(decodeError(new Uint8Array(ext))).toBeInstanceOf(DecodeError)
    expect(decodeError(Uint8Array.from([...p, 0x00])).message).toContain('trailing')
  })

  // Each huge size is refused on its header, against a cap or the bytes that remain, which is what
  // keeps a decoder from allocating for it (speed lives in the bench, not here).
  it('refuses every truncation, and huge declared sizes on their headers alone', () => {
    const pp = encodePbftMessage(samples[1] as PbftMessage)
    for (let cut = 0; cut < pp.length; cut++) expect(decodeError(pp.subarray(0, cut))).toBeInstanceOf(DecodeError)
    const huge: [number[], RegExp][] = [
      [[0x82, 0xa1, 0x74, 0xa3, 0x72, 0x65, 0x71, 0xa1, 0x78, 0xdd, 0xff, 0xff, 0xff, 0xff], /at x: more than \d+ entries/], // x: array32 of 4G
      [[0x82, 0xa1, 0x74, 0xa3, 0x72, 0x65, 0x71, 0xa1, 0x78, 0xdd, 0x00, 0x00, 0xff, 0xff], /at x: truncated/], // x: 65535 with no bytes
      [[0xdf, 0xff, 0xff, 0xff, 0xff], /at top level: truncated/], // map32 of 4G
      [[0x81, 0xa1, 0x74, 0xdb, 0xff, 0xff, 0xff, 0xff], /at t: longer than/], // t: str32 of 4G
      [[0x83, 0xa1, 0x74, 0xa2, 0x66, 0x62, 0xa1, 0x72, 0x01, 0xa1, 0x64, 0xc6, 0xff, 0xff, 0xff, 0xff], /at d: not a digest/], // d: bin32 of 4G
    ]
    for (const [bytes, why] of huge) {
      const error = decodeError(Uint8Array.from(bytes))
      expect(error).toBeInstanceOf(DecodeError)
      expect(error.message).toMatch(why)
    }
  })

  it('decodes strings as well-formed text: UTF-8, a leading BOM kept, bad bytes replaced', () => {
    const odd = { t: 'req', x: [{ i: '\uFEFFid', y: 'ünï', s: 0, o: '' }] }
    expect(decodePbftMessage(pack(odd))).toEqual({ t: 'req', x: [{ txid: '\uFEFFid', payload: 'ünï', timestamp: 0, origin: '' }] })
    const bytes = pack({ t: 'req', x: [{ i: 'ab', y: 'cd', s: 0, o: '' }] })
    const at = Buffer.from(bytes).indexOf(Buffer.from('cd'))
    bytes[at] = 0xff
    const decoded = decodePbftMessage(bytes) as Extract<PbftMessage, { t: 'req' }>
    expect(decoded.x[0]?.payload).toBe('\uFFFDd')
  })

  it('bundles messages and opens them in order, refusing a bundle inside a bundle', () => {
    const inner = samples.filter((m) => m.t !== 'req').slice(0, 5)
    const bytes = encodeBundle(inner.map(encodePbftMessage))
    expect(decodePbftMessage(bytes)).toEqual({ t: 'm', m: inner })
    expect(decodePbftMessage(encodePbftMessage({ t: 'm', m: inner }))).toEqual({ t: 'm', m: inner })
    const nested = encodeBundle([bytes])
    expect(decodeError(nested).message).toContain('m.0')
    const bad = encodeBundle([encodePbftMessage(inner[0] as PbftMessage), pack({ t: 'p', v: -1 })])
    expect(decodeError(bad).message).toMatch(/m\.1: pbft message refused at v/)
    const tooMany = Array.from({ length: PBFT_MAX_BUNDLE_MESSAGES + 1 }, () => encodePbftMessage(inner[3] as PbftMessage))
    expect(decodeError(encodeBundle(tooMany)).message).toContain(`more than ${PBFT_MAX_BUNDLE_MESSAGES}`)
  })

  it('survives random corruption with DecodeError only, and what it accepts encodes back to itself', () => {
    const seed = 0x5eed_c0de
    console.log(`pbft codec corruption: seed ${seed}`)
    const rnd = seededRandom(seed)
    const valid = [...samples.filter((m) => m.t !== 'req'), { t: 'm', m: samples.slice(1, 4) } as PbftMessage].map(encodePbftMessage)
    let accepted = 0
    for (let i = 0; i < 3000; i++) {
      const bytes = (valid[Math.floor(rnd() * valid.length)] as Uint8Array).slice()
      for (let flips = 1 + Math.floor(rnd() * 3); flips > 0; flips--) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256)
      let msg: PbftMessage
      try {
        msg = decodePbftMessage(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError)
        continue
      }
      accepted++
      expect(decodePbftMessage(encodePbftMessage(msg))).toEqual(msg)
    }
    expect(accepted).toBeGreaterThan(0)
  })
})
