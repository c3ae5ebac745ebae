//! Bindings of `redis::pages::SharedPages` (the Redis tier of `ferrocache/vsf`)
//! for `lib/vsf-redis.js`. Only L1 misses, stores and invalidations come
//! here; L1 hits stay on `page_cache.rs`' synchronous calls. Promises are
//! settled from the Redis runtime (`redis_client::spawn_promise`); failures the
//! request survives go to the shell's `report(message)` callback through an
//! unref'd threadsafe function.

use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::Env;
use napi_derive::napi;

use super::page_cache::PageHandle;
use super::redis_client::{client_options, deadline, spawn_promise};
use super::redis_port::{spawn_completion, Payload};
use crate::redis::pages::{Fetched, SharedPages};
use crate::redis::RedisClient;
use crate::store::pages::{InsertOutcome, PageId};

/// One driver's Redis tier.
pub struct SharedHandle {
    shared: SharedPages,
}

fn ids(out: &mut Vec<f64>, ids: impl IntoIterator<Item = PageId>) {
    out.extend(ids.into_iter().map(|id| id as f64));
}

/// Opens the tier over the driver's page cache. `urls`: one server, or the
/// seed nodes of a Cluster (`cluster` or several URLs). Throws `InvalidArg`
/// for a URL that cannot be read; never connects synchronously.
#[allow(clippy::too_many_arguments)]
#[napi(catch_unwind)]
pub fn vsf_redis_open(
    page: &External<PageHandle>,
    urls: Vec<String>,
    cluster: bool,
    key_prefix: String,
    command_timeout: f64,
    lock_timeout: f64,
    report: Function<'_, String, ()>,
) -> Result<External<SharedHandle>> {
    let client = RedisClient::open(&client_options(urls, cluster, command_timeout))
        .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
    let tsfn = Arc::new(
        report
            .build_threadsafe_function::<String>()
            .weak::<true>()
            .callee_handled::<false>()
            .build()?,
    );
    let shared = SharedPages::new(
        client,
        page.cache.clone(),
        &key_prefix,
        deadline(lock_timeout),
        Arc::new(move |message: String| {
            tsfn.call(message, ThreadsafeFunctionCallMode::NonBlocking);
        }),
    );
    Ok(External::new(SharedHandle { shared }))
}

/// The id of the live, current L1 page under `key`, or -1 (a stale page met
/// is removed). Replaces `pageCacheGet` when the driver has the Redis tier.
#[napi(catch_unwind)]
pub fn vsf_redis_get(handle: &External<SharedHandle>, key: String, now: f64) -> f64 {
    handle
        .shared
        .coherent()
        .get(&key, now)
        .map_or(-1.0, |id| id as f64)
}

/// Whether L1 page `id` is live and current (marks it used). Replaces
/// `pageCacheTouch` when the driver has the Redis tier.
#[napi(catch_unwind)]
pub fn vsf_redis_touch(handle: &External<SharedHandle>, id: f64, now: f64) -> bool {
    handle.shared.coherent().touch(id as PageId, now)
}

/// The generation a render records when it starts.
#[napi(catch_unwind)]
pub fn vsf_redis_generation(handle: &External<SharedHandle>) -> f64 {
    handle.shared.coherent().generation() as f64
}

/// `[meta, json]` through the completion port: `meta` is `"<outcome> <id>
/// <token>"` (outcome 0 hit, 1 render, 2 wait, 3 offline; id of the L1 copy
/// or -1; token the lock, or empty) and `json` a Buffer over the value read
/// (empty unless a hit).
fn completion(fetched: Fetched) -> Payload {
    let (meta, body) = match fetched {
        Fetched::Hit { content, outcome } => (
            format!("0 {} ", outcome.stored.map_or(-1.0, |id| id as f64)),
            content,
        ),
        Fetched::Render { token } => (format!("1 -1 {}", token.unwrap_or_default()), Bytes::new()),
        Fetched::Wait => ("2 -1 ".to_owned(), Bytes::new()),
        Fetched::Offline => ("3 -1 ".to_owned(), Bytes::new()),
    };
    Payload::Parts(vec![(meta, body)])
}

/// An L1 miss: reads the page from Redis (taking its lock when missing);
/// completes `id` on this thread's port (`lib/redis-port.js`). Never fails
/// for a Redis failure (offline).
#[napi(catch_unwind)]
pub fn vsf_redis_fetch(
    env: &Env,
    handle: &External<SharedHandle>,
    id: f64,
    l1_key: String,
    key: String,
    now: f64,
) -> Result<()> {
    let shared = handle.shared.clone();
    spawn_completion(env, id, async move {
        Ok(completion(shared.fetch(&l1_key, &key, now).await))
    })
}

/// Waits for another instance's render of `key` (at most the lock timeout);
/// completes `id` as `vsf_redis_fetch` does.
#[napi(catch_unwind)]
pub fn vsf_redis_await(
    env: &Env,
    handle: &External<SharedHandle>,
    id: f64,
    l1_key: String,
    key: String,
    now: f64,
) -> Result<()> {
    let shared = handle.shared.clone();
    spawn_completion(env, id, async move {
        Ok(completion(shared.wait(&l1_key, &key, now).await))
    })
}

fn insert_reply(outcome: Option<InsertOutcome>) -> Vec<f64> {
    match outcome {
        None => vec![-2.0],
        Some(o) => {
            let mut out = Vec::with_capacity(1 + o.removed.len());
            out.push(o.stored.map_or(-1.0, |id| id as f64));
            ids(&mut out, o.removed);
            out
        }
    }
}

/// Keeps a rendered page in L1 and writes it to Redis in the background,
/// releasing `token`'s lock (`''`: none). Returns `pageCacheInsert`'s shape:
/// `[storedId | -1 (did not fit) | -2 (a tag changed while rendering), ...removedIds]`.
#[allow(clippy::too_many_arguments)]
#[napi(catch_unwind)]
pub fn vsf_redis_store(
    handle: &External<SharedHandle>,
    l1_key: String,
    key: String,
    json: String,
    tags: Vec<String>,
    expires_at: f64,
    now: f64,
    since: f64,
    token: String,
) -> Vec<f64> {
    let token = (!token.is_empty()).then_some(token);
    let outcome = handle.shared.store(
        &l1_key,
        &key,
        Bytes::from(json.into_bytes()),
        &tags,
        expires_at,
        now,
        since.max(0.0) as u64,
        token,
    );
    insert_reply(outcome)
}

/// Releases the lock of a render that stored nothing.
#[napi(catch_unwind)]
pub fn vsf_redis_release(handle: &External<SharedHandle>, key: String, token: String) {
    if !token.is_empty() {
        handle.shared.release(&key, Some(token));
    }
}

/// Drops the page under `key` from Redis (background).
#[napi(catch_unwind)]
pub fn vsf_redis_delete(handle: &External<SharedHandle>, key: String) {
    handle.shared.delete(&key);
}

/// Invalidates `tags` everywhere; resolves to `[pages of this L1 made stale]`,
/// rejects when Redis could not be reached (applied here, replayed later).
#[napi(catch_unwind)]
pub fn vsf_redis_invalidate<'env>(
    env: &'env Env,
    handle: &External<SharedHandle>,
    tags: Vec<String>,
) -> Result<Object<'env>> {
    let shared = handle.shared.clone();
    spawn_promise(env, async move {
        let here = shared.invalidate(tags).await?;
        Ok(vec![here as f64])
    })
}

/// Moves every instance to a new epoch; resolves to the pages of this L1.
#[napi(catch_unwind)]
pub fn vsf_redis_invalidate_all<'env>(
    env: &'env Env,
    handle: &External<SharedHandle>,
) -> Result<Object<'env>> {
    let shared = handle.shared.clone();
    spawn_promise(env, async move {
        let here = shared.invalidate_all().await?;
        Ok(here as f64)
    })
}

/// `[l2Hits, invalidationsReceived, redisErrors, available (0/1), synced (0/1), writesSkipped]`.
#[napi(catch_unwind)]
pub fn vsf_redis_stats(handle: &External<SharedHandle>) -> Vec<f64> {
    let s = handle.shared.stats();
    vec![
        s.l2_hits as f64,
        s.invalidations_received as f64,
        s.errors as f64,
        s.available as u8 as f64,
        s.synced as u8 as f64,
        s.writes_skipped as f64,
    ]
}

/// Stops listening to Redis (idempotent).
#[napi(catch_unwind)]
pub fn vsf_redis_close(handle: &External<SharedHandle>) {
    handle.shared.close();
}
