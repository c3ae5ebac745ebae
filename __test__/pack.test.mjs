// What a user installs: `npm pack`, install the tarball into an empty project,
// and require('ferrocache') there with no Rust toolchain on the PATH.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

test('the packed tarball installs and loads without cargo', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferrocache-pack-'))
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    execFileSync(npm, ['pack', '--pack-destination', dir, '--silent'], { cwd: root, stdio: 'pipe' })
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))
    assert.ok(tarball, 'npm pack produced a tarball')
    const listing = execFileSync('tar', ['-tzf', join(dir, tarball)], { encoding: 'utf8' })
    assert.match(listing, /package\/ferrocache\.[\w-]+\.node/, 'the native binary is in the tarball')
    assert.doesNotMatch(listing, /package\/src\/|package\/target\//, 'no sources or build output shipped')

    const app = join(dir, 'app')
    execFileSync('mkdir', ['-p', app])
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
    execFileSync(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball)], { cwd: app, stdio: 'pipe' })

    const script = `
      const { MemoryCacheStore } = require('ferrocache')
      const store = new MemoryCacheStore({ maxCount: 10 })
      const now = Date.now()
      const key = { origin: 'http://a', method: 'GET', path: '/', headers: {} }
      const ws = store.createWriteStream(key, { statusCode: 200, statusMessage: 'OK', headers: {}, cachedAt: now, staleAt: now + 1000, deleteAt: now + 2000 })
      ws.end('hello')
      const hit = store.get(key)
      process.stdout.write(Buffer.concat(hit.body).toString() + ' ' + store.count)
    `
    // PATH holds only node's own directory: no cargo, no rustc.
    const env = { PATH: dirname(process.execPath), HOME: dir }
    const out = execFileSync(process.execPath, ['-e', script], { cwd: app, env, encoding: 'utf8' })
    assert.equal(out, 'hello 1')
    assert.throws(() => execFileSync('cargo', ['--version'], { env, stdio: 'pipe' }), 'cargo must not be reachable in this check')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
