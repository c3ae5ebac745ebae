//! Byte ranges served from a stored complete response (RFC 9110 §14), so a
//! cache answers `Range: bytes=…` from what it holds instead of the origin.

use super::date::parse_http_date;

/// What a stored complete response of `length` bytes answers to a GET's `Range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// The whole response (200): no single byte range to serve, or If-Range does not match.
    // RFC 9110 §14.2: "A server MAY ignore the Range header field." (several ranges would
    // need multipart/byteranges; an invalid ranges-specifier is ignored)
    Whole,
    /// 206 with bytes `first..=last`.
    Part { first: u64, last: u64 },
    /// 416: the one range asked for starts past the end.
    // RFC 9110 §15.5.17: "none of the ranges in the request's Range header field overlap
    // the current extent of the selected resource"
    Unsatisfiable,
}

/// The answer to `Range: <range>` from a stored complete response of `length` bytes.
// RFC 9110 §14.1.1: ranges-specifier = range-unit "=" range-set; range-set = 1#range-spec;
// int-range = first-pos "-" [ last-pos ]; suffix-range = "-" suffix-length
pub fn answer_range(range: &str, length: u64) -> RangeAnswer {
    let Some((unit, set)) = range.split_once('=') else {
        return RangeAnswer::Whole;
    };
    // RFC 9110 §14.1: "range-unit ... compared case-insensitively"
    if !unit.trim_matches([' ', '\t']).eq_ignore_ascii_case("bytes") || set.contains(',') {
        return RangeAnswer::Whole;
    }
    let spec = set.trim_matches([' ', '\t']);
    let Some((first, last)) = spec.split_once('-') else {
        return RangeAnswer::Whole;
    };
    if first.is_empty() {
        // suffix-range: the last `n` bytes
        let Some(n) = digits(last) else {
            return RangeAnswer::Whole;
        };
        // RFC 9110 §14.1.3: a suffix of 0 bytes selects no byte, so it is unsatisfiable
        if n == 0 {
            return RangeAnswer::Unsatisfiable;
        }
        // an empty representation: no byte position to name in Content-Range, so the
        // Range is ignored and the (empty) whole is served
        if length == 0 {
            return RangeAnswer::Whole;
        }
        return RangeAnswer::Part {
            first: length - n.min(length),
            last: length - 1,
        };
    }
    let Some(first) = digits(first) else {
        return RangeAnswer::Whole;
    };
    let last = if last.is_empty() {
        u64::MAX
    } else {
        match digits(last) {
            Some(l) => l,
            None => return RangeAnswer::Whole,
        }
    };
    // RFC 9110 §14.1.1: "An int-range is invalid if the last-pos value is present and less
    // than the first-pos."
    if last < first {
        return RangeAnswer::Whole;
    }
    // RFC 9110 §14.1.1: satisfiable "if the first-pos is less than the current length"
    if first >= length {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Part {
        first,
        last: last.min(length - 1),
    }
}

/// 1*DIGIT; a number too large for u64 saturates (it is past any stored length).
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u64::MAX))
}

/// Whether `If-Range` lets the Range be served from the stored response's validators.
// RFC 9110 §13.1.5: the condition is true if an entity-tag validator matches the stored
// ETag by the strong comparison, or an HTTP-date validator "exactly matches the
// Last-Modified field value" and that is a strong validator (§8.8.2.2: Date at least one
// second after Last-Modified); otherwise "the recipient MUST ignore the Range header field"
pub fn if_range_holds(
    if_range: &str,
    etag: Option<&str>,
    last_modified: Option<&str>,
    date: Option<&str>,
) -> bool {
    let v = if_range.trim_matches([' ', '\t']);
    if v.starts_with('"') || v.starts_with("W/") {
        // RFC 9110 §8.8.3.2: strong comparison: both strong and identical
        return !v.starts_with("W/") && etag.is_some_and(|e| e.trim_matches([' ', '\t']) == v);
    }
    let (Some(since), Some(lm)) = (parse_http_date(v), last_modified.and_then(parse_http_date))
    else {
        return false;
    };
    let strong = date
        .and_then(parse_http_date)
        .is_some_and(|d| d - lm >= 1000.0);
    since == lm && strong
}

#[cfg(test)]
mod tests {
    use super::RangeAnswer::{Part, Unsatisfiable, Whole};
    use super::*;

    // cache-tests partial-store-complete-reuse-partial(-no-last, -suffix): bytes=0-1,
    // bytes=1-, bytes=-1 of a stored 11-byte 200
    #[test]
    fn single_ranges() {
        assert_eq!(answer_range("bytes=0-1", 11), Part { first: 0, last: 1 });
        assert_eq!(answer_range("bytes=1-", 11), Part { first: 1, last: 10 });
        assert_eq!(
            answer_range("bytes=-1", 11),
            Part {
                first: 10,
                last: 10
            }
        );
        assert_eq!(answer_range("Bytes = 2-4", 11), Part { first: 2, last: 4 });
        assert_eq!(answer_range("bytes=5-500", 11), Part { first: 5, last: 10 });
        assert_eq!(answer_range("bytes=-500", 11), Part { first: 0, last: 10 });
        assert_eq!(
            answer_range("bytes=3-99999999999999999999999", 11),
            Part { first: 3, last: 10 }
        );
    }

    #[test]
    fn what_is_ignored_and_what_is_unsatisfiable() {
        for ignored in [
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes",
            "bytes=a-1",
            "bytes=4-2",
            "bytes=1-x",
            "bytes=-",
            "bytes=--1",
            "bytes=0x1-2",
            "",
        ] {
            assert_eq!(answer_range(ignored, 11), Whole, "{ignored}");
        }
        assert_eq!(answer_range("bytes=11-", 11), Unsatisfiable);
        assert_eq!(answer_range("bytes=-0", 11), Unsatisfiable);
        assert_eq!(answer_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(answer_range("bytes=-5", 0), Whole);
        assert_eq!(
            answer_range("bytes=99999999999999999999999-", 11),
            Unsatisfiable
        );
    }

    #[test]
    fn if_range() {
        let lm = Some("Sun, 06 Nov 1994 08:49:37 GMT");
        let later = Some("Sun, 06 Nov 1994 08:49:38 GMT");
        assert!(if_range_holds("\"a\"", Some("\"a\""), None, None));
        assert!(!if_range_holds("\"a\"", Some("W/\"a\""), None, None));
        assert!(!if_range_holds("W/\"a\"", Some("W/\"a\""), None, None));
        assert!(!if_range_holds("\"a\"", None, lm, later));
        assert!(if_range_holds(
            "Sun, 06 Nov 1994 08:49:37 GMT",
            None,
            lm,
            later
        ));
        // weak: Date within a second of Last-Modified
        assert!(!if_range_holds(
            "Sun, 06 Nov 1994 08:49:37 GMT",
            None,
            lm,
            lm
        ));
        assert!(!if_range_holds(
            "Sun, 06 Nov 1994 08:49:36 GMT",
            None,
            lm,
            later
        ));
        assert!(!if_range_holds("garbage", Some("\"a\""), lm, later));
    }
}
