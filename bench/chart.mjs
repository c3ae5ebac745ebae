// Renders vega-lite specs to SVG (no browser, no canvas): shared by
// bench/run.mjs (report.svg, spec from `ratioChartSpec`) and bench/soak.mjs
// (soak.svg). __test__/chart.test.mjs renders report.svg to pixels.
import { writeFileSync } from 'node:fs'
import * as vega from 'vega'
import { compile } from 'vega-lite'

/** Bar colours by verdict: blue, orange and grey read apart for colour-blind readers too. */
export const VERDICT_COLORS = {
  'ours better': '#1f77b4',
  'peer better': '#e6550d',
  'within 5 %': '#8c8c8c'
}

/** The plot area's width in px (row labels to its left, ratio values to its right). */
const PLOT_WIDTH = 520

/**
 * The shortest bar drawn, in px: a ratio at or next to parity (1.0, 1.003)
 * would otherwise get a bar of no width. The dot and the printed value still
 * give the exact ratio.
 */
export const MIN_BAR_PX = 4

/**
 * Which side a ratio (ours / peer) favours: for times, sizes and origin
 * requests lower is better; for hit ratio and req/s (`better: 'higher'`) higher.
 * @param {{ ratio: number, better?: string }} r
 */
export function verdictOf (r) {
  if (r.ratio >= 1 / 1.05 && r.ratio <= 1.05) return 'within 5 %'
  const oursLower = r.ratio < 1
  return (r.better === 'higher') !== oursLower ? 'ours better' : 'peer better'
}

/** The rows of a results file the ratio chart can draw (a positive ratio; a log scale has no 0). */
export function chartableRows (results) {
  return results.filter((r) => typeof r.ratio === 'number' && Number.isFinite(r.ratio) && r.ratio > 0)
}

/** The y-axis label of a result row. */
export function rowLabel (r) {
  return `${r.suite}: ${r.row}${r.node ? ` (Node ${r.node})` : ''}`
}

/**
 * The vega-lite spec of bench/report.svg: one row per result, a bar from the
 * parity line (ratio 1.0) to the row's ratio on a log scale (at least
 * MIN_BAR_PX long), a dot at the ratio, the ratio printed at the right. A bar
 * that started at 0 would have no width on a log scale.
 * @param {object[]} results rows of bench/results/latest.json
 * @param {{ node: string }} meta
 */
export function ratioChartSpec (results, meta) {
  const rows = chartableRows(results)
  const ratios = rows.map((r) => r.ratio).concat(1)
  const lo = Math.floor(Math.log10(Math.min(...ratios)))
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...ratios))))
  const decades = []
  for (let e = lo; e <= hi; e++) decades.push(Number(`1e${e}`))
  // MIN_BAR_PX in decades of the log scale: where a bar of that length ends.
  const minDecades = MIN_BAR_PX / PLOT_WIDTH * (hi - lo)
  const barEnd = (ratio) => {
    const d = Math.log10(ratio)
    return Math.abs(d) >= minDecades ? ratio : 10 ** (d < 0 ? -minDecades : minDecades)
  }
  const values = rows.map((r) => ({
    row: rowLabel(r),
    ratio: r.ratio,
    barEnd: barEnd(r.ratio),
    one: 1,
    verdict: verdictOf(r),
    value: r.ratio >= 10 ? `${r.ratio.toFixed(1)}×` : r.ratio >= 0.01 ? `${r.ratio.toFixed(2)}×` : `${r.ratio.toPrecision(2)}×`
  }))
  const x = {
    field: 'ratio',
    type: 'quantitative',
    scale: { type: 'log', domain: [decades[0], decades[decades.length - 1]] },
    axis: { values: decades, format: '~g', title: 'ours ÷ peer (log scale; dashed line: 1.0 = parity)', grid: true },
    title: null
  }
  const y = { field: 'row', type: 'nominal', sort: null, title: null, axis: { labelLimit: 1000, labelFontSize: 11 } }
  const color = {
    field: 'verdict',
    type: 'nominal',
    scale: { domain: Object.keys(VERDICT_COLORS), range: Object.values(VERDICT_COLORS) },
    legend: { title: null, orient: 'top', labelFontSize: 12 }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: `ferrocache ÷ peer, same process run — Node ${meta.node}`,
      subtitle: 'Bars run from parity to the ratio. Lower is better for times and memory; higher for hit ratio and req/s.',
      anchor: 'start'
    },
    width: PLOT_WIDTH,
    height: { step: 20 },
    background: 'white',
    data: { values },
    encoding: { y },
    layer: [
      { mark: { type: 'bar', height: { band: 0.6 } }, encoding: { x: { ...x, field: 'barEnd' }, x2: { field: 'one' }, color } },
      { mark: { type: 'point', filled: true, size: 60, opacity: 1 }, encoding: { x, color } },
      { mark: { type: 'rule', color: 'black', strokeDash: [4, 3] }, encoding: { x: { datum: 1, type: 'quantitative' }, y: null } },
      { mark: { type: 'text', align: 'left', dx: 6, fontSize: 11 }, encoding: { x: { value: PLOT_WIDTH }, text: { field: 'value' } } }
    ],
    config: { view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 } }
  }
}

/** A vega View over a vega-lite spec, without a renderer (the caller runs it). */
export function vegaLiteView (spec) {
  return new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
}

/** The SVG text of a vega-lite spec. */
export async function vegaLiteSvg (spec) {
  return await vegaLiteView(spec).toSVG()
}

/**
 * @param {object} spec a vega-lite spec
 * @param {string} path where to write the SVG
 */
export async function writeVegaLiteSvg (spec, path) {
  writeFileSync(path, await vegaLiteSvg(spec))
}
