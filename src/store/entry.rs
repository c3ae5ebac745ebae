//! A cached response as the stores hold it.

use bytes::Bytes;

use crate::http::vary::VaryKey;

/// Identifies an entry for its whole life; never reused, so a caller's memo
/// keyed by id can never serve a replaced or evicted response.
pub type EntryId = u64;

/// The primary cache key: origin and path (the method and Vary select among the
/// variants stored under it, RFC 9111 §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceKey(Box<str>);

impl ResourceKey {
    /// Encodes origin and path unambiguously: the origin's byte length leads, so
    /// `http://a:1` + `/x` and `http://a` + `:1/x` are different keys (undici
    /// joins them with `:` and lets them collide).
    pub fn new(origin: &str, path: &str) -> Self {
        let mut s = String::with_capacity(origin.len() + path.len() + 6);
        s.push_str(&origin.len().to_string());
        s.push(':');
        s.push_str(origin);
        s.push_str(path);
        ResourceKey(s.into_boxed_str())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a writer hands the store when a response body is complete.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub method: Box<str>,
    pub vary: Option<VaryKey>,
    /// Opaque metadata owned by the caller (the JS shell keeps the response's
    /// status, headers, directives and times here, serialised once).
    pub meta: Bytes,
    pub body: Bytes,
    /// Milliseconds since the epoch after which the entry must not be served.
    pub delete_at: f64,
}

/// A stored response.
#[derive(Debug)]
pub struct Entry {
    pub id: EntryId,
    pub key: ResourceKey,
    pub method: Box<str>,
    pub vary: Option<VaryKey>,
    pub meta: Bytes,
    pub body: Bytes,
    pub delete_at: f64,
}

impl Entry {
    /// Bytes of the body: what `size` and `maxSize` count, as undici counts them.
    pub fn size(&self) -> u64 {
        self.body.len() as u64
    }

    /// Whether the entry may still be served at `now` (undici: `deleteAt > now`).
    pub fn is_live(&self, now: f64) -> bool {
        self.delete_at > now
    }
}
