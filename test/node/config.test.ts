import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/core/errors.js'
import { DEFAULT_PEER_LIMITS } from '../../src/core/peer/limits.js'
import type { PeerLimits } from '../../src/core/peer/limits.js'
import {
  DEFAULT_CONSENSUS,
  DEFAULT_HOST,
  DEFAULT_PEER_ID,
  DEFAULT_PORT,
  configFlags,
  defaultChatAddress,
  envName,
  flagName,
  resolveConfig,
} from '../../src/node/config.js'
import { DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS, DEFAULT_MAX_PENDING_CONNECTIONS, DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS } from '../../src/node/connection-limiter.js'

const files = (map: Record<string, unknown>) => (path: string) => {
  const hit = Object.entries(map).find(([name]) => path.endsWith(name))
  if (hit === undefined) throw new Error(`ENOENT: ${path}`)
  return typeof hit[1] === 'string' ? hit[1] : JSON.stringify(hit[1])
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('resolveConfig', () => {
  it('uses the defaults when nothing is given', () => {
    const config = resolveConfig({ argv: [], env: {} })
    expect(config).toEqual({
      id: DEFAULT_PEER_ID,
      host: DEFAULT_HOST,
      port: DEFAULT_PORT,
      address: defaultChatAddress(DEFAULT_HOST, DEFAULT_PORT),
      role: 'validator',
      consensus: DEFAULT_CONSENSUS,
      consensusOptions: {},
      peers: [],
      logLevel: 'info',
      limits: { ...DEFAULT_PEER_LIMITS },
      maxPendingConnections: DEFAULT_MAX_PENDING_CONNECTIONS,
      maxPendingConnectionsPerAddress: DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS,
      maxConnectionsPerSecond: DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS,
      aliases: [],
      ledger: 'level',
      fsync: 'block',
    })
    expect(config.address).toBe(`ws://${DEFAULT_HOST}:${DEFAULT_PORT}/chat`)
  })

  it('takes identity and TLS settings from flags, env and file, paths relative to where they were given', () => {
    const readFile = files({ '/etc/wspeer/peer.json': { membership: 'members.json', aliases: ['ws://peer.example:7051/chat'] } })
    const config = resolveConfig({
      argv: ['--config', '/etc/wspeer/peer.json', '--data-dir', 'keys/vp0', '--tls-cert', 'c.pem', '--tls-key', 'k.pem'],
      env: {},
      readFile,
      cwd: '/home/op',
    })
    expect(config).toMatchObject({
      dataDir: '/home/op/keys/vp0',
      membership: '/etc/wspeer/members.json',
      aliases: ['ws://peer.example:7051/chat'],
      tlsCert: '/home/op/c.pem',
      tlsKey: '/home/op/k.pem',
    })
    // With TLS the default address is wss://.
    expect(config.address).toBe(`wss://${DEFAULT_HOST}:${DEFAULT_PORT}/chat`)
    expect(resolveConfig({ argv: [], env: { WSPEER_MEMBERSHIP: '/m.json' } }).membership).toBe('/m.json')
  })

  it('refuses half a TLS configuration and aliases that are not chat URLs', () => {
    expect(() => resolveConfig({ argv: ['--tls-cert', 'c.pem'], env: {} })).toThrow(/needs both --tls-cert and --tls-key/)
    expect(() => resolveConfig({ argv: ['--aliases', 'http://x/chat'], env: {} })).toThrow(/flag --aliases.*ws:\/\/ or wss:\/\//)
  })

  it('ranks flag > env > file > default, key by key', () => {
    const readFile = files({
      'peer.json': { id: 'file-id', port: 1111, host: '10.0.0.1', consensus: 'file-plugin', limits: { queueMaxMessages: 11, maxPeers: 12 } },
    })
    const env = { WSPEER_PORT: '2222', WSPEER_HOST: '10.0.0.2', WSPEER_QUEUE_MAX_MESSAGES: '22' }
    const argv = ['--config', 'peer.json', '--port', '3333', '--queue-max-messages', '33']
    const config = resolveConfig({ argv, env, readFile, cwd: '/tmp' })
    expect(config.port).toBe(3333) // flag over env and file
    expect(config.host).toBe('10.0.0.2') // env over file
    expect(config.id).toBe('file-id') // file over default
    expect(config.consensus).toBe('file-plugin')
    expect(config.limits.queueMaxMessages).toBe(33)
    expect(config.limits.maxPeers).toBe(12)
    expect(config.limits.queueMaxBytes).toBe(DEFAULT_PEER_LIMITS.queueMaxBytes)
    expect(config.address).toBe('ws://10.0.0.2:3333/chat')
  })

  it('takes the config file from WSPEER_CONFIG, and --config over it', () => {
    const readFile = files({ 'a.json': { id: 'from-a' }, 'b.json': { id: 'from-b' } })
    expect(resolveConfig({ env: { WSPEER_CONFIG: 'a.json' }, readFile }).id).toBe('from-a')
    expect(resolveConfig({ argv: ['--config', 'b.json'], env: { WSPEER_CONFIG: 'a.json' }, readFile }).id).toBe('from-b')
  })

  it('parses peers lists from flags, env and file', () => {
    const readFile = files({ 'c.json': { peers: ['ws://h:1/chat'] } })
    expect(resolveConfig({ argv: ['--config', 'c.json'], readFile }).peers).toEqual(['ws://h:1/chat'])
    expect(resolveConfig({ env: { WSPEER_PEERS: 'ws://a:1/chat, ws://b:2/chat,' } }).peers).toEqual(['ws://a:1/chat', 'ws://b:2/chat'])
    expect(resolveConfig({ argv: ['--peers', 'wss://c/chat'] }).peers).toEqual(['wss://c/chat'])
  })

  it('merges consensusOptions shallowly across layers', () => {
    const readFile = files({ 'o.json': { consensusOptions: { a: 1, b: 1 } } })
    const config = resolveConfig({
      argv: ['--config', 'o.json', '--consensus-options', '{"b":3}'],
      env: { WSPEER_CONSENSUS_OPTIONS: '{"c":2}' },
      readFile,
    })
    expect(config.consensusOptions).toEqual({ a: 1, b: 3, c: 2 })
  })

  it('derives one env variable and one flag per limit', () => {
    const limitKeys = Object.keys(DEFAULT_PEER_LIMITS) as (keyof PeerLimits)[]
    const argv: string[] = []
    const env: Record<string, string> = {}
    limitKeys.forEach((key, i) => {
      if (i % 2 === 0) argv.push(`--${flagName(key)}`, String(i + 100))
      else env[envName(key)] = String(i + 100)
    })
    const config = resolveConfig({ argv, env })
    limitKeys.forEach((key, i) => expect(config.limits[key], key).toBe(i + 100))
    expect(envName('queueMaxMessages')).toBe('WSPEER_QUEUE_MAX_MESSAGES')
    expect(flagName('queueMaxMessages')).toBe('queue-max-messages')
    expect(configFlags().map((f) => f.flag)).toContain('--queue-max-messages')
  })

  it('treats an empty env variable as unset', () => {
    expect(resolveConfig({ env: { WSPEER_PORT: '' } }).port).toBe(DEFAULT_PORT)
  })

  it('uses the explicit address, and brackets IPv6 hosts in the default one', () => {
    expect(resolveConfig({ argv: ['--address', 'wss://peer.example/chat'] }).address).toBe('wss://peer.example/chat')
    expect(resolveConfig({ argv: ['--host', '::1', '--port', '9'] }).address).toBe('ws://[::1]:9/chat')
  })

  it('resolves staticDir against the cwd (flags) or the config file directory (file)', () => {
    expect(resolveConfig({ argv: ['--static-dir', 'web'], cwd: '/srv' }).staticDir).toBe('/srv/web')
    const readFile = files({ 'x.json': { staticDir: 'dist' } })
    expect(resolveConfig({ argv: ['--config', '/etc/wspeer/x.json'], readFile }).staticDir).toBe('/etc/wspeer/dist')
  })

  describe('refuses bad input, naming the source and key', () => {
    it.each([
      [{ argv: ['--port', 'abc'] }, /flag --port.*integer/],
      [{ argv: ['--port', '70000'] }, /flag --port/],
      [{ argv: ['--port', '-1'] }, /flag/],
      [{ argv: ['--port', '1.5'] }, /flag --port/],
      [{ env: { WSPEER_PORT: '0x10' } }, /env WSPEER_PORT/],
      [{ env: { WSPEER_QUEUE_MAX_MESSAGES: '0' } }, /env WSPEER_QUEUE_MAX_MESSAGES.*positive integer/],
      [{ argv: ['--max-frame-bytes', '1e6'] }, /flag --max-frame-bytes/],
      [{ argv: ['--role', 'boss'] }, /flag --role.*validator or non-validator/],
      [{ argv: ['--log-level', 'loud'] }, /flag --log-level/],
      [{ argv: ['--id', 'has space'] }, /flag --id/],
      [{ argv: ['--peers', 'http://x/chat'] }, /flag --peers.*ws:\/\//],
      [{ argv: ['--address', 'not a url'] }, /flag --address/],
      [{ argv: ['--consensus-options', '[1]'] }, /flag --consensus-options.*JSON object/],
      [{ env: { WSPEER_ROLE: 'x' } }, /env WSPEER_ROLE/],
    ])('%j', (sources, message) => {
      expect(configError(() => resolveConfig(sources)).message).toMatch(message)
    })

    it('unknown flags and positional arguments', () => {
      expect(configError(() => resolveConfig({ argv: ['--prot', '1'] })).message).toMatch(/--prot/)
      expect(configError(() => resolveConfig({ argv: ['stray'] })).message).toMatch(/stray/)
      expect(configError(() => resolveConfig({ argv: ['--port'] })).message).toMatch(/--port/)
    })

    it('unknown WSPEER_* variables, but not other variables', () => {
      expect(configError(() => resolveConfig({ env: { WSPEER_PROT: '1' } })).message).toMatch(/env WSPEER_PROT.*unknown/)
      expect(resolveConfig({ env: { PORT: 'x', HOME: '/root' } }).port).toBe(DEFAULT_PORT)
    })

    it('ignores the test harness own WSPEER_E2E_* variables (e2e/README.md)', () => {
      expect(resolveConfig({ env: { WSPEER_E2E_BASE_PORT: '26000', WSPEER_E2E_LOGS: '1' } }).port).toBe(DEFAULT_PORT)
    })

    it('unknown, wrong-typed and bad file keys', () => {
      const cases: [unknown, RegExp][] = [
        [{ prot: 1 }, /config file f\.json key "prot": unknown key/],
        [{ limits: { queueMax: 1 } }, /key "limits\.queueMax": unknown limit/],
        [{ limits: { queueMaxMessages: '5' } }, /key "limits\.queueMaxMessages": must be a positive integer/],
        [{ limits: [] }, /key "limits"/],
        [{ port: '7051' }, /key "port": must be an integer/],
        [{ peers: 'ws://a/chat' }, /key "peers": must be an array/],
        [{ peers: [1] }, /key "peers"/],
        [{ id: 5 }, /key "id": must be a string/],
        [[1, 2], /must hold a JSON object/],
        ['{not json', /not valid JSON/],
      ]
      for (const [content, message] of cases) {
        const readFile = files({ 'f.json': content })
        expect(configError(() => resolveConfig({ argv: ['--config', 'f.json'], readFile })).message).toMatch(message)
      }
    })

    it('a config file that cannot be read', () => {
      expect(configError(() => resolveConfig({ argv: ['--config', 'missing.json'], readFile: files({}) })).message).toMatch(
        /cannot read config file missing\.json/,
      )
    })
  })
})

describe('the config file', () => {
  const examplePath = fileURLToPath(new URL('../../docs/config.example.json', import.meta.url))

  it('docs/config.example.json loads, names every setting, and means what it says', () => {
    const example = JSON.parse(readFileSync(examplePath, 'utf8')) as Record<string, unknown>
    const config = resolveConfig({ argv: ['--config', examplePath], env: {} })
    // Every key a flag sets appears in the example: the top-level ones, every limit, the PBFT validators.
    const named = new Set([...Object.keys(example), ...Object.keys(example['limits'] as object).map((k) => `limits.${k}`)])
    const missing = configFlags()
      .map((f) => f.key)
      .filter((key) => key !== 'config' && !(key.startsWith('consensusOptions.') && key !== 'consensusOptions.validators'))
      .map((key) => (key === 'consensusOptions.validators' ? 'validators' : key))
      .filter((key) => !named.has(key))
    expect(missing).toEqual([])
    expect(config).toMatchObject({ id: 'vp1', port: 7052, consensus: 'pbft', role: 'validator', limits: example['limits'] })
    expect(config.consensusOptions).toEqual({ ...(example['consensusOptions'] as object), validators: example['validators'] })
    // Paths resolve against the file's directory, not the cwd.
    expect(config.membership).toBe(join(dirname(examplePath), '..', 'members.json'))
  })

  it('takes a limit at the top level under the name its flag is made from', () => {
    const readFile = files({ 'peer.json': { queueMaxMessages: 5, limits: { maxPeers: 7 } } })
    const config = resolveConfig({ argv: ['--config', 'peer.json'], env: {}, readFile, cwd: '/tmp' })
    expect(config.limits).toEqual({ ...DEFAULT_PEER_LIMITS, queueMaxMessages: 5, maxPeers: 7 })
  })

  it('refuses a limit set both at the top level and under limits', () => {
    const readFile = files({ 'peer.json': { queueMaxMessages: 5, limits: { queueMaxMessages: 6 } } })
    expect(configError(() => resolveConfig({ argv: ['--config', 'peer.json'], env: {}, readFile, cwd: '/tmp' })).message).toMatch(
      /queueMaxMessages.*set twice/,
    )
  })
})
