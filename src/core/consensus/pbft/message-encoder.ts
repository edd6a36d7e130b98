/**
 * Writes PBFT's messages (message-types.ts says what they hold): msgpack maps with one- or
 * two-letter keys, byte for byte what msgpackr encodes for the same wire objects, through wspeer's
 * one msgpack writer (wire/msgpack-writer.ts). A bundle is written from messages already encoded.
 *
 *   const bytes = encodePbftMessage({ t: 'p', v: 0, n: 1, r: 2, d })
 *   const bundle = encodeBundle([bytes, other])
 */
import type { Transaction } from '../../wire/payload-types.js'
import { MsgpackWriter } from '../../wire/msgpack-writer.js'
import type { PbftBatch } from './batch.js'
import type { SeqDigest, SeqDigestView, PbftMessage } from './message-types.js'

// One writer for every message: encoding is synchronous and never re-entered.
const writer = new MsgpackWriter()

/**
 * A transaction inside a PBFT message is short-keyed like the rest of it: i txid, y payload,
 * s timestamp, o origin (PROTOCOL.md 11.4). CHAIN_TRANSACTION and block payloads spell the keys
 * out (wire/payload-writer.ts, PROTOCOL.md 6), so the two layouts are two protocols' and share no
 * writer; changing either is a wire change.
 */
function writeTx(w: MsgpackWriter, tx: Transaction): void {
  w.map(4)
  w.key('i')
  w.str(tx.txid)
  w.key('y')
  w.str(tx.payload)
  w.key('s')
  w.uint(tx.timestamp)
  w.key('o')
  w.str(tx.origin)
}

function writeTxs(w: MsgpackWriter, txs: readonly Transaction[]): void {
  w.array(txs.length)
  for (let i = 0; i < txs.length; i++) writeTx(w, txs[i]!)
}

function writeBatch(w: MsgpackWriter, b: PbftBatch): void {
  w.map(3)
  w.key('s')
  w.uint(b.timestamp)
  w.key('p')
  w.str(b.proposer)
  w.key('x')
  writeTxs(w, b.txs)
}

function writeHead(w: MsgpackWriter, entries: number, t: PbftMessage['t']): void {
  w.map(entries)
  w.key('t')
  w.str(t)
}

function writeUint(w: MsgpackWriter, key: string, value: number): void {
  w.key(key)
  w.uint(value)
}

function writePairs(w: MsgpackWriter, list: readonly SeqDigest[]): void {
  w.array(list.length)
  for (const [n, d] of list) {
    w.array(2)
    w.uint(n)
    w.digest(d)
  }
}

function writeTriples(w: MsgpackWriter, list: readonly SeqDigestView[]): void {
  w.array(list.length)
  for (const [n, d, view] of list) {
    w.array(3)
    w.uint(n)
    w.digest(d)
    w.uint(view)
  }
}

function write(w: MsgpackWriter, msg: PbftMessage): void {
  switch (msg.t) {
    case 'req':
      writeHead(w, 2, 'req')
      w.key('x')
      writeTxs(w, msg.x)
      return
    case 'pp':
      writeHead(w, 5, 'pp')
      writeUint(w, 'v', msg.v)
      writeUint(w, 'n', msg.n)
      writeUint(w, 'r', msg.r)
      w.key('b')
      if (msg.b === null) w.nil()
      else writeBatch(w, msg.b)
      return
    case 'p':
    case 'c':
      writeHead(w, 5, msg.t)
      writeUint(w, 'v', msg.v)
      writeUint(w, 'n', msg.n)
      writeUint(w, 'r', msg.r)
      w.key('d')
      w.digest(msg.d)
      return
    case 'ck':
      writeHead(w, 4, 'ck')
      writeUint(w, 'n', msg.n)
      writeUint(w, 'r', msg.r)
      w.key('d')
      w.digest(msg.d)
      return
    case 'vc':
      writeHead(w, 7, 'vc')
      writeUint(w, 'v', msg.v)
      writeUint(w, 'r', msg.r)
      writeUint(w, 'h', msg.h)
      w.key('C')
      writePairs(w, msg.C)
      w.key('P')
      writeTriples(w, msg.P)
      w.key('Q')
      writeTriples(w, msg.Q)
      return
    case 'nv':
      writeHead(w, 6, 'nv')
      writeUint(w, 'v', msg.v)
      writeUint(w, 'r', msg.r)
      w.key('V')
      w.array(msg.V.length)
      for (const r of msg.V) w.uint(r)
      w.key('k')
      w.array(2)
      w.uint(msg.k[0])
      w.digest(msg.k[1])
      w.key('X')
      writePairs(w, msg.X)
      return
    case 'fb':
      writeHead(w, 3, 'fb')
      writeUint(w, 'r', msg.r)
      w.key('d')
      w.digest(msg.d)
      return
    case 'rb':
      writeHead(w, 3, 'rb')
      writeUint(w, 'r', msg.r)
      w.key('b')
      writeBatch(w, msg.b)
      return
    case 'vs':
      writeHead(w, 3, 'vs')
      writeUint(w, 'v', msg.v)
      writeUint(w, 'r', msg.r)
      return
    case 'm':
      throw new TypeError('a bundle is encoded by encodeBundle')
  }
}

/** A bundle of messages already encoded (encodePbftMessage), in order. */
export function encodeBundle(parts: readonly Uint8Array[]): Uint8Array {
  const w = writer
  writeHead(w, 2, 'm')
  w.key('m')
  w.array(parts.length)
  for (const part of parts) w.bin(part)
  return w.finish()
}

/** Encodes one message (the bytes msgpackr gives for its wire object). Throws TypeError on a digest that is not hex. */
export function encodePbftMessage(msg: PbftMessage): Uint8Array {
  if (msg.t === 'm') {
    if (msg.m.some((inner) => inner.t === 'm')) throw new TypeError('a bundle cannot hold a bundle')
    return encodeBundle(msg.m.map(encodePbftMessage))
  }
  try {
    write(writer, msg)
  } catch (err) {
    writer.reset()
    throw err
  }
  return writer.finish()
}
