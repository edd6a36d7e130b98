import { describe, expect, it } from 'vitest'
import {
  DEFAULT_PBFT_BATCH_SIZE,
  DEFAULT_PBFT_BATCH_TIMEOUT_MS,
  DEFAULT_PBFT_K,
  DEFAULT_PBFT_LOG_MULTIPLIER,
  DEFAULT_PBFT_NULL_REQUEST_MS,
  DEFAULT_PBFT_REQUEST_TIMEOUT_MS,
  DEFAULT_PBFT_RESEND_VIEW_CHANGE_MS,
  DEFAULT_PBFT_VIEW_CHANGE_TIMEOUT_MS,
  logSize,
  resolvePbftConfig,
} from '../../../../src/core/consensus/pbft/config.js'
import { ConfigError } from '../../../../src/core/errors.js'

const validators = ['vp0', 'vp1', 'vp2', 'vp3']

describe('resolvePbftConfig', () => {
  it('uses the Fabric v0.6 defaults', () => {
    expect([
      DEFAULT_PBFT_K,
      DEFAULT_PBFT_LOG_MULTIPLIER,
      DEFAULT_PBFT_BATCH_SIZE,
      DEFAULT_PBFT_BATCH_TIMEOUT_MS,
      DEFAULT_PBFT_REQUEST_TIMEOUT_MS,
      DEFAULT_PBFT_VIEW_CHANGE_TIMEOUT_MS,
      DEFAULT_PBFT_RESEND_VIEW_CHANGE_MS,
      DEFAULT_PBFT_NULL_REQUEST_MS,
    ]).toEqual([10, 4, 500, 1000, 2000, 2000, 2000, 0])
    const { config, unknown } = resolvePbftConfig({ validators })
    expect(unknown).toEqual([])
    expect(config).toMatchObject({ n: 4, f: 1, k: 10, logMultiplier: 4, batchSize: 500, batchTimeoutMs: 1000, requestTimeoutMs: 2000 })
    expect(logSize(config)).toBe(40)
  })

  it('takes replica indices from the validators list, in order, also as a comma-separated string', () => {
    expect(resolvePbftConfig({ validators: 'b, a ,c,d' }).config.validators).toEqual(['b', 'a', 'c', 'd'])
    expect(resolvePbftConfig({ validators: ['x', 'y', 'z', 'w', 'v', 'u', 't'] }).config.f).toBe(2)
  })

  it('refuses a missing or duplicated validator list and N < 3f + 1', () => {
    expect(() => resolvePbftConfig({})).toThrow(ConfigError)
    expect(() => resolvePbftConfig({ validators: ['vp0', 'vp0', 'vp1', 'vp2'] })).toThrow(/twice/)
    expect(() => resolvePbftConfig({ validators, f: 2 })).toThrow(/3f \+ 1/)
  })

  it('refuses bad numbers, accepts numeric strings (environment variables), reports unknown keys', () => {
    expect(() => resolvePbftConfig({ validators, batchSize: 0 })).toThrow(/batchSize/)
    expect(() => resolvePbftConfig({ validators, k: 1.5 })).toThrow(/k must/)
    const { config, unknown } = resolvePbftConfig({ validators, batchSize: '100', bogus: 1 })
    expect(config.batchSize).toBe(100)
    expect(unknown).toEqual(['bogus'])
  })

  it('keeps batchMaxBytes between the largest transaction and the largest block a sync answer carries', () => {
    expect(resolvePbftConfig({ validators }).config.batchMaxBytes).toBe(512 * 1024)
    expect(resolvePbftConfig({ validators, batchMaxBytes: 300_000 }).config.batchMaxBytes).toBe(300_000)
    expect(() => resolvePbftConfig({ validators, batchMaxBytes: 100_000 })).toThrow(/batchMaxBytes must be between 263168/)
    expect(() => resolvePbftConfig({ validators, batchMaxBytes: 600_000 })).toThrow(ConfigError)
  })

  it('forces the request timeout above the batch timeout, as Fabric did', () => {
    const { config } = resolvePbftConfig({ validators, batchTimeoutMs: 3000, requestTimeoutMs: 2000 })
    expect(config.requestTimeoutMs).toBeGreaterThan(3000)
  })
})

describe('null requests', () => {
  it('are off by default and take a period in ms, also as a string (flag or environment variable)', () => {
    expect(resolvePbftConfig({ validators }).config.nullRequestMs).toBe(DEFAULT_PBFT_NULL_REQUEST_MS)
    expect(DEFAULT_PBFT_NULL_REQUEST_MS).toBe(0)
    expect(resolvePbftConfig({ validators, nullRequestMs: 500 }).config.nullRequestMs).toBe(500)
    expect(resolvePbftConfig({ validators, nullRequestMs: '750' }).config.nullRequestMs).toBe(750)
    expect(() => resolvePbftConfig({ validators, nullRequestMs: -1 })).toThrow(ConfigError)
    expect(() => resolvePbftConfig({ validators, nullRequestMs: 1.5 })).toThrow(ConfigError)
  })
})
