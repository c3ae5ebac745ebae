//! `TagVersions`: this instance's copy of the shared tag versions that keep
//! the page caches of several instances coherent (`ferrocache/vsf` with Redis).
//!
//! The shared state (in Redis) is an *epoch* and a version per tag; a tag that
//! was never invalidated in the current epoch has version 0. Invalidating a tag
//! raises its version; invalidating everything moves to a new epoch, which
//! resets every tag to 0. Versions and epochs only grow (the writer takes
//! `max(old + 1, server time in µs)`), so they are never reused, not even
//! after the shared store lost its data.
//!
//! A stored page records the epoch and the versions of its tags as this table
//! held them when the page was stored ([`TagVersions::stamp`]); it is current
//! while [`TagVersions::is_current`] holds. Checking a page costs O(its tags);
//! invalidating a tag costs O(1) whatever the number of pages carrying it.
//!
//! Updates arrive out of order (a broadcast and a snapshot reply travel on
//! different connections), so every update is applied with `max`: an older
//! value never overwrites a newer one.
//!
//! A render that overlaps an invalidation of one of its tags may hold what was
//! invalidated. Each tag remembers the [`TagVersions::generation`] at which it
//! last changed; a render records the generation when it starts, and `stamp`
//! refuses a page whose tags (or the epoch) changed since.
//!
//! Pure and deterministic: no clock, no I/O.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use super::tags::Tag;

/// A tag version or an epoch.
pub type Version = u64;

#[derive(Debug, Clone, Copy)]
struct Entry {
    version: Version,
    /// The generation of the last change to this tag (version raised, or an
    /// invalidation made while the shared store was unreachable).
    changed_at: u64,
}

/// The epoch and tag versions a page is stored with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub epoch: Version,
    /// One per tag, in the order the tags were given.
    pub versions: Vec<Version>,
}

/// What applying an update changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing newer than what the table held.
    None,
    /// These tags' versions rose: pages carrying them are stale.
    Tags(Vec<Tag>),
    /// The epoch moved: every page is stale.
    All,
}

/// The table. Not synchronised: the caller wraps it in a lock together with
/// whatever must change atomically with it (the in-process page cache).
#[derive(Default)]
pub struct TagVersions {
    epoch: Version,
    epoch_changed_at: u64,
    /// Tags with a version above 0 in this epoch, and tags changed locally.
    /// Keys come from the application and from requests: randomly seeded hasher.
    tags: HashMap<Tag, Entry, RandomState>,
    generation: u64,
    synced: bool,
}

impl TagVersions {
    pub fn new() -> Self {
        TagVersions::default()
    }

    pub fn epoch(&self) -> Version {
        self.epoch
    }

    /// The version of `tag` (0: not invalidated in this epoch).
    pub fn version(&self, tag: &str) -> Version {
        self.tags.get(tag).map_or(0, |e| e.version)
    }

    /// Changes so far; a render records it when it starts and passes it to
    /// [`TagVersions::stamp`].
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether a full snapshot of the shared state has been applied since the
    /// table was created or [`TagVersions::mark_unsynced`] was called. Until
    /// then, pages read from the shared store cannot be trusted.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// The connection carrying updates was lost: updates may have been missed
    /// until the next [`TagVersions::apply_snapshot`].
    pub fn mark_unsynced(&mut self) {
        self.synced = false;
    }

    /// Number of tags held (tags invalidated in this epoch, plus local marks).
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The epoch and the versions of `tags` to store a page with, or `None`
    /// when the epoch or one of `tags` changed after generation `since` (the
    /// render may hold what that change invalidated).
    pub fn stamp<S: AsRef<str>>(&self, tags: &[S], since: u64) -> Option<Stamp> {
        if self.epoch_changed_at > since {
            return None;
        }
        let mut versions = Vec::with_capacity(tags.len());
        for tag in tags {
            match self.tags.get(tag.as_ref()) {
                Some(e) if e.changed_at > since => return None,
                Some(e) => versions.push(e.version),
                None => versions.push(0),
            }
        }
        Some(Stamp {
            epoch: self.epoch,
            versions,
        })
    }

    /// Whether a page stored with `epoch` and `(tag, version)` pairs is still
    /// current: same epoch, and no tag invalidated after its version was
    /// recorded. A recorded version above the table's means the page was
    /// stored by an instance that heard of an invalidation before this one
    /// did: the page is newer than that invalidation, so it is current.
    pub fn is_current<'a>(
        &self,
        epoch: Version,
        tags: impl IntoIterator<Item = (&'a str, Version)>,
    ) -> bool {
        epoch == self.epoch
            && tags
                .into_iter()
                .all(|(tag, version)| version >= self.version(tag))
    }

    /// Applies an update (a broadcast, or the reply to this instance's own
    /// invalidation): `epoch` is the epoch the versions belong to. Older
    /// values are ignored.
    pub fn apply<S: AsRef<str>>(&mut self, epoch: Version, versions: &[(S, Version)]) -> Change {
        if epoch < self.epoch {
            return Change::None;
        }
        let all = epoch > self.epoch;
        if all {
            self.new_epoch(epoch);
        }
        let changed = self.raise(versions);
        if all {
            Change::All
        } else if changed.is_empty() {
            Change::None
        } else {
            Change::Tags(changed)
        }
    }

    /// Applies a full snapshot of the shared state (after connecting or
    /// reconnecting) and marks the table synced. Tags the snapshot lacks keep
    /// their version: within an epoch versions only grow, and an update newer
    /// than the snapshot may already have arrived.
    pub fn apply_snapshot<S: AsRef<str>>(
        &mut self,
        epoch: Version,
        versions: &[(S, Version)],
    ) -> Change {
        let change = self.apply(epoch, versions);
        self.synced = true;
        change
    }

    /// An invalidation of `tags` made while the shared store was unreachable:
    /// versions stay as they are (only the shared store assigns them), but
    /// renders in flight must not store pages carrying these tags.
    pub fn mark_changed<S: AsRef<str>>(&mut self, tags: &[S]) {
        self.generation += 1;
        let generation = self.generation;
        for tag in tags {
            let tag = tag.as_ref();
            match self.tags.get_mut(tag) {
                Some(e) => e.changed_at = generation,
                None => {
                    self.tags.insert(
                        Tag::from(tag),
                        Entry {
                            version: 0,
                            changed_at: generation,
                        },
                    );
                }
            }
        }
    }

    /// `invalidateAll` made while the shared store was unreachable: every
    /// render in flight is refused, versions are kept.
    pub fn mark_all_changed(&mut self) {
        self.generation += 1;
        self.epoch_changed_at = self.generation;
    }

    fn new_epoch(&mut self, epoch: Version) {
        self.generation += 1;
        self.epoch = epoch;
        self.epoch_changed_at = self.generation;
        self.tags.clear();
    }

    /// Raises each tag to the version given if that is higher; returns the
    /// tags raised.
    fn raise<S: AsRef<str>>(&mut self, versions: &[(S, Version)]) -> Vec<Tag> {
        let mut changed = Vec::new();
        let mut generation = None;
        for (tag, version) in versions {
            let (tag, version) = (tag.as_ref(), *version);
            if version <= self.version(tag) {
                continue;
            }
            let at = *generation.get_or_insert_with(|| {
                self.generation += 1;
                self.generation
            });
            let entry = Entry {
                version,
                changed_at: at,
            };
            match self.tags.get_key_value(tag) {
                Some((name, _)) => {
                    let name = name.clone();
                    self.tags.insert(name.clone(), entry);
                    changed.push(name);
                }
                None => {
                    let name = Tag::from(tag);
                    self.tags.insert(name.clone(), entry);
                    changed.push(name);
                }
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(change: &Change) -> Vec<String> {
        match change {
            Change::Tags(tags) => tags.iter().map(|t| t.to_string()).collect(),
            other => panic!("expected tags, got {other:?}"),
        }
    }

    #[test]
    fn unknown_tags_are_version_zero_and_a_fresh_page_is_current() {
        let mut t = TagVersions::new();
        t.apply_snapshot(7, &[("P1", 3u64)]);
        let stamp = t.stamp(&["P1", "C1"], t.generation()).unwrap();
        assert_eq!(
            stamp,
            Stamp {
                epoch: 7,
                versions: vec![3, 0]
            }
        );
        assert!(t.is_current(7, [("P1", 3), ("C1", 0)]));
    }

    #[test]
    fn raising_a_tag_makes_pages_recorded_before_stale_and_only_those() {
        let mut t = TagVersions::new();
        t.apply_snapshot(1, &[("P1", 5u64)]);
        let change = t.apply(1, &[("P1", 6u64)]);
        assert_eq!(names(&change), vec!["P1"]);
        assert!(
            !t.is_current(1, [("P1", 5), ("C1", 0)]),
            "recorded 5, now 6"
        );
        assert!(
            t.is_current(1, [("P2", 0), ("C1", 0)]),
            "other tags untouched"
        );
        assert!(t.is_current(1, [("P1", 6)]));
    }

    #[test]
    fn a_page_recorded_with_a_newer_version_than_this_table_is_current() {
        // Stored by an instance that heard of the invalidation first.
        let mut t = TagVersions::new();
        t.apply_snapshot(1, &[("P1", 5u64)]);
        assert!(t.is_current(1, [("P1", 9)]));
    }

    #[test]
    fn updates_arriving_out_of_order_never_lower_a_version() {
        let mut t = TagVersions::new();
        t.apply_snapshot(1, &[("P1", 10u64)]);
        assert_eq!(t.apply(1, &[("P1", 8u64)]), Change::None);
        assert_eq!(t.version("P1"), 10);
        assert_eq!(
            t.apply(1, &[("P1", 10u64)]),
            Change::None,
            "a repeat changes nothing"
        );
        // A snapshot older than an update already applied.
        t.apply(1, &[("P2", 4u64)]);
        assert_eq!(t.apply_snapshot(1, &[("P1", 9u64)]), Change::None);
        assert_eq!((t.version("P1"), t.version("P2")), (10, 4));
    }

    #[test]
    fn a_new_epoch_resets_every_tag_and_stales_every_page() {
        let mut t = TagVersions::new();
        t.apply_snapshot(100, &[("P1", 5u64), ("P2", 6)]);
        assert_eq!(t.apply(200, &[] as &[(&str, u64)]), Change::All);
        assert_eq!((t.epoch(), t.version("P1"), t.len()), (200, 0, 0));
        assert!(!t.is_current(100, [("P3", 0)]), "recorded in the old epoch");
        assert!(t.is_current(200, [("P1", 0)]));
        // A late message of the old epoch is ignored.
        assert_eq!(t.apply(100, &[("P1", 7u64)]), Change::None);
        assert_eq!(t.version("P1"), 0);
        // An update carrying a newer epoch and versions in it.
        assert_eq!(t.apply(300, &[("P1", 1u64)]), Change::All);
        assert_eq!((t.epoch(), t.version("P1")), (300, 1));
    }

    #[test]
    fn a_page_from_a_newer_epoch_than_this_table_is_not_trusted() {
        // Its versions belong to an epoch this table has not seen: re-render.
        let mut t = TagVersions::new();
        t.apply_snapshot(1, &[] as &[(&str, u64)]);
        assert!(!t.is_current(2, [("P1", 0)]));
    }

    #[test]
    fn a_render_overlapping_an_invalidation_of_its_tag_is_not_stamped() {
        let mut t = TagVersions::new();
        t.apply_snapshot(1, &[] as &[(&str, u64)]);
        let start = t.generation();
        t.apply(1, &[("P1", 2u64)]);
        assert_eq!(
            t.stamp(&["P1", "C1"], start),
            None,
            "P1 changed during the render"
        );
        assert!(
            t.stamp(&["P2", "C1"], start).is_some(),
            "other tags: stored"
        );
        assert!(
            t.stamp(&["P1"], t.generation()).is_some(),
            "a render started after"
        );
    }

    #[test]
    fn a_render_overlapping_a_new_epoch_is_not_stamped() {
        let mut t = TagVersions::new();
        t.apply_snapshot(1, &[] as &[(&str, u64)]);
        let start = t.generation();
        t.apply(2, &[] as &[(&str, u64)]);
        assert_eq!(t.stamp(&["P9"], start), None);
    }

    #[test]
    fn local_marks_refuse_overlapping_renders_without_changing_versions() {
        let mut t = TagVersions::new();
        t.apply_snapshot(1, &[("P1", 4u64)]);
        let start = t.generation();
        t.mark_changed(&["P1", "P7"]);
        assert_eq!(t.stamp(&["P1"], start), None);
        assert_eq!(t.stamp(&["P7"], start), None);
        assert_eq!((t.version("P1"), t.version("P7")), (4, 0));
        assert!(t.stamp(&["P2"], start).is_some());
        let start = t.generation();
        t.mark_all_changed();
        assert_eq!(t.stamp(&["P2"], start), None);
        assert_eq!(t.epoch(), 1, "only the shared store moves the epoch");
    }

    #[test]
    fn synced_until_marked_and_again_after_a_snapshot() {
        let mut t = TagVersions::new();
        assert!(!t.is_synced());
        t.apply_snapshot(1, &[] as &[(&str, u64)]);
        assert!(t.is_synced());
        t.mark_unsynced();
        assert!(!t.is_synced());
        // An update while unsynced is applied but does not resync.
        t.apply(1, &[("P1", 1u64)]);
        assert!(!t.is_synced());
        t.apply_snapshot(1, &[("P1", 1u64)]);
        assert!(t.is_synced());
    }

    #[test]
    fn a_snapshot_after_missed_updates_reports_what_changed() {
        // Cut off while P1 and P3 were invalidated elsewhere.
        let mut t = TagVersions::new();
        t.apply_snapshot(1, &[("P1", 1u64), ("P2", 1)]);
        t.mark_unsynced();
        let mut changed = names(&t.apply_snapshot(1, &[("P1", 2u64), ("P2", 1), ("P3", 1)]));
        changed.sort();
        assert_eq!(changed, vec!["P1", "P3"]);
    }

    #[test]
    fn one_generation_per_update_however_many_tags() {
        let mut t = TagVersions::new();
        let g = t.generation();
        t.apply(0, &[("a", 1u64), ("b", 1), ("c", 1)]);
        assert_eq!(t.generation(), g + 1);
        t.apply(0, &[("a", 1u64)]);
        assert_eq!(t.generation(), g + 1, "nothing raised, no new generation");
    }
}
