//! Bindings of `redis::store::RedisStore` for `lib/redis-cache-store.js`.
//! Same call shape as the memory store (free functions on a per-thread `u32`
//! slot; an `External` frees the slot): L1 hits are synchronous calls, Redis
//! calls return Promises settled from the Redis runtime.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::{Env, JsString};
use napi_derive::napi;

use super::convert::{external_buffer, served, with_str};
use super::redis_client::client_options;
use super::redis_port::{spawn_completion, Payload};
use super::writers::{BodyWriters, UnknownWriter};
use crate::redis::store::{NewVariant, RedisStore, StoreOptions};
use crate::redis::RedisClient;
use crate::store::memory::{Found, Limits, Removals};

/// One JS store object's view of a (possibly shared) store.
pub struct RedisHandle {
    store: Arc<RedisStore>,
    writers: RefCell<BodyWriters>,
    cursor: Cell<u64>,
}

thread_local! {
    /// The key of the current L1 lookup (reused: the hit path allocates nothing).
    static KEY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static HANDLES: RefCell<Vec<Option<Rc<RedisHandle>>>> = const { RefCell::new(Vec::new()) };
}

/// Owned by the JS store object: frees its slot on `close()` or when
/// collected, whichever comes first (once: the slot may have been reused by
/// another store since).
pub struct RedisSlot {
    slot: usize,
    freed: AtomicBool,
}

impl RedisSlot {
    fn free(&self) {
        if self.freed.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = HANDLES.try_with(|h| {
            if let Some(slot) = h.borrow_mut().get_mut(self.slot) {
                *slot = None;
            }
        });
    }
}

impl Drop for RedisSlot {
    fn drop(&mut self) {
        self.free();
    }
}

fn get_handle(slot: u32) -> Result<Rc<RedisHandle>> {
    HANDLES.with(|h| {
        h.borrow()
            .get(slot as usize)
            .and_then(Clone::clone)
            .ok_or_else(|| Error::new(Status::InvalidArg, "store is closed".to_owned()))
    })
}

fn limit(value: f64) -> u64 {
    if value.is_finite() {
        value as u64
    } else {
        u64::MAX
    }
}

/// Opens a store; returns `[slot, owner]` as `memoryStoreOpen` does.
/// `l1_max_size < 0`: no L1. Throws `InvalidArg` for a URL that cannot be
/// read, `GenericFailure` when `name` is open with other options.
#[allow(clippy::too_many_arguments)]
#[napi(catch_unwind)]
pub fn redis_store_open(
    urls: Vec<String>,
    cluster: bool,
    command_timeout: f64,
    key_prefix: String,
    l1_max_size: f64,
    l1_max_count: f64,
    max_entry_size: f64,
    name: Option<String>,
) -> Result<Vec<Either<u32, External<RedisSlot>>>> {
    let client = RedisClient::open(&client_options(urls, cluster, command_timeout))
        .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
    let max_entry_size = limit(max_entry_size);
    let options = StoreOptions {
        key_prefix,
        l1: (l1_max_size >= 0.0).then(|| Limits {
            max_size: limit(l1_max_size),
            max_count: limit(l1_max_count),
            max_entry_size,
        }),
        max_entry_size,
    };
    let store = match name {
        None => Arc::new(RedisStore::new(client, options)),
        Some(name) => RedisStore::open_named(&name, client, options).map_err(|_| {
            Error::new(
                Status::GenericFailure,
                format!("RedisCacheStore '{name}' is already open with other options: open it with the same url, keyPrefix, l1, maxEntrySize and commandTimeout"),
            )
        })?,
    };
    let cursor = store.l1().map_or(0, |l1| l1.removal_cursor());
    let handle = Rc::new(RedisHandle {
        store,
        writers: RefCell::default(),
        cursor: Cell::new(cursor),
    });
    let slot = HANDLES.with(|h| {
        let mut h = h.borrow_mut();
        match h.iter().position(Option::is_none) {
            Some(i) => {
                h[i] = Some(handle);
                i
            }
            None => {
                h.push(Some(handle));
                h.len() - 1
            }
        }
    });
    Ok(vec![
        Either::A(slot as u32),
        Either::B(External::new(RedisSlot {
            slot,
            freed: AtomicBool::new(false),
        })),
    ])
}

/// Frees the store object's slot now (the shared store goes with its last
/// handle); idempotent.
#[napi(catch_unwind)]
pub fn redis_store_close(owner: &External<RedisSlot>) {
    owner.free();
}

fn with_key<R>(
    store: &RedisStore,
    origin: &JsString,
    path: &JsString,
    f: impl FnOnce(Vec<u8>) -> Result<R>,
) -> Result<R> {
    with_str(origin, |o| with_str(path, |p| f(store.key(o, p))))
}

/// The L1's live variants for `method` (as `memoryStoreLookup` returns them),
/// else `-1` (ask Redis) or `-2` (Redis is off the request path: a miss now).
#[napi(catch_unwind)]
pub fn redis_store_lookup(
    slot: u32,
    method: JsString,
    origin: JsString,
    path: JsString,
    touch: f64,
    now: f64,
) -> Result<Either<f64, Vec<f64>>> {
    let h = get_handle(slot)?;
    let store = &h.store;
    let unavailable = || {
        if store.client().is_available() {
            -1.0
        } else {
            -2.0
        }
    };
    let Some(l1) = store.l1() else {
        return Ok(Either::A(unavailable()));
    };
    // The key is built in this thread's reused buffer: an L1 hit allocates
    // nothing (as the memory store's lookup).
    let lookup = with_str(&origin, |o| {
        with_str(&path, |p| {
            with_str(&method, |method| {
                KEY.with(|k| {
                    let mut key = k.borrow_mut();
                    store.write_key(&mut key, o, p);
                    Ok(l1.lookup(&key, method, now, served(touch)))
                })
            })
        })
    })?;
    Ok(match (lookup.found, lookup.reclaimed) {
        (Found::Miss, false) => Either::A(unavailable()),
        (Found::One(id), false) => Either::A(id as f64),
        (found, reclaimed) => {
            let ids = match found {
                Found::Miss => Vec::new(),
                Found::One(id) => vec![id],
                Found::Many(ids) => ids,
            };
            if ids.is_empty() {
                // Expired entries were reclaimed, nothing left: a plain miss
                // (the removals are drained with the next fetch).
                return Ok(Either::A(unavailable()));
            }
            let mut out = Vec::with_capacity(ids.len() + 1);
            out.push(reclaimed as u8 as f64);
            out.extend(ids.into_iter().map(|id| id as f64));
            Either::B(out)
        }
    })
}

/// The stored metadata JSON of a live L1 entry, or null.
#[napi(catch_unwind)]
pub fn redis_store_meta(slot: u32, id: f64) -> Result<Option<String>> {
    let h = get_handle(slot)?;
    let Some(l1) = h.store.l1() else {
        return Ok(None);
    };
    Ok(l1
        .with_meta(id as u64, |meta, _| String::from_utf8(meta.to_vec()).ok())
        .flatten())
}

/// The body of a live L1 entry as a Buffer over the stored bytes, or null.
#[napi(catch_unwind)]
pub fn redis_store_body<'env>(
    env: &'env Env,
    slot: u32,
    id: f64,
) -> Result<Option<BufferSlice<'env>>> {
    let h = get_handle(slot)?;
    match h.store.l1().and_then(|l1| l1.body(id as u64)) {
        None => Ok(None),
        Some(body) => external_buffer(env, body).map(Some),
    }
}

/// Ids removed from the L1 since this handle last asked (`-1` first: the
/// log overflowed).
#[napi(catch_unwind)]
pub fn redis_store_removed(slot: u32) -> Result<Vec<f64>> {
    let h = get_handle(slot)?;
    let mut out = Vec::new();
    if let Some(l1) = h.store.l1() {
        let Removals {
            ids,
            cursor,
            overflowed,
        } = l1.removed_since(h.cursor.get());
        h.cursor.set(cursor);
        if overflowed {
            out.push(-1.0);
        }
        out.extend(ids.into_iter().map(|id| id as f64));
    }
    Ok(out)
}

/// Which of `ids` are still in the L1 (1) or gone (0).
#[napi(catch_unwind)]
pub fn redis_store_alive(slot: u32, ids: Vec<f64>) -> Result<Vec<u8>> {
    let h = get_handle(slot)?;
    Ok(ids
        .into_iter()
        .map(|id| h.store.l1().is_some_and(|l1| l1.contains(id as u64)) as u8)
        .collect())
}

/// Reads the resource from Redis; completes `id` on the port with `[meta,
/// body, meta, body, ...]` (metadata JSON strings and Buffers) for the live
/// variants of `method`, in write order (filling the L1 when that is safe),
/// or with an error when Redis did not answer in time.
#[napi(catch_unwind)]
pub fn redis_store_fetch(
    env: &Env,
    slot: u32,
    id: f64,
    method: String,
    origin: JsString,
    path: JsString,
    now: f64,
) -> Result<()> {
    let h = get_handle(slot)?;
    let fetch = with_key(&h.store, &origin, &path, |key| Ok(h.store.fetch(key, now)))?;
    spawn_completion(env, id, async move {
        let variants = fetch.await.map_err(|e| e.to_string())?;
        let parts = variants
            .into_iter()
            .filter(|v| v.method == method)
            .map(|v| (String::from_utf8_lossy(&v.meta).into_owned(), v.body))
            .collect();
        Ok(Payload::Parts(parts))
    })
}

/// Counts a fetch's outcome after the shell matched Vary: hit or miss.
#[napi(catch_unwind)]
pub fn redis_store_record(slot: u32, hit: bool) -> Result<()> {
    get_handle(slot)?.store.record(hit);
    Ok(())
}

/// Copies a chunk into writer `writer` (negative: a new writer); returns its
/// id, or -1 when the body passed `maxEntrySize`.
#[napi(catch_unwind)]
pub fn redis_store_append(slot: u32, writer: i32, chunk: BufferSlice) -> Result<i32> {
    let h = get_handle(slot)?;
    let max = h.store.options().max_entry_size;
    let id = h.writers.borrow_mut().append(writer, &chunk, max)?;
    Ok(id)
}

/// Drops an unfinished body.
#[napi(catch_unwind)]
pub fn redis_store_abort(slot: u32, writer: i32) -> Result<()> {
    get_handle(slot)?.writers.borrow_mut().abort(writer);
    Ok(())
}

/// Stores writer `writer`'s body (negative: empty) as one variant, in one
/// atomic script that also publishes the invalidation. This process' L1
/// forgets the resource at once; `id` completes when Redis answered.
#[allow(clippy::too_many_arguments)]
#[napi(catch_unwind)]
pub fn redis_store_write(
    env: &Env,
    slot: u32,
    id: f64,
    writer: i32,
    method: String,
    origin: JsString,
    path: JsString,
    variant: String,
    meta: String,
    delete_at: f64,
    now: f64,
    request: String,
) -> Result<()> {
    let h = get_handle(slot)?;
    let body = h.writers.borrow_mut().take(writer).ok_or(UnknownWriter)?;
    let write = with_key(&h.store, &origin, &path, |key| {
        Ok(h.store.write(
            key,
            NewVariant {
                method,
                variant,
                meta,
                body,
                delete_at,
                now,
                request,
            },
        ))
    })?;
    complete_when_done(env, id, write)
}

/// Completes `id` on this thread's port with `undefined` once `done` has
/// resolved, or with its error's text.
fn complete_when_done<E: std::fmt::Display + Send + 'static>(
    env: &Env,
    id: f64,
    done: impl std::future::Future<Output = std::result::Result<(), E>> + Send + 'static,
) -> Result<()> {
    spawn_completion(env, id, async move {
        done.await
            .map(|()| Payload::Undefined)
            .map_err(|e| e.to_string())
    })
}

/// Removes every variant of the resource in Redis and every L1; `id`
/// completes when Redis answered.
#[napi(catch_unwind)]
pub fn redis_store_delete(
    env: &Env,
    slot: u32,
    id: f64,
    origin: JsString,
    path: JsString,
) -> Result<()> {
    let h = get_handle(slot)?;
    let delete = with_key(&h.store, &origin, &path, |key| Ok(h.store.delete(key)))?;
    complete_when_done(env, id, delete)
}

/// `[l1Hits, l2Hits, misses, writes, errors, reconnects, l1Size, l1Count]`;
/// `touch` as in `redis_store_lookup`.
#[napi(catch_unwind)]
pub fn redis_store_stats(slot: u32, touch: f64) -> Result<Vec<f64>> {
    let h = get_handle(slot)?;
    let s = h.store.stats(served(touch));
    let (size, count) = h.store.l1().map_or((0, 0), |l1| (l1.size(), l1.count()));
    Ok([
        s.l1_hits,
        s.l2_hits,
        s.misses,
        s.writes,
        s.errors,
        s.reconnects,
        size,
        count,
    ]
    .map(|v| v as f64)
    .to_vec())
}
