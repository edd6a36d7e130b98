/**
 * Playwright global setup: builds the dashboard (dist/web, which every Node peer serves at `/`)
 * and starts the e2e network (network.ts). Returns the teardown that stops it.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { E2eNetwork } from './network.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

export default async function globalSetup(): Promise<() => Promise<void>> {
  execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/vite/bin/vite.js', import.meta.url)), 'build', '--logLevel', 'warn'], {
    cwd: ROOT,
    stdio: 'inherit',
  })
  const network = new E2eNetwork()
  try {
    await network.start()
  } catch (err) {
    await network.stop()
    throw err
  }
  return () => network.stop()
}
