'use strict'

// The dispatch handlers of the cache interceptor (undici 7 handler API:
// onRequestStart / onResponseStart / onResponseData / onResponseEnd /
// onResponseError) and the code that answers from a stored response.

const { Readable } = require('node:stream')
const rules = require('./interceptor-rules.js')

const nop = () => {}
const DAY_MS = 86400000

class AbortError extends Error {
  constructor (message = 'The operation was aborted') {
    super(message)
    this.name = 'AbortError'
    this.code = 'UND_ERR_ABORTED'
  }
}

/** Whether a value is a usable entity-tag (RFC 9110 §8.8.3: opaque-tag in quotes, optional W/). */
function isEntityTag (etag) {
  return typeof etag === 'string' && /^(W\/)?"[^"]*"$/.test(etag)
}

/** Raw header pairs [name, value, …] as Buffers, as undici's controllers carry them. */
function toRawHeaders (headers) {
  const raw = []
  for (const name in headers) {
    const v = headers[name]
    if (Array.isArray(v)) {
      for (const x of v) raw.push(Buffer.from(name), Buffer.from(String(x)))
    } else if (v !== undefined) {
      raw.push(Buffer.from(name), Buffer.from(String(v)))
    }
  }
  return raw
}

/**
 * The stored form of a response's fields: without the fields RFC 9111 §3.1
 * forbids storing, those Connection lists, and those `no-cache="…"` (and, in
 * a shared cache, `private="…"`) name (§5.2.2.4, §5.2.2.7).
 */
function storedFields (resHeaders, resDirectives, shared) {
  const drop = new Set(rules.NOT_STORED)
  const connection = resHeaders.connection
  if (connection) {
    for (const v of Array.isArray(connection) ? connection : [connection]) {
      for (const t of String(v).split(',')) drop.add(t.trim().toLowerCase())
    }
  }
  if (resDirectives.noCacheFields) for (const f of resDirectives.noCacheFields) drop.add(f)
  if (shared && resDirectives.privateFields) for (const f of resDirectives.privateFields) drop.add(f)
  const out = {}
  for (const name in resHeaders) {
    if (!drop.has(name)) out[name] = resHeaders[name]
  }
  return out
}

/** undici's `cacheControlDirectives` shape, so a store shared with undici's interceptor reads our entries. */
function undiciDirectives (d) {
  const out = {}
  const B = rules.C
  if (d.bits & B.MAX_AGE) out['max-age'] = d.maxAge
  if (d.bits & B.S_MAXAGE) out['s-maxage'] = d.sMaxAge
  if (d.bits & B.STALE_WHILE_REVALIDATE) out['stale-while-revalidate'] = d.swr
  if (d.bits & B.STALE_IF_ERROR) out['stale-if-error'] = d.sie
  if (d.bits & B.NO_CACHE) out['no-cache'] = true
  else if (d.noCacheFields) out['no-cache'] = d.noCacheFields.slice()
  if (d.bits & B.PRIVATE) out.private = true
  else if (d.privateFields) out.private = d.privateFields.slice()
  if (d.bits & B.PUBLIC) out.public = true
  if (d.bits & B.MUST_REVALIDATE) out['must-revalidate'] = true
  if (d.bits & B.PROXY_REVALIDATE) out['proxy-revalidate'] = true
  if (d.bits & B.IMMUTABLE) out.immutable = true
  if (d.bits & B.NO_STORE) out['no-store'] = true
  return out
}

/**
 * The store entry for a response, or `null` if it may not be stored.
 * `fresh` says whether it is fresh on arrival (collapsed followers may use it).
 */
function entryFor (ctx, statusCode, statusMessage, resHeaders, requestTime) {
  const responseTime = Date.now()
  const resDirectives = rules.directives(resHeaders['cache-control'])
  const vary = rules.varyFields(resHeaders.vary)
  const varyStar = vary === null || vary[0] === '*'
  const decision = rules.arrive({
    status: statusCode,
    methodCacheable: ctx.methodCacheable,
    shared: ctx.shared,
    authorization: ctx.headers.authorization !== undefined,
    requestDirectives: ctx.requestDirectives,
    responseDirectives: resDirectives,
    headers: resHeaders,
    varyStar,
    cacheByDefault: ctx.cacheByDefault,
    requestTime,
    responseTime
  })
  if (!decision.storable) return null
  const cachedAt = responseTime - decision.initialAge * 1000
  const staleAt = cachedAt + decision.lifetime * 1000
  const keep = Math.max(
    rules.C.STALE_WHILE_REVALIDATE & resDirectives.bits ? resDirectives.swr * 1000 : 0,
    rules.C.STALE_IF_ERROR & resDirectives.bits ? resDirectives.sie * 1000 : 0,
    DAY_MS
  )
  let varyValues
  if (vary.length > 0) {
    varyValues = {}
    for (const f of vary) {
      const v = ctx.headers[f]
      varyValues[f] = v === undefined ? null : Array.isArray(v) ? v.slice() : v
    }
  }
  const headers = storedFields(resHeaders, resDirectives, ctx.shared)
  const value = {
    statusCode,
    statusMessage: statusMessage ?? '',
    headers,
    vary: varyValues,
    cacheControlDirectives: undiciDirectives(resDirectives),
    cachedAt,
    staleAt,
    deleteAt: Math.min(staleAt + keep, 8.64e15)
  }
  if (isEntityTag(resHeaders.etag)) value.etag = resHeaders.etag
  return {
    value,
    varyFields: vary,
    fresh: decision.lifetime > decision.initialAge && !(resDirectives.bits & rules.C.NO_CACHE)
  }
}

/**
 * Writes a whole entry (headers + body chunks) into the store; errors are
 * swallowed (a cache store failure never fails a response).
 */
function storeEntry (store, key, value, chunks) {
  let ws
  try {
    ws = store.createWriteStream(key, value)
  } catch {
    return
  }
  if (!ws) return
  ws.on('error', nop)
  try {
    for (const c of chunks) ws.write(c)
    ws.end()
  } catch {
    ws.destroy()
  }
}

/** A body from a store result as a stream (stores give arrays of Buffers, or streams). */
function bodyStream (body) {
  if (body && typeof body.pipe === 'function') return body
  return Readable.from(body ?? [], { objectMode: false })
}

/** The byte length of a stored body: summed for chunks, Content-Length for a stream (NaN if unknown). */
function bodyLength (body, headers) {
  if (body === null || body === undefined) return 0
  if (Array.isArray(body)) {
    let n = 0
    for (const c of body) n += c.length
    return n
  }
  const cl = headers['content-length']
  return typeof cl === 'string' && /^\d+$/.test(cl) ? Number(cl) : NaN
}

/** Bytes `first..=last` of a stored body (chunks, or a stream cut while it flows). */
function sliceBody (body, first, last) {
  if (Array.isArray(body)) {
    const out = []
    let pos = 0
    for (const c of body) {
      const end = pos + c.length
      if (end > first && pos <= last) out.push(c.subarray(Math.max(0, first - pos), Math.min(c.length, last - pos + 1)))
      pos = end
    }
    return out
  }
  async function * cut (source) {
    let pos = 0
    for await (const c of source) {
      const end = pos + c.length
      if (end > first && pos <= last) yield c.subarray(Math.max(0, first - pos), Math.min(c.length, last - pos + 1))
      pos = end
      if (pos > last) break
    }
  }
  return Readable.from(cut(bodyStream(body)), { objectMode: false })
}

/**
 * Answers `handler` with a response: headers, then the body stream (unless
 * `head`). Used for stored responses, collapsed followers and 504s.
 */
function respond (handler, context, response, body, head) {
  if (body === null || Array.isArray(body)) {
    respondChunks(handler, context, response, body ?? [], head)
    return
  }
  respondStream(handler, context, response, body, head)
}

/**
 * `respond` for a body already in memory (the stores' arrays of Buffers):
 * chunks are handed over from a microtask, honouring pause/resume and abort,
 * without a stream per response (the hit path's main cost otherwise).
 */
function respondChunks (handler, context, { statusCode, statusMessage, headers }, chunks, head) {
  let i = head ? chunks.length : 0
  let paused = false
  let done = false
  let scheduled = false
  let reason = null
  const fail = (err) => {
    if (done) return
    done = true
    reason = err
    try { handler.onResponseError?.(controller, err) } catch {}
  }
  const pump = () => {
    scheduled = false
    try {
      while (!done && !paused && i < chunks.length) {
        handler.onResponseData?.(controller, chunks[i++])
      }
      if (!done && !paused) {
        done = true
        handler.onResponseEnd?.(controller, {})
      }
    } catch (err) {
      fail(err)
    }
  }
  const schedule = () => {
    if (!scheduled && !done) {
      scheduled = true
      queueMicrotask(pump)
    }
  }
  const controller = {
    resume () {
      if (paused) {
        paused = false
        schedule()
      }
    },
    pause () { paused = true },
    get paused () { return paused },
    get aborted () { return reason !== null && done },
    get reason () { return reason },
    abort (why) { fail(why ?? new AbortError()) },
    get rawHeaders () { return toRawHeaders(headers) },
    rawTrailers: []
  }
  try {
    handler.onRequestStart?.(controller, context ?? {})
    if (done) return
    handler.onResponseStart?.(controller, statusCode, headers, statusMessage)
  } catch (err) {
    fail(err)
    return
  }
  schedule()
}

function respondStream (handler, context, { statusCode, statusMessage, headers }, body, head) {
  const stream = bodyStream(body)
  const controller = {
    resume () { stream.resume() },
    pause () { stream.pause() },
    get paused () { return stream.isPaused() },
    get aborted () { return stream.destroyed },
    get reason () { return stream.errored },
    abort (reason) { stream.destroy(reason ?? new AbortError()) },
    get rawHeaders () { return toRawHeaders(headers) },
    rawTrailers: []
  }
  let finished = false
  stream
    .on('error', (err) => {
      if (finished) return
      finished = true
      try { handler.onResponseError?.(controller, err) } catch {}
    })
    .on('close', () => {
      if (finished || stream.errored) return
      finished = true
      try {
        handler.onResponseEnd?.(controller, {})
      } catch (err) {
        try { handler.onResponseError?.(controller, err) } catch {}
      }
    })
  try {
    handler.onRequestStart?.(controller, context ?? {})
    if (stream.destroyed) return
    handler.onResponseStart?.(controller, statusCode, headers, statusMessage)
  } catch (err) {
    stream.destroy(err)
    return
  }
  if (head) {
    stream.on('error', nop)
    stream.destroy()
    return
  }
  stream.on('data', (chunk) => {
    try {
      handler.onResponseData?.(controller, chunk)
    } catch (err) {
      stream.destroy(err)
    }
  })
}

/**
 * Forwards an origin response to the downstream handler, storing it when
 * RFC 9111 allows, and feeding a collapsing flight (if it leads one).
 */
class StoringHandler {
  #ctx
  #handler
  #flight
  #writer = null
  #requestTime = Date.now()
  #onResponse

  /**
   * @param ctx request context (store, key, headers, directives, options)
   * @param handler downstream handler (may be null: background revalidation)
   * @param flight collapsing flight this request leads, or null
   * @param onResponse optional hook (statusCode, headers) run before storing
   */
  constructor (ctx, handler, flight, onResponse) {
    this.#ctx = ctx
    this.#handler = handler
    this.#flight = flight
    this.#onResponse = onResponse
  }

  onRequestStart (controller, context) {
    this.#writer?.destroy()
    this.#writer = null
    this.#handler?.onRequestStart?.(controller, context)
  }

  onRequestUpgrade (controller, statusCode, headers, socket) {
    this.#handler?.onRequestUpgrade?.(controller, statusCode, headers, socket)
  }

  onResponseStart (controller, statusCode, headers, statusMessage) {
    const ctx = this.#ctx
    this.#onResponse?.(statusCode, headers)
    let entry = null
    if (statusCode >= 200 && !ctx.noStore) {
      entry = entryFor(ctx, statusCode, statusMessage, headers, this.#requestTime)
    }
    if (entry !== null) {
      try {
        const ws = ctx.store.createWriteStream(ctx.key, entry.value)
        if (ws) {
          this.#writer = ws
          ws.on('error', () => {
            if (this.#writer === ws) this.#writer = null
            try { ctx.store.delete(ctx.key)?.catch?.(nop) } catch {}
          })
          ws.on('drain', () => controller.resume())
        }
      } catch {
        this.#writer = null
      }
    } else if (statusCode >= 200 && statusCode < 300 && headers['cache-control'] !== undefined) {
      // RFC 9111 §4: a newer response that may not be stored replaces nothing, but the
      // stored one must not outlive a response that forbids its reuse (e.g. no-store).
      const d = rules.directives(headers['cache-control'])
      if (d.bits & rules.C.NO_STORE) {
        try { ctx.store.delete(ctx.key)?.catch?.(nop) } catch {}
      }
    }
    if (this.#flight !== null) {
      this.#flight.start({
        statusCode,
        statusMessage,
        headers,
        reusable: entry !== null && entry.fresh,
        varyFields: entry?.varyFields ?? null,
        leaderHeaders: ctx.headers,
        entry
      })
    }
    return this.#handler?.onResponseStart?.(controller, statusCode, headers, statusMessage)
  }

  onResponseData (controller, chunk) {
    if (this.#writer !== null && this.#writer.write(chunk) === false) controller.pause()
    this.#flight?.data(chunk)
    return this.#handler?.onResponseData?.(controller, chunk)
  }

  onResponseEnd (controller, trailers) {
    try { this.#writer?.end() } catch {}
    this.#writer = null
    this.#flight?.end()
    this.#handler?.onResponseEnd?.(controller, trailers)
  }

  onResponseError (controller, err) {
    this.#writer?.destroy()
    this.#writer = null
    this.#flight?.error(err)
    if (this.#handler === null) return
    if (typeof this.#handler.onResponseError === 'function') {
      this.#handler.onResponseError(controller, err)
    } else {
      throw err
    }
  }
}

/**
 * Revalidation of a stored response (RFC 9111 §4.3). On a 304 that selects
 * it (§4.3.4), the stored fields are updated (§3.2), the entry re-stored and
 * served; on a 5xx (or a failed connection) within stale-if-error, the stored
 * response is served; anything else goes through `fallback` (a
 * StoringHandler) as a new response.
 */
class RevalidationHandler {
  #ctx
  #result
  #fallback
  #onStored
  #onRefetch
  #staleIfError
  #mode = null // 'stored' | 'fallback'
  #context
  #requestTime = Date.now()

  /**
   * @param ctx request context
   * @param result the stored response being revalidated
   * @param fallback handler for a new (non-304) response
   * @param onStored (response, body) => void: serve the (updated) stored response
   * @param onRefetch () => void: the 304 did not select it: fetch unconditionally
   * @param staleIfError whether a 5xx may be answered with the stored response
   */
  constructor (ctx, result, fallback, onStored, onRefetch, staleIfError) {
    this.#ctx = ctx
    this.#result = result
    this.#fallback = fallback
    this.#onStored = onStored
    this.#onRefetch = onRefetch
    this.#staleIfError = staleIfError
  }

  onRequestStart (controller, context) {
    this.#mode = null
    this.#context = context
  }

  onRequestUpgrade (controller, statusCode, headers, socket) {
    this.#fallback.onRequestUpgrade?.(controller, statusCode, headers, socket)
  }

  onResponseStart (controller, statusCode, headers, statusMessage) {
    const result = this.#result
    if (statusCode === 304) {
      if (!rules.notModifiedMatches(result.headers, headers)) {
        this.#mode = 'refetch'
        return true
      }
      this.#mode = 'stored'
      const merged = mergeNotModified(result.headers, headers)
      const ctx = this.#ctx
      const entry = entryFor(ctx, result.statusCode, result.statusMessage, merged, this.#requestTime)
      const body = result.body === null ? reloadBody(ctx) : collectBody(result.body)
      if (entry !== null) {
        entry.value.etag ??= result.etag
        entry.value.vary ??= result.vary
        body.then((chunks) => storeEntry(ctx.store, ctx.storeKey ?? ctx.key, entry.value, chunks), nop)
      } else {
        try { ctx.store.delete(ctx.storeKey ?? ctx.key)?.catch?.(nop) } catch {}
      }
      this.#onStored({ statusCode: result.statusCode, statusMessage: result.statusMessage, headers: entry?.value.headers ?? merged, cachedAt: entry?.value.cachedAt ?? Date.now() }, body, this.#context, entry !== null && entry.fresh)
      return true
    }
    if (this.#staleIfError && statusCode >= 500 && statusCode <= 504) {
      this.#mode = 'stored'
      this.#onStored(null, null, this.#context)
      return true
    }
    this.#mode = 'fallback'
    this.#fallback.onRequestStart?.(controller, this.#context)
    return this.#fallback.onResponseStart?.(controller, statusCode, headers, statusMessage)
  }

  onResponseData (controller, chunk) {
    if (this.#mode === 'fallback') return this.#fallback.onResponseData?.(controller, chunk)
  }

  onResponseEnd (controller, trailers) {
    if (this.#mode === 'fallback') this.#fallback.onResponseEnd?.(controller, trailers)
    else if (this.#mode === 'refetch') this.#onRefetch()
  }

  onResponseError (controller, err) {
    if (this.#mode === 'stored') return
    if (this.#mode === null && this.#staleIfError) {
      this.#mode = 'stored'
      this.#onStored(null, null, this.#context)
      return
    }
    this.#fallback.onResponseError?.(controller, err)
  }
}

/**
 * Passes every callback on to the client's handler; the handlers below
 * override what they add.
 */
class ForwardingHandler {
  handler

  constructor (handler) {
    this.handler = handler
  }

  onRequestStart (controller, context) {
    this.handler.onRequestStart?.(controller, context)
  }

  onRequestUpgrade (controller, statusCode, headers, socket) {
    this.handler.onRequestUpgrade?.(controller, statusCode, headers, socket)
  }

  onResponseStart (controller, statusCode, headers, statusMessage) {
    return this.handler.onResponseStart?.(controller, statusCode, headers, statusMessage)
  }

  onResponseData (controller, chunk) {
    return this.handler.onResponseData?.(controller, chunk)
  }

  onResponseEnd (controller, trailers) {
    this.handler.onResponseEnd?.(controller, trailers)
  }

  onResponseError (controller, err) {
    if (typeof this.handler.onResponseError === 'function') this.handler.onResponseError(controller, err)
    else throw err
  }
}

/**
 * A HEAD the cache sends to the origin for a stored GET response that needs
 * validation (RFC 9111 §4.3.5). A 200 whose validators and Content-Length agree
 * with the stored response updates it (its fields, §3.2, and so its freshness),
 * and the client gets the updated stored response's fields; a 200 that
 * disagrees makes the stored response stale (it is removed). Any other answer
 * passes through as it is.
 */
class HeadRefreshHandler extends ForwardingHandler {
  #ctx
  #result
  #requestTime = Date.now()

  /**
   * @param ctx request context (`storeKey`: the stored GET's key)
   * @param result the stored GET response
   * @param handler the client's handler
   */
  constructor (ctx, result, handler) {
    super(handler)
    this.#ctx = ctx
    this.#result = result
  }

  onResponseStart (controller, statusCode, headers, statusMessage) {
    const result = this.#result
    const ctx = this.#ctx
    const key = ctx.storeKey ?? ctx.key
    const body = result.body
    this.#result = null
    if (statusCode === 200 && result.statusCode === 200) {
      if (rules.headUpdates(result.headers, bodyLength(body, result.headers), headers)) {
        const merged = mergeNotModified(result.headers, headers)
        // the stored response is a GET's: stored as such, whatever `methods` says of HEAD
        const entry = entryFor({ ...ctx, methodCacheable: true }, result.statusCode, result.statusMessage, merged, this.#requestTime)
        if (entry !== null) {
          entry.value.etag ??= result.etag
          entry.value.vary ??= result.vary
          collectBody(body).then((chunks) => storeEntry(ctx.store, key, entry.value, chunks), nop)
          const age = Math.max(0, Math.floor((Date.now() - entry.value.cachedAt) / 1000))
          return super.onResponseStart(controller, statusCode, { ...entry.value.headers, age: String(age) }, statusMessage)
        }
      }
      try { ctx.store.delete(key)?.catch?.(nop) } catch {}
    }
    if (body && typeof body.pipe === 'function') body.on('error', nop).destroy()
    return super.onResponseStart(controller, statusCode, headers, statusMessage)
  }

  onResponseError (controller, err) {
    const body = this.#result?.body
    if (body && typeof body.pipe === 'function') body.on('error', nop).destroy()
    super.onResponseError(controller, err)
  }
}

/** A store result's body as a Promise of its chunks (arrays as they are, streams collected). */
function collectBody (body) {
  if (body == null) return Promise.resolve([])
  if (typeof body.pipe === 'function') {
    return new Promise((resolve, reject) => {
      const chunks = []
      body.on('data', (c) => chunks.push(c)).on('end', () => resolve(chunks)).on('error', reject)
    })
  }
  return Promise.resolve(Array.from(body))
}

/** The stored body, read again (the one looked up is being served elsewhere). */
function reloadBody (ctx) {
  return Promise.resolve()
    .then(() => ctx.store.get(ctx.storeKey ?? ctx.key))
    .then((r) => {
      if (!r) throw new Error('stored response gone')
      return collectBody(r.body)
    })
}

/** RFC 9111 §3.2: the 304's fields replace the stored ones, except those the RFC excepts. */
function mergeNotModified (stored, notModified) {
  const merged = { ...stored }
  for (const name in notModified) {
    if (rules.KEPT_ON_UPDATE.has(name) || rules.NOT_STORED.has(name)) continue
    merged[name] = notModified[name]
  }
  return merged
}

/**
 * Forwards a response to an unsafe request, invalidating the stored
 * responses it makes stale (RFC 9111 §4.4).
 */
class InvalidatingHandler extends ForwardingHandler {
  #invalidate

  constructor (handler, invalidate) {
    super(handler)
    this.#invalidate = invalidate
  }

  onResponseStart (controller, statusCode, headers, statusMessage) {
    // RFC 9111 §4.4: a non-error status code (2xx or 3xx) to an unsafe method invalidates
    if (statusCode >= 200 && statusCode <= 399) this.#invalidate(headers)
    return super.onResponseStart(controller, statusCode, headers, statusMessage)
  }
}

/** A handler that drops everything (background revalidation). */
const SILENT_HANDLER = Object.freeze({
  onRequestStart: nop,
  onRequestUpgrade: nop,
  onResponseStart: nop,
  onResponseData: nop,
  onResponseEnd: nop,
  onResponseError: nop
})

module.exports = {
  bodyLength,
  sliceBody,
  StoringHandler,
  RevalidationHandler,
  HeadRefreshHandler,
  InvalidatingHandler,
  SILENT_HANDLER,
  respond,
  entryFor,
  storeEntry,
  mergeNotModified
}
