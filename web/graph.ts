/**
 * The network graph: an SVG redrawn from a small model each tick. Node peers sit on a ring in ID
 * order (so a peer coming or going never moves the others), this tab in the middle, other tabs
 * outside the ring next to the Node peer they hang off. The model enters `renderGraph`; SVG
 * elements with `data-peer` and `data-state` leave (tests read those).
 */
export interface GraphNode {
  id: string
  kind: 'self' | 'node' | 'tab'
  role: 'validator' | 'non-validator'
  state: 'up' | 'gone'
  leader?: boolean
  /** For a "+N tabs" group: the tabs it stands for. */
  members?: string[]
}

export interface GraphLink {
  a: string
  b: string
}

const SVG = 'http://www.w3.org/2000/svg'
const W = 400
const H = 300
const CX = W / 2
const CY = H / 2
const RING = 92
const OUTER = 132
/** Width of one character of an 11 px monospace label, in viewBox units (an upper bound). */
const LABEL_CHAR_WIDTH = 7
/** Other tabs drawn one by one beside a Node peer (2); more are grouped as "+N tabs". */
export const TABS_SHOWN_PER_PEER = 2

function byIdKind(nodes: GraphNode[], id: string): GraphNode['kind'] | undefined {
  return nodes.find((n) => n.id === id)?.kind
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v))
  return node
}

export function renderGraph(svg: SVGSVGElement, nodes: GraphNode[], links: GraphLink[]): void {
  const ring = nodes.filter((n) => n.kind === 'node').sort((a, b) => (a.id < b.id ? -1 : 1))
  const pos = new Map<string, { x: number; y: number; angle: number }>()
  ring.forEach((n, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, ring.length)
    pos.set(n.id, { x: CX + RING * Math.cos(angle), y: CY + RING * Math.sin(angle), angle })
  })
  for (const n of nodes) if (n.kind === 'self') pos.set(n.id, { x: CX, y: CY, angle: 0 })
  // Other tabs: beyond the ring next to the Node peer they hang off (the first one they link to).
  // Up to TABS_SHOWN_PER_PEER are drawn one by one; more become one "+N tabs" node, since a dozen
  // labels beside one square overlap each other and it.
  const byAnchor = new Map<string, GraphNode[]>()
  for (const n of nodes.filter((t) => t.kind === 'tab').sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const anchor = links.map((l) => (l.a === n.id ? l.b : l.b === n.id ? l.a : undefined)).find((id) => id !== undefined && pos.has(id) && byIdKind(nodes, id) === 'node')
    const key = anchor ?? ''
    byAnchor.set(key, [...(byAnchor.get(key) ?? []), n])
  }
  const groups: GraphNode[] = []
  const groupLinks: GraphLink[] = []
  for (const [anchor, tabs] of byAnchor) {
    const base = anchor === '' ? Math.PI / 2 : pos.get(anchor)!.angle
    const shown = tabs.length <= TABS_SHOWN_PER_PEER ? tabs : []
    shown.forEach((n, k) => {
      const angle = base + (k % 2 === 0 ? 1 : -1) * 0.3 * Math.ceil(k / 2)
      pos.set(n.id, { x: CX + OUTER * Math.cos(angle), y: CY + OUTER * Math.sin(angle), angle })
    })
    if (shown.length === 0) {
      const group: GraphNode = { id: `+${tabs.length} tabs`, kind: 'tab', role: 'non-validator', state: 'up', members: tabs.map((t) => t.id) }
      groups.push(group)
      pos.set(group.id, { x: CX + OUTER * Math.cos(base), y: CY + OUTER * Math.sin(base), angle: base })
      if (anchor !== '') groupLinks.push({ a: anchor, b: group.id })
    }
  }
  const drawn = [...nodes.filter((n) => pos.has(n.id)), ...groups]
  links = [...links, ...groupLinks]

  const byId = new Map(drawn.map((n) => [n.id, n]))
  const edgeLayer = el('g', { class: 'edges' })
  for (const link of links) {
    const a = pos.get(link.a)
    const b = pos.get(link.b)
    if (a === undefined || b === undefined) continue
    const touchesSelf = byId.get(link.a)?.kind === 'self' || byId.get(link.b)?.kind === 'self'
    edgeLayer.append(el('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: touchesSelf ? 'edge self' : 'edge' }))
  }

  const nodeLayer = el('g', { class: 'nodes' })
  for (const n of drawn) {
    const p = pos.get(n.id)
    if (p === undefined) continue
    const g = el('g', { class: `node ${n.kind} ${n.state}`, 'data-peer': n.id, 'data-state': n.state, 'data-kind': n.kind, transform: `translate(${p.x.toFixed(1)} ${p.y.toFixed(1)})` })
    const r = n.kind === 'node' ? 15 : 11
    g.append(n.role === 'validator' ? el('rect', { x: -r, y: -r, width: 2 * r, height: 2 * r, rx: 4 }) : el('circle', { r }))
    if (n.leader === true) g.append(el('circle', { r: 3.5, cx: r - 2, cy: -r + 2, class: 'leader-dot' }))
    // Tabs outside the ring are labelled beside their circle, away from the ring, never below it
    // (where the Node peer's own label is).
    let side = Math.cos(p.angle) < -0.01 ? -1 : 1
    // Kept inside the drawing: a label that would run past an edge goes to the other side.
    const labelWidth = n.id.length * LABEL_CHAR_WIDTH
    if (side > 0 && p.x + r + 4 + labelWidth > W) side = -1
    else if (side < 0 && p.x - r - 4 - labelWidth < 0) side = 1
    const label =
      n.kind === 'tab'
        ? el('text', { x: side * (r + 4), y: 4, 'text-anchor': side < 0 ? 'end' : 'start' })
        : el('text', { y: n.kind === 'node' ? 29 : 23, 'text-anchor': 'middle' })
    label.textContent = n.kind === 'self' ? `${n.id} (you)` : n.id
    const title = el('title', {})
    title.textContent =
      n.members !== undefined
        ? `${n.members.length} other tabs: ${n.members.join(', ')}`
        : `${n.id}: ${n.kind === 'self' ? 'this tab' : n.kind === 'tab' ? 'another tab' : 'Node peer'}, ${n.role}, ${n.state}${n.leader === true ? ', noops leader' : ''}`
    if (n.members !== undefined) g.dataset['members'] = String(n.members.length)
    g.append(label, title)
    nodeLayer.append(g)
  }
  svg.replaceChildren(edgeLayer, nodeLayer)
}
