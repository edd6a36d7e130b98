/**
 * The public API is a deliberate list: src/core/index.ts names the core's exports one by one, the
 * Node and browser entries repeat all of them and add their own, and README.md's "Public API"
 * lists the same names. This reads the three entries with the TypeScript compiler (types
 * included, which a runtime import cannot see) and fails when any of the four disagree.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const ENTRIES = { core: 'src/core/index.ts', node: 'src/node/index.ts', browser: 'src/browser/index.ts' } as const

function exportsOf(): Record<keyof typeof ENTRIES, Set<string>> {
  const config = ts.getParsedCommandLineOfConfigFile(`${root}tsconfig.json`, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })
  if (config === undefined) throw new Error('cannot read tsconfig.json')
  const files = Object.values(ENTRIES).map((f) => `${root}${f}`)
  const program = ts.createProgram(files, { ...config.options, noEmit: true })
  const checker = program.getTypeChecker()
  const names = (file: string): Set<string> => {
    const symbol = checker.getSymbolAtLocation(program.getSourceFile(`${root}${file}`)!)!
    return new Set(checker.getExportsOfModule(symbol).map((s) => s.name))
  }
  return { core: names(ENTRIES.core), node: names(ENTRIES.node), browser: names(ENTRIES.browser) }
}

/** Backquoted names under a README heading, up to the next heading of the same or a higher level. */
function readmeNames(heading: string): Set<string> {
  const text = readFileSync(`${root}README.md`, 'utf8')
  const start = text.indexOf(`\n${heading}\n`)
  if (start < 0) throw new Error(`README.md has no heading ${heading}`)
  const level = heading.split(' ')[0]!
  const rest = text.slice(start + heading.length + 2)
  const end = rest.search(new RegExp(`\\n#{1,${level.length}} `))
  const section = end < 0 ? rest : rest.slice(0, end)
  return new Set([...section.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((m) => m[1]!))
}

const minus = (a: Set<string>, b: Set<string>): string[] => [...a].filter((x) => !b.has(x)).sort()

describe('public API', () => {
  const api = exportsOf()

  it('has no export * in its entries', () => {
    for (const file of Object.values(ENTRIES)) expect(readFileSync(`${root}${file}`, 'utf8'), file).not.toMatch(/export \* from|export type \* from/)
  })

  it('Node and browser entries export every core name', () => {
    expect(api.core.size).toBeGreaterThan(100)
    expect(minus(api.core, api.node)).toEqual([])
    expect(minus(api.core, api.browser)).toEqual([])
  })

  it('is the list README.md documents', () => {
    expect(minus(api.core, readmeNames('### Core'))).toEqual([])
    expect(minus(readmeNames('### Core'), api.core)).toEqual([])
    const nodeOnly = new Set(minus(api.node, api.core))
    expect(minus(nodeOnly, readmeNames('### Node only'))).toEqual([])
    expect(minus(readmeNames('### Node only'), nodeOnly)).toEqual([])
    const browserOnly = new Set(minus(api.browser, api.core))
    expect(minus(browserOnly, readmeNames('### Browser only'))).toEqual([])
    expect(minus(readmeNames('### Browser only'), browserOnly)).toEqual([])
  })
})
