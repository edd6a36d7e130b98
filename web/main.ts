/**
 * The dashboard: starts a wspeer peer in this tab (src/browser/tab-peer.ts), exposes it as
 * `window.peer`, and redraws the panels once a second from the tab peer's own view plus the Node
 * peers' GET /status (node-status.ts). The peer's events (links, blocks, refusals) enter the logs
 * as they happen; forms leave as `peer.submit` and `tab.flood` calls.
 *
 * `?connect=ws://host:port/chat` picks the first Node peer to dial; the default is the peer that
 * served this page.
 */
import { startTabPeer, membershipFromAnswer, type Membership, type Peer, type PeerStatus, type MetricsSnapshot, type TabPeer, type TabLedgerStorage } from '../src/browser/index.js'
import { createTimeChart, rate } from './charts.js'
import { renderGraph, type GraphLink, type GraphNode } from './graph.js'
import { createNodeWatcher, fetchOriginFanProcessed, httpBaseOf } from './node-status.js'
import { floodBurst, floodOutcomeText, type FloodOutcome } from './flood.js'

/** Redraw period (1 s). */
export const TICK_MS = 1000
/** Entries kept in each log panel (60). */
export const MAX_LOG_ITEMS = 60
/** A block applied more than this after its timestamp (5 s) is catch-up, left out of the commit latency. */
export const LIVE_BLOCK_MS = 5000
/** A Node peer's /status older than this is not shown as current (5 s). */
export const STALE_STATUS_MS = 5000

/** What the page exposes as `window.peer`, for tests and the console. */
export interface WindowPeer {
  readonly id: string
  status(): PeerStatus
  submit(payload: string): Promise<{ txid: string }>
  metrics(): MetricsSnapshot
  flood(peerId: string, count: number): { sent: number; firstTxid: string }
  refusalCounts(): Record<string, number>
  kickRedial(): number
  /** Where the tab's chain lives (IndexedDB or memory), blocks loaded at start, and why a stored chain was discarded. */
  storage(): TabLedgerStorage
  readonly core: Peer
}

declare global {
  interface Window {
    peer?: WindowPeer
    peerError?: string
  }
}

const $ = <T extends Element = HTMLElement>(selector: string): T => document.querySelector<T>(selector)!

function defaultConnect(): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/chat`
}

/**
 * The consenter the network runs, read from the first peer's /status, so the tab's own consenter
 * (a non-validator: it only forwards transactions) speaks the same protocol. PBFT also needs the
 * validator IDs to forward to; their order does not matter to a non-validator.
 */
async function networkConsensus(connect: string): Promise<{ consensus?: string; consensusOptions?: Record<string, unknown> }> {
  const base = httpBaseOf(connect)
  if (base === undefined) return {}
  try {
    const res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(3000) })
    const st = (await res.json()) as PeerStatus
    const validators = [...(st.role === 'validator' ? [st.id] : []), ...st.peers.filter((p) => p.role === 'validator').map((p) => p.id)]
    if (st.consensus.plugin === 'pbft') return { consensus: 'pbft', consensusOptions: { validators: validators.sort() } }
    return { consensus: st.consensus.plugin }
  } catch {
    // Unreachable for now: start with the default and let the core's redials find the network.
    return {}
  }
}

/**
 * The membership the tab checks blocks against, from the peer that served this page (and so its
 * code): not from `?connect=`, which may name any peer. A peer in open mode answers
 * {"mode":"open"}; a page served by something else (the Vite dev server) falls back to asking the
 * peer the tab dials first.
 */
async function pageMembership(): Promise<Membership | 'fetch' | 'none'> {
  try {
    const res = await fetch(new URL('/membership', location.href), { signal: AbortSignal.timeout(3000) })
    if (!res.ok) return 'fetch'
    return membershipFromAnswer(await res.json(), 'this page\'s /membership') ?? 'none'
  } catch {
    return 'fetch'
  }
}

/**
 * One line of consensus state for the Chains table: PBFT's view, primary, last executed sequence
 * number and low watermark (the last stable checkpoint); noops' leader.
 */
function describeConsensus(c: Record<string, unknown>): string {
  if (c['plugin'] === 'pbft') {
    if (c['replica'] === null) return 'pbft · not a replica: forwards, follows'
    return `view ${field(c['view'])} · primary ${field(c['primaryId'])} · seq ${field(c['lastExec'])} · checkpoint ${field(c['h'])}`
  }
  return typeof c['leader'] === 'string' ? `leader ${c['leader']}` : field(c['plugin'], '')
}

/** A status field as text: numbers and strings as they are, anything else (missing, an object) as the fallback. */
function field(value: unknown, fallback = '?'): string {
  return typeof value === 'number' || typeof value === 'string' ? String(value) : fallback
}

function short(hash: string): string {
  return hash.length > 16 ? `${hash.slice(0, 8)}…${hash.slice(-6)}` : hash
}

function clock(at = Date.now()): string {
  return new Date(at).toLocaleTimeString([], { hour12: false })
}

function td(text: string | number, className = ''): HTMLTableCellElement {
  const cell = document.createElement('td')
  cell.textContent = String(text)
  if (className !== '') cell.className = className
  return cell
}

function logTo(list: HTMLOListElement, text: string, kind: string, attrs: Record<string, string> = {}): void {
  const li = document.createElement('li')
  li.className = kind
  for (const [k, v] of Object.entries(attrs)) li.setAttribute(k, v)
  const time = document.createElement('time')
  time.textContent = clock()
  const body = document.createElement('span')
  body.textContent = text
  li.append(time, body)
  list.prepend(li)
  while (list.children.length > MAX_LOG_ITEMS) list.lastElementChild!.remove()
}

function setBadge(state: string, text: string): void {
  const badge = $('#conn-state')
  badge.dataset['state'] = state
  badge.textContent = text
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search)
  const connect = params.get('connect') ?? defaultConnect()
  // ?maxLinks=N: more (or fewer) links than TAB_MAX_LINKS, e.g. for tests that watch every Node peer's link to the tab.
  const maxLinks = Number(params.get('maxLinks') ?? NaN)
  const connectInput = $<HTMLInputElement>('#connect-url')
  connectInput.value = connect
  $('#connect-form').addEventListener('submit', (event) => {
    event.preventDefault()
    const url = new URL(location.href)
    url.searchParams.set('connect', connectInput.value.trim())
    location.assign(url.toString())
  })

  const events = $<HTMLOListElement>('#events')
  let tab: TabPeer
  try {
    tab = await startTabPeer({ connect, membership: await pageMembership(), ...(await networkConsensus(connect)), ...(Number.isSafeInteger(maxLinks) && maxLinks > 0 ? { limits: { maxPeers: maxLinks } } : {}) })
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    window.peerError = message
    setBadge('error', 'not started')
    logTo(events, `could not start the tab peer: ${message}`, 'bad', { 'data-code': 'ERR_START' })
    return
  }
  const peer = tab.peer
  window.peer = {
    id: peer.id,
    status: () => peer.status(),
    submit: (payload) => peer.submit(payload),
    metrics: () => peer.metrics(),
    flood: (peerId, count) => tab.flood(peerId, count),
    refusalCounts: () => tab.refusalCounts(),
    kickRedial: () => tab.kickRedial(),
    storage: () => tab.storage,
    core: peer,
  }
  $('#self-id').textContent = peer.id
  document.title = `wspeer · ${peer.id}`

  // Every Node peer this tab has heard of, by ID (the graph keeps showing the gone ones).
  const seen = new Map<string, { address: string; role: PeerStatus['role'] }>()

  // ---- events into the logs ----
  const blocks = $<HTMLOListElement>('#blocks')
  const pendingTx = new Map<string, string>()
  // Flood transactions of this tab seen committed, over its life (the outcome line counts from a burst's start).
  let floodCommitted = 0
  // Submit-to-applied times (ms) of the transactions in blocks this tab applied since the last tick.
  let latencies: number[] = []
  const storage = tab.storage
  if (storage.discarded !== undefined) logTo(events, `stored chain discarded: ${storage.discarded}`, 'bad', { 'data-code': 'CHAIN_DISCARDED' })
  if (storage.kind === 'memory') logTo(events, `chain kept in memory: ${storage.reason ?? ''}`, 'warn', { 'data-code': 'CHAIN_IN_MEMORY' })
  else if (storage.loadedBlocks > 0) logTo(events, `chain loaded from IndexedDB: height ${peer.status().chain.height}`, 'good', { 'data-code': 'CHAIN_LOADED' })
  peer.on('peer-connected', (p) => logTo(events, `linked to ${p.id} (${p.role})`, 'good', { 'data-code': 'LINK_UP', 'data-peer': p.id }))
  peer.on('peer-disconnected', (p) =>
    logTo(events, `lost ${p.id}: close ${p.code}${p.reason === '' ? '' : ` (${p.reason})`}; redialing`, 'warn', { 'data-code': 'LINK_DOWN', 'data-peer': p.id }),
  )
  tab.onLinkEnd((end) => {
    if (!end.error && (end.code === 1000 || end.code === 4001)) return
    const who = [...seen].find(([, p]) => p.address === end.address)?.[0] ?? end.address
    logTo(events, `link to ${who} closed ${end.code} by ${end.local ? 'this tab' : 'the remote'}${end.reason === '' ? '' : `: ${end.reason}`}`, end.error ? 'bad' : 'warn', {
      'data-code': 'LINK_END',
      'data-peer': who,
      'data-close': String(end.code),
    })
  })
  peer.on('message-rejected', (r) =>
    logTo(events, `refused ${r.type} from ${r.peer}: ${r.code} ${r.message}`, 'bad', { 'data-code': r.code, 'data-peer': r.peer }),
  )
  peer.on('error', ({ error, context }) => logTo(events, `${context}: ${error.message}`, 'bad', { 'data-code': 'ERROR' }))
  peer.on('block-committed', ({ block, hash }) => {
    logTo(blocks, `#${block.number} · ${block.transactions.length} tx · ${short(hash)} · by ${block.proposer}`, 'block', {
      'data-number': String(block.number),
      'data-hash': hash,
    })
    const appliedAt = Date.now()
    // A block applied long after it was cut is catch-up (a new tab syncing history), not a commit.
    const live = appliedAt - block.timestamp < LIVE_BLOCK_MS
    for (const tx of block.transactions) {
      if (live && tx.timestamp > 0) latencies.push(Math.max(0, appliedAt - tx.timestamp))
      if (tx.origin === peer.id && tx.payload.startsWith('flood/')) floodCommitted++
      const label = pendingTx.get(tx.txid)
      if (label === undefined) continue
      pendingTx.delete(tx.txid)
      $('#tx-result').textContent = `${label} committed in block #${block.number}`
      $('#tx-result').dataset['state'] = 'committed'
    }
  })

  // ---- forms ----
  $('#tx-form').addEventListener('submit', (event) => {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const input = form.elements.namedItem('payload') as HTMLInputElement
    const out = $('#tx-result')
    peer.submit(input.value).then(
      ({ txid }) => {
        pendingTx.set(txid, `tx ${txid.slice(0, 10)}…`)
        out.textContent = `tx ${txid.slice(0, 10)}… queued; waiting for a block`
        out.dataset['state'] = 'queued'
        form.reset()
      },
      (err: unknown) => {
        out.textContent = `refused: ${err instanceof Error ? err.message : String(err)}`
        out.dataset['state'] = 'error'
      },
    )
  })
  const floodTarget = $<HTMLSelectElement>('#flood-form select')
  const floodCount = $<HTMLInputElement>('#flood-form input[name=count]')
  // The burst is sized from the target's queue bound until the user types a count of their own.
  let floodCountEdited = false
  floodCount.addEventListener('input', () => void (floodCountEdited = true))
  let lastFlood: (FloodOutcome & { refusedBefore: number; committedBefore: number }) | undefined
  const queueFullFrom = (id: string): number => tab.refusalCounts()[`${id} ERR_QUEUE_FULL`] ?? 0
  /** The target's queue bound per link, from its /status (read by the watcher), when known. */
  const boundOf = (id: string): number | undefined => {
    for (const v of watcher.views.values()) if (v.kind === 'ok' && v.status.id === id) return v.status.queueLimits?.maxMessages
    return undefined
  }
  $('#flood-form').addEventListener('submit', (event) => {
    event.preventDefault()
    const count = Number(floodCount.value)
    const out = $('#flood-result')
    const target = floodTarget.value
    try {
      const refusedBefore = queueFullFrom(target)
      const { sent } = tab.flood(target, count)
      lastFlood = { target, sent, bound: boundOf(target), refused: 0, committed: 0, refusedBefore, committedBefore: floodCommitted }
      out.textContent = `sent ${sent} transactions to ${target} in one burst`
      out.dataset['state'] = 'sent'
    } catch (err) {
      out.textContent = `flood failed: ${err instanceof Error ? err.message : String(err)}`
      out.dataset['state'] = 'error'
    }
  })

  // ---- the tick: views, then every panel ----
  const watcher = createNodeWatcher(location.origin)
  const fanChart = createTimeChart($('#chart-fan'), [
    { label: 'this tab', color: '#7dd3fc' },
    { label: 'serving peer', color: '#fbbf24' },
  ])
  const TYPES = ['CONSENSUS', 'SYNC_BLOCK_ADDED', 'SYNC_BLOCKS', 'DISC_PEERS', 'RESPONSE', 'KEEPALIVE_PING', 'KEEPALIVE_PONG']
  const COLORS = ['#fbbf24', '#34d399', '#a78bfa', '#7dd3fc', '#f87171', '#94a3b8', '#64748b']
  const typeChart = createTimeChart($('#chart-types'), [...TYPES.map((label, i) => ({ label, color: COLORS[i]! })), { label: 'other', color: '#e5e7eb' }])
  const commitChart = createTimeChart($('#chart-commits'), [{ label: 'committed tx/s', color: '#34d399' }])
  const latencyChart = createTimeChart($('#chart-latency'), [
    { label: 'p50 ms', color: '#7dd3fc', sparse: true },
    { label: 'p90 ms', color: '#fbbf24', sparse: true },
  ])
  // When each Node peer was last at the top height: a follower's lag in time, beside its lag in blocks.
  const lastAtTop = new Map<string, number>()
  const netMode = $<HTMLSpanElement>('#net-mode')
  const selfLag = $<HTMLSpanElement>('#self-lag')
  const selfProof = $<HTMLSpanElement>('#self-proof')
  $<HTMLElement>('#self-id').title = `key id ${peer.status().identity.keyId}${tab.persistentKey ? '' : ' (in-memory key: this origin has no IndexedDB or WebCrypto Ed25519)'}`
  let lastMetrics = peer.metrics()
  let lastOriginFan: number | undefined
  let lastOriginFanAt = Date.now()
  let lastTick = Date.now()
  let lastRefusals = 0
  let everLinked = false
  let maxDepth = 10

  const tick = async (): Promise<void> => {
    const now = Date.now()
    const st = peer.status()
    const linked = st.peers.filter((p) => p.address !== '')
    for (const p of linked) seen.set(p.id, { address: p.address, role: p.role })
    const bases = [location.origin, ...[...seen.values()].map((p) => httpBaseOf(p.address)).filter((b): b is string => b !== undefined)]
    watcher.refresh(bases).catch((err: unknown) => console.error('[dashboard] status refresh failed', err))
    const fresh = [...watcher.views.values()].flatMap((v) => (v.kind === 'ok' && now - v.at < STALE_STATUS_MS ? [v.status] : []))
    for (const s of fresh) {
      if (s.address !== '' && !seen.has(s.id)) seen.set(s.id, { address: s.address, role: s.role })
      for (const p of s.peers) if (p.address !== '' && !seen.has(p.id)) seen.set(p.id, { address: p.address, role: p.role })
    }
    const up = new Set(st.peers.map((p) => p.id))

    // badge
    if (linked.length > 0) everLinked = true
    if (linked.length > 0) setBadge('online', `${linked.length} link${linked.length === 1 ? '' : 's'}`)
    else setBadge(everLinked ? 'offline' : 'connecting', everLinked ? 'offline, redialing' : 'connecting')
    // The tab's own lag, as its links tell it (status().lag): a slow tab has announcements skipped
    // and pages the gap, so this is where a user sees it fall behind and catch up.
    selfLag.dataset['state'] = st.lag.blocks === 0 ? 'online' : 'connecting'
    selfLag.dataset['lag'] = String(st.lag.blocks)
    selfLag.textContent =
      st.lag.blocks === 0
        ? `in step at ${st.chain.height}`
        : `−${st.lag.blocks} block${st.lag.blocks === 1 ? '' : 's'}${st.lag.ms === null ? '' : ` · ${(st.lag.ms / 1000).toFixed(1)} s`}`
    // What the tab verified (status().follower): the signers of its latest proof, and what it refused.
    const follower = st.follower
    const refused = follower === undefined ? 0 : follower.refusedSignatures + follower.refusedBlocks
    selfProof.dataset['state'] = follower?.verifying !== true ? 'error' : refused > 0 ? 'connecting' : 'online'
    selfProof.textContent =
      follower?.verifying !== true
        ? 'blocks unverified'
        : `${follower.proof === undefined ? 'no proof yet' : `#${follower.proof.number} signed by ${follower.proof.signers.join(', ')}`}${refused > 0 ? ` · ${refused} refused` : ''}`
    // Open development mode anywhere in the network is worth shouting about (SECURITY.md).
    const identities = fresh.map((s) => s.identity).filter((i) => i !== undefined)
    if (identities.length > 0) {
      const open = identities.some((i) => i.mode === 'open')
      netMode.dataset['state'] = open ? 'error' : 'online'
      netMode.textContent = open ? 'OPEN DEV MODE' : `closed, ${Math.max(...identities.map((i) => i.members))} members`
    }

    // graph
    // noops names a leader, PBFT a primary; either is drawn the same way.
    const leaderOf = (c: Record<string, unknown>): unknown => c['leader'] ?? c['primaryId']
    const fromServing = fresh.map((s) => leaderOf(s.consensus)).find((l) => typeof l === 'string')
    const leader = typeof fromServing === 'string' ? fromServing : typeof leaderOf(st.consensus) === 'string' ? (leaderOf(st.consensus) as string) : undefined
    const nodes: GraphNode[] = [{ id: st.id, kind: 'self', role: st.role, state: 'up' }]
    for (const [id, p] of seen) nodes.push({ id, kind: 'node', role: p.role, state: up.has(id) ? 'up' : 'gone', leader: id === leader })
    const links = new Map<string, GraphLink>()
    const addLink = (a: string, b: string): void => void links.set(a < b ? `${a}|${b}` : `${b}|${a}`, { a, b })
    for (const p of linked) addLink(st.id, p.id)
    for (const s of fresh) {
      for (const p of s.peers) {
        if (p.id === st.id) continue
        if (p.address === '' && !nodes.some((n) => n.id === p.id)) nodes.push({ id: p.id, kind: 'tab', role: p.role, state: 'up' })
        addLink(s.id, p.id)
      }
    }
    renderGraph($<SVGSVGElement>('#graph'), nodes, [...links.values()])

    // chains
    const rows: { id: string; role: string; height?: number; head?: string; note?: string; consensus?: string }[] = [
      { id: `${st.id} (you)`, role: st.role, height: st.chain.height, head: st.chain.headHash, consensus: describeConsensus(st.consensus) },
    ]
    const byId = new Map(fresh.map((s) => [s.id, s]))
    for (const [id, p] of [...seen].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const s = byId.get(id)
      const base = httpBaseOf(p.address)
      const view = base === undefined ? undefined : watcher.views.get(base)
      if (s !== undefined) rows.push({ id, role: s.role, height: s.chain.height, head: s.chain.headHash, consensus: describeConsensus(s.consensus) })
      else rows.push({ id, role: p.role, note: !up.has(id) ? 'gone' : view?.kind === 'unreachable' ? view.error : 'fetching…' })
    }
    const known = rows.filter((r) => r.height !== undefined)
    const top = Math.max(...known.map((r) => r.height!))
    const topHashes = new Set(known.filter((r) => r.height === top).map((r) => r.head))
    const agreeTxt = topHashes.size > 1 ? `fork at height ${top}` : `${known.filter((r) => r.height === top).length} of ${known.length} at height ${top}`
    $('#agreement').textContent = agreeTxt
    $('#agreement').dataset['state'] = topHashes.size > 1 ? 'fork' : 'ok'
    $('#chain tbody').replaceChildren(
      ...rows.map((r) => {
        const tr = document.createElement('tr')
        tr.dataset['peer'] = r.id.replace(' (you)', '')
        if (r.height === undefined) {
          tr.append(td(r.id), td(r.role, 'role'), td('-', 'num'), td(r.note ?? '', 'muted'), td(''), td(''))
          tr.dataset['state'] = r.note === 'gone' ? 'gone' : 'unknown'
          return tr
        }
        const state = r.height < top ? 'behind' : topHashes.size > 1 ? 'fork' : 'agrees'
        tr.dataset['state'] = state
        if (r.height >= top || !lastAtTop.has(r.id)) lastAtTop.set(r.id, now)
        const lagSeconds = (now - (lastAtTop.get(r.id) ?? now)) / 1000
        tr.dataset['lag'] = String(top - r.height)
        const head = td(short(r.head!), 'hash')
        head.title = r.head!
        head.dataset['hash'] = r.head!
        tr.append(
          td(r.id, 'id'),
          td(r.role, 'role'),
          td(r.height, 'num height'),
          head,
          td(state === 'agrees' ? '✓' : state === 'behind' ? `−${top - r.height} · ${lagSeconds.toFixed(0)} s` : '✗', `mark ${state}`),
          td(r.consensus ?? '', 'consensus muted'),
        )
        return tr
      }),
    )

    // queues
    const qrows = [
      ...st.queues.map((q) => ({ at: st.id, ...q })),
      ...fresh.flatMap((s) => s.queues.map((q) => ({ at: s.id, ...q }))),
    ]
    maxDepth = Math.max(maxDepth, ...qrows.map((q) => q.depth))
    // Only queues holding something or that refused something; each peer's empty ones are one line.
    const holders = [...new Set(qrows.map((q) => q.at))]
    const busyRows = qrows.filter((q) => q.depth > 0 || q.rejects > 0)
    const quiet = holders.flatMap((at) => {
      const all = qrows.filter((q) => q.at === at)
      const empty = all.filter((q) => q.depth === 0 && q.rejects === 0).length
      if (empty === 0) return []
      const tr = document.createElement('tr')
      tr.className = 'quiet'
      tr.dataset['at'] = at
      tr.append(td(at), td(`${empty} of ${all.length} queue${all.length === 1 ? '' : 's'} empty, no rejects`, 'muted'), td(''), td('', 'bar-col'), td(''))
      return [tr]
    })
    $('#queues tbody').replaceChildren(
      ...busyRows.map((q) => {
        const tr = document.createElement('tr')
        tr.dataset['at'] = q.at
        tr.dataset['from'] = q.peer
        const bar = document.createElement('td')
        bar.className = 'bar-col'
        const fill = document.createElement('span')
        fill.className = 'bar'
        fill.style.width = `${Math.min(100, (100 * q.depth) / maxDepth).toFixed(1)}%`
        bar.append(fill)
        // A peer's queue "from" itself is its local queue: what it was given to submit (HTTP, a tab's form).
        const from = td(q.at === q.peer ? `${q.peer} (own)` : q.peer)
        if (q.at === q.peer) from.title = `${q.peer}'s local queue: transactions submitted to it, waiting for its engine`
        tr.append(td(q.at), from, td(q.depth, 'num'), bar, td(q.rejects, q.rejects > 0 ? 'num rejects hot' : 'num rejects'))
        return tr
      }),
      ...quiet,
    )
    const counts = tab.refusalCounts()
    const total = Object.values(counts).reduce((a, b) => a + b, 0)
    $('#refusal-total').textContent = String(total)
    $('#refusal-detail').textContent = Object.entries(counts)
      .map(([k, n]) => `${k} ×${n}`)
      .join(' · ')
    if (total > lastRefusals) {
      const latest = tab.refusals().at(-1)
      logTo(events, `${total - lastRefusals} refused by peers; latest from ${latest?.peer}: ${latest?.code} ${latest?.message}`, 'warn', {
        'data-code': latest?.code ?? 'REFUSED',
      })
      lastRefusals = total
    }

    // flood targets: connected Node peers, the selection kept
    const ids = linked.map((p) => p.id)
    const current = [...floodTarget.options].map((o) => o.value)
    if (ids.join() !== current.join()) {
      const keep = floodTarget.value
      floodTarget.replaceChildren(...ids.map((id) => new Option(id, id)))
      const origin = watcher.views.get(location.origin)
      const preferred = ids.includes(keep) ? keep : origin?.kind === 'ok' && ids.includes(origin.status.id) ? origin.status.id : ids[0]
      if (preferred !== undefined) floodTarget.value = preferred
    }

    // flood: the burst sized from the target's bound, and the outcome of the latest one
    const bound = boundOf(floodTarget.value)
    if (!floodCountEdited) floodCount.value = String(floodBurst(bound))
    $('#flood-bound').textContent = bound === undefined ? '' : `${floodTarget.value} queues at most ${bound} messages per link: a burst of ${floodBurst(bound)}`
    if (lastFlood !== undefined) {
      lastFlood.refused = queueFullFrom(lastFlood.target) - lastFlood.refusedBefore
      lastFlood.committed = floodCommitted - lastFlood.committedBefore
      const outcome = $('#flood-outcome')
      outcome.textContent = floodOutcomeText(lastFlood)
      outcome.dataset['refused'] = String(lastFlood.refused)
      outcome.dataset['committed'] = String(lastFlood.committed)
    }

    // charts
    const metrics = peer.metrics()
    const seconds = (now - lastTick) / 1000
    const originFan = await fetchOriginFanProcessed()
    const originRate = rate(originFan, lastOriginFan, (Date.now() - lastOriginFanAt) / 1000)
    lastOriginFan = originFan
    lastOriginFanAt = Date.now()
    fanChart.push(now / 1000, [rate(metrics.fanProcessed, lastMetrics.fanProcessed, seconds), originRate])
    const other = Object.keys(metrics.messagesReceived)
      .filter((t) => !TYPES.includes(t))
      .reduce((sum, t) => sum + (rate(metrics.messagesReceived[t], lastMetrics.messagesReceived[t] ?? 0, seconds) ?? 0), 0)
    typeChart.push(now / 1000, [...TYPES.map((t) => rate(metrics.messagesReceived[t] ?? 0, lastMetrics.messagesReceived[t] ?? 0, seconds)), other])
    commitChart.push(now / 1000, [rate(metrics.transactionsCommitted, lastMetrics.transactionsCommitted, seconds)])
    const sorted = latencies.sort((a, b) => a - b)
    const quantile = (q: number): number | null => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!)
    latencyChart.push(now / 1000, [quantile(0.5), quantile(0.9)])
    latencies = []
    lastMetrics = metrics
    lastTick = now
  }

  const loop = (): void => {
    tick()
      .catch((err: unknown) => console.error('[dashboard] tick failed', err))
      .finally(() => setTimeout(loop, TICK_MS))
  }
  loop()
}

main().catch((err: unknown) => console.error('[dashboard] failed to start', err))
