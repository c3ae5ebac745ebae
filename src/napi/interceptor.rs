//! Bindings of `http::stored_response` for the cache interceptor
//! (`lib/interceptor*.js`).
//!
//! Same crossing shape as `cache_policy.rs`: numbers travel through this
//! thread's `policyIo()` slots, strings cross once per distinct value
//! (`interceptorDirectives`, memoized by the JS shell as numbers). A cache
//! hit costs one call with numbers only (`interceptorUse`).

use napi_derive::napi;

use super::cache_policy::with_io;
use super::wire::interceptor::{
    arrival, arrive as arrive_in, directives as directive_out, flags as f, presentation,
    USE_STALE_IF_ERROR,
};
use crate::http::policy::Validators;
use crate::http::range::{answer_range, if_range_holds, RangeAnswer};
use crate::http::stored_response::{
    age_seconds, arrive, date_ms, head_updates, not_modified_selects, presented_use, vary_fields,
    within_stale_if_error, Arrival, CacheDirectives, HeadFields, Presentation, Use, KEPT_ON_UPDATE,
    NOT_STORED,
};

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

/// Parses a Cache-Control value into the `wire::interceptor::directives`
/// slots (NaN: absent). Returns the qualified no-cache and private field names as
/// `noCache\0private` (comma-separated), or null when there are none.
#[napi(catch_unwind)]
pub fn interceptor_directives(value: String) -> Option<String> {
    let d = CacheDirectives::parse(&value);
    with_io(|io| {
        io[directive_out::BITS] = f64::from(d.bits);
        io[directive_out::MAX_AGE] = d.max_age;
        io[directive_out::S_MAXAGE] = d.s_maxage;
        io[directive_out::STALE_WHILE_REVALIDATE] = d.stale_while_revalidate;
        io[directive_out::STALE_IF_ERROR] = d.stale_if_error;
        io[directive_out::MIN_FRESH] = d.min_fresh;
        io[directive_out::MAX_STALE] = d.max_stale;
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

/// The storage decision for an arriving response. In: the
/// `wire::interceptor::arrive` slots, and `dates` =
/// `expires\0date\0last-modified\0age`. Out: the
/// `wire::interceptor::arrival` slots.
#[napi(catch_unwind)]
pub fn interceptor_arrive(dates: String) {
    let mut parts = dates.split('\0');
    let expires = parts.next().unwrap_or("");
    let date = parts.next().unwrap_or("");
    let last_modified = parts.next().unwrap_or("");
    let age = parts.next().unwrap_or("");
    with_io(|io| {
        let flags = io[arrive_in::FLAGS] as u32;
        let request = directives_from(io[arrive_in::REQUEST_BITS], [f64::NAN; 6]);
        let response = directives_from(
            io[arrive_in::RESPONSE_BITS],
            [
                io[arrive_in::MAX_AGE],
                io[arrive_in::S_MAXAGE],
                io[arrive_in::STALE_WHILE_REVALIDATE],
                io[arrive_in::STALE_IF_ERROR],
                f64::NAN,
                f64::NAN,
            ],
        );
        let status = io[arrive_in::STATUS];
        let x = Arrival {
            status: if (0.0..=999.0).contains(&status) {
                status as u16
            } else {
                0
            },
            method_cacheable: flags & f::METHOD_CACHEABLE != 0,
            shared: flags & f::SHARED != 0,
            request_authorization: flags & f::AUTHORIZATION != 0,
            request: &request,
            response: &response,
            expires: (flags & f::EXPIRES_PRESENT != 0).then(|| date_ms(expires)),
            date: date_ms(date),
            last_modified: date_ms(last_modified),
            age: if age.is_empty() {
                f64::NAN
            } else {
                age_seconds(age)
            },
            vary_star: flags & f::VARY_STAR != 0,
            set_cookie_kept: flags & f::SET_COOKIE_KEPT != 0,
            has_validator: flags & f::HAS_VALIDATOR != 0,
            cache_by_default: io[arrive_in::CACHE_BY_DEFAULT],
            request_time: io[arrive_in::REQUEST_TIME],
            response_time: io[arrive_in::RESPONSE_TIME],
        };
        let s = arrive(&x);
        io[arrival::STORABLE] = f64::from(u8::from(s.storable));
        io[arrival::LIFETIME] = s.lifetime;
        io[arrival::INITIAL_AGE] = s.initial_age;
    });
}

/// How a stored response may serve a request. In: the
/// `wire::interceptor::presentation` slots. Returns the `Use` code, with
/// `USE_STALE_IF_ERROR` or-ed in when stale-if-error applies.
#[napi(catch_unwind)]
pub fn interceptor_use() -> u32 {
    with_io(|io| {
        use presentation as slot;
        let flags = io[slot::FLAGS] as u32;
        let response = directives_from(
            io[slot::RESPONSE_BITS],
            [
                f64::NAN,
                f64::NAN,
                io[slot::RESPONSE_STALE_WHILE_REVALIDATE],
                io[slot::RESPONSE_STALE_IF_ERROR],
                f64::NAN,
                f64::NAN,
            ],
        );
        let request = directives_from(
            io[slot::REQUEST_BITS],
            [
                io[slot::REQUEST_MAX_AGE],
                f64::NAN,
                f64::NAN,
                io[slot::REQUEST_STALE_IF_ERROR],
                io[slot::REQUEST_MIN_FRESH],
                io[slot::REQUEST_MAX_STALE],
            ],
        );
        let p = Presentation {
            shared: flags & f::SHARED != 0,
            response: &response,
            request: &request,
            pragma_no_cache: flags & f::PRAGMA_NO_CACHE != 0,
            lifetime: io[slot::LIFETIME],
            age: io[slot::AGE],
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

/// The byte range a GET's `Range` (with its `If-Range`, if any) gets from a
/// stored complete 200 of `length` bytes: `[]` the whole response, `[first,
/// last]` a 206 of those bytes, `[-1]` a 416. Only requests with a Range cross.
#[napi(catch_unwind)]
pub fn interceptor_range(
    range: String,
    length: f64,
    if_range: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    date: Option<String>,
) -> Vec<f64> {
    if !(length.is_finite() && length >= 0.0) {
        return Vec::new();
    }
    if let Some(v) = if_range.as_deref() {
        if !if_range_holds(
            v,
            etag.as_deref(),
            last_modified.as_deref(),
            date.as_deref(),
        ) {
            return Vec::new();
        }
    }
    match answer_range(&range, length as u64) {
        RangeAnswer::Whole => Vec::new(),
        RangeAnswer::Part { first, last } => vec![first as f64, last as f64],
        RangeAnswer::Unsatisfiable => vec![-1.0],
    }
}

/// Whether a 200 to the cache's HEAD updates the stored GET response
/// (RFC 9111 §4.3.5): ETag, Last-Modified and Content-Length of the stored
/// response, then of the HEAD response.
#[napi(catch_unwind)]
pub fn interceptor_head_updates(
    stored_etag: Option<String>,
    stored_last_modified: Option<String>,
    stored_content_length: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    content_length: Option<String>,
) -> bool {
    head_updates(
        &HeadFields {
            etag: stored_etag.as_deref(),
            last_modified: stored_last_modified.as_deref(),
            content_length: stored_content_length.as_deref(),
        },
        &HeadFields {
            etag: etag.as_deref(),
            last_modified: last_modified.as_deref(),
            content_length: content_length.as_deref(),
        },
    )
}
