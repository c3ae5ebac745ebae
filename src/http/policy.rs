//! The CachePolicy engine: RFC 9111 storage, freshness and reuse rules with
//! the semantics of http-cache-semantics 4.3. Pure and deterministic: header
//! values come in as strings, time as `now` in ms; the JS shell keeps the
//! caller's objects and asks the engine only for decisions.
//!
//! Everything that does not depend on the clock (storability, freshness
//! lifetime, the Date used, the Age header value, ...) is computed once into
//! [`Facts`]; the clock-dependent rules are small functions over `Facts` and `now`.

use super::cache_control::{
    js_to_number, to_number_or_zero, CacheControl, Directive, Directives, Summary,
};
use super::date::parse_http_date;
use super::headers::{is_weak, strip_weak};

/// The request method as the rules distinguish it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    /// Any other method, or none (`method: undefined`).
    Other,
}

impl Method {
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => Method::Get,
            1 => Method::Head,
            2 => Method::Post,
            _ => Method::Other,
        }
    }
}

/// What the policy is built from: the response (and the request it answers),
/// its header values already parsed (see [`HeaderValues::parse`]).
#[derive(Debug, Clone)]
pub struct Exchange {
    pub status: f64,
    pub method: Method,
    pub shared: bool,
    pub no_authorization: bool,
    /// `Set-Cookie` present.
    pub set_cookie: bool,
    /// `Vary` is exactly `*`.
    pub vary_star: bool,
    pub request_no_store: bool,
    pub cache_heuristic: f64,
    /// In ms, compared with seconds as http-cache-semantics does.
    pub immutable_min_ttl: f64,
    pub response_time: f64,
    pub directives: Summary,
    pub headers: HeaderValues,
}

/// The response's date and age fields as numbers.
#[derive(Debug, Clone, Copy)]
pub struct HeaderValues {
    /// `None` when Expires is absent (or falsy); `Some(NaN)` when not a date.
    pub expires: Option<f64>,
    /// Date in ms, NaN when absent or invalid.
    pub date: f64,
    /// Last-Modified in ms, NaN when absent or invalid.
    pub last_modified: f64,
    /// The Age header's value in seconds (`toNumberOrZero`).
    pub age: f64,
}

impl HeaderValues {
    /// From the header strings (empty = absent).
    pub fn parse(expires: &str, date: &str, last_modified: &str, age: &str) -> Self {
        HeaderValues {
            expires: (!expires.is_empty()).then(|| date_or_nan(expires)),
            date: date_or_nan(date),
            last_modified: date_or_nan(last_modified),
            age: to_number_or_zero(age),
        }
    }
}

/// An HTTP-date in ms, NaN if not one.
pub fn date_or_nan(s: &str) -> f64 {
    parse_http_date(s).unwrap_or(f64::NAN)
}

/// The clock-independent conclusions about one stored response.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub storable: bool,
    pub must_revalidate: bool,
    pub explicit_expiration: bool,
    /// Freshness lifetime in seconds (http-cache-semantics' `maxAge()`).
    pub max_age: f64,
    /// The Age header's value in seconds.
    pub age_value: f64,
    /// The Date header in ms, or the response time if it has none.
    pub date: f64,
    pub stale_while_revalidate: f64,
    pub stale_if_error: f64,
    pub response_time: f64,
}

/// The response's directives, with the fix-ups made at construction.
/// Returns the directives and, if `ignore_cargo_cult` rewrote them, the new
/// Cache-Control value (`Some(None)`: the header became empty).
// RFC 9111 §5.4: Pragma: no-cache is Cache-Control: no-cache when Cache-Control is absent
pub fn response_cache_control<'a>(
    cache_control: Option<&'a str>,
    pragma: &str,
    ignore_cargo_cult: bool,
) -> (CacheControl<'a>, Option<Option<String>>) {
    let mut cc = CacheControl::parse(cache_control.unwrap_or(""));
    let mut rewritten = None;
    if ignore_cargo_cult && cc.has("pre-check") && cc.has("post-check") {
        rewritten = Some(drop_cargo_cult(&mut cc));
    }
    if cache_control.is_none() && pragma.contains("no-cache") {
        cc.set("no-cache", None);
    }
    (cc, rewritten)
}

/// `response_cache_control` reduced to the directives the rules read (the
/// common case without a cargo-cult rewrite skips collecting the others).
pub fn response_directives<'a>(
    cache_control: Option<&'a str>,
    pragma: &str,
    ignore_cargo_cult: bool,
) -> (Directives<'a>, Option<Option<String>>) {
    let mut d = Directives::parse(cache_control.unwrap_or(""));
    if ignore_cargo_cult && d.pre_check.0.is_some() && d.post_check.0.is_some() {
        let (cc, rewritten) = response_cache_control(cache_control, pragma, ignore_cargo_cult);
        return (cc.directives(), rewritten);
    }
    if cache_control.is_none() && pragma.contains("no-cache") {
        d.no_cache = Directive(Some(None));
    }
    (d, None)
}

/// `ignoreCargoCult`: IE's pre-check/post-check mean the author copied
/// directives blindly, so the ones that forbid caching are dropped.
// http-cache-semantics extension (not RFC 9111): override nonsense cache headers
fn drop_cargo_cult(cc: &mut CacheControl) -> Option<String> {
    for k in [
        "pre-check",
        "post-check",
        "no-cache",
        "no-store",
        "must-revalidate",
    ] {
        cc.remove(k);
    }
    cc.format()
}

/// Status codes the cache understands (206 is not: no range support).
// RFC 9111 §3: the response status code is final and understood by the cache
pub fn is_understood(status: f64) -> bool {
    [
        200.0, 203.0, 204.0, 300.0, 301.0, 302.0, 303.0, 307.0, 308.0, 404.0, 405.0, 410.0, 414.0,
        501.0,
    ]
    .contains(&status)
}

/// Status codes that are heuristically cacheable.
// RFC 9110 §15.1: heuristically cacheable status codes
pub fn is_cacheable_by_default(status: f64) -> bool {
    [
        200.0, 203.0, 204.0, 206.0, 300.0, 301.0, 308.0, 404.0, 405.0, 410.0, 414.0, 501.0,
    ]
    .contains(&status)
}

/// Server errors after which a stale response may be used (stale-if-error).
// RFC 5861 §4: stale-if-error applies to 500, 502, 503 and 504
pub fn is_error_status(status: f64) -> bool {
    [500.0, 502.0, 503.0, 504.0].contains(&status)
}

// RFC 9111 §4.2.1: explicit expiration from s-maxage (shared), max-age or Expires
fn has_explicit_expiration(x: &Exchange, d: &Summary) -> bool {
    (x.shared && d.has(Summary::S_MAXAGE)) || d.has(Summary::MAX_AGE) || x.headers.expires.is_some()
}

// RFC 9111 §3.5: a shared cache stores a response to an authorized request only with must-revalidate, public or s-maxage
fn allows_storing_authenticated(d: &Summary) -> bool {
    d.has(Summary::MUST_REVALIDATE) || d.has(Summary::PUBLIC) || d.has(Summary::S_MAXAGE)
}

// RFC 9111 §3: storing responses in caches
fn storable(x: &Exchange, d: &Summary) -> bool {
    !x.request_no_store
        && match x.method {
            Method::Get | Method::Head => true,
            Method::Post => has_explicit_expiration(x, d),
            Method::Other => false,
        }
        && is_understood(x.status)
        && !d.has(Summary::NO_STORE)
        && (!x.shared || !d.has(Summary::PRIVATE))
        && (!x.shared || x.no_authorization || allows_storing_authenticated(d))
        && (x.headers.expires.is_some()
            || d.has(Summary::MAX_AGE)
            || (x.shared && d.has(Summary::S_MAXAGE))
            || d.has(Summary::PUBLIC)
            || is_cacheable_by_default(x.status))
}

// RFC 9110 §6.6.1: Date; a recipient without a valid Date uses the time it received the response
pub fn server_date(date: f64, response_time: f64) -> f64 {
    if date.is_finite() {
        date
    } else {
        response_time
    }
}

/// JS `Math.max(a, b)`: NaN wins.
fn js_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// JS `Math.round` for the values the policy rounds.
fn js_round(x: f64) -> f64 {
    let r = x.floor();
    if x - r >= 0.5 {
        r + 1.0
    } else {
        r
    }
}

// RFC 9111 §4.2.1: freshness lifetime from s-maxage / max-age (or none at all); None: it depends on the dates
fn explicit_lifetime(x: &Exchange, d: &Summary, storable: bool) -> Option<f64> {
    if !storable || d.has(Summary::NO_CACHE) {
        return Some(0.0);
    }
    // Shared responses with cookies need an explicit opt-in (http-cache-semantics policy).
    if x.shared && x.set_cookie && !d.has(Summary::PUBLIC) && !d.has(Summary::IMMUTABLE) {
        return Some(0.0);
    }
    // RFC 9111 §4.1: Vary: * never matches
    if x.vary_star {
        return Some(0.0);
    }
    if x.shared {
        if d.has(Summary::PROXY_REVALIDATE) {
            return Some(0.0);
        }
        if d.has(Summary::S_MAXAGE) {
            return Some(d.s_maxage);
        }
    }
    if d.has(Summary::MAX_AGE) {
        return Some(d.max_age);
    }
    None
}

// RFC 9111 §4.2.1: Expires - Date; §4.2.2: heuristic from Last-Modified; immutable minimum
fn dated_lifetime(x: &Exchange, d: &Summary, date: f64) -> f64 {
    let default_min_ttl = if d.has(Summary::IMMUTABLE) {
        x.immutable_min_ttl
    } else {
        0.0
    };
    if let Some(expires) = x.headers.expires {
        // RFC 9111 §5.3: invalid Expires (e.g. "0") means already expired
        if expires.is_nan() || expires < date {
            return 0.0;
        }
        return js_max(default_min_ttl, (expires - date) / 1000.0);
    }
    let lm = x.headers.last_modified;
    if lm.is_finite() && date > lm {
        return js_max(default_min_ttl, (date - lm) / 1000.0 * x.cache_heuristic);
    }
    default_min_ttl
}

/// Whether the freshness lifetime depends on Date, Expires or Last-Modified
/// (so they must be parsed); otherwise only `date()` reads them.
pub fn needs_dates(x: &Exchange) -> bool {
    let d = &x.directives;
    explicit_lifetime(x, d, storable(x, d)).is_none()
}

impl Facts {
    pub fn of(x: &Exchange) -> Facts {
        let d = x.directives;
        let storable = storable(x, &d);
        let date = server_date(x.headers.date, x.response_time);
        Facts {
            storable,
            must_revalidate: d.has(Summary::MUST_REVALIDATE),
            explicit_expiration: has_explicit_expiration(x, &d),
            max_age: explicit_lifetime(x, &d, storable)
                .unwrap_or_else(|| dated_lifetime(x, &d, date)),
            age_value: x.headers.age,
            date,
            stale_while_revalidate: d.stale_while_revalidate,
            stale_if_error: d.stale_if_error,
            response_time: x.response_time,
        }
    }

    // RFC 9111 §4.2.3: current_age = corrected age + resident_time (here: Age value + time since receipt)
    pub fn age(&self, now: f64) -> f64 {
        self.age_value + (now - self.response_time) / 1000.0
    }

    // RFC 9111 §4.2: a response is stale once its age reaches the freshness lifetime
    pub fn stale(&self, now: f64) -> bool {
        self.max_age <= self.age(now)
    }

    // RFC 5861 §3: stale-while-revalidate window
    pub fn use_stale_while_revalidate(&self, now: f64) -> bool {
        let swr = self.stale_while_revalidate;
        swr > 0.0 && self.max_age + swr > self.age(now)
    }

    // RFC 5861 §4: stale-if-error window
    pub fn use_stale_if_error(&self, now: f64) -> bool {
        self.max_age + self.stale_if_error > self.age(now)
    }

    /// Milliseconds the entry stays useful, counting the stale windows.
    // RFC 9111 §4.2 + RFC 5861: remaining freshness plus stale-if-error / stale-while-revalidate
    pub fn time_to_live(&self, now: f64) -> f64 {
        let left = self.max_age - self.age(now);
        let worst = js_max(
            js_max(0.0, left),
            js_max(
                left + self.stale_if_error,
                left + self.stale_while_revalidate,
            ),
        );
        js_round(worst * 1000.0)
    }

    /// Whether `warning: 113` is due (heuristic lifetime > 24 h and age > 24 h).
    // RFC 7234 §5.5.4: Warning 113 "Heuristic Expiration"
    pub fn heuristic_warning(&self, now: f64) -> bool {
        self.age(now) > 86_400.0 && !self.explicit_expiration && self.max_age > 86_400.0
    }
}

/// How a stored response may serve a new request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// Revalidate before use (synchronously).
    Miss = 0,
    /// Serve as is.
    Fresh = 1,
    /// Serve stale and revalidate in the background (stale-while-revalidate).
    StaleWhileRevalidate = 2,
}

/// The request's side of a reuse decision.
#[derive(Debug, Clone, Default)]
pub struct Presented<'a> {
    /// The request matches URL, host, method and Vary (checked by the caller).
    pub matches: bool,
    pub cache_control: &'a str,
    pub pragma: &'a str,
}

// RFC 9111 §4: constructing responses from caches (reuse conditions in order)
pub fn evaluate(facts: &Facts, req: &Presented, now: f64) -> Reuse {
    // RFC 9111 §5.2.2.2: must-revalidate — never reuse without validation
    if facts.must_revalidate || !req.matches {
        return Reuse::Miss;
    }
    let cc = Directives::parse(req.cache_control);
    // RFC 9111 §5.2.1.4 / §5.4: request no-cache (or Pragma: no-cache)
    if cc.no_cache.truthy() || req.pragma.contains("no-cache") {
        return Reuse::Miss;
    }
    let age = facts.age(now);
    // RFC 9111 §5.2.1.1: request max-age
    if cc.max_age.truthy() && age > cc.max_age.number_or_zero() {
        return Reuse::Miss;
    }
    // RFC 9111 §5.2.1.3: min-fresh
    if cc.min_fresh.truthy() && facts.max_age - age < cc.min_fresh.number_or_zero() {
        return Reuse::Miss;
    }
    if facts.max_age <= age {
        // RFC 9111 §5.2.1.2: max-stale (no value: any staleness)
        let max_stale = match cc.max_stale.0 {
            None => false,
            Some(None) => true,
            Some(Some(v)) => js_to_number(v) > age - facts.max_age,
        };
        if max_stale {
            return Reuse::Fresh;
        }
        if facts.use_stale_while_revalidate(now) {
            return Reuse::StaleWhileRevalidate;
        }
        return Reuse::Miss;
    }
    Reuse::Fresh
}

/// Validators of a stored response and of a revalidation response
/// (`None`: absent or falsy).
#[derive(Debug, Clone, Default)]
pub struct Validators<'a> {
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

/// Whether a revalidation response (status 304 or none given) selects the
/// stored response for update.
// RFC 9111 §4.3.4: freshening stored responses upon validation (strong, weak, Last-Modified, no validator)
pub fn revalidation_matches(not_modified: bool, stored: &Validators, new: &Validators) -> bool {
    if !not_modified {
        return false;
    }
    match (new.etag, stored.etag) {
        (Some(n), stored_etag) if !is_weak(n) => stored_etag.is_some_and(|s| strip_weak(s) == n),
        (Some(n), Some(s)) => strip_weak(s) == strip_weak(n),
        _ => match stored.last_modified {
            Some(lm) => new.last_modified == Some(lm),
            None => stored.etag.is_none() && new.etag.is_none() && new.last_modified.is_none(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_700_000_000_000.0;
    const DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT"; // == NOW

    fn exchange(cc: &'static str) -> Exchange {
        Exchange {
            status: 200.0,
            method: Method::Get,
            shared: true,
            no_authorization: true,
            set_cookie: false,
            vary_star: false,
            request_no_store: false,
            cache_heuristic: 0.1,
            immutable_min_ttl: 86_400_000.0,
            response_time: NOW,
            directives: response_directives(Some(cc), "", false).0.summary(),
            headers: HeaderValues::parse("", DATE, "", ""),
        }
    }

    #[test]
    fn max_age_and_ttl() {
        let f = Facts::of(&exchange("public, max-age=300, stale-while-revalidate=60"));
        assert!(f.storable);
        assert_eq!(f.max_age, 300.0);
        assert_eq!(f.date, NOW);
        assert_eq!(f.time_to_live(NOW), 360_000.0);
        assert!(!f.stale(NOW + 299_000.0));
        assert!(f.stale(NOW + 300_000.0));
        assert!(f.use_stale_while_revalidate(NOW + 330_000.0));
        assert!(!f.use_stale_while_revalidate(NOW + 360_000.0));
    }

    #[test]
    fn shared_caches_honour_s_maxage_private_and_authorization() {
        let f = Facts::of(&exchange("max-age=10, s-maxage=20"));
        assert_eq!(f.max_age, 20.0);
        let mut x = exchange("max-age=10, s-maxage=20");
        x.shared = false;
        assert_eq!(Facts::of(&x).max_age, 10.0);
        assert!(!Facts::of(&exchange("private, max-age=10")).storable);
        let mut x = exchange("max-age=10");
        x.no_authorization = false;
        assert!(!Facts::of(&x).storable);
        let mut x = exchange("max-age=10, public");
        x.no_authorization = false;
        assert!(Facts::of(&x).storable);
        assert_eq!(
            Facts::of(&exchange("max-age=10, proxy-revalidate")).max_age,
            0.0
        );
    }

    #[test]
    fn expires_is_relative_to_date_and_bad_dates_are_expired() {
        let mut x = exchange("");
        x.headers = HeaderValues::parse(
            "Tue, 14 Nov 2023 21:00:00 GMT",
            "Tue, 14 Nov 2023 20:00:00 GMT",
            "",
            "",
        );
        assert_eq!(Facts::of(&x).max_age, 3600.0);
        x.headers.expires = Some(date_or_nan("0"));
        assert_eq!(Facts::of(&x).max_age, 0.0);
    }

    #[test]
    fn dates_matter_only_without_explicit_lifetime() {
        assert!(!needs_dates(&exchange("max-age=5")));
        assert!(!needs_dates(&exchange("no-store")));
        assert!(needs_dates(&exchange("public")));
        assert!(needs_dates(&exchange("immutable")));
        let mut x = exchange("s-maxage=5");
        assert!(!needs_dates(&x));
        x.shared = false;
        assert!(needs_dates(&x));
    }

    #[test]
    fn heuristic_and_immutable() {
        let mut x = exchange("");
        x.headers.last_modified = date_or_nan("Tue, 14 Nov 2023 12:13:20 GMT"); // 10 h before Date
        assert_eq!(Facts::of(&x).max_age, 3600.0);
        let mut x = exchange("immutable");
        x.status = 200.0;
        assert_eq!(Facts::of(&x).max_age, 86_400_000.0);
    }

    #[test]
    fn pragma_and_cargo_cult() {
        let (cc, rewritten) = response_directives(None, "no-cache", false);
        assert!(cc.no_cache.truthy() && rewritten.is_none());
        let (cc, _) = response_directives(Some(""), "no-cache", false);
        assert!(!cc.no_cache.truthy());
        let (cc, rewritten) = response_cache_control(
            Some("pre-check=0, post-check=0, no-store, max-age=5"),
            "",
            true,
        );
        assert!(!cc.has("no-store"));
        assert_eq!(rewritten, Some(Some("max-age=5".to_owned())));
    }

    #[test]
    fn storable_by_method_and_status() {
        let mut x = exchange("max-age=5");
        x.method = Method::Post;
        assert!(Facts::of(&x).storable);
        x.directives = Summary::default();
        assert!(!Facts::of(&x).storable);
        let mut x = exchange("");
        x.status = 206.0;
        assert!(!Facts::of(&x).storable);
        let mut x = exchange("");
        x.request_no_store = true;
        assert!(!Facts::of(&x).storable);
        assert!(!Facts::of(&exchange("no-store")).storable);
    }

    #[test]
    fn evaluate_request_directives() {
        let f = Facts::of(&exchange("max-age=100, stale-while-revalidate=50"));
        let req = |cc: &'static str| Presented {
            matches: true,
            cache_control: cc,
            pragma: "",
        };
        assert_eq!(evaluate(&f, &req(""), NOW), Reuse::Fresh);
        assert_eq!(evaluate(&f, &req("no-cache"), NOW), Reuse::Miss);
        assert_eq!(
            evaluate(&f, &req("max-age=10"), NOW + 20_000.0),
            Reuse::Miss
        );
        assert_eq!(
            evaluate(&f, &req("min-fresh=90"), NOW + 20_000.0),
            Reuse::Miss
        );
        assert_eq!(
            evaluate(&f, &req(""), NOW + 120_000.0),
            Reuse::StaleWhileRevalidate
        );
        assert_eq!(
            evaluate(&f, &req("max-stale"), NOW + 500_000.0),
            Reuse::Fresh
        );
        assert_eq!(
            evaluate(&f, &req("max-stale=5"), NOW + 500_000.0),
            Reuse::Miss
        );
        assert_eq!(evaluate(&f, &req(""), NOW + 200_000.0), Reuse::Miss);
        let p = Presented {
            matches: true,
            cache_control: "",
            pragma: "no-cache",
        };
        assert_eq!(evaluate(&f, &p, NOW), Reuse::Miss);
        let m = Facts::of(&exchange("max-age=100, must-revalidate"));
        assert_eq!(evaluate(&m, &req(""), NOW), Reuse::Miss);
    }

    #[test]
    fn revalidation_selects_by_validator() {
        let v = |etag, lm| Validators {
            etag,
            last_modified: lm,
        };
        let stored = v(Some("W/\"a\""), Some("x"));
        assert!(revalidation_matches(true, &stored, &v(Some("\"a\""), None)));
        assert!(revalidation_matches(
            true,
            &stored,
            &v(Some("W/\"a\""), None)
        ));
        assert!(!revalidation_matches(
            true,
            &stored,
            &v(Some("\"b\""), None)
        ));
        assert!(!revalidation_matches(
            false,
            &stored,
            &v(Some("\"a\""), None)
        ));
        assert!(revalidation_matches(
            true,
            &v(None, Some("x")),
            &v(None, Some("x"))
        ));
        assert!(revalidation_matches(true, &v(None, None), &v(None, None)));
        assert!(!revalidation_matches(
            true,
            &v(None, None),
            &v(None, Some("x"))
        ));
    }
}
