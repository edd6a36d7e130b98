/**
 * Development helper (not part of `npm run bench`): the platform ceiling of the `browser` case.
 * A bare `ws` server sends binary frames of FRAME_BYTES as fast as its socket drains
 * (bufferedAmount kept under HIGH_WATER), and a bare page (no wspeer) counts the bytes its
 * WebSocket delivers for WINDOW_MS; the same for a bare Node client. Prints MB/s for both, and
 * the equivalent 250-byte-envelope rate, against which the wspeer tab's figure can be read.
 *   npx tsx bench/browser-ceiling.ts
 */
import { createServer } from 'node:http'
import { WebSocket, WebSocketServer } from 'ws'
import { CHROMIUM_ARGS, chromiumPath } from '../e2e/chromium.js'

const FRAME_BYTES = Number(process.env.FRAME_KIB ?? 256) * 1024
const HIGH_WATER = 4 * 1024 * 1024
const WINDOW_MS = 3000

const PAGE = `<!doctype html><script>
globalThis.count = (url, ms) => new Promise((resolve) => {
  const ws = new WebSocket(url); ws.binaryType = 'arraybuffer'; let bytes = 0, start = 0
  ws.onmessage = (e) => { if (start === 0) start = performance.now(); bytes += e.data.byteLength; if (performance.now() - start > ms) { ws.close(); resolve(bytes / ((performance.now() - start) / 1000)) } }
})
</script>`

const http = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE))
const wss = new WebSocketServer({ server: http, perMessageDeflate: false })
const frame = new Uint8Array(FRAME_BYTES).fill(7)
wss.on('connection', (ws) => {
  const pump = (): void => {
    while (ws.readyState === ws.OPEN && ws.bufferedAmount < HIGH_WATER) ws.send(frame)
    if (ws.readyState === ws.OPEN) setImmediate(pump)
  }
  pump()
})
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
const port = (http.address() as { port: number }).port

const nodeRate = await new Promise<number>((resolve) => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false })
  let bytes = 0
  let start = 0
  ws.on('message', (data: Buffer) => {
    if (start === 0) start = performance.now()
    bytes += data.length
    if (performance.now() - start > WINDOW_MS) {
      ws.close()
      resolve(bytes / ((performance.now() - start) / 1000))
    }
  })
})

const { chromium } = await import('playwright-core')
const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS })
const page = await browser.newPage()
await page.goto(`http://127.0.0.1:${port}/`)
const tabRate = await page.evaluate(([url, ms]) => (globalThis as unknown as { count: (u: string, m: number) => Promise<number> }).count(url as string, ms as number), [`ws://127.0.0.1:${port}/`, WINDOW_MS] as const)
await browser.close()
wss.close()
http.close()
const mb = (r: number): string => (r / 1e6).toFixed(0)
const env = (r: number): string => Math.round(r / 280).toLocaleString('en')
process.stdout.write(`bare WebSocket, ${FRAME_BYTES / 1024} KiB frames: Node client ${mb(nodeRate)} MB/s (~${env(nodeRate)} envelopes/s of ~280 wire bytes), Chromium tab ${mb(tabRate)} MB/s (~${env(tabRate)} envelopes/s); tab/Node ${(tabRate / nodeRate).toFixed(2)}\n`)
