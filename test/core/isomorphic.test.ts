import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * src/core must run unchanged in a browser: web standards only. This walks every core source file
 * and refuses Node built-ins, `ws`, Buffer, process and require, so a slip fails CI instead of a
 * browser build later.
 */
const CORE = fileURLToPath(new URL('../../src/core', import.meta.url))
const NODE_BUILTINS = ['assert', 'buffer', 'child_process', 'crypto', 'events', 'fs', 'http', 'https', 'net', 'os', 'path', 'stream', 'tls', 'url', 'util', 'worker_threads', 'zlib']
const FORBIDDEN: [RegExp, string][] = [
  [/from\s+['"]node:[^'"]+['"]/, 'a node: import'],
  [new RegExp(`from\\s+['"](${NODE_BUILTINS.join('|')})['"]`), 'a Node built-in import'],
  [/from\s+['"](ws|isomorphic-ws|pino)['"]/, 'a Node-only package'],
  [/\bBuffer\b/, 'Buffer'],
  [/\bprocess\./, 'process'],
  [/\brequire\(/, 'require()'],
]

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

describe('src/core is isomorphic', () => {
  it('uses no Node-only module or global', () => {
    const offences: string[] = []
    const files = sources(CORE)
    expect(files.length).toBeGreaterThan(20)
    for (const file of files) {
      const lines = readFileSync(file, 'utf8').split('\n')
      lines.forEach((line, i) => {
        for (const [pattern, what] of FORBIDDEN) if (pattern.test(line)) offences.push(`${relative(CORE, file)}:${i + 1} uses ${what}`)
      })
    }
    expect(offences).toEqual([])
  })
})
