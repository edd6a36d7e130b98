/**
 * The package's declarations as a Node-only TypeScript user meets them: `lib: ["ES2022"]`,
 * `types: ["node"]`, no DOM lib and no skipLibCheck. Emits the declarations of tsconfig.build.json
 * into a temporary package and type-checks a small program importing `wspeer/node` against it.
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

describe('the package types', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wspeer-types-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('type-check for a Node-only user without the DOM lib or skipLibCheck', () => {
    const pkg = join(dir, 'node_modules', 'wspeer')
    mkdirSync(pkg, { recursive: true })
    copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'))
    execFileSync(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist', 'lib'), '--emitDeclarationOnly', '--declarationMap', 'false', '--sourceMap', 'false'])
    // The package's own dependencies (and @types/node), as an install would place them beside it.
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
      if (entry !== '.bin' && entry !== 'wspeer') symlinkSync(join(ROOT, 'node_modules', entry), join(dir, 'node_modules', entry))
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], types: ['node'], strict: true, noEmit: true },
        files: ['app.ts'],
      }),
    )
    writeFileSync(
      join(dir, 'app.ts'),
      [
        "import { startNodePeer, resolveConfig } from 'wspeer/node'",
        "const node = await startNodePeer(resolveConfig({ argv: ['--id', 'vp0', '--port', '0'] }))",
        "node.peer.on('block-committed', ({ block, hash }) => console.log(block.number, hash))",
        'await node.stop()',
        '',
      ].join('\n'),
    )
    let output = ''
    try {
      execFileSync(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' })
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err)
    }
    expect(output).toBe('')
  }, 120_000)
})
