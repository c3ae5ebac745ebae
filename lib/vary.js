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
 * The variant key the stores compare to decide that a new response replaces a
 * stored one: same method and same Vary'd request header values.
 */
function variantKey (vary) {
  return vary == null ? '' : JSON.stringify(vary)
}

module.exports = { varyMatches, variantKey, headerValueEquals }
