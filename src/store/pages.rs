//! `PageCache`: the tag-indexed page cache behind `ferrocache/vsf`.
//!
//! - key → (content bytes, tags, expiry); tag → keys (`store::tags`);
//! - true LRU over pages (last `get` or `insert`), exact limits: after every
//!   insert `size <= max_size` and `count <= max_count`;
//! - invalidating a tag costs in proportion to the pages it removes (and their
//!   tags), not to the number of pages stored;
//! - a page leaves the tag index whenever it leaves the cache: evicted,
//!   expired, replaced, invalidated, deleted or cleared;
//! - `Send + Sync`: one cache can serve every thread of the process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use foldhash::fast::RandomState;
use parking_lot::Mutex;

use super::expiry::ExpiryQueue;
use super::lru_slab::LruSlab;
use super::named::Registry;
use super::tags::{Tag, TagIndex};

/// Identifies a stored page for its whole life; never reused, so a caller's
/// memo keyed by id can never serve a replaced or removed page.
pub type PageId = u64;

/// The limits a cache enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    /// Sum of [`page_size`] over the stored pages.
    pub max_size: u64,
    pub max_count: u64,
}

impl Default for PageLimits {
    fn default() -> Self {
        PageLimits {
            max_size: 256 * 1024 * 1024,
            max_count: u64::MAX,
        }
    }
}

/// Counters and usage, cache-wide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageStats {
    pub hits: u64,
    pub misses: u64,
    pub inserts: u64,
    pub evictions: u64,
    pub expired: u64,
    pub invalidated: u64,
    pub size: u64,
    pub count: u64,
    pub tags: u64,
}

/// What the caller hands the cache.
#[derive(Debug, Clone)]
pub struct NewPage<'a, S: AsRef<str>> {
    pub key: &'a str,
    pub content: Bytes,
    pub tags: &'a [S],
    /// Milliseconds since the epoch after which the page is not served;
    /// `f64::INFINITY` for never.
    pub expires_at: f64,
}

/// The bytes a page counts against `max_size`: content, key and tag names.
pub fn page_size<S: AsRef<str>>(key: &str, content: &[u8], tags: &[S]) -> u64 {
    let tags: usize = tags.iter().map(|t| t.as_ref().len()).sum();
    (content.len() + key.len() + tags) as u64
}

/// What an insert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertOutcome {
    /// The new page's id, or `None` when it was refused (see `invalidated`).
    pub stored: Option<PageId>,
    /// Refused because the cache was invalidated since the caller's
    /// generation (decided under the same lock as the insert); otherwise a
    /// refused page can never fit the limits or was dead on arrival.
    pub invalidated: bool,
    /// Pages removed to make room, by expiry, or replaced under the same key.
    pub removed: Vec<PageId>,
}

#[derive(Debug)]
struct Page {
    key: Box<str>,
    content: Bytes,
    tags: Box<[Tag]>,
    expires_at: f64,
    size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    Evicted,
    Expired,
    Invalidated,
    Replaced,
}

/// How many pages a cache has removed so far (evicted, expired, invalidated,
/// replaced, deleted, cleared), as an `f64` a reader can load without the
/// cache's lock: the JS shell maps it into a `Float64Array` and serves a
/// memoised page with no call into Rust while the count is the one it saw when
/// it last checked that page (see `lib/vsf.js`). Ids are never reused, so an
/// unchanged count means no page this reader remembers has gone.
#[derive(Debug, Default)]
pub struct RemovalCount(AtomicU64);

impl RemovalCount {
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Acquire))
    }

    fn set(&self, count: f64) {
        self.0.store(count.to_bits(), Ordering::Release);
    }

    /// The counter's memory, for a typed array over it.
    pub fn as_ptr(&self) -> *mut u64 {
        self.0.as_ptr()
    }
}

struct Inner {
    /// Pages in an `LruSlab`: an id names its slot, so marking a page used
    /// (every hit, and every memo hit the JS shell reports) is a few stores,
    /// where `lru::LruCache` hashed the id into its map first.
    pages: LruSlab<Page>,
    /// Pages removed so far, and the counters readers watch (one per reader:
    /// V8 refuses two ArrayBuffers over the same memory).
    removals: f64,
    watchers: Vec<Arc<RemovalCount>>,
    /// Keys come from request routes: a randomly seeded hasher, as `lru` uses.
    keys: HashMap<Box<str>, PageId, RandomState>,
    tags: TagIndex<PageId>,
    /// Only pages with a finite expiry are pushed.
    expiry: ExpiryQueue,
    size: u64,
    /// Bumped by every invalidation; see [`PageCache::generation`].
    generation: u64,
    stats: PageStats,
}

impl Inner {
    fn count_removals(&mut self, n: u64) {
        if n == 0 {
            return;
        }
        self.removals += n as f64;
        for w in &self.watchers {
            w.set(self.removals);
        }
    }

    fn remove(&mut self, id: PageId, why: Removal) -> bool {
        let Some(page) = self.pages.remove(id) else {
            return false;
        };
        self.count_removals(1);
        self.size -= page.size;
        if self.keys.get(&page.key) == Some(&id) {
            self.keys.remove(&page.key);
        }
        self.tags.remove(id, &page.tags);
        match why {
            Removal::Evicted => self.stats.evictions += 1,
            Removal::Expired => self.stats.expired += 1,
            Removal::Invalidated => self.stats.invalidated += 1,
            Removal::Replaced => {}
        }
        true
    }

    fn reclaim_expired(&mut self, now: f64, removed: &mut Vec<PageId>) {
        while let Some(id) = self.expiry.pop_due(now) {
            if self.remove(id, Removal::Expired) {
                removed.push(id);
            }
        }
        let pages = &self.pages;
        self.expiry.compact(pages.len(), || {
            pages
                .iter()
                .filter(|(_, p)| p.expires_at.is_finite())
                .map(|(id, p)| (p.expires_at, id))
        });
    }
}

/// The page cache core.
pub struct PageCache {
    limits: PageLimits,
    inner: Mutex<Inner>,
}

static NAMED: Registry<PageCache> = Registry::new();

impl PageCache {
    /// The process-wide page cache called `name`, created with `limits` by
    /// its first opener; a later opener must ask for the same limits (else
    /// `Err` with the existing ones).
    pub fn open_named(name: &str, limits: PageLimits) -> Result<Arc<PageCache>, PageLimits> {
        NAMED.open(
            name,
            || PageCache::new(limits),
            |cache| {
                if cache.limits == limits {
                    Ok(())
                } else {
                    Err(cache.limits)
                }
            },
        )
    }

    pub fn new(limits: PageLimits) -> Self {
        PageCache {
            limits,
            inner: Mutex::new(Inner {
                pages: LruSlab::default(),
                removals: 0.0,
                watchers: Vec::new(),
                keys: HashMap::default(),
                tags: TagIndex::new(),
                expiry: ExpiryQueue::default(),
                size: 0,
                generation: 0,
                stats: PageStats::default(),
            }),
        }
    }

    pub fn limits(&self) -> PageLimits {
        self.limits
    }

    /// The id of the live page stored under `key`, marked most recently used.
    /// An expired page met here is removed.
    pub fn get(&self, key: &str, now: f64) -> Option<PageId> {
        let mut inner = self.inner.lock();
        let Some(&id) = inner.keys.get(key) else {
            inner.stats.misses += 1;
            return None;
        };
        let live = inner.pages.get(id).is_some_and(|p| p.expires_at > now);
        if live {
            inner.pages.promote(id);
            inner.stats.hits += 1;
            Some(id)
        } else {
            inner.remove(id, Removal::Expired);
            inner.stats.misses += 1;
            None
        }
    }

    /// Whether page `id` is stored and live at `now`; a live page is marked most
    /// recently used and counted as a hit, an expired one is removed. A caller
    /// that remembers which id a key had uses this instead of [`PageCache::get`]
    /// (a number crosses cheaper than a key); on `false` it falls back to `get`,
    /// which counts the miss.
    pub fn touch(&self, id: PageId, now: f64) -> bool {
        let mut inner = self.inner.lock();
        match inner.pages.get(id).map(|p| p.expires_at > now) {
            Some(true) => {
                inner.pages.promote(id);
                inner.stats.hits += 1;
                true
            }
            Some(false) => {
                inner.remove(id, Removal::Expired);
                false
            }
            None => false,
        }
    }

    /// [`PageCache::touch`] of each of `ids`, for hits a reader served from
    /// its memo without calling in (reported in batches).
    pub fn touch_many(&self, ids: &[f64], now: f64) {
        let mut inner = self.inner.lock();
        for &id in ids {
            let id = id as PageId;
            match inner.pages.get(id).map(|p| p.expires_at > now) {
                Some(true) => {
                    inner.pages.promote(id);
                    inner.stats.hits += 1;
                }
                Some(false) => {
                    inner.remove(id, Removal::Expired);
                }
                None => {}
            }
        }
    }

    /// A counter of removals for one reader (see [`RemovalCount`]).
    pub fn watch_removals(&self) -> Arc<RemovalCount> {
        let mut inner = self.inner.lock();
        // Counters whose reader has gone are held by the cache alone.
        inner.watchers.retain(|w| Arc::strong_count(w) > 1);
        let w = Arc::new(RemovalCount::default());
        w.set(inner.removals);
        inner.watchers.push(w.clone());
        w
    }

    /// When page `id` expires (ms since the epoch; infinite: never), if stored.
    pub fn expires_at(&self, id: PageId) -> Option<f64> {
        self.inner.lock().pages.get(id).map(|p| p.expires_at)
    }

    /// The stored content of page `id` (does not touch LRU order), if stored.
    #[cfg(test)]
    pub fn content(&self, id: PageId) -> Option<Bytes> {
        self.inner.lock().pages.get(id).map(|p| p.content.clone())
    }

    /// The stored content of the page a [`PageCache::get`] just returned.
    /// If another thread removed it in between, the lookup ends as a miss: the
    /// hit `get` counted is counted as a miss instead.
    pub fn content_of_hit(&self, id: PageId) -> Option<Bytes> {
        let mut inner = self.inner.lock();
        let content = inner.pages.get(id).map(|p| p.content.clone());
        if content.is_none() {
            inner.stats.hits = inner.stats.hits.saturating_sub(1);
            inner.stats.misses += 1;
        }
        content
    }

    #[cfg(test)]
    pub fn contains(&self, id: PageId) -> bool {
        self.inner.lock().pages.contains(id)
    }

    /// Stores a page under its key, replacing the page stored there, then
    /// evicts least recently used pages until both limits hold. A page that
    /// can never fit (larger than `max_size`, or `max_count` 0) is refused and
    /// the cache is left as it was, except that a page it would have replaced
    /// is removed (it is stale: the caller has rendered anew).
    pub fn insert<S: AsRef<str>>(&self, page: NewPage<'_, S>, now: f64) -> InsertOutcome {
        self.insert_since(page, now, None)
    }

    /// Invalidations so far (tags, a key, or everything): a render that
    /// started at one generation and ends at another may hold what was
    /// invalidated.
    pub fn generation(&self) -> u64 {
        self.inner.lock().generation
    }

    /// [`PageCache::insert`], unless the cache was invalidated since
    /// `generation` (by any thread sharing it): then nothing is stored.
    pub fn insert_since<S: AsRef<str>>(
        &self,
        page: NewPage<'_, S>,
        now: f64,
        generation: Option<u64>,
    ) -> InsertOutcome {
        let limits = self.limits;
        let mut inner = self.inner.lock();
        let mut removed = Vec::new();
        inner.reclaim_expired(now, &mut removed);
        if generation.is_some_and(|g| g != inner.generation) {
            return InsertOutcome {
                stored: None,
                invalidated: true,
                removed,
            };
        }

        if let Some(&previous) = inner.keys.get(page.key) {
            if inner.remove(previous, Removal::Replaced) {
                removed.push(previous);
            }
        }
        let size = page_size(page.key, &page.content, page.tags);
        if size > limits.max_size || limits.max_count == 0 || page.expires_at <= now {
            return InsertOutcome {
                stored: None,
                invalidated: false,
                removed,
            };
        }
        while inner.size + size > limits.max_size || inner.pages.len() as u64 >= limits.max_count {
            let Some(oldest) = inner.pages.peek_lru() else {
                break;
            };
            inner.remove(oldest, Removal::Evicted);
            removed.push(oldest);
        }

        let key: Box<str> = page.key.into();
        let Some(id) = inner.pages.push(Page {
            key: key.clone(),
            content: page.content,
            tags: Box::default(),
            expires_at: page.expires_at,
            size,
        }) else {
            // The slab is full (2^28 pages): refused, as a page that cannot fit.
            return InsertOutcome {
                stored: None,
                invalidated: false,
                removed,
            };
        };
        let tags = inner.tags.add(id, page.tags);
        if let Some(stored) = inner.pages.get_mut(id) {
            stored.tags = tags;
        }
        inner.keys.insert(key, id);
        if page.expires_at.is_finite() {
            inner.expiry.push(page.expires_at, id);
        }
        inner.size += size;
        inner.stats.inserts += 1;
        InsertOutcome {
            stored: Some(id),
            invalidated: false,
            removed,
        }
    }

    /// Removes every page carrying any of `tags`; returns their ids.
    pub fn invalidate<S: AsRef<str>>(&self, tags: &[S]) -> Vec<PageId> {
        let mut inner = self.inner.lock();
        if !tags.is_empty() {
            inner.generation += 1;
        }
        let mut removed = Vec::new();
        for tag in tags {
            for id in inner.tags.ids(tag.as_ref()) {
                if inner.remove(id, Removal::Invalidated) {
                    removed.push(id);
                }
            }
        }
        removed
    }

    /// Removes the page stored under `key`; returns its id. Counts as an
    /// invalidation (even when no page is stored: a render of `key` may be
    /// under way), so an overlapping `insert_since` stores nothing.
    pub fn delete(&self, key: &str) -> Option<PageId> {
        let mut inner = self.inner.lock();
        inner.generation += 1;
        let id = *inner.keys.get(key)?;
        inner.remove(id, Removal::Invalidated).then_some(id)
    }

    /// Removes every page; returns how many there were.
    pub fn clear(&self) -> u64 {
        let mut inner = self.inner.lock();
        let n = inner.pages.len() as u64;
        inner.generation += 1;
        inner.pages = LruSlab::default();
        inner.count_removals(n);
        inner.keys.clear();
        inner.tags.clear();
        inner.expiry.clear();
        inner.size = 0;
        inner.stats.invalidated += n;
        n
    }

    /// Removes pages expired at `now`; returns their ids.
    pub fn purge_expired(&self, now: f64) -> Vec<PageId> {
        let mut removed = Vec::new();
        self.inner.lock().reclaim_expired(now, &mut removed);
        removed
    }

    #[cfg(test)]
    pub fn size(&self) -> u64 {
        self.inner.lock().size
    }

    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.inner.lock().pages.len() as u64
    }

    pub fn stats(&self) -> PageStats {
        let inner = self.inner.lock();
        PageStats {
            size: inner.size,
            count: inner.pages.len() as u64,
            tags: inner.tags.len() as u64,
            ..inner.stats
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEVER: f64 = f64::INFINITY;

    fn cache(max_size: u64, max_count: u64) -> PageCache {
        PageCache::new(PageLimits {
            max_size,
            max_count,
        })
    }

    fn put(c: &PageCache, key: &str, content: &str, tags: &[&str]) -> InsertOutcome {
        put_at(c, key, content, tags, NEVER, 0.0)
    }

    fn put_at(
        c: &PageCache,
        key: &str,
        content: &str,
        tags: &[&str],
        expires_at: f64,
        now: f64,
    ) -> InsertOutcome {
        c.insert(
            NewPage {
                key,
                content: Bytes::copy_from_slice(content.as_bytes()),
                tags,
                expires_at,
            },
            now,
        )
    }

    fn body(c: &PageCache, key: &str) -> Option<String> {
        let id = c.get(key, 0.0)?;
        Some(String::from_utf8(c.content(id)?.to_vec()).unwrap())
    }

    #[test]
    fn removal_counters_follow_every_removal() {
        let c = cache(1000, 2);
        let w = c.watch_removals();
        put(&c, "/a", "1", &["t"]);
        put(&c, "/b", "2", &["t"]);
        assert_eq!(w.get(), 0.0);
        put(&c, "/a", "3", &["t"]); // replaced
        assert_eq!(w.get(), 1.0);
        put(&c, "/c", "4", &["u"]); // evicts /b
        assert_eq!(w.get(), 2.0);
        c.invalidate(&["u"]);
        assert_eq!(w.get(), 3.0);
        let late = c.watch_removals();
        assert_eq!(late.get(), 3.0, "a new reader starts at the current count");
        c.clear();
        assert_eq!((w.get(), late.get()), (4.0, 4.0));
        drop(late);
        c.watch_removals();
        assert_eq!(
            c.inner.lock().watchers.len(),
            2,
            "a gone reader's counter is dropped"
        );
    }

    #[test]
    fn touch_many_counts_hits_and_removes_expired_pages() {
        let c = cache(1000, 10);
        let a = put(&c, "/a", "1", &["t"]).stored.unwrap();
        let b = put_at(&c, "/b", "2", &["t"], 50.0, 0.0).stored.unwrap();
        c.touch_many(&[a as f64, b as f64, 999.0], 60.0);
        assert_eq!(c.stats().hits, 1);
        assert!(c.contains(a) && !c.contains(b));
    }

    #[test]
    fn get_returns_what_was_stored() {
        let c = cache(1 << 20, 100);
        let id = put(&c, "page:/a", "{\"html\":\"a\"}", &["P1"])
            .stored
            .unwrap();
        assert_eq!(c.get("page:/a", 0.0), Some(id));
        assert_eq!(body(&c, "page:/a").as_deref(), Some("{\"html\":\"a\"}"));
        assert_eq!(c.get("page:/b", 0.0), None);
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.count, s.tags), (2, 1, 1, 1));
    }

    #[test]
    fn replacing_a_key_gives_a_new_id_and_drops_old_tags() {
        let c = cache(1 << 20, 100);
        let a = put(&c, "k", "1", &["old"]).stored.unwrap();
        let out = put(&c, "k", "2", &["new"]);
        let b = out.stored.unwrap();
        assert_ne!(a, b);
        assert_eq!(out.removed, vec![a]);
        assert!(!c.contains(a));
        assert!(c.invalidate(&["old"]).is_empty(), "old tag left the index");
        assert_eq!(c.stats().tags, 1);
        assert_eq!(body(&c, "k").as_deref(), Some("2"));
    }

    #[test]
    fn invalidate_removes_only_pages_with_the_tags() {
        let c = cache(1 << 20, 100);
        put(&c, "a", "A", &["P1", "C1"]);
        put(&c, "b", "B", &["P2", "C1"]);
        put(&c, "c", "C", &["P3"]);
        let removed = c.invalidate(&["P1"]);
        assert_eq!(removed.len(), 1);
        assert!(body(&c, "a").is_none());
        assert!(body(&c, "b").is_some());
        // Page `a` left every tag it carried, including C1.
        assert_eq!(c.invalidate(&["C1", "P3"]).len(), 2);
        assert_eq!(c.count(), 0);
        assert_eq!(c.size(), 0);
        assert_eq!(c.stats().tags, 0, "no tag leaks");
        assert_eq!(c.stats().invalidated, 3);
    }

    #[test]
    fn invalidating_overlapping_tags_counts_each_page_once() {
        let c = cache(1 << 20, 100);
        put(&c, "a", "A", &["x", "y"]);
        assert_eq!(c.invalidate(&["x", "y", "x"]).len(), 1);
    }

    #[test]
    fn lru_evicts_least_recently_used_and_leaves_the_tag_index() {
        let c = cache(1 << 20, 3);
        put(&c, "a", "1", &["ta"]);
        put(&c, "b", "2", &["tb"]);
        put(&c, "c", "3", &["tc"]);
        assert!(c.get("a", 0.0).is_some());
        let out = put(&c, "d", "4", &["td"]);
        assert_eq!(out.removed.len(), 1);
        assert!(c.get("b", 0.0).is_none(), "b was least recently used");
        assert!(c.get("a", 0.0).is_some());
        assert_eq!(c.count(), 3);
        assert_eq!(c.stats().evictions, 1);
        assert_eq!(c.stats().tags, 3, "tb left the index with b");
    }

    #[test]
    fn size_limit_is_exact() {
        let c = cache(100, u64::MAX);
        for i in 0..500 {
            let key = format!("k{i}");
            let content = "x".repeat(i % 37);
            put(&c, &key, &content, &["t", "u"]);
            assert!(c.size() <= 100, "size {} after insert {i}", c.size());
            let expected = page_size(&key, content.as_bytes(), &["t", "u"]);
            assert!(
                c.get(&key, 0.0).is_some(),
                "the page just stored ({expected} B) fits"
            );
        }
        let s = c.stats();
        assert_eq!(s.inserts, 500);
        assert_eq!(s.evictions + s.count, 500);
    }

    #[test]
    fn page_exactly_at_max_size_is_kept_one_byte_more_is_refused() {
        let c = cache(10, 10);
        put(&c, "other", "", &[]);
        // key "k" (1) + content (7) + tag "tg" (2) = 10
        assert!(put(&c, "k", "1234567", &["tg"]).stored.is_some());
        assert_eq!(c.size(), 10);
        assert!(c.get("other", 0.0).is_none(), "evicted to make room");
        let out = put(&c, "j", "12345678", &["tg"]);
        assert_eq!(out.stored, None);
        assert_eq!(c.count(), 1, "a refused page evicts nothing");
        assert_eq!(c.stats().tags, 1);
    }

    #[test]
    fn max_count_zero_stores_nothing() {
        let c = cache(100, 0);
        assert_eq!(put(&c, "a", "1", &["t"]).stored, None);
        assert_eq!(c.stats().tags, 0);
    }

    #[test]
    fn expired_pages_are_not_served_and_leave_the_index() {
        let c = cache(1 << 20, 100);
        put_at(&c, "a", "1", &["t"], 1000.0, 0.0);
        put_at(&c, "b", "2", &["t", "u"], 5000.0, 0.0);
        assert!(c.get("a", 999.0).is_some());
        assert!(c.get("a", 1000.0).is_none(), "expires at its expiry");
        assert_eq!(c.count(), 1, "an expired page met by get is removed");
        // Expired pages are reclaimed by the next insert.
        let out = put_at(&c, "c", "3", &["v"], NEVER, 6000.0);
        assert_eq!(out.removed.len(), 1);
        assert_eq!(c.count(), 1);
        assert_eq!(c.stats().tags, 1, "t and u left with b");
        assert_eq!(c.stats().expired, 2);
    }

    #[test]
    fn purge_expired_reports_ids() {
        let c = cache(1 << 20, 100);
        let a = put_at(&c, "a", "1", &["t"], 10.0, 0.0).stored.unwrap();
        put(&c, "b", "2", &["t"]);
        assert_eq!(c.purge_expired(10.0), vec![a]);
        assert_eq!(c.count(), 1);
    }

    #[test]
    fn already_expired_page_is_refused() {
        let c = cache(1 << 20, 100);
        assert_eq!(put_at(&c, "a", "1", &["t"], 5.0, 5.0).stored, None);
        assert_eq!(c.count(), 0);
    }

    #[test]
    fn clear_and_delete() {
        let c = cache(1 << 20, 100);
        put(&c, "a", "1", &["t"]);
        put(&c, "b", "2", &["t"]);
        assert!(c.delete("a").is_some());
        assert!(c.delete("a").is_none());
        assert_eq!(c.clear(), 1);
        assert_eq!((c.count(), c.size(), c.stats().tags), (0, 0, 0));
    }

    #[test]
    fn invalidation_touches_only_tagged_pages() {
        // 100k pages, one tag on 10 of them: the other pages are untouched.
        let c = cache(u64::MAX, u64::MAX);
        for i in 0..100_000 {
            let key = format!("page:/p/{i}");
            let tag = format!("P{i}");
            let cat = if i % 10_000 == 0 { "hot" } else { "cold" };
            put(&c, &key, "{}", &[tag.as_str(), cat]);
        }
        assert_eq!(c.invalidate(&["hot"]).len(), 10);
        assert_eq!(c.count(), 99_990);
        assert_eq!(c.stats().tags, 99_990 + 1);
    }

    #[test]
    fn heap_stays_bounded_when_pages_are_replaced() {
        let c = cache(1 << 20, 10);
        for i in 0..10_000 {
            put_at(&c, "k", "x", &["t"], 1e15 + i as f64, 0.0);
        }
        assert!(c.inner.lock().expiry.len() <= 2 + 1024 + 1);
    }

    #[test]
    fn touch_checks_liveness_and_promotes() {
        let c = cache(1 << 20, 2);
        let a = put_at(&c, "a", "1", &["t"], 100.0, 0.0).stored.unwrap();
        put(&c, "b", "2", &["t"]);
        assert!(c.touch(a, 50.0));
        put(&c, "c", "3", &["t"]);
        assert!(
            c.get("b", 50.0).is_none(),
            "a was touched, b was least recently used"
        );
        assert!(!c.touch(a, 100.0), "expired");
        assert!(!c.contains(a), "an expired page met by touch is removed");
        assert!(!c.touch(a, 0.0));
        assert!(!c.touch(999, 0.0));
        assert_eq!(c.stats().hits, 1);
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<PageCache>();
    }

    #[test]
    fn a_render_overlapping_an_invalidation_is_not_stored() {
        let cache = PageCache::new(PageLimits::default());
        let before = cache.generation();
        cache.invalidate(&["product:1"]);
        let page = NewPage {
            key: "page:/p/1",
            content: Bytes::from_static(b"{}"),
            tags: &["product:1"],
            expires_at: f64::INFINITY,
        };
        assert_eq!(
            cache.insert_since(page.clone(), 0.0, Some(before)).stored,
            None
        );
        assert!(cache
            .insert_since(page, 0.0, Some(cache.generation()))
            .stored
            .is_some());
    }

    // Defect 9 (issue 15): the binding decided "refused because invalidated"
    // by reading the generation again after the insert had released the lock,
    // so an invalidation landing in between turned a page refused for size
    // into one refused for invalidation. The core now says why, under the
    // insert's own lock.
    #[test]
    fn an_insert_says_whether_it_was_refused_for_an_invalidation() {
        let cache = PageCache::new(PageLimits {
            max_size: 100,
            max_count: 10,
        });
        let page = |content: &'static [u8]| NewPage {
            key: "page:/p/1",
            content: Bytes::from_static(content),
            tags: &["product:1"],
            expires_at: f64::INFINITY,
        };
        let before = cache.generation();
        let too_big = cache.insert_since(page(&[b'x'; 200]), 0.0, Some(before));
        assert_eq!((too_big.stored, too_big.invalidated), (None, false));
        cache.invalidate(&["product:1"]);
        let stale = cache.insert_since(page(b"{}"), 0.0, Some(before));
        assert_eq!((stale.stored, stale.invalidated), (None, true));
        let fresh = cache.insert_since(page(b"{}"), 0.0, Some(cache.generation()));
        assert!(fresh.stored.is_some() && !fresh.invalidated);
    }

    // Issue 15, the class of defect 8 in the page cache: a hit is a get (which
    // counts it) and then a read of the content; a page removed by another
    // thread in between made the lookup a miss that stats counted as a hit.
    #[test]
    fn a_page_removed_between_get_and_content_is_a_miss() {
        let c = cache(1 << 20, 100);
        put(&c, "k", "{}", &["t"]);
        let id = c.get("k", 0.0).unwrap();
        assert_eq!(c.stats().hits, 1);
        c.invalidate(&["t"]);
        assert_eq!(c.content_of_hit(id), None);
        let s = c.stats();
        assert_eq!((s.hits, s.misses), (0, 1));
        put(&c, "k", "{}", &["t"]);
        let id = c.get("k", 0.0).unwrap();
        assert!(c.content_of_hit(id).is_some());
        assert_eq!((c.stats().hits, c.stats().misses), (1, 1));
    }

    // Defect 6 (issue 15): delete(key) overlapping a render of that key must
    // keep the render from storing what it rendered before the delete, even
    // when no page was stored yet.
    #[test]
    fn a_render_overlapping_a_delete_is_not_stored() {
        let cache = PageCache::new(PageLimits::default());
        let before = cache.generation();
        assert_eq!(cache.delete("page:/p/1"), None);
        let page = NewPage {
            key: "page:/p/1",
            content: Bytes::from_static(b"{}"),
            tags: &["product:1"],
            expires_at: f64::INFINITY,
        };
        let out = cache.insert_since(page, 0.0, Some(before));
        assert_eq!((out.stored, out.invalidated), (None, true));
    }

    #[test]
    fn named_caches_are_shared() {
        let limits = PageLimits::default();
        let a = PageCache::open_named("pages-test", limits).unwrap();
        let b = PageCache::open_named("pages-test", limits).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let other = PageLimits {
            max_count: 3,
            ..limits
        };
        assert_eq!(
            PageCache::open_named("pages-test", other).err(),
            Some(limits)
        );
    }
}
