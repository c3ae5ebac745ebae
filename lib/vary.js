'use strict'

// Secondary cache keys (RFC 9111 §4.1): a stored response may be served only
// if every request header its Vary names has the same value as in the request
// it was stored for. Values follow undici's model: a string, an array of
// strings (a header sent several times) or null (the request lacked it).

function headerValueEquals (lhs, rhs) {
  if (lhs == null) return rhs == null
  if (rhs == null) return false
  if (Array.isArray(lhs)) {
    if (!Array.isArray(rhs) || lhs.length !== rhs.length) return false
    for (let i = 0; i < lhs.length; i++) if (lhs[i] !== rhs[i]) return false
    return true
  }
  return lhs === rhs
}

/**
 * Whether a response stored with `vary` may answer a request with `headers`
 * (undici's `varyMatches`).
 * @param {Record<string, string | string[] | null> | undefined} vary
 * @param {Record<string, string | string[]> | undefined} headers
 */
function varyMatches (vary, headers) {
  if (vary == null) return true
  for (const name in vary) {
    if (Object.hasOwn(vary, name) && !headerValueEquals(headers?.[name], vary[name])) return false
  }
  return true
}

/**
 * `vary` flattened to `[name, value, name, value, ...]` (own keys), or null,
 * for `selects` below: the hot path loops over an array instead of `for…in`.
 */
function compileVary (vary) {
  if (vary == null) return null
  const out = []
  for (const name of Object.keys(vary)) out.push(name, vary[name])
  return out.length === 0 ? null : out
}

/** `varyMatches` over a compiled vary. */
function selects (compiled, headers) {
  if (compiled === null) return true
  for (let i = 0; i < compiled.length; i += 2) {
    if (!headerValueEquals(headers?.[compiled[i]], compiled[i + 1])) return false
  }
  return true
}

/**
 * The variant key the stores keep beside each response: the Vary'd request
 * header values in canonical form (names sorted). Rust decodes it
 * (`VaryKey::decode`): fields joined by U+0001, each the name, U+0000, then
 * `n` (null), `s` + value, `e` (empty list) or `a` + values joined by U+0002.
 * `assertCacheValue` rejects names and values holding those characters.
 */
function variantKey (vary) {
  if (vary == null) return ''
  const names = Object.keys(vary).sort()
  let out = ''
  for (let i = 0; i < names.length; i++) {
    const v = vary[names[i]]
    if (i > 0) out += '\u0001'
    out += names[i] + '\u0000'
    if (v === null) out += 'n'
    else if (typeof v === 'string') out += 's' + v
    else if (v.length === 0) out += 'e'
    else out += 'a' + v.join('\u0002')
  }
  return out
}

/**
 * A plain copy of the writing request's headers, taken in JS when the write
 * begins. Rust reads the headers a stored variant varies on while it holds
 * the store's lock (src/http/vary.rs `VaryKey::matches`); reading the caller's
 * object there could run a getter or Proxy trap that calls back into the same
 * store and deadlocks (or throws with the lock held). The copy runs such code
 * here, before any native call, and also pins the values the write was made
 * with. Arrays are copied (a Proxy of an array is an array to Rust); other
 * values are kept as they are (Rust treats them as values that never match).
 */
function snapshotHeaders (headers) {
  if (headers == null) return undefined
  const out = Object.create(null)
  for (const name in headers) {
    const v = headers[name]
    out[name] = Array.isArray(v) ? Array.prototype.slice.call(v) : v
  }
  return out
}

module.exports = { varyMatches, variantKey, headerValueEquals, compileVary, selects, snapshotHeaders }
