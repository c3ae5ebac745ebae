//! Cache-Control parsing (RFC 9111 §5.2) with the exact tolerance of
//! http-cache-semantics 4.3: split on `,`, then on the first `=` (a second `=`
//! ends the value, as JS `split(/=/, 2)` does), trim, strip one pair of quotes;
//! a later duplicate directive replaces the earlier one's value in place.
//!
//! Values are kept as JS would see them: `None` is the JS value `true` (a bare
//! directive), `Some(s)` a string (possibly empty, which JS treats as falsy).

use std::collections::hash_map::{Entry, HashMap};

/// Entries from which parsing finds duplicates through a hash index.
const INDEX_FROM: usize = 16;

/// Parsed Cache-Control directives, in JS object insertion order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheControl<'a> {
    entries: Vec<(&'a str, Option<&'a str>)>,
}

/// JS `String.prototype.trim`'s whitespace (WhiteSpace + LineTerminator).
pub fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// JS `s.trim()`.
pub fn js_trim(s: &str) -> &str {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        // Fast path: already trimmed ASCII on both ends.
        (Some(&f), Some(&l)) if (b'!'..0x80).contains(&f) && (b'!'..0x80).contains(&l) => s,
        _ => s.trim_matches(is_js_space),
    }
}

impl<'a> CacheControl<'a> {
    /// Parses a Cache-Control field value; an empty value has no directives.
    // RFC 9111 §5.2: Cache-Control = #cache-directive; cache-directive = token [ "=" ( token / quoted-string ) ]
    pub fn parse(header: &'a str) -> Self {
        let mut cc = CacheControl::default();
        if header.is_empty() {
            return cc;
        }
        let mut index = None;
        for part in js_trim(header).split(',') {
            let (key, value) = split_directive(part);
            cc.set_indexed(key, value, &mut index);
        }
        cc
    }

    /// [`Self::set`], finding duplicates through `index` once there are
    /// [`INDEX_FROM`] entries: a header of thousands of distinct directives
    /// parses in linear time, as JS object assignment does (a linear scan per
    /// directive made a 16 KB header cost ~100 ms; found by fuzzing).
    fn set_indexed(
        &mut self,
        key: &'a str,
        value: Option<&'a str>,
        index: &mut Option<HashMap<&'a str, usize>>,
    ) {
        if key == "__proto__" {
            return;
        }
        if index.is_none() && self.entries.len() >= INDEX_FROM {
            let map = self.entries.iter().enumerate().map(|(i, (k, _))| (*k, i));
            *index = Some(map.collect());
        }
        let Some(map) = index else {
            return self.set(key, value);
        };
        match map.entry(key) {
            Entry::Occupied(slot) => self.entries[*slot.get()].1 = value,
            Entry::Vacant(slot) => {
                slot.insert(self.entries.len());
                self.entries.push((key, value));
            }
        }
    }

    /// Rebuilds directives from `key` / `key=value` entries, each ended by NUL
    /// (the JS shell's flattening of a deserialized `rescc` object).
    pub fn from_entries(packed: &'a str) -> Self {
        let mut cc = CacheControl::default();
        let mut index = None;
        for entry in packed.split_terminator('\0') {
            match entry.split_once('=') {
                Some((k, v)) => cc.set_indexed(k, Some(v), &mut index),
                None => cc.set_indexed(entry, None, &mut index),
            }
        }
        cc
    }

    /// `key` / `key=value` entries, each ended by NUL, in insertion order.
    pub fn to_entries(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.entries {
            out.push_str(k);
            if let Some(v) = v {
                out.push('=');
                out.push_str(v);
            }
            out.push('\0');
        }
        out
    }

    /// `cc[key] = value` on a plain JS object: `__proto__` is not an own key.
    pub fn set(&mut self, key: &'a str, value: Option<&'a str>) {
        if key == "__proto__" {
            return;
        }
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// `delete cc[key]`.
    pub fn remove(&mut self, key: &str) {
        self.entries.retain(|(k, _)| *k != key);
    }

    /// `key in cc`.
    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| *k == key)
    }

    /// `cc[key]`: `None` if absent, `Some(None)` for `true`.
    pub fn get(&self, key: &str) -> Option<Option<&'a str>> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    /// JS truthiness of `cc[key]`.
    pub fn truthy(&self, key: &str) -> bool {
        match self.get(key) {
            None => false,
            Some(None) => true,
            Some(Some(v)) => !v.is_empty(),
        }
    }

    /// http-cache-semantics' `toNumberOrZero(cc[key])`.
    pub fn number_or_zero(&self, key: &str) -> f64 {
        match self.get(key) {
            Some(Some(v)) => to_number_or_zero(v),
            // parseInt(undefined) and parseInt(true) are NaN.
            _ => 0.0,
        }
    }

    /// The header value http-cache-semantics' `formatCacheControl` writes:
    /// JS property order (array-index keys first, ascending), `k` or `k=v`.
    pub fn format(&self) -> Option<String> {
        if self.entries.is_empty() {
            return None;
        }
        let mut order: Vec<&(&str, Option<&str>)> = self.entries.iter().collect();
        // Stable: non-index keys keep insertion order.
        order.sort_by_key(|(k, _)| array_index(k).map_or((1, 0), |i| (0, i)));
        let parts: Vec<String> = order
            .iter()
            .map(|(k, v)| match v {
                None => k.to_string(),
                Some(v) => format!("{k}={v}"),
            })
            .collect();
        Some(parts.join(", "))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One directive's JS value: absent, `true` (`Some(None)`) or a string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Directive<'a>(pub Option<Option<&'a str>>);

impl Directive<'_> {
    /// JS truthiness.
    pub fn truthy(self) -> bool {
        match self.0 {
            None => false,
            Some(None) => true,
            Some(Some(v)) => !v.is_empty(),
        }
    }

    /// `toNumberOrZero(value)`.
    pub fn number_or_zero(self) -> f64 {
        match self.0 {
            Some(Some(v)) => to_number_or_zero(v),
            _ => 0.0,
        }
    }
}

/// The directives the rules read, looked up once.
#[derive(Debug, Clone, Copy, Default)]
pub struct Directives<'a> {
    pub public: Directive<'a>,
    pub private: Directive<'a>,
    pub no_store: Directive<'a>,
    pub no_cache: Directive<'a>,
    pub max_age: Directive<'a>,
    pub s_maxage: Directive<'a>,
    pub must_revalidate: Directive<'a>,
    pub proxy_revalidate: Directive<'a>,
    pub immutable: Directive<'a>,
    pub stale_while_revalidate: Directive<'a>,
    pub stale_if_error: Directive<'a>,
    pub min_fresh: Directive<'a>,
    pub max_stale: Directive<'a>,
    pub pre_check: Directive<'a>,
    pub post_check: Directive<'a>,
}

/// The response directives the freshness rules read, as numbers: truthy
/// directives as bits, and the `toNumberOrZero` values of the numeric ones.
/// (What JS memoizes per distinct Cache-Control value.)
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    pub bits: u32,
    pub max_age: f64,
    pub s_maxage: f64,
    pub stale_while_revalidate: f64,
    pub stale_if_error: f64,
}

impl Summary {
    pub const PUBLIC: u32 = 1;
    pub const PRIVATE: u32 = 2;
    pub const NO_STORE: u32 = 4;
    pub const NO_CACHE: u32 = 8;
    pub const MAX_AGE: u32 = 16;
    pub const S_MAXAGE: u32 = 32;
    pub const MUST_REVALIDATE: u32 = 64;
    pub const PROXY_REVALIDATE: u32 = 128;
    pub const IMMUTABLE: u32 = 256;
    /// Both `pre-check` and `post-check` present (in any form).
    pub const CARGO_CULT: u32 = 512;

    /// Whether the directive behind `bit` is truthy.
    pub fn has(&self, bit: u32) -> bool {
        self.bits & bit != 0
    }
}

impl<'a> Directives<'a> {
    /// The numbers the response rules need.
    pub fn summary(&self) -> Summary {
        let mut bits = 0;
        for (d, bit) in [
            (self.public, Summary::PUBLIC),
            (self.private, Summary::PRIVATE),
            (self.no_store, Summary::NO_STORE),
            (self.no_cache, Summary::NO_CACHE),
            (self.max_age, Summary::MAX_AGE),
            (self.s_maxage, Summary::S_MAXAGE),
            (self.must_revalidate, Summary::MUST_REVALIDATE),
            (self.proxy_revalidate, Summary::PROXY_REVALIDATE),
            (self.immutable, Summary::IMMUTABLE),
        ] {
            if d.truthy() {
                bits |= bit;
            }
        }
        if self.pre_check.0.is_some() && self.post_check.0.is_some() {
            bits |= Summary::CARGO_CULT;
        }
        Summary {
            bits,
            max_age: self.max_age.number_or_zero(),
            s_maxage: self.s_maxage.number_or_zero(),
            stale_while_revalidate: self.stale_while_revalidate.number_or_zero(),
            stale_if_error: self.stale_if_error.number_or_zero(),
        }
    }

    /// `CacheControl::parse(header).directives()` in one pass, without
    /// collecting the directives the rules never read.
    pub fn parse(header: &'a str) -> Self {
        let mut d = Directives::default();
        if header.is_empty() {
            return d;
        }
        for part in js_trim(header).split(',') {
            let (key, value) = split_directive(part);
            if let Some(slot) = d.slot(key) {
                *slot = Directive(Some(value));
            }
        }
        d
    }

    fn slot(&mut self, key: &str) -> Option<&mut Directive<'a>> {
        Some(match key {
            "public" => &mut self.public,
            "private" => &mut self.private,
            "no-store" => &mut self.no_store,
            "no-cache" => &mut self.no_cache,
            "max-age" => &mut self.max_age,
            "s-maxage" => &mut self.s_maxage,
            "must-revalidate" => &mut self.must_revalidate,
            "proxy-revalidate" => &mut self.proxy_revalidate,
            "immutable" => &mut self.immutable,
            "stale-while-revalidate" => &mut self.stale_while_revalidate,
            "stale-if-error" => &mut self.stale_if_error,
            "min-fresh" => &mut self.min_fresh,
            "max-stale" => &mut self.max_stale,
            "pre-check" => &mut self.pre_check,
            "post-check" => &mut self.post_check,
            _ => return None,
        })
    }
}

/// One `k[=v]` list member as http-cache-semantics splits it: key trimmed;
/// value up to a second `=`, trimmed, one leading and one trailing quote removed.
fn split_directive(part: &str) -> (&str, Option<&str>) {
    let mut kv = part.split('=');
    let key = js_trim(kv.next().unwrap_or(""));
    let value = kv.next().map(|v| {
        let v = js_trim(v);
        let v = v.strip_prefix('"').unwrap_or(v);
        v.strip_suffix('"').unwrap_or(v)
    });
    (key, value)
}

impl<'a> CacheControl<'a> {
    /// The known directives, in one pass over the entries.
    pub fn directives(&self) -> Directives<'a> {
        let mut d = Directives::default();
        for &(k, v) in &self.entries {
            if let Some(slot) = d.slot(k) {
                *slot = Directive(Some(v));
            }
        }
        d
    }
}

/// A JS array index: canonical decimal integer below 2^32 - 1.
fn array_index(key: &str) -> Option<u64> {
    if key.is_empty() || key.len() > 10 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if key.len() > 1 && key.starts_with('0') {
        return None;
    }
    let n: u64 = key.parse().ok()?;
    (n < u32::MAX as u64).then_some(n)
}

/// JS `parseInt(s, 10)`, `None` where it is NaN.
pub fn js_parse_int(s: &str) -> Option<f64> {
    let s = s.trim_start_matches(is_js_space);
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n: f64 = if digits <= 15 {
        // Exact in an f64: no float parsing needed.
        rest.as_bytes()[..digits]
            .iter()
            .fold(0u64, |n, &c| n * 10 + (c - b'0') as u64) as f64
    } else {
        rest[..digits].parse().ok()?
    };
    Some(if neg { -n } else { n })
}

/// http-cache-semantics' `toNumberOrZero`: `parseInt(s, 10)` if finite, else 0.
pub fn to_number_or_zero(s: &str) -> f64 {
    match js_parse_int(s) {
        Some(n) if n.is_finite() => n,
        _ => 0.0,
    }
}

/// JS `Number(s)` for a string (as in `'5' > x`): NaN where JS gives NaN.
pub fn js_to_number(s: &str) -> f64 {
    let t = js_trim(s);
    if t.is_empty() {
        return 0.0;
    }
    let radix = |p: &str, r: u32| -> f64 {
        if p.is_empty() {
            return f64::NAN;
        }
        let mut n = 0.0f64;
        for c in p.chars() {
            match c.to_digit(r) {
                Some(d) => n = n * r as f64 + d as f64,
                None => return f64::NAN,
            }
        }
        n
    };
    let lower = t.get(..2).map(str::to_ascii_lowercase);
    match lower.as_deref() {
        Some("0x") => return radix(&t[2..], 16),
        Some("0o") => return radix(&t[2..], 8),
        Some("0b") => return radix(&t[2..], 2),
        _ => {}
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if unsigned == "Infinity" {
        return if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    // Rust's float grammar also takes "inf"/"nan"; JS's StrDecimalLiteral does not.
    if !unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return f64::NAN;
    }
    t.parse().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_http_cache_semantics() {
        let cc = CacheControl::parse(" public, max-age=\"300\" , no-cache, a=b=c, s-maxage= ");
        assert_eq!(cc.get("public"), Some(None));
        assert_eq!(cc.get("max-age"), Some(Some("300")));
        assert_eq!(cc.get("a"), Some(Some("b")));
        assert!(!cc.truthy("s-maxage"));
        assert!(cc.has("s-maxage"));
        assert!(cc.truthy("no-cache"));
        assert!(!cc.has("private"));
    }

    #[test]
    fn duplicates_replace_in_place_and_proto_is_ignored() {
        let cc = CacheControl::parse("max-age=1, public, max-age=2, __proto__=x");
        assert_eq!(cc.to_entries(), "max-age=2\0public\0");
        let empty_key = CacheControl::parse(",");
        assert_eq!(
            CacheControl::from_entries(&empty_key.to_entries()),
            empty_key
        );
        assert_eq!(CacheControl::from_entries(&cc.to_entries()), cc);
    }

    #[test]
    fn many_distinct_directives_keep_js_order_and_last_value() {
        // Past INDEX_FROM entries duplicates are found through the index.
        let names: Vec<String> = (0..100).map(|i| format!("d{i}")).collect();
        let header = format!("{}, d5=x, d50, __proto__, d99=\"y\"", names.join(","));
        let cc = CacheControl::parse(&header);
        let mut expected = String::new();
        for (i, n) in names.iter().enumerate() {
            expected.push_str(n);
            match i {
                5 => expected.push_str("=x"),
                99 => expected.push_str("=y"),
                _ => {}
            }
            expected.push('\0');
        }
        assert_eq!(cc.to_entries(), expected);
        assert_eq!(CacheControl::from_entries(&expected), cc);
    }

    #[test]
    fn direct_scan_equals_full_parse() {
        for h in [
            "",
            " ",
            "public, max-age=300, stale-while-revalidate=60",
            "max-age=1, max-age=\"2\", no-cache=a=b, ,, s-maxage",
            "Max-Age=5, private=\"x\"",
        ] {
            let full = CacheControl::parse(h).directives();
            let direct = Directives::parse(h);
            assert_eq!(format!("{full:?}"), format!("{direct:?}"), "{h}");
        }
    }

    #[test]
    fn formats_in_js_property_order() {
        let cc = CacheControl::parse("public, 10, 2, max-age=3");
        assert_eq!(cc.format().as_deref(), Some("2, 10, public, max-age=3"));
        assert_eq!(CacheControl::parse("").format(), None);
    }

    #[test]
    fn numbers_follow_parse_int() {
        assert_eq!(to_number_or_zero("99999999999999999999"), 1e20);
        assert_eq!(to_number_or_zero(" -5x"), -5.0);
        assert_eq!(to_number_or_zero("1.9"), 1.0);
        assert_eq!(to_number_or_zero("abc"), 0.0);
        assert_eq!(to_number_or_zero(&"9".repeat(400)), 0.0);
        assert_eq!(
            CacheControl::parse("max-age").number_or_zero("max-age"),
            0.0
        );
    }

    #[test]
    fn strings_convert_like_number() {
        assert_eq!(js_to_number(" 5 "), 5.0);
        assert_eq!(js_to_number(""), 0.0);
        assert_eq!(js_to_number("0x10"), 16.0);
        assert!(js_to_number("5s").is_nan());
        assert!(js_to_number("inf").is_nan());
        assert_eq!(js_to_number("-Infinity"), f64::NEG_INFINITY);
        assert_eq!(js_to_number("1e3"), 1000.0);
    }
}
