//! Bindings of `store::pages::PageCache` for `lib/vsf.js`.
//!
//! A hit is `page_cache_get` (one crossing, returns the page id); the JS shell
//! memoises the parsed content per id and only calls `page_cache_content` the
//! first time it meets an id.

use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::wire::page_stats;
use crate::store::pages::{NewPage, PageCache, PageId, PageLimits};

/// One JS driver's handle on a (possibly shared) page cache.
pub struct PageHandle {
    cache: Arc<PageCache>,
}

fn limit(value: f64) -> u64 {
    if value.is_finite() {
        value.max(0.0) as u64
    } else {
        u64::MAX
    }
}

fn ids(out: &mut Vec<f64>, ids: impl IntoIterator<Item = PageId>) {
    out.extend(ids.into_iter().map(|id| id as f64));
}

/// Opens a page cache: the process-wide one called `name`, if given.
#[napi(catch_unwind)]
pub fn page_cache_open(
    max_size: f64,
    max_count: f64,
    name: Option<String>,
) -> Result<External<PageHandle>> {
    let limits = PageLimits {
        max_size: limit(max_size),
        max_count: limit(max_count),
    };
    let cache = match name {
        None => Arc::new(PageCache::new(limits)),
        Some(name) => PageCache::open_named(&name, limits).map_err(|existing| {
            Error::new(
                Status::InvalidArg,
                format!(
                    "page cache '{name}' is already open with maxSize {}, maxCount {}: open it with the same limits",
                    existing.max_size, existing.max_count
                ),
            )
        })?,
    };
    Ok(External::new(PageHandle { cache }))
}

/// Invalidations so far, store-wide (see `PageCache::generation`).
#[napi(catch_unwind)]
pub fn page_cache_generation(handle: &External<PageHandle>) -> f64 {
    handle.cache.generation() as f64
}

/// The id of the live page under `key`, or -1.
#[napi(catch_unwind)]
pub fn page_cache_get(handle: &External<PageHandle>, key: String, now: f64) -> f64 {
    super::panic_hooks::panic_point("pageCacheGet");
    handle.cache.get(&key, now).map_or(-1.0, |id| id as f64)
}

/// Whether page `id` is still live (marks it most recently used).
#[napi(catch_unwind)]
pub fn page_cache_touch(handle: &External<PageHandle>, id: f64, now: f64) -> bool {
    handle.cache.touch(id as PageId, now)
}

/// Reports hits served from the JS memo without a call: `ids[..count]` (see
/// `PageCache::touch_many`).
#[napi(catch_unwind)]
pub fn page_cache_touch_many(
    handle: &External<PageHandle>,
    ids: Float64ArraySlice,
    count: u32,
    now: f64,
) {
    let ids: &[f64] = &ids;
    handle
        .cache
        .touch_many(&ids[..(count as usize).min(ids.len())], now);
}

/// A one-element `Float64Array` over a removal counter of the cache (see
/// `store::pages::RemovalCount`), for this driver alone.
#[napi(catch_unwind)]
pub fn page_cache_watch<'env>(
    env: &'env Env,
    handle: &External<PageHandle>,
) -> Result<Float64ArraySlice<'env>> {
    let count = handle.cache.watch_removals();
    let ptr = count.as_ptr().cast::<f64>();
    // SAFETY: `ptr` points at the 8 bytes of an `AtomicU64` (an `UnsafeCell`,
    // so writing through it is allowed) inside the `Arc` moved into the
    // finalize hint: it lives as long as the array. Each call makes a new
    // counter, so no two ArrayBuffers share memory. JS only reads it; Rust
    // stores whole aligned 8-byte values, which x86-64 and AArch64 load and
    // store in one access.
    unsafe { Float64ArraySlice::from_external(env, ptr, 1, count, |_, count| drop(count)) }
}

/// When page `id` expires (ms since the epoch, Infinity: never), or NaN when
/// it is gone.
#[napi(catch_unwind)]
pub fn page_cache_expires_at(handle: &External<PageHandle>, id: f64) -> f64 {
    handle.cache.expires_at(id as PageId).unwrap_or(f64::NAN)
}

/// The stored content (JSON text) of page `id`, which `page_cache_get` just
/// returned, or null when it is gone (the hit is then counted as a miss).
#[napi(catch_unwind)]
pub fn page_cache_content(handle: &External<PageHandle>, id: f64) -> Option<String> {
    let content = handle.cache.content_of_hit(id as PageId)?;
    String::from_utf8(content.to_vec()).ok()
}

/// Stores `content` under `key` with `tags`; `expires_at` is ms since the
/// epoch (`Infinity`: never). Nothing is stored if the cache was invalidated
/// since `generation` (negative: no such check). Returns
/// `[storedId, or -1 (not stored) or -2 (invalidated since), ...removedIds]`.
#[napi(catch_unwind)]
pub fn page_cache_insert(
    handle: &External<PageHandle>,
    key: String,
    content: String,
    tags: Vec<String>,
    expires_at: f64,
    now: f64,
    generation: f64,
) -> Vec<f64> {
    let since = (generation >= 0.0).then_some(generation as u64);
    let outcome = handle.cache.insert_since(
        NewPage {
            key: &key,
            content: Bytes::from(content.into_bytes()),
            tags: &tags,
            expires_at,
        },
        now,
        since,
    );
    let mut out = Vec::with_capacity(1 + outcome.removed.len());
    out.push(match outcome.stored {
        Some(id) => id as f64,
        None if outcome.invalidated => -2.0,
        None => -1.0,
    });
    ids(&mut out, outcome.removed);
    out
}

/// Removes every page carrying any of `tags`. Returns `[count, ...ids]`, the
/// ids only when `with_ids`.
#[napi(catch_unwind)]
pub fn page_cache_invalidate(
    handle: &External<PageHandle>,
    tags: Vec<String>,
    with_ids: bool,
) -> Vec<f64> {
    let removed = handle.cache.invalidate(&tags);
    let mut out = vec![removed.len() as f64];
    if with_ids {
        ids(&mut out, removed);
    }
    out
}

/// Removes the page under `key`; returns its id or -1.
#[napi(catch_unwind)]
pub fn page_cache_delete(handle: &External<PageHandle>, key: String) -> f64 {
    handle.cache.delete(&key).map_or(-1.0, |id| id as f64)
}

/// Removes every page; returns how many there were.
#[napi(catch_unwind)]
pub fn page_cache_clear(handle: &External<PageHandle>) -> f64 {
    handle.cache.clear() as f64
}

/// Removes expired pages; returns their ids.
#[napi(catch_unwind)]
pub fn page_cache_purge(handle: &External<PageHandle>, now: f64) -> Vec<f64> {
    let mut out = Vec::new();
    ids(&mut out, handle.cache.purge_expired(now));
    out
}

/// `[hits, misses, inserts, evictions, expired, invalidated, size, count, tags]`.
#[napi(catch_unwind)]
pub fn page_cache_stats(handle: &External<PageHandle>) -> Vec<f64> {
    let s = handle.cache.stats();
    let mut out = vec![0.0; 9];
    for (at, value) in [
        (page_stats::HITS, s.hits),
        (page_stats::MISSES, s.misses),
        (page_stats::INSERTS, s.inserts),
        (page_stats::EVICTIONS, s.evictions),
        (page_stats::EXPIRED, s.expired),
        (page_stats::INVALIDATED, s.invalidated),
        (page_stats::SIZE, s.size),
        (page_stats::COUNT, s.count),
        (page_stats::TAGS, s.tags),
    ] {
        out[at as usize] = value as f64;
    }
    out
}
