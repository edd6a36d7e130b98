/**
 * Case 5: a browser tab peer in Chromium receiving a stream of CONSENSUS envelopes from a Node
 * peer, against a Node peer receiving the same stream, in the same run. Each round runs both
 * variants, in an order that changes from round to round, each with a fresh sender process
 * (bench/peer-worker.ts, closed loop on acks, as in the transport cases) and a fresh receiver:
 *   - `tab`: a page (bench/tab-counter.ts, bundled here with Vite from the working tree into a
 *     temp dir and served over loopback HTTP) running startTabPeer with a counting consenter, in
 *     one Chromium (playwright-core, no test runner), a new browser context per round;
 *   - `node`: a non-validator wspeer peer in its own Node process with the same counting consenter.
 * Both receivers dial the sender, so both read server-to-client (unmasked) frames. The figure is
 * messages delivered to the consenter per second over a window after a warm-up; the ratio is
 * taken within a round, then medianed. With `consecutiveWindows` (--quick) each variant runs once
 * and its rounds are consecutive windows.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { interleave, summarizeRounds, type BenchOptions, type MeasuredResult } from './harness.js'
import { spawnWorker, withWorkers, type Worker } from './processes.js'
import { ACK_EVERY, GENEROUS_LIMITS, PAYLOAD_BYTES, WINDOW } from './transport-case.js'
import type { BenchTab } from './tab-counter.js'
import { CHROMIUM_ARGS, chromiumPath } from '../e2e/chromium.js'

/** How long the page may take to load, link and answer one call. */
const TAB_TIMEOUT_MS = 30_000

type Variant = 'tab' | 'node'
const VARIANTS: Variant[] = ['tab', 'node']

/** Bundles the page module `bench/<name>.ts` (and the browser entry under it) into a fresh temp dir, with an index.html that loads it. */
async function buildPage(name: string): Promise<string> {
  const { build } = await import('vite')
  const dir = await mkdtemp(join(tmpdir(), 'wspeer-bench-tab-'))
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      outDir: dir,
      emptyOutDir: false,
      // BENCH_TAB_PROFILE: readable function names in the profile.
      minify: process.env.BENCH_TAB_PROFILE === undefined,
      lib: { entry: fileURLToPath(new URL(`./${name}.ts`, import.meta.url)), formats: ['es'], fileName: () => `${name}.js` },
    },
  })
  const page = `<!doctype html><meta charset="utf-8"><title>wspeer bench tab</title><script type="module" src="/${name}.js"></script>\n`
  await writeFile(join(dir, 'index.html'), page)
  return dir
}

/**
 * Serves index.html and every script of the build from `dir` on 127.0.0.1 (the bundle has chunks:
 * @noble/curves is loaded lazily); resolves with the page URL.
 */
async function servePage(dir: string): Promise<{ server: Server; url: string }> {
  const files = new Map([['/', { type: 'text/html', body: await readFile(join(dir, 'index.html')) }]])
  for (const name of await readdir(dir, { recursive: true })) {
    if (name.endsWith('.js')) files.set(`/${name.split(sep).join('/')}`, { type: 'text/javascript', body: await readFile(join(dir, name)) })
  }
  const server = createServer((req, res) => {
    const file = files.get((req.url ?? '/').split('?')[0]!)
    if (file === undefined) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('page server has no port')
  return { server, url: `http://127.0.0.1:${address.port}/` }
}

function spawnSender(): Worker {
  return spawnWorker('./peer-worker.ts', 'vp0', {
    id: 'vp0',
    payloadBytes: PAYLOAD_BYTES,
    ackEvery: ACK_EVERY,
    window: WINDOW,
    asyncConsenter: false,
    limits: GENEROUS_LIMITS,
    keepStreams: false,
  })
}

async function listen(sender: Worker): Promise<string> {
  await sender.wait('ready')
  return (await sender.request({ cmd: 'listen' }, 'listening')).url as string
}

export type Browser = Awaited<ReturnType<typeof import('playwright-core')['chromium']['launch']>>
type Context = Awaited<ReturnType<Browser['newContext']>>
type Page = Awaited<ReturnType<Context['newPage']>>

/**
 * Bundles and serves the page module `bench/<name>.ts`, launches Debian's Chromium with the e2e
 * flags, runs `body`, and tears all three down whatever happens.
 */
export async function withBenchBrowser<T>(name: string, body: (browser: Browser, pageUrl: string, executablePath: string) => Promise<T>): Promise<T> {
  const { chromium } = await import('playwright-core')
  const executablePath = chromiumPath()
  const dir = await buildPage(name)
  const { server, url: pageUrl } = await servePage(dir)
  try {
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS })
    try {
      return await body(browser, pageUrl, executablePath)
    } finally {
      await browser.close()
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * A fresh browser context (its own storage) with the page loaded and its module's `global` set;
 * `errors` collects uncaught page errors. The caller closes `context`.
 */
export async function openBenchPage(browser: Browser, pageUrl: string, global: string): Promise<{ context: Context; page: Page; errors: string[] }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.setDefaultTimeout(TAB_TIMEOUT_MS)
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(pageUrl)
  await page.waitForFunction((name) => name in globalThis, global)
  return { context, page, errors }
}

async function runTab(browser: Browser, pageUrl: string, options: BenchOptions, round: number, windows: number): Promise<number[]> {
  const sender = spawnSender()
  return withWorkers([sender], async () => {
    const url = await listen(sender)
    const { context, page, errors } = await openBenchPage(browser, pageUrl, 'benchTab')
    try {
      const id = `tab-bench${round}`
      const tabArgs = { url, id, ackEvery: ACK_EVERY, limits: GENEROUS_LIMITS }
      const peers = await page.evaluate(
        (a) => (globalThis as unknown as { benchTab: BenchTab }).benchTab.start(a.url, { id: a.id, ackEvery: a.ackEvery, limits: a.limits }),
        tabArgs,
      )
      if (!peers.includes('vp0')) throw new Error(`tab linked to ${peers.join(', ') || 'nobody'}, not vp0`)
      await sender.request({ cmd: 'connect', expect: 1 }, 'connected')
      await sender.request({ cmd: 'start', targets: [id] }, 'started')
      const rates: number[] = []
      // BENCH_TAB_PROFILE=<dir>: a CPU profile of the tab over its windows (Chrome DevTools
      // protocol), written as <dir>/tab-<round>.cpuprofile; where the tab's receive time goes.
      const profileDir = process.env.BENCH_TAB_PROFILE
      const cdp = profileDir === undefined ? undefined : await context.newCDPSession(page)
      if (cdp !== undefined) {
        await cdp.send('Profiler.enable')
        await cdp.send('Profiler.setSamplingInterval', { interval: 100 })
      }
      for (let i = 0; i < windows; i++) {
        const span = { warmupMs: i === 0 ? options.warmupMs : 0, durationMs: options.durationMs }
        if (cdp !== undefined && i === 0 && span.warmupMs > 0) {
          await page.evaluate((ms) => new Promise((resolve) => setTimeout(resolve, ms)), span.warmupMs)
          span.warmupMs = 0
        }
        if (cdp !== undefined && i === 0) await cdp.send('Profiler.start')
        const measured = await page.evaluate(
          (w) => (globalThis as unknown as { benchTab: BenchTab }).benchTab.measure(w.warmupMs, w.durationMs),
          span,
        )
        rates.push((measured.count / measured.ms) * 1000)
      }
      if (cdp !== undefined && profileDir !== undefined) {
        const { profile } = await cdp.send('Profiler.stop')
        await writeFile(join(profileDir, `tab-${round}.cpuprofile`), JSON.stringify(profile))
      }
      if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`)
      return rates
    } finally {
      await context.close()
    }
  })
}

async function runNode(options: BenchOptions, windows: number): Promise<number[]> {
  const sender = spawnSender()
  const receiver = spawnWorker('./peer-worker.ts', 'nc', {
    id: 'node-client',
    // Like the tab: a validator in the sender's open-mode network, so its acks (CONSENSUS) are taken.
    role: 'validator',
    payloadBytes: PAYLOAD_BYTES,
    ackEvery: ACK_EVERY,
    window: WINDOW,
    asyncConsenter: false,
    limits: GENEROUS_LIMITS,
    keepStreams: false,
  })
  return withWorkers([sender, receiver], async () => {
    const [url] = await Promise.all([listen(sender), receiver.wait('ready')])
    await receiver.request({ cmd: 'listen' }, 'listening')
    await Promise.all([receiver.request({ cmd: 'dial', urls: [url], expect: 1 }, 'connected'), sender.request({ cmd: 'connect', expect: 1 }, 'connected')])
    await sender.request({ cmd: 'start', targets: ['node-client'] }, 'started')
    const rates: number[] = []
    for (let i = 0; i < windows; i++) {
      const warmupMs = i === 0 ? options.warmupMs : 0
      const m = await receiver.request({ cmd: 'measure', warmupMs, durationMs: options.durationMs }, 'measured', warmupMs + options.durationMs + 30_000)
      rates.push(((m.count as number) / (m.ms as number)) * 1000)
    }
    return rates
  })
}

export function runBrowser(options: BenchOptions): Promise<MeasuredResult> {
  return withBenchBrowser('tab-counter', async (browser, pageUrl, executablePath) => {
    const consecutive = options.consecutiveWindows === true
    const run = (variant: Variant, r: number, windows: number): Promise<number[]> =>
      variant === 'tab' ? runTab(browser, pageUrl, options, r, windows) : runNode(options, windows)
    const perVariant: Record<Variant, number[]> = { tab: [], node: [] }
    if (consecutive) {
      for (const variant of VARIANTS) perVariant[variant] = await run(variant, 0, options.rounds)
    } else {
      for (let r = 0; r < options.rounds; r++) for (const variant of interleave(VARIANTS, r)) perVariant[variant].push(...(await run(variant, r, 1)))
    }
    const rounds: Record<string, number>[] = []
    for (let r = 0; r < options.rounds; r++) {
      const tab = perVariant.tab[r]!
      const node = perVariant.node[r]!
      process.stderr.write(`  round ${r + 1}: tab ${Math.round(tab)}, node ${Math.round(node)} msgs/s\n`)
      rounds.push({ ratio: tab / node, msgs_per_s: tab, node_msgs_per_s: node })
    }
    return {
      status: 'measured',
      figures: summarizeRounds(rounds),
      targets: {},
      notes: {
        browser: `Chromium ${browser.version()} headless (playwright-core), ${executablePath}`,
        ratio: 'tab msgs/s / Node non-validator msgs/s, same sender, per round',
        receivers: 'tab: startTabPeer from the browser entry, bundled by Vite from the working tree; node: a peer process; both dial the sender as validators of its open-mode network (their acks are CONSENSUS) and count in a consenter',
        payload_bytes: PAYLOAD_BYTES,
        pacing: `sender keeps ${WINDOW} messages unacked, receiver's consenter acks every ${ACK_EVERY}`,
        window_ms: options.durationMs,
        warmup_ms: options.warmupMs,
        rounds: consecutive
          ? 'consecutive windows of one sender and one receiver per variant, variants one after another (--quick)'
          : 'fresh sender, receiver (and browser context) per variant and round, variants interleaved',
      },
    } satisfies MeasuredResult
  })
}
