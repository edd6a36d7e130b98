/**
 * The consenter plugin registry: plugin name -> factory. The peer reads `consensus` from its config
 * and calls `createConsenter(name, stack, options)`. Names are case-insensitive ("NOOPS" is
 * "noops"). An unknown name throws UnknownConsenterError listing the known ones: Fabric silently
 * fell back to noops for any name but "pbft", so a typo ran a network without fault tolerance.
 *
 * Built-in plugins are in `builtinConsenters`, seeded here rather than by import side effects, so
 * importing this module alone is enough. PBFT is there too.
 *
 *   const unregister = registerConsenter('my-plugin', (stack, options) => createMine(stack, options))
 *   const consenter = createConsenter('My-Plugin', stack, {})
 */
import { ConfigError, UnknownConsenterError } from '../errors.js'
import type { Consenter, ConsenterFactory, ConsenterOptions, Stack } from './consenter.js'
import { NOOPS_PLUGIN_NAME, createNoopsConsenter } from './noops/index.js'
import { PBFT_PLUGIN_NAME, createPbftConsenter } from './pbft/index.js'

/** Plugins every peer knows without registering anything. */
export const builtinConsenters: ReadonlyMap<string, ConsenterFactory> = new Map<string, ConsenterFactory>([
  [NOOPS_PLUGIN_NAME, createNoopsConsenter],
  [PBFT_PLUGIN_NAME, createPbftConsenter],
])

const PLUGIN_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/

const factories = new Map<string, ConsenterFactory>(builtinConsenters)

function normalize(name: string): string {
  return typeof name === 'string' ? name.trim().toLowerCase() : ''
}

/**
 * Adds a plugin. Throws ConfigError for a malformed name or one already registered (replacing a
 * plugin silently would hide a mistake). Returns a function that removes this registration.
 */
export function registerConsenter(name: string, factory: ConsenterFactory): () => void {
  const key = normalize(name)
  if (!PLUGIN_NAME.test(key)) {
    throw new ConfigError(`consensus plugin name ${JSON.stringify(name)} must be 1-64 of [a-z0-9._-], starting with a letter or digit`)
  }
  if (typeof factory !== 'function') throw new ConfigError(`consensus plugin ${JSON.stringify(key)} needs a factory function`)
  if (factories.has(key)) throw new ConfigError(`consensus plugin ${JSON.stringify(key)} is already registered`)
  factories.set(key, factory)
  return () => {
    if (factories.get(key) === factory) factories.delete(key)
  }
}

/** Registered plugin names, lower-case, sorted. */
export function consenterNames(): string[] {
  return [...factories.keys()].sort()
}

/** Builds the named plugin's consenter. Throws UnknownConsenterError for a name not registered. */
export function createConsenter(name: string, stack: Stack, options: ConsenterOptions = {}): Consenter {
  const factory = factories.get(normalize(name))
  if (factory === undefined) throw new UnknownConsenterError(String(name), consenterNames())
  return factory(stack, options)
}
