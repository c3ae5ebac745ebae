//! `MemoryStore`: the in-memory cache core behind `MemoryCacheStore`.
//!
//! - true LRU over entries (last `get` or write), exact limits: after every
//!   write `size <= max_size` and `count <= max_count`;
//! - variants per resource (method + Vary), first live match wins, as undici;
//! - expired entries are reclaimed (an expiry heap drained on every write, and
//!   any expired variant met by a `get`), not just hidden;
//! - `Send + Sync`: one store can serve every thread of the process.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use bytes::Bytes;
use lru::LruCache;
use parking_lot::Mutex;

use crate::http::vary::RequestHeaders;
use crate::store::entry::{Entry, EntryId, NewEntry, ResourceKey};

/// The limits a store enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Sum of body bytes.
    pub max_size: u64,
    pub max_count: u64,
    /// Largest body accepted; a body of exactly this size is kept.
    pub max_entry_size: u64,
}

impl Default for Limits {
    /// undici's defaults.
    fn default() -> Self {
        Limits {
            max_size: 104_857_600,
            max_count: 1024,
            max_entry_size: 5_242_880,
        }
    }
}

/// Counters and usage, store-wide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub hits: u64,
    pub misses: u64,
    pub writes: u64,
    pub evictions: u64,
    pub expired: u64,
    pub size: u64,
    pub count: u64,
}

/// Size and count at a moment, as reported with `'maxSizeExceeded'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub size: u64,
    pub count: u64,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The new entry's id, or `None` when it could not be kept (larger than
    /// `max_entry_size` or than the whole store).
    pub stored: Option<EntryId>,
    /// Set when this write pushed the store past a limit for the first time
    /// since it was last below both: the usage the write would have reached.
    pub exceeded: Option<Usage>,
}

/// Ids of removed entries since a reader's cursor (see [`MemoryStore::removed_since`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removals {
    pub ids: Vec<EntryId>,
    pub cursor: u64,
    /// The log no longer reaches back to the cursor: the reader must check its
    /// remembered ids with [`MemoryStore::contains`].
    pub overflowed: bool,
}

const REMOVAL_LOG_CAPACITY: usize = 1 << 16;

#[derive(Debug, Clone, Copy)]
struct Expiry {
    delete_at: f64,
    id: EntryId,
}

impl PartialEq for Expiry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Expiry {}
impl PartialOrd for Expiry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Expiry {
    // Reversed: `BinaryHeap` is a max-heap, the soonest expiry must be on top.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .delete_at
            .total_cmp(&self.delete_at)
            .then(other.id.cmp(&self.id))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    Evicted,
    Expired,
    Deleted,
}

struct Inner {
    entries: LruCache<EntryId, Entry>,
    index: HashMap<ResourceKey, Vec<EntryId>>,
    expiry: BinaryHeap<Expiry>,
    size: u64,
    next_id: EntryId,
    /// A write crossed a limit and usage has not since been below both limits.
    over_limit: bool,
    /// The last write was refused for space.
    refused: bool,
    stats: Stats,
    removed: VecDeque<EntryId>,
    /// Sequence number of the next removal; `removed` holds the last ones.
    removed_seq: u64,
}

impl Inner {
    fn remove(&mut self, id: EntryId, why: Removal) -> bool {
        let Some(entry) = self.entries.pop(&id) else {
            return false;
        };
        self.size -= entry.size();
        if let Some(ids) = self.index.get_mut(&entry.key) {
            ids.retain(|x| *x != id);
            if ids.is_empty() {
                self.index.remove(&entry.key);
            }
        }
        match why {
            Removal::Evicted => self.stats.evictions += 1,
            Removal::Expired => self.stats.expired += 1,
            Removal::Deleted => {}
        }
        if self.removed.len() == REMOVAL_LOG_CAPACITY {
            self.removed.pop_front();
        }
        self.removed.push_back(id);
        self.removed_seq += 1;
        true
    }

    fn reclaim_expired(&mut self, now: f64) {
        while let Some(top) = self.expiry.peek().copied() {
            if top.delete_at > now {
                break;
            }
            self.expiry.pop();
            self.remove(top.id, Removal::Expired);
        }
        // Entries removed by other paths leave their heap items behind; keep
        // the heap proportional to the live entries.
        if self.expiry.len() > 2 * self.entries.len() + 1024 {
            let live = self.entries.iter().map(|(id, e)| Expiry {
                delete_at: e.delete_at,
                id: *id,
            });
            self.expiry = live.collect();
        }
    }

    /// First live variant under `key` for `method` whose Vary matches; expired
    /// variants met on the way are reclaimed.
    fn find<H: RequestHeaders + ?Sized>(
        &mut self,
        key: &ResourceKey,
        method: &str,
        headers: &mut H,
        now: f64,
    ) -> Option<EntryId> {
        let ids = self.index.get(key)?;
        let mut found = None;
        let mut expired: Vec<EntryId> = Vec::new();
        for id in ids {
            let Some(entry) = self.entries.peek(id) else {
                continue;
            };
            if !entry.is_live(now) {
                expired.push(*id);
                continue;
            }
            if &*entry.method == method
                && entry.vary.as_ref().is_none_or(|v| v.matches(headers))
            {
                found = Some(*id);
                break;
            }
        }
        for id in expired {
            self.remove(id, Removal::Expired);
        }
        found
    }

    fn usage(&self) -> Usage {
        Usage {
            size: self.size,
            count: self.entries.len() as u64,
        }
    }

    fn settle_flags(&mut self, limits: &Limits) {
        if self.size < limits.max_size && (self.entries.len() as u64) < limits.max_count {
            self.over_limit = false;
        }
    }
}

/// The in-memory store core.
pub struct MemoryStore {
    limits: Limits,
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new(limits: Limits) -> Self {
        MemoryStore {
            limits,
            inner: Mutex::new(Inner {
                entries: LruCache::unbounded(),
                index: HashMap::new(),
                expiry: BinaryHeap::new(),
                size: 0,
                next_id: 1,
                over_limit: false,
                refused: false,
                stats: Stats::default(),
                removed: VecDeque::new(),
                removed_seq: 0,
            }),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The id of the response to serve for this request, if any; marks it most
    /// recently used.
    pub fn get<H: RequestHeaders + ?Sized>(
        &self,
        key: &ResourceKey,
        method: &str,
        headers: &mut H,
        now: f64,
    ) -> Option<EntryId> {
        let mut inner = self.inner.lock();
        let found = inner.find(key, method, headers, now);
        match found {
            Some(id) => {
                inner.entries.promote(&id);
                inner.stats.hits += 1;
            }
            None => inner.stats.misses += 1,
        }
        found
    }

    /// The stored metadata and body of a live entry (does not touch LRU order).
    pub fn entry(&self, id: EntryId) -> Option<(Bytes, Bytes)> {
        let inner = self.inner.lock();
        inner
            .entries
            .peek(&id)
            .map(|e| (e.meta.clone(), e.body.clone()))
    }

    pub fn contains(&self, id: EntryId) -> bool {
        self.inner.lock().entries.contains(&id)
    }

    /// Stores a complete response. The variant it supersedes (same method, and
    /// Vary matching the writing request's headers) is replaced.
    pub fn insert<H: RequestHeaders + ?Sized>(
        &self,
        key: ResourceKey,
        entry: NewEntry,
        request_headers: &mut H,
        now: f64,
    ) -> WriteOutcome {
        let limits = self.limits;
        let mut inner = self.inner.lock();
        inner.reclaim_expired(now);

        let size = entry.body.len() as u64;
        if size > limits.max_entry_size {
            return WriteOutcome {
                stored: None,
                exceeded: None,
            };
        }
        if size > limits.max_size || limits.max_count == 0 {
            // It can never fit: refuse it rather than empty the store for it.
            inner.refused = true;
            let would_be = Usage {
                size: inner.size + size,
                count: inner.entries.len() as u64 + 1,
            };
            let exceeded = (!inner.over_limit).then_some(would_be);
            inner.over_limit = true;
            inner.settle_flags(&limits);
            return WriteOutcome {
                stored: None,
                exceeded,
            };
        }

        if let Some(previous) = inner.find(&key, &entry.method, request_headers, now) {
            inner.remove(previous, Removal::Deleted);
        }

        let id = inner.next_id;
        inner.next_id += 1;
        inner.size += size;
        inner.index.entry(key.clone()).or_default().push(id);
        inner.expiry.push(Expiry {
            delete_at: entry.delete_at,
            id,
        });
        inner.entries.push(
            id,
            Entry {
                id,
                key,
                method: entry.method,
                vary: entry.vary,
                meta: entry.meta,
                body: entry.body,
                delete_at: entry.delete_at,
            },
        );
        inner.stats.writes += 1;
        inner.refused = false;

        let mut exceeded = None;
        if inner.size > limits.max_size || inner.entries.len() as u64 > limits.max_count {
            if !inner.over_limit {
                exceeded = Some(inner.usage());
                inner.over_limit = true;
            }
            while inner.size > limits.max_size || inner.entries.len() as u64 > limits.max_count {
                // The new entry is most recent and fits alone, so it is never
                // the one popped here.
                let Some((victim, _)) = inner.entries.peek_lru().map(|(id, _)| (*id, ())) else {
                    break;
                };
                inner.remove(victim, Removal::Evicted);
            }
        }
        inner.settle_flags(&limits);
        WriteOutcome {
            stored: Some(id),
            exceeded,
        }
    }

    /// Removes every variant of the resource; returns how many were removed.
    pub fn delete(&self, key: &ResourceKey) -> usize {
        let mut inner = self.inner.lock();
        let ids = inner.index.get(key).cloned().unwrap_or_default();
        let mut n = 0;
        for id in ids {
            if inner.remove(id, Removal::Deleted) {
                n += 1;
            }
        }
        inner.refused = false;
        inner.settle_flags(&self.limits);
        n
    }

    /// Removes everything.
    pub fn clear(&self) {
        let mut inner = self.inner.lock();
        let ids: Vec<EntryId> = inner.entries.iter().map(|(id, _)| *id).collect();
        for id in ids {
            inner.remove(id, Removal::Deleted);
        }
        inner.expiry.clear();
        inner.refused = false;
        inner.settle_flags(&self.limits);
    }

    /// Reclaims entries whose `deleteAt` has passed; returns how many.
    pub fn purge_expired(&self, now: f64) -> u64 {
        let mut inner = self.inner.lock();
        let before = inner.stats.expired;
        inner.reclaim_expired(now);
        inner.settle_flags(&self.limits);
        inner.stats.expired - before
    }

    pub fn size(&self) -> u64 {
        self.inner.lock().size
    }

    pub fn count(&self) -> u64 {
        self.inner.lock().entries.len() as u64
    }

    /// At a limit, or the last write was refused for lack of room.
    pub fn is_full(&self) -> bool {
        let inner = self.inner.lock();
        inner.refused
            || inner.size >= self.limits.max_size
            || inner.entries.len() as u64 >= self.limits.max_count
    }

    pub fn stats(&self) -> Stats {
        let inner = self.inner.lock();
        Stats {
            size: inner.size,
            count: inner.entries.len() as u64,
            ..inner.stats
        }
    }

    /// Current position of the removal log, for a new reader.
    pub fn removal_cursor(&self) -> u64 {
        self.inner.lock().removed_seq
    }

    /// Ids removed (evicted, expired, replaced, deleted) since `cursor`.
    pub fn removed_since(&self, cursor: u64) -> Removals {
        let inner = self.inner.lock();
        let end = inner.removed_seq;
        let start = end - inner.removed.len() as u64;
        if cursor >= end {
            return Removals {
                ids: Vec::new(),
                cursor: end,
                overflowed: false,
            };
        }
        let overflowed = cursor < start;
        let skip = cursor.saturating_sub(start) as usize;
        Removals {
            ids: inner.removed.iter().skip(skip).copied().collect(),
            cursor: end,
            overflowed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::vary::{HeaderValue, VaryKey};

    type Headers<'a> = &'a [(&'a str, HeaderValue)];

    fn new_entry(body: &[u8], delete_at: f64) -> NewEntry {
        NewEntry {
            method: "GET".into(),
            vary: None,
            meta: Bytes::from_static(b"{}"),
            body: Bytes::copy_from_slice(body),
            delete_at,
        }
    }

    fn put(store: &MemoryStore, path: &str, body: &[u8]) -> WriteOutcome {
        let mut h: Headers = &[];
        store.insert(ResourceKey::new("o", path), new_entry(body, 1e15), &mut h, 0.0)
    }

    fn get(store: &MemoryStore, path: &str) -> Option<EntryId> {
        let mut h: Headers = &[];
        store.get(&ResourceKey::new("o", path), "GET", &mut h, 0.0)
    }

    #[test]
    fn keys_do_not_collide_across_origins() {
        assert_ne!(ResourceKey::new("http://a:1", "/x"), ResourceKey::new("http://a", ":1/x"));
    }

    #[test]
    fn lru_evicts_least_recently_read() {
        let store = MemoryStore::new(Limits {
            max_size: 1000,
            max_count: 3,
            max_entry_size: 1000,
        });
        put(&store, "/a", b"1");
        put(&store, "/b", b"2");
        put(&store, "/c", b"3");
        assert!(get(&store, "/a").is_some());
        let out = put(&store, "/d", b"4");
        assert!(out.stored.is_some());
        assert_eq!(out.exceeded, Some(Usage { size: 4, count: 4 }));
        assert!(get(&store, "/b").is_none(), "b was least recently used");
        assert!(get(&store, "/a").is_some());
        assert_eq!(store.count(), 3);
        assert_eq!(store.stats().evictions, 1);
    }

    #[test]
    fn size_limit_is_exact() {
        let store = MemoryStore::new(Limits {
            max_size: 10,
            max_count: 100,
            max_entry_size: 100,
        });
        for i in 0..50 {
            put(&store, &format!("/{i}"), &[0u8; 3]);
            assert!(store.size() <= 10);
        }
        assert_eq!(store.size(), 9);
        // Larger than the whole store: refused, the rest kept.
        let out = put(&store, "/big", &[0u8; 11]);
        assert_eq!(out.stored, None);
        assert_eq!(store.size(), 9);
        assert!(store.is_full());
    }

    #[test]
    fn entry_of_exactly_max_entry_size_is_kept() {
        let store = MemoryStore::new(Limits {
            max_size: 100,
            max_count: 100,
            max_entry_size: 5,
        });
        assert!(put(&store, "/a", b"12345").stored.is_some());
        assert!(put(&store, "/b", b"123456").stored.is_none());
    }

    #[test]
    fn exceeded_is_reported_once_per_crossing() {
        let store = MemoryStore::new(Limits {
            max_size: 1000,
            max_count: 2,
            max_entry_size: 1000,
        });
        put(&store, "/a", b"1");
        put(&store, "/b", b"1");
        assert!(put(&store, "/c", b"1").exceeded.is_some());
        assert!(put(&store, "/d", b"1").exceeded.is_none());
        store.delete(&ResourceKey::new("o", "/d"));
        assert!(put(&store, "/e", b"1").exceeded.is_none());
        assert!(put(&store, "/f", b"1").exceeded.is_some());
    }

    #[test]
    fn variants_and_replacement() {
        let store = MemoryStore::new(Limits::default());
        let key = ResourceKey::new("o", "/");
        let gzip = HeaderValue::One("gzip".into());
        let mut req_gzip: Headers = &[("accept-encoding", gzip.clone())];
        let mut req_none: Headers = &[];
        let mut e = new_entry(b"zipped", 1e15);
        e.vary = Some(VaryKey(vec![("accept-encoding".into(), gzip.clone())]));
        let first = store.insert(key.clone(), e.clone(), &mut req_gzip, 0.0).stored.unwrap();
        let mut plain = new_entry(b"plain", 1e15);
        plain.vary = Some(VaryKey(vec![("accept-encoding".into(), HeaderValue::Absent)]));
        let second = store.insert(key.clone(), plain, &mut req_none, 0.0).stored.unwrap();
        assert_eq!(store.get(&key, "GET", &mut req_gzip, 0.0), Some(first));
        assert_eq!(store.get(&key, "GET", &mut req_none, 0.0), Some(second));
        assert_eq!(store.get(&key, "HEAD", &mut req_none, 0.0), None);
        let third = store.insert(key.clone(), e, &mut req_gzip, 0.0).stored.unwrap();
        assert_eq!(store.get(&key, "GET", &mut req_gzip, 0.0), Some(third));
        assert_eq!(store.count(), 2);
        assert!(!store.contains(first));
        assert_eq!(store.delete(&key), 2);
        assert_eq!(store.count(), 0);
        assert_eq!(store.size(), 0);
    }

    #[test]
    fn expired_entries_are_reclaimed() {
        let store = MemoryStore::new(Limits::default());
        let mut h: Headers = &[];
        let key = ResourceKey::new("o", "/");
        store.insert(key.clone(), new_entry(b"abc", 100.0), &mut h, 0.0);
        assert!(store.get(&key, "GET", &mut h, 99.0).is_some());
        assert!(store.get(&key, "GET", &mut h, 100.0).is_none());
        assert_eq!(store.count(), 0);
        assert_eq!(store.stats().expired, 1);
        store.insert(ResourceKey::new("o", "/a"), new_entry(b"abc", 100.0), &mut h, 0.0);
        store.insert(ResourceKey::new("o", "/b"), new_entry(b"abc", 1e15), &mut h, 200.0);
        assert_eq!(store.count(), 1);
        assert_eq!(store.size(), 3);
    }

    #[test]
    fn removal_log_reports_ids() {
        let store = MemoryStore::new(Limits {
            max_size: 1000,
            max_count: 1,
            max_entry_size: 1000,
        });
        let c = store.removal_cursor();
        let a = put(&store, "/a", b"1").stored.unwrap();
        put(&store, "/b", b"1");
        let r = store.removed_since(c);
        assert_eq!(r.ids, vec![a]);
        assert!(!r.overflowed);
        assert!(store.removed_since(r.cursor).ids.is_empty());
    }

    #[test]
    fn churn_keeps_expiry_heap_bounded() {
        let store = MemoryStore::new(Limits {
            max_size: u64::MAX,
            max_count: 10,
            max_entry_size: 1000,
        });
        for i in 0..100_000 {
            put(&store, &format!("/{i}"), b"x");
        }
        assert!(store.inner.lock().expiry.len() <= 2 * 10 + 1024 + 1);
    }
}
