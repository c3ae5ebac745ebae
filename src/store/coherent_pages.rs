//! `CoherentPages`: an instance's page cache (L1, `store::pages`) kept
//! coherent with the pages of other instances through shared tag versions
//! (`store::tag_versions`). The shared store itself (Redis) is driven by the
//! caller (`redis::pages`); everything here is pure and deterministic.
//!
//! Invariant: every page in L1 was current when it entered, and it leaves L1
//! as soon as the table learns that one of its tags (or the epoch) moved on.
//! Both steps happen under one lock (`state`), so a page can never slip into
//! L1 between an update and the removal of the pages it made stale. An L1 hit
//! therefore needs no version check (one lookup, no Redis); a page read from
//! the shared store is checked with [`TagVersions::is_current`] before it is
//! served or kept.

use std::sync::Arc;

use bytes::Bytes;
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
    /// Current: served, and kept in L1 (`id` when it fit).
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

/// What applying an update removed from L1.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Tags whose version rose.
    pub tags: usize,
    /// Whether the epoch moved (L1 cleared).
    pub all: bool,
    /// Pages removed from L1 (the count when cleared).
    pub removed: u64,
    pub removed_ids: Vec<PageId>,
}

pub struct CoherentPages {
    pages: Arc<PageCache>,
    state: Mutex<TagVersions>,
}

impl CoherentPages {
    pub fn new(pages: Arc<PageCache>) -> Self {
        CoherentPages {
            pages,
            state: Mutex::new(TagVersions::new()),
        }
    }

    pub fn pages(&self) -> &Arc<PageCache> {
        &self.pages
    }

    /// The generation a render records when it starts (see [`TagVersions::stamp`]).
    pub fn generation(&self) -> u64 {
        self.state.lock().generation()
    }

    pub fn epoch(&self) -> Version {
        self.state.lock().epoch()
    }

    pub fn version(&self, tag: &str) -> Version {
        self.state.lock().version(tag)
    }

    pub fn is_synced(&self) -> bool {
        self.state.lock().is_synced()
    }

    pub fn mark_unsynced(&self) {
        self.state.lock().mark_unsynced();
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
        let state = self.state.lock();
        let stamp = state.stamp(tags, since)?;
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
        Some(Stored { outcome, record })
    }

    /// The stamp a page would get now, without storing it.
    pub fn stamp<S: AsRef<str>>(&self, tags: &[S], since: u64) -> Option<Stamp> {
        self.state.lock().stamp(tags, since)
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
        let state = self.state.lock();
        if !state.is_synced() {
            return Admitted::Unsynced;
        }
        if !state.is_current(record.epoch, record.versions()) {
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
        Admitted::Current {
            content: record.content,
            outcome,
        }
    }

    /// Applies an update of the shared versions (a broadcast, or the reply to
    /// this instance's own invalidation) and drops what it made stale.
    pub fn apply<S: AsRef<str>>(&self, epoch: Version, versions: &[(S, Version)]) -> Applied {
        let mut state = self.state.lock();
        let change = state.apply(epoch, versions);
        self.drop_stale(change)
    }

    /// Applies a full snapshot of the shared versions (after connecting or
    /// reconnecting): drops every L1 page an update missed meanwhile made
    /// stale, and marks the table synced.
    pub fn apply_snapshot<S: AsRef<str>>(
        &self,
        epoch: Version,
        versions: &[(S, Version)],
    ) -> Applied {
        let mut state = self.state.lock();
        let change = state.apply_snapshot(epoch, versions);
        self.drop_stale(change)
    }

    /// An invalidation this instance could not send to the shared store:
    /// applied to L1 at once, renders in flight with these tags are refused.
    /// The caller replays it when the shared store is back.
    pub fn invalidate_locally<S: AsRef<str>>(&self, tags: &[S]) -> Applied {
        let mut state = self.state.lock();
        state.mark_changed(tags);
        let removed_ids = self.pages.invalidate(tags);
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
        state.mark_all_changed();
        Applied {
            tags: 0,
            all: true,
            removed: self.pages.clear(),
            removed_ids: Vec::new(),
        }
    }

    /// Called with the table locked, so nothing enters L1 in between.
    fn drop_stale(&self, change: Change) -> Applied {
        match change {
            Change::None => Applied::default(),
            Change::All => Applied {
                tags: 0,
                all: true,
                removed: self.pages.clear(),
                removed_ids: Vec::new(),
            },
            Change::Tags(tags) => {
                let removed_ids = self.pages.invalidate(&tags);
                Applied {
                    tags: tags.len(),
                    all: false,
                    removed: removed_ids.len() as u64,
                    removed_ids,
                }
            }
        }
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
        assert!(stored.outcome.stored.is_some(), "kept in A's L1");
        let value = Bytes::from(stored.record);
        match b.admit("page:/p/1", &value, 0.0).unwrap() {
            Admitted::Current { content, outcome } => {
                assert_eq!(&content[..], b"{\"v\":1}");
                let id = outcome.stored.unwrap();
                assert_eq!(b.pages().get("page:/p/1", 0.0), Some(id), "kept in B's L1");
            }
            other => panic!("expected current, got {other:?}"),
        }
        // C1 invalidated (shared version 1): both instances get the update.
        for inst in [&a, &b] {
            let applied = inst.apply(10, &[("C1", 1u64)]);
            assert_eq!((applied.tags, applied.removed), (1, 1));
            assert_eq!(inst.pages().get("page:/p/1", 0.0), None, "gone from L1");
        }
        assert!(matches!(
            b.admit("page:/p/1", &value, 0.0).unwrap(),
            Admitted::Stale
        ));
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
    fn a_new_epoch_clears_l1_and_stales_every_stored_record() {
        let c = synced();
        let rec = Bytes::from(render(&c, "k", "{}", &["P1"]).unwrap().record);
        render(&c, "j", "{}", &["P2"]).unwrap();
        let applied = c.apply(11, &[] as &[(&str, u64)]);
        assert!(applied.all);
        assert_eq!((applied.removed, c.pages().count()), (2, 0));
        assert!(matches!(c.admit("k", &rec, 0.0).unwrap(), Admitted::Stale));
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
    fn a_snapshot_after_a_disconnection_drops_pages_invalidated_meanwhile() {
        let c = synced();
        render(&c, "a", "{}", &["P1"]).unwrap();
        render(&c, "b", "{}", &["P2"]).unwrap();
        c.mark_unsynced();
        let applied = c.apply_snapshot(10, &[("P1", 1u64), ("P2", 5)]);
        assert_eq!((applied.tags, applied.removed), (1, 1));
        assert!(c.pages().get("a", 0.0).is_some(), "P1 unchanged");
        assert_eq!(c.pages().get("b", 0.0), None, "P2 moved on while cut off");
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
    fn garbage_from_the_shared_store_is_an_error() {
        let c = synced();
        assert!(c
            .admit("k", &Bytes::from_static(b"not a page"), 0.0)
            .is_err());
    }

    #[test]
    fn updates_racing_admissions_never_leave_a_stale_page_in_l1() {
        // Threads admit a record while another raises its tag: afterwards
        // the page is either absent from L1 or current.
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
            let stale_in_l1 = c.pages().get("k", 0.0).is_some();
            assert!(!stale_in_l1, "round {round}: a stale page stayed in L1");
        }
    }
}
