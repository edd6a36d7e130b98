import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'

/**
 * A WebSocket client written by hand on a TCP socket, to send what no well-behaved client can:
 * unmasked frames, reserved opcodes, invalid UTF-8. Resolves once the server answered 101.
 */
export async function rawUpgrade(port: number, path = '/chat'): Promise<{ socket: Socket; closed: Promise<number | undefined> }> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const key = randomBytes(16).toString('base64')
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  )
  let buffered = Buffer.alloc(0)
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk])
      const end = buffered.indexOf('\r\n\r\n')
      if (end < 0) return
      socket.off('data', onData)
      const head = buffered.subarray(0, end).toString()
      buffered = buffered.subarray(end + 4)
      if (head.startsWith('HTTP/1.1 101')) resolve()
      else reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`))
    }
    socket.on('data', onData)
    socket.once('error', reject)
  })
  // The close code is the first two bytes of the server's close frame (opcode 0x8), if it sends one.
  const closed = new Promise<number | undefined>((resolve) => {
    let code: number | undefined
    const scan = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk])
      for (let i = 0; i + 3 < buffered.length; i++) {
        if (buffered[i] === 0x88) {
          code = buffered.readUInt16BE(i + 2)
          break
        }
      }
    }
    if (buffered.length > 0) scan(Buffer.alloc(0))
    socket.on('data', scan)
    socket.on('error', () => {})
    socket.on('close', () => resolve(code))
  })
  return { socket, closed }
}

/** One frame with FIN set. `mask` false makes a frame a server would send (a client must mask). */
export function frame(opcode: number, payload: Uint8Array, mask = true): Buffer {
  const header: number[] = [0x80 | opcode]
  const lengthByte = payload.length < 126 ? payload.length : 126
  header.push((mask ? 0x80 : 0) | lengthByte)
  if (lengthByte === 126) header.push(payload.length >> 8, payload.length & 255)
  if (!mask) return Buffer.concat([Buffer.from(header), payload])
  const key = randomBytes(4)
  const body = Buffer.from(payload)
  for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ key[i % 4]!
  return Buffer.concat([Buffer.from(header), key, body])
}
