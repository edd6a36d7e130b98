/**
 * The HTTP API, served on the same port as `/chat`. A request enters through the handler this
 * module returns; a JSON (or Prometheus text, or static file) response leaves. Routes:
 *
 *   POST /transactions  {"payload": "<string>"} -> 202 {"txid": "..."}   (peer.submit)
 *   GET  /transactions/<txid> -> 200 {"status":"committed","block":n,"index":i}
 *                            | 202 {"status":"pending"} (this peer holds it, not yet committed)
 *                            | 404 ERR_UNKNOWN_TRANSACTION               (peer.transactionStatus)
 *   GET  /chain         -> 200 {"height": n, "headHash": "<hex>", "stateHash": "<hex>"}   (peer.chainInfo)
 *   GET  /blocks/<n>    -> 200 the block as JSON, hashes in hex, with its own "hash"
 *                        | 400 ERR_BAD_BLOCK_NUMBER | 404 ERR_UNKNOWN_BLOCK past the head      (peer.block)
 *   GET  /state/<key>   -> 200 {"key": k, "value": v} | 404 ERR_UNKNOWN_KEY                   (peer.state)
 *   GET  /status        -> 200 peer.status() as JSON
 *   GET  /metrics       -> 200 Prometheus text 0.0.4
 *   GET  /healthz       -> 200 "ok"
 *   GET  /...           -> the dashboard from `staticDir` (Vite's dist/web), or a small built-in page
 *
 * Errors are JSON `{"error": {"code": "ERR_...", "message": "..."}}`: 400 bad JSON or body shape,
 * 404 unknown route or file, 405 wrong method (with Allow), 413 body over MAX_TX_BODY_BYTES,
 * 415 a Content-Type other than application/json, 503 queue full / peer starting or stopping
 * (with Retry-After). A missing Content-Type is accepted and parsed as JSON, so `curl --data-raw`
 * with `-H content-type:` omitted is not refused for a header the body already makes clear; any
 * other type is refused. The body must be exactly `{"payload": string}`: unknown keys are a 400.
 *
 * A body over the limit is answered 413 with `Connection: close` as soon as it is known to be too
 * large: at once for a declared Content-Length (and without `100 Continue` when the client asked
 * for one, so it never sends the body), as the count passes the limit for a chunked one. The
 * server then half-closes and lingers: it keeps reading and dropping what the client still sends
 * (up to MAX_DISCARDED_BODY_BYTES, for at most BODY_LINGER_MS) until the client closes its side.
 * Closing a socket with unread bytes makes the kernel answer with a reset, which can reach the
 * client before it has read the 413; that was the `100 Continue` then broken pipe users saw.
 */
import { createReadStream, realpathSync, statSync } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { extname, resolve as resolvePath, sep } from 'node:path'
import { WspeerError } from '../core/errors.js'
import type { Peer } from '../core/peer/peer-types.js'
import { toHex } from '../core/util/bytes.js'
import type { Block } from '../core/wire/payload-types.js'
import type { Logger } from '../core/util/logger.js'
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './metrics.js'

/** Largest POST /transactions body, in bytes (256 KiB). */
export const MAX_TX_BODY_BYTES = 256 * 1024
/**
 * Bytes of an oversized body read and dropped after its 413 so the answer reaches the client; past
 * it the socket is destroyed (16 MiB). It must cover what a client has already handed to the two
 * sockets' kernel buffers when it reads the answer: several MiB on loopback (tcp_wmem + tcp_rmem).
 */
export const MAX_DISCARDED_BODY_BYTES = 16 * 1024 * 1024
/** Longest wait, after a 413, for a client to stop sending and close its side before the socket is destroyed. */
export const BODY_LINGER_MS = 2000
/** Seconds a client is told to wait after a 503. */
export const RETRY_AFTER_SECONDS = 1

/** Error codes that mean "not now" rather than "never": answered with 503. */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  'ERR_QUEUE_FULL',
  'ERR_QUEUE_CLOSED',
  'ERR_LIFECYCLE',
  'ERR_ABORTED',
  'ERR_STOPPING',
  'ERR_NOT_READY',
])

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
}
const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

export interface HttpApiOptions {
  peer: Peer
  log: Logger
  /** Directory of the built dashboard; ignored (with a warning) when it does not exist. */
  staticDir?: string
  /** True once the server is shutting down: new transactions are refused with 503. */
  isStopping?: () => boolean
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void

class HttpError extends Error {
  override readonly name: string = 'HttpError'
  /** Already written to the socket (the 413 of an oversized body): the handler sends nothing more. */
  answered = false
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

/**
 * The read-only routes may be read from any origin: the dashboard a peer serves shows every
 * other peer's status too. Writes (POST /transactions) stay same-origin.
 */
const READ_ONLY_CORS = { 'Access-Control-Allow-Origin': '*' }

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  })
  res.end(text)
}

/** The JSON every error answer carries. */
function errorBody(err: HttpError): { error: { code: string; message: string } } {
  return { error: { code: err.code, message: err.message } }
}

function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, errorBody(err), err.headers)
}

function sendText(res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...headers })
  res.end(text)
}

/** Maps an error from the peer to an HTTP error; unknown errors become an opaque 500. */
function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err
  if (err instanceof WspeerError) {
    if (UNAVAILABLE_CODES.has(err.code)) return new HttpError(503, err.code, err.message, { 'Retry-After': String(RETRY_AFTER_SECONDS) })
    if (err.code === 'ERR_PAYLOAD_TOO_LARGE') return new HttpError(413, err.code, err.message)
    return new HttpError(500, err.code, err.message)
  }
  return new HttpError(500, 'ERR_INTERNAL', 'internal error')
}

/**
 * Answers 413 on the socket itself, then closes it lingering: half-close after the answer, keep
 * reading (the request's own 'data' events, counted by the caller), and destroy the socket when
 * the client closes its side, after `lingerMs`, or once `overBound()` says enough was read. Raw
 * bytes, as `ws` answers a refused upgrade: Node's response object, for a `Connection: close`
 * answer, destroys the socket as soon as its FIN is out while the body is still arriving, and the
 * kernel then answers the client with a reset that can overtake the 413.
 */
function answerOversized(socket: Socket, err: HttpError, lingerMs: number): { overBound: () => void } {
  const text = JSON.stringify(errorBody(err))
  socket.write(
    `HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\n\r\n${text}`,
  )
  socket.end()
  const timer = setTimeout(() => socket.destroy(), lingerMs)
  timer.unref()
  socket.once('close', () => clearTimeout(timer))
  socket.once('end', () => socket.destroy())
  return { overBound: () => socket.destroy() }
}

function bodyTooLarge(limit: number): HttpError {
  return new HttpError(413, 'ERR_BODY_TOO_LARGE', `body exceeds ${limit} bytes`, { Connection: 'close' })
}

/**
 * Reads the whole body, or throws 413 as soon as it is known to pass `limit` (see the module
 * comment); sends `100 Continue` (the server hands such requests here unanswered) only for a body
 * it will read.
 */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'])
    const chunks: Buffer[] = []
    let size = 0
    let discarded = 0
    let refused: { overBound: () => void } | undefined
    const refuse = (): void => {
      const err = bodyTooLarge(limit)
      err.answered = true
      refused = answerOversized(req.socket, err, BODY_LINGER_MS)
      reject(err)
    }
    req.on('data', (chunk: Buffer) => {
      if (refused !== undefined) {
        discarded += chunk.length
        if (discarded > MAX_DISCARDED_BODY_BYTES) refused.overBound()
        return
      }
      size += chunk.length
      if (size <= limit) chunks.push(chunk)
      else refuse()
    })
    req.on('end', () => resolve(Buffer.concat(chunks, size)))
    // A client that goes mid-body (aborted, reset, timed out) is routine, not a server fault: it
    // becomes ERR_ABORTED, which the handler logs once at debug without a stack.
    req.on('error', () => reject(new HttpError(400, 'ERR_ABORTED', 'request aborted')))
    req.on('close', () => reject(new HttpError(400, 'ERR_ABORTED', 'request aborted')))
    if (Number.isFinite(declared) && declared > limit) return refuse()
    if (/^\s*100-continue\s*$/i.test(req.headers.expect ?? '')) res.writeContinue()
  })
}

function parseTransactionBody(body: Buffer): string {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    throw new HttpError(400, 'ERR_INVALID_JSON', 'body is not valid UTF-8')
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new HttpError(400, 'ERR_INVALID_JSON', 'body is not valid JSON')
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new HttpError(400, 'ERR_INVALID_BODY', 'body must be a JSON object {"payload": "<string>"}')
  }
  const keys = Object.keys(json)
  const extra = keys.filter((k) => k !== 'payload')
  if (extra.length > 0) throw new HttpError(400, 'ERR_INVALID_BODY', `unknown key ${JSON.stringify(extra[0])}; the body is {"payload": "<string>"}`)
  const payload = (json as { payload?: unknown }).payload
  if (typeof payload !== 'string') throw new HttpError(400, 'ERR_INVALID_BODY', 'payload must be a string')
  return payload
}

function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined || header.trim() === '') return true
  return header.split(';')[0]!.trim().toLowerCase() === 'application/json'
}

const BUILTIN_INDEX = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>wspeer</title><link rel="icon" href="data:,"></head>
<body>
<h1>wspeer</h1>
<p>The dashboard is not built here (run <code>npm run build</code>). The API:</p>
<ul>
<li><a href="/status">/status</a>: this peer, its links, consensus and chain (JSON)</li>
<li><a href="/metrics">/metrics</a>: Prometheus metrics</li>
<li><code>POST /transactions {"payload": "..."}</code>: submit a transaction</li>
</ul>
</body>
</html>
`

/** Resolves the static root, or undefined (with a warning) when it is missing or not a directory. */
function resolveStaticRoot(staticDir: string | undefined, log: Logger): string | undefined {
  if (staticDir === undefined) return undefined
  try {
    const root = realpathSync(resolvePath(staticDir))
    if (statSync(root).isDirectory()) return root
  } catch {
    // Reported below.
  }
  log.warn('static directory not found; serving the built-in page at /', { staticDir })
  return undefined
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep)
}

/** Serves one file under `root`; refuses anything that resolves outside it (.., encoded .., symlinks). */
async function serveStatic(root: string, pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    throw new HttpError(400, 'ERR_BAD_PATH', 'malformed percent-encoding in path')
  }
  if (decoded.includes('\0') || decoded.includes('\\')) throw new HttpError(400, 'ERR_BAD_PATH', 'invalid character in path')
  let candidate = resolvePath(root, `.${decoded.startsWith('/') ? decoded : `/${decoded}`}`)
  if (!inside(root, candidate)) throw new HttpError(403, 'ERR_FORBIDDEN', 'path escapes the static directory')
  const notFound = new HttpError(404, 'ERR_NOT_FOUND', `no such file: ${pathname}`)
  let info
  try {
    info = await stat(candidate)
    if (info.isDirectory()) {
      candidate = resolvePath(candidate, 'index.html')
      info = await stat(candidate)
    }
    if (!info.isFile()) throw notFound
    // A symlink inside the root may point anywhere; judge the file it resolves to.
    if (!inside(root, await realpath(candidate))) throw new HttpError(403, 'ERR_FORBIDDEN', 'path escapes the static directory')
  } catch (err) {
    if (err instanceof HttpError) throw err
    throw notFound
  }
  const type = CONTENT_TYPES[extname(candidate).toLowerCase()] ?? DEFAULT_CONTENT_TYPE
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': info.size,
    'X-Content-Type-Options': 'nosniff',
    // Vite fingerprints asset names; index.html must be revalidated so a rebuild is picked up.
    'Cache-Control': extname(candidate) === '.html' ? 'no-cache' : 'public, max-age=3600',
  })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  await new Promise<void>((resolve) => {
    const stream = createReadStream(candidate)
    stream.on('error', () => {
      res.destroy()
      resolve()
    })
    stream.on('end', resolve)
    stream.pipe(res)
  })
}

/** Routes with one path parameter after their prefix (percent-decoded), read-only. */
const PARAM_ROUTES = ['/transactions/', '/blocks/', '/state/'] as const
type ParamRoute = (typeof PARAM_ROUTES)[number]

/** The routes of `<prefix><param>`, or undefined for any other path. */
function paramRoute(pathname: string, get: Record<ParamRoute, (param: string) => Handler>): Record<string, Handler> | undefined {
  const prefix = PARAM_ROUTES.find((p) => pathname.startsWith(p) && pathname.length > p.length)
  if (prefix === undefined) return undefined
  let param: string
  try {
    param = decodeURIComponent(pathname.slice(prefix.length))
  } catch {
    throw new HttpError(400, 'ERR_BAD_PATH', 'malformed percent-encoding in path')
  }
  return { GET: get[prefix](param) }
}

/** A block as JSON: hashes in hex, and its own hash beside them. */
function blockJson(block: Block, hash: string): Record<string, unknown> {
  return {
    number: block.number,
    hash,
    previousBlockHash: toHex(block.previousBlockHash),
    stateHash: toHex(block.stateHash),
    timestamp: block.timestamp,
    proposer: block.proposer,
    transactions: block.transactions.map((tx) => ({ txid: tx.txid, payload: tx.payload, timestamp: tx.timestamp, origin: tx.origin })),
  }
}

export function createHttpApi(options: HttpApiOptions): RequestHandler {
  const { peer, log } = options
  const isStopping = options.isStopping ?? (() => false)
  const staticRoot = resolveStaticRoot(options.staticDir, log)

  const postTransaction: Handler = async (req, res) => {
    const body = await readBody(req, res, MAX_TX_BODY_BYTES)
    if (!isJsonContentType(req.headers['content-type'])) {
      throw new HttpError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json')
    }
    const payload = parseTransactionBody(body)
    if (isStopping()) throw new WspeerError('ERR_STOPPING', 'the peer is shutting down')
    // A client that hangs up before the answer aborts the submit if it has not happened yet.
    const abort = new AbortController()
    const onClose = (): void => {
      if (!res.writableFinished) abort.abort()
    }
    res.on('close', onClose)
    try {
      const { txid } = await peer.submit(payload, { signal: abort.signal })
      sendJson(res, 202, { txid })
    } finally {
      res.off('close', onClose)
    }
  }

  const getTransaction = (txid: string): Handler => (_req, res) => {
    const known = peer.transactionStatus(txid)
    if (known.status === 'committed') sendJson(res, 200, known, READ_ONLY_CORS)
    else if (known.status === 'pending') sendJson(res, 202, known, READ_ONLY_CORS)
    else throw new HttpError(404, 'ERR_UNKNOWN_TRANSACTION', `transaction ${JSON.stringify(txid)} is neither committed nor pending at this peer`, READ_ONLY_CORS)
  }

  const getBlock = (param: string): Handler => (_req, res) => {
    if (!/^\d{1,16}$/.test(param) || !Number.isSafeInteger(Number(param))) {
      throw new HttpError(400, 'ERR_BAD_BLOCK_NUMBER', `block number must be a decimal integer from 0, got ${JSON.stringify(param.slice(0, 40))}`, READ_ONLY_CORS)
    }
    const found = peer.block(Number(param))
    if (found === undefined) {
      throw new HttpError(404, 'ERR_UNKNOWN_BLOCK', `no block ${param} at this peer (height ${peer.chainInfo().height})`, READ_ONLY_CORS)
    }
    sendJson(res, 200, blockJson(found.block, found.hash), READ_ONLY_CORS)
  }

  const getState = (key: string): Handler => (_req, res) => {
    const value = peer.state(key)
    if (value === undefined) throw new HttpError(404, 'ERR_UNKNOWN_KEY', `no value for key ${JSON.stringify(key.slice(0, 200))} at this peer`, READ_ONLY_CORS)
    sendJson(res, 200, { key, value }, READ_ONLY_CORS)
  }

  const routes: Record<string, Record<string, Handler>> = {
    '/transactions': { POST: postTransaction },
    '/chain': { GET: (_req, res) => sendJson(res, 200, peer.chainInfo(), READ_ONLY_CORS) },
    '/status': { GET: (_req, res) => sendJson(res, 200, peer.status(), READ_ONLY_CORS) },
    '/metrics': {
      GET: (_req, res) => sendText(res, 200, PROMETHEUS_CONTENT_TYPE, renderPrometheus(peer.metrics(), { peer: peer.id }), READ_ONLY_CORS),
    },
    // The membership a tab verifies blocks against: as trusted as the dashboard code this peer serves it.
    // Open mode is an answer, not an error: a page asks on every load and must not log a failed request.
    '/membership': {
      GET: (_req, res) => {
        const membership = peer.membership
        if (membership === undefined) return sendJson(res, 200, { mode: 'open' }, READ_ONLY_CORS)
        sendJson(res, 200, { mode: 'closed', validators: membership.members.map((m) => ({ id: m.id, publicKey: toHex(m.publicKey) })) }, READ_ONLY_CORS)
      },
    },
    '/healthz': { GET: (_req, res) => sendText(res, 200, 'text/plain; charset=utf-8', 'ok') },
  }

  const paramHandlers: Record<ParamRoute, (param: string) => Handler> = { '/transactions/': getTransaction, '/blocks/': getBlock, '/state/': getState }

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET'
    // Split by hand: `new URL('//evil/x', base)` would read the path as a host.
    const pathname = (req.url ?? '/').split('?')[0] ?? '/'
    const api = routes[pathname] ?? paramRoute(pathname, paramHandlers)
    if (api !== undefined) {
      const handler = api[method] ?? (method === 'HEAD' ? api['GET'] : undefined)
      if (handler === undefined) {
        const allow = Object.keys(api).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]))
        throw new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', `${method} is not allowed on ${pathname}`, { Allow: allow.join(', ') })
      }
      return handler(req, res)
    }
    const isPage = staticRoot !== undefined || pathname === '/' || pathname === '/index.html'
    if (!isPage) throw new HttpError(404, 'ERR_NOT_FOUND', `no route ${pathname}`)
    if (method !== 'GET' && method !== 'HEAD') {
      throw new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', `${method} is not allowed on ${pathname}`, { Allow: 'GET, HEAD' })
    }
    if (staticRoot !== undefined) return serveStatic(staticRoot, pathname, req, res)
    sendText(res, 200, 'text/html; charset=utf-8', BUILTIN_INDEX)
  }

  return (req, res) => {
    route(req, res).catch((err: unknown) => {
      const httpError = toHttpError(err)
      if (httpError.answered) return
      if (httpError.code === 'ERR_ABORTED' || (req.destroyed && !req.complete)) {
        // The client went: nobody reads an answer, and a stack would say nothing about a fault here.
        log.debug('http request aborted by client', { method: req.method, url: req.url })
        if (!res.writableEnded) res.destroy()
        return
      }
      if (httpError.status >= 500 && httpError.status !== 503) {
        log.error('http request failed', { method: req.method, url: req.url, error: err })
      }
      if (!res.headersSent && !res.destroyed) sendError(res, httpError)
      else if (!res.writableEnded) res.destroy()
    })
  }
}
