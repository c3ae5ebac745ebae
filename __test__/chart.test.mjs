// bench/report.svg (shown in the README) rendered to pixels with resvg: every
// result row must show a bar running from the parity line (ratio 1.0) to its
// ratio, in the colour of its verdict. A bar starting at 0 on a log scale has
// no width, which is how the chart once rendered no bars at all.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Resvg } from '@resvg/resvg-js'
import { ratioChartSpec, vegaLiteView, chartableRows, rowLabel, verdictOf, VERDICT_COLORS, MIN_BAR_PX } from '../bench/chart.mjs'

const bench = (p) => fileURLToPath(new URL(`../bench/${p}`, import.meta.url))

/** The chart of `results`: its SVG, its RGBA pixels, and where each row and ratio lands in them. */
async function render (results, meta) {
  const view = vegaLiteView(ratioChartSpec(results, meta))
  const svg = await view.toSVG()
  const pad = view.padding()
  const [ox, oy] = [pad.left + view.origin()[0], pad.top + view.origin()[1]]
  const x = view.scale('x')
  const y = view.scale('y')
  // No fonts: text is not drawn, so only marks, axes and the legend reach the pixels.
  const image = new Resvg(svg, { background: 'white', font: { loadSystemFonts: false } }).render()
  const pixels = image.pixels // a getter that copies: read it once
  const width = image.width
  return {
    svg,
    rows: y.domain(),
    plot: { left: ox, right: ox + view.width(), top: oy, bottom: oy + view.height() },
    px: (ratio) => Math.round(ox + x(ratio)),
    band: (label) => ({ top: Math.round(oy + y(label)), bottom: Math.round(oy + y(label) + y.bandwidth()) }),
    rgb: (col, row) => {
      const i = (row * width + col) * 4
      return [pixels[i], pixels[i + 1], pixels[i + 2]]
    }
  }
}

function hex (color) {
  return [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16))
}

function near (rgb, target) {
  return rgb.every((c, i) => Math.abs(c - target[i]) <= 12)
}

/**
 * Checks one row: in its band, pixels of its verdict colour (a) are there, (b)
 * fill the bar's centre line from parity to the ratio, (c) stay within that
 * span (plus the dot at the ratio).
 */
function assertRowVisible (chart, r) {
  const label = rowLabel(r)
  const color = hex(VERDICT_COLORS[verdictOf(r)])
  const { top, bottom } = chart.band(label)
  const left = Math.ceil(chart.plot.left) + 1
  const right = Math.floor(chart.plot.right) - 1
  let painted = 0
  for (let row = top; row < bottom; row++) {
    for (let col = left; col <= right; col++) if (near(chart.rgb(col, row), color)) painted++
  }
  assert.ok(painted >= 20, `${label}: ${painted} pixels of its colour in its band (bar not visible)`)

  const mid = Math.round((top + bottom) / 2)
  const parity = chart.px(1)
  const end = chart.px(r.ratio)
  const [from, to] = [Math.min(parity, end), Math.max(parity, end)]
  const gaps = []
  for (let col = from + 3; col <= to - 3; col++) {
    if (Math.abs(col - parity) <= 2) continue // the dashed parity line is drawn over the bars
    if (!near(chart.rgb(col, mid), color)) gaps.push(col)
  }
  assert.deepEqual(gaps, [], `${label}: the bar from 1.0 to ${r.ratio} has gaps at x = ${gaps.slice(0, 5)}`)
  const outside = []
  for (let col = left; col <= right; col++) {
    if ((col < from - 7 || col > to + 7) && near(chart.rgb(col, mid), color)) outside.push(col)
  }
  assert.deepEqual(outside, [], `${label}: painted outside 1.0 … ${r.ratio} at x = ${outside.slice(0, 5)}`)
}

/**
 * Every bar mark in the SVG is at least MIN_BAR_PX wide: a ratio at or next
 * to parity (exactly 1.0, 1.003) must not leave a bar of no width behind its dot.
 */
function assertBarWidths (svg, count) {
  const widths = [...svg.matchAll(/aria-roledescription="bar" d="M[^h]*h([-0-9.e]+)v/g)].map((m) => Math.abs(Number(m[1])))
  assert.equal(widths.length, count, 'one bar per chartable row')
  const thin = widths.filter((w) => !(w >= MIN_BAR_PX - 0.01))
  assert.deepEqual(thin, [], `bars narrower than ${MIN_BAR_PX} px`)
}

function assertParityLine (chart) {
  const col = chart.px(1)
  let dark = 0
  const top = Math.ceil(chart.plot.top)
  const bottom = Math.floor(chart.plot.bottom)
  for (let row = top; row < bottom; row++) {
    if ([col - 1, col, col + 1].some((c) => chart.rgb(c, row).every((v) => v < 60))) dark++
  }
  assert.ok(dark > (bottom - top) * 0.4, `dashed parity line at ratio 1.0: ${dark} of ${bottom - top} pixels dark`)
}

// Edge cases of real reports: ratios across four decades, exactly 1.0 and
// 1.003 (bars drawn at their minimum length, the dot at the ratio), higher-is-better rows on both
// sides, a row measured under another Node, rows with no ratio (absolute
// rows, no peer) left out.
const fixture = [
  { suite: 'store', row: 'get-hit', ratio: 0.0016, better: 'lower' },
  { suite: 'store', row: 'over-limit write p50', ratio: 3.8, better: 'lower' },
  { suite: 'store', row: 'hit ratio', ratio: 1, better: 'higher' },
  { suite: 'store', row: 'file size', ratio: 1.003, better: 'lower' },
  { suite: 'e2e', row: 'req/s', ratio: 2.5, better: 'higher' },
  { suite: 'e2e', row: 'req/s, 4 threads', ratio: 0.5, better: 'higher' },
  { suite: 'policy', row: 'floor: no-op N-API call', ratio: null, better: 'lower' },
  { suite: 'sqlite', row: 'get-miss', ratio: 0.3, better: 'lower', node: 'v22.23.5' },
  { suite: 'sqlite', row: 'zero', ratio: 0, better: 'lower' }
]

test('every row of a report shows a bar from parity to its ratio, coloured by its verdict', async () => {
  const chart = await render(fixture, { node: 'v20.0.0' })
  const rows = chartableRows(fixture)
  assert.deepEqual(rows.map((r) => r.row), ['get-hit', 'over-limit write p50', 'hit ratio', 'file size', 'req/s', 'req/s, 4 threads', 'get-miss'])
  assert.deepEqual(chart.rows, rows.map(rowLabel), 'one band per chartable row, in report order')
  assert.deepEqual(rows.map(verdictOf), ['ours better', 'peer better', 'within 5 %', 'within 5 %', 'ours better', 'peer better', 'ours better'])
  for (const r of rows) assertRowVisible(chart, r)
  assertBarWidths(chart.svg, rows.length)
  assertParityLine(chart)
})

test('bench/report.svg is the chart of bench/results/latest.json, and every row of it shows', async () => {
  const { meta, results } = JSON.parse(readFileSync(bench('results/latest.json'), 'utf8'))
  const chart = await render(results, meta)
  const rows = chartableRows(results)
  assert.ok(rows.length > 0)
  assert.equal(chart.rows.length, rows.length, 'row labels are unique (one band each)')
  for (const r of rows) assertRowVisible(chart, r)
  assertBarWidths(chart.svg, rows.length)
  assertParityLine(chart)
  assert.ok(readFileSync(bench('report.svg'), 'utf8') === chart.svg,
    'bench/report.svg is stale: run `node bench/run.mjs --render`')
})
