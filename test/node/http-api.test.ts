import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AbortError, QueueFullError, WspeerError } from '../../src/core/errors.js'
import { DEFAULT_PEER_LIMITS } from '../../src/core/peer/limits.js'
import { silentLogger } from '../../src/core/util/logger.js'
import { BODY_LINGER_MS, MAX_DISCARDED_BODY_BYTES, MAX_TX_BODY_BYTES, RETRY_AFTER_SECONDS } from '../../src/node/http-api.js'
import { PROMETHEUS_CONTENT_TYPE } from '../../src/node/metrics.js'
import { createPeerServer, type PeerServer } from '../../src/node/server.js'
import { createFakePeer, fakeStatus, type FakePeer } from './fake-peer.js'
import { json, rawPost, rawRequest } from './http-helpers.js'

const JSON_TYPE = { 'content-type': 'application/json' }

async function startServer(peer: FakePeer, staticDir?: string): Promise<{ server: PeerServer; port: number }> {
  const server = createPeerServer({
    peer,
    host: '127.0.0.1',
    port: 0,
    limits: { ...DEFAULT_PEER_LIMITS },
    log: silentLogger,
    ...(staticDir === undefined ? {} : { staticDir }),
  })
  const { port } = await server.start()
  return { server, port }
}

describe('HTTP API', () => {
  let peer: FakePeer
  let server: PeerServer
  let port: number

  beforeEach(async () => {
    peer = createFakePeer('vp0')
    ;({ server, port } = await startServer(peer))
  })
  afterEach(async () => {
    await server.stop()
  })

  describe('GET /status', () => {
    it('answers the peer status as JSON', async () => {
      const res = await rawRequest(port, { path: '/status' })
      expect(res.status).toBe(200)
      expect(res.headers['content-type']).toMatch(/^application\/json/)
      const body = json(res)
      expect(body).toEqual(fakeStatus('vp0'))
      expect(body).toMatchObject({ id: 'vp0', role: 'validator', consensus: { plugin: 'noops' }, chain: { height: 3 } })
    })

    it('may be read from any origin (the dashboard shows every peer), unlike POST /transactions', async () => {
      expect((await rawRequest(port, { path: '/status' })).headers['access-control-allow-origin']).toBe('*')
      expect((await rawRequest(port, { path: '/metrics' })).headers['access-control-allow-origin']).toBe('*')
      const post = await rawRequest(port, { method: 'POST', path: '/transactions', body: JSON.stringify({ payload: 'x' }), headers: { 'content-type': 'application/json' } })
      expect(post.headers['access-control-allow-origin']).toBeUndefined()
    })

    it('answers HEAD without a body', async () => {
      const res = await rawRequest(port, { method: 'HEAD', path: '/status' })
      expect(res.status).toBe(200)
      expect(res.body).toBe('')
    })

    it('ignores a query string', async () => {
      expect((await rawRequest(port, { path: '/status?x=1' })).status).toBe(200)
    })
  })

  describe('GET /chain, /blocks/:n, /state/:key', () => {
    it('/chain answers height, head hash and state hash', async () => {
      const res = await rawRequest(port, { path: '/chain' })
      expect(res.status).toBe(200)
      expect(json(res)).toEqual({ height: 3, headHash: 'ab'.repeat(32), stateHash: 'cd'.repeat(32) })
      expect(res.headers['access-control-allow-origin']).toBe('*')
    })

    it('/blocks/:n answers the block in JSON with hex hashes, 404 typed past the head, 400 for a bad number', async () => {
      const block = {
        number: 2,
        previousBlockHash: new Uint8Array(32).fill(1),
        stateHash: new Uint8Array(32).fill(2),
        timestamp: 42,
        proposer: 'vp0',
        transactions: [{ txid: 't1', payload: 'k=v', timestamp: 41, origin: 'vp1' }],
      }
      peer.blocks.set(2, { block, hash: 'ef'.repeat(32) })
      const res = await rawRequest(port, { path: '/blocks/2' })
      expect(res.status).toBe(200)
      expect(json(res)).toEqual({
        number: 2,
        hash: 'ef'.repeat(32),
        previousBlockHash: '01'.repeat(32),
        stateHash: '02'.repeat(32),
        timestamp: 42,
        proposer: 'vp0',
        transactions: [{ txid: 't1', payload: 'k=v', timestamp: 41, origin: 'vp1' }],
      })
      const missing = await rawRequest(port, { path: '/blocks/9' })
      expect(missing.status).toBe(404)
      expect(json(missing).error).toMatchObject({ code: 'ERR_UNKNOWN_BLOCK', message: expect.stringContaining('height 3') })
      for (const bad of ['-1', '1.5', 'x', '99999999999999999']) {
        const res = await rawRequest(port, { path: `/blocks/${bad}` })
        expect(res.status, bad).toBe(400)
        expect(json(res).error.code).toBe('ERR_BAD_BLOCK_NUMBER')
      }
      expect((await rawRequest(port, { method: 'POST', path: '/blocks/2', body: '{}', headers: JSON_TYPE })).status).toBe(405)
    })

    it('/state/:key answers the percent-decoded key and its value, 404 typed when absent', async () => {
      peer.stateValues.set('color/é', 'blue')
      const res = await rawRequest(port, { path: `/state/${encodeURIComponent('color/é')}` })
      expect(res.status).toBe(200)
      expect(json(res)).toEqual({ key: 'color/é', value: 'blue' })
      const missing = await rawRequest(port, { path: '/state/shape' })
      expect(missing.status).toBe(404)
      expect(json(missing).error.code).toBe('ERR_UNKNOWN_KEY')
    })
  })

  describe('GET /transactions/:txid', () => {
    it('200 with block and index when committed, 202 when pending, 404 typed when unknown', async () => {
      peer.statuses.set('done', { status: 'committed', block: 7, index: 3 })
      peer.statuses.set('waiting', { status: 'pending' })
      const done = await rawRequest(port, { path: '/transactions/done' })
      expect(done.status).toBe(200)
      expect(json(done)).toEqual({ status: 'committed', block: 7, index: 3 })
      const waiting = await rawRequest(port, { path: '/transactions/waiting' })
      expect(waiting.status).toBe(202)
      expect(json(waiting)).toEqual({ status: 'pending' })
      const unknown = await rawRequest(port, { path: '/transactions/never' })
      expect(unknown.status).toBe(404)
      expect(json(unknown).error.code).toBe('ERR_UNKNOWN_TRANSACTION')
      expect(json(unknown).error.message).toContain('"never"')
    })

    it('percent-decodes the txid, ignores a query string, and answers 400 for bad encoding', async () => {
      peer.statuses.set('a b/é', { status: 'committed', block: 1, index: 0 })
      expect((await rawRequest(port, { path: `/transactions/${encodeURIComponent('a b/é')}?x=1` })).status).toBe(200)
      const bad = await rawRequest(port, { path: '/transactions/%E0%A4%A' })
      expect(bad.status).toBe(400)
      expect(json(bad).error.code).toBe('ERR_BAD_PATH')
    })

    it('is read-only: HEAD works, POST is 405 with Allow, any origin may read it', async () => {
      peer.statuses.set('done', { status: 'committed', block: 2, index: 0 })
      const head = await rawRequest(port, { method: 'HEAD', path: '/transactions/done' })
      expect(head.status).toBe(200)
      expect(head.body).toBe('')
      expect(head.headers['access-control-allow-origin']).toBe('*')
      const post = await rawRequest(port, { method: 'POST', path: '/transactions/done', body: '{}', headers: JSON_TYPE })
      expect(post.status).toBe(405)
      expect(post.headers['allow']).toBe('GET, HEAD')
      // `/transactions/` with nothing after it names no transaction.
      expect((await rawRequest(port, { path: '/transactions/' })).status).toBe(404)
    })
  })

  it('GET /metrics answers Prometheus text labelled with the peer ID', async () => {
    const res = await rawRequest(port, { path: '/metrics' })
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE)
    expect(res.body).toContain('wspeer_frames_received_total{peer="vp0"} 6\n')
  })

  it('GET /healthz answers ok', async () => {
    const res = await rawRequest(port, { path: '/healthz' })
    expect(res.status).toBe(200)
    expect(res.body).toBe('ok')
  })

  describe('POST /transactions', () => {
    it('submits the payload and answers 202 with the txid', async () => {
      const res = await rawRequest(port, { method: 'POST', path: '/transactions', headers: JSON_TYPE, body: '{"payload":"héllo"}' })
      expect(res.status).toBe(202)
      expect(json(res)).toEqual({ txid: 'tx-1-5' })
      expect(peer.submitted).toEqual(['héllo'])
    })

    it('accepts application/json with parameters, and a missing Content-Type', async () => {
      const a = await rawRequest(port, { method: 'POST', path: '/transactions', headers: { 'content-type': 'Application/JSON; charset=utf-8' }, body: '{"payload":"a"}' })
      const b = await rawRequest(port, { method: 'POST', path: '/transactions', body: '{"payload":"b"}' })
      expect([a.status, b.status]).toEqual([202, 202])
      expect(peer.submitted).toEqual(['a', 'b'])
    })

    it.each([
      ['{"payload":', 'ERR_INVALID_JSON'],
      ['', 'ERR_INVALID_JSON'],
      ['[]', 'ERR_INVALID_BODY'],
      ['null', 'ERR_INVALID_BODY'],
      ['{}', 'ERR_INVALID_BODY'],
      ['{"payload":5}', 'ERR_INVALID_BODY'],
      ['{"payload":null}', 'ERR_INVALID_BODY'],
      ['{"payload":"x","extra":1}', 'ERR_INVALID_BODY'],
    ])('400 for %j', async (body, code) => {
      const res = await rawRequest(port, { method: 'POST', path: '/transactions', headers: JSON_TYPE, body })
      expect(res.status).toBe(400)
      expect(json(res).error.code).toBe(code)
      expect(typeof json(res).error.message).toBe('string')
      expect(peer.submitted).toEqual([])
    })

    it('400 for a body that is not UTF-8', async () => {
      const body = Buffer.concat([Buffer.from('{"payload":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])
      const res = await rawRequest(port, { method: 'POST', path: '/transactions', headers: JSON_TYPE, body })
      expect(res.status).toBe(400)
      expect(json(res).error.code).toBe('ERR_INVALID_JSON')
    })

    it('413 for a body over MAX_TX_BODY_BYTES, and the server goes on serving', async () => {
      const body = JSON.stringify({ payload: 'x'.repeat(MAX_TX_BODY_BYTES) })
      const res = await rawRequest(port, { method: 'POST', path: '/transactions', headers: JSON_TYPE, body })
      expect(res.status).toBe(413)
      expect(json(res).error.code).toBe('ERR_BODY_TOO_LARGE')
      expect(peer.submitted).toEqual([])
      expect((await rawRequest(port, { path: '/healthz' })).status).toBe(200)
    })

    describe('an oversized body is answered 413 and the connection closed cleanly, whatever the framing', () => {
      const MB = 1_000_000
      for (const bodyBytes of [1.5 * MB, 5 * MB, 50 * MB]) {
        for (const framing of ['length', 'chunked'] as const) {
          for (const expectContinue of [false, true]) {
            it(`${bodyBytes / MB} MB, ${framing === 'length' ? 'Content-Length' : 'chunked'}${expectContinue ? ', Expect: 100-continue' : ''}`, async () => {
              const res = await rawPost(port, { path: '/transactions', bodyBytes, framing, expectContinue })
              expect(res.status).toBe(413)
              expect(res.headers['connection']).toBe('close')
              expect(JSON.parse(res.body).error.code).toBe('ERR_BODY_TOO_LARGE')
              // A FIN after the answer, never a reset or a broken pipe.
              expect(res.error).toBeUndefined()
              expect(res.serverEnded).toBe(true)
              // Answered early (a declared length before any body byte is read, a chunked body once
              // past the limit): the client stops long before 50 MB. Smaller bodies may already sit
              // in the kernel's socket buffers when the answer arrives.
              if (bodyBytes === 50 * MB) expect(res.bodySent).toBeLessThan(bodyBytes)
              if (expectContinue && framing === 'length') {
                expect(res.received).not.toContain('100 Continue')
                expect(res.bodySent).toBe(0)
              }
              expect(peer.submitted).toEqual([])
              expect((await rawRequest(port, { path: '/healthz' })).status).toBe(200)
            })
          }
        }
      }

      it('a client that ignores the early 413 and keeps writing still has it in hand', async () => {
        const res = await rawPost(port, { path: '/transactions', bodyBytes: 5 * MB, framing: 'length', ignoreAnswer: true })
        expect(res.status).toBe(413)
        expect(JSON.parse(res.body).error.code).toBe('ERR_BODY_TOO_LARGE')
        expect((await rawRequest(port, { path: '/healthz' })).status).toBe(200)
      })

      it('a client that goes on sending past MAX_DISCARDED_BODY_BYTES is cut off', async () => {
        const bodyBytes = 4 * MAX_DISCARDED_BODY_BYTES
        // Half-open: this client goes on writing after the server's FIN.
        const res = await rawPost(port, { path: '/transactions', bodyBytes, framing: 'chunked', ignoreAnswer: true, allowHalfOpen: true })
        expect(res.status).toBe(413)
        // The server stops reading past the bound: this client's writes fail long before the end.
        expect(res.error).toMatch(/^(ECONNRESET|EPIPE)$/)
        expect(res.bodySent).toBeGreaterThan(MAX_DISCARDED_BODY_BYTES)
        expect(res.bodySent).toBeLessThan(bodyBytes)
        expect((await rawRequest(port, { path: '/healthz' })).status).toBe(200)
      })

      it('a client that neither closes nor finishes its body is closed after BODY_LINGER_MS', async () => {
        // Half-open: this client does not close its side when the server closes its own.
        const socket = netConnect({ port, host: '127.0.0.1', allowHalfOpen: true })
        let received = ''
        let answeredAt = 0
        const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
        socket.on('error', () => {})
        socket.on('data', (data: Buffer) => {
          received += data.toString('utf8')
          if (answeredAt === 0 && received.includes('\r\n\r\n')) answeredAt = Date.now()
        })
        const ended = new Promise<void>((resolve) => socket.on('end', () => resolve()))
        socket.write(`POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${MB}\r\n\r\n`)
        // The server half-closes at once after its 413...
        await ended
        expect(received).toMatch(/^HTTP\/1\.1 413 /)
        // ...and goes on reading this trickle until it gives up; a byte sent after that is refused
        // with a reset, which closes this side too.
        const trickle = setInterval(() => {
          if (!socket.destroyed) socket.write('a')
        }, 20)
        try {
          await closed
        } finally {
          clearInterval(trickle)
        }
        // Allow for the time the answer took to arrive after the server started its timer.
        expect(Date.now() - answeredAt).toBeGreaterThanOrEqual(BODY_LINGER_MS - 100)
        expect((await rawRequest(port, { path: '/healthz' })).status).toBe(200)
      })

      it('a body within the limit that asks for 100 Continue gets it, then 202', async () => {
        const res = await rawPost(port, { path: '/transactions', bodyBytes: 0, framing: 'length', expectContinue: true })
        // An empty body is a 400; what matters here is that the server asked for it.
        expect(res.received.startsWith('HTTP/1.1 100 Continue\r\n\r\n')).toBe(true)
        expect(res.status).toBe(400)
      })
    })

    it('accepts a body of exactly MAX_TX_BODY_BYTES', async () => {
      const filler = MAX_TX_BODY_BYTES - JSON.stringify({ payload: '' }).length
      const body = JSON.stringify({ payload: 'y'.repeat(filler) })
      expect(Buffer.byteLength(body)).toBe(MAX_TX_BODY_BYTES)
      const res = await rawRequest(port, { method: 'POST', path: '/transactions', headers: JSON_TYPE, body })
      expect(res.status).toBe(202)
    })

    it('415 for another content type', async () => {
      const res = await rawRequest(port, {
        method: 'POST',
        path: '/transactions',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '{"payload":"x"}',
      })
      expect(res.status).toBe(415)
      expect(json(res).error.code).toBe('ERR_UNSUPPORTED_MEDIA_TYPE')
      expect(peer.submitted).toEqual([])
    })

    it('503 with Retry-After when the queue is full', async () => {
      peer.submitImpl = async () => {
        throw new QueueFullError('vp0')
      }
      const res = await rawRequest(port, { method: 'POST', path: '/transactions', headers: JSON_TYPE, body: '{"payload":"x"}' })
      expect(res.status).toBe(503)
      expect(res.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS))
      expect(json(res).error).toEqual({ code: 'ERR_QUEUE_FULL', message: 'Message channel for vp0 full, rejecting' })
    })

    it('503 when the peer is not running', async () => {
      peer.submitImpl = async () => {
        throw new WspeerError('ERR_LIFECYCLE', 'peer is stopping')
      }
      const res = await rawRequest(port, { method: 'POST', path: '/transactions', headers: JSON_TYPE, body: '{"payload":"x"}' })
      expect(res.status).toBe(503)
      expect(json(res).error.code).toBe('ERR_LIFECYCLE')
    })

    it('413 when the peer refuses the payload size', async () => {
      peer.submitImpl = async () => {
        throw new WspeerError('ERR_PAYLOAD_TOO_LARGE', 'too big')
      }
      const res = await rawRequest(port, { method: 'POST', path: '/transactions', headers: JSON_TYPE, body: '{"payload":"x"}' })
      expect(res.status).toBe(413)
      expect(json(res).error.code).toBe('ERR_PAYLOAD_TOO_LARGE')
    })

    it('500 with a generic message for an unexpected error', async () => {
      peer.submitImpl = async () => {
        throw new Error('secret internals')
      }
      const res = await rawRequest(port, { method: 'POST', path: '/transactions', headers: JSON_TYPE, body: '{"payload":"x"}' })
      expect(res.status).toBe(500)
      expect(json(res).error).toEqual({ code: 'ERR_INTERNAL', message: 'internal error' })
    })

    it('aborts the submit when the client hangs up', async () => {
      const aborted = new Promise<void>((resolve) => {
        peer.submitImpl = (_payload, options) =>
          new Promise((_resolve, reject) => {
            options?.signal?.addEventListener('abort', () => {
              resolve()
              reject(new AbortError())
            })
          })
      })
      const { request } = await import('node:http')
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/transactions', headers: JSON_TYPE, agent: false })
      req.on('error', () => {})
      req.end('{"payload":"x"}')
      await expect.poll(() => peer.submitted.length).toBe(1)
      req.destroy()
      await aborted
    })
  })

  describe('client aborts', () => {
    /** A server whose log lines are recorded (level, msg, fields). */
    async function startRecorded() {
      const records: { level: string; msg: string; fields: Record<string, unknown> }[] = []
      const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => void records.push({ level, msg, fields })
      const log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log }
      const recordedPeer = createFakePeer('vp1')
      const recorded = createPeerServer({ peer: recordedPeer, host: '127.0.0.1', port: 0, limits: { ...DEFAULT_PEER_LIMITS }, log })
      const started = await recorded.start()
      return { records, recorded, recordedPeer, port: started.port }
    }

    it('logs a POST abandoned mid-body once, at debug, without an error or stack', async () => {
      const { records, recorded, port: p } = await startRecorded()
      try {
        const { request } = await import('node:http')
        const req = request({ host: '127.0.0.1', port: p, method: 'POST', path: '/transactions', headers: { ...JSON_TYPE, 'content-length': '1000' }, agent: false })
        req.on('error', () => {})
        req.write('{"payload":"')
        await expect.poll(() => (req.socket?.bytesWritten ?? 0) > 0).toBe(true)
        req.destroy()
        await expect.poll(() => records.filter((r) => r.msg === 'http request aborted by client').length).toBe(1)
        expect(records.filter((r) => r.level === 'error' || r.level === 'warn')).toEqual([])
        const [line] = records.filter((r) => r.msg === 'http request aborted by client')
        expect(line).toMatchObject({ level: 'debug', fields: { method: 'POST', url: '/transactions' } })
        expect(Object.keys(line!.fields)).not.toContain('error')
      } finally {
        await recorded.stop()
      }
    })

    it('logs a submit aborted by the client hanging up once, at debug', async () => {
      const { records, recorded, recordedPeer, port: p } = await startRecorded()
      try {
        recordedPeer.submitImpl = (_payload, options) =>
          new Promise((_resolve, reject) => options?.signal?.addEventListener('abort', () => reject(new AbortError())))
        const { request } = await import('node:http')
        const req = request({ host: '127.0.0.1', port: p, method: 'POST', path: '/transactions', headers: JSON_TYPE, agent: false })
        req.on('error', () => {})
        req.end('{"payload":"x"}')
        await expect.poll(() => recordedPeer.submitted.length).toBe(1)
        req.destroy()
        await expect.poll(() => records.filter((r) => r.msg === 'http request aborted by client').length).toBe(1)
        expect(records.filter((r) => r.level === 'error' || r.level === 'warn')).toEqual([])
      } finally {
        await recorded.stop()
      }
    })
  })

  describe('routing', () => {
    it('404 JSON for an unknown route', async () => {
      const res = await rawRequest(port, { path: '/nope' })
      expect(res.status).toBe(404)
      expect(json(res).error.code).toBe('ERR_NOT_FOUND')
    })

    it.each([
      ['GET', '/transactions', 'POST'],
      ['PUT', '/status', 'GET, HEAD'],
      ['POST', '/metrics', 'GET, HEAD'],
      ['DELETE', '/healthz', 'GET, HEAD'],
      ['POST', '/', 'GET, HEAD'],
    ])('405 with Allow for %s %s', async (method, path, allow) => {
      const res = await rawRequest(port, { method, path })
      expect(res.status).toBe(405)
      expect(res.headers['allow']).toBe(allow)
      expect(json(res).error.code).toBe('ERR_METHOD_NOT_ALLOWED')
    })

    it('serves a built-in page at / when no static directory is set', async () => {
      const res = await rawRequest(port, { path: '/' })
      expect(res.status).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/html/)
      expect(res.body).toContain('href="/status"')
      expect(res.body).toContain('href="/metrics"')
      // It names its (empty) icon, so a browser does not ask for /favicon.ico and log a 404.
      expect(res.body).toContain('<link rel="icon" href="data:,">')
    })
  })
})

describe('static files', () => {
  let root: string
  let secretDir: string
  let server: PeerServer
  let port: number

  beforeEach(async () => {
    const base = mkdtempSync(join(tmpdir(), 'wspeer-static-'))
    root = join(base, 'web')
    secretDir = join(base, 'secret')
    mkdirSync(join(root, 'assets'), { recursive: true })
    mkdirSync(secretDir)
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>dashboard</title>')
    writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)')
    writeFileSync(join(root, 'assets', 'style.css'), 'body{}')
    writeFileSync(join(root, 'data.bin'), 'x')
    writeFileSync(join(secretDir, 'key.txt'), 'SECRET')
    symlinkSync(join(secretDir, 'key.txt'), join(root, 'link.txt'))
    ;({ server, port } = await startServer(createFakePeer(), root))
  })
  afterEach(async () => {
    await server.stop()
    rmSync(join(root, '..'), { recursive: true, force: true })
  })

  it.each([
    ['/', 'text/html; charset=utf-8', 'dashboard'],
    ['/index.html', 'text/html; charset=utf-8', 'dashboard'],
    ['/assets/app.js', 'text/javascript; charset=utf-8', 'console.log(1)'],
    ['/assets/style.css', 'text/css; charset=utf-8', 'body{}'],
    ['/data.bin', 'application/octet-stream', 'x'],
  ])('serves %s as %s', async (path, type, content) => {
    const res = await rawRequest(port, { path })
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe(type)
    expect(res.body).toContain(content)
  })

  it('still routes the API', async () => {
    expect((await rawRequest(port, { path: '/status' })).status).toBe(200)
  })

  it('404 for a missing file', async () => {
    const res = await rawRequest(port, { path: '/missing.js' })
    expect(res.status).toBe(404)
    expect(json(res).error.code).toBe('ERR_NOT_FOUND')
  })

  it.each(['/../secret/key.txt', '/assets/../../secret/key.txt', '/%2e%2e/secret/key.txt', '/..%2fsecret%2fkey.txt', '/link.txt', '/%00', '/..%5csecret'])(
    'refuses %s',
    async (path) => {
      const res = await rawRequest(port, { path })
      expect([400, 403, 404]).toContain(res.status)
      expect(res.body).not.toContain('SECRET')
      expect(json(res).error.code).toMatch(/^ERR_(FORBIDDEN|BAD_PATH|NOT_FOUND)$/)
    },
  )

  it('refuses traversal with 403 specifically', async () => {
    expect((await rawRequest(port, { path: '/../secret/key.txt' })).status).toBe(403)
    expect((await rawRequest(port, { path: '/link.txt' })).status).toBe(403)
  })

  it('falls back to the built-in page when the directory does not exist', async () => {
    const other = await startServer(createFakePeer(), join(root, 'no-such-dir'))
    try {
      const res = await rawRequest(other.port, { path: '/' })
      expect(res.status).toBe(200)
      expect(res.body).toContain('href="/status"')
    } finally {
      await other.server.stop()
    }
  })
})
