//! `MemoryStore`: the in-memory cache core behind `MemoryCacheStore`.
//!
//! - true LRU over entries (last `get` or write), exact limits: after every
//!   write `size <= max_size` and `count <= max_count`;
//! - variants per resource: `lookup` returns the live variants stored for a
//!   method, in write order; the caller picks by Vary (the JS shell holds the
//!   request headers) and reports the one it served with `touch`;
//! - expired entries are reclaimed (an expiry heap drained on every write, and
//!   any expired variant met by a `get`), not just hidden;
//! - `Send + Sync`: one store can serve every thread of the process.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use parking_lot::Mutex;

use smallvec::SmallVec;

use crate::http::vary::RequestHeaders;
use crate::store::entry::{Entry, EntryId, NewEntry};
use crate::store::expiry::ExpiryQueue;
use crate::store::lru_slab::LruSlab;
use crate::store::named::Registry;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    Evicted,
    Expired,
    Deleted,
}

/// What the caller did with its previous lookup; reported with its next call
/// so the hit path crosses once. Every write applies it before evicting, so
/// LRU order is exact whenever it matters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Served {
    #[default]
    Nothing,
    /// Served the single candidate (the lookup already counted the hit).
    Single(EntryId),
    /// Served this one, picked among several candidates: count the hit.
    Picked(EntryId),
    /// The single candidate did not match the request's Vary: not a hit.
    Rejected,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Miss,
    /// The only live variant for the method.
    One(EntryId),
    /// Several live variants, in write order: the caller picks by Vary.
    Many(Vec<EntryId>),
}

/// A lookup's result, whether it reclaimed expired entries on the way, and
/// the position of the removal log after it: a caller that memoises entries
/// compares that with its cursor and asks for [`MemoryStore::removed_since`]
/// when entries were removed (by any handle) since it last asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub found: Found,
    pub reclaimed: bool,
    pub removal_cursor: u64,
}

struct Inner {
    entries: LruSlab<Entry>,
    /// The first (oldest) variant stored under each key, found by the key's
    /// hash and compared against the key in its entry; later variants chain
    /// through `Entry::next` in write order. 8 bytes a key, where a map of
    /// owned keys to variant lists took ~140 (measured, bench/REPORT.md).
    index: HashTable<EntryId>,
    hasher: RandomState,
    expiry: ExpiryQueue,
    size: u64,
    /// A write crossed a limit and usage has not since been below both limits.
    over_limit: bool,
    /// The last write was refused for space.
    refused: bool,
    lookups: u64,
    stats: Stats,
    removed: VecDeque<EntryId>,
    /// Sequence number of the next removal; `removed` holds the last ones.
    removed_seq: u64,
}

impl Inner {
    fn hash(&self, key: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(key)
    }

    /// The first variant stored under `key`.
    fn first_variant(&self, hash: u64, key: &[u8]) -> Option<EntryId> {
        let entries = &self.entries;
        self.index
            .find(hash, |&id| {
                entries
                    .get(id)
                    .is_some_and(|e| e.hash == hash && e.key() == key)
            })
            .copied()
    }

    /// Every variant stored under the key whose first variant is `first`, in
    /// write order.
    fn variants(&self, first: Option<EntryId>) -> impl Iterator<Item = (EntryId, &Entry)> {
        let mut next = first.unwrap_or(0);
        std::iter::from_fn(move || {
            let id = next;
            let e = self.entries.get(id)?;
            next = e.next;
            Some((id, e))
        })
    }

    /// Takes `id` out of its key's variant chain (the entry is still stored).
    fn unlink_variant(&mut self, id: EntryId) {
        let Inner { entries, index, .. } = self;
        let Some(e) = entries.get(id) else {
            return;
        };
        let (hash, next, key) = (e.hash, e.next, e.key());
        let Ok(first) = index.find_entry(hash, |&f| {
            entries
                .get(f)
                .is_some_and(|x| x.hash == hash && x.key() == key)
        }) else {
            return;
        };
        if *first.get() == id {
            if next == 0 {
                first.remove();
            } else {
                *first.into_mut() = next;
            }
            return;
        }
        let mut at = *first.get();
        while let Some(e) = entries.get(at) {
            if e.next == id {
                if let Some(prev) = entries.get_mut(at) {
                    prev.next = next;
                }
                return;
            }
            at = e.next;
        }
    }

    /// Adds a stored entry as the last variant of its key.
    fn link_variant(&mut self, id: EntryId, hash: u64, key: &[u8]) {
        match self.first_variant(hash, key) {
            None => {
                let entries = &self.entries;
                self.index
                    .insert_unique(hash, id, |&f| entries.get(f).map_or(0, |e| e.hash));
            }
            Some(first) => {
                let mut at = first;
                while let Some(next) = self.entries.get(at).map(|e| e.next).filter(|&n| n != 0) {
                    at = next;
                }
                if let Some(last) = self.entries.get_mut(at) {
                    last.next = id;
                }
            }
        }
    }

    fn remove(&mut self, id: EntryId, why: Removal) -> bool {
        self.unlink_variant(id);
        let Some(entry) = self.entries.remove(id) else {
            return false;
        };
        self.size -= entry.size();
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
        while let Some(id) = self.expiry.pop_due(now) {
            self.remove(id, Removal::Expired);
        }
        let entries = &self.entries;
        self.expiry.compact(entries.len(), || {
            entries.iter().map(|(id, e)| (e.delete_at, id))
        });
    }

    /// Applies what the caller served after its previous lookup.
    fn served(&mut self, served: Served) {
        match served {
            Served::Nothing => {}
            Served::Single(id) => {
                self.entries.promote(id);
            }
            Served::Picked(id) => {
                // The hit happened even if the entry has been removed since.
                self.stats.hits += 1;
                self.entries.promote(id);
            }
            Served::Rejected => self.stats.hits -= 1,
        }
    }

    fn usage(&self) -> Usage {
        Usage {
            size: self.size,
            count: self.entries.len() as u64,
        }
    }

    fn settle_flags(&mut self, limits: &Limits) {
        if !self.refused
            && self.size < limits.max_size
            && (self.entries.len() as u64) < limits.max_count
        {
            self.over_limit = false;
        }
    }
}

static NAMED: Registry<MemoryStore> = Registry::new();

/// A named store already exists with other limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsMismatch {
    pub existing: Limits,
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
                entries: LruSlab::default(),
                index: HashTable::new(),
                hasher: RandomState::default(),
                expiry: ExpiryQueue::default(),
                size: 0,
                over_limit: false,
                refused: false,
                lookups: 0,
                stats: Stats::default(),
                removed: VecDeque::new(),
                removed_seq: 0,
            }),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The process-wide store called `name`, created with `limits` by its
    /// first opener; a later opener must ask for the same limits.
    pub fn open_named(name: &str, limits: Limits) -> Result<Arc<MemoryStore>, LimitsMismatch> {
        NAMED.open(
            name,
            || MemoryStore::new(limits),
            |store| {
                if store.limits == limits {
                    Ok(())
                } else {
                    Err(LimitsMismatch {
                        existing: store.limits,
                    })
                }
            },
        )
    }

    /// The live variants stored under `key` for `method`. Expired variants met
    /// here are reclaimed. A single candidate counts as a hit now (so a caller
    /// that never calls again still counts it); `served` reports the previous
    /// lookup's outcome and is applied first.
    pub fn lookup(&self, key: &[u8], method: &str, now: f64, served: Served) -> Lookup {
        let mut inner = self.inner.lock();
        inner.served(served);
        inner.lookups += 1;
        let hash = inner.hash(key);
        let Some(first) = inner.first_variant(hash, key) else {
            return Lookup {
                found: Found::Miss,
                reclaimed: false,
                removal_cursor: inner.removed_seq,
            };
        };
        let mut found: SmallVec<[EntryId; 2]> = SmallVec::new();
        let mut expired: SmallVec<[EntryId; 2]> = SmallVec::new();
        for (id, e) in inner.variants(Some(first)) {
            if e.delete_at <= now {
                expired.push(id);
            } else if e.method_is(method) {
                found.push(id);
            }
        }
        let reclaimed = !expired.is_empty();
        for id in expired {
            inner.remove(id, Removal::Expired);
        }
        let found = match found.len() {
            0 => Found::Miss,
            1 => {
                inner.stats.hits += 1;
                Found::One(found[0])
            }
            _ => Found::Many(found.into_vec()),
        };
        Lookup {
            found,
            reclaimed,
            removal_cursor: inner.removed_seq,
        }
    }

    /// Reports what the caller served after a lookup, without another lookup.
    pub fn report(&self, served: Served) {
        self.inner.lock().served(served);
    }

    /// Calls `f` with the stored metadata and `[cachedAt, staleAt, deleteAt]`
    /// of a live entry, under the store's lock (does not touch LRU order).
    pub fn with_meta<R>(&self, id: EntryId, f: impl FnOnce(&[u8], [f64; 3]) -> R) -> Option<R> {
        let inner = self.inner.lock();
        inner
            .entries
            .get(id)
            .map(|e| f(e.meta(), [e.cached_at(), e.stale_at(), e.delete_at]))
    }

    /// The body of a live entry (does not touch LRU order).
    pub fn body(&self, id: EntryId) -> Option<Bytes> {
        self.inner.lock().entries.get(id).map(|e| e.body.clone())
    }

    pub fn contains(&self, id: EntryId) -> bool {
        self.inner.lock().entries.contains(id)
    }

    /// Stores a complete response. It replaces the stored response the writing
    /// request would have been served (undici's rule): the first live variant
    /// for the method whose Vary matches `request` — the same variant key
    /// matches without reading any header.
    pub fn insert<H: RequestHeaders + ?Sized>(
        &self,
        key: &[u8],
        entry: NewEntry<'_>,
        request: &mut H,
        now: f64,
        served: Served,
    ) -> WriteOutcome {
        let limits = self.limits;
        let mut inner = self.inner.lock();
        inner.served(served);
        inner.reclaim_expired(now);

        let size = entry.body.len() as u64;
        // Already dead (deleteAt passed while the body streamed): never served.
        if size > limits.max_entry_size || entry.delete_at <= now {
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
            return WriteOutcome {
                stored: None,
                exceeded,
            };
        }

        let hash = inner.hash(key);
        let first = inner.first_variant(hash, key);
        let previous = inner.variants(first).find_map(|(id, e)| {
            (e.method_eq(&entry.method)
                && e.delete_at > now
                && (e.variant_is(entry.variant) || e.varies_to(request)))
            .then_some(id)
        });
        if let Some(previous) = previous {
            inner.remove(previous, Removal::Deleted);
        }

        let delete_at = entry.delete_at;
        let Some(id) = inner.entries.push(Entry::new(key, hash, entry)) else {
            // The slab is full (2^28 entries): refuse, like an entry too large.
            inner.refused = true;
            return WriteOutcome {
                stored: None,
                exceeded: None,
            };
        };
        inner.size += size;
        inner.link_variant(id, hash, key);
        inner.expiry.push(delete_at, id);
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
                let Some(victim) = inner.entries.peek_lru() else {
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
    pub fn delete(&self, key: &[u8]) -> usize {
        let mut inner = self.inner.lock();
        let hash = inner.hash(key);
        let first = inner.first_variant(hash, key);
        let ids: SmallVec<[EntryId; 4]> = inner.variants(first).map(|(id, _)| id).collect();
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
        let ids: Vec<EntryId> = inner.entries.iter().map(|(id, _)| id).collect();
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

    /// Counters; `served` as in [`MemoryStore::lookup`]. A lookup whose
    /// candidates the caller did not serve counts as a miss.
    pub fn stats(&self, served: Served) -> Stats {
        let mut inner = self.inner.lock();
        inner.served(served);
        Stats {
            misses: inner.lookups - inner.stats.hits,
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
    use crate::store::entry::resource_key;
    use crate::store::entry::Method;

    type Headers<'a> = &'a [(&'a str, HeaderValue)];
    const NO_HEADERS: Headers = &[];

    fn new_entry(body: &[u8], delete_at: f64) -> NewEntry<'static> {
        NewEntry {
            method: Method::Get,
            variant: "",
            meta: b"{}",
            body: Bytes::copy_from_slice(body),
            delete_at,
            cached_at: 0.0,
            stale_at: delete_at,
        }
    }

    fn put(store: &MemoryStore, path: &str, body: &[u8]) -> WriteOutcome {
        store.insert(
            &resource_key("o", path),
            new_entry(body, 1e15),
            &mut { NO_HEADERS },
            0.0,
            Served::Nothing,
        )
    }

    /// A lookup that serves its single candidate, as the JS shell does.
    fn get(store: &MemoryStore, path: &str) -> Option<EntryId> {
        match store
            .lookup(&resource_key("o", path), "GET", 0.0, Served::Nothing)
            .found
        {
            Found::One(id) => {
                store.report(Served::Single(id));
                Some(id)
            }
            _ => None,
        }
    }

    #[test]
    fn keys_do_not_collide_across_origins() {
        assert_ne!(
            resource_key("http://a:1", "/x"),
            resource_key("http://a", ":1/x")
        );
        // Lengths are UTF-16 lengths, as JS counts them; keys of code units
        // below U+0100 take one byte a unit.
        assert_eq!(&resource_key("é𝄞", "/")[1..5], &3u32.to_ne_bytes());
        assert_eq!(resource_key("é", "/").len(), 1 + 4 + 2);
        assert_ne!(resource_key("é", "/"), resource_key("é\u{100}", "/")[..7]);
        // Lone surrogates stay distinct (UTF-8 would turn both into U+FFFD).
        let a = crate::store::entry::resource_key_utf16(&[0x2f], &[0xd800]);
        let b = crate::store::entry::resource_key_utf16(&[0x2f], &[0xdfff]);
        assert_ne!(a, b);
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
        let stats = store.stats(Served::Nothing);
        assert_eq!((stats.evictions, stats.hits, stats.misses), (1, 2, 1));
    }

    #[test]
    fn deferred_touch_is_applied_before_eviction() {
        let store = MemoryStore::new(Limits {
            max_size: 1000,
            max_count: 2,
            max_entry_size: 1000,
        });
        let a = put(&store, "/a", b"1").stored.unwrap();
        put(&store, "/b", b"2");
        let found = store
            .lookup(&resource_key("o", "/a"), "GET", 0.0, Served::Nothing)
            .found;
        assert_eq!(found, Found::One(a));
        // The hit on /a is reported with the next write.
        store.insert(
            &resource_key("o", "/c"),
            new_entry(b"3", 1e15),
            &mut { NO_HEADERS },
            0.0,
            Served::Single(a),
        );
        assert!(store.contains(a));
        assert!(get(&store, "/b").is_none());
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
        store.delete(&resource_key("o", "/d"));
        assert!(put(&store, "/e", b"1").exceeded.is_none());
        assert!(put(&store, "/f", b"1").exceeded.is_some());
    }

    fn variant(vary: &[(&str, HeaderValue)]) -> NewEntry<'static> {
        let mut e = new_entry(b"body", 1e15);
        let key = VaryKey(vary.iter().map(|(n, v)| ((*n).into(), v.clone())).collect());
        // A few bytes leaked per test call: NewEntry borrows its variant.
        e.variant = Box::leak(key.encode().into_boxed_str());
        e
    }

    fn found(store: &MemoryStore, key: &[u8], method: &str, now: f64) -> Found {
        store.lookup(key, method, now, Served::Nothing).found
    }

    #[test]
    fn variants_methods_and_replacement() {
        let store = MemoryStore::new(Limits::default());
        let key = resource_key("o", "/");
        let gzip = HeaderValue::One("gzip".into());
        let mut req_gzip: Headers = &[("accept-encoding", gzip.clone())];
        let mut req_none: Headers = &[];
        let zipped = variant(&[("accept-encoding", gzip.clone())]);
        let plain = variant(&[("accept-encoding", HeaderValue::Absent)]);
        let first = store
            .insert(&key, zipped.clone(), &mut req_gzip, 0.0, Served::Nothing)
            .stored
            .unwrap();
        let second = store
            .insert(&key, plain, &mut req_none, 0.0, Served::Nothing)
            .stored
            .unwrap();
        assert_eq!(
            found(&store, &key, "GET", 0.0),
            Found::Many(vec![first, second])
        );
        assert_eq!(found(&store, &key, "HEAD", 0.0), Found::Miss);
        let third = store
            .insert(&key, zipped, &mut req_gzip, 0.0, Served::Nothing)
            .stored
            .unwrap();
        assert_eq!(
            found(&store, &key, "GET", 0.0),
            Found::Many(vec![second, third])
        );
        assert_eq!(store.count(), 2);
        assert!(!store.contains(first));
        let mut head = new_entry(b"", 1e15);
        head.method = Method::Head;
        let h = store
            .insert(&key, head, &mut req_none, 0.0, Served::Nothing)
            .stored
            .unwrap();
        assert_eq!(found(&store, &key, "HEAD", 0.0), Found::One(h));
        assert_eq!(store.delete(&key), 3);
        assert_eq!(store.count(), 0);
        assert_eq!(store.size(), 0);
    }

    #[test]
    fn a_write_replaces_what_its_request_would_be_served() {
        // undici: the new response replaces the stored one the writing request
        // matches, even when the Vary changed (added here).
        let store = MemoryStore::new(Limits::default());
        let key = resource_key("o", "/");
        let mut req: Headers = &[("accept-encoding", HeaderValue::One("br".into()))];
        let old = store
            .insert(
                &key,
                new_entry(b"old", 1e15),
                &mut req,
                0.0,
                Served::Nothing,
            )
            .stored
            .unwrap();
        let new = variant(&[("accept-encoding", HeaderValue::One("br".into()))]);
        let id = store
            .insert(&key, new, &mut req, 0.0, Served::Nothing)
            .stored
            .unwrap();
        assert!(!store.contains(old));
        assert_eq!(found(&store, &key, "GET", 0.0), Found::One(id));
    }

    #[test]
    fn expired_entries_are_reclaimed() {
        let store = MemoryStore::new(Limits::default());
        let key = resource_key("o", "/");
        store.insert(
            &key,
            new_entry(b"abc", 100.0),
            &mut { NO_HEADERS },
            0.0,
            Served::Nothing,
        );
        assert!(matches!(found(&store, &key, "GET", 99.0), Found::One(_)));
        let lookup = store.lookup(&key, "GET", 100.0, Served::Nothing);
        assert_eq!(
            lookup,
            Lookup {
                found: Found::Miss,
                reclaimed: true,
                removal_cursor: 1,
            }
        );
        assert_eq!(store.count(), 0);
        assert_eq!(store.stats(Served::Nothing).expired, 1);
        store.insert(
            &resource_key("o", "/a"),
            new_entry(b"abc", 100.0),
            &mut { NO_HEADERS },
            0.0,
            Served::Nothing,
        );
        store.insert(
            &resource_key("o", "/b"),
            new_entry(b"abc", 1e15),
            &mut { NO_HEADERS },
            200.0,
            Served::Nothing,
        );
        assert_eq!(store.count(), 1);
        assert_eq!(store.size(), 3);
    }

    #[test]
    fn an_entry_dead_on_arrival_is_not_stored_and_evicts_nothing() {
        let store = MemoryStore::new(Limits {
            max_size: 1000,
            max_count: 1,
            max_entry_size: 1000,
        });
        let live = put(&store, "/live", b"1").stored.unwrap();
        let out = store.insert(
            &resource_key("o", "/dead"),
            new_entry(b"2", 50.0),
            &mut { NO_HEADERS },
            60.0,
            Served::Nothing,
        );
        assert_eq!(out.stored, None);
        assert!(store.contains(live));
    }

    #[test]
    fn refused_writes_report_exceeded_once() {
        let store = MemoryStore::new(Limits {
            max_size: 10,
            max_count: 10,
            max_entry_size: 100,
        });
        assert!(put(&store, "/a", &[0; 11]).exceeded.is_some());
        assert!(put(&store, "/b", &[0; 11]).exceeded.is_none());
        assert!(store.is_full());
        put(&store, "/c", &[0; 2]);
        assert!(!store.is_full());
        assert!(put(&store, "/d", &[0; 11]).exceeded.is_some());
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
    fn removal_log_overflow_is_reported() {
        let store = MemoryStore::new(Limits {
            max_size: u64::MAX,
            max_count: 1,
            max_entry_size: 1000,
        });
        let c = store.removal_cursor();
        for i in 0..(REMOVAL_LOG_CAPACITY + 10) {
            put(&store, &format!("/{i}"), b"x");
        }
        let r = store.removed_since(c);
        assert!(r.overflowed);
        assert_eq!(r.ids.len(), REMOVAL_LOG_CAPACITY);
    }

    #[test]
    fn named_stores_are_shared_and_freed_with_their_last_handle() {
        let limits = Limits::default();
        let a = MemoryStore::open_named("test-shared", limits).unwrap();
        let b = MemoryStore::open_named("test-shared", limits).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let other = Limits {
            max_count: 7,
            ..limits
        };
        assert_eq!(
            MemoryStore::open_named("test-shared", other).err(),
            Some(LimitsMismatch { existing: limits })
        );
        let weak = Arc::downgrade(&a);
        drop(a);
        drop(b);
        assert!(weak.upgrade().is_none());
        assert!(MemoryStore::open_named("test-shared", other).is_ok());
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
