//! `PageRecord`: a page as one binary value in a shared store (Redis), so one
//! `GET` returns everything needed to serve it and to check that it is still
//! current: the epoch and tag versions it was stored with, its expiry and its
//! content. No JSON or base64 around the content: it is copied in as is.
//!
//! Layout (integers little-endian):
//!
//! ```text
//! "FVP1"                      magic + format version, 4 bytes
//! epoch                       u64
//! expires_at                  f64, ms since the Unix epoch (+inf: never)
//! tag count                   u32
//! per tag: length u32, UTF-8 name, version u64
//! content                     the rest of the value
//! ```
//!
//! Decoding checks every length against the bytes present: a truncated or
//! foreign value is an error, never a panic or an oversized allocation.

use bytes::Bytes;

use super::tag_versions::{Stamp, Version};

const MAGIC: &[u8; 4] = b"FVP1";
const HEADER: usize = 4 + 8 + 8 + 4;
/// Length prefix + version of one tag, without its name.
const TAG_OVERHEAD: usize = 4 + 8;

/// A decoded page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRecord {
    pub epoch: Version,
    pub expires_at: f64,
    /// `(name, version)` in the order stored.
    pub tags: Vec<(String, Version)>,
    /// A slice of the value read (no copy).
    pub content: Bytes,
}

impl PageRecord {
    pub fn tag_names(&self) -> Vec<&str> {
        self.tags.iter().map(|(t, _)| t.as_str()).collect()
    }

    /// `(name, version)` pairs for [`super::tag_versions::TagVersions::is_current`].
    pub fn versions(&self) -> impl Iterator<Item = (&str, Version)> {
        self.tags.iter().map(|(t, v)| (t.as_str(), *v))
    }
}

/// Why a value is not a page record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// Too short, or a length pointing past the end.
    Truncated,
    /// Not written by this format version.
    Magic,
    /// A tag name that is not UTF-8.
    TagName,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordError::Truncated => "page record truncated",
            RecordError::Magic => "not a ferrocache page record (FVP1)",
            RecordError::TagName => "page record tag name is not UTF-8",
        })
    }
}

impl std::error::Error for RecordError {}

/// Encodes a page: `stamp.versions[i]` is the version of `tags[i]`.
pub fn encode<S: AsRef<str>>(
    stamp: &Stamp,
    expires_at: f64,
    tags: &[S],
    content: &[u8],
) -> Vec<u8> {
    let names: usize = tags.iter().map(|t| t.as_ref().len()).sum();
    let mut out = Vec::with_capacity(HEADER + names + TAG_OVERHEAD * tags.len() + content.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&stamp.epoch.to_le_bytes());
    out.extend_from_slice(&expires_at.to_le_bytes());
    out.extend_from_slice(&(tags.len() as u32).to_le_bytes());
    for (i, tag) in tags.iter().enumerate() {
        let name = tag.as_ref().as_bytes();
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(name);
        let version = stamp.versions.get(i).copied().unwrap_or(0);
        out.extend_from_slice(&version.to_le_bytes());
    }
    out.extend_from_slice(content);
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        let end = self.at.checked_add(n).ok_or(RecordError::Truncated)?;
        let out = self.bytes.get(self.at..end).ok_or(RecordError::Truncated)?;
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u32(&mut self) -> Result<usize, RecordError> {
        Ok(u32::from_le_bytes(self.array()?) as usize)
    }

    fn u64(&mut self) -> Result<u64, RecordError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }
}

/// Decodes a value written by [`encode`]; the content is a slice of `value`.
pub fn decode(value: &Bytes) -> Result<PageRecord, RecordError> {
    let mut r = Reader {
        bytes: value,
        at: 0,
    };
    if r.take(4).map_err(|_| RecordError::Magic)? != MAGIC {
        return Err(RecordError::Magic);
    }
    let epoch = r.u64()?;
    let expires_at = f64::from_le_bytes(r.array()?);
    let count = r.u32()?;
    // Every tag takes at least TAG_OVERHEAD bytes: a count the value cannot
    // hold is refused before anything is allocated for it.
    if count > r.remaining() / TAG_OVERHEAD {
        return Err(RecordError::Truncated);
    }
    let mut tags = Vec::with_capacity(count);
    for _ in 0..count {
        let len = r.u32()?;
        let name = std::str::from_utf8(r.take(len)?).map_err(|_| RecordError::TagName)?;
        let version = r.u64()?;
        tags.push((name.to_owned(), version));
    }
    Ok(PageRecord {
        epoch,
        expires_at,
        tags,
        content: value.slice(r.at..),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(epoch: u64, versions: &[u64]) -> Stamp {
        Stamp {
            epoch,
            versions: versions.to_vec(),
        }
    }

    #[test]
    fn round_trip_keeps_every_field_and_binary_content() {
        let content: Vec<u8> = (0..=255u8).chain([0, 0xff, b'{']).collect();
        let value = Bytes::from(encode(
            &stamp(1_700_000_000_000_123, &[3, 0, u64::MAX]),
            1.5e12,
            &["P1", "Cshoes", "é漢"],
            &content,
        ));
        let page = decode(&value).unwrap();
        assert_eq!(page.epoch, 1_700_000_000_000_123);
        assert_eq!(page.expires_at, 1.5e12);
        assert_eq!(
            page.tags,
            vec![
                ("P1".to_string(), 3),
                ("Cshoes".to_string(), 0),
                ("é漢".to_string(), u64::MAX)
            ]
        );
        assert_eq!(&page.content[..], &content[..]);
        assert_eq!(page.tag_names(), vec!["P1", "Cshoes", "é漢"]);
    }

    #[test]
    fn infinite_expiry_no_tags_and_empty_content() {
        let value = Bytes::from(encode::<&str>(&stamp(0, &[]), f64::INFINITY, &[], b""));
        assert_eq!(value.len(), HEADER);
        let page = decode(&value).unwrap();
        assert_eq!(page.expires_at, f64::INFINITY);
        assert!(page.tags.is_empty());
        assert!(page.content.is_empty());
    }

    #[test]
    fn content_is_a_slice_of_the_value_not_a_copy() {
        let value = Bytes::from(encode(&stamp(1, &[1]), 0.0, &["t"], b"hello"));
        let page = decode(&value).unwrap();
        let start = value.as_ptr() as usize;
        let at = page.content.as_ptr() as usize;
        assert!(at > start && at + page.content.len() == start + value.len());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let value = encode(&stamp(9, &[1, 2]), 5.0, &["P1", "C2"], b"{\"html\":1}");
        let content_at = value.len() - 10;
        for cut in 0..value.len() {
            let r = decode(&Bytes::copy_from_slice(&value[..cut]));
            if cut >= content_at {
                // Only content is cut: still a record, with less content.
                assert!(r.is_ok(), "cut at {cut}");
            } else {
                assert!(r.is_err(), "cut at {cut} decoded");
            }
        }
    }

    #[test]
    fn foreign_values_are_refused() {
        assert_eq!(decode(&Bytes::from_static(b"")), Err(RecordError::Magic));
        assert_eq!(
            decode(&Bytes::from_static(b"{\"html\":\"<p>\"}")),
            Err(RecordError::Magic)
        );
        // The peer driver's JSON under our key, or a newer format.
        let mut value = encode(&stamp(1, &[]), 0.0, &[] as &[&str], b"x");
        value[3] = b'2';
        assert_eq!(decode(&Bytes::from(value)), Err(RecordError::Magic));
    }

    #[test]
    fn a_huge_tag_count_is_refused_without_allocating() {
        let mut value = encode(&stamp(1, &[]), 0.0, &[] as &[&str], b"");
        value[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&Bytes::from(value)), Err(RecordError::Truncated));
    }

    #[test]
    fn a_tag_length_past_the_end_is_refused() {
        let mut value = encode(&stamp(1, &[1]), 0.0, &["abc"], b"content");
        value[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&Bytes::from(value)), Err(RecordError::Truncated));
    }

    #[test]
    fn a_tag_name_that_is_not_utf8_is_refused() {
        let mut value = encode(&stamp(1, &[1]), 0.0, &["ab"], b"");
        value[28] = 0xff;
        assert_eq!(decode(&Bytes::from(value)), Err(RecordError::TagName));
    }

    #[test]
    fn a_record_checked_against_the_table() {
        use super::super::tag_versions::TagVersions;
        let mut t = TagVersions::new();
        t.apply_snapshot(5, &[("P1", 2u64)]);
        let tags = ["P1", "C1"];
        let s = t.stamp(&tags, t.generation()).unwrap();
        let page = decode(&Bytes::from(encode(&s, 0.0, &tags, b"{}"))).unwrap();
        assert!(t.is_current(page.epoch, page.versions()));
        t.apply(5, &[("C1", 1u64)]);
        assert!(!t.is_current(page.epoch, page.versions()));
    }
}
