//! Bindings of `store::sqlite::SqliteStore` for `lib/sqlite-cache-store.js`.
//!
//! Same call shape as `memory_store.rs`: free functions taking a `u32` slot
//! into a thread-local handle table; the JS object holds an `External` whose
//! collection frees the slot (and, with the last handle, closes the database).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::{Env, JsString};
use napi_derive::napi;

use super::convert::{split_method, with_str, JsHeaders};
use super::handles::{self, HandleTable, Slot};
use super::panic_hooks::{catch_panic, panic_point};
use super::wire::sqlite_stats;
use super::writers::{BodyWriters, UnknownWriter};
use crate::store::sqlite::{Found, Limits, NewRow, Row, SqliteError, SqliteStore};

pub struct SqliteHandle {
    store: Arc<SqliteStore>,
    /// Bodies being streamed in, by writer id; committed whole by `end()`.
    writers: RefCell<BodyWriters>,
}

thread_local! {
    /// This thread's store handles, by slot (see `handles`).
    static HANDLES: HandleTable<SqliteHandle> = const { HandleTable::new() };
}

/// Owned by the JS store object: frees its slot (and, with the last handle,
/// closes the database) when collected.
pub type SqliteSlot = Slot<SqliteHandle>;

fn get_handle(slot: u32) -> Result<Rc<SqliteHandle>> {
    handles::get(&HANDLES, slot)
}

fn js_error(e: SqliteError) -> Error {
    Error::new(Status::GenericFailure, e.to_string())
}

fn limit(value: f64) -> u64 {
    if value.is_finite() {
        value as u64
    } else {
        u64::MAX
    }
}

/// Opens the database at `location`; returns `[slot, owner]` as
/// `memory_store_open` does.
#[napi(catch_unwind)]
pub fn sqlite_store_open(
    location: String,
    max_count: f64,
    max_size: f64,
    max_entry_size: f64,
) -> Result<Vec<Either<u32, External<SqliteSlot>>>> {
    let limits = Limits {
        max_count: limit(max_count),
        max_size: limit(max_size),
        max_entry_size: limit(max_entry_size),
    };
    let store = SqliteStore::open(&location, limits).map_err(js_error)?;
    let (slot, owner) = handles::open(
        &HANDLES,
        SqliteHandle {
            store: Arc::new(store),
            writers: RefCell::default(),
        },
    );
    Ok(vec![Either::A(slot), Either::B(External::new(owner))])
}

/// An element of `sqlite_store_find`'s array result.
type FoundItem<'env> = Either3<f64, Option<String>, BufferSlice<'env>>;

/// One crossing per get: the live responses for `method + '\n' + key` at
/// `now`, given the id the caller has memoised for this key (`known`, 0 for
/// none) and whether it holds that id's body. Returns `0` (miss), `id` (the
/// caller's `known` response is the one live), `-id` (one live response with
/// a body over `large` bytes: read it with `sqlite_store_read_async`),
/// a Buffer (the `known` response, whose body the caller lacks),
/// `[id, meta, body]` (one live response, read), or an array of
/// signed ids (several variants, oldest first, negative when large).
#[napi(catch_unwind)]
pub fn sqlite_store_find<'env>(
    env: &'env Env,
    slot: u32,
    packed: JsString,
    now: f64,
    large: f64,
    known: f64,
    known_body: bool,
) -> Result<Either3<f64, BufferSlice<'env>, Vec<FoundItem<'env>>>> {
    let h = get_handle(slot)?;
    let large = limit(large);
    let found = with_str(&packed, |packed| {
        let (method, key) = split_method(packed)?;
        panic_point("sqliteStoreFind");
        h.store
            .find(key, method, now, known as i64, known_body, large, |bytes| {
                // One copy, from SQLite's page into a V8-owned Buffer (V8
                // accounts for its memory, so young garbage is reclaimed early).
                BufferSlice::copy_from(env, bytes)
                    .map_err(|e| SqliteError::Caller(e.reason.clone()))
            })
            .map_err(js_error)
    })?;
    Ok(match found {
        Found::Miss => Either3::A(0.0),
        Found::Known(id) => Either3::A(id as f64),
        Found::Large(id) => Either3::A(-(id as f64)),
        // No metadata: it is the caller's `known` id; the body alone suffices.
        Found::One {
            meta: None, body, ..
        } => Either3::B(body),
        Found::One { id, meta, body } => Either3::C(vec![
            Either3::A(id as f64),
            Either3::B(meta),
            Either3::C(body),
        ]),
        Found::Many(all) => Either3::C(
            all.iter()
                .map(|c| {
                    Either3::A(if c.body_len > large {
                        -(c.id as f64)
                    } else {
                        c.id as f64
                    })
                })
                .collect(),
        ),
    })
}

/// The live rows for `method + '\n' + key` at `now`, oldest first: `0` for
/// none; a single row as its id, negated when its body is larger than
/// `large` bytes (the shell then reads it off the event loop); several as an
/// array of such signed ids.
#[napi(catch_unwind)]
pub fn sqlite_store_lookup(
    slot: u32,
    packed: JsString,
    now: f64,
    large: f64,
) -> Result<Either<f64, Vec<f64>>> {
    let h = get_handle(slot)?;
    with_str(&packed, |packed| {
        let (method, key) = split_method(packed)?;
        let found = h.store.lookup(key, method, now).map_err(js_error)?;
        let signed = |c: &crate::store::sqlite::Candidate| {
            if c.body_len as f64 > large {
                -(c.id as f64)
            } else {
                c.id as f64
            }
        };
        Ok(match found.as_slice() {
            [] => Either::A(0.0),
            [one] => Either::A(signed(one)),
            many => Either::B(many.iter().map(signed).collect()),
        })
    })
}

/// `[meta, body]` of response `id` of `method + '\n' + key`, or null when it
/// is gone.
#[napi(catch_unwind)]
pub fn sqlite_store_read<'env>(
    env: &'env Env,
    slot: u32,
    packed: JsString,
    id: f64,
) -> Result<Option<Vec<Either<String, BufferSlice<'env>>>>> {
    let h = get_handle(slot)?;
    let row = with_str(&packed, |packed| {
        let (method, key) = split_method(packed)?;
        h.store.read(key, method, id as i64).map_err(js_error)
    })?;
    match row {
        None => Ok(None),
        Some(Row { meta, body }) => Ok(Some(vec![
            Either::A(meta),
            Either::B(BufferSlice::from_data(env, body)?),
        ])),
    }
}

/// Reads a row on the libuv thread pool (for large bodies).
pub struct ReadTask {
    store: Arc<SqliteStore>,
    packed: String,
    id: i64,
}

impl Task for ReadTask {
    type Output = Option<Row>;
    type JsValue = Option<Vec<Either<String, Buffer>>>;

    // `compute` runs on a libuv pool thread and `resolve` in the completion
    // callback, both called from `extern "C"` functions of napi-rs that do not
    // catch panics (`#[napi(catch_unwind)]` covers only the synchronous call
    // that queued the task): a panic there would abort the process. Each body
    // is therefore behind its own `catch_unwind`, and a panic rejects the
    // Promise instead.
    fn compute(&mut self) -> Result<Self::Output> {
        let (store, packed, id) = (&self.store, &self.packed, self.id);
        catch_panic(|| {
            let (method, key) = split_method(packed)?;
            panic_point("sqliteStoreReadAsync");
            store.read(key, method, id).map_err(js_error)
        })
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        catch_panic(move || {
            Ok(output
                .map(|Row { meta, body }| vec![Either::A(meta), Either::B(Buffer::from(body))]))
        })
    }
}

/// `sqlite_store_read` off the event loop: a Promise of the same result.
#[napi(
    catch_unwind,
    ts_return_type = "Promise<Array<string | Buffer> | null>"
)]
pub fn sqlite_store_read_async(slot: u32, packed: String, id: f64) -> Result<AsyncTask<ReadTask>> {
    let h = get_handle(slot)?;
    Ok(AsyncTask::new(ReadTask {
        store: h.store.clone(),
        packed,
        id: id as i64,
    }))
}

/// Copies a chunk into writer `writer` (negative: open a new writer); returns
/// the writer id, or -1 when the body grew past `maxEntrySize` (dropped).
/// Throws when `writer` is not open (never starts a new body mid-stream).
#[napi(catch_unwind)]
pub fn sqlite_store_append(slot: u32, writer: i32, chunk: BufferSlice) -> Result<i32> {
    let h = get_handle(slot)?;
    let max = h.store.limits().max_entry_size;
    let id = h.writers.borrow_mut().append(writer, &chunk, max)?;
    Ok(id)
}

/// Drops an unfinished body.
#[napi(catch_unwind)]
pub fn sqlite_store_abort(slot: u32, writer: i32) -> Result<()> {
    let h = get_handle(slot)?;
    h.writers.borrow_mut().abort(writer);
    Ok(())
}

/// Commits writer `writer` (negative: empty body) in one transaction. Returns
/// `[storedId or -1, replaced, evicted, expired]`.
#[allow(clippy::too_many_arguments)]
#[napi(catch_unwind)]
pub fn sqlite_store_commit(
    slot: u32,
    writer: i32,
    packed: String,
    headers: Option<Object>,
    variant: String,
    meta: String,
    delete_at: f64,
    now: f64,
) -> Result<Vec<f64>> {
    let h = get_handle(slot)?;
    let body = h.writers.borrow_mut().take(writer);
    let body = body.ok_or(UnknownWriter)?;
    let (method, key) = split_method(&packed)?;
    if crate::http::vary::VaryKey::decode(&variant).is_none() {
        return Err(Error::new(
            Status::InvalidArg,
            "malformed variant key".to_owned(),
        ));
    }
    let row = NewRow {
        key,
        method,
        variant: &variant,
        meta: &meta,
        body: &body,
        delete_at,
    };
    let mut request = JsHeaders(headers.as_ref());
    let w = h.store.insert(&row, &mut request, now).map_err(js_error)?;
    Ok(vec![
        w.id.map_or(-1.0, |id| id as f64),
        w.replaced as f64,
        w.evicted as f64,
        w.expired as f64,
    ])
}

/// Removes every row of the resource key (any method); returns how many.
#[napi(catch_unwind)]
pub fn sqlite_store_delete(slot: u32, key: String) -> Result<f64> {
    let h = get_handle(slot)?;
    Ok(h.store.delete(&key).map_err(js_error)? as f64)
}

#[napi(catch_unwind)]
pub fn sqlite_store_clear(slot: u32) -> Result<()> {
    get_handle(slot)?.store.clear().map_err(js_error)
}

#[napi(catch_unwind)]
pub fn sqlite_store_purge(slot: u32, now: f64) -> Result<f64> {
    Ok(get_handle(slot)?
        .store
        .purge_expired(now)
        .map_err(js_error)? as f64)
}

/// `[count, size, writes, evictions, expired]`: usage of the whole file, then
/// this object's counters.
#[napi(catch_unwind)]
pub fn sqlite_store_stats(slot: u32) -> Result<Vec<f64>> {
    let h = get_handle(slot)?;
    let (count, size) = h.store.usage().map_err(js_error)?;
    let c = h.store.counters();
    let mut out = vec![0.0; 5];
    for (at, value) in [
        (sqlite_stats::COUNT, count),
        (sqlite_stats::SIZE, size),
        (sqlite_stats::WRITES, c.writes),
        (sqlite_stats::EVICTIONS, c.evictions),
        (sqlite_stats::EXPIRED, c.expired),
    ] {
        out[at as usize] = value as f64;
    }
    Ok(out)
}

/// Returns free pages to the file system and truncates the WAL; returns the
/// number of pages released.
#[napi(catch_unwind)]
pub fn sqlite_store_compact(slot: u32) -> Result<f64> {
    let h = get_handle(slot)?;
    let released = h.store.vacuum().map_err(js_error)?;
    h.store.checkpoint().map_err(js_error)?;
    Ok(released as f64)
}

/// Closes the database (idempotent); unfinished writers are dropped.
#[napi(catch_unwind)]
pub fn sqlite_store_close(slot: u32) -> Result<()> {
    let h = get_handle(slot)?;
    h.writers.borrow_mut().clear();
    h.store.close().map_err(js_error)
}
