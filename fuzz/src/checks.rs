//! One function per fuzz target: it runs the public `ferrocache::http`
//! functions on input built from the fuzzer's bytes and panics when an
//! invariant breaks. Shared by the fuzz binaries (`fuzz/fuzz_targets/*.rs`)
//! and the regression replay (`tests/fuzz_regressions.rs`), so a saved input
//! is checked by the very code that found it.

use arbitrary::{Arbitrary, Unstructured};
use ferrocache::http::cache_control::{js_trim, CacheControl, Directive, Directives, Summary};
use ferrocache::http::date::parse_http_date;
use ferrocache::http::headers::{
    connection_tokens, drop_1xx_warnings, drop_weak_etags, is_dropped, is_weak,
};
use ferrocache::http::policy::{
    evaluate, is_understood, needs_dates, response_cache_control, response_directives,
    revalidation_matches, Exchange, Facts, HeaderValues, Method, Presented, Reuse, Validators,
};
use ferrocache::http::vary::{HeaderValue, RequestHeaders, VaryKey};
use std::time::{Duration, UNIX_EPOCH};

/// A target's body: runs on the fuzzer's bytes, panics when an invariant breaks.
pub type Check = fn(&[u8]);

/// The targets by name, for the regression replay.
pub const TARGETS: [(&str, Check); 5] = [
    ("cache_control", cache_control),
    ("http_date", http_date),
    ("vary", vary),
    ("policy", policy),
    ("stored_response", stored_response),
];

// ---------------------------------------------------------------- cache_control

/// Every field of two `Directives`, compared (the struct has no `PartialEq`).
fn same_directives(a: &Directives, b: &Directives) -> bool {
    fn fields<'a>(d: &Directives<'a>) -> [Directive<'a>; 15] {
        [
            d.public,
            d.private,
            d.no_store,
            d.no_cache,
            d.max_age,
            d.s_maxage,
            d.must_revalidate,
            d.proxy_revalidate,
            d.immutable,
            d.stale_while_revalidate,
            d.stale_if_error,
            d.min_fresh,
            d.max_stale,
            d.pre_check,
            d.post_check,
        ]
    }
    fields(a).iter().zip(fields(b).iter()).all(|(x, y)| x == y)
}

/// `(key, value)` pairs of parsed directives, sorted (NUL-free input only).
fn entry_set(cc: &CacheControl) -> Vec<(String, Option<String>)> {
    let mut out: Vec<_> = cc
        .to_entries()
        .split_terminator('\0')
        .map(|e| match e.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (e.to_owned(), None),
        })
        .collect();
    out.sort();
    out
}

fn check_summary(s: &Summary) {
    // toNumberOrZero: parseInt's value when finite, else 0. Negative values
    // stay negative, as in http-cache-semantics (the policy's rules handle them).
    for n in [
        s.max_age,
        s.s_maxage,
        s.stale_while_revalidate,
        s.stale_if_error,
    ] {
        assert!(n.is_finite() && n == n.trunc(), "not an integer: {n}");
    }
    assert!(s.bits < 1024, "unknown bits {:#x}", s.bits);
}

/// Cache-Control parsing: the one-pass scan agrees with the full parse, the
/// parse is deterministic, numbers are finite integers, the NUL-packed
/// `to_entries`/`from_entries` form round-trips (NUL is rejected before it
/// gets here), `format()` re-parses to the same directives where the value
/// survives formatting, and the cargo-cult rewrite removes what it must.
pub fn cache_control(data: &[u8]) {
    let header = String::from_utf8_lossy(data);
    let header: &str = &header;

    let cc = CacheControl::parse(header);
    assert_eq!(
        cc,
        CacheControl::parse(header),
        "parse is not deterministic"
    );
    let full = cc.directives();
    let direct = Directives::parse(header);
    assert!(
        same_directives(&full, &direct),
        "one-pass scan differs from full parse: {full:?} vs {direct:?}"
    );
    let summary = direct.summary();
    assert_eq!(summary, full.summary());
    check_summary(&summary);
    assert_eq!(cc.is_empty(), cc.format().is_none());
    assert!(!cc.has("__proto__"));
    for key in ["max-age", "s-maxage", "stale-if-error", "no-cache"] {
        let n = cc.number_or_zero(key);
        assert!(n.is_finite());
        assert_eq!(cc.truthy(key), Directive(cc.get(key)).truthy());
    }

    if !header.contains('\0') {
        let packed = cc.to_entries();
        assert_eq!(
            CacheControl::from_entries(&packed),
            cc,
            "entries round trip"
        );
        // format() writes `k` / `k=v`; values that parsing would change again
        // (surrounding space or quotes left after one strip) are excluded.
        let survives = entry_set(&cc).iter().all(|(_, v)| {
            v.as_deref()
                .is_none_or(|v| js_trim(v) == v && !v.starts_with('"') && !v.ends_with('"'))
        });
        // (An all-empty format re-parses as no directives, as `""` does in JS.)
        if let (true, Some(formatted)) = (survives, cc.format().filter(|f| !f.is_empty())) {
            let again = CacheControl::parse(&formatted);
            assert_eq!(
                entry_set(&again),
                entry_set(&cc),
                "format {formatted:?} re-parses differently"
            );
        }
    }

    for (pragma, ignore) in [("", true), ("no-cache", false), ("no-cache", true)] {
        for present in [Some(header), None] {
            let (full, rewritten) = response_cache_control(present, pragma, ignore);
            let (direct, rewritten2) = response_directives(present, pragma, ignore);
            assert_eq!(rewritten, rewritten2);
            assert!(same_directives(&full.directives(), &direct));
            if rewritten.is_some() {
                for k in [
                    "pre-check",
                    "post-check",
                    "no-cache",
                    "no-store",
                    "must-revalidate",
                ] {
                    assert!(!full.has(k), "{k} kept by ignoreCargoCult");
                }
            }
        }
    }
}

// -------------------------------------------------------------------- http_date

/// HTTP-date parsing: results are whole seconds; surrounding spaces do not
/// change the result (which also compares the byte-position fast path for
/// IMF-fixdate with the general parser); every date the `httpdate` crate
/// parses, we parse to the same instant; and `httpdate`'s IMF-fixdate and
/// our parse round-trip for the instants it can format.
pub fn http_date(data: &[u8]) {
    if data.len() >= 8 && data[0] == b'#' {
        // A number of seconds: format it and parse it back.
        let secs = u64::from_le_bytes(data[..8].try_into().unwrap()) % 253_402_300_800;
        let t = UNIX_EPOCH + Duration::from_secs(secs);
        let text = httpdate::fmt_http_date(t);
        assert_eq!(
            parse_http_date(&text),
            Some(secs as f64 * 1000.0),
            "round trip of {text}"
        );
    }
    let s = String::from_utf8_lossy(data);
    let s: &str = &s;
    let parsed = parse_http_date(s);
    if let Some(ms) = parsed {
        assert!(ms.is_finite() && ms % 1000.0 == 0.0, "{s:?} -> {ms}");
        // Four-digit years at most: 0000-01-01 .. 9999-12-31 (+ day overflow to 31).
        assert!((-62_167_219_200_000.0..=253_402_387_199_000.0).contains(&ms));
    }
    // The fast path needs exactly 29 bytes starting with a letter, so a padded
    // copy always takes the general path.
    assert_eq!(parse_http_date(&format!(" {s}")), parsed, "{s:?} padded");
    assert_eq!(parse_http_date(&format!("{s}\t")), parsed, "{s:?} padded");
    // `httpdate` is laxer (it takes leading newlines, `06-Nov-88208:49:37`):
    // where both parse they agree, and its own IMF-fixdates we must parse.
    if let Ok(t) = httpdate::parse_http_date(s) {
        let ms = t.duration_since(UNIX_EPOCH).unwrap().as_millis() as f64;
        if httpdate::fmt_http_date(t) == s {
            assert_eq!(parsed, Some(ms), "httpdate's own {s:?}");
        }
        if let Some(ours) = parsed {
            // rfc850-date's two-digit year: we read 00-49 as 20xx and 50-99 as
            // 19xx (V8's Date.parse, which http-cache-semantics relies on);
            // httpdate pivots at 70. Only a century apart is allowed.
            let century = (ours - ms).abs() / (86_400_000.0 * 365.2425);
            let pivot = s.contains('-') && (99.9..100.1).contains(&century);
            assert!(
                ours == ms || pivot,
                "httpdate parses {s:?} as {ms}, we as {ours}"
            );
        }
    }
}

// ------------------------------------------------------------------------- vary

/// Request headers from the fuzzer: names from a small set (so that Vary
/// names and request names meet), values arbitrary.
#[derive(Debug, Arbitrary)]
enum Value<'a> {
    Absent,
    One(&'a str),
    Many(Vec<&'a str>),
    Invalid,
}

impl Value<'_> {
    fn header(&self) -> HeaderValue {
        match self {
            Value::Absent => HeaderValue::Absent,
            Value::One(s) => HeaderValue::One((*s).into()),
            Value::Many(v) => HeaderValue::Many(v.iter().map(|s| (*s).into()).collect()),
            Value::Invalid => HeaderValue::Invalid,
        }
    }
}

const NAMES: [&str; 6] = ["accept", "accept-encoding", "cookie", "", "x-a", "x-b"];

#[derive(Debug, Arbitrary)]
struct VaryInput<'a> {
    /// Names the response varies on (index into NAMES, or any string).
    vary: Vec<Result<u8, &'a str>>,
    /// The request the response was stored for.
    stored: Vec<(u8, Value<'a>)>,
    /// Another request.
    other: Vec<(u8, Value<'a>)>,
    /// Arbitrary encoded keys to decode.
    encoded: &'a str,
}

fn name<'a>(choice: &Result<u8, &'a str>) -> &'a str {
    match choice {
        Ok(i) => NAMES[*i as usize % NAMES.len()],
        Err(s) => s,
    }
}

fn headers<'a>(list: &'a [(u8, Value<'a>)]) -> Vec<(&'a str, HeaderValue)> {
    list.iter()
        .map(|(i, v)| (NAMES[*i as usize % NAMES.len()], v.header()))
        .collect()
}

/// Whether the encoding can carry this key (the JS shell rejects names and
/// values holding its separators, U+0000..U+0002, before a key is built).
fn encodable(key: &VaryKey) -> bool {
    let clean = |s: &str| !s.contains(['\u{0}', '\u{1}', '\u{2}']);
    key.0.iter().all(|(n, v)| {
        clean(n)
            && match v {
                HeaderValue::One(s) => clean(s),
                HeaderValue::Many(items) => items.iter().all(|s| clean(s)),
                _ => true,
            }
    })
}

/// Vary matching: a key recorded from a request matches that request (unless
/// one of its values is of a type no stored value equals), and still does
/// after an encode/decode round trip; decode is the inverse of encode on the
/// keys the shell builds; decoding arbitrary text never panics, and what it
/// decodes encodes back to the same text; matching is consistent with
/// `HeaderValue::matches`.
pub fn vary(data: &[u8]) {
    let Ok(input) = VaryInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let stored = headers(&input.stored);
    let other = headers(&input.other);
    let mut names: Vec<&str> = input.vary.iter().map(name).collect();
    names.sort_unstable();
    names.dedup();
    // What a store records: the stored request's value of each Vary'd name.
    let mut reader: &[(&str, HeaderValue)] = &stored;
    let key = VaryKey(
        names
            .iter()
            .map(|n| ((*n).into(), reader.header(n)))
            .collect(),
    );
    let invalid = key.0.iter().any(|(_, v)| *v == HeaderValue::Invalid);
    let mut request: &[(&str, HeaderValue)] = &stored;
    assert_eq!(key.matches(&mut request), !invalid, "own request: {key:?}");

    let mut other_request: &[(&str, HeaderValue)] = &other;
    let expected = key
        .0
        .iter()
        .all(|(n, v)| other_request.header(n).matches(v));
    assert_eq!(key.matches(&mut other_request), expected);

    if encodable(&key) {
        let encoded = key.encode();
        let decoded = VaryKey::decode(&encoded).expect("decode of encode");
        // `Invalid` is recorded as absent (the shell stores `null`).
        let mut normalised = key.clone();
        for (_, v) in &mut normalised.0 {
            if *v == HeaderValue::Invalid {
                *v = HeaderValue::Absent;
            }
        }
        assert_eq!(decoded, normalised, "round trip of {encoded:?}");
        let mut request: &[(&str, HeaderValue)] = &stored;
        assert_eq!(decoded.matches(&mut request), !invalid);
        assert_eq!(decoded.heap_size(), key.heap_size());
    }

    if let Some(decoded) = VaryKey::decode(input.encoded) {
        assert_eq!(decoded.encode(), input.encoded, "decode is not canonical");
        let mut request: &[(&str, HeaderValue)] = &other;
        let _ = decoded.matches(&mut request);
    }
}

// ----------------------------------------------------------------------- policy

/// A header value: arbitrary text, or an HTTP-date the fuzzer would rarely
/// spell by chance.
#[derive(Debug, Arbitrary)]
enum Field<'a> {
    Absent,
    Text(&'a str),
    /// Seconds since the epoch, formatted as IMF-fixdate.
    Date(u32),
}

impl Field<'_> {
    fn value(&self) -> String {
        match self {
            Field::Absent => String::new(),
            Field::Text(s) => (*s).to_owned(),
            Field::Date(secs) => {
                httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(u64::from(*secs)))
            }
        }
    }
}

const STATUSES: [u16; 8] = [200, 203, 204, 206, 301, 304, 404, 500];
const CACHE_CONTROLS: [&str; 8] = [
    "public, max-age=300, stale-while-revalidate=60",
    "max-age=0, must-revalidate",
    "no-store",
    "private, s-maxage=10",
    "immutable",
    "pre-check=0, post-check=0, no-cache, max-age=5",
    "stale-if-error=100, max-age=-5",
    "no-cache",
];

#[derive(Debug, Arbitrary)]
enum Text<'a> {
    Common(u8),
    Any(&'a str),
}

impl<'a> Text<'a> {
    fn get(&self) -> &'a str {
        match self {
            Text::Common(i) => CACHE_CONTROLS[*i as usize % CACHE_CONTROLS.len()],
            Text::Any(s) => s,
        }
    }
}

#[derive(Debug, Arbitrary)]
struct PolicyInput<'a> {
    status: Result<u8, u16>,
    method: u8,
    shared: bool,
    authorization: bool,
    set_cookie: bool,
    vary_star: bool,
    ignore_cargo_cult: bool,
    response_cc: Option<Text<'a>>,
    response_pragma: &'a str,
    request_cc: Text<'a>,
    request_pragma: &'a str,
    expires: Field<'a>,
    date: Field<'a>,
    last_modified: Field<'a>,
    age: &'a str,
    /// Per mille (the option is a fraction; http-cache-semantics' default is 0.1).
    cache_heuristic: u16,
    /// Milliseconds (compared with seconds, as the package does).
    immutable_min_ttl: u32,
    /// Seconds since the epoch.
    response_time: u32,
    /// Offsets of `now` from the response time, in ms, in any order.
    nows: Vec<i32>,
    request_matches: bool,
    stored: (Option<&'a str>, Option<Field<'a>>),
    revalidated: (Option<&'a str>, Option<Field<'a>>),
    not_modified: bool,
    connection: &'a str,
    warning: &'a str,
    if_none_match: &'a str,
}

/// The whole policy, composed as `src/napi/cache_policy.rs#new_policy` does
/// (general path), checked against the numbers-only path the JS shell takes
/// for plain exchanges, and then every clock-dependent rule at several times.
pub fn policy(data: &[u8]) {
    let Ok(input) = PolicyInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let status = match input.status {
        Ok(i) => STATUSES[i as usize % STATUSES.len()],
        Err(s) => s,
    };
    let method = Method::from_code(u32::from(input.method % 5));
    let response_cc = input.response_cc.as_ref().map(Text::get);
    let request_cc = input.request_cc.get();
    let (expires, date, last_modified) = (
        input.expires.value(),
        input.date.value(),
        input.last_modified.value(),
    );
    let response_time = f64::from(input.response_time) * 1000.0;

    // The constructor (policyNew).
    let (directives, rewritten) =
        response_directives(response_cc, input.response_pragma, input.ignore_cargo_cult);
    let request_no_store = Directives::parse(request_cc).no_store.truthy();
    let expires = if rewritten.is_some() { "" } else { &expires };
    let x = Exchange {
        status: f64::from(status),
        method,
        shared: input.shared,
        no_authorization: !input.authorization,
        set_cookie: input.set_cookie,
        vary_star: input.vary_star,
        request_no_store,
        cache_heuristic: f64::from(input.cache_heuristic) / 1000.0,
        immutable_min_ttl: f64::from(input.immutable_min_ttl),
        response_time,
        directives: directives.summary(),
        headers: HeaderValues::parse(expires, &date, &last_modified, input.age),
    };
    let facts = Facts::of(&x);
    assert_eq!(facts, Facts::of(&x), "Facts::of is not deterministic");
    check_summary(&x.directives);

    // The full parse (kept for toObject) gives the same summary.
    let (full, rewritten2) =
        response_cache_control(response_cc, input.response_pragma, input.ignore_cargo_cult);
    assert_eq!(rewritten, rewritten2);
    assert_eq!(full.directives().summary(), x.directives);
    // toObject/fromObject carry rescc as NUL-packed entries (NUL in a header
    // value is a TypeError before this point).
    if !response_cc.unwrap_or("").contains('\0') {
        let packed = full.to_entries();
        let restored = CacheControl::from_entries(&packed);
        assert_eq!(restored.directives().summary(), x.directives);
    }

    // Storability.
    if facts.storable {
        assert!(is_understood(x.status), "stored status {status}");
        assert!(method != Method::Other && !request_no_store);
        assert!(!x.directives.has(Summary::NO_STORE));
        assert!(!(x.shared && x.directives.has(Summary::PRIVATE)));
    } else {
        assert_eq!(facts.max_age, 0.0, "non-storable with a lifetime");
    }
    assert!(facts.max_age.is_finite(), "maxAge {}", facts.max_age);
    assert!(facts.date.is_finite());

    // Dates matter only when needs_dates says so (the JS shell then skips
    // parsing them, passing only whether Expires is present).
    if !needs_dates(&x) {
        let mut undated = x.clone();
        undated.headers = HeaderValues {
            expires: x.headers.expires.map(|_| f64::NAN),
            date: f64::NAN,
            last_modified: f64::NAN,
            age: x.headers.age,
        };
        let f = Facts::of(&undated);
        assert_eq!(
            (f.storable, f.max_age, f.must_revalidate),
            (facts.storable, facts.max_age, facts.must_revalidate)
        );
    }

    // Clock-dependent rules, in time order.
    let mut nows: Vec<f64> = input
        .nows
        .iter()
        .take(16)
        .map(|&d| response_time + f64::from(d))
        .collect();
    nows.push(response_time);
    nows.sort_by(f64::total_cmp);
    let presented = Presented {
        matches: input.request_matches,
        cache_control: request_cc,
        pragma: input.request_pragma,
    };
    let req_directives = Directives::parse(request_cc);
    let mut previous: Option<(f64, f64, bool)> = None;
    for &now in &nows {
        let age = facts.age(now);
        let ttl = facts.time_to_live(now);
        let stale = facts.stale(now);
        assert!(age.is_finite());
        assert!(ttl >= 0.0 && ttl.is_finite(), "ttl {ttl} at {now}");
        if let Some((prev_age, prev_ttl, prev_stale)) = previous {
            assert!(age >= prev_age, "age went back");
            assert!(ttl <= prev_ttl, "ttl grew from {prev_ttl} to {ttl}");
            assert!(!prev_stale || stale, "fresh again after stale");
        }
        previous = Some((age, ttl, stale));
        let _ = facts.use_stale_if_error(now);
        let _ = facts.heuristic_warning(now);

        let reuse = evaluate(&facts, &presented, now);
        if !presented.matches || facts.must_revalidate {
            assert_eq!(reuse, Reuse::Miss);
        }
        match reuse {
            Reuse::StaleWhileRevalidate => {
                assert!(stale && facts.use_stale_while_revalidate(now));
            }
            Reuse::Fresh if req_directives.max_stale.0.is_none() => {
                assert!(!stale, "stale response served without max-stale");
                // http-cache-semantics does not check storable() here either;
                // a non-storable response has no lifetime, so only a negative
                // Age makes it fresh.
                assert!(facts.storable || age < 0.0, "non-storable served");
            }
            _ => {}
        }
    }

    // Revalidation.
    let (stored_etag, stored_lm) = (input.stored.0, input.stored.1.as_ref().map(Field::value));
    let (new_etag, new_lm) = (
        input.revalidated.0,
        input.revalidated.1.as_ref().map(Field::value),
    );
    let stored = Validators {
        etag: stored_etag,
        last_modified: stored_lm.as_deref(),
    };
    let new = Validators {
        etag: new_etag,
        last_modified: new_lm.as_deref(),
    };
    let selected = revalidation_matches(input.not_modified, &stored, &new);
    assert!(input.not_modified || !selected);
    assert!(
        revalidation_matches(true, &stored, &stored),
        "own validators"
    );
    if let (Some(n), Some(s)) = (new_etag, stored_etag) {
        if selected && !is_weak(n) {
            assert!(s.ends_with(n));
        }
    }

    // Header rules used by responseHeaders() and revalidationHeaders().
    let tokens = connection_tokens(input.connection);
    for t in &tokens {
        assert_eq!(js_trim(t), *t);
        assert!(is_dropped(t, &tokens));
    }
    if let Some(w) = drop_1xx_warnings(input.warning) {
        assert_eq!(drop_1xx_warnings(&w).as_deref(), Some(w.as_str()));
    }
    if let Some(e) = drop_weak_etags(input.if_none_match) {
        assert!(e.split(',').all(|t| !is_weak(t)));
        assert_eq!(drop_weak_etags(&e).as_deref(), Some(e.as_str()));
    }
}

// ---------------------------------------------------------------- stored_response

/// The cache interceptor's header path (`http::stored_response`): hostile
/// Cache-Control (response and request), Vary, Age and dates from either side.
/// Never panics; numbers stay in range; decisions respect the directives that
/// forbid reuse.
pub fn stored_response(data: &[u8]) {
    use ferrocache::http::stored_response::{
        age_seconds, arrive, bit, date_ms, list_members, presented_use, vary_fields,
        within_stale_if_error, Arrival, CacheDirectives, Presentation, Use, DELTA_SECONDS_MAX,
    };
    let mut u = Unstructured::new(data);
    let mut text = || -> String {
        let len = u.int_in_range(0..=64usize).unwrap_or(0);
        let bytes = u.bytes(len).unwrap_or(&[]);
        String::from_utf8_lossy(bytes).into_owned()
    };
    let (res_cc, req_cc, vary, age, date, expires) =
        (text(), text(), text(), text(), text(), text());
    let (range, if_range) = (text(), text());
    ranges(&range, &if_range, &age, &date);
    let res = CacheDirectives::parse(&res_cc);
    let req = CacheDirectives::parse(&req_cc);
    for d in [&res, &req] {
        for v in [
            d.max_age,
            d.s_maxage,
            d.stale_while_revalidate,
            d.stale_if_error,
            d.min_fresh,
            d.max_stale,
        ] {
            assert!(v.is_nan() || (0.0..=DELTA_SECONDS_MAX).contains(&v), "{v}");
        }
        assert!(!(d.has(bit::MAX_AGE) && d.has(bit::MAX_AGE_INVALID)));
        assert!(!(d.has(bit::S_MAXAGE) && d.has(bit::S_MAXAGE_INVALID)));
        assert_eq!(d.has(bit::MAX_AGE), d.max_age.is_finite());
    }
    for m in list_members(&res_cc) {
        assert!(!m.is_empty() && !m.starts_with([' ', '\t']) && !m.ends_with([' ', '\t']));
    }
    if let Some(fields) = vary_fields(&vary) {
        for f in &fields {
            assert!(
                f == "*"
                    || (!f.is_empty()
                        && f.bytes()
                            .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase()))
            );
        }
    }
    let a = age_seconds(&age);
    assert!(a.is_nan() || (0.0..=DELTA_SECONDS_MAX).contains(&a));
    let now = 1_700_000_000_000.0;
    for shared in [true, false] {
        let x = Arrival {
            status: 200,
            method_cacheable: true,
            shared,
            request_authorization: data.first().is_some_and(|b| b & 1 == 1),
            request: &req,
            response: &res,
            expires: (!expires.is_empty()).then(|| date_ms(&expires)),
            date: date_ms(&date),
            last_modified: f64::NAN,
            age: if age.is_empty() { f64::NAN } else { a },
            vary_star: vary_fields(&vary).is_none_or(|f| f.first().is_some_and(|x| x == "*")),
            set_cookie_kept: data.len().is_multiple_of(3),
            has_validator: data.len().is_multiple_of(2),
            cache_by_default: f64::NAN,
            request_time: now,
            response_time: now,
        };
        let s = arrive(&x);
        assert!(s.lifetime.is_finite() && s.lifetime >= 0.0, "{s:?}");
        assert!(s.initial_age.is_finite() && s.initial_age >= 0.0, "{s:?}");
        if req.has(bit::NO_STORE) || (shared && res.has(bit::PRIVATE)) || x.vary_star {
            assert!(!s.storable);
        }
        for age in [
            0.0,
            s.lifetime / 2.0,
            s.lifetime,
            s.lifetime + 1.0,
            s.lifetime + 1e6,
        ] {
            let p = Presentation {
                shared,
                response: &res,
                request: &req,
                pragma_no_cache: false,
                lifetime: s.lifetime,
                age,
            };
            let usage = presented_use(&p);
            if req.has(bit::NO_CACHE) || res.has(bit::NO_CACHE) {
                assert!(matches!(usage, Use::Revalidate | Use::GatewayTimeout));
            }
            let forbids = res.has(bit::MUST_REVALIDATE)
                || (shared && res.has(bit::PROXY_REVALIDATE | bit::S_MAXAGE));
            if age >= s.lifetime && forbids {
                assert!(matches!(usage, Use::Revalidate | Use::GatewayTimeout));
                assert!(!within_stale_if_error(&p));
            }
        }
    }
}

/// The interceptor's Range / If-Range / HEAD rules on arbitrary field values
/// (src/http/range.rs, `head_updates`): never a panic, and a part always lies
/// within the stored length.
fn ranges(range: &str, if_range: &str, etag: &str, date: &str) {
    use ferrocache::http::range::{answer_range, if_range_holds, RangeAnswer};
    use ferrocache::http::stored_response::{head_updates, HeadFields};
    for length in [0u64, 1, 11, 1 << 40, u64::MAX] {
        match answer_range(range, length) {
            RangeAnswer::Part { first, last } => {
                assert!(
                    first <= last && last < length,
                    "{range:?} {length}: {first}-{last}"
                )
            }
            RangeAnswer::Whole | RangeAnswer::Unsatisfiable => {}
        }
    }
    let _ = if_range_holds(if_range, Some(etag), Some(date), Some(range));
    let fields = HeadFields {
        etag: Some(etag),
        last_modified: Some(date),
        content_length: Some(range),
    };
    // the same fields always describe themselves
    assert!(head_updates(&fields, &fields));
}
