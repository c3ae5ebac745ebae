//! A persistent store in one SQLite file (bundled SQLite, WAL mode).
//!
//! Several processes may open the same file: every operation is a short
//! statement or one transaction, so a write committed by one process is a hit
//! in the next lookup of another. Every stored response gets a new random
//! 53-bit id (a JS number), so a caller may memoise a response by id and a
//! lookup tells which ids are live: a stale memo would need a new response of
//! the same resource to draw the id of a memoised one (odds ~2^-53 per pair).
//! A write that replaces a response rewrites its row in place with the new id
//! (SQLite then skips writing the body's pages that did not change, as when a
//! 304 revalidation stores the same body again) instead of deleting and
//! inserting. Every write draws the next write-order number: an insert takes
//! it as its rowid, a rewrite as its `written` (see `NEXT_ORDER`), and eviction
//! goes by that order: least recently written first, a rewrite counting as a
//! write, as undici (which evicts by `cachedAt`) has it. The metadata is
//! the JS shell's (the same JSON array as the memory store's); Rust never
//! reads it.
//!
//! Crash safety is SQLite's: each entry is committed in one transaction, so a
//! process killed mid-write leaves the previous state (WAL recovery on the next
//! open). Bodies are buffered by the caller until the write ends.
//!
//! Usage (`count`, body bytes) lives in a one-row table kept by triggers (and
//! by `insert` when a rewrite changes a body's length: a trigger reading
//! `OLD.body` would load the old body on every rewrite), so
//! every process sees the same numbers without scanning, and limits are exact
//! after each write whichever process wrote.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::http::vary::{RequestHeaders, VaryKey};

/// Bumped when the schema or the metadata encoding changes; older tables are
/// left alone (another version of the library may still use them). v2: the
/// `written` order column, and the metadata as the memory store's array
/// (`wire::memory_meta` order, times first). v3: `written` before the body
/// (a rewrite changes it in the row's first page, not in the body's last
/// overflow page), 0 for a row never rewritten (its rowid is its write order),
/// and indexed only where it is set (an insert touches no order index).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ferrocache_entries_v3 (
  rowid INTEGER PRIMARY KEY,
  id INTEGER NOT NULL,
  key TEXT NOT NULL,
  method TEXT NOT NULL,
  variant TEXT NOT NULL,
  delete_at REAL NOT NULL,
  written INTEGER NOT NULL DEFAULT 0,
  meta TEXT NOT NULL,
  body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS ferrocache_entries_v3_key ON ferrocache_entries_v3 (key, method);
CREATE INDEX IF NOT EXISTS ferrocache_entries_v3_delete_at ON ferrocache_entries_v3 (delete_at);
CREATE INDEX IF NOT EXISTS ferrocache_entries_v3_rewritten ON ferrocache_entries_v3 (written)
  WHERE written > 0;
CREATE TABLE IF NOT EXISTS ferrocache_usage_v3 (
  one INTEGER PRIMARY KEY CHECK (one = 1),
  count INTEGER NOT NULL,
  size INTEGER NOT NULL
);
INSERT OR IGNORE INTO ferrocache_usage_v3 (one, count, size) VALUES (1, 0, 0);
CREATE TRIGGER IF NOT EXISTS ferrocache_entries_v3_insert AFTER INSERT ON ferrocache_entries_v3
BEGIN
  UPDATE ferrocache_usage_v3 SET count = count + 1, size = size + length(NEW.body) WHERE one = 1;
END;
CREATE TRIGGER IF NOT EXISTS ferrocache_entries_v3_delete AFTER DELETE ON ferrocache_entries_v3
BEGIN
  UPDATE ferrocache_usage_v3 SET count = count - 1, size = size - length(OLD.body) WHERE one = 1;
END;
";

// No `ORDER BY id` (rows are sorted in Rust): with it, the bundled SQLite
// re-prepares the statement on every new binding (measured with
// SQLITE_STMTSTATUS_REPREPARE: 6.3 µs per lookup instead of 0.8 µs).
const LOOKUP: &str = "SELECT id, length(body), delete_at, iif(written > 0, written, rowid) FROM ferrocache_entries_v3
  WHERE key = ?1 AND method = ?2";
// One statement (one read transaction) for the hit path. The CASEs keep SQLite
// from loading what the caller already holds (`?3`: the id it has memoised,
// `?4`: whether it holds that id's body) or must not read on the event loop
// (bodies over `?5` bytes).
const FIND: &str = "SELECT id, length(body), delete_at, iif(written > 0, written, rowid),
  CASE WHEN id = ?3 THEN NULL ELSE meta END,
  CASE WHEN length(body) > ?5 OR (id = ?3 AND ?4) THEN NULL ELSE body END
  FROM ferrocache_entries_v3 WHERE key = ?1 AND method = ?2";
const READ: &str =
    "SELECT meta, body FROM ferrocache_entries_v3 WHERE key = ?1 AND method = ?2 AND id = ?3";
// Write order: a row's rowid, or its `written` when it was rewritten. The
// next order number is above every live row's (the rowid's b-tree and the
// `rewritten` index each give their maximum without a scan); an insert takes
// it as its rowid, a rewrite as its `written` (the row stays in place, so
// SQLite skips the body pages that did not change).
const NEXT_ORDER: &str = "SELECT max(
    coalesce((SELECT max(rowid) FROM ferrocache_entries_v3), 0),
    coalesce((SELECT max(written) FROM ferrocache_entries_v3 WHERE written > 0), 0)) + 1";
const REWRITE: &str = "UPDATE ferrocache_entries_v3
  SET id = ?1, variant = ?2, delete_at = ?3, meta = ?4, body = ?5, written = ?7
  WHERE rowid = ?6";
const RESIZE: &str = "UPDATE ferrocache_usage_v3 SET size = size - ?1 + ?2 WHERE one = 1";
const SAME_RESOURCE: &str =
    "SELECT rowid, variant, length(body) FROM ferrocache_entries_v3 WHERE key = ?1 AND method = ?2";
const INSERT: &str =
    "INSERT INTO ferrocache_entries_v3 (rowid, id, key, method, variant, delete_at, meta, body)
  VALUES (?8, ?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const DELETE_ROWID: &str = "DELETE FROM ferrocache_entries_v3 WHERE rowid = ?1";
const DELETE_KEY: &str = "DELETE FROM ferrocache_entries_v3 WHERE key = ?1";
const DELETE_EXPIRED: &str = "DELETE FROM ferrocache_entries_v3 WHERE delete_at <= ?1";
// Eviction merges the two orders: rows never rewritten by rowid, rewritten
// rows by `written` (the partial index).
const OLDEST_INSERTED: &str =
    "SELECT rowid, length(body) FROM ferrocache_entries_v3 WHERE written = 0 ORDER BY rowid";
const OLDEST_REWRITTEN: &str = "SELECT written, rowid, length(body) FROM ferrocache_entries_v3
  WHERE written > 0 ORDER BY written";
const USAGE: &str = "SELECT count, size FROM ferrocache_usage_v3 WHERE one = 1";

/// How long a statement waits for another process's write lock.
const BUSY_TIMEOUT_MS: u64 = 5_000;
/// Writes between sweeps of expired rows (also swept whenever a limit is hit).
const PURGE_EVERY: u64 = 64;
/// Writes between checks of the free-page list.
const VACUUM_EVERY: u64 = 128;
/// Free pages kept for reuse; more than this (and a quarter of the file) are
/// returned to the file system by `incremental_vacuum`.
const FREE_PAGES_KEPT: i64 = 256;
/// Bytes of the database file read through a memory map instead of `pread`
/// (pages shared with the OS cache and other processes; address space only).
const MMAP_SIZE: i64 = 256 * 1024 * 1024;
/// The WAL file is truncated to this after a checkpoint.
const JOURNAL_SIZE_LIMIT: i64 = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_count: u64,
    pub max_size: u64,
    pub max_entry_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_count: u64::MAX,
            max_size: u64::MAX,
            max_entry_size: u64::MAX,
        }
    }
}

#[derive(Debug)]
pub enum SqliteError {
    Closed,
    /// Raised by a caller's callback (e.g. making a JS Buffer of a body).
    Caller(String),
    Sqlite(rusqlite::Error),
}

impl std::fmt::Display for SqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SqliteError::Closed => f.write_str("SqliteCacheStore is closed"),
            SqliteError::Caller(m) => f.write_str(m),
            SqliteError::Sqlite(e) => write!(f, "SqliteCacheStore: {e}"),
        }
    }
}

impl std::error::Error for SqliteError {}

impl From<rusqlite::Error> for SqliteError {
    fn from(e: rusqlite::Error) -> Self {
        SqliteError::Sqlite(e)
    }
}

pub type Result<T> = std::result::Result<T, SqliteError>;

/// A live row a lookup found: its id and body length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub id: i64,
    pub body_len: u64,
}

/// A stored row's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub meta: String,
    pub body: Vec<u8>,
}

/// What `SqliteStore::find` found; `B` is what the caller made of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<B> {
    Miss,
    /// The one live response is the caller's `known` id, whose body it holds.
    Known(i64),
    /// The one live response has a body over `large` bytes (not read).
    Large(i64),
    /// The one live response: its metadata (`None` when it is the caller's
    /// `known` id) and body.
    One {
        id: i64,
        meta: Option<String>,
        body: B,
    },
    /// Several live responses (variants), oldest first.
    Many(Vec<Candidate>),
}

/// What a writer hands the store when a body is complete.
#[derive(Debug, Clone)]
pub struct NewRow<'a> {
    /// The primary key (see `entry::resource_key`).
    pub key: &'a str,
    pub method: &'a str,
    /// The canonical variant key (`VaryKey::decode` reads it).
    pub variant: &'a str,
    pub meta: &'a str,
    pub body: &'a [u8],
    pub delete_at: f64,
}

/// Result of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    /// The new row's id, if stored.
    pub id: Option<i64>,
    /// Rows it replaced.
    pub replaced: u64,
    /// Live rows evicted (oldest first) to honour the limits.
    pub evicted: u64,
    /// Expired rows reclaimed.
    pub expired: u64,
}

/// This process's counters for one store object (the file may be shared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub writes: u64,
    pub evictions: u64,
    pub expired: u64,
}

pub struct SqliteStore {
    conn: Mutex<Option<Connection>>,
    limits: Limits,
    writes: AtomicU64,
    evictions: AtomicU64,
    expired: AtomicU64,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `location` (`:memory:` for
    /// a private in-memory database).
    pub fn open(location: &str, limits: Limits) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(location, flags)?;
        conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
        // auto_vacuum only takes effect before the first table is created.
        conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL;")?;
        // Returns the new mode as a row; an in-memory database stays `memory`.
        let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch(&format!(
            "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;
             PRAGMA mmap_size = {MMAP_SIZE};
             PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT};"
        ))?;
        conn.set_prepared_statement_cache_capacity(32);
        {
            let tx = rusqlite::Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
            tx.execute_batch(SCHEMA)?;
            tx.commit()?;
        }
        Ok(SqliteStore {
            conn: Mutex::new(Some(conn)),
            limits,
            writes: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            expired: AtomicU64::new(0),
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn with<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let guard = self.conn.lock();
        match guard.as_ref() {
            Some(conn) => f(conn),
            None => Err(SqliteError::Closed),
        }
    }

    /// Closes the database; later calls fail with `Closed`. Idempotent.
    pub fn close(&self) -> Result<()> {
        let conn = self.conn.lock().take();
        match conn {
            None => Ok(()),
            Some(conn) => conn.close().map_err(|(_, e)| SqliteError::Sqlite(e)),
        }
    }

    /// The live responses for `key` + `method` at `now`, reading the content
    /// of a single one unless the caller holds it (`known`, `known_body`) or
    /// its body is over `large` bytes. `take_body` gets the body's bytes where
    /// SQLite holds them (the binding copies them straight into a JS Buffer).
    #[allow(clippy::too_many_arguments)]
    pub fn find<B>(
        &self,
        key: &str,
        method: &str,
        now: f64,
        known: i64,
        known_body: bool,
        large: u64,
        mut take_body: impl FnMut(&[u8]) -> std::result::Result<B, SqliteError>,
    ) -> Result<Found<B>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(FIND)?;
            let large_sql = large.min(i64::MAX as u64) as i64;
            let mut rows = stmt.query(params![key, method, known, known_body, large_sql])?;
            let mut live: Vec<(i64, Candidate)> = Vec::new();
            let mut first: Option<(Option<String>, Option<B>)> = None;
            while let Some(r) = rows.next()? {
                // undici: an entry is served while `deleteAt > now`.
                if r.get::<_, f64>(2)? <= now {
                    continue;
                }
                let c = Candidate {
                    id: r.get(0)?,
                    body_len: r.get::<_, i64>(1)? as u64,
                };
                if live.is_empty() {
                    let bytes = r
                        .get_ref(5)?
                        .as_blob_or_null()
                        .map_err(|e| SqliteError::Caller(e.to_string()))?;
                    let body = match bytes {
                        Some(bytes) => Some(take_body(bytes)?),
                        None => None,
                    };
                    first = Some((r.get(4)?, body));
                }
                live.push((r.get(3)?, c));
            }
            Ok(match live.len() {
                0 => Found::Miss,
                1 => {
                    let c = live[0].1;
                    let (meta, body) = first.unwrap_or((None, None));
                    if c.id == known && known_body {
                        Found::Known(c.id)
                    } else {
                        match body {
                            Some(body) if c.body_len <= large => Found::One {
                                id: c.id,
                                meta,
                                body,
                            },
                            _ => Found::Large(c.id),
                        }
                    }
                }
                _ => {
                    live.sort_unstable_by_key(|(written, _)| *written);
                    Found::Many(live.into_iter().map(|(_, c)| c).collect())
                }
            })
        })
    }

    /// Live rows stored for `key` + `method` at `now`, oldest first.
    pub fn lookup(&self, key: &str, method: &str, now: f64) -> Result<Vec<Candidate>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(LOOKUP)?;
            let mut rows = stmt.query(params![key, method])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                // undici: an entry is served while `deleteAt > now`.
                if r.get::<_, f64>(2)? > now {
                    let written: i64 = r.get(3)?;
                    out.push((
                        written,
                        Candidate {
                            id: r.get(0)?,
                            body_len: r.get::<_, i64>(1)? as u64,
                        },
                    ));
                }
            }
            // Oldest first.
            out.sort_unstable_by_key(|(written, _)| *written);
            Ok(out.into_iter().map(|(_, c)| c).collect())
        })
    }

    /// A response's metadata and body, if it is still stored.
    pub fn read(&self, key: &str, method: &str, id: i64) -> Result<Option<Row>> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(READ)?;
            Ok(stmt
                .query_row(params![key, method, id], |r| {
                    Ok(Row {
                        meta: r.get(0)?,
                        body: r.get(1)?,
                    })
                })
                .optional()?)
        })
    }

    /// Stores a response in one transaction: drops what it replaces (rows of
    /// the same key and method whose variant is the same, or that the writing
    /// request would have been served), inserts it, reclaims expired rows, and
    /// evicts the oldest rows until the limits hold.
    pub fn insert<H: RequestHeaders + ?Sized>(
        &self,
        row: &NewRow<'_>,
        request: &mut H,
        now: f64,
    ) -> Result<Written> {
        let limits = self.limits;
        let size = row.body.len() as u64;
        // Dead on arrival, or can never fit: not stored, nothing evicted.
        if row.delete_at <= now
            || size > limits.max_entry_size
            || size > limits.max_size
            || limits.max_count == 0
        {
            return Ok(Written::default());
        }
        let written = self.with(|conn| {
            let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
            let mut out = Written::default();
            let id = new_id();
            let rewrite;
            let mut freed = 0u64;
            {
                let mut same = tx.prepare_cached(SAME_RESOURCE)?;
                let mut replaced = Vec::new();
                let mut rows = same.query(params![row.key, row.method])?;
                while let Some(r) = rows.next()? {
                    let rowid: i64 = r.get(0)?;
                    let variant = r.get_ref(1)?.as_str().unwrap_or("");
                    // A variant this version cannot decode is replaced too.
                    let matches = variant == row.variant
                        || VaryKey::decode(variant).is_none_or(|v| v.matches(request));
                    if matches {
                        let len = r.get::<_, i64>(2)?.max(0);
                        replaced.push((rowid, len));
                        freed += len as u64;
                    }
                }
                drop(rows);
                out.replaced = replaced.len() as u64;
                rewrite = replaced.pop();
                let mut delete = tx.prepare_cached(DELETE_ROWID)?;
                for (rowid, _) in replaced {
                    delete.execute([rowid])?;
                }
            }
            let order: i64 = tx.prepare_cached(NEXT_ORDER)?.query_row([], |r| r.get(0))?;
            match rewrite {
                Some((rowid, old_len)) => {
                    tx.prepare_cached(REWRITE)?.execute(params![
                        id,
                        row.variant,
                        row.delete_at,
                        row.meta,
                        row.body,
                        rowid,
                        order
                    ])?;
                    let new_len = row.body.len() as i64;
                    if old_len != new_len {
                        tx.prepare_cached(RESIZE)?.execute([old_len, new_len])?;
                    }
                }
                None => {
                    tx.prepare_cached(INSERT)?.execute(params![
                        id,
                        row.key,
                        row.method,
                        row.variant,
                        row.delete_at,
                        row.meta,
                        row.body,
                        order
                    ])?;
                }
            }
            out.id = Some(id);
            // A write that replaced at least as many rows and bytes as it adds
            // cannot break the limits; otherwise check usage, and when over a
            // limit reclaim expired rows before evicting live ones. Expired
            // rows are also reclaimed every PURGE_EVERY writes.
            let grows = out.replaced == 0 || size > freed;
            let over = grows && {
                let (count, bytes) = usage(&tx)?;
                count > limits.max_count || bytes > limits.max_size
            };
            let due = self
                .writes
                .load(Ordering::Relaxed)
                .is_multiple_of(PURGE_EVERY);
            if over || due {
                out.expired = tx.prepare_cached(DELETE_EXPIRED)?.execute([now])? as u64;
            }
            if over {
                out.evicted = evict_oldest(&tx, limits)?;
            }
            tx.commit()?;
            Ok(out)
        })?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.evictions.fetch_add(written.evicted, Ordering::Relaxed);
        self.expired.fetch_add(written.expired, Ordering::Relaxed);
        if self
            .writes
            .load(Ordering::Relaxed)
            .is_multiple_of(VACUUM_EVERY)
        {
            // Best effort: the entry is committed; a busy file is vacuumed later.
            let _ = self.vacuum();
        }
        Ok(written)
    }

    /// Returns free pages to the file system when more than
    /// `FREE_PAGES_KEPT` and a quarter of the file are free (deleted rows'
    /// pages are otherwise reused by later writes, so the file stays at its
    /// high-water mark).
    pub fn vacuum(&self) -> Result<u64> {
        self.with(|conn| {
            let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
            let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            if free <= FREE_PAGES_KEPT || free * 4 < pages {
                return Ok(0);
            }
            let release = free - FREE_PAGES_KEPT;
            // Each step frees one page: step to the end (execute_batch would stop after one).
            let mut stmt = conn.prepare(&format!("PRAGMA incremental_vacuum({release})"))?;
            let mut rows = stmt.query([])?;
            while rows.next()?.is_some() {}
            Ok(release as u64)
        })
    }

    /// Checkpoints the WAL into the database file and truncates it.
    pub fn checkpoint(&self) -> Result<()> {
        self.with(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
    }

    /// Removes every row of `key` (any method and variant); returns how many.
    pub fn delete(&self, key: &str) -> Result<u64> {
        self.with(|conn| Ok(conn.prepare_cached(DELETE_KEY)?.execute([key])? as u64))
    }

    /// Removes every row.
    pub fn clear(&self) -> Result<()> {
        self.with(|conn| {
            conn.execute_batch("DELETE FROM ferrocache_entries_v3;")?;
            Ok(())
        })
    }

    /// Reclaims rows past their `delete_at`; returns how many.
    pub fn purge_expired(&self, now: f64) -> Result<u64> {
        let n =
            self.with(|conn| Ok(conn.prepare_cached(DELETE_EXPIRED)?.execute([now])? as u64))?;
        self.expired.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }

    /// `(count, body bytes)` of the whole file.
    pub fn usage(&self) -> Result<(u64, u64)> {
        self.with(usage)
    }

    pub fn counters(&self) -> Counters {
        Counters {
            writes: self.writes.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            expired: self.expired.load(Ordering::Relaxed),
        }
    }
}

/// A random id in 1..2^53 (exact as a JS number).
fn new_id() -> i64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        // Randomly keyed per thread (std seeds these from the OS).
        static KEYS: std::collections::hash_map::RandomState = std::collections::hash_map::RandomState::new();
    }
    let mut h = KEYS.with(|k| k.build_hasher());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    let id = (h.finish() & ((1 << 53) - 1)) as i64;
    id.max(1)
}

fn usage(conn: &Connection) -> Result<(u64, u64)> {
    let (count, size): (i64, i64) = conn
        .prepare_cached(USAGE)?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((count.max(0) as u64, size.max(0) as u64))
}

/// Share of a limit freed beyond it when a write crosses it: 1/64 (15 rows at
/// `maxCount` 1000; none below 64). Evicting one row per write at the cap cost
/// each write a second b-tree change (the row, both indexes, the usage row,
/// the free list): churn at `maxCount` 1000 wrote ~12 WAL pages per write
/// (strace: 25 pwrite calls). With the slack, 63 of 64 writes at the cap only
/// insert. The limits still hold after every write, and the least recently
/// written rows still go first.
const EVICT_SLACK: u64 = 64;

/// Deletes the least recently written rows (lowest write order) until `limits`
/// hold, and on until they hold with a slack of 1/64 of each limit; returns
/// how many.
fn evict_oldest(conn: &Connection, limits: Limits) -> Result<u64> {
    let (mut count, mut size) = usage(conn)?;
    if count <= limits.max_count && size <= limits.max_size {
        return Ok(0);
    }
    let max_count = limits.max_count - limits.max_count / EVICT_SLACK;
    let max_size = limits.max_size - limits.max_size / EVICT_SLACK;
    let mut victims = Vec::new();
    {
        // Two cursors in write order, merged: (order, rowid, body length).
        let mut inserted = conn.prepare_cached(OLDEST_INSERTED)?;
        let mut rewritten = conn.prepare_cached(OLDEST_REWRITTEN)?;
        let mut a = inserted.query([])?;
        let mut b = rewritten.query([])?;
        let next_a = |a: &mut rusqlite::Rows<'_>| -> Result<Option<(i64, i64, i64)>> {
            Ok(match a.next()? {
                Some(r) => Some((r.get(0)?, r.get(0)?, r.get(1)?)),
                None => None,
            })
        };
        let next_b = |b: &mut rusqlite::Rows<'_>| -> Result<Option<(i64, i64, i64)>> {
            Ok(match b.next()? {
                Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?)),
                None => None,
            })
        };
        let mut head_a = next_a(&mut a)?;
        let mut head_b = next_b(&mut b)?;
        while count > max_count || size > max_size {
            let (rowid, len) = match (head_a, head_b) {
                (Some(x), Some(y)) if x.0 <= y.0 => {
                    head_a = next_a(&mut a)?;
                    (x.1, x.2)
                }
                (_, Some(y)) => {
                    head_b = next_b(&mut b)?;
                    (y.1, y.2)
                }
                (Some(x), None) => {
                    head_a = next_a(&mut a)?;
                    (x.1, x.2)
                }
                (None, None) => break,
            };
            victims.push(rowid);
            count -= 1;
            size = size.saturating_sub(len.max(0) as u64);
        }
    }
    let mut delete = conn.prepare_cached(DELETE_ROWID)?;
    for rowid in &victims {
        delete.execute([rowid])?;
    }
    Ok(victims.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::vary::HeaderValue;

    fn store(limits: Limits) -> SqliteStore {
        SqliteStore::open(":memory:", limits).unwrap()
    }

    fn row<'a>(key: &'a str, variant: &'a str, body: &'a [u8], delete_at: f64) -> NewRow<'a> {
        NewRow {
            key,
            method: "GET",
            variant,
            meta: "{}",
            body,
            delete_at,
        }
    }

    fn no_headers() -> &'static [(&'static str, HeaderValue)] {
        &[]
    }

    fn put(s: &SqliteStore, key: &str, body: &[u8], now: f64) -> Written {
        s.insert(&row(key, "", body, now + 1000.0), &mut no_headers(), now)
            .unwrap()
    }

    fn ids(s: &SqliteStore, key: &str, now: f64) -> Vec<i64> {
        s.lookup(key, "GET", now)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect()
    }

    #[test]
    fn round_trip_and_replacement() {
        let s = store(Limits::default());
        let w = put(&s, "k", b"one", 0.0);
        let id = w.id.unwrap();
        assert_eq!(
            s.lookup("k", "GET", 0.0).unwrap(),
            vec![Candidate { id, body_len: 3 }]
        );
        assert_eq!(s.read("k", "GET", id).unwrap().unwrap().body, b"one");
        assert!(s.lookup("k", "HEAD", 0.0).unwrap().is_empty());
        let w2 = put(&s, "k", b"two!", 0.0);
        assert_eq!(w2.replaced, 1);
        assert_ne!(w2.id.unwrap(), id, "a rewrite gets a new id");
        assert_eq!(s.read("k", "GET", id).unwrap(), None);
        assert_eq!(s.usage().unwrap(), (1, 4));
    }

    fn to_vec(b: &[u8]) -> Result<Vec<u8>> {
        Ok(b.to_vec())
    }

    #[test]
    fn find_reads_only_what_the_caller_lacks() {
        let s = store(Limits::default());
        assert_eq!(
            s.find("k", "GET", 0.0, 0, false, 100, to_vec).unwrap(),
            Found::Miss
        );
        let id = put(&s, "k", b"body", 0.0).id.unwrap();
        assert_eq!(
            s.find("k", "GET", 0.0, 0, false, 100, to_vec).unwrap(),
            Found::One {
                id,
                meta: Some("{}".into()),
                body: b"body".to_vec()
            }
        );
        assert_eq!(
            s.find("k", "GET", 0.0, id, true, 100, to_vec).unwrap(),
            Found::Known(id)
        );
        assert_eq!(
            s.find("k", "GET", 0.0, id, false, 100, to_vec).unwrap(),
            Found::One {
                id,
                meta: None,
                body: b"body".to_vec()
            }
        );
        assert_eq!(
            s.find("k", "GET", 0.0, 0, false, 3, to_vec).unwrap(),
            Found::Large(id)
        );
        assert_eq!(
            s.find("k", "GET", 2000.0, 0, false, 100, to_vec).unwrap(),
            Found::Miss
        );
        // A rewrite gets a new id: the caller's memo of the old one is not used.
        let id2 = put(&s, "k", b"new", 0.0).id.unwrap();
        assert!(matches!(
            s.find("k", "GET", 0.0, id, true, 100, to_vec).unwrap(),
            Found::One { id, meta: Some(_), .. } if id == id2
        ));
        let mut a1: &[(&str, HeaderValue)] = &[("a", HeaderValue::One("1".into()))];
        let mut a2: &[(&str, HeaderValue)] = &[("a", HeaderValue::One("2".into()))];
        s.insert(&row("v", "a\0s1", b"1", 100.0), &mut a1, 0.0)
            .unwrap();
        s.insert(&row("v", "a\0s2", b"2", 100.0), &mut a2, 0.0)
            .unwrap();
        assert!(
            matches!(s.find("v", "GET", 0.0, 0, false, 100, to_vec).unwrap(), Found::Many(c) if c.len() == 2)
        );
    }

    #[test]
    fn ids_are_not_reused_after_clear_or_in_place_rewrites() {
        let s = store(Limits::default());
        let a = put(&s, "k", b"x", 0.0).id.unwrap();
        s.clear().unwrap();
        assert_eq!(s.usage().unwrap(), (0, 0));
        let b = put(&s, "k", b"x", 0.0).id.unwrap();
        assert_ne!(b, a);
    }

    #[test]
    fn variants_coexist_and_the_writing_request_selects_the_replaced_one() {
        let s = store(Limits::default());
        let gz = "accept-encoding\0sgzip";
        let br = "accept-encoding\0sbr";
        let mut gz_req: &[(&str, HeaderValue)] =
            &[("accept-encoding", HeaderValue::One("gzip".into()))];
        let mut br_req: &[(&str, HeaderValue)] =
            &[("accept-encoding", HeaderValue::One("br".into()))];
        s.insert(&row("k", gz, b"gz", 100.0), &mut gz_req, 0.0)
            .unwrap();
        s.insert(&row("k", br, b"br", 100.0), &mut br_req, 0.0)
            .unwrap();
        assert_eq!(ids(&s, "k", 0.0).len(), 2);
        // A response without Vary written for the gzip request replaces the gzip variant only.
        let w = s
            .insert(&row("k", "", b"plain", 100.0), &mut gz_req, 0.0)
            .unwrap();
        assert_eq!(w.replaced, 1);
        let live = ids(&s, "k", 0.0);
        assert_eq!(live.len(), 2);
        let bodies: Vec<_> = live
            .iter()
            .map(|&id| s.read("k", "GET", id).unwrap().unwrap().body)
            .collect();
        // The gzip row was rewritten: it is now the most recently written, so
        // the br request is still served its own variant before the plain one.
        assert_eq!(bodies, vec![b"br".to_vec(), b"plain".to_vec()]);
    }

    #[test]
    fn expired_rows_are_hidden_then_reclaimed_by_a_write() {
        let s = store(Limits::default());
        s.insert(&row("old", "", b"x", 10.0), &mut no_headers(), 0.0)
            .unwrap();
        assert_eq!(ids(&s, "old", 9.0).len(), 1);
        assert!(ids(&s, "old", 10.0).is_empty(), "not served at deleteAt");
        // Writes sweep expired rows every PURGE_EVERY writes.
        let mut swept = 0;
        for i in 0..PURGE_EVERY {
            swept += put(&s, &format!("new{i}"), b"y", 20.0).expired;
        }
        assert_eq!(swept, 1);
        assert_eq!(s.usage().unwrap(), (PURGE_EVERY, PURGE_EVERY));
        assert_eq!(s.counters().expired, 1);
        s.insert(&row("old2", "", b"x", 30.0), &mut no_headers(), 20.0)
            .unwrap();
        assert_eq!(s.purge_expired(40.0).unwrap(), 1);

        // At a limit, expired rows go before live ones.
        let capped = store(Limits {
            max_count: 2,
            ..Limits::default()
        });
        put(&capped, "live", b"l", 0.0);
        capped
            .insert(&row("short", "", b"s", 10.0), &mut no_headers(), 0.0)
            .unwrap();
        let w = put(&capped, "new", b"n", 20.0);
        assert_eq!((w.expired, w.evicted), (1, 0));
        assert_eq!(ids(&capped, "live", 20.0).len(), 1);
    }

    #[test]
    fn dead_or_oversized_rows_are_not_stored() {
        let s = store(Limits {
            max_entry_size: 3,
            max_size: 10,
            ..Limits::default()
        });
        let w = s
            .insert(&row("k", "", b"x", 5.0), &mut no_headers(), 5.0)
            .unwrap();
        assert_eq!(w.id, None);
        assert_eq!(put(&s, "k", b"1234", 0.0).id, None);
        assert!(
            put(&s, "k", b"123", 0.0).id.is_some(),
            "exactly maxEntrySize is kept"
        );
        let zero = store(Limits {
            max_count: 0,
            ..Limits::default()
        });
        assert_eq!(put(&zero, "k", b"", 0.0).id, None);
    }

    #[test]
    fn crossing_a_large_limit_frees_a_sixty_fourth_oldest_first() {
        let s = store(Limits {
            max_count: 128,
            ..Limits::default()
        });
        for i in 0..129 {
            put(&s, &format!("k{i}"), b"x", 0.0);
        }
        // 129 > 128: the oldest go until 126 (128 - 128/64) are left.
        assert_eq!(s.usage().unwrap().0, 126);
        assert_eq!(s.counters().evictions, 3);
        for i in 0..3 {
            assert!(ids(&s, &format!("k{i}"), 0.0).is_empty());
        }
        assert_eq!(ids(&s, "k3", 0.0).len(), 1);
        for i in 129..131 {
            put(&s, &format!("k{i}"), b"x", 0.0);
        }
        assert_eq!(
            s.counters().evictions,
            3,
            "below the limit again: nothing evicted"
        );
    }

    #[test]
    fn max_count_evicts_the_oldest() {
        let s = store(Limits {
            max_count: 3,
            ..Limits::default()
        });
        for i in 0..10 {
            put(&s, &format!("k{i}"), b"x", 0.0);
            assert!(s.usage().unwrap().0 <= 3);
        }
        for i in 0..7 {
            assert!(ids(&s, &format!("k{i}"), 0.0).is_empty());
        }
        for i in 7..10 {
            assert_eq!(ids(&s, &format!("k{i}"), 0.0).len(), 1);
        }
        assert_eq!(s.counters().evictions, 7);
    }

    // Defect 2 (issue 15): a rewrite kept its rowid, so eviction (by rowid)
    // dropped the rewritten row before older ones. undici evicts by cachedAt,
    // which a rewrite updates: the least recently written row goes first
    // (here by the write order: the rowid, or `written` once rewritten).
    #[test]
    fn a_rewritten_row_is_evicted_after_older_rows() {
        let s = store(Limits {
            max_count: 2,
            ..Limits::default()
        });
        put(&s, "a", b"a1", 0.0);
        put(&s, "b", b"b", 0.0);
        assert_eq!(put(&s, "a", b"a2", 0.0).replaced, 1);
        assert_eq!(put(&s, "c", b"c", 0.0).evicted, 1);
        assert!(ids(&s, "b", 0.0).is_empty(), "b was least recently written");
        assert_eq!(ids(&s, "a", 0.0).len(), 1);
        assert_eq!(ids(&s, "c", 0.0).len(), 1);
    }

    // Eviction merges rows never rewritten (rowid order) with rewritten ones
    // (`written` order) into one least-recently-written order.
    #[test]
    fn eviction_interleaves_inserted_and_rewritten_rows_by_write_order() {
        let s = store(Limits {
            max_count: 4,
            ..Limits::default()
        });
        for k in ["k0", "k1", "k2", "k3"] {
            put(&s, k, b"x", 0.0);
        }
        put(&s, "k1", b"y", 0.0);
        put(&s, "k0", b"y", 0.0);
        put(&s, "k0", b"z", 0.0);
        // Write order now: k2, k3, k1, k0.
        for (new, gone) in [("k4", "k2"), ("k5", "k3"), ("k6", "k1"), ("k7", "k0")] {
            assert_eq!(put(&s, new, b"x", 0.0).evicted, 1, "{new}");
            assert!(
                ids(&s, gone, 0.0).is_empty(),
                "{gone} goes when {new} is written"
            );
        }
        for k in ["k4", "k5", "k6", "k7"] {
            assert_eq!(ids(&s, k, 0.0).len(), 1, "{k}");
        }
    }

    #[test]
    fn max_size_evicts_just_enough() {
        let s = store(Limits {
            max_size: 10,
            ..Limits::default()
        });
        for k in ["a", "b", "c", "d", "e"] {
            put(&s, k, b"xx", 0.0);
        }
        let w = put(&s, "big", b"12345", 0.0);
        assert_eq!(w.evicted, 3);
        assert_eq!(s.usage().unwrap(), (3, 9));
        assert!(ids(&s, "c", 0.0).is_empty());
        assert_eq!(ids(&s, "d", 0.0).len(), 1);
    }

    #[test]
    fn delete_removes_every_method_and_variant() {
        let s = store(Limits::default());
        put(&s, "k", b"a", 0.0);
        s.insert(
            &NewRow {
                method: "HEAD",
                ..row("k", "", b"", 100.0)
            },
            &mut no_headers(),
            0.0,
        )
        .unwrap();
        put(&s, "other", b"b", 0.0);
        assert_eq!(s.delete("k").unwrap(), 2);
        assert_eq!(s.usage().unwrap(), (1, 1));
    }

    #[test]
    fn closed_store_fails_cleanly() {
        let s = store(Limits::default());
        s.close().unwrap();
        s.close().unwrap();
        assert!(matches!(
            s.lookup("k", "GET", 0.0),
            Err(SqliteError::Closed)
        ));
        assert!(matches!(
            s.insert(&row("k", "", b"x", 9.0), &mut no_headers(), 0.0),
            Err(SqliteError::Closed)
        ));
    }

    #[test]
    fn two_connections_share_a_file() {
        let dir = std::env::temp_dir().join(format!("ferrocache-sqlite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("shared.db");
        let path = path.to_str().unwrap();
        {
            let a = SqliteStore::open(path, Limits::default()).unwrap();
            let b = SqliteStore::open(path, Limits::default()).unwrap();
            let id = put(&a, "k", b"shared", 0.0).id.unwrap();
            assert_eq!(ids(&b, "k", 0.0), vec![id]);
            assert_eq!(b.read("k", "GET", id).unwrap().unwrap().body, b"shared");
            b.delete("k").unwrap();
            assert!(ids(&a, "k", 0.0).is_empty());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn vacuum_returns_free_pages() {
        let dir = std::env::temp_dir().join(format!("ferrocache-vacuum-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("v.db");
        let s = SqliteStore::open(path.to_str().unwrap(), Limits::default()).unwrap();
        let body = vec![1u8; 16 * 1024];
        for i in 0..300 {
            put(&s, &format!("k{i}"), &body, 0.0);
        }
        s.checkpoint().unwrap();
        let full = std::fs::metadata(&path).unwrap().len();
        s.clear().unwrap();
        assert!(s.vacuum().unwrap() > 0);
        s.checkpoint().unwrap();
        let after = std::fs::metadata(&path).unwrap().len();
        assert!(after < full / 4, "{full} -> {after}");
        drop(s);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn churn_keeps_the_file_bounded() {
        let dir = std::env::temp_dir().join(format!("ferrocache-churn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("churn.db");
        let body = vec![7u8; 2048];
        let s = SqliteStore::open(
            path.to_str().unwrap(),
            Limits {
                max_count: 100,
                ..Limits::default()
            },
        )
        .unwrap();
        let mut sizes = Vec::new();
        for round in 0..4 {
            for i in 0..2000 {
                put(&s, &format!("k{round}-{i}"), &body, 0.0);
            }
            s.checkpoint().unwrap();
            sizes.push(std::fs::metadata(&path).unwrap().len());
        }
        assert_eq!(s.usage().unwrap().0, 100);
        // After the first round the file does not grow.
        assert!(sizes[3] <= sizes[1], "file grew under churn: {sizes:?}");
        drop(s);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
