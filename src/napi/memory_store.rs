//! Bindings of `store::memory::MemoryStore` for `lib/memory-cache-store.js`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::{Env, JsString};
use napi_derive::napi;

use super::convert::{external_buffer, served, with_key, with_str, with_str_in, JsHeaders};
use super::handles::{self, HandleTable, Slot};

/// Stack room for a response's metadata on commit (longer ones go to the heap).
const META_ON_STACK: usize = 4096;
use super::panic_hooks::panic_point;
use super::wire::{memory_commit, memory_stats};
use super::writers::{BodyWriters, UnknownWriter};
use crate::store::entry::{Method, NewEntry};
use crate::store::memory::{Found, Limits, MemoryStore, Removals};

/// One JS store object's view of a (possibly shared) store: the store itself,
/// this thread's unfinished bodies, and its cursor in the removal log.
pub struct MemoryHandle {
    store: Arc<MemoryStore>,
    writers: RefCell<BodyWriters>,
    cursor: Cell<u64>,
}

impl MemoryHandle {
    fn new(store: Arc<MemoryStore>) -> Self {
        let cursor = store.removal_cursor();
        MemoryHandle {
            store,
            writers: RefCell::default(),
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

thread_local! {
    /// This thread's store handles, by slot (see `handles`).
    static HANDLES: HandleTable<MemoryHandle> = const { HandleTable::new() };
}

/// Owned by the JS store object: frees its slot when collected.
pub type MemorySlot = Slot<MemoryHandle>;

fn get_handle(slot: u32) -> Result<Rc<MemoryHandle>> {
    handles::get(&HANDLES, slot)
}

fn limit(value: f64) -> u64 {
    if value.is_finite() {
        value as u64
    } else {
        u64::MAX
    }
}

/// Opens a store (the process-wide one called `name`, if given); returns
/// `[slot, owner]`: the slot number for calls, and the `External` whose
/// collection frees the slot.
#[napi(catch_unwind)]
pub fn memory_store_open(
    max_size: f64,
    max_count: f64,
    max_entry_size: f64,
    name: Option<String>,
) -> Result<Vec<Either<u32, External<MemorySlot>>>> {
    let limits = Limits {
        max_size: limit(max_size),
        max_count: limit(max_count),
        max_entry_size: limit(max_entry_size),
    };
    let store = match name {
        None => Arc::new(MemoryStore::new(limits)),
        Some(name) => MemoryStore::open_named(&name, limits).map_err(|m| {
            Error::new(
                Status::InvalidArg,
                format!(
                    "MemoryCacheStore '{name}' is already open with maxSize {}, maxCount {}, maxEntrySize {}: open it with the same limits",
                    m.existing.max_size, m.existing.max_count, m.existing.max_entry_size
                ),
            )
        })?,
    };
    let (slot, owner) = handles::open(&HANDLES, MemoryHandle::new(store));
    Ok(vec![Either::A(slot), Either::B(External::new(owner))])
}

/// The live variants stored for `method` at `origin` + `path`: an id, `-1` for none,
/// or `[removed (0/1), ...ids in write order]` when there are several or
/// entries were removed since this handle last drained the removal log (by
/// this lookup's reclaiming or any handle's write, delete or purge): the
/// caller then drains removals, so a handle that only reads still lets go of
/// what it memoised of evicted entries.
/// `touch` reports what was served after the previous lookup (see
/// `convert::served`), applied first.
#[napi(catch_unwind)]
pub fn memory_store_lookup(
    slot: u32,
    method: JsString,
    origin: JsString,
    path: JsString,
    touch: f64,
    now: f64,
) -> Result<Either<f64, Vec<f64>>> {
    let h = get_handle(slot)?;
    with_key(&origin, &path, |key| {
        with_str(&method, |method| {
            panic_point("memoryStoreLookup");
            Ok(h.store.lookup(key, method, now, served(touch)))
        })
    })
    .map(|lookup| {
        let removed = lookup.reclaimed || lookup.removal_cursor != h.cursor.get();
        (lookup.found, removed)
    })
    .map(|lookup| match lookup {
        (Found::Miss, false) => Either::A(-1.0),
        (Found::One(id), false) => Either::A(id as f64),
        (found, removed) => {
            let ids = match found {
                Found::Miss => Vec::new(),
                Found::One(id) => vec![id],
                Found::Many(ids) => ids,
            };
            let mut out = Vec::with_capacity(ids.len() + 1);
            out.push(removed as u8 as f64);
            out.extend(ids.into_iter().map(|id| id as f64));
            Either::B(out)
        }
    })
}

/// A number as JSON text; JSON.parse reads `1e999` as Infinity.
fn json_number(out: &mut String, x: f64) {
    use std::fmt::Write;
    if x.is_finite() {
        let _ = write!(out, "{x}");
    } else if x > 0.0 {
        out.push_str("1e999");
    } else if x < 0.0 {
        out.push_str("-1e999");
    } else {
        out.push_str("null");
    }
}

/// The metadata of a live entry as one JSON array, `[cachedAt, staleAt,
/// deleteAt, ...the shell's own metadata array]` (`wire::memory_meta`), or null. The times travel
/// as numbers on write (formatting them in JSON.stringify cost more).
#[napi(catch_unwind)]
pub fn memory_store_meta(slot: u32, id: f64) -> Result<Option<String>> {
    let h = get_handle(slot)?;
    Ok(h.store
        .with_meta(id as u64, |meta, times| {
            let rest = std::str::from_utf8(meta).ok()?.strip_prefix('[')?;
            let mut out = String::with_capacity(meta.len() + 48);
            out.push('[');
            for t in times {
                json_number(&mut out, t);
                out.push(',');
            }
            out.push_str(rest);
            Some(out)
        })
        .flatten())
}

/// The body of a live entry as a Buffer over the stored bytes (no copy), or null.
#[napi(catch_unwind)]
pub fn memory_store_body<'env>(
    env: &'env Env,
    slot: u32,
    id: f64,
) -> Result<Option<BufferSlice<'env>>> {
    let h = get_handle(slot)?;
    match h.store.body(id as u64) {
        None => Ok(None),
        Some(body) => external_buffer(env, body).map(Some),
    }
}

/// Copies a chunk into writer `writer` (a negative id opens a new writer).
/// Returns the writer id, or -1 when the body grew past `maxEntrySize` (the
/// writer is then dropped). Throws when `writer` is not open (never starts a
/// new body mid-stream).
#[napi(catch_unwind)]
pub fn memory_store_append(slot: u32, writer: i32, chunk: BufferSlice) -> Result<i32> {
    let h = get_handle(slot)?;
    let max = h.store.limits().max_entry_size;
    let id = h.writers.borrow_mut().append(writer, &chunk, max)?;
    Ok(id)
}

/// Drops an unfinished body.
#[napi(catch_unwind)]
pub fn memory_store_abort(slot: u32, writer: i32) -> Result<()> {
    let h = get_handle(slot)?;
    h.writers.borrow_mut().abort(writer);
    Ok(())
}

/// Commits writer `writer` (negative: empty body) as the response for
/// `method` at `origin` + `path`, variant `variant`. `want_removed`: whether the
/// caller memoises entries and so needs the ids removed since its last call.
/// Returns the stored id (-1: not stored) when nothing else happened, else
/// `[storedId or -1, exceeded (0/1), size, count, ...removedIds]`.
#[allow(clippy::too_many_arguments)]
#[napi(catch_unwind)]
pub fn memory_store_commit(
    slot: u32,
    writer: i32,
    method: JsString,
    origin: JsString,
    path: JsString,
    headers: Option<Object>,
    variant: JsString,
    meta: JsString,
    cached_at: f64,
    stale_at: f64,
    delete_at: f64,
    now: f64,
    touch: f64,
    want_removed: bool,
) -> Result<Either<f64, Vec<f64>>> {
    let h = get_handle(slot)?;
    let body = h.writers.borrow_mut().take(writer);
    let body = body.ok_or(UnknownWriter)?;
    let mut request = JsHeaders(headers.as_ref());
    // Method, variant and metadata are read into stack buffers and copied
    // once, into the entry's head block.
    let outcome = with_str(&method, |method| {
        with_str(&variant, |variant| {
            with_str_in::<META_ON_STACK, _>(&meta, |meta| {
                let entry = NewEntry {
                    method: Method::new(method),
                    variant,
                    meta: meta.as_bytes(),
                    body: Bytes::from(body),
                    delete_at,
                    cached_at,
                    stale_at,
                };
                with_key(&origin, &path, |key| {
                    panic_point("memoryStoreCommit");
                    Ok(h.store.insert(key, entry, &mut request, now, served(touch)))
                })
            })
        })
    })?;
    let stored = outcome.stored.map_or(-1.0, |id| id as f64);
    let mut out = vec![0.0; memory_commit::REMOVED as usize];
    out[memory_commit::STORED as usize] = stored;
    if let Some(usage) = outcome.exceeded {
        out[memory_commit::EXCEEDED as usize] = 1.0;
        out[memory_commit::SIZE as usize] = usage.size as f64;
        out[memory_commit::COUNT as usize] = usage.count as f64;
    }
    if want_removed {
        h.drain_removed(&mut out);
    } else {
        h.cursor.set(h.store.removal_cursor());
    }
    Ok(
        if out.len() == memory_commit::REMOVED as usize && outcome.exceeded.is_none() {
            Either::A(stored)
        } else {
            Either::B(out)
        },
    )
}

/// Removes every variant of the resource key (any method); returns removed
/// ids as `memory_store_removed` does.
#[napi(catch_unwind)]
pub fn memory_store_delete(slot: u32, origin: JsString, path: JsString) -> Result<Vec<f64>> {
    let h = get_handle(slot)?;
    with_key(&origin, &path, |key| Ok(h.store.delete(key)))?;
    let mut out = Vec::new();
    h.drain_removed(&mut out);
    Ok(out)
}

/// Reports at once what the caller did with its last lookup's candidates
/// when that changes the counters (a variant picked among several is a hit;
/// a single candidate that failed the Vary check is not): a handle whose
/// thread exits before its next call must not leave the counters wrong.
#[napi(catch_unwind)]
pub fn memory_store_served(slot: u32, touch: f64) -> Result<()> {
    get_handle(slot)?.store.report(served(touch));
    Ok(())
}

/// Ids removed since this handle last asked (`-1` first: the log overflowed).
#[napi(catch_unwind)]
pub fn memory_store_removed(slot: u32) -> Result<Vec<f64>> {
    let h = get_handle(slot)?;
    let mut out = Vec::new();
    h.drain_removed(&mut out);
    Ok(out)
}

/// Which of `ids` are still stored (1) or gone (0).
#[napi(catch_unwind)]
pub fn memory_store_alive(slot: u32, ids: Vec<f64>) -> Result<Vec<u8>> {
    let h = get_handle(slot)?;
    Ok(ids
        .into_iter()
        .map(|id| h.store.contains(id as u64) as u8)
        .collect())
}

#[napi(catch_unwind)]
pub fn memory_store_clear(slot: u32) -> Result<()> {
    get_handle(slot)?.store.clear();
    Ok(())
}

#[napi(catch_unwind)]
pub fn memory_store_purge(slot: u32, now: f64) -> Result<f64> {
    Ok(get_handle(slot)?.store.purge_expired(now) as f64)
}

#[napi(catch_unwind)]
pub fn memory_store_size(slot: u32) -> Result<f64> {
    Ok(get_handle(slot)?.store.size() as f64)
}

#[napi(catch_unwind)]
pub fn memory_store_count(slot: u32) -> Result<f64> {
    Ok(get_handle(slot)?.store.count() as f64)
}

#[napi(catch_unwind)]
pub fn memory_store_is_full(slot: u32) -> Result<bool> {
    Ok(get_handle(slot)?.store.is_full())
}

/// `[hits, misses, writes, evictions, expired, size, count]`; `touch` as in
/// `memory_store_lookup`.
#[napi(catch_unwind)]
pub fn memory_store_stats(slot: u32, touch: f64) -> Result<Vec<f64>> {
    let s = get_handle(slot)?.store.stats(served(touch));
    let mut out = vec![0.0; 7];
    for (at, value) in [
        (memory_stats::HITS, s.hits),
        (memory_stats::MISSES, s.misses),
        (memory_stats::WRITES, s.writes),
        (memory_stats::EVICTIONS, s.evictions),
        (memory_stats::EXPIRED, s.expired),
        (memory_stats::SIZE, s.size),
        (memory_stats::COUNT, s.count),
    ] {
        out[at as usize] = value as f64;
    }
    Ok(out)
}
