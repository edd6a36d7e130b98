import { createServer } from 'node:net'
import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { QueueFullError } from '../../src/core/errors.js'
import { DEFAULT_PEER_LIMITS } from '../../src/core/peer/limits.js'
import { silentLogger } from '../../src/core/util/logger.js'
import { main, type CliIo } from '../../src/node/cli.js'
import { createPeerServer, type PeerServer } from '../../src/node/server.js'
import { createFakePeer, fakeStatus, type FakePeer } from './fake-peer.js'

interface TestIo extends CliIo {
  out: string
  err: string
  /** Delivers a shutdown signal to every current listener. */
  signal(name: string): void
  listeners: Set<(signal: string) => void>
}

// Keys of peers started here go to a temporary directory, not the user's ~/.wspeer.
const TEST_DATA_ROOT = mkdtempSync(join(tmpdir(), 'wspeer-cli-test-'))

function testIo(env: Record<string, string> = { WSPEER_DATA_DIR: join(TEST_DATA_ROOT, 'peer') }): TestIo {
  const io: TestIo = {
    out: '',
    err: '',
    env,
    listeners: new Set(),
    stdout: (text) => {
      io.out += text
    },
    stderr: (text) => {
      io.err += text
    },
    fetch: (...args) => globalThis.fetch(...args),
    onShutdown(listener) {
      io.listeners.add(listener)
      return () => io.listeners.delete(listener)
    },
    signal(name) {
      for (const l of [...io.listeners]) l(name)
    },
  }
  return io
}

async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as { port: number }
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

describe('wspeer CLI', () => {
  describe('help and usage', () => {
    it('prints the command list for --help, -h and help', async () => {
      for (const argv of [['--help'], ['-h'], ['help']]) {
        const io = testIo()
        expect(await main(argv, io)).toBe(0)
        for (const command of ['start', 'network', 'tx', 'status', 'keygen']) expect(io.out).toMatch(new RegExp(`^  ${command} `, 'm'))
        expect(io.err).toBe('')
      }
    })

    it.each([
      ['start', ['--id', '--port', '--peers', '--consensus', '--role', '--log-level', '--config', '--queue-max-messages', 'WSPEER_QUEUE_MAX_MESSAGES', 'noops']],
      ['network', ['--peers', '--base-port', '--consensus', '--host', '--log-level', '--initial-old-space-mb']],
      ['tx', ['<payload>', '--to']],
      ['status', ['[url]', '--json']],
    ])('%s --help describes its options', async (command, words) => {
      for (const argv of [[command, '--help'], [command, '-h'], ['help', command]]) {
        const io = testIo()
        expect(await main(argv, io)).toBe(0)
        expect(io.out).toMatch(new RegExp(`^Usage: wspeer ${command}`))
        for (const word of words) expect(io.out).toContain(word)
      }
    })

    it('exits 2 with the usage on stderr for an unknown command', async () => {
      const io = testIo()
      expect(await main(['launch'], io)).toBe(2)
      expect(io.err).toMatch(/unknown command "launch"/)
      expect(io.err).toContain('Usage: wspeer <command>')
      expect(io.out).toBe('')
    })

    it('exits 2 without a command', async () => {
      const io = testIo()
      expect(await main([], io)).toBe(2)
      expect(io.err).toContain('Usage: wspeer <command>')
    })
  })

  describe('start', () => {
    it('exits 1 with one line for a bad flag', async () => {
      const io = testIo()
      expect(await main(['start', '--port', 'abc'], io)).toBe(1)
      expect(io.err).toBe('wspeer start: invalid flag --port: must be an integer from 0 to 65535, got "abc"\n')
    })

    it('exits 1 for a bad environment variable', async () => {
      const io = testIo({ WSPEER_ROLE: 'boss' })
      expect(await main(['start'], io)).toBe(1)
      expect(io.err).toMatch(/^wspeer start: invalid env WSPEER_ROLE: .*\n$/)
    })

    it('exits 1 with one line for an unknown consenter', async () => {
      const io = testIo()
      expect(await main(['start', '--port', '0', '--consensus', 'nope', '--log-level', 'error'], io)).toBe(1)
      expect(io.err).toMatch(/^wspeer start: unknown consensus plugin "nope"; known: .*noops.*\n$/)
    })

    it('exits 1 with one line when the port is in use', async () => {
      const blocker = createServer()
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
      const { port } = blocker.address() as { port: number }
      try {
        const io = testIo()
        expect(await main(['start', '--port', String(port), '--log-level', 'error'], io)).toBe(1)
        expect(io.err).toBe(`wspeer start: port ${port} on 127.0.0.1 is already in use\n`)
      } finally {
        await new Promise<void>((resolve) => blocker.close(() => resolve()))
      }
    })

    it('runs until a shutdown signal, then stops cleanly and exits 0', async () => {
      const port = await freePort()
      const io = testIo()
      const run = main(['start', '--port', String(port), '--log-level', 'error'], io)
      // Wait until the peer answers, then signal.
      await expect
        .poll(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status, { timeout: 10_000 })
        .toBe(200)
      io.signal('SIGINT')
      io.signal('SIGINT') // a repeat (terminal + parent) must not disturb the clean stop
      expect(await run).toBe(0)
      expect(io.listeners.size).toBe(0)
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow()
    })
  })

  describe('tx and status against a server', () => {
    let peer: FakePeer
    let server: PeerServer
    let base: string

    beforeEach(async () => {
      peer = createFakePeer('vp0')
      server = createPeerServer({ peer, host: '127.0.0.1', port: 0, limits: { ...DEFAULT_PEER_LIMITS }, log: silentLogger })
      base = `http://127.0.0.1:${(await server.start()).port}`
    })
    afterEach(async () => {
      await server.stop()
    })

    it('tx prints the txid', async () => {
      const io = testIo()
      expect(await main(['tx', 'hello world', '--to', base], io)).toBe(0)
      expect(io.out).toBe('tx-1-11\n')
      expect(peer.submitted).toEqual(['hello world'])
    })

    it('block prints the block as JSON, and exits 1 with the peer\'s error past the head', async () => {
      const block = { number: 1, previousBlockHash: new Uint8Array(32), stateHash: new Uint8Array(32).fill(3), timestamp: 5, proposer: 'vp0', transactions: [] }
      peer.blocks.set(1, { block, hash: 'aa'.repeat(32) })
      const io = testIo()
      expect(await main(['block', '1', '--to', base], io)).toBe(0)
      expect(JSON.parse(io.out)).toMatchObject({ number: 1, hash: 'aa'.repeat(32), stateHash: '03'.repeat(32), proposer: 'vp0', transactions: [] })
      const missing = testIo()
      expect(await main(['block', '7', '--to', base], missing)).toBe(1)
      expect(missing.err).toMatch(/^wspeer block: HTTP 404 ERR_UNKNOWN_BLOCK: no block 7/)
      expect(await main(['block', 'seven', '--to', base], testIo())).toBe(2)
    })

    it('get prints the value of a key (percent-encoded on the way), and exits 1 when it holds nothing', async () => {
      peer.stateValues.set('color/é', 'blue')
      const io = testIo()
      expect(await main(['get', 'color/é', '--to', base], io)).toBe(0)
      expect(io.out).toBe('blue\n')
      const missing = testIo()
      expect(await main(['get', 'shape', '--to', base], missing)).toBe(1)
      expect(missing.err).toMatch(/^wspeer get: HTTP 404 ERR_UNKNOWN_KEY/)
      expect(await main(['get', '--to', base], testIo())).toBe(2)
    })

    it('tx accepts a --to that already names /transactions', async () => {
      const io = testIo()
      expect(await main(['tx', 'x', '--to', `${base}/transactions`], io)).toBe(0)
      expect(peer.submitted).toEqual(['x'])
    })

    it('tx --wait polls until committed and prints the block number', async () => {
      peer.submitImpl = async () => ({ txid: 'a b' })
      let asked = 0
      peer.transactionStatus = (txid) => {
        expect(txid).toBe('a b')
        asked++
        // Unknown first (passed on at once), then pending, then committed.
        if (asked === 1) return { status: 'unknown' }
        if (asked < 4) return { status: 'pending' }
        return { status: 'committed', block: 12, index: 3 }
      }
      const io = testIo()
      expect(await main(['tx', 'x', '--to', base, '--wait'], io)).toBe(0)
      expect(io.out).toBe('a b\ncommitted in block 12 (index 3)\n')
      expect(asked).toBe(4)
    })

    it('tx --wait exits 1 with the last answer when the commit does not come within --timeout', async () => {
      peer.submitImpl = async () => ({ txid: 'slow' })
      peer.statuses.set('slow', { status: 'pending' })
      const io = testIo()
      expect(await main(['tx', 'x', '--to', base, '--wait', '--timeout', '350'], io)).toBe(1)
      expect(io.out).toBe('slow\n')
      expect(io.err).toBe('wspeer tx: not committed within 350 ms (last answer: pending)\n')
    })

    it.each([[['--timeout', '10']], [['--wait', '--timeout', '0']], [['--wait', '--timeout', 'soon']]])('tx %j is a usage error', async (flags) => {
      const io = testIo()
      expect(await main(['tx', 'x', '--to', base, ...flags], io)).toBe(2)
      expect(peer.submitted).toEqual([])
    })

    it('tx prints the error and exits 1 on a non-2xx answer', async () => {
      peer.submitImpl = async () => {
        throw new QueueFullError('vp0')
      }
      const io = testIo()
      expect(await main(['tx', 'x', '--to', base], io)).toBe(1)
      expect(io.err).toBe('wspeer tx: HTTP 503 ERR_QUEUE_FULL: Message channel for vp0 full, rejecting\n')
      expect(io.out).toBe('')
    })

    it('tx exits 1 when the peer cannot be reached', async () => {
      const io = testIo()
      const port = await freePort()
      expect(await main(['tx', 'x', '--to', `http://127.0.0.1:${port}`], io)).toBe(1)
      expect(io.err).toMatch(/^wspeer tx: cannot reach http:\/\/127\.0\.0\.1:\d+\/transactions/)
    })

    it.each([[['tx']], [['tx', 'a', 'b']], [['tx', 'a', '--too', 'x']], [['tx', 'a', '--to', 'ftp://x']]])('tx %j is a usage error', async (argv) => {
      const io = testIo()
      expect(await main(argv, io)).toBe(2)
      expect(io.err).toContain('Usage: wspeer tx')
    })

    it('status prints a summary', async () => {
      const io = testIo()
      expect(await main(['status', base], io)).toBe(0)
      const status = fakeStatus('vp0')
      expect(io.out).toContain(`${status.id} (validator) ${status.address}`)
      expect(io.out).toContain(`height ${status.chain.height}, head ${status.chain.headHash}`)
      expect(io.out).toContain('consensus: noops')
      expect(io.out).toMatch(/^ {2}vp1 +validator +ws:\/\/127\.0\.0\.1:7052\/chat$/m)
    })

    it('status --json prints the raw status', async () => {
      const io = testIo()
      expect(await main(['status', `${base}/status`, '--json'], io)).toBe(0)
      expect(JSON.parse(io.out)).toEqual(fakeStatus('vp0'))
    })

    it('status exits 1 on an HTTP error', async () => {
      const io = testIo()
      // A path the server does not route: the status URL becomes /nope/status, a 404.
      expect(await main(['status', `${base}/nope`], io)).toBe(1)
      expect(io.err).toMatch(/^wspeer status: HTTP 404 ERR_NOT_FOUND/)
    })
  })

  describe('tx and status against a TLS peer with a self-signed certificate', () => {
    const fixtures = fileURLToPath(new URL('../fixtures/tls/', import.meta.url))
    const caFile = join(fixtures, 'cert.pem')
    let peer: FakePeer
    let server: PeerServer
    let base: string

    beforeEach(async () => {
      peer = createFakePeer('vp0')
      const tls = { cert: readFileSync(caFile, 'utf8'), key: readFileSync(join(fixtures, 'key.pem'), 'utf8') }
      server = createPeerServer({ peer, host: '127.0.0.1', port: 0, limits: { ...DEFAULT_PEER_LIMITS }, log: silentLogger, tls })
      base = `https://127.0.0.1:${(await server.start()).port}`
    })
    afterEach(async () => {
      await server.stop()
    })

    it('fails without a CA, and says how to give one', async () => {
      const io = testIo()
      expect(await main(['status', base], io)).toBe(1)
      expect(io.err).toMatch(/self-signed certificate.*--ca <file\.pem> or WSPEER_TLS_CA/)
    })

    it('--ca trusts the certificate for tx and status', async () => {
      const tx = testIo()
      expect(await main(['tx', 'color=blue', '--to', base, '--ca', caFile], tx)).toBe(0)
      expect(tx.out).toBe('tx-1-10\n')
      expect(peer.submitted).toEqual(['color=blue'])
      const status = testIo()
      expect(await main(['status', base, '--ca', caFile], status)).toBe(0)
      expect(status.out).toContain('height 3')
    })

    it('WSPEER_TLS_CA does the same', async () => {
      const io = testIo({ WSPEER_TLS_CA: caFile })
      expect(await main(['status', base, '--json'], io)).toBe(0)
      expect(JSON.parse(io.out)).toEqual(fakeStatus('vp0'))
    })

    it('an HTTP error still reads as one through the CA client', async () => {
      const io = testIo()
      expect(await main(['tx', 'x'.repeat(300 * 1024), '--to', base, '--ca', caFile], io)).toBe(1)
      expect(io.err).toMatch(/^wspeer tx: HTTP 413 ERR_BODY_TOO_LARGE/)
    })

    it('exits 1 with one line for a CA file that is missing or holds no certificate', async () => {
      const missing = testIo()
      expect(await main(['status', base, '--ca', join(fixtures, 'nope.pem')], missing)).toBe(1)
      expect(missing.err).toMatch(/^wspeer status: cannot read the CA file .*nope\.pem/)
      const notPem = testIo()
      expect(await main(['status', base, '--ca', join(fixtures, 'README.md')], notPem)).toBe(1)
      expect(notPem.err).toMatch(/holds no PEM certificate/)
    })
  })

  describe('network argument checks', () => {
    it.each([
      [['network', '--peers', '0'], 2, /--peers must be an integer from 1/],
      [['network', '--peers', 'four'], 2, /--peers/],
      [['network', '--base-port', '65535', '--peers', '4'], 2, /--base-port/],
      [['network', '--log-level', 'loud'], 2, /--log-level/],
      [['network', '--initial-old-space-mb', '4097'], 2, /--initial-old-space-mb must be an integer from 0 to 4096/],
      [['network', '--initial-old-space-mb', 'lots'], 2, /--initial-old-space-mb/],
      [['network', '--bogus'], 2, /bogus/],
      [['network', '--consensus', 'nope'], 1, /unknown consensus plugin "nope"/],
    ])('%j exits %i', async (argv, code, message) => {
      const io = testIo()
      expect(await main(argv, io)).toBe(code)
      expect(io.err).toMatch(message)
    })
  })

  describe('keygen', () => {
    it('creates a key on first use, prints its membership entry, and shows the same key after', async () => {
      const dir = join(TEST_DATA_ROOT, 'keygen-vp3')
      const first = testIo()
      expect(await main(['keygen', '--id', 'vp3', '--data-dir', dir, '--json'], first)).toBe(0)
      const made = JSON.parse(first.out) as { id: string; publicKey: string; keyId: string; path: string; created: boolean }
      expect(made).toMatchObject({ id: 'vp3', publicKey: expect.stringMatching(/^[0-9a-f]{64}$/), keyId: expect.stringMatching(/^[0-9a-f]{40}$/), created: true })
      expect(made.path).toBe(join(dir, 'peer.key'))
      expect(statSync(made.path).mode & 0o777).toBe(0o600)

      const again = testIo()
      expect(await main(['keygen', '--id', 'vp3', '--data-dir', dir], again)).toBe(0)
      expect(again.out).toContain(`existing key ${made.path}`)
      expect(again.out).toContain(`key id:     ${made.keyId}`)
      // The entry pastes into a membership file as is.
      const entry = JSON.parse(again.out.trim().split('\n').at(-1)!) as unknown
      expect(entry).toEqual({ id: 'vp3', publicKey: made.publicKey })
    })

    it('refuses a key file others can read instead of using it', async () => {
      const dir = join(TEST_DATA_ROOT, 'keygen-exposed')
      expect(await main(['keygen', '--data-dir', dir], testIo())).toBe(0)
      chmodSync(join(dir, 'peer.key'), 0o644)
      const io = testIo()
      expect(await main(['keygen', '--data-dir', dir], io)).toBe(1)
      expect(io.err).toMatch(/accessible by group or others/)
    })
  })
})
