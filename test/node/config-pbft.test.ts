import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../src/node/config.js'
import { resolvePbftConfig } from '../../src/core/consensus/pbft/config.js'
import { ConfigError } from '../../src/core/errors.js'

describe('PBFT settings in the node config', () => {
  it('take --validators and --pbft-* flags over WSPEER_PBFT_* variables over the config file', () => {
    const file = JSON.stringify({ validators: ['a', 'b', 'c', 'd'], consensusOptions: { k: 5, batchSize: 7 } })
    const config = resolveConfig({
      argv: ['--consensus', 'pbft', '--config', 'c.json', '--validators', 'vp0,vp1,vp2,vp3', '--pbft-batch-size', '100'],
      env: { WSPEER_PBFT_K: '20', WSPEER_PBFT_BATCH_SIZE: '50', WSPEER_PBFT_REQUEST_TIMEOUT_MS: '3000' },
      readFile: () => file,
    })
    const { config: pbft, unknown } = resolvePbftConfig(config.consensusOptions)
    expect(unknown).toEqual([])
    expect(pbft.validators).toEqual(['vp0', 'vp1', 'vp2', 'vp3'])
    expect(pbft.batchSize).toBe(100)
    expect(pbft.k).toBe(20)
    expect(pbft.requestTimeoutMs).toBe(3000)
  })

  it('the config file alone sets validators and options', () => {
    const config = resolveConfig({ argv: ['--config', 'c.json'], env: {}, readFile: () => JSON.stringify({ consensus: 'pbft', validators: ['x0', 'x1', 'x2', 'x3'] }) })
    expect(resolvePbftConfig(config.consensusOptions).config.validators).toEqual(['x0', 'x1', 'x2', 'x3'])
  })

  it('bad values fail with a ConfigError naming the option', () => {
    const config = resolveConfig({ argv: ['--validators', 'vp0,vp1,vp2,vp3', '--pbft-batch-size', 'lots'], env: {} })
    expect(() => resolvePbftConfig(config.consensusOptions)).toThrow(/batchSize/)
    expect(() => resolveConfig({ argv: ['--validators', ''], env: {} })).toThrow(ConfigError)
  })
})
