//! A cached response as the stores hold it.

use std::sync::Arc;

use bytes::Bytes;

use crate::http::vary::{RequestHeaders, VaryKey};

/// Identifies an entry for its whole life; never reused, so a caller's memo
/// keyed by id can never serve a replaced or evicted response.
pub type EntryId = u64;

/// The primary cache key (RFC 9111 §4: origin and path; the method and Vary
/// select among the variants stored under it) as bytes: the origin's length in
/// UTF-16 code units (u32), then origin and path as UTF-16 (native
/// endianness, as the binding copies them from JS).
/// Length-prefixed, so `http://a:1` + `/x` and `http://a` + `:1/x` differ
/// (undici joins them with `:` and lets them collide); UTF-16 as JS holds it,
/// so no two JS strings share a key (UTF-8 would merge lone surrogates).
pub fn resource_key_utf16(origin: &[u16], path: &[u16]) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + 2 * (origin.len() + path.len()));
    key.extend_from_slice(&(origin.len() as u32).to_ne_bytes());
    for unit in origin.iter().chain(path) {
        key.extend_from_slice(&unit.to_ne_bytes());
    }
    key
}

/// [`resource_key_utf16`] of Rust strings.
pub fn resource_key(origin: &str, path: &str) -> Vec<u8> {
    let origin: Vec<u16> = origin.encode_utf16().collect();
    let path: Vec<u16> = path.encode_utf16().collect();
    resource_key_utf16(&origin, &path)
}

/// Request method, with the two cacheable ones kept inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Other(Box<str>),
}

impl Method {
    pub fn new(name: &str) -> Self {
        match name {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            other => Method::Other(other.into()),
        }
    }

    pub fn is(&self, name: &str) -> bool {
        match self {
            Method::Get => name == "GET",
            Method::Head => name == "HEAD",
            Method::Other(m) => &**m == name,
        }
    }
}

/// What a writer hands the store when a response body is complete.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub method: Method,
    /// The secondary key (RFC 9111 §4.1) in canonical form (names sorted):
    /// the request header values the response varies on, encoded as
    /// [`VaryKey::decode`] reads it.
    pub variant: Box<str>,
    /// Opaque metadata owned by the caller (the JS shell keeps the response's
    /// status, headers, directives, times and Vary values here, serialised once).
    pub meta: Bytes,
    pub body: Bytes,
    /// Milliseconds since the epoch after which the entry must not be served.
    pub delete_at: f64,
    /// When the response was stored and when it turns stale (undici's
    /// `cachedAt`/`staleAt`), kept as numbers for the caller.
    pub cached_at: f64,
    pub stale_at: f64,
}

/// A stored response.
#[derive(Debug)]
pub struct Entry {
    pub key: Arc<[u8]>,
    pub method: Method,
    pub variant: Box<str>,
    pub meta: Bytes,
    pub body: Bytes,
    pub delete_at: f64,
    pub cached_at: f64,
    pub stale_at: f64,
}

impl Entry {
    /// Whether this response may answer a request with these headers
    /// (RFC 9111 §4.1). Decoded on demand: it is needed only when a write
    /// must find the response it replaces under a different variant key.
    pub fn varies_to<H: RequestHeaders + ?Sized>(&self, request: &mut H) -> bool {
        VaryKey::decode(&self.variant).is_some_and(|v| v.matches(request))
    }

    /// Bytes of the body: what `size` and `maxSize` count, as undici counts them.
    pub fn size(&self) -> u64 {
        self.body.len() as u64
    }
}
