/**
 * The status page every Node peer serves at `/`: polls the serving peer's GET /status and
 * submits transactions with POST /transactions. The live dashboard (a peer in the tab, network
 * graph, charts) replaces it in its own issue.
 */
interface Status {
  id: string
  address: string
  role: string
  peers: { id: string; address: string; role: string }[]
  consensus: { plugin: string } & Record<string, unknown>
  chain: { height: number; headHash: string }
  queues: { peer: string; depth: number; bytes: number; rejects: number }[]
}

const POLL_MS = 1000

function cell(text: string | number): HTMLTableCellElement {
  const td = document.createElement('td')
  td.textContent = String(text)
  return td
}

function fillTable(id: string, rows: (string | number)[][]): void {
  const body = document.querySelector<HTMLTableSectionElement>(`#${id} tbody`)!
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement('tr')
      tr.append(...row.map(cell))
      return tr
    }),
  )
}

function render(status: Status): void {
  const self = document.getElementById('self')!
  const entries: [string, string][] = [
    ['id', status.id],
    ['role', status.role],
    ['address', status.address],
    ['consensus', status.consensus.plugin],
    ['height', String(status.chain.height)],
    ['head', status.chain.headHash],
  ]
  self.replaceChildren(
    ...entries.flatMap(([k, v]) => {
      const dt = document.createElement('dt')
      dt.textContent = k
      const dd = document.createElement('dd')
      dd.textContent = v
      return [dt, dd]
    }),
  )
  fillTable('peers', status.peers.map((p) => [p.id, p.role, p.address || '(browser)']))
  fillTable('queues', status.queues.map((q) => [q.peer, q.depth, q.bytes, q.rejects]))
}

async function poll(): Promise<void> {
  try {
    const res = await fetch('/status', { signal: AbortSignal.timeout(POLL_MS * 3) })
    if (res.ok) render((await res.json()) as Status)
  } catch {
    // The peer may be restarting; the next poll tries again.
  }
  setTimeout(() => void poll(), POLL_MS)
}

document.getElementById('origin')!.textContent = location.host
document.getElementById('tx')!.addEventListener('submit', async (event) => {
  event.preventDefault()
  const form = event.currentTarget as HTMLFormElement
  const payload = String(new FormData(form).get('payload') ?? '')
  const out = document.getElementById('tx-result')!
  const res = await fetch('/transactions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload }) })
  const body = (await res.json()) as { txid?: string; error?: { message: string } }
  out.textContent = res.ok ? `accepted: ${body.txid}` : `refused: ${body.error?.message ?? res.status}`
  if (res.ok) form.reset()
})
void poll()
