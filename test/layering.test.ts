/**
 * The layering rule, checked on every `npm test` (issue #17): dependencies inside src/ point one
 * way along the data path, and no module imports itself back through others (type-only imports
 * included: a type cycle is where the runtime ones began).
 *
 *   core/util, core/errors.ts
 *     < core/wire
 *     < core/chat, core/identity, core/ledger
 *     < core/consensus
 *     < core/engine
 *     < core/handlers
 *     < core/peer
 *     < core/index.ts
 *     < sim, node, browser   (each its own platform: node and browser never import each other)
 *
 * A layer may import its own layer and any lower one. Type-only imports count too: a type from a
 * higher layer is still knowledge of it, and it is where the upward runtime imports started.
 * The graph comes from the TypeScript parser (every import and re-export with a relative
 * specifier; `.js` resolves to the `.ts` beside it), not from regular expressions.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

/** Rank of each layer; a module may import modules of its rank or lower. Platforms share a rank. */
const RANKS: readonly [prefix: string, rank: number][] = [
  ['core/util/', 0],
  ['core/errors.ts', 0],
  ['core/wire/', 1],
  ['core/chat/', 2],
  ['core/identity/', 2],
  ['core/ledger/', 2],
  ['core/consensus/', 3],
  ['core/engine/', 4],
  ['core/handlers/', 5],
  ['core/peer/', 6],
  ['core/index.ts', 7],
  ['sim/', 8],
  ['node/', 8],
  ['browser/', 8],
]

function rankOf(file: string): number {
  const hit = RANKS.find(([prefix]) => file.startsWith(prefix))
  if (hit === undefined) throw new Error(`${file} is in no layer: add its folder to RANKS in test/layering.test.ts`)
  return hit[1]
}

const platformOf = (file: string): string => file.split('/')[0]!

interface Edge {
  from: string
  to: string
  typeOnly: boolean
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : []
  })
}

function importGraph(): { files: string[]; edges: Edge[]; bare: Map<string, string[]> } {
  const files = sourceFiles(SRC).map((f) => relative(SRC, f))
  const edges: Edge[] = []
  const bare = new Map<string, string[]>()
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(join(SRC, file), 'utf8'), ts.ScriptTarget.Latest, false)
    for (const statement of source.statements) {
      if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement))) continue
      const specifier = statement.moduleSpecifier
      if (specifier === undefined || !ts.isStringLiteral(specifier)) continue
      const text = specifier.text
      if (!text.startsWith('.')) {
        bare.set(file, [...(bare.get(file) ?? []), text])
        continue
      }
      const typeOnly = ts.isImportDeclaration(statement) ? statement.importClause?.isTypeOnly === true : statement.isTypeOnly
      const to = relative(SRC, resolve(dirname(join(SRC, file)), text.replace(/\.js$/, '.ts')))
      edges.push({ from: file, to, typeOnly })
    }
  }
  return { files, edges, bare }
}

/** Every import cycle (type-only imports included), as a path of files, found by depth-first search. */
function importCycles(files: readonly string[], edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]))
  for (const e of edges) next.get(e.from)?.push(e.to)
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const cycles: string[][] = []
  const visit = (file: string): void => {
    state.set(file, 'open')
    stack.push(file)
    for (const to of next.get(file) ?? []) {
      if (state.get(to) === 'open') cycles.push([...stack.slice(stack.indexOf(to)), to])
      else if (state.get(to) === undefined) visit(to)
    }
    stack.pop()
    state.set(file, 'done')
  }
  for (const file of files) if (state.get(file) === undefined) visit(file)
  return cycles
}

const graph = importGraph()

describe('layering (src/)', () => {
  it('finds every source file and its imports', () => {
    expect(graph.files.length).toBeGreaterThan(50)
    expect(graph.edges.length).toBeGreaterThan(200)
    for (const e of graph.edges) expect(graph.files, `${e.from} imports ${e.to}, which does not exist`).toContain(e.to)
  })

  it('imports only along the data path: never a higher layer, never another platform', () => {
    const upward = graph.edges
      .filter((e) => rankOf(e.to) > rankOf(e.from) || (rankOf(e.from) === 8 && platformOf(e.from) !== platformOf(e.to) && rankOf(e.to) === 8))
      .map((e) => `${e.from} -> ${e.to}${e.typeOnly ? ' (type)' : ''}`)
    expect(upward).toEqual([])
  })

  it('keeps the core off Node: no node: modules and no Node built-ins by bare name', () => {
    const builtins = new Set(['fs', 'path', 'os', 'net', 'http', 'https', 'crypto', 'events', 'buffer', 'stream', 'util', 'url', 'child_process', 'worker_threads', 'zlib'])
    const offending = [...graph.bare]
      .filter(([file]) => file.startsWith('core/'))
      .flatMap(([file, specs]) => specs.filter((s) => s.startsWith('node:') || builtins.has(s)).map((s) => `${file} -> ${s}`))
    expect(offending).toEqual([])
  })

  it('has no import cycle, type-only imports included', () => {
    expect(importCycles(graph.files, graph.edges).map((c) => c.join(' -> '))).toEqual([])
  })
})
