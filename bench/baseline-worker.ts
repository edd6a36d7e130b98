/**
 * The raw-stack baseline: plain `ws` and `msgpackr`, nothing of wspeer. A server decodes every
 * message and pushes the envelopes into an array; clients send envelopes with a 250-byte payload
 * as fast as `bufferedAmount` allows: one envelope per WebSocket message (`batch` 1), or `batch`
 * envelopes as one msgpack array per message (the same framing wspeer's Outbox produces).
 * Commands come from bench/processes.ts: listen, connect, start, measure.
 */
import { Packr, Unpackr } from 'msgpackr'
import WebSocket, { WebSocketServer } from 'ws'
import { onCommand, reply, sleep, workerArgs } from './processes.js'

const args = workerArgs<{ batch: number; payloadBytes: number; highWaterBytes: number }>()
const packr = new Packr({ useRecords: false })
const unpackr = new Unpackr({ useRecords: false })
const payload = new Uint8Array(args.payloadBytes).fill(1)

/** Received envelopes live here, as the baseline promises; cleared now and then so memory stays flat. */
let received: unknown[] = []
let count = 0
const clients: WebSocket[] = []
let server: WebSocketServer | undefined

function envelope(): Record<string, unknown> {
  return { type: 21, timestamp: Date.now(), payload }
}

function frame(): Uint8Array {
  if (args.batch === 1) return packr.pack(envelope())
  const list = new Array<Record<string, unknown>>(args.batch)
  for (let i = 0; i < args.batch; i++) list[i] = envelope()
  return packr.pack(list)
}

function pump(ws: WebSocket): void {
  if (ws.readyState !== WebSocket.OPEN) return
  // Yield every so many frames so this process's own reads (mesh) get their turn.
  for (let i = 0; i < Math.max(1, Math.floor(1024 / args.batch)); i++) {
    if (ws.bufferedAmount >= args.highWaterBytes) {
      // bufferedAmount, not 'drain' alone: bytes held in ws's own queue may never bring a 'drain'.
      setTimeout(() => pump(ws), 1)
      return
    }
    ws.send(frame())
  }
  setImmediate(() => pump(ws))
}

onCommand(async (m) => {
  switch (m.cmd) {
    case 'listen': {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 1 << 20 })
      server = wss
      wss.on('connection', (ws) => {
        ws.on('error', () => {})
        ws.on('message', (data: Buffer) => {
          const value = unpackr.unpack(data) as unknown
          if (Array.isArray(value)) {
            for (const e of value) received.push(e)
            count += value.length
          } else {
            received.push(value)
            count++
          }
          if (received.length >= 65_536) received = []
        })
      })
      await new Promise<void>((resolve) => wss.once('listening', resolve))
      const address = wss.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      reply({ reply: 'listening', url: `ws://127.0.0.1:${port}/` })
      break
    }
    case 'connect': {
      const urls = m.urls as string[]
      await Promise.all(
        urls.map(
          (url) =>
            new Promise<void>((resolve, reject) => {
              const ws = new WebSocket(url, { perMessageDeflate: false })
              ws.on('error', reject)
              ws.once('open', () => {
                clients.push(ws)
                resolve()
              })
            }),
        ),
      )
      reply({ reply: 'connected', peers: clients.length })
      break
    }
    case 'start':
      for (const ws of clients) pump(ws)
      reply({ reply: 'started' })
      break
    case 'measure': {
      await sleep(m.warmupMs as number)
      const c0 = count
      const t0 = performance.now()
      await sleep(m.durationMs as number)
      reply({ reply: 'measured', count: count - c0, ms: performance.now() - t0, rss: process.memoryUsage().rss })
      break
    }
    case 'stop':
      for (const ws of clients) ws.terminate()
      server?.close()
      process.exit(0)
  }
})
reply({ reply: 'ready' })
