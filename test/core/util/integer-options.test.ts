import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/core/errors.js'
import { POSITIVE_INTEGER, describeIntegerRule, integerWithin, resolveIntegerOptions } from '../../../src/core/util/integer-options.js'

describe('integer options: the one check every numeric setting goes through', () => {
  it('says each rule the same way everywhere', () => {
    expect(describeIntegerRule(POSITIVE_INTEGER)).toBe('a positive integer')
    expect(describeIntegerRule({ min: 0 })).toBe('an integer >= 0')
    expect(describeIntegerRule({ min: 0, max: 65535 })).toBe('an integer from 0 to 65535')
  })

  it('accepts safe integers within the rule, and digit strings only when asked', () => {
    expect(integerWithin(5, POSITIVE_INTEGER)).toBe(5)
    expect(integerWithin(0, POSITIVE_INTEGER)).toBeUndefined()
    expect(integerWithin(1.5, POSITIVE_INTEGER)).toBeUndefined()
    expect(integerWithin(Number.NaN, POSITIVE_INTEGER)).toBeUndefined()
    expect(integerWithin(2 ** 53, POSITIVE_INTEGER)).toBeUndefined()
    expect(integerWithin(65536, { min: 0, max: 65535 })).toBeUndefined()
    expect(integerWithin('7', POSITIVE_INTEGER)).toBeUndefined()
    expect(integerWithin('7', POSITIVE_INTEGER, true)).toBe(7)
    expect(integerWithin('7a', POSITIVE_INTEGER, true)).toBeUndefined()
    expect(integerWithin('-1', { min: 0 }, true)).toBeUndefined()
  })

  it('merges onto the defaults, reports unknown keys, skips what the caller checks, and names the refused setting', () => {
    const defaults = { a: 1, b: 2 }
    expect(resolveIntegerOptions('x option', defaults, { a: 3, b: undefined, c: 1, v: 'skip' }, { skip: ['v'] })).toEqual({ values: { a: 3, b: 2 }, unknown: ['c'] })
    expect(resolveIntegerOptions('x option', defaults, { b: 0 }, { rules: { b: { min: 0 } } }).values.b).toBe(0)
    expect(() => resolveIntegerOptions('x option', defaults, { a: 0 })).toThrow(ConfigError)
    expect(() => resolveIntegerOptions('x option', defaults, { a: '4' })).toThrow('x option a must be a positive integer, got "4"')
    expect(resolveIntegerOptions('x option', defaults, { a: '4' }, { digits: true }).values.a).toBe(4)
  })
})
