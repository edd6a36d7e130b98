/**
 * Playwright Test for wspeer's browser peer and dashboard (e2e/*.spec.ts), in Debian's Chromium:
 * `CHROMIUM_PATH`, else /usr/bin/chromium. Playwright's own browser download is never used. The
 * flags keep Chromium from reaching out to the network (without them it floods a closed one).
 * The global setup builds the page and starts four real Node peers; one worker, because the
 * tests share that network and some kill a peer.
 */
import { defineConfig } from '@playwright/test'
import { E2E_BASE_PORT } from './e2e/network.js'
import { CHROMIUM_ARGS, chromiumPath } from './e2e/chromium.js'


export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  globalSetup: './e2e/global-setup.ts',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  outputDir: 'test-results/e2e',
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${E2E_BASE_PORT}`,
    viewport: { width: 1280, height: 900 },
    launchOptions: { executablePath: chromiumPath(), args: CHROMIUM_ARGS },
  },
})
