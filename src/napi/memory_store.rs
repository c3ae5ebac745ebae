//! Bindings of `store::memory::MemoryStore` for `lib/memory-cache-store.js`.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;

use super::convert::{external_buffer, unpack_key, vary_key, JsHeaders};
use crate::store::entry::NewEntry;
use crate::store::memory::{Limits, MemoryStore, Removals};

/// One JS store object's view of a (possibly shared) store: the store itself,
/// this thread's unfinished bodies, and its cursor in the removal log.
pub struct MemoryHandle {
    store: Arc<MemoryStore>,
    writers: RefCell<Vec<Option<Vec<u8>>>>,
    cursor: Cell<u64>,
}

impl MemoryHandle {
    fn new(store: Arc<MemoryStore>) -> Self {
        let cursor = store.removal_cursor();
        MemoryHandle {
            store,
            writers: RefCell::new(Vec::new()),
            cursor: Cell::new(cursor),
        }
    }

    /// Ids this handle's memo may still hold that are gone from the store; a
    /// leading `-1` means the log overflowed and the memo must be re-checked.
    fn drain_removed(&self, out: &mut Vec<f64>) {
        let Removals {
            ids,
            cursor,
            overflowed,
        } = self.store.removed_since(self.cursor.get());
        self.cursor.set(cursor);
        if overflowed {
            out.push(-1.0);
        }
        out.extend(ids.into_iter().map(|id| id as f64));
    }
}

fn limit(value: f64) -> u64 {
    if value.is_finite() {
        value as u64
    } else {
        u64::MAX
    }
}

#[napi(catch_unwind)]
pub fn memory_store_open(
    max_size: f64,
    max_count: f64,
    max_entry_size: f64,
) -> External<MemoryHandle> {
    let store = MemoryStore::new(Limits {
        max_size: limit(max_size),
        max_count: limit(max_count),
        max_entry_size: limit(max_entry_size),
    });
    External::new(MemoryHandle::new(Arc::new(store)))
}

/// The id of the entry to serve, or -1.
#[napi(catch_unwind)]
pub fn memory_store_get(
    handle: &External<MemoryHandle>,
    packed: String,
    origin_len: u32,
    method_len: u32,
    headers: Option<Object>,
    now: f64,
) -> Result<f64> {
    let (key, method) = unpack_key(&packed, origin_len, method_len)?;
    let mut headers = JsHeaders(headers.as_ref());
    Ok(handle
        .store
        .get(&key, method, &mut headers, now)
        .map_or(-1.0, |id| id as f64))
}

/// The metadata string of a live entry, or null.
#[napi(catch_unwind)]
pub fn memory_store_meta(handle: &External<MemoryHandle>, id: f64) -> Option<String> {
    let (meta, _) = handle.store.entry(id as u64)?;
    String::from_utf8(meta.to_vec()).ok()
}

/// The body of a live entry as a Buffer over the stored bytes (no copy), or null.
#[napi(catch_unwind)]
pub fn memory_store_body<'env>(
    env: &'env Env,
    handle: &External<MemoryHandle>,
    id: f64,
) -> Result<Option<BufferSlice<'env>>> {
    match handle.store.entry(id as u64) {
        None => Ok(None),
        Some((_, body)) => external_buffer(env, body).map(Some),
    }
}

/// Copies a chunk into writer `writer` (a negative id opens a new writer).
/// Returns the writer id, or -1 when the body grew past `maxEntrySize` (the
/// writer is then dropped).
#[napi(catch_unwind)]
pub fn memory_store_append(
    handle: &External<MemoryHandle>,
    writer: i32,
    chunk: BufferSlice,
) -> i32 {
    let max = handle.store.limits().max_entry_size;
    let mut writers = handle.writers.borrow_mut();
    let slot = if writer < 0 {
        let free = writers.iter().position(Option::is_none);
        match free {
            Some(i) => {
                writers[i] = Some(Vec::new());
                i
            }
            None => {
                writers.push(Some(Vec::new()));
                writers.len() - 1
            }
        }
    } else {
        writer as usize
    };
    let Some(Some(body)) = writers.get_mut(slot) else {
        return -1;
    };
    if (body.len() + chunk.len()) as u64 > max {
        writers[slot] = None;
        return -1;
    }
    if body.is_empty() {
        body.reserve_exact(chunk.len());
    }
    body.extend_from_slice(&chunk);
    slot as i32
}

/// Drops an unfinished body.
#[napi(catch_unwind)]
pub fn memory_store_abort(handle: &External<MemoryHandle>, writer: i32) {
    if writer >= 0 {
        if let Some(slot) = handle.writers.borrow_mut().get_mut(writer as usize) {
            *slot = None;
        }
    }
}

/// Commits writer `writer` (negative: empty body) as the response for the key.
/// Returns `[storedId or -1, exceeded (0/1), size, count, ...removedIds]`.
#[allow(clippy::too_many_arguments)]
#[napi(catch_unwind)]
pub fn memory_store_commit(
    handle: &External<MemoryHandle>,
    writer: i32,
    packed: String,
    origin_len: u32,
    method_len: u32,
    headers: Option<Object>,
    vary: Option<Object>,
    meta: String,
    delete_at: f64,
    now: f64,
) -> Result<Vec<f64>> {
    let body = if writer < 0 {
        Vec::new()
    } else {
        let mut writers = handle.writers.borrow_mut();
        match writers.get_mut(writer as usize).and_then(Option::take) {
            Some(body) => body,
            None => return Err(Error::new(Status::InvalidArg, "unknown writer".to_owned())),
        }
    };
    let (key, method) = unpack_key(&packed, origin_len, method_len)?;
    let vary = vary.as_ref().map(vary_key).transpose()?;
    let entry = NewEntry {
        method: method.into(),
        vary,
        meta: Bytes::from(meta.into_bytes()),
        body: Bytes::from(body),
        delete_at,
    };
    let mut headers = JsHeaders(headers.as_ref());
    let outcome = handle.store.insert(key, entry, &mut headers, now);
    let mut out = Vec::with_capacity(4);
    out.push(outcome.stored.map_or(-1.0, |id| id as f64));
    match outcome.exceeded {
        Some(usage) => {
            out.push(1.0);
            out.push(usage.size as f64);
            out.push(usage.count as f64);
        }
        None => out.extend([0.0, 0.0, 0.0]),
    }
    handle.drain_removed(&mut out);
    Ok(out)
}

/// Removes every variant of origin + path; returns removed ids as
/// `memory_store_removed` does.
#[napi(catch_unwind)]
pub fn memory_store_delete(
    handle: &External<MemoryHandle>,
    packed: String,
    origin_len: u32,
) -> Result<Vec<f64>> {
    let (key, _) = unpack_key(&packed, origin_len, 0)?;
    handle.store.delete(&key);
    let mut out = Vec::new();
    handle.drain_removed(&mut out);
    Ok(out)
}

/// Ids removed since this handle last asked (`-1` first: the log overflowed).
#[napi(catch_unwind)]
pub fn memory_store_removed(handle: &External<MemoryHandle>) -> Vec<f64> {
    let mut out = Vec::new();
    handle.drain_removed(&mut out);
    out
}

/// Which of `ids` are still stored (1) or gone (0).
#[napi(catch_unwind)]
pub fn memory_store_alive(handle: &External<MemoryHandle>, ids: Vec<f64>) -> Vec<u8> {
    ids.into_iter()
        .map(|id| handle.store.contains(id as u64) as u8)
        .collect()
}

#[napi(catch_unwind)]
pub fn memory_store_clear(handle: &External<MemoryHandle>) {
    handle.store.clear();
}

#[napi(catch_unwind)]
pub fn memory_store_purge(handle: &External<MemoryHandle>, now: f64) -> f64 {
    handle.store.purge_expired(now) as f64
}

#[napi(catch_unwind)]
pub fn memory_store_size(handle: &External<MemoryHandle>) -> f64 {
    handle.store.size() as f64
}

#[napi(catch_unwind)]
pub fn memory_store_count(handle: &External<MemoryHandle>) -> f64 {
    handle.store.count() as f64
}

#[napi(catch_unwind)]
pub fn memory_store_is_full(handle: &External<MemoryHandle>) -> bool {
    handle.store.is_full()
}

/// `[hits, misses, writes, evictions, expired, size, count]`.
#[napi(catch_unwind)]
pub fn memory_store_stats(handle: &External<MemoryHandle>) -> Vec<f64> {
    let s = handle.store.stats();
    [s.hits, s.misses, s.writes, s.evictions, s.expired, s.size, s.count]
        .map(|v| v as f64)
        .to_vec()
}
