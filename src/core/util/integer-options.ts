/**
 * The one way wspeer checks numeric settings, wherever they come from: PBFT's and noops' consensus
 * options, a peer's limits, and the Node CLI's integer flags, environment variables and config
 * keys. Every such setting is a safe integer within a rule's [min, max]; a value outside it is a
 * ConfigError naming the setting, the rule and the value, never a silent default.
 *
 * Why integers only, and digit strings only on request: every limit and timeout here counts
 * something (bytes, messages, milliseconds), and a string '5' is accepted only where options may
 * arrive as text (consensus options set one by one on the command line).
 *
 *   const { values, unknown } = resolveIntegerOptions('noops option', DEFAULT_NOOPS_OPTIONS, given)
 */
import { ConfigError } from '../errors.js'

export interface IntegerRule {
  min: number
  /** Default Number.MAX_SAFE_INTEGER. */
  max?: number
}

/** Most settings: counts and durations that must be at least 1. */
export const POSITIVE_INTEGER: IntegerRule = Object.freeze({ min: 1 })

/** The rule in words, as every message says it: "a positive integer", "an integer from 0 to 65535", ... */
export function describeIntegerRule(rule: IntegerRule): string {
  const max = rule.max ?? Number.MAX_SAFE_INTEGER
  if (max !== Number.MAX_SAFE_INTEGER) return `an integer from ${rule.min} to ${max}`
  return rule.min === 1 ? 'a positive integer' : `an integer >= ${rule.min}`
}

/** The value as an integer within the rule, or undefined. `digits`: a string of decimal digits counts as its number. */
export function integerWithin(value: unknown, rule: IntegerRule, digits = false): number | undefined {
  const num = digits && typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value
  if (typeof num !== 'number' || !Number.isSafeInteger(num)) return undefined
  return num >= rule.min && num <= (rule.max ?? Number.MAX_SAFE_INTEGER) ? num : undefined
}

/** Shows a refused value in a message, shortened. */
export function showValue(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? typeof value)
  return text.length > 80 ? `${text.slice(0, 80)}...` : text
}

export interface IntegerOptionsSpec<K extends string> {
  /** Rules by key; POSITIVE_INTEGER for keys without one. */
  rules?: Partial<Record<K, IntegerRule>>
  /** Accept strings of decimal digits (default false). */
  digits?: boolean
  /** Keys the caller checks itself: neither unknown nor checked here. */
  skip?: readonly string[]
}

/**
 * `given` merged onto `defaults`, each given key checked against its rule. `what` prefixes the
 * key in messages ("pbft option", "limit"). Keys `defaults` lacks come back in `unknown`, for the
 * caller to refuse or warn about; undefined values keep their default.
 */
export function resolveIntegerOptions<K extends string>(
  what: string,
  defaults: Readonly<Record<K, number>>,
  given: Readonly<Record<string, unknown>>,
  spec: IntegerOptionsSpec<K> = {},
): { values: Record<K, number>; unknown: string[] } {
  const values = { ...defaults } as Record<K, number>
  const unknown: string[] = []
  for (const [key, value] of Object.entries(given)) {
    if (spec.skip?.includes(key) === true) continue
    if (!Object.hasOwn(defaults, key)) {
      unknown.push(key)
      continue
    }
    if (value === undefined) continue
    const rule = spec.rules?.[key as K] ?? POSITIVE_INTEGER
    const num = integerWithin(value, rule, spec.digits)
    if (num === undefined) throw new ConfigError(`${what} ${key} must be ${describeIntegerRule(rule)}, got ${showValue(value)}`)
    values[key as K] = num
  }
  return { values, unknown }
}
