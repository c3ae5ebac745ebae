// The generated loader (binding.js) on every platform we publish for: in a
// child process whose process.platform / process.arch (and, on Linux, the libc
// /usr/bin/ldd reports) are those of the platform, with every platform package
// of npm/ "installed" (require intercepted), the loader must load exactly that
// platform's package — and, when that one is missing, fail rather than load
// another platform's binary. Only linux-x64-gnu can be built and installed
// here (__test__/pack.test.mjs); this pins the resolution for the rest.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const bindingPath = join(root, 'binding.js')

// What each napi target is to Node and npm: the platform package's directory
// (napi-rs' platformArchABI), process.platform/arch, package.json os/cpu/libc.
const PLATFORMS = {
  'x86_64-unknown-linux-gnu': { dir: 'linux-x64-gnu', platform: 'linux', arch: 'x64', libc: 'glibc' },
  'x86_64-unknown-linux-musl': { dir: 'linux-x64-musl', platform: 'linux', arch: 'x64', libc: 'musl' },
  'aarch64-unknown-linux-gnu': { dir: 'linux-arm64-gnu', platform: 'linux', arch: 'arm64', libc: 'glibc' },
  'aarch64-unknown-linux-musl': { dir: 'linux-arm64-musl', platform: 'linux', arch: 'arm64', libc: 'musl' },
  'x86_64-apple-darwin': { dir: 'darwin-x64', platform: 'darwin', arch: 'x64' },
  'aarch64-apple-darwin': { dir: 'darwin-arm64', platform: 'darwin', arch: 'arm64' },
  'x86_64-pc-windows-msvc': { dir: 'win32-x64-msvc', platform: 'win32', arch: 'x64' }
}

// Runs in the child: fakes the platform, intercepts what binding.js requires.
const SIMULATION = `
const Module = require('node:module')
const fs = require('node:fs')
const { platform, arch, libc, bindingPath, installed, version } = JSON.parse(process.argv[1])
Object.defineProperty(process, 'platform', { value: platform })
Object.defineProperty(process, 'arch', { value: arch })
const readFileSync = fs.readFileSync
fs.readFileSync = function (path, ...rest) {
  if (path === '/usr/bin/ldd') return libc === 'musl' ? '#!/bin/sh\\n# musl libc (x86_64)\\n' : '#!/bin/bash\\n# ldd (GNU libc) 2.36\\n'
  return readFileSync.call(this, path, ...rest)
}
const tried = []
const load = Module._load
Module._load = function (request, parent, isMain) {
  if (parent && parent.filename === bindingPath && !Module.isBuiltin(request)) {
    tried.push(request)
    const name = request.replace(/\\/package\\.json$/, '')
    if (installed.includes(name)) return request.endsWith('/package.json') ? { version } : { platformPackage: name }
    const err = new Error("Cannot find module '" + request + "'")
    err.code = 'MODULE_NOT_FOUND'
    throw err
  }
  return load.apply(this, arguments)
}
let loaded = null
let error = null
try {
  loaded = require(bindingPath).platformPackage
} catch (e) {
  error = e.message
}
process.stdout.write(JSON.stringify({ loaded, tried, error }))
`

function resolveOn ({ platform, arch, libc }, installed) {
  const env = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith('NAPI_RS_')) delete env[k]
  const out = execFileSync(process.execPath, ['-e', SIMULATION, JSON.stringify({
    platform, arch, libc, bindingPath, installed, version: pkg.version
  })], { env, encoding: 'utf8' })
  return JSON.parse(out)
}

const packageName = (dir) => `${pkg.name}-${dir}`
const allPackages = Object.values(PLATFORMS).map((p) => packageName(p.dir))

test('napi.targets, npm/<platform>/ packages and this test cover the same platforms', () => {
  assert.deepEqual([...pkg.napi.targets].sort(), Object.keys(PLATFORMS).sort())
  assert.deepEqual(readdirSync(join(root, 'npm')).sort(), Object.values(PLATFORMS).map((p) => p.dir).sort())
  for (const p of Object.values(PLATFORMS)) {
    const sub = JSON.parse(readFileSync(join(root, 'npm', p.dir, 'package.json'), 'utf8'))
    const binary = `${pkg.napi.binaryName}.${p.dir}.node`
    assert.equal(sub.name, packageName(p.dir))
    assert.equal(sub.version, pkg.version, `${p.dir}: version follows the main package (napi version)`)
    assert.equal(sub.main, binary)
    assert.deepEqual(sub.files, [binary])
    assert.deepEqual(sub.os, [p.platform])
    assert.deepEqual(sub.cpu, [p.arch])
    assert.deepEqual(sub.libc, p.libc ? [p.libc] : undefined, `${p.dir}: npm skips it on the other libc`)
  }
})

for (const [target, p] of Object.entries(PLATFORMS)) {
  const expected = packageName(p.dir)
  test(`${target}: the loader requires ${expected}, after the local ./${pkg.napi.binaryName}.${p.dir}.node of a clone`, () => {
    const { loaded, tried, error } = resolveOn(p, allPackages)
    assert.equal(error, null)
    assert.equal(loaded, expected)
    const local = tried.indexOf(`./${pkg.napi.binaryName}.${p.dir}.node`)
    assert.ok(local !== -1 && local < tried.indexOf(expected), `local build first, then the package: ${tried}`)
    const others = tried.filter((r) => allPackages.includes(r) && r !== expected)
    assert.deepEqual(others, [], 'no other platform package is even tried')
  })

  test(`${target}: without ${expected} the loader fails instead of taking another platform's binary`, () => {
    const { loaded, error } = resolveOn(p, allPackages.filter((n) => n !== expected))
    assert.equal(loaded, null)
    assert.match(error, /Cannot find native binding|Cannot find module/)
  })
}

test('an unsupported platform gets an error, not a wrong binary', () => {
  const { loaded, error } = resolveOn({ platform: 'aix', arch: 'ppc64' }, allPackages)
  assert.equal(loaded, null)
  assert.ok(error)
})
