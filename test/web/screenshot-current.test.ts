import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { dashboardSourcesDigest } from '../../web/sources-digest.js'

describe('the README screenshot', () => {
  it('was taken of the current dashboard (else: UPDATE_DOCS_SCREENSHOT=1 npx playwright test e2e/dashboard.spec.ts -g screenshot)', () => {
    const recorded = readFileSync(new URL('../../docs/dashboard.sources', import.meta.url), 'utf8').trim()
    expect(recorded).toBe(dashboardSourcesDigest())
  })
})
