//! `TagIndex`: tag → ids of the items carrying it (`store::pages` keys it by
//! page id; the index knows nothing of pages).
//!
//! Tag names are interned: every page carrying a tag holds the same `Arc<str>`
//! as the index, so 100k pages tagged `category:shoes` keep one copy of the name.
//! Every operation costs in proportion to the tags and ids it touches, never to
//! the number of pages or tags stored.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;

use foldhash::fast::RandomState;

/// An interned tag name.
pub type Tag = Arc<str>;

/// The pages under one tag. Most tags name one page (`P123`), so a single id
/// is kept inline: no set to allocate, hash or free.
enum Ids<Id> {
    One(Id),
    Many(HashSet<Id, RandomState>),
}

impl<Id: Copy + Eq + Hash> Ids<Id> {
    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Ids::One(_) => 1,
            Ids::Many(ids) => ids.len(),
        }
    }

    /// Adds `id`; false when it was already there.
    fn insert(&mut self, id: Id) -> bool {
        match self {
            Ids::One(only) if *only == id => false,
            Ids::One(only) => {
                let mut ids = HashSet::with_capacity_and_hasher(2, RandomState::default());
                ids.insert(*only);
                ids.insert(id);
                *self = Ids::Many(ids);
                true
            }
            Ids::Many(ids) => ids.insert(id),
        }
    }

    /// Removes `id`; true when no id is left.
    fn remove(&mut self, id: Id) -> bool {
        match self {
            Ids::One(only) => *only == id,
            Ids::Many(ids) => {
                ids.remove(&id);
                ids.is_empty()
            }
        }
    }

    fn to_vec(&self) -> Vec<Id> {
        match self {
            Ids::One(id) => vec![*id],
            Ids::Many(ids) => ids.iter().copied().collect(),
        }
    }
}

/// Keys are tag names from the application (and, through the invalidation
/// endpoint, from requests): a randomly seeded hasher, as `lru` uses.
pub struct TagIndex<Id> {
    by_tag: HashMap<Tag, Ids<Id>, RandomState>,
}

impl<Id> Default for TagIndex<Id> {
    fn default() -> Self {
        TagIndex {
            by_tag: HashMap::default(),
        }
    }
}

impl<Id: Copy + Eq + Hash> TagIndex<Id> {
    pub fn new() -> Self {
        TagIndex::default()
    }

    /// Records `id` under each of `tags` (duplicates in `tags` are ignored) and
    /// returns the interned names, deduplicated, in first-seen order. `id`
    /// must be new to the index: a name already holding `id` is a duplicate.
    pub fn add<S: AsRef<str>>(&mut self, id: Id, tags: &[S]) -> Box<[Tag]> {
        let mut interned: Vec<Tag> = Vec::with_capacity(tags.len());
        for name in tags {
            let name = name.as_ref();
            match self.by_tag.get_mut(name) {
                Some(ids) => {
                    if !ids.insert(id) {
                        continue;
                    }
                    if let Some((tag, _)) = self.by_tag.get_key_value(name) {
                        interned.push(tag.clone());
                    }
                }
                None => {
                    let tag = Tag::from(name);
                    self.by_tag.insert(tag.clone(), Ids::One(id));
                    interned.push(tag);
                }
            }
        }
        interned.into_boxed_slice()
    }

    /// Forgets `id` under each of `tags`; a tag left with no page is dropped.
    pub fn remove(&mut self, id: Id, tags: &[Tag]) {
        for tag in tags {
            if let Some(ids) = self.by_tag.get_mut(tag) {
                if ids.remove(id) {
                    self.by_tag.remove(tag);
                }
            }
        }
    }

    /// The ids under `tag`, leaving them in the index (the caller removes each
    /// page with [`TagIndex::remove`]).
    pub fn ids(&self, tag: &str) -> Vec<Id> {
        self.by_tag.get(tag).map(Ids::to_vec).unwrap_or_default()
    }

    /// Number of distinct tags carried by at least one page.
    pub fn len(&self) -> usize {
        self.by_tag.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_tag.is_empty()
    }

    /// Pages recorded under `tag`.
    #[cfg(test)]
    pub fn count(&self, tag: &str) -> usize {
        self.by_tag.get(tag).map_or(0, Ids::len)
    }

    pub fn clear(&mut self) {
        self.by_tag.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_interns_and_dedupes() {
        let mut index = TagIndex::new();
        let a = index.add(1, &["x", "y", "x"]);
        let b = index.add(2, &["y"]);
        assert_eq!(a.len(), 2);
        assert!(Arc::ptr_eq(&a[1], &b[0]), "one copy of the name 'y'");
        assert_eq!(index.count("x"), 1);
        assert_eq!(index.count("y"), 2);
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn many_tags_with_duplicates() {
        let mut index = TagIndex::new();
        let names: Vec<String> = (0..2000).map(|i| format!("P{}", i % 1000)).collect();
        let a = index.add(1, &names);
        assert_eq!(a.len(), 1000);
        let b = index.add(2, &names);
        assert_eq!(b.len(), 1000);
        assert_eq!(index.count("P999"), 2);
        index.remove(1, &a);
        index.remove(2, &b);
        assert!(index.is_empty());
    }

    #[test]
    fn remove_drops_empty_tags() {
        let mut index = TagIndex::new();
        let a = index.add(1, &["x", "y"]);
        let b = index.add(2, &["y"]);
        index.remove(1, &a);
        assert_eq!(index.count("x"), 0);
        assert_eq!(index.len(), 1);
        index.remove(2, &b);
        assert!(index.is_empty());
    }

    #[test]
    fn one_page_tags_grow_and_shrink() {
        let mut index = TagIndex::new();
        let a = index.add(1, &["x"]);
        assert!(index.add(1, &["x"]).is_empty(), "id 1 is already under x");
        assert_eq!(index.count("x"), 1, "adding the same id twice keeps one");
        let b = index.add(2, &["x"]);
        assert_eq!(index.count("x"), 2);
        index.remove(1, &a);
        assert_eq!(index.ids("x"), vec![2]);
        index.remove(3, &b);
        assert_eq!(
            index.count("x"),
            1,
            "removing an id not there changes nothing"
        );
        index.remove(2, &b);
        assert!(index.is_empty());
        let c = index.add(4, &["y"]);
        index.remove(5, &c);
        assert_eq!(
            index.count("y"),
            1,
            "a one-page tag keeps its page when another id is removed"
        );
    }

    #[test]
    fn ids_lists_pages_of_a_tag() {
        let mut index = TagIndex::new();
        index.add(1, &["x"]);
        index.add(2, &["x", "z"]);
        let mut ids = index.ids("x");
        ids.sort();
        assert_eq!(ids, vec![1, 2]);
        assert!(index.ids("nope").is_empty());
    }
}
