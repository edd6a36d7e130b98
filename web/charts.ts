/**
 * Time-series charts with uPlot. A chart is created once with fixed series (so the legend and
 * layout never jump) and fed one sample per tick; it keeps the last CHART_POINTS samples and
 * follows its container's width.
 */
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

/** Samples kept per chart (120: two minutes at one per second). */
export const CHART_POINTS = 120
/** Plot height in CSS pixels; fixed so nothing below moves. */
export const CHART_HEIGHT = 170

export interface SeriesSpec {
  label: string
  color: string
  /** Join the line across missing samples, with a dot per sample (sparse figures: latency). */
  sparse?: boolean
}

export interface TimeChart {
  push(t: number, values: (number | null)[]): void
}

export function createTimeChart(container: HTMLElement, series: SeriesSpec[]): TimeChart {
  const data: (number | null)[][] = [[], ...series.map(() => [])]
  const opts: uPlot.Options = {
    width: Math.max(200, container.clientWidth),
    height: CHART_HEIGHT,
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, Math.ceil(max * 1.15))] } },
    axes: [
      {
        stroke: '#8b95a7',
        grid: { stroke: '#232a36' },
        ticks: { stroke: '#232a36' },
        incrs: [1, 2, 5, 10, 15, 30, 60, 120],
        values: (_u, splits) => splits.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false })),
      },
      // Compact labels (12k) and room for them: a fixed 44 px cut "20000" off at the left.
      { stroke: '#8b95a7', grid: { stroke: '#232a36' }, ticks: { stroke: '#232a36' }, size: 52, values: (_u, splits) => splits.map(compactNumber) },
    ],
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.6, spanGaps: s.sparse === true, points: { show: s.sparse === true, size: 4 } }))],
  }
  const plot = new uPlot(opts, data as uPlot.AlignedData, container)
  new ResizeObserver(() => plot.setSize({ width: Math.max(200, container.clientWidth), height: CHART_HEIGHT })).observe(container)
  return {
    push(t, values) {
      data[0]!.push(t)
      values.forEach((v, i) => data[i + 1]!.push(v))
      if (data[0]!.length > CHART_POINTS) for (const column of data) column.shift()
      plot.setData(data as uPlot.AlignedData)
    },
  }
}

/** Per-second rate from two cumulative counter readings; null when either is missing. */
export function rate(now: number | undefined, before: number | undefined, seconds: number): number | null {
  if (now === undefined || before === undefined || seconds <= 0) return null
  return Math.max(0, (now - before) / seconds)
}

/** 950 -> "950", 12000 -> "12k", 1500000 -> "1.5M": y-axis labels that fit their gutter. */
export function compactNumber(value: number): string {
  const abs = Math.abs(value)
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(1)}M`
  if (abs >= 1e4) return `${+(value / 1e3).toFixed(0)}k`
  if (abs >= 1e3) return `${+(value / 1e3).toFixed(1)}k`
  return String(+value.toFixed(2))
}
