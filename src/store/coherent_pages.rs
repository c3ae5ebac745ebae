//! `CoherentPages`: an instance's page cache (L1, `store::pages`) kept
//! coherent with the pages of other instances through shared tag versions
//! (`store::tag_versions`). The shared store itself (Redis) is driven by the
//! caller (`redis::pages`); everything here is pure and deterministic.
//!
//! Every L1 page keeps the stamp it was stored with (epoch + its tags'
//! versions) and is checked against the table when it is read
//! ([`CoherentPages::get`], [`CoherentPages::touch`]): O(its tags), no
//! Redis. An update of the table (a broadcast) therefore costs O(tags it
//! names), not O(pages carrying them): a stale page is found, and removed,
//! when it is next read; unread ones leave by LRU or expiry. A page read from
//! the shared store is checked the same way before it is served or kept.
//!
//! Stamping and inserting happen under the table's lock, so a page can never
//! be stamped with versions older than an update applied before its insert
//! completed. Invalidations made while the shared store is unreachable do not
//! change versions (only the shared store assigns them): those drop L1 pages
//! at once (O(pages dropped)).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use foldhash::fast::RandomState;
use parking_lot::Mutex;

use super::page_record::{self, PageRecord, RecordError};
use super::pages::{InsertOutcome, NewPage, PageCache, PageId};
use super::tag_versions::{Change, Stamp, TagVersions, Version};

/// A rendered page stored in L1 and encoded for the shared store.
#[derive(Debug)]
pub struct Stored {
    pub outcome: InsertOutcome,
    /// The value to write to the shared store.
    pub record: Vec<u8>,
}

/// What reading a page from the shared store gave.
#[derive(Debug)]
pub enum Admitted {
    /// Current: served, and kept in L1 (`outcome.stored` when it fit).
    Current {
        content: Bytes,
        outcome: InsertOutcome,
    },
    /// One of its tags or the epoch moved on since it was stored.
    Stale,
    /// Past its expiry.
    Expired,
    /// The table has not been synced with the shared store yet (or lost its
    /// connection): nothing read from it can be trusted.
    Unsynced,
}

/// What an update or a local invalidation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Tags whose version rose.
    pub tags: usize,
    /// Whether the epoch moved.
    pub all: bool,
    /// Pages removed from L1 now (local invalidations only: updates of the
    /// table remove stale pages when they are read).
    pub removed: u64,
    pub removed_ids: Vec<PageId>,
}

/// What an L1 page was stored with.
struct PageStamp {
    key: Box<str>,
    epoch: Version,
    tags: Box<[(Box<str>, Version)]>,
}

struct State {
    table: TagVersions,
    /// Page id → stamp, for every page this tier put in L1. Ids the L1
    /// dropped on its own (eviction, expiry) are pruned in batches.
    stamps: HashMap<PageId, PageStamp, RandomState>,
}

pub struct CoherentPages {
    pages: Arc<PageCache>,
    state: Mutex<State>,
}

impl CoherentPages {
    pub fn new(pages: Arc<PageCache>) -> Self {
        CoherentPages {
            pages,
            state: Mutex::new(State {
                table: TagVersions::new(),
                stamps: HashMap::default(),
            }),
        }
    }

    pub fn pages(&self) -> &Arc<PageCache> {
        &self.pages
    }

    /// The generation a render records when it starts (see [`TagVersions::stamp`]).
    pub fn generation(&self) -> u64 {
        self.state.lock().table.generation()
    }

    pub fn epoch(&self) -> Version {
        self.state.lock().table.epoch()
    }

    pub fn version(&self, tag: &str) -> Version {
        self.state.lock().table.version(tag)
    }

    pub fn is_synced(&self) -> bool {
        self.state.lock().table.is_synced()
    }

    pub fn mark_unsynced(&self) {
        self.state.lock().table.mark_unsynced();
    }

    /// The id of the current page under `key` (as `PageCache::get`), or
    /// `None`; a stale page met here is removed.
    pub fn get(&self, key: &str, now: f64) -> Option<PageId> {
        let id = self.pages.get(key, now)?;
        self.check(id).then_some(id)
    }

    /// Whether page `id` is live and current (as `PageCache::touch`); a stale
    /// page met here is removed.
    pub fn touch(&self, id: PageId, now: f64) -> bool {
        self.pages.touch(id, now) && self.check(id)
    }

    /// Whether L1 page `id` is current; removes it when it is not.
    fn check(&self, id: PageId) -> bool {
        let mut state = self.state.lock();
        let current = match state.stamps.get(&id) {
            Some(s) => state
                .table
                .is_current(s.epoch, s.tags.iter().map(|(t, v)| (&**t, *v))),
            // Not put in L1 by this tier: its versions are unknown.
            None => false,
        };
        if !current {
            let key = state.stamps.remove(&id).map(|s| s.key);
            // A live id is the one its key maps to: this removes exactly it.
            if let Some(key) = key {
                self.pages.delete(&key);
            }
        }
        current
    }

    /// Records the stamp of a page just put in L1 and forgets removed ones.
    fn remember<S: AsRef<str>>(
        &self,
        state: &mut State,
        key: &str,
        outcome: &InsertOutcome,
        epoch: Version,
        tags: impl Iterator<Item = (S, Version)>,
    ) {
        for id in &outcome.removed {
            state.stamps.remove(id);
        }
        if let Some(id) = outcome.stored {
            state.stamps.insert(
                id,
                PageStamp {
                    key: key.into(),
                    epoch,
                    tags: tags.map(|(t, v)| (t.as_ref().into(), v)).collect(),
                },
            );
        }
        // Pages the L1 dropped by itself (evicted, expired): prune in batches.
        if state.stamps.len() > 1024 && state.stamps.len() as u64 > 2 * self.pages.stats().count {
            let pages = &self.pages;
            state.stamps.retain(|id, _| pages.contains(*id));
        }
    }

    /// Stores a page rendered since generation `since`: stamped with the
    /// current versions, kept in L1 and encoded for the shared store. `None`
    /// when one of its tags (or the epoch) changed during the render.
    pub fn store<S: AsRef<str>>(
        &self,
        key: &str,
        content: Bytes,
        tags: &[S],
        expires_at: f64,
        now: f64,
        since: u64,
    ) -> Option<Stored> {
        let mut state = self.state.lock();
        let stamp = state.table.stamp(tags, since)?;
        let record = page_record::encode(&stamp, expires_at, tags, &content);
        let outcome = self.pages.insert(
            NewPage {
                key,
                content,
                tags,
                expires_at,
            },
            now,
        );
        let Stamp { epoch, versions } = stamp;
        let pairs = tags.iter().map(|t| t.as_ref()).zip(versions);
        self.remember(&mut state, key, &outcome, epoch, pairs);
        Some(Stored { outcome, record })
    }

    /// The stamp a page would get now, without storing it.
    pub fn stamp<S: AsRef<str>>(&self, tags: &[S], since: u64) -> Option<Stamp> {
        self.state.lock().table.stamp(tags, since)
    }

    /// A value read from the shared store under `key`: served and kept in L1
    /// when current.
    pub fn admit(&self, key: &str, value: &Bytes, now: f64) -> Result<Admitted, RecordError> {
        let record = page_record::decode(value)?;
        Ok(self.admit_record(key, record, now))
    }

    fn admit_record(&self, key: &str, record: PageRecord, now: f64) -> Admitted {
        if record.expires_at <= now {
            return Admitted::Expired;
        }
        let mut state = self.state.lock();
        if !state.table.is_synced() {
            return Admitted::Unsynced;
        }
        if !state.table.is_current(record.epoch, record.versions()) {
            return Admitted::Stale;
        }
        let names = record.tag_names();
        let outcome = self.pages.insert(
            NewPage {
                key,
                content: record.content.clone(),
                tags: &names,
                expires_at: record.expires_at,
            },
            now,
        );
        self.remember(&mut state, key, &outcome, record.epoch, record.versions());
        Admitted::Current {
            content: record.content,
            outcome,
        }
    }

    /// Applies an update of the shared versions (a broadcast, or the reply to
    /// this instance's own invalidation). O(tags in the update): stale L1
    /// pages are removed when read.
    pub fn apply<S: AsRef<str>>(&self, epoch: Version, versions: &[(S, Version)]) -> Applied {
        let change = self.state.lock().table.apply(epoch, versions);
        applied(change)
    }

    /// Applies a full snapshot of the shared versions (after connecting or
    /// reconnecting) and marks the table synced: L1 pages an update missed
    /// meanwhile made stale are found when read.
    pub fn apply_snapshot<S: AsRef<str>>(
        &self,
        epoch: Version,
        versions: &[(S, Version)],
    ) -> Applied {
        let change = self.state.lock().table.apply_snapshot(epoch, versions);
        applied(change)
    }

    /// Pages in L1 carrying any of `tags` (stale or not): what an
    /// invalidation of them makes stale here.
    pub fn count_tagged<S: AsRef<str>>(&self, tags: &[S]) -> u64 {
        self.pages.count_tagged(tags)
    }

    /// An invalidation this instance could not send to the shared store:
    /// applied to L1 at once, renders in flight with these tags are refused.
    /// The caller replays it when the shared store is back.
    pub fn invalidate_locally<S: AsRef<str>>(&self, tags: &[S]) -> Applied {
        let mut state = self.state.lock();
        state.table.mark_changed(tags);
        let removed_ids = self.pages.invalidate(tags);
        for id in &removed_ids {
            state.stamps.remove(id);
        }
        Applied {
            tags: tags.len(),
            all: false,
            removed: removed_ids.len() as u64,
            removed_ids,
        }
    }

    /// `invalidateAll` this instance could not send to the shared store.
    pub fn clear_locally(&self) -> Applied {
        let mut state = self.state.lock();
        state.table.mark_all_changed();
        state.stamps.clear();
        Applied {
            tags: 0,
            all: true,
            removed: self.pages.clear(),
            removed_ids: Vec::new(),
        }
    }
}

fn applied(change: Change) -> Applied {
    match change {
        Change::None => Applied::default(),
        Change::All => Applied {
            all: true,
            ..Applied::default()
        },
        Change::Tags(tags) => Applied {
            tags: tags.len(),
            ..Applied::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::pages::PageLimits;

    const NEVER: f64 = f64::INFINITY;

    fn synced() -> CoherentPages {
        let c = CoherentPages::new(Arc::new(PageCache::new(PageLimits::default())));
        c.apply_snapshot(10, &[("P1", 1u64)]);
        c
    }

    fn render(c: &CoherentPages, key: &str, body: &'static str, tags: &[&str]) -> Option<Stored> {
        let since = c.generation();
        c.store(
            key,
            Bytes::from_static(body.as_bytes()),
            tags,
            NEVER,
            0.0,
            since,
        )
    }

    /// Two instances on one shared store, modelled by handing records and
    /// updates from one to the other.
    #[test]
    fn a_page_stored_by_one_instance_is_served_by_another_until_a_tag_moves_on() {
        let a = synced();
        let b = synced();
        let stored = render(&a, "page:/p/1", "{\"v\":1}", &["P1", "C1"]).unwrap();
        let id_a = stored.outcome.stored.unwrap();
        assert_eq!(a.get("page:/p/1", 0.0), Some(id_a), "kept in A's L1");
        let value = Bytes::from(stored.record);
        match b.admit("page:/p/1", &value, 0.0).unwrap() {
            Admitted::Current { content, outcome } => {
                assert_eq!(&content[..], b"{\"v\":1}");
                let id = outcome.stored.unwrap();
                assert_eq!(b.get("page:/p/1", 0.0), Some(id), "kept in B's L1");
                assert!(b.touch(id, 0.0));
            }
            other => panic!("expected current, got {other:?}"),
        }
        // C1 invalidated (shared version 2): both instances get the update.
        for inst in [&a, &b] {
            let applied = inst.apply(10, &[("C1", 2u64)]);
            assert_eq!(applied.tags, 1);
            assert_eq!(
                inst.pages().count(),
                1,
                "nothing removed by the update itself"
            );
            assert_eq!(inst.get("page:/p/1", 0.0), None, "stale: not served");
            assert_eq!(inst.pages().count(), 0, "and removed when met");
        }
        assert!(matches!(
            b.admit("page:/p/1", &value, 0.0).unwrap(),
            Admitted::Stale
        ));
    }

    #[test]
    fn a_memoised_id_of_a_stale_page_is_refused_by_touch() {
        let c = synced();
        let id = render(&c, "k", "{}", &["P1"])
            .unwrap()
            .outcome
            .stored
            .unwrap();
        assert!(c.touch(id, 0.0));
        c.apply(10, &[("P1", 2u64)]);
        assert!(!c.touch(id, 0.0));
        assert!(!c.pages().contains(id));
    }

    #[test]
    fn an_update_naming_a_tag_of_100k_pages_touches_none_of_them() {
        let c = synced();
        for i in 0..100_000 {
            let key = format!("page:/p/{i}");
            let since = c.generation();
            c.store(&key, Bytes::from_static(b"{}"), &["hot"], NEVER, 0.0, since)
                .unwrap();
        }
        assert_eq!(c.count_tagged(&["hot"]), 100_000);
        let applied = c.apply(10, &[("hot", 2u64)]);
        assert_eq!((applied.tags, applied.removed), (1, 0));
        assert_eq!(c.pages().count(), 100_000, "O(1): no page visited");
        assert_eq!(c.get("page:/p/7", 0.0), None);
        assert_eq!(c.pages().count(), 99_999);
    }

    #[test]
    fn a_render_overlapping_an_invalidation_of_its_tags_is_not_stored() {
        let c = synced();
        let since = c.generation();
        c.apply(10, &[("P1", 2u64)]);
        let out = c.store("k", Bytes::from_static(b"{}"), &["P1"], NEVER, 0.0, since);
        assert!(out.is_none());
        assert_eq!(c.pages().count(), 0);
        // Other tags' renders overlapping it are stored.
        let out = c.store("j", Bytes::from_static(b"{}"), &["P2"], NEVER, 0.0, since);
        assert!(out.is_some());
    }

    #[test]
    fn a_new_epoch_stales_every_l1_page_and_every_stored_record() {
        let c = synced();
        let rec = Bytes::from(render(&c, "k", "{}", &["P1"]).unwrap().record);
        render(&c, "j", "{}", &["P2"]).unwrap();
        let applied = c.apply(11, &[] as &[(&str, u64)]);
        assert!(applied.all);
        assert_eq!((c.get("k", 0.0), c.get("j", 0.0)), (None, None));
        assert_eq!(c.pages().count(), 0);
        assert!(matches!(c.admit("k", &rec, 0.0).unwrap(), Admitted::Stale));
    }

    #[test]
    fn pages_not_put_in_l1_by_this_tier_are_not_served() {
        let c = synced();
        c.pages().insert(
            NewPage {
                key: "raw",
                content: Bytes::from_static(b"{}"),
                tags: &["P1"],
                expires_at: NEVER,
            },
            0.0,
        );
        assert_eq!(c.get("raw", 0.0), None);
    }

    #[test]
    fn nothing_read_from_the_shared_store_is_trusted_until_synced() {
        let a = synced();
        let rec = Bytes::from(render(&a, "k", "{}", &["P9"]).unwrap().record);
        let b = CoherentPages::new(Arc::new(PageCache::new(PageLimits::default())));
        assert!(matches!(
            b.admit("k", &rec, 0.0).unwrap(),
            Admitted::Unsynced
        ));
        b.apply_snapshot(10, &[("P1", 1u64)]);
        assert!(matches!(
            b.admit("k", &rec, 0.0).unwrap(),
            Admitted::Current { .. }
        ));
        b.mark_unsynced();
        assert!(matches!(
            b.admit("k", &rec, 0.0).unwrap(),
            Admitted::Unsynced
        ));
    }

    #[test]
    fn a_snapshot_after_a_disconnection_stales_pages_invalidated_meanwhile() {
        let c = synced();
        render(&c, "a", "{}", &["P1"]).unwrap();
        render(&c, "b", "{}", &["P2"]).unwrap();
        c.mark_unsynced();
        let applied = c.apply_snapshot(10, &[("P1", 1u64), ("P2", 5)]);
        assert_eq!(applied.tags, 1);
        assert!(c.get("a", 0.0).is_some(), "P1 unchanged");
        assert_eq!(c.get("b", 0.0), None, "P2 moved on while cut off");
    }

    #[test]
    fn expired_records_are_not_served() {
        let c = synced();
        let since = c.generation();
        let rec = c
            .store("k", Bytes::from_static(b"{}"), &["P1"], 500.0, 0.0, since)
            .unwrap()
            .record;
        assert!(matches!(
            c.admit("k", &Bytes::from(rec), 500.0).unwrap(),
            Admitted::Expired
        ));
    }

    #[test]
    fn a_local_invalidation_drops_l1_and_refuses_overlapping_renders() {
        let c = synced();
        render(&c, "a", "{}", &["P1"]).unwrap();
        let since = c.generation();
        let applied = c.invalidate_locally(&["P1"]);
        assert_eq!(applied.removed, 1);
        assert!(c
            .store("a", Bytes::from_static(b"{}"), &["P1"], NEVER, 0.0, since)
            .is_none());
        assert_eq!(
            c.version("P1"),
            1,
            "versions only come from the shared store"
        );
        render(&c, "b", "{}", &["P2"]).unwrap();
        let since = c.generation();
        assert_eq!(c.clear_locally().removed, 1);
        assert!(c
            .store("b", Bytes::from_static(b"{}"), &["P2"], NEVER, 0.0, since)
            .is_none());
    }

    #[test]
    fn stamps_of_pages_the_l1_evicted_are_pruned() {
        let c = CoherentPages::new(Arc::new(PageCache::new(PageLimits {
            max_size: u64::MAX,
            max_count: 10,
        })));
        c.apply_snapshot(1, &[] as &[(&str, u64)]);
        for i in 0..5000 {
            render(&c, &format!("k{i}"), "{}", &["t"]).unwrap();
        }
        assert!(c.state.lock().stamps.len() <= 1024 + 10);
    }

    #[test]
    fn garbage_from_the_shared_store_is_an_error() {
        let c = synced();
        assert!(c
            .admit("k", &Bytes::from_static(b"not a page"), 0.0)
            .is_err());
    }

    #[test]
    fn updates_racing_admissions_never_let_a_stale_page_be_served() {
        // A thread admits a record while another raises its tag: afterwards
        // the page is not served.
        for round in 0..50u64 {
            let c = Arc::new(synced());
            let rec = Bytes::from(render(&c, "k", "{}", &["P1"]).unwrap().record);
            c.pages().delete("k");
            let reader = {
                let c = Arc::clone(&c);
                let rec = rec.clone();
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let _ = c.admit("k", &rec, 0.0);
                    }
                })
            };
            c.apply(10, &[("P1", 2 + round)]);
            reader.join().unwrap();
            assert_eq!(
                c.get("k", 0.0),
                None,
                "round {round}: a stale page was served"
            );
        }
    }
}
