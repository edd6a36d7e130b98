/** A raw HTTP client for tests: no URL normalization (so `..` reaches the server as sent). */
import { request } from 'node:http'
import { connect as netConnect } from 'node:net'

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export function rawRequest(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string | number>; body?: string | Buffer },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

export function json(res: RawResponse): any {
  return JSON.parse(res.body)
}

export interface RawPostResult {
  /** Everything the server sent, as text (a `100 Continue` interim answer included). */
  received: string
  /** The final answer's status line, headers (lower-cased names) and body. */
  status: number
  headers: Record<string, string>
  body: string
  /** Body bytes this client wrote before it stopped (it stops at the final answer, as curl does). */
  bodySent: number
  /** The socket error this client saw (EPIPE, ECONNRESET), if any. */
  error?: string
  /** True when the server closed with a FIN (the client saw 'end'), not a reset. */
  serverEnded: boolean
}

/**
 * POSTs `bodyBytes` bytes on a raw TCP socket, framed by Content-Length or chunked, optionally
 * asking for `100 Continue` first. Like curl it stops sending once a final answer arrives (unless
 * `ignoreAnswer`), then closes its side, and resolves when the socket is closed. Unless
 * `allowHalfOpen`, it also stops (closing its side) when the server closes its own, as a Node
 * socket does by default.
 */
export function rawPost(
  port: number,
  options: { path: string; bodyBytes: number; framing: 'length' | 'chunked'; expectContinue?: boolean; ignoreAnswer?: boolean; allowHalfOpen?: boolean },
): Promise<RawPostResult> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false })
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    let received = Buffer.alloc(0)
    let finalSeen = false
    let continued = !options.expectContinue
    let bodySent = 0
    let sending = false
    let error: string | undefined
    let serverEnded = false
    const finalIndex = (): number => {
      // Skip any `100 Continue` interim answers: the final one is the first non-1xx head.
      let at = 0
      for (;;) {
        const text = received.toString('latin1', at)
        if (!/^HTTP\/1\.1 1\d\d /.test(text)) return text.startsWith('HTTP/') ? at : -1
        const end = received.indexOf('\r\n\r\n', at)
        if (end < 0) return -1
        at = end + 4
      }
    }
    const send = (): void => {
      if (sending) return
      sending = true
      const step = (): void => {
        while (bodySent < options.bodyBytes) {
          if (finalSeen && !options.ignoreAnswer) return finish()
          const n = Math.min(chunk.length, options.bodyBytes - bodySent)
          const piece = chunk.subarray(0, n)
          const wire = options.framing === 'chunked' ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece
          bodySent += n
          if (socket.destroyed) return
          if (!socket.write(wire)) return void socket.once('drain', step)
        }
        if (options.framing === 'chunked' && !socket.destroyed) socket.write('0\r\n\r\n')
        if (finalSeen) finish()
      }
      step()
    }
    const finish = (): void => {
      if (!socket.destroyed) socket.end()
    }
    socket.on('connect', () => {
      const framing = options.framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${options.bodyBytes}`
      const expect = options.expectContinue ? 'Expect: 100-continue\r\n' : ''
      socket.write(`POST ${options.path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n${framing}\r\n${expect}\r\n`)
      if (continued) send()
    })
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data])
      if (!continued && received.toString('latin1').startsWith('HTTP/1.1 100 ') && received.includes('\r\n\r\n')) {
        continued = true
        send()
      }
      if (!finalSeen && finalIndex() >= 0) {
        finalSeen = true
        if (!sending || bodySent >= options.bodyBytes) finish()
      }
    })
    socket.on('end', () => {
      serverEnded = true
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message
    })
    socket.on('close', () => {
      const at = finalIndex()
      const text = at < 0 ? '' : received.toString('utf8', at)
      const headEnd = text.indexOf('\r\n\r\n')
      const lines = (headEnd < 0 ? text : text.slice(0, headEnd)).split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':')
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      resolve({
        received: received.toString('utf8'),
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0),
        headers,
        body: headEnd < 0 ? '' : text.slice(headEnd + 4),
        bodySent,
        ...(error === undefined ? {} : { error }),
        serverEnded,
      })
    })
  })
}
