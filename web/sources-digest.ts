/**
 * A digest of the dashboard's sources (every file in web/ but this one), recorded beside the
 * README's screenshot (docs/dashboard.sources) when it is taken; a test compares the two so the
 * picture cannot silently fall behind the page. Node only: used by tests, never bundled.
 */
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const WEB_DIR = fileURLToPath(new URL('.', import.meta.url))

export function dashboardSourcesDigest(): string {
  const hash = createHash('sha256')
  for (const name of readdirSync(WEB_DIR).filter((f) => f !== 'sources-digest.ts').sort()) {
    hash.update(`${name}\0`)
    hash.update(readFileSync(WEB_DIR + name, 'utf8').replace(/\r\n/g, '\n'))
    hash.update('\0')
  }
  return hash.digest('hex')
}
