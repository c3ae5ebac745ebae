// Runs one bench/suites/*.mjs and prints its rows as one JSON line, for
// bench/run.mjs when a suite needs a Node builtin the parent's Node lacks.
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join } from 'node:path'

const here = fileURLToPath(new URL('.', import.meta.url))
const mod = await import(pathToFileURL(join(here, 'suites', process.argv[2])))
const rows = await mod.default()
// Suites log progress to stdout; the rows are the last line.
process.stdout.write('\n' + JSON.stringify({ version: process.version, rows }) + '\n')
