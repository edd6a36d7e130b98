/**
 * Error names must survive minification: callers and logs see `err.name`, and a minifier renames
 * classes (with `this.name = new.target.name` the dashboard bundle said `r`). This builds the
 * browser library entry the way the dashboard is built (Vite, minified) and checks, in the built
 * code itself, that every exported error class still names itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build, type Rollup } from 'vite'
import { afterAll, describe, expect, it } from 'vitest'
import * as errors from '../../src/core/errors.js'

const ENTRY = fileURLToPath(new URL('../../src/core/errors.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'wspeer-errors-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Every class errors.ts exports that makes Errors (constructors accept any arguments here: they only format text). */
const errorClasses = Object.entries(errors).filter(
  ([, value]) => typeof value === 'function' && (value as { prototype?: unknown }).prototype instanceof Error,
)

async function minifiedBuild(): Promise<string> {
  const output = (await build({
    configFile: false,
    logLevel: 'silent',
    build: { write: false, minify: true, lib: { entry: ENTRY, formats: ['es'], fileName: 'errors' } },
  })) as Rollup.RollupOutput[]
  const chunk = output.flat()[0]!.output.find((o): o is Rollup.OutputChunk => o.type === 'chunk')!
  return chunk.code
}

describe('error names in a minified bundle', () => {
  it('keeps each error class name as a literal string, and the built classes report it', async () => {
    expect(errorClasses.length).toBeGreaterThan(20)
    const code = await minifiedBuild()
    // The minifier did rename the classes: otherwise this test would prove nothing.
    expect(code).not.toMatch(/class DecodeError\b/)
    const file = join(dir, 'errors.mjs')
    writeFileSync(file, code)
    const built = (await import(pathToFileURL(file).href)) as Record<string, new (...args: unknown[]) => Error>
    for (const [name] of errorClasses) {
      // Quoted any way a minifier likes (the dashboard bundle writes `DecodeError` in backquotes).
      expect(code, `${name} as a literal in the bundle`).toMatch(new RegExp(`["'\`]${name}["'\`]`))
      const Built = built[name]
      expect(Built, `${name} exported from the bundle`).toBeTypeOf('function')
      expect(new Built!('x', ['y']).name).toBe(name)
    }
  }, 60_000)

  it('gives each source error class its own name', () => {
    for (const [name, Class] of errorClasses) {
      expect(new (Class as new (...args: unknown[]) => Error)('x', ['y']).name).toBe(name)
    }
  })
})
