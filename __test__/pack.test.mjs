// What a user installs, the napi-rs way: the main package (JS, types, the
// generated loader; no binary) declares one optional dependency per platform
// package (npm/<platform>/, the binary only). Packed as the release workflow
// publishes them — binary copied into npm/<platform>/ as `napi artifacts` does,
// optionalDependencies written by `napi prepublish -t npm` — the main package
// and this machine's platform package install into an empty project offline,
// with no Rust toolchain on the PATH, and require('ferrocache') loads the
// binary from the platform package.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, cpSync, copyFileSync, existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname, delimiter } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const root = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
// The CLI's own entry (its package.json bin), as `npx napi` runs it.
const napiCli = join(dirname(createRequire(import.meta.url).resolve('@napi-rs/cli/package.json')), 'dist', 'cli.js')

/** This machine's napi-rs platform directory name (npm/<dir>), e.g. linux-x64-gnu. */
function hostPlatformDir () {
  const { platform, arch } = process
  if (platform === 'linux') {
    const glibc = process.report?.getReport()?.header?.glibcVersionRuntime
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

const dir = hostPlatformDir()
const binary = `${pkg.napi.binaryName}.${dir}.node`
const skip = !existsSync(join(root, 'npm', dir))
  ? `no platform package npm/${dir}`
  : !existsSync(join(root, binary)) && `no local build ${binary} (npm run build)`

function npm (args, opts = {}) {
  return execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32', ...opts
  })
}

/** The directory of the npm this test runs (node's own, or the next one on the PATH). */
function npmDir () {
  const exe = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const dirs = [dirname(process.execPath), ...(process.env.PATH ?? '').split(delimiter)]
  const found = dirs.find((d) => d && existsSync(join(d, exe)))
  assert.ok(found, 'npm is on the PATH')
  return found
}

/** `npm pack` of a directory into `dest`: the tarball's path and the files in it. */
function pack (from, dest) {
  const [info] = JSON.parse(npm(['pack', '--json', '--pack-destination', dest], { cwd: from }))
  return { tarball: join(dest, info.filename), files: info.files.map((f) => f.path).sort() }
}

test(`the main package and ${pkg.name}-${dir}, packed as released, install offline and load without cargo`, { skip, timeout: 180_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ferrocache-pack-'))
  try {
    // The repository as the release workflow's publish job sees it.
    const stage = join(tmp, 'stage')
    mkdirSync(stage)
    for (const f of [...pkg.files, 'package.json', 'README.md', 'npm']) cpSync(join(root, f), join(stage, f), { recursive: true })
    // `napi artifacts`: each platform's binary into its package directory.
    copyFileSync(join(root, binary), join(stage, 'npm', dir, binary))
    // The binaries the workflow builds on other hosts cannot be built here;
    // `napi prepublish` only checks they are present. These stand-ins are never
    // packed or installed (only npm/${dir} is).
    for (const other of readdirSync(join(stage, 'npm')).filter((d) => d !== dir)) {
      writeFileSync(join(stage, 'npm', other, `${pkg.napi.binaryName}.${other}.node`), 'built by the release workflow on its own host')
    }
    // `napi prepublish -t npm` as the release runs it, minus publishing the
    // platform packages and the GitHub release.
    execFileSync(process.execPath, [napiCli, 'prepublish', '-t', 'npm', '--skip-optional-publish', '--no-gh-release'], { cwd: stage, stdio: 'pipe' })
    const released = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8'))
    const platformNames = readdirSync(join(root, 'npm')).map((d) => JSON.parse(readFileSync(join(root, 'npm', d, 'package.json'), 'utf8')).name)
    assert.deepEqual(released.optionalDependencies, Object.fromEntries(platformNames.map((n) => [n, pkg.version])),
      'one optional dependency per platform package, at the main package version')
    assert.equal(released.scripts.install ?? released.scripts.postinstall ?? released.scripts.preinstall, undefined, 'nothing is built at install')

    const main = pack(stage, tmp)
    const platform = pack(join(stage, 'npm', dir), tmp)
    assert.deepEqual(main.files.filter((f) => f.endsWith('.node')), [], 'the main package ships no binary')
    assert.ok(main.files.includes('binding.js') && main.files.includes('index.js') && main.files.includes('lib/vsf.js'))
    assert.deepEqual(main.files.filter((f) => /^(src|target|npm|__test__|bench)\//.test(f)), [], 'no sources, tests or build output')
    assert.deepEqual(platform.files, ['README.md', binary, 'package.json'].sort())

    const app = join(tmp, 'app')
    mkdirSync(app)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
    // PATH holds only node's and npm's directories: no cargo, no rustc.
    // Offline: the other platforms' optional packages are skipped, as npm skips
    // optional dependencies it cannot install.
    const path = [...new Set([dirname(process.execPath), npmDir()])].join(delimiter)
    const env = { PATH: path, HOME: tmp, USERPROFILE: tmp, npm_config_cache: join(tmp, 'npm-cache') }
    if (process.platform === 'win32') Object.assign(env, { SystemRoot: process.env.SystemRoot, ComSpec: process.env.ComSpec })
    assert.throws(() => execFileSync('cargo', ['--version'], { env, stdio: 'pipe' }), 'cargo must not be reachable in this check')
    npm(['install', '--offline', '--no-audit', '--no-fund', '--no-update-notifier', main.tarball, platform.tarball], { cwd: app, env })

    const script = `
      const { MemoryCacheStore } = require('ferrocache')
      const store = new MemoryCacheStore({ maxCount: 10 })
      const now = Date.now()
      const key = { origin: 'http://a', method: 'GET', path: '/', headers: {} }
      const ws = store.createWriteStream(key, { statusCode: 200, statusMessage: 'OK', headers: {}, cachedAt: now, staleAt: now + 1000, deleteAt: now + 2000 })
      ws.end('hello')
      const hit = store.get(key)
      const from = Object.keys(require.cache).find((f) => f.endsWith('.node'))
      process.stdout.write(JSON.stringify({ body: Buffer.concat(hit.body).toString(), count: store.count, from }))
    `
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: app, env, encoding: 'utf8' }))
    assert.equal(out.body, 'hello')
    assert.equal(out.count, 1)
    assert.equal(out.from, join(app, 'node_modules', `${pkg.name}-${dir}`, binary), 'the binary comes from the platform package')
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})
