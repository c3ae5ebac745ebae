//! Secondary cache keys: matching a stored response's Vary'd request headers
//! against a new request (RFC 9111 §4.1).
//!
//! The value model is undici's: the cache key records, for every header named
//! in the response's `Vary`, the request's value — a string, a list of strings
//! (a header sent several times) or "absent" (`null` in undici's `vary` object).

/// One request header value as the cache sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    /// The request did not carry the header (`undefined` or `null` in JS).
    Absent,
    /// A single value.
    One(Box<str>),
    /// A header sent several times, values in order.
    Many(Box<[Box<str>]>),
    /// A value of a type a header cannot have (number, object, ...): it never
    /// equals a stored value, as undici's strict comparison never does.
    Invalid,
}

impl HeaderValue {
    /// Whether the request's value equals the stored one, with undici's
    /// `headerValueEquals` semantics: absent equals absent, lists compare
    /// element-wise, a list never equals a single string.
    pub fn matches(&self, stored: &HeaderValue) -> bool {
        match (self, stored) {
            (HeaderValue::Absent, HeaderValue::Absent) => true,
            (HeaderValue::One(a), HeaderValue::One(b)) => a == b,
            (HeaderValue::Many(a), HeaderValue::Many(b)) => a == b,
            _ => false,
        }
    }

    /// Bytes this value occupies, for memory accounting.
    pub fn heap_size(&self) -> usize {
        match self {
            HeaderValue::One(s) => s.len(),
            HeaderValue::Many(v) => v.iter().map(|s| s.len() + 16).sum(),
            _ => 0,
        }
    }
}

/// Something that can tell the value of a request header by (lower-case) name.
/// The N-API layer implements it over the caller's headers object, reading only
/// the names a stored response varies on.
pub trait RequestHeaders {
    fn header(&mut self, name: &str) -> HeaderValue;
}

/// A plain list of request headers, for the core's own callers and tests.
impl RequestHeaders for &[(&str, HeaderValue)] {
    fn header(&mut self, name: &str) -> HeaderValue {
        self.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or(HeaderValue::Absent)
    }
}

/// The request headers a stored response was selected by: `(name, value)` per
/// header named in its `Vary`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VaryKey(pub Vec<(Box<str>, HeaderValue)>);

/// Separators of the variant-key encoding (see [`VaryKey::decode`]); HTTP
/// field names and values cannot contain these control characters.
const FIELD: char = '\u{1}';
const NAME_END: char = '\u{0}';
const ITEM: char = '\u{2}';

impl VaryKey {
    /// Decodes the variant key the JS shell builds from undici's `vary`
    /// object: fields sorted by name, joined by U+0001; each is the name, U+0000,
    /// then `n` (absent), `s` + value, `e` (empty list) or `a` + values joined
    /// by U+0002. The empty string is "no Vary".
    pub fn decode(encoded: &str) -> Option<VaryKey> {
        if encoded.is_empty() {
            return Some(VaryKey::default());
        }
        let mut fields = Vec::new();
        for field in encoded.split(FIELD) {
            let (name, value) = field.split_once(NAME_END)?;
            let mut chars = value.chars();
            let value = match chars.next()? {
                // `n` and `e` end the field: anything after them is not the
                // shell's encoding (and would decode two keys alike).
                'n' if chars.as_str().is_empty() => HeaderValue::Absent,
                's' => HeaderValue::One(chars.as_str().into()),
                'e' if chars.as_str().is_empty() => HeaderValue::Many(Box::new([])),
                'a' => HeaderValue::Many(chars.as_str().split(ITEM).map(Into::into).collect()),
                _ => return None,
            };
            fields.push((name.into(), value));
        }
        Some(VaryKey(fields))
    }

    // RFC 9111 §4.1: a stored response can be used only if every header field
    // nominated by its Vary matches in the original and the presented request.
    /// The encoding [`VaryKey::decode`] reads (fields in this key's order).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(FIELD);
            }
            out.push_str(name);
            out.push(NAME_END);
            match value {
                HeaderValue::Absent | HeaderValue::Invalid => out.push('n'),
                HeaderValue::One(v) => {
                    out.push('s');
                    out.push_str(v);
                }
                HeaderValue::Many(items) if items.is_empty() => out.push('e'),
                HeaderValue::Many(items) => {
                    out.push('a');
                    for (j, item) in items.iter().enumerate() {
                        if j > 0 {
                            out.push(ITEM);
                        }
                        out.push_str(item);
                    }
                }
            }
        }
        out
    }

    pub fn matches<H: RequestHeaders + ?Sized>(&self, request: &mut H) -> bool {
        self.0
            .iter()
            .all(|(name, stored)| request.header(name).matches(stored))
    }

    pub fn heap_size(&self) -> usize {
        self.0
            .iter()
            .map(|(n, v)| n.len() + v.heap_size() + 32)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> HeaderValue {
        HeaderValue::One(s.into())
    }

    #[test]
    fn absent_matches_only_absent() {
        let key = VaryKey(vec![("accept-encoding".into(), HeaderValue::Absent)]);
        let mut without: &[(&str, HeaderValue)] = &[];
        assert!(key.matches(&mut without));
        let mut with: &[(&str, HeaderValue)] = &[("accept-encoding", one("gzip"))];
        assert!(!key.matches(&mut with));
    }

    #[test]
    fn strings_and_lists_compare_strictly() {
        let key = VaryKey(vec![("a".into(), one("x"))]);
        let mut same: &[(&str, HeaderValue)] = &[("a", one("x"))];
        assert!(key.matches(&mut same));
        let mut other: &[(&str, HeaderValue)] = &[("a", one("y"))];
        assert!(!key.matches(&mut other));
        let list = HeaderValue::Many(vec!["x".into()].into_boxed_slice());
        let mut listed: &[(&str, HeaderValue)] = &[("a", list.clone())];
        assert!(!key.matches(&mut listed));
        let key = VaryKey(vec![("a".into(), list)]);
        assert!(key.matches(&mut listed));
        let mut invalid: &[(&str, HeaderValue)] = &[("a", HeaderValue::Invalid)];
        assert!(!key.matches(&mut invalid));
    }

    #[test]
    fn decodes_the_shell_encoding() {
        let key = VaryKey::decode("a\u{0}sx\u{1}b\u{0}n\u{1}c\u{0}ap\u{2}q\u{1}d\u{0}e").unwrap();
        assert_eq!(
            key.0,
            vec![
                ("a".into(), one("x")),
                ("b".into(), HeaderValue::Absent),
                (
                    "c".into(),
                    HeaderValue::Many(vec!["p".into(), "q".into()].into_boxed_slice())
                ),
                ("d".into(), HeaderValue::Many(Box::new([]))),
            ]
        );
        assert_eq!(VaryKey::decode(&key.encode()), Some(key));
        assert_eq!(VaryKey::decode(""), Some(VaryKey::default()));
        assert_eq!(VaryKey::decode("a"), None);
        assert_eq!(VaryKey::decode("a\u{0}z"), None);
        // Found by the `vary` fuzz target: trailing text after `n`/`e`.
        assert_eq!(VaryKey::decode("a\u{0}ex"), None);
        assert_eq!(VaryKey::decode("a\u{0}nx\u{1}b\u{0}n"), None);
    }

    #[test]
    fn empty_vary_matches_everything() {
        let key = VaryKey::default();
        let mut any: &[(&str, HeaderValue)] = &[("a", one("x"))];
        assert!(key.matches(&mut any));
    }
}
