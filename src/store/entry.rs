//! A cached response as the stores hold it.

use bytes::Bytes;

use crate::http::vary::{RequestHeaders, VaryKey};

/// Identifies an entry for its whole life; never reused, so a caller's memo
/// keyed by id can never serve a replaced or evicted response.
pub type EntryId = u64;

/// The primary cache key (RFC 9111 §4: origin and path; the method and Vary
/// select among the variants stored under it) as bytes, in one canonical form
/// per pair of JS strings (origin and path as UTF-16 code units, as JS holds
/// them, so no two JS strings share a key: UTF-8 would merge lone surrogates):
/// - `b'1'`, the origin's length in code units (u32, native endianness), then
///   every unit as one byte, when all are below U+0100 (every usual URL);
/// - `b'2'`, the same length, then the units as UTF-16 (native endianness).
///
/// Length-prefixed, so `http://a:1` + `/x` and `http://a` + `:1/x` differ
/// (undici joins them with `:` and lets them collide). The one-byte form halves
/// the key every stored entry keeps (36 bytes saved on a 36-unit URL).
pub fn resource_key_into<A: smallvec::Array<Item = u8>>(
    origin: &[u16],
    path: &[u16],
    key: &mut smallvec::SmallVec<A>,
) {
    let narrow = origin.iter().chain(path).all(|&u| u <= 0xFF);
    key.push(if narrow { b'1' } else { b'2' });
    key.extend_from_slice(&(origin.len() as u32).to_ne_bytes());
    if narrow {
        key.extend(origin.iter().chain(path).map(|&u| u as u8));
    } else {
        key.reserve(2 * (origin.len() + path.len()));
        for unit in origin.iter().chain(path) {
            key.extend_from_slice(&unit.to_ne_bytes());
        }
    }
}

/// [`resource_key_into`] as a `Vec`.
pub fn resource_key_utf16(origin: &[u16], path: &[u16]) -> Vec<u8> {
    let mut key: smallvec::SmallVec<[u8; 0]> = smallvec::SmallVec::new();
    resource_key_into(origin, path, &mut key);
    key.into_vec()
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
/// The variant and metadata are borrowed: the entry copies them into its head
/// block.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub method: Method,
    /// The secondary key (RFC 9111 §4.1) in canonical form (names sorted):
    /// the request header values the response varies on, encoded as
    /// [`VaryKey::decode`] reads it.
    pub variant: &'a str,
    /// Opaque metadata owned by the caller (the JS shell keeps the response's
    /// status, headers, directives and ETag here, serialised once).
    pub meta: &'a [u8],
    pub body: Bytes,
    /// Milliseconds since the epoch after which the entry must not be served.
    pub delete_at: f64,
    /// When the response was stored and when it turns stale (undici's
    /// `cachedAt`/`staleAt`), kept as numbers for the caller.
    pub cached_at: f64,
    pub stale_at: f64,
}

/// How an entry's method is kept: the two cacheable ones as a code, any other
/// by name in the entry's head block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MethodCode {
    Get,
    Head,
    Other,
}

/// A stored response, laid out to keep the per-entry overhead small next to
/// the body (100k entries of 2 KB: the slab, index and metadata are what RSS
/// pays beyond the payload): everything but the body and the two numbers
/// every lookup reads lives in one allocation, the head block:
/// `cached_at (f64) | stale_at (f64) | key | variant | method name | meta`.
#[derive(Debug)]
pub struct Entry {
    head: Box<[u8]>,
    pub body: Bytes,
    pub delete_at: f64,
    /// Hash of the key, as the store's index computed it.
    pub hash: u64,
    /// The next variant stored under the same key, in write order (0: none).
    pub next: EntryId,
    key_len: u32,
    variant_len: u32,
    method_len: u32,
    method: MethodCode,
}

const TIMES: usize = 16;

impl Entry {
    pub fn new(key: &[u8], hash: u64, entry: NewEntry<'_>) -> Self {
        let (method, name): (MethodCode, &str) = match &entry.method {
            Method::Get => (MethodCode::Get, ""),
            Method::Head => (MethodCode::Head, ""),
            Method::Other(name) => (MethodCode::Other, name),
        };
        let mut head = Vec::with_capacity(
            TIMES + key.len() + entry.variant.len() + name.len() + entry.meta.len(),
        );
        head.extend_from_slice(&entry.cached_at.to_ne_bytes());
        head.extend_from_slice(&entry.stale_at.to_ne_bytes());
        head.extend_from_slice(key);
        head.extend_from_slice(entry.variant.as_bytes());
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(entry.meta);
        Entry {
            head: head.into_boxed_slice(),
            body: entry.body,
            delete_at: entry.delete_at,
            hash,
            next: 0,
            key_len: key.len() as u32,
            variant_len: entry.variant.len() as u32,
            method_len: name.len() as u32,
            method,
        }
    }

    fn time(&self, at: usize) -> f64 {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&self.head[at..at + 8]);
        f64::from_ne_bytes(raw)
    }

    pub fn cached_at(&self) -> f64 {
        self.time(0)
    }

    pub fn stale_at(&self) -> f64 {
        self.time(8)
    }

    pub fn key(&self) -> &[u8] {
        &self.head[TIMES..TIMES + self.key_len as usize]
    }

    fn variant_bytes(&self) -> &[u8] {
        let at = TIMES + self.key_len as usize;
        &self.head[at..at + self.variant_len as usize]
    }

    fn method_name(&self) -> &[u8] {
        let at = TIMES + (self.key_len + self.variant_len) as usize;
        &self.head[at..at + self.method_len as usize]
    }

    /// The caller's metadata, as it was handed in.
    pub fn meta(&self) -> &[u8] {
        &self.head[TIMES + (self.key_len + self.variant_len + self.method_len) as usize..]
    }

    pub fn variant_is(&self, variant: &str) -> bool {
        self.variant_bytes() == variant.as_bytes()
    }

    pub fn method_is(&self, name: &str) -> bool {
        match self.method {
            MethodCode::Get => name == "GET",
            MethodCode::Head => name == "HEAD",
            MethodCode::Other => self.method_name() == name.as_bytes(),
        }
    }

    pub fn method_eq(&self, method: &Method) -> bool {
        match method {
            Method::Get => self.method == MethodCode::Get,
            Method::Head => self.method == MethodCode::Head,
            Method::Other(name) => self.method == MethodCode::Other && self.method_is(name),
        }
    }

    /// Whether this response may answer a request with these headers
    /// (RFC 9111 §4.1). Decoded on demand: it is needed only when a write
    /// must find the response it replaces under a different variant key.
    pub fn varies_to<H: RequestHeaders + ?Sized>(&self, request: &mut H) -> bool {
        std::str::from_utf8(self.variant_bytes())
            .ok()
            .and_then(VaryKey::decode)
            .is_some_and(|v| v.matches(request))
    }

    /// Bytes of the body: what `size` and `maxSize` count, as undici counts them.
    pub fn size(&self) -> u64 {
        self.body.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_block_round_trips() {
        let e = Entry::new(
            b"key",
            7,
            NewEntry {
                method: Method::Other("PURGE".into()),
                variant: "v",
                meta: b"[1]",
                body: Bytes::from_static(b"body"),
                delete_at: 3.0,
                cached_at: 1.0,
                stale_at: 2.5,
            },
        );
        assert_eq!(e.key(), b"key");
        assert!(e.variant_is("v"));
        assert!(e.method_is("PURGE") && !e.method_is("GET"));
        assert!(e.method_eq(&Method::Other("PURGE".into())));
        assert_eq!(e.meta(), b"[1]");
        assert_eq!((e.cached_at(), e.stale_at(), e.delete_at), (1.0, 2.5, 3.0));
        assert_eq!(std::mem::size_of::<Option<Entry>>(), 88);
    }
}
