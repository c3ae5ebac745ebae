// Renders a vega-lite spec to an SVG file (no browser, no canvas): shared by
// bench/run.mjs (report.svg) and bench/soak.mjs (soak.svg).
import { writeFileSync } from 'node:fs'
import * as vega from 'vega'
import { compile } from 'vega-lite'

/**
 * @param {object} spec a vega-lite spec
 * @param {string} path where to write the SVG
 */
export async function writeVegaLiteSvg (spec, path) {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  writeFileSync(path, await view.toSVG())
}
