import { describe, expect, it } from 'vitest'
import type { Consenter, Stack } from '../../../src/core/consensus/consenter.js'
import { consenterNames, createConsenter, registerConsenter } from '../../../src/core/consensus/registry.js'
import { DEFAULT_NOOPS_BLOCK_SIZE, NOOPS_PLUGIN_NAME } from '../../../src/core/consensus/noops/index.js'
import { ConfigError, UnknownConsenterError } from '../../../src/core/errors.js'
import { FakeNetwork } from '../../support/fake-network.js'

const stack = (): Stack => new FakeNetwork().addPeer('vp0')

const dummy = (name: string) => (_stack: Stack, options: Record<string, unknown>): Consenter => ({
  name,
  start() {},
  stop() {},
  recvMsg() {},
  status: () => ({ options }),
})

describe('consenter registry', () => {
  it('knows noops by default, in any case', () => {
    expect(consenterNames()).toContain(NOOPS_PLUGIN_NAME)
    for (const name of ['noops', 'NOOPS', 'NoOps', ' noops ']) {
      const consenter = createConsenter(name, stack(), {})
      expect(consenter.name).toBe('noops')
    }
  })

  it('passes options to the factory', () => {
    const consenter = createConsenter('noops', stack(), { blockSize: 7 })
    expect(consenter.name).toBe('noops')
    expect(() => createConsenter('noops', stack(), { blockSize: 0 })).toThrow(ConfigError)
    expect(DEFAULT_NOOPS_BLOCK_SIZE).toBe(500)
  })

  it('throws UnknownConsenterError listing the known plugins, never falling back', () => {
    let caught: unknown
    try {
      createConsenter('pbftt', stack(), {})
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(UnknownConsenterError)
    expect((caught as UnknownConsenterError).code).toBe('ERR_UNKNOWN_CONSENTER')
    expect((caught as Error).message).toContain('"pbftt"')
    expect((caught as Error).message).toContain(consenterNames().join(', '))
  })

  it('registers plugins case-insensitively and unregisters them', () => {
    const off = registerConsenter('Test-Plugin', dummy('test-plugin'))
    try {
      expect(consenterNames()).toContain('test-plugin')
      expect(createConsenter('TEST-PLUGIN', stack(), { a: 1 }).status?.()).toEqual({ options: { a: 1 } })
      expect(() => registerConsenter('test-PLUGIN', dummy('again'))).toThrow(ConfigError)
    } finally {
      off()
    }
    expect(consenterNames()).not.toContain('test-plugin')
    expect(() => createConsenter('test-plugin', stack(), {})).toThrow(UnknownConsenterError)
  })

  it('refuses malformed names', () => {
    for (const name of ['', '  ', '-x', 'a b', 'x'.repeat(65), 'ünï']) {
      expect(() => registerConsenter(name, dummy(name))).toThrow(ConfigError)
    }
  })
})
