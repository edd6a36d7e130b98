/**
 * A `fetch` for the CLI's HTTP client that trusts extra CA certificates (`wspeer tx --ca`,
 * `WSPEER_TLS_CA`), besides the system's. Node's built-in fetch takes no CA option without the
 * undici package, so this one speaks HTTP(S) through node:http and node:https and hands back a
 * standard Response. It covers what the CLI sends: a method, headers, a string body, a signal.
 */
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { rootCertificates } from 'node:tls'

/** Statuses whose Response may carry no body (the Response constructor refuses one). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304])

/** Returns a fetch that trusts `caPem` (one or more PEM certificates) as well as the system's roots. */
export function createCaFetch(caPem: string): typeof fetch {
  const ca = [...rootCertificates, caPem]
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input))
      const headers = Object.fromEntries(new Headers(init.headers).entries())
      const body = init.body
      if (body !== undefined && body !== null && typeof body !== 'string') {
        reject(new TypeError('this fetch sends string bodies only'))
        return
      }
      const options = { method: init.method ?? 'GET', headers, ...(init.signal ? { signal: init.signal } : {}) }
      const onResponse = (res: import('node:http').IncomingMessage): void => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const status = res.statusCode ?? 0
          const responseHeaders = new Headers()
          for (const [name, value] of Object.entries(res.headers)) {
            for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) responseHeaders.append(name, v)
          }
          resolve(new Response(NULL_BODY_STATUSES.has(status) ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: responseHeaders }))
        })
      }
      const req = url.protocol === 'https:' ? httpsRequest(url, { ...options, ca }, onResponse) : httpRequest(url, options, onResponse)
      // Wrapped as fetch wraps it, so callers print "fetch failed: <cause>" the same way.
      req.on('error', (err) => reject(err.name === 'AbortError' ? err : new TypeError('fetch failed', { cause: err })))
      req.end(body ?? undefined)
    })
}
