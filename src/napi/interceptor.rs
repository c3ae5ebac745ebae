//! Bindings of `http::stored_response` for the cache interceptor
//! (`lib/interceptor*.js`).
//!
//! Same crossing shape as `cache_policy.rs`: numbers travel through this
//! thread's `policyIo()` slots, strings cross once per distinct value
//! (`interceptorDirectives`, memoized by the JS shell as numbers). A cache
//! hit costs one call with numbers only (`interceptorUse`).

use napi_derive::napi;

use super::cache_policy::with_io;
use crate::http::policy::Validators;
use crate::http::stored_response::{
    age_seconds, arrive, bit, date_ms, not_modified_selects, presented_use, vary_fields,
    within_stale_if_error, Arrival, CacheDirectives, Presentation, Use, KEPT_ON_UPDATE, NOT_STORED,
};

// Flags of interceptorArrive's io[1] and interceptorUse's io[0].
const F_METHOD_CACHEABLE: u32 = 1;
const F_SHARED: u32 = 2;
const F_AUTHORIZATION: u32 = 4;
const F_VARY_STAR: u32 = 8;
const F_HAS_VALIDATOR: u32 = 16;
const F_EXPIRES_PRESENT: u32 = 32;
const F_PRAGMA_NO_CACHE: u32 = 64;
const F_SET_COOKIE_KEPT: u32 = 128;

/// Bit set in interceptorUse's result when stale-if-error allows serving
/// the stored response if the revalidation fails.
const USE_STALE_IF_ERROR: u32 = 4;

fn directives_from(bits: f64, values: [f64; 6]) -> CacheDirectives {
    CacheDirectives {
        bits: bits as u32,
        max_age: values[0],
        s_maxage: values[1],
        stale_while_revalidate: values[2],
        stale_if_error: values[3],
        min_fresh: values[4],
        max_stale: values[5],
        no_cache_fields: Vec::new(),
        private_fields: Vec::new(),
    }
}

/// Parses a Cache-Control value: io[0] bits, io[1..7] max-age, s-maxage,
/// stale-while-revalidate, stale-if-error, min-fresh, max-stale (NaN:
/// absent). Returns the qualified no-cache and private field names as
/// `noCache\0private` (comma-separated), or null when there are none.
#[napi(catch_unwind)]
pub fn interceptor_directives(value: String) -> Option<String> {
    let d = CacheDirectives::parse(&value);
    with_io(|io| {
        io[0] = f64::from(d.bits);
        io[1] = d.max_age;
        io[2] = d.s_maxage;
        io[3] = d.stale_while_revalidate;
        io[4] = d.stale_if_error;
        io[5] = d.min_fresh;
        io[6] = d.max_stale;
    });
    if d.no_cache_fields.is_empty() && d.private_fields.is_empty() {
        None
    } else {
        Some(format!(
            "{}\0{}",
            d.no_cache_fields.join(","),
            d.private_fields.join(",")
        ))
    }
}

/// The storage decision for an arriving response. In: io[0] status, io[1]
/// flags, io[2] request bits, io[3] response bits, io[4..8] response
/// max-age, s-maxage, stale-while-revalidate, stale-if-error, io[8]
/// cacheByDefault (s, NaN: none), io[9] request time, io[10] response time;
/// `dates` = `expires\0date\0last-modified\0age`. Out: io[0] storable
/// (0/1), io[1] freshness lifetime (s), io[2] corrected initial age (s).
#[napi(catch_unwind)]
pub fn interceptor_arrive(dates: String) {
    let mut parts = dates.split('\0');
    let expires = parts.next().unwrap_or("");
    let date = parts.next().unwrap_or("");
    let last_modified = parts.next().unwrap_or("");
    let age = parts.next().unwrap_or("");
    with_io(|io| {
        let flags = io[1] as u32;
        let request = directives_from(io[2], [f64::NAN; 6]);
        let response = directives_from(io[3], [io[4], io[5], io[6], io[7], f64::NAN, f64::NAN]);
        let status = io[0];
        let x = Arrival {
            status: if (0.0..=999.0).contains(&status) {
                status as u16
            } else {
                0
            },
            method_cacheable: flags & F_METHOD_CACHEABLE != 0,
            shared: flags & F_SHARED != 0,
            request_authorization: flags & F_AUTHORIZATION != 0,
            request: &request,
            response: &response,
            expires: (flags & F_EXPIRES_PRESENT != 0).then(|| date_ms(expires)),
            date: date_ms(date),
            last_modified: date_ms(last_modified),
            age: if age.is_empty() {
                f64::NAN
            } else {
                age_seconds(age)
            },
            vary_star: flags & F_VARY_STAR != 0,
            set_cookie_kept: flags & F_SET_COOKIE_KEPT != 0,
            has_validator: flags & F_HAS_VALIDATOR != 0,
            cache_by_default: io[8],
            request_time: io[9],
            response_time: io[10],
        };
        let s = arrive(&x);
        io[0] = f64::from(u8::from(s.storable));
        io[1] = s.lifetime;
        io[2] = s.initial_age;
    });
}

/// How a stored response may serve a request. In: io[0] flags, io[1]
/// response bits, io[2] response stale-while-revalidate, io[3] response
/// stale-if-error, io[4] request bits, io[5..9] request max-age, min-fresh,
/// max-stale, stale-if-error, io[9] freshness lifetime (s), io[10] current
/// age (s). Returns the `Use` code, plus 4 when stale-if-error applies.
#[napi(catch_unwind)]
pub fn interceptor_use() -> u32 {
    with_io(|io| {
        let flags = io[0] as u32;
        let response = directives_from(
            io[1],
            [f64::NAN, f64::NAN, io[2], io[3], f64::NAN, f64::NAN],
        );
        let request = directives_from(io[4], [io[5], f64::NAN, f64::NAN, io[8], io[6], io[7]]);
        let p = Presentation {
            shared: flags & F_SHARED != 0,
            response: &response,
            request: &request,
            pragma_no_cache: flags & F_PRAGMA_NO_CACHE != 0,
            lifetime: io[9],
            age: io[10],
        };
        let decision: Use = presented_use(&p);
        let mut out = decision as u32;
        if within_stale_if_error(&p) {
            out |= USE_STALE_IF_ERROR;
        }
        out
    })
}

/// Whether a 304 to the cache's conditional request selects the stored
/// response (validators of the stored response, then of the 304).
#[napi(catch_unwind)]
pub fn interceptor_not_modified_selects(
    stored_etag: Option<String>,
    stored_last_modified: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
) -> bool {
    not_modified_selects(
        &Validators {
            etag: stored_etag.as_deref(),
            last_modified: stored_last_modified.as_deref(),
        },
        &Validators {
            etag: etag.as_deref(),
            last_modified: last_modified.as_deref(),
        },
    )
}

/// The Vary field names (lower-cased, comma-separated; `*` for a
/// wildcard), or null if the value is malformed.
#[napi(catch_unwind)]
pub fn interceptor_vary_fields(value: String) -> Option<String> {
    vary_fields(&value).map(|f| f.join(","))
}

/// `notStored\0keptOnUpdate`: the comma-separated field lists of RFC 9111
/// §3.1 and §3.2 the shell applies when storing and when merging a 304.
#[napi(catch_unwind)]
pub fn interceptor_field_rules() -> String {
    format!("{}\0{}", NOT_STORED.join(","), KEPT_ON_UPDATE.join(","))
}

/// The directive bits and io flags as `NAME=value,…`, so the JS shell
/// reads them from here instead of repeating them.
#[napi(catch_unwind)]
pub fn interceptor_constants() -> String {
    [
        ("F_METHOD_CACHEABLE", F_METHOD_CACHEABLE),
        ("F_SHARED", F_SHARED),
        ("F_AUTHORIZATION", F_AUTHORIZATION),
        ("F_VARY_STAR", F_VARY_STAR),
        ("F_HAS_VALIDATOR", F_HAS_VALIDATOR),
        ("F_EXPIRES_PRESENT", F_EXPIRES_PRESENT),
        ("F_PRAGMA_NO_CACHE", F_PRAGMA_NO_CACHE),
        ("F_SET_COOKIE_KEPT", F_SET_COOKIE_KEPT),
        ("USE_STALE_IF_ERROR", USE_STALE_IF_ERROR),
        ("NO_STORE", bit::NO_STORE),
        ("NO_CACHE", bit::NO_CACHE),
        ("NO_CACHE_FIELDS", bit::NO_CACHE_FIELDS),
        ("PRIVATE", bit::PRIVATE),
        ("PRIVATE_FIELDS", bit::PRIVATE_FIELDS),
        ("PUBLIC", bit::PUBLIC),
        ("MUST_REVALIDATE", bit::MUST_REVALIDATE),
        ("PROXY_REVALIDATE", bit::PROXY_REVALIDATE),
        ("IMMUTABLE", bit::IMMUTABLE),
        ("ONLY_IF_CACHED", bit::ONLY_IF_CACHED),
        ("MAX_AGE", bit::MAX_AGE),
        ("MAX_AGE_INVALID", bit::MAX_AGE_INVALID),
        ("S_MAXAGE", bit::S_MAXAGE),
        ("S_MAXAGE_INVALID", bit::S_MAXAGE_INVALID),
        ("MAX_STALE", bit::MAX_STALE),
        ("MIN_FRESH", bit::MIN_FRESH),
        ("MUST_UNDERSTAND", bit::MUST_UNDERSTAND),
        ("STALE_WHILE_REVALIDATE", bit::STALE_WHILE_REVALIDATE),
        ("STALE_IF_ERROR", bit::STALE_IF_ERROR),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={v}"))
    .collect::<Vec<_>>()
    .join(",")
}
