// Summarises a Valgrind memcheck XML file (--xml=yes --xml-file=...):
//   node tools/valgrind-leaks.mjs <file.xml> [objectPattern]
// Prints definitely/indirectly/possibly lost bytes in total and for the loss records
// whose allocation stack has a frame in an object matching objectPattern (default
// /ferrocache|libferrocache/: our addon or a cargo test binary), and prints those
// records' stacks. Exit code 1 if any definitely or indirectly lost bytes are ours,
// or if the run had memory errors (invalid reads/writes, uninitialised values) in
// our frames.
import { readFileSync } from 'node:fs'

const [file, pattern = 'ferrocache|libferrocache'] = process.argv.slice(2)
if (!file) {
  console.error('usage: node tools/valgrind-leaks.mjs <file.xml> [objectPattern]')
  process.exit(2)
}
const ours = new RegExp(pattern)
const xml = readFileSync(file, 'utf8')
const tag = (s, name) => s.match(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`))?.[1]
const unescape = (s) => s?.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&')

const totals = {}
const mine = {}
const records = []
const errors = []
for (const [, body] of xml.matchAll(/<error>([\s\S]*?)<\/error>/g)) {
  const kind = tag(body, 'kind')
  const stack = tag(body, 'stack') ?? ''
  const frames = [...stack.matchAll(/<frame>([\s\S]*?)<\/frame>/g)].map(([, f]) => ({
    obj: tag(f, 'obj') ?? '',
    fn: unescape(tag(f, 'fn')) ?? '?',
    file: tag(f, 'file'),
    line: tag(f, 'line')
  }))
  const isOurs = frames.some((f) => ours.test(f.obj))
  if (kind.startsWith('Leak_')) {
    const bytes = Number(tag(body, 'leakedbytes') ?? 0)
    totals[kind] = (totals[kind] ?? 0) + bytes
    if (isOurs) {
      mine[kind] = (mine[kind] ?? 0) + bytes
      if (kind === 'Leak_DefinitelyLost' || kind === 'Leak_IndirectlyLost') records.push({ kind, bytes, frames })
    }
  } else if (isOurs) {
    errors.push({ kind, what: unescape(tag(body, 'what') ?? tag(body, 'text') ?? ''), frames })
  }
}

const fmt = (o) => ['Leak_DefinitelyLost', 'Leak_IndirectlyLost', 'Leak_PossiblyLost', 'Leak_StillReachable']
  .map((k) => `${k.slice(5)} ${(o[k] ?? 0).toLocaleString('en-US')} B`).join(', ')
console.log(`${file}`)
console.log(`  all loss records:         ${fmt(totals)}`)
console.log(`  with a frame in /${pattern}/: ${fmt(mine)}`)
const show = (frames) => frames.slice(0, 14).map((f) => `      ${f.fn}${f.file ? ` (${f.file}:${f.line})` : ''}  [${f.obj.split('/').pop()}]`).join('\n')
for (const r of records) console.log(`  ${r.kind} ${r.bytes} B:\n${show(r.frames)}`)
for (const e of errors) console.log(`  ${e.kind}: ${e.what}\n${show(e.frames)}`)
if (records.length > 0 || errors.length > 0) process.exitCode = 1
