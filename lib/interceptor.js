'use strict'

// `interceptors.cache(opts)`: an undici 7 dispatcher interceptor (compose it
// as `new Agent().compose(interceptors.cache({ store }))`) that caches by
// RFC 9111 with the rules in Rust (src/http/stored_response.rs), collapses
// concurrent misses into one origin request, and treats async stores
// (`get` returning a Promise) like sync ones. See docs/interceptor.md.

const { MemoryCacheStore } = require('./memory-cache-store.js')
const rules = require('./interceptor-rules.js')
const { Flight } = require('./interceptor-flight.js')
const {
  StoringHandler,
  RevalidationHandler,
  HeadRefreshHandler,
  InvalidatingHandler,
  SILENT_HANDLER,
  respond,
  bodyLength,
  sliceBody
} = require('./interceptor-handlers.js')

const SAFE_METHODS = ['GET', 'HEAD', 'OPTIONS', 'TRACE']
const nop = () => {}

// ---- options (undici's messages, lib/interceptor/cache.js + lib/util/cache.js) ----

function assertCacheStore (store, name) {
  if (typeof store !== 'object' || store === null) {
    throw new TypeError(`expected type of ${name} to be a CacheStore, got ${store === null ? 'null' : typeof store}`)
  }
  for (const fn of ['get', 'createWriteStream', 'delete']) {
    if (typeof store[fn] !== 'function') {
      throw new TypeError(`${name} needs to have a \`${fn}()\` function`)
    }
  }
}

function assertCacheMethods (methods, name) {
  if (!Array.isArray(methods)) {
    throw new TypeError(`expected type of ${name} needs to be an array, got ${methods === null ? 'null' : typeof methods}`)
  }
  if (methods.length === 0) {
    throw new TypeError(`${name} needs to have at least one method`)
  }
  for (const method of methods) {
    if (!SAFE_METHODS.includes(method)) {
      throw new TypeError(`element of ${name}-array needs to be one of following values: ${SAFE_METHODS.join(', ')}, got ${method}`)
    }
  }
}

function assertCacheOrigins (origins, name) {
  if (origins === undefined) return
  if (!Array.isArray(origins)) {
    throw new TypeError(`expected ${name} to be an array or undefined, got ${typeof origins}`)
  }
  for (let i = 0; i < origins.length; i++) {
    const origin = origins[i]
    if (typeof origin !== 'string' && !(origin instanceof RegExp)) {
      throw new TypeError(`expected ${name}[${i}] to be a string or RegExp, got ${typeof origin}`)
    }
  }
}

// ---- request normalisation ----

function appendHeader (headers, key, val) {
  const name = key.toLowerCase()
  const current = headers[name]
  if (current === undefined) {
    headers[name] = Array.isArray(val) ? val.slice() : val
  } else if (Array.isArray(current)) {
    current.push(...(Array.isArray(val) ? val : [val]))
  } else {
    headers[name] = [current, ...(Array.isArray(val) ? val : [val])]
  }
}

/** Request headers as one object of lower-case names (undici accepts objects, flat arrays and iterables). */
function normalizeHeaders (h) {
  const headers = {}
  if (h == null) return headers
  if (typeof h !== 'object') throw new Error('opts.headers is not an object')
  if (Array.isArray(h)) {
    if (Array.isArray(h[0])) {
      for (const [k, v] of h) appendHeader(headers, String(k), v)
    } else {
      if (h.length % 2 !== 0) throw new Error('opts.headers is not a valid header map')
      for (let i = 0; i < h.length; i += 2) {
        const v = h[i + 1]
        appendHeader(headers, String(h[i]), Array.isArray(v)
          ? v.map((x) => typeof x === 'string' ? x : Buffer.isBuffer(x) ? x.toString('latin1') : String(x))
          : Buffer.isBuffer(v) ? v.toString('latin1') : v)
      }
    }
  } else if (typeof h[Symbol.iterator] === 'function') {
    for (const [k, v] of h) appendHeader(headers, String(k), v)
  } else {
    for (const k of Object.keys(h)) {
      if (h[k] !== undefined) appendHeader(headers, k, h[k])
    }
  }
  return headers
}

/** A field value with the optional whitespace around list commas removed, several lines combined. */
function selectingValue (v) {
  const s = Array.isArray(v) ? v.join(',') : v
  return typeof s === 'string' ? s.split(',').map((x) => x.trim()).join(',') : s
}

/**
 * The request headers as the cache key carries them: RFC 9111 §4.1 lets
 * selecting fields match after "adding or removing whitespace, where allowed in
 * the header field's syntax" and "combining multiple header field lines with
 * the same field name", so list values are stored and compared in that form.
 * The object is returned as is when no value needs it (the common case).
 */
function selectingHeaders (headers) {
  let out = null
  for (const name in headers) {
    const v = headers[name]
    if (Array.isArray(v) || (typeof v === 'string' && (v.includes(',') || v !== v.trim()))) {
      out ??= { ...headers }
      out[name] = selectingValue(v)
    }
  }
  return out ?? headers
}

function fullPath (opts) {
  let path = opts.path || '/'
  if (opts.query && !/[?#]/.test(path)) {
    const qs = new URLSearchParams()
    for (const [k, v] of Object.entries(opts.query)) {
      if (Array.isArray(v)) for (const x of v) qs.append(k, String(x))
      else if (v !== undefined) qs.append(k, String(v))
    }
    const s = qs.toString()
    if (s) path += '?' + s
  }
  return path
}

/** RFC 9111 §5.4: Pragma: no-cache counts only in a request without Cache-Control. */
function pragmaNoCache (headers) {
  if (headers['cache-control'] !== undefined) return false
  const p = headers.pragma
  if (p === undefined) return false
  const values = Array.isArray(p) ? p : [p]
  return values.some((v) => String(v).split(',').some((t) => t.trim().toLowerCase() === 'no-cache'))
}

const CONDITIONAL_FIELDS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range']

function hasRequestBody (body) {
  if (body == null) return false
  if (typeof body === 'string' || Buffer.isBuffer(body) || ArrayBuffer.isView(body)) return body.length !== 0
  return true
}

/** Whether the stored fields nominated by Vary match this request (RFC 9111 §4.1). */
function varyMatches (fields, a, b) {
  for (const f of fields) {
    const x = a[f]
    const y = b[f]
    if (Array.isArray(x) || Array.isArray(y)) {
      if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length || x.some((v, i) => v !== y[i])) return false
    } else if ((x ?? null) !== (y ?? null)) {
      return false
    }
  }
  return true
}

// ---- serving ----

/** RFC 9110 §13.1.2 / §13.1.3: answers a client's conditional GET from the selected response. */
function clientNotModified (reqHeaders, resHeaders) {
  const inm = reqHeaders['if-none-match']
  if (inm !== undefined) {
    const etag = resHeaders.etag
    if (typeof etag !== 'string') return false
    const opaque = etag.replace(/^W\//, '')
    return String(inm).split(',').some((t) => {
      t = t.trim()
      return t === '*' || t.replace(/^W\//, '') === opaque
    })
  }
  const ims = reqHeaders['if-modified-since']
  if (typeof ims === 'string') {
    const since = Date.parse(ims)
    const lm = Date.parse(resHeaders['last-modified'] ?? resHeaders.date)
    return Number.isFinite(since) && Number.isFinite(lm) && lm <= since
  }
  return false
}

/** The response to serve from a stored one: its fields with Age (RFC 9111 §5.1, §4). */
function served (result, ageSeconds, stale) {
  const headers = { ...result.headers, age: String(Math.max(0, Math.floor(ageSeconds))) }
  // As undici's interceptor does (its users check it): Warning 110 on a stale
  // response (RFC 7234 §5.5.1; RFC 9111 obsoletes Warning but does not forbid it).
  if (stale) headers.warning = '110 - "response is stale"'
  return { statusCode: result.statusCode, statusMessage: result.statusMessage, headers }
}

function serveStored (ctx, handler, result, ageSeconds, body, context, stale = false) {
  const response = served(result, ageSeconds, stale)
  if (ctx.conditional && result.statusCode === 200 && clientNotModified(ctx.headers, response.headers)) {
    const h = {}
    for (const k of ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified', 'age']) {
      if (response.headers[k] !== undefined) h[k] = response.headers[k]
    }
    respond(handler, context, { statusCode: 304, statusMessage: 'Not Modified', headers: h }, null, true)
    destroyBody(body)
    return
  }
  if (ctx.method === 'GET' && ctx.requestHeaders.range !== undefined && result.statusCode === 200) {
    serveRange(ctx, handler, response, body, context)
    return
  }
  respond(handler, context, response, body, ctx.method === 'HEAD')
}

/**
 * A GET with Range answered from a stored complete 200 (RFC 9110 §14): a 206
 * with the bytes asked for, a 416 when they start past the end, or the whole
 * response where the range cannot be served (several ranges, an invalid one,
 * a failed If-Range, a stream of unknown length).
 */
function serveRange (ctx, handler, response, body, context) {
  const length = bodyLength(body, response.headers)
  const answer = Number.isFinite(length)
    ? rules.byteRange(ctx.requestHeaders.range, ctx.requestHeaders['if-range'], length, response.headers)
    : []
  if (answer.length === 2) {
    const [first, last] = answer
    const headers = { ...response.headers, 'content-range': `bytes ${first}-${last}/${length}`, 'content-length': String(last - first + 1) }
    respond(handler, context, { statusCode: 206, statusMessage: 'Partial Content', headers }, sliceBody(body, first, last), false)
  } else if (answer.length === 1) {
    // RFC 9110 §15.5.17: a 416 "SHOULD generate a Content-Range header field specifying the current length"
    const headers = { 'content-range': `bytes */${length}`, 'content-length': '0' }
    for (const k of ['date', 'age', 'etag', 'last-modified', 'cache-control', 'vary']) {
      if (response.headers[k] !== undefined) headers[k] = response.headers[k]
    }
    destroyBody(body)
    respond(handler, context, { statusCode: 416, statusMessage: 'Range Not Satisfiable', headers }, null, false)
  } else {
    respond(handler, context, response, body, false)
  }
}

/**
 * The date for If-Modified-Since: Last-Modified, else (RFC 9110 §13.1.3: "caches
 * occasionally generate the field value based on ... the Date header field of the
 * cached message or the clock time at which the message was received") the stored
 * Date, else when it was stored. Undefined only without Last-Modified when an ETag is sent.
 */
function validatorDate (result) {
  const lm = result.headers['last-modified']
  if (typeof lm === 'string') return lm
  if (result.etag ?? result.headers.etag) return undefined
  const date = result.headers.date
  if (typeof date === 'string' && Number.isFinite(Date.parse(date)) && /GMT$/.test(date)) return date
  return new Date(result.cachedAt).toUTCString()
}

/**
 * RFC 9111 §4.3.1: the cache's own conditional request for `result`: the
 * client's conditional fields replaced by the stored validators.
 */
function revalidationHeaders (h, result) {
  const headers = { ...h }
  for (const f of CONDITIONAL_FIELDS) delete headers[f]
  const etag = result.etag ?? result.headers.etag
  if (typeof etag === 'string') headers['if-none-match'] = etag
  const lm = validatorDate(result)
  if (lm !== undefined) headers['if-modified-since'] = lm
  return headers
}

function destroyBody (body) {
  if (body && typeof body.pipe === 'function') body.on('error', nop).destroy()
}

// RFC 9111 §5.2.1.7: only-if-cached without a usable stored response answers 504.
function gatewayTimeout (handler) {
  respond(handler, undefined, { statusCode: 504, statusMessage: 'Gateway Timeout', headers: {} }, null, true)
}

/**
 * @param {object} [opts]
 * @param {object} [opts.store] an undici CacheStore (sync or async `get`); default: a new MemoryCacheStore
 * @param {string[]} [opts.methods] safe methods to cache; default ['GET']
 * @param {'shared'|'private'} [opts.type] default 'shared'
 * @param {number} [opts.cacheByDefault] seconds to keep responses that have no explicit or heuristic lifetime
 * @param {(string|RegExp)[]} [opts.origins] only cache these origins
 */
function cache (opts = {}) {
  if (typeof opts !== 'object' || opts === null) {
    throw new TypeError(`expected type of opts to be an Object, got ${opts === null ? 'null' : typeof opts}`)
  }
  const {
    store = new MemoryCacheStore(),
    methods = ['GET'],
    cacheByDefault = undefined,
    type = 'shared',
    origins = undefined
  } = opts

  assertCacheStore(store, 'opts.store')
  assertCacheMethods(methods, 'opts.methods')
  assertCacheOrigins(origins, 'opts.origins')
  if (typeof cacheByDefault !== 'undefined' && typeof cacheByDefault !== 'number') {
    throw new TypeError(`expected opts.cacheByDefault to be number or undefined, got ${typeof cacheByDefault}`)
  }
  if (typeof type !== 'undefined' && type !== 'shared' && type !== 'private') {
    throw new TypeError(`expected opts.type to be shared, private, or undefined, got ${typeof type}`)
  }

  const shared = type !== 'private'
  const cachedMethods = methods.slice()
  /** In-flight origin requests by key (request collapsing). */
  const flights = new Map()
  /** Keys with a background (stale-while-revalidate) revalidation running. */
  const revalidating = new Set()

  function allowedOrigin (origin) {
    if (origins === undefined) return true
    const o = String(origin).toLowerCase()
    return origins.some((a) => typeof a === 'string' ? a.toLowerCase() === o : a.test(o))
  }

  return (dispatch) => {
    // RFC 9111 §4.4: invalidate the target URI and same-origin Location / Content-Location.
    function invalidate (ctx, resHeaders) {
      const targets = [ctx.path]
      let base = null
      try { base = new URL(ctx.path, ctx.origin) } catch {}
      for (const name of base === null ? [] : ['location', 'content-location']) {
        const v = resHeaders[name]
        for (const loc of Array.isArray(v) ? v : v === undefined ? [] : [v]) {
          try {
            const u = new URL(String(loc), base)
            if (u.origin === base.origin) targets.push(u.pathname + u.search)
          } catch {}
        }
      }
      for (const path of targets) {
        for (const method of cachedMethods) {
          try { store.delete({ origin: ctx.origin, method, path, headers: ctx.headers })?.catch?.(nop) } catch {}
        }
      }
    }

    function toOrigin (ctx, opts, handler) {
      return dispatch(opts, new StoringHandler(ctx, handler, null))
    }

    /** A miss: lead or join a collapsing flight, or go to the origin alone. */
    /** Joins the open flight for this request's key, if any (request collapsing). */
    function follow (ctx, handler, alone, onServe) {
      if (!ctx.collapsible) return false
      const existing = flights.get(ctx.flightKey)
      if (existing === undefined || !existing.open) return false
      existing.join({
        headers: ctx.headers,
        serve (head, body) {
          onServe?.()
          respond(handler, undefined, served({ statusCode: head.statusCode, statusMessage: head.statusMessage, headers: head.entry.value.headers }, (Date.now() - head.entry.value.cachedAt) / 1000), body, ctx.method === 'HEAD')
        },
        alone,
        fail (err) {
          respondError(handler, err)
        }
      })
      return true
    }

    /**
     * Opens a flight for this request's key: `handler` wrapped so the flight
     * leaves the map when the response is known not to be shared, ends or fails.
     */
    function lead (ctx, handler) {
      const flight = new Flight((follower, head) =>
        head.varyFields === null || varyMatches(head.varyFields, follower.headers, head.leaderHeaders))
      flights.set(ctx.flightKey, flight)
      const done = () => { if (flights.get(ctx.flightKey) === flight) flights.delete(ctx.flightKey) }
      const wrapped = {
        onRequestStart: (c, x) => handler.onRequestStart?.(c, x),
        onRequestUpgrade: (c, s, h, sock) => handler.onRequestUpgrade?.(c, s, h, sock),
        onResponseStart: (c, s, h, m) => {
          if (!flight.open) done()
          return handler.onResponseStart?.(c, s, h, m)
        },
        onResponseData: (c, chunk) => handler.onResponseData?.(c, chunk),
        onResponseEnd: (c, t) => { done(); handler.onResponseEnd?.(c, t) },
        onResponseError: (c, err) => {
          done()
          if (typeof handler.onResponseError === 'function') handler.onResponseError(c, err)
          else throw err
        }
      }
      return { flight, done, handler: wrapped }
    }

    /** A miss: lead or join a collapsing flight, or go to the origin alone. */
    function miss (ctx, opts, handler) {
      if (ctx.requestDirectives.bits & rules.C.ONLY_IF_CACHED) {
        gatewayTimeout(handler)
        return true
      }
      if (!ctx.collapsible) return toOrigin(ctx, opts, handler)
      if (follow(ctx, handler, () => toOrigin(ctx, opts, handler))) return true
      const { flight, done, handler: leader } = lead(ctx, handler)
      try {
        return dispatch(opts, new StoringHandler(ctx, leader, flight))
      } catch (err) {
        done()
        flight.error(err)
        throw err
      }
    }

    /** Revalidates `result` (RFC 9111 §4.3.1), answering `handler` (or nobody, in the background). */
    function revalidate (ctx, opts, handler, result, staleIfError) {
      const revalidationOpts = { ...opts, headers: revalidationHeaders(opts.headers, result) }
      const background = handler === null
      // Concurrent requests for this stale response wait for this revalidation.
      const leading = background || !ctx.collapsible ? null : lead(ctx, handler)
      const settle = (fn) => {
        if (leading !== null) {
          fn(leading.flight)
          leading.done()
        }
      }
      const fallback = new StoringHandler(ctx, background ? null : (leading?.handler ?? handler), leading?.flight ?? null)
      const onStored = (updated, bodyPromise, context, fresh) => {
        if (background) return
        if (updated === null) {
          // stale-if-error: the stored response, as it is (waiters ask for themselves)
          settle((f) => f.start({ reusable: false }))
          serveStored(ctx, handler, result, (Date.now() - result.cachedAt) / 1000, result.body, context, true)
          return
        }
        bodyPromise.then(
          (chunks) => {
            settle((f) => {
              f.start({
                statusCode: updated.statusCode,
                statusMessage: updated.statusMessage,
                headers: updated.headers,
                reusable: fresh,
                varyFields: rules.varyFields(updated.headers.vary),
                leaderHeaders: ctx.headers,
                entry: { value: { headers: updated.headers, cachedAt: updated.cachedAt } }
              })
              for (const c of chunks) f.data(c)
              f.end()
            })
            serveStored(ctx, handler, updated, (Date.now() - updated.cachedAt) / 1000, chunks, context)
          },
          (err) => {
            settle((f) => f.error(err))
            respondError(handler, err)
          }
        )
      }
      const onRefetch = () => {
        if (background) return
        settle((f) => f.start({ reusable: false }))
        toOrigin(ctx, { ...opts, headers: withoutConditionals(opts.headers, ctx) }, handler)
      }
      try {
        return dispatch(
          revalidationOpts,
          new RevalidationHandler(ctx, result, fallback, onStored, onRefetch, staleIfError)
        )
      } catch (err) {
        settle((f) => f.error(err))
        throw err
      }
    }

    function withoutConditionals (h, ctx) {
      if (!ctx.conditional) return h
      const out = { ...h }
      for (const f of CONDITIONAL_FIELDS) delete out[f]
      return out
    }

    /** Decides from a store lookup (RFC 9111 §4). */
    function handleResult (ctx, opts, handler, result) {
      if (!result || !(result.deleteAt > Date.now())) {
        if (result) destroyBody(result.body)
        return miss(ctx, opts, handler)
      }
      const now = Date.now()
      const age = (now - result.cachedAt) / 1000
      const lifetime = (result.staleAt - result.cachedAt) / 1000
      const resDirectives = rules.directives(result.headers?.['cache-control'])
      const decision = rules.use(shared, resDirectives, ctx.requestDirectives, ctx.pragmaNoCache, lifetime, age)
      const code = decision & 3
      if (code === rules.USE_SERVE) {
        serveStored(ctx, handler, result, age, result.body, undefined, age >= lifetime)
        return true
      }
      if (code === rules.USE_SERVE_STALE_AND_REVALIDATE) {
        serveStored(ctx, handler, result, age, result.body, undefined, true)
        const key = ctx.flightKey
        if (!revalidating.has(key)) {
          revalidating.add(key)
          queueMicrotask(() => {
            const bgCtx = { ...ctx, conditional: false }
            const bg = {
              ...SILENT_HANDLER,
              onResponseEnd: () => revalidating.delete(key),
              onResponseError: () => revalidating.delete(key)
            }
            // A stream body is being served: a 304 re-reads the body from the store.
            const bgResult = Array.isArray(result.body) ? result : { ...result, body: null }
            try {
              dispatch({ ...opts, headers: revalidationHeaders(opts.headers, result) },
                new RevalidationHandler(bgCtx, bgResult, new StoringHandler(bgCtx, bg, null),
                  () => revalidating.delete(key), () => revalidating.delete(key), false))
            } catch {
              revalidating.delete(key)
            }
          })
        }
        return true
      }
      if (code === rules.USE_GATEWAY_TIMEOUT) {
        destroyBody(result.body)
        gatewayTimeout(handler)
        return true
      }
      if (ctx.method === 'HEAD' && ctx.fromGet) {
        // A GET entry that needs validation: ask the origin with HEAD, as asked;
        // its 200 freshens or invalidates the stored GET (RFC 9111 §4.3.5).
        return dispatch(opts, new HeadRefreshHandler({ ...ctx, noStore: true }, result, handler))
      }
      const staleIfError = (decision & rules.C.USE_STALE_IF_ERROR) !== 0
      const alone = () => revalidate({ ...ctx, collapsible: false }, opts, handler, result, staleIfError)
      if (follow(ctx, handler, alone, () => destroyBody(result.body))) return true
      return revalidate(ctx, opts, handler, result, staleIfError)
    }

    function lookup (ctx, key) {
      try {
        return store.get(key)
      } catch (err) {
        return Promise.reject(err)
      }
    }

    function withLookup (value, then, handler) {
      if (value && typeof value.then === 'function') {
        value.then(then).catch((err) => respondError(handler, err))
        return true
      }
      return then(value)
    }

    const interceptor = (opts, handler) => {
      if (!opts.origin || (SAFE_METHODS.includes(opts.method) && !cachedMethods.includes(opts.method) &&
          !(opts.method === 'HEAD' && cachedMethods.includes('GET')))) {
        return dispatch(opts, handler)
      }
      if (!allowedOrigin(opts.origin)) return dispatch(opts, handler)

      const headers = normalizeHeaders(opts.headers)
      opts = { ...opts, headers }
      const origin = String(opts.origin)
      const path = fullPath(opts)
      const method = opts.method
      const requestDirectives = rules.directives(headers['cache-control'])
      const selecting = selectingHeaders(headers)
      const ctx = {
        store,
        shared,
        cacheByDefault,
        origin,
        path,
        method,
        headers: selecting,
        requestDirectives,
        pragmaNoCache: pragmaNoCache(headers),
        methodCacheable: cachedMethods.includes(method),
        noStore: (requestDirectives.bits & rules.C.NO_STORE) !== 0,
        conditional: CONDITIONAL_FIELDS.some((f) => headers[f] !== undefined),
        // the request's fields as sent: `headers` is their Vary-selecting form, which
        // drops list whitespace (e.g. the space after an If-Range date's comma)
        requestHeaders: headers,
        key: { origin, method, path, headers: selecting },
        flightKey: origin + '\n' + method + '\n' + path,
        collapsible: false,
        fromGet: false
      }

      if (!SAFE_METHODS.includes(method)) {
        return dispatch(opts, new InvalidatingHandler(handler, (resHeaders) => invalidate(ctx, resHeaders)))
      }
      if (ctx.noStore || hasRequestBody(opts.body)) {
        return toOrigin({ ...ctx, noStore: true }, opts, handler)
      }
      // Collapsing only where one stored response could serve every waiter.
      ctx.collapsible = ctx.methodCacheable && !ctx.conditional && !ctx.pragmaNoCache &&
        headers.authorization === undefined &&
        !(requestDirectives.bits & (rules.C.NO_CACHE | rules.C.MAX_AGE | rules.C.MAX_AGE_INVALID | rules.C.MIN_FRESH))

      const onResult = (result) => {
        if (!result && method === 'HEAD' && cachedMethods.includes('GET')) {
          // RFC 9110 §9.3.2: HEAD is GET without the content: answer it from a stored GET.
          const getKey = { origin, method: 'GET', path, headers: selecting }
          return withLookup(lookup(ctx, getKey), (r) => {
            if (r) return handleResult({ ...ctx, fromGet: true, storeKey: getKey }, opts, handler, r)
            return ctx.methodCacheable ? miss(ctx, opts, handler) : toOrigin({ ...ctx, noStore: true }, opts, handler)
          }, handler)
        }
        if (!ctx.methodCacheable) return toOrigin({ ...ctx, noStore: true }, opts, handler)
        return handleResult(ctx, opts, handler, result)
      }
      const first = ctx.methodCacheable ? lookup(ctx, ctx.key) : undefined
      return withLookup(first, onResult, handler)
    }
    return interceptor
  }
}

function respondError (handler, err) {
  const controller = {
    rawHeaders: [],
    rawTrailers: [],
    pause () {},
    resume () {},
    get paused () { return false },
    get aborted () { return false },
    get reason () { return null },
    abort () {}
  }
  try { handler.onResponseError?.(controller, err) } catch {}
}

module.exports = { cache }
