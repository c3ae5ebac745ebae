//! Header-field rules a cache applies when it forwards or serves a message:
//! hop-by-hop fields (RFC 9110 §7.6.1), 1xx warnings (RFC 7234 §5.5, as
//! http-cache-semantics still applies them) and weak entity-tags (RFC 9110 §8.8.1).

use super::cache_control::{is_js_space, js_trim};

/// Fields a cache never forwards or serves as stored. `date` is listed
/// because the served response gets a fresh Date (as http-cache-semantics does).
// RFC 9110 §7.6.1: hop-by-hop fields (Connection, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade)
pub const HOP_BY_HOP: [&str; 9] = [
    "date",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Field names the Connection header lists (compared as written).
// RFC 9110 §7.6.1: a proxy removes every field named in Connection
pub fn connection_tokens(connection: &str) -> Vec<&str> {
    if connection.is_empty() {
        return Vec::new();
    }
    js_trim(connection).split(',').map(js_trim).collect()
}

/// Whether a field of this name is dropped when forwarding or serving.
pub fn is_dropped(name: &str, connection: &[&str]) -> bool {
    HOP_BY_HOP.contains(&name) || connection.contains(&name)
}

/// The Warning value with 1xx warnings removed, `None` if none remain.
// RFC 7234 §4.3.4 / §5.5: 1xx warn-codes describe freshness and must be deleted after validation
pub fn drop_1xx_warnings(warning: &str) -> Option<String> {
    let kept: Vec<&str> = warning
        .split(',')
        .filter(|w| {
            let b = w.trim_start_matches(is_js_space).as_bytes();
            !(b.len() >= 3 && b[0] == b'1' && b[1].is_ascii_digit() && b[2].is_ascii_digit())
        })
        .collect();
    if kept.is_empty() {
        None
    } else {
        Some(js_trim(&kept.join(",")).to_owned())
    }
}

/// Whether an entity-tag is weak (`W/` prefix, leading whitespace allowed).
// RFC 9110 §8.8.3: entity-tag = [ weak ] opaque-tag; weak = %s"W/"
pub fn is_weak(etag: &str) -> bool {
    etag.trim_start_matches(is_js_space).starts_with("W/")
}

/// The opaque tag, weakness indicator removed.
pub fn strip_weak(etag: &str) -> &str {
    let t = etag.trim_start_matches(is_js_space);
    t.strip_prefix("W/").unwrap_or(etag)
}

/// If-None-Match with weak tags removed, `None` if none remain.
// RFC 9110 §8.8.1: weak validators only in simple (non-subrange) GETs
pub fn drop_weak_etags(if_none_match: &str) -> Option<String> {
    let kept: Vec<&str> = if_none_match.split(',').filter(|e| !is_weak(e)).collect();
    if kept.is_empty() {
        None
    } else {
        Some(js_trim(&kept.join(",")).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_lists_fields_to_drop() {
        let tokens = connection_tokens(" keep-alive ,x-foo,  X-Bar ");
        assert_eq!(tokens, ["keep-alive", "x-foo", "X-Bar"]);
        assert!(is_dropped("x-foo", &tokens));
        assert!(!is_dropped("x-bar", &tokens));
        assert!(is_dropped("te", &[]));
        assert!(connection_tokens("").is_empty());
    }

    #[test]
    fn warnings_lose_1xx_codes() {
        assert_eq!(drop_1xx_warnings("110 - \"x\""), None);
        assert_eq!(
            drop_1xx_warnings("110 a, 299 b ,113 c").as_deref(),
            Some("299 b")
        );
        assert_eq!(drop_1xx_warnings("1xx").as_deref(), Some("1xx"));
    }

    #[test]
    fn weak_etags() {
        assert!(is_weak(" W/\"a\""));
        assert!(!is_weak("\"W/\""));
        assert_eq!(strip_weak(" W/\"a\""), "\"a\"");
        assert_eq!(strip_weak("\"a\""), "\"a\"");
        assert_eq!(drop_weak_etags("W/\"a\", \"b\"").as_deref(), Some("\"b\""));
        assert_eq!(drop_weak_etags("W/\"a\""), None);
    }
}
