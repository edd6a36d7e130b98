/**
 * A msgpack writer for hostile input: it writes what no well-behaved encoder would, so the fuzz
 * harness can say exactly which bytes a frame holds. A value description enters `writeMsgpack`;
 * bytes leave. Maps are lists of [key, value] pairs (so `__proto__` is a real key, duplicates are
 * possible), `ext` writes any extension type, `raw` splices bytes in verbatim and `declared`
 * writes a header whose declared length the data after it does not have.
 *
 *   writeMsgpack({ map: [['__proto__', { map: [['polluted', true]] }]] })
 */

export type HostileValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | HostileValue[]
  | { map: [HostileValue, HostileValue][] }
  | { ext: number; data: Uint8Array }
  | { raw: Uint8Array }
  | { declared: 'str' | 'bin' | 'array' | 'map' | 'ext'; length: number; tail?: Uint8Array }

class ByteSink {
  bytes = new Uint8Array(256)
  length = 0

  #room(n: number): void {
    if (this.length + n <= this.bytes.length) return
    let size = this.bytes.length * 2
    while (size < this.length + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.bytes.subarray(0, this.length))
    this.bytes = next
  }

  u8(...values: number[]): void {
    this.#room(values.length)
    for (const v of values) this.bytes[this.length++] = v & 0xff
  }

  u16(n: number): void {
    this.u8(n >>> 8, n)
  }

  u32(n: number): void {
    this.u8(n >>> 24, n >>> 16, n >>> 8, n)
  }

  put(data: Uint8Array): void {
    this.#room(data.length)
    this.bytes.set(data, this.length)
    this.length += data.length
  }
}

const encoder = new TextEncoder()

function header(sink: ByteSink, n: number, fix: number | undefined, fixMax: number, c8: number | undefined, c16: number, c32: number): void {
  if (fix !== undefined && n <= fixMax) sink.u8(fix | n)
  else if (c8 !== undefined && n < 0x100) sink.u8(c8, n)
  else if (n < 0x10000) {
    sink.u8(c16)
    sink.u16(n)
  } else {
    sink.u8(c32)
    sink.u32(n)
  }
}

function writeNumber(sink: ByteSink, n: number): void {
  if (Number.isInteger(n) && n >= 0 && n < 0x80) return sink.u8(n)
  if (Number.isInteger(n) && n < 0 && n >= -32) return sink.u8(0xe0 | (n + 32))
  if (Number.isInteger(n) && n >= 0 && n <= 0xffffffff) {
    sink.u8(0xce)
    return sink.u32(n)
  }
  if (Number.isInteger(n) && n < 0 && n >= -0x80000000) {
    sink.u8(0xd2)
    return sink.u32(n >>> 0)
  }
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, n)
  sink.u8(0xcb)
  sink.put(new Uint8Array(view.buffer))
}

function writeExtHeader(sink: ByteSink, type: number, length: number): void {
  const fixed: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 }
  const fixCode = fixed[length]
  if (fixCode !== undefined) sink.u8(fixCode, type)
  else {
    header(sink, length, undefined, 0, 0xc7, 0xc8, 0xc9)
    sink.u8(type)
  }
}

function write(sink: ByteSink, value: HostileValue): void {
  if (value === null) return sink.u8(0xc0)
  if (value === true) return sink.u8(0xc3)
  if (value === false) return sink.u8(0xc2)
  if (typeof value === 'number') return writeNumber(sink, value)
  if (typeof value === 'string') {
    const bytes = encoder.encode(value)
    header(sink, bytes.length, 0xa0, 31, 0xd9, 0xda, 0xdb)
    return sink.put(bytes)
  }
  if (value instanceof Uint8Array) {
    header(sink, value.length, undefined, 0, 0xc4, 0xc5, 0xc6)
    return sink.put(value)
  }
  if (Array.isArray(value)) {
    header(sink, value.length, 0x90, 15, undefined, 0xdc, 0xdd)
    for (const item of value) write(sink, item)
    return
  }
  if ('map' in value) {
    header(sink, value.map.length, 0x80, 15, undefined, 0xde, 0xdf)
    for (const [k, v] of value.map) {
      write(sink, k)
      write(sink, v)
    }
    return
  }
  if ('ext' in value) {
    writeExtHeader(sink, value.ext, value.data.length)
    return sink.put(value.data)
  }
  if ('raw' in value) return sink.put(value.raw)
  const n = value.length >>> 0
  switch (value.declared) {
    case 'str':
      sink.u8(0xdb)
      break
    case 'bin':
      sink.u8(0xc6)
      break
    case 'array':
      sink.u8(0xdd)
      break
    case 'map':
      sink.u8(0xdf)
      break
    case 'ext':
      sink.u8(0xc9)
      sink.u32(n)
      sink.u8(0x01)
      if (value.tail !== undefined) sink.put(value.tail)
      return
  }
  sink.u32(n)
  if (value.tail !== undefined) sink.put(value.tail)
}

export function writeMsgpack(value: HostileValue): Uint8Array {
  const sink = new ByteSink()
  write(sink, value)
  return sink.bytes.slice(0, sink.length)
}
