import { Unpackr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { MSGPACK_WRITER_KEPT_BYTES, MsgpackWriter } from '../../../src/core/wire/msgpack-writer.js'

const reader = new Unpackr({ useRecords: false, mapsAsObjects: true })

describe('MsgpackWriter', () => {
  it('hands out views that later messages never overwrite, in the same buffer or after it is replaced', () => {
    const w = new MsgpackWriter()
    const views: { bytes: Uint8Array; text: string }[] = []
    // Enough messages of growing size to fill several buffers, one larger than a buffer alone.
    for (let i = 0; i < 400; i++) {
      const text = String(i).repeat(i === 200 ? MSGPACK_WRITER_KEPT_BYTES : 1 + (i % 700))
      w.str(text)
      views.push({ bytes: w.finishShared(), text })
    }
    for (const { bytes, text } of views) expect(reader.unpack(bytes)).toBe(text)
  })

  it('mixes copies and views, and a reset drops only the message being written', () => {
    const w = new MsgpackWriter()
    w.str('first')
    const view = w.finishShared()
    w.str('dropped')
    w.reset()
    w.uint(7)
    const copy = w.finish()
    w.str('x'.repeat(3 * MSGPACK_WRITER_KEPT_BYTES)) // grows past the kept size mid-message
    const big = w.finish()
    w.str('last')
    const last = w.finishShared()
    expect([view, copy, big, last].map((b) => reader.unpack(b))).toEqual(['first', 7, 'x'.repeat(3 * MSGPACK_WRITER_KEPT_BYTES), 'last'])
    expect(copy.byteOffset).toBe(0)
    expect(copy.buffer.byteLength).toBe(copy.byteLength)
  })
})
