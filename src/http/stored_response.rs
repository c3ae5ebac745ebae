//! RFC 9111 rules for a cache that sits in front of an origin (the
//! interceptor, `lib/interceptor*.js`): parsing Cache-Control strictly
//! (§5.2), whether a response may be stored (§3), its freshness lifetime and
//! age (§4.2), whether a stored response may serve a request (§4, §5.2.1) and
//! which fields a 304 updates (§3.2).
//!
//! `http::policy` keeps http-cache-semantics 4.3's reading of the RFC (a
//! drop-in for that package, quirks included); this module is the RFC itself,
//! for a cache that owns the whole exchange. Both share the date, header and
//! validator rules (`date`, `headers`, `policy::revalidation_matches`).
//! Pure and deterministic: times are passed in (ms), no clock is read.

use super::date::parse_http_date;
use super::policy::{revalidation_matches, Validators};

/// Largest delta-seconds kept (RFC 9111 §1.2.2: 2^31).
pub const DELTA_SECONDS_MAX: f64 = 2_147_483_648.0;

/// Directive bits of [`CacheDirectives::bits`].
pub mod bit {
    pub const NO_STORE: u32 = 1;
    /// Unqualified `no-cache`.
    pub const NO_CACHE: u32 = 2;
    /// `no-cache="field, …"`.
    pub const NO_CACHE_FIELDS: u32 = 4;
    /// Unqualified `private`.
    pub const PRIVATE: u32 = 8;
    /// `private="field, …"`.
    pub const PRIVATE_FIELDS: u32 = 16;
    pub const PUBLIC: u32 = 32;
    pub const MUST_REVALIDATE: u32 = 64;
    pub const PROXY_REVALIDATE: u32 = 128;
    pub const IMMUTABLE: u32 = 256;
    pub const ONLY_IF_CACHED: u32 = 512;
    pub const MAX_AGE: u32 = 1024;
    pub const MAX_AGE_INVALID: u32 = 2048;
    pub const S_MAXAGE: u32 = 4096;
    pub const S_MAXAGE_INVALID: u32 = 8192;
    /// `max-stale` present (its value may be absent: any staleness).
    pub const MAX_STALE: u32 = 16384;
    pub const MIN_FRESH: u32 = 32768;
    pub const MUST_UNDERSTAND: u32 = 65536;
    pub const STALE_WHILE_REVALIDATE: u32 = 1 << 17;
    pub const STALE_IF_ERROR: u32 = 1 << 18;
}

/// Cache-Control directives as the rules read them. Numbers are seconds,
/// `NaN` when the directive is absent or invalid (its bit says which).
#[derive(Debug, Clone, PartialEq)]
pub struct CacheDirectives {
    pub bits: u32,
    pub max_age: f64,
    pub s_maxage: f64,
    pub stale_while_revalidate: f64,
    pub stale_if_error: f64,
    pub min_fresh: f64,
    /// `NaN` with the MAX_STALE bit: no limit.
    pub max_stale: f64,
    /// Field names of `no-cache="…"` and `private="…"`, lower-cased.
    pub no_cache_fields: Vec<String>,
    pub private_fields: Vec<String>,
}

impl Default for CacheDirectives {
    fn default() -> Self {
        CacheDirectives {
            bits: 0,
            max_age: f64::NAN,
            s_maxage: f64::NAN,
            stale_while_revalidate: f64::NAN,
            stale_if_error: f64::NAN,
            min_fresh: f64::NAN,
            max_stale: f64::NAN,
            no_cache_fields: Vec::new(),
            private_fields: Vec::new(),
        }
    }
}

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether `s` is a token (RFC 9110 §5.6.2).
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// List members of a field value, split on commas outside quoted strings
/// (RFC 9110 §5.6.1), trimmed of optional whitespace, empty members dropped.
// RFC 9110 §5.6.1: #rule lists; a recipient accepts empty elements and OWS around them
pub fn list_members(value: &str) -> Vec<&str> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if quoted {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = false;
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == b',' {
            push_member(&mut out, &value[start..i]);
            start = i + 1;
        }
    }
    push_member(&mut out, &value[start..]);
    out
}

fn push_member<'a>(out: &mut Vec<&'a str>, member: &'a str) {
    let m = member.trim_matches([' ', '\t']);
    if !m.is_empty() {
        out.push(m);
    }
}

/// The content of a quoted-string with escapes removed, or a token as is;
/// `None` if the argument is neither.
// RFC 9110 §5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
fn argument(raw: &str) -> Option<String> {
    if let Some(inner) = raw.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        let mut out = String::with_capacity(inner.len());
        let mut escaped = false;
        for c in inner.chars() {
            if escaped {
                out.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                return None;
            } else {
                out.push(c);
            }
        }
        return (!escaped).then_some(out);
    }
    is_token(raw).then(|| raw.to_owned())
}

/// delta-seconds: `Some(seconds)` (saturating at 2^31), `None` if invalid.
// RFC 9111 §1.2.2: delta-seconds = 1*DIGIT; a too large value is taken as 2147483648
fn delta_seconds(arg: Option<&str>) -> Option<f64> {
    let s = arg?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = s.trim_start_matches('0');
    if digits.len() > 10 {
        return Some(DELTA_SECONDS_MAX);
    }
    let n = digits
        .bytes()
        .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    Some((n as f64).min(DELTA_SECONDS_MAX))
}

/// Field names of a qualified `no-cache` / `private` (lower-cased).
fn field_names(arg: &str) -> Vec<String> {
    list_members(arg)
        .into_iter()
        .filter(|f| is_token(f))
        .map(str::to_ascii_lowercase)
        .collect()
}

impl CacheDirectives {
    /// Parses one Cache-Control field value (several field lines joined by `,`).
    // RFC 9111 §5.2: cache-directive = token [ "=" ( token / quoted-string ) ]; names compare case-insensitively; unknown ones are ignored
    pub fn parse(value: &str) -> Self {
        let mut d = CacheDirectives::default();
        for member in list_members(value) {
            let (name, raw) = match member.find('=') {
                Some(i) => (&member[..i], Some(&member[i + 1..])),
                None => (member, None),
            };
            // `max-age =5` and `max-age= 5` are not directives with an argument.
            if !is_token(name) {
                continue;
            }
            let arg = match raw {
                Some(r) => match argument(r) {
                    Some(a) => Some(a),
                    None => {
                        d.invalid(&name.to_ascii_lowercase());
                        continue;
                    }
                },
                None => None,
            };
            d.set(&name.to_ascii_lowercase(), arg.as_deref());
        }
        d
    }

    /// A directive whose argument is malformed.
    fn invalid(&mut self, name: &str) {
        match name {
            "max-age" if self.bits & (bit::MAX_AGE | bit::MAX_AGE_INVALID) == 0 => {
                self.bits |= bit::MAX_AGE_INVALID
            }
            "s-maxage" if self.bits & (bit::S_MAXAGE | bit::S_MAXAGE_INVALID) == 0 => {
                self.bits |= bit::S_MAXAGE_INVALID
            }
            // A malformed restrictive directive still restricts.
            "no-store" => self.bits |= bit::NO_STORE,
            "no-cache" => self.bits |= bit::NO_CACHE,
            "private" => self.bits |= bit::PRIVATE,
            _ => {}
        }
    }

    // RFC 9111 §4.2.1: with more than one value for a directive, the first occurrence is used
    fn set(&mut self, name: &str, arg: Option<&str>) {
        let first = |bits: u32, mask: u32| bits & mask == 0;
        match name {
            "no-store" => self.bits |= bit::NO_STORE,
            "public" => self.bits |= bit::PUBLIC,
            "must-revalidate" => self.bits |= bit::MUST_REVALIDATE,
            "proxy-revalidate" => self.bits |= bit::PROXY_REVALIDATE,
            "immutable" => self.bits |= bit::IMMUTABLE,
            "only-if-cached" => self.bits |= bit::ONLY_IF_CACHED,
            "must-understand" => self.bits |= bit::MUST_UNDERSTAND,
            // RFC 9111 §5.2.2.4: no-cache with a field list only constrains those fields
            "no-cache" => match arg {
                Some(a) if !a.trim().is_empty() => {
                    self.bits |= bit::NO_CACHE_FIELDS;
                    self.no_cache_fields.extend(field_names(a));
                }
                _ => self.bits |= bit::NO_CACHE,
            },
            // RFC 9111 §5.2.2.7: private with a field list only constrains those fields
            "private" => match arg {
                Some(a) if !a.trim().is_empty() => {
                    self.bits |= bit::PRIVATE_FIELDS;
                    self.private_fields.extend(field_names(a));
                }
                _ => self.bits |= bit::PRIVATE,
            },
            "max-age" if first(self.bits, bit::MAX_AGE | bit::MAX_AGE_INVALID) => {
                match delta_seconds(arg) {
                    Some(s) => {
                        self.bits |= bit::MAX_AGE;
                        self.max_age = s;
                    }
                    None => self.bits |= bit::MAX_AGE_INVALID,
                }
            }
            "s-maxage" if first(self.bits, bit::S_MAXAGE | bit::S_MAXAGE_INVALID) => {
                match delta_seconds(arg) {
                    Some(s) => {
                        self.bits |= bit::S_MAXAGE;
                        self.s_maxage = s;
                    }
                    None => self.bits |= bit::S_MAXAGE_INVALID,
                }
            }
            "stale-while-revalidate" if first(self.bits, bit::STALE_WHILE_REVALIDATE) => {
                if let Some(s) = delta_seconds(arg) {
                    self.bits |= bit::STALE_WHILE_REVALIDATE;
                    self.stale_while_revalidate = s;
                }
            }
            "stale-if-error" if first(self.bits, bit::STALE_IF_ERROR) => {
                if let Some(s) = delta_seconds(arg) {
                    self.bits |= bit::STALE_IF_ERROR;
                    self.stale_if_error = s;
                }
            }
            "min-fresh" if first(self.bits, bit::MIN_FRESH) => {
                if let Some(s) = delta_seconds(arg) {
                    self.bits |= bit::MIN_FRESH;
                    self.min_fresh = s;
                }
            }
            // RFC 9111 §5.2.1.2: max-stale without a value accepts any staleness
            "max-stale" if first(self.bits, bit::MAX_STALE) => match arg {
                None => self.bits |= bit::MAX_STALE,
                Some(a) => {
                    if let Some(s) = delta_seconds(Some(a)) {
                        self.bits |= bit::MAX_STALE;
                        self.max_stale = s;
                    }
                }
            },
            _ => {}
        }
    }

    pub fn has(&self, b: u32) -> bool {
        self.bits & b != 0
    }
}

/// Whether the cache understands this final status code's semantics: the codes
/// RFC 9110 §15 defines, except 206 (partial responses are not stored: ranges are
/// served from stored complete responses) and 304 (never stored).
// RFC 9111 §5.2.2.3: "the must-understand directive limits caching of the response to a
// cache that understands and conforms to the requirements for that response's status code"
pub fn understands_status(status: u16) -> bool {
    matches!(
        status,
        200..=205 | 300..=303 | 305 | 307 | 308 | 400..=417 | 421 | 422 | 426 | 500..=505
    )
}

/// Whether the status code is final (not 1xx) and a real one (RFC 9110 §15: three digits).
// RFC 9111 §3: "the response status code is final (see Section 15 of [HTTP])"
fn is_final(status: u16) -> bool {
    (200..600).contains(&status)
}

/// Status codes whose responses may get a heuristic freshness lifetime.
// RFC 9110 §15.1: heuristically cacheable: 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501
pub fn heuristically_cacheable(status: u16) -> bool {
    matches!(
        status,
        200 | 203 | 204 | 206 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

/// A response arriving from the origin, as the storage rules read it.
#[derive(Debug, Clone)]
pub struct Arrival<'a> {
    pub status: u16,
    /// The request method is one the cache stores (GET, HEAD and those configured).
    pub method_cacheable: bool,
    pub shared: bool,
    pub request_authorization: bool,
    pub request: &'a CacheDirectives,
    pub response: &'a CacheDirectives,
    /// `Expires` present (even if invalid), its value in ms (NaN if invalid).
    pub expires: Option<f64>,
    /// `Date` in ms, NaN if absent or invalid.
    pub date: f64,
    /// `Last-Modified` in ms, NaN if absent or invalid.
    pub last_modified: f64,
    /// `Age` in seconds, NaN if absent or invalid.
    pub age: f64,
    pub vary_star: bool,
    /// `Set-Cookie` present and not removed by `no-cache="set-cookie"` /
    /// `private="set-cookie"` (which keep it out of the stored response).
    pub set_cookie_kept: bool,
    /// ETag or Last-Modified present.
    pub has_validator: bool,
    /// Seconds to keep responses with no explicit or heuristic lifetime (NaN: none).
    pub cache_by_default: f64,
    /// When the request was sent and the response received (ms).
    pub request_time: f64,
    pub response_time: f64,
}

/// The storage decision for an arriving response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Storage {
    pub storable: bool,
    /// Freshness lifetime in seconds.
    pub lifetime: f64,
    /// Corrected initial age in seconds.
    pub initial_age: f64,
}

// RFC 9111 §3.5: a shared cache stores a response to a request with Authorization only with must-revalidate, public or s-maxage
fn authorization_allows(x: &Arrival) -> bool {
    !x.shared
        || !x.request_authorization
        || x.response
            .has(bit::MUST_REVALIDATE | bit::PUBLIC | bit::S_MAXAGE)
}

// RFC 9111 §3: a response needs explicit freshness, public/private, or a heuristically cacheable status to be stored
fn has_storage_permission(x: &Arrival) -> bool {
    let r = x.response;
    x.expires.is_some()
        || r.has(bit::MAX_AGE | bit::MAX_AGE_INVALID | bit::PUBLIC)
        || (x.shared && r.has(bit::S_MAXAGE | bit::S_MAXAGE_INVALID))
        || (!x.shared && r.has(bit::PRIVATE))
        || heuristically_cacheable(x.status)
}

// RFC 9111 §3: storing responses in caches (each condition in order)
pub fn storable(x: &Arrival) -> bool {
    let r = x.response;
    // the request method is understood by the cache
    x.method_cacheable
        // the response status code is final
        && is_final(x.status)
        // "if the response status code is 206 or 304, or the must-understand cache
        // directive is present: the cache understands the response status code"
        && (understands_status(x.status)
            || !(x.status == 206 || x.status == 304 || r.has(bit::MUST_UNDERSTAND)))
        // §5.2.1.5: no-store in the request
        && !x.request.has(bit::NO_STORE)
        // §5.2.2.5: no-store in the response (must-understand overrides it for understood codes)
        && (!r.has(bit::NO_STORE) || r.has(bit::MUST_UNDERSTAND))
        // §5.2.2.7: a shared cache does not store a private response
        && !(x.shared && r.has(bit::PRIVATE))
        && authorization_allows(x)
        && has_storage_permission(x)
        // §4.1: Vary: * never matches a later request
        && !x.vary_star
        && !shares_a_cookie(x)
}

/// A shared cache would hand one user's cookie to every user.
// RFC 9111 §7.3: caching of sensitive information; Set-Cookie does not inhibit caching, so a shared cache declines it unless the response keeps the cookie out of the stored copy
fn shares_a_cookie(x: &Arrival) -> bool {
    x.shared && x.set_cookie_kept
}

/// The first HTTP-date of a field value, NaN if invalid.
pub fn date_ms(value: &str) -> f64 {
    parse_http_date(value).unwrap_or(f64::NAN)
}

/// The Age field's seconds, NaN if invalid.
// RFC 9111 §5.1: Age = delta-seconds; use the first member of a list; ignore an invalid value
pub fn age_seconds(value: &str) -> f64 {
    let first = list_members(value).into_iter().next();
    delta_seconds(first).unwrap_or(f64::NAN)
}

// RFC 9111 §4.2.2: heuristic freshness, 10% of the time since Last-Modified (at most one day here)
fn heuristic_lifetime(x: &Arrival, date: f64) -> f64 {
    if x.last_modified.is_finite() && date > x.last_modified {
        ((date - x.last_modified) / 1000.0 * 0.1).min(86_400.0)
    } else {
        0.0
    }
}

// RFC 9111 §4.2.1: s-maxage (shared) > max-age > Expires − Date > heuristic; invalid values mean stale (§4.2.1, §5.3)
pub fn freshness_lifetime(x: &Arrival) -> f64 {
    let r = x.response;
    if x.shared && r.has(bit::S_MAXAGE) {
        return r.s_maxage;
    }
    if x.shared && r.has(bit::S_MAXAGE_INVALID) {
        return 0.0;
    }
    if r.has(bit::MAX_AGE) {
        return r.max_age;
    }
    if r.has(bit::MAX_AGE_INVALID) {
        return 0.0;
    }
    let date = if x.date.is_finite() {
        x.date
    } else {
        x.response_time
    };
    if let Some(expires) = x.expires {
        // §5.3: an invalid Expires (e.g. "0") represents a time in the past
        return if expires.is_finite() {
            ((expires - date) / 1000.0).max(0.0)
        } else {
            0.0
        };
    }
    // §4.2.2: heuristics only without explicit expiration, for heuristically cacheable codes or `public`
    // (cacheByDefault is such a heuristic, chosen by the user: the same codes only)
    if heuristically_cacheable(x.status) || r.has(bit::PUBLIC) {
        let h = heuristic_lifetime(x, date);
        if h > 0.0 {
            return h;
        }
        if x.cache_by_default.is_finite() {
            return x.cache_by_default;
        }
    }
    0.0
}

// RFC 9111 §4.2.3: corrected_initial_age = max(apparent_age, age_value + response_delay)
pub fn initial_age(x: &Arrival) -> f64 {
    let apparent = if x.date.is_finite() {
        ((x.response_time - x.date) / 1000.0).max(0.0)
    } else {
        0.0
    };
    let delay = ((x.response_time - x.request_time) / 1000.0).max(0.0);
    let corrected = if x.age.is_finite() {
        x.age + delay
    } else {
        0.0
    };
    apparent.max(corrected)
}

/// Storability, freshness lifetime and initial age of an arriving response.
/// A response already stale is still worth storing when it can be
/// revalidated (it has a validator) or served stale (stale-* windows).
pub fn arrive(x: &Arrival) -> Storage {
    let lifetime = freshness_lifetime(x);
    let age = initial_age(x);
    let useful = lifetime > age
        || x.has_validator
        || x.response
            .has(bit::STALE_WHILE_REVALIDATE | bit::STALE_IF_ERROR);
    Storage {
        storable: storable(x) && useful,
        lifetime,
        initial_age: age,
    }
}

/// How a stored response may be used for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Send the request to the origin, conditional on the stored validators.
    Revalidate = 0,
    /// Serve it: fresh, or stale within the request's max-stale.
    Serve = 1,
    /// Serve it stale and revalidate in the background (stale-while-revalidate).
    ServeStaleAndRevalidate = 2,
    /// only-if-cached and nothing usable: answer 504.
    GatewayTimeout = 3,
}

/// A stored response presented with a request, at `now`.
#[derive(Debug, Clone)]
pub struct Presentation<'a> {
    pub shared: bool,
    pub response: &'a CacheDirectives,
    pub request: &'a CacheDirectives,
    /// Pragma: no-cache in a request without Cache-Control.
    pub pragma_no_cache: bool,
    /// Seconds.
    pub lifetime: f64,
    /// Current age in seconds (§4.2.3: corrected initial age + resident time).
    pub age: f64,
}

// RFC 9111 §4.2.4: a cache MUST NOT serve stale after must-revalidate, or (shared) proxy-revalidate / s-maxage
fn forbids_stale(p: &Presentation) -> bool {
    p.response.has(bit::MUST_REVALIDATE)
        || (p.shared && p.response.has(bit::PROXY_REVALIDATE | bit::S_MAXAGE))
}

// RFC 9111 §5.2.1.4, §5.2.2.4, §5.4: no-cache in the request or the response means validate first
fn requires_validation(p: &Presentation) -> bool {
    p.request.has(bit::NO_CACHE) || p.pragma_no_cache || p.response.has(bit::NO_CACHE)
}

// RFC 9111 §5.2.1.1 / §5.2.1.3: the client's max-age and min-fresh
fn request_accepts_age(p: &Presentation) -> bool {
    let r = p.request;
    let too_old = r.has(bit::MAX_AGE_INVALID) || (r.has(bit::MAX_AGE) && p.age > r.max_age);
    let not_fresh_enough = r.has(bit::MIN_FRESH) && p.lifetime - p.age < r.min_fresh;
    !too_old && !not_fresh_enough
}

// RFC 9111 §5.2.1.2: max-stale lets the client accept a response stale by at most that many seconds
fn request_accepts_stale(p: &Presentation) -> bool {
    let r = p.request;
    r.has(bit::MAX_STALE) && (r.max_stale.is_nan() || p.age - p.lifetime <= r.max_stale)
}

// RFC 5861 §3: stale-while-revalidate: serve stale for that long while revalidating in the background
fn within_stale_while_revalidate(p: &Presentation) -> bool {
    p.response.has(bit::STALE_WHILE_REVALIDATE)
        && p.age - p.lifetime <= p.response.stale_while_revalidate
}

/// Whether the stale response may answer a failed revalidation
/// (`error_age`: the age when the error arrived).
// RFC 5861 §4: stale-if-error (response or request) allows a stale response on a 5xx or a failed connection
pub fn within_stale_if_error(p: &Presentation) -> bool {
    if forbids_stale(p) {
        return false;
    }
    let over = p.age - p.lifetime;
    (p.response.has(bit::STALE_IF_ERROR) && over <= p.response.stale_if_error)
        || (p.request.has(bit::STALE_IF_ERROR) && over <= p.request.stale_if_error)
}

// RFC 9111 §4: constructing responses from caches; §5.2.1.7: only-if-cached answers 504 when nothing can be used
pub fn presented_use(p: &Presentation) -> Use {
    let decision = if requires_validation(p) || !request_accepts_age(p) {
        Use::Revalidate
    } else if p.age < p.lifetime {
        Use::Serve
    } else if forbids_stale(p) {
        Use::Revalidate
    } else if request_accepts_stale(p) {
        Use::Serve
    } else if within_stale_while_revalidate(p) {
        Use::ServeStaleAndRevalidate
    } else {
        Use::Revalidate
    };
    if decision == Use::Revalidate && p.request.has(bit::ONLY_IF_CACHED) {
        return Use::GatewayTimeout;
    }
    decision
}

/// Whether a 304 to the cache's own conditional request selects the stored
/// response it asked about. A 304 that carries no validator at all answers
/// the one condition the cache sent (built from that stored response's
/// validators), so it selects it; otherwise the validators decide.
// RFC 9111 §4.3.4: a 304 selects the stored responses whose validators match (strong, then weak, then Last-Modified)
pub fn not_modified_selects(stored: &Validators, new: &Validators) -> bool {
    if new.etag.is_none() && new.last_modified.is_none() {
        return true;
    }
    revalidation_matches(true, stored, new)
}

/// The fields of a response that decide whether a HEAD's 200 may update a stored GET.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeadFields<'a> {
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    pub content_length: Option<&'a str>,
}

/// Whether a 200 to the cache's HEAD updates the stored GET response (otherwise
/// the stored response is to be considered stale).
// RFC 9111 §4.3.5: "if the stored response and HEAD response have matching values for any
// received validator fields (ETag and Last-Modified) and, if the HEAD response has a
// Content-Length header field, the value of Content-Length matches that of the stored
// response, the cache SHOULD update the stored response ...; otherwise, the cache SHOULD
// consider the stored response to be stale"
pub fn head_updates(stored: &HeadFields, head: &HeadFields) -> bool {
    let matches = |s: Option<&str>, h: Option<&str>| match h {
        None => true,
        Some(h) => s.is_some_and(|s| s.trim_matches([' ', '\t']) == h.trim_matches([' ', '\t'])),
    };
    matches(stored.etag, head.etag)
        && matches(stored.last_modified, head.last_modified)
        && matches(stored.content_length, head.content_length)
}

/// Fields a 304 (or a HEAD) never updates in the stored response, besides
/// those never stored ([`NOT_STORED`]).
// RFC 9111 §3.2: update every field except those excepted from storage (§3.1), Content-Length, and those the stored body depends on (Content-Encoding, Content-Range)
pub const KEPT_ON_UPDATE: [&str; 3] = ["content-length", "content-encoding", "content-range"];

/// Fields a cache never stores; Age is recomputed when serving.
// RFC 9111 §3.1: a cache MUST NOT store Connection, the fields it lists, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade
pub const NOT_STORED: [&str; 11] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authentication-info",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "age",
];

/// Whether a 304's field `name` leaves the stored value as it is.
pub fn kept_on_update(name: &str) -> bool {
    KEPT_ON_UPDATE.contains(&name) || NOT_STORED.contains(&name)
}

/// The request fields a Vary value nominates (lower-cased), `["*"]` for a
/// wildcard, `None` if a member is not a field name.
// RFC 9110 §12.5.5: Vary = #( "*" / field-name ); RFC 9111 §4.1: "*" always fails to match
pub fn vary_fields(value: &str) -> Option<Vec<String>> {
    let mut fields: Vec<String> = Vec::new();
    for member in list_members(value) {
        if member == "*" {
            return Some(vec!["*".to_owned()]);
        }
        if !is_token(member) {
            return None;
        }
        let name = member.to_ascii_lowercase();
        if !fields.contains(&name) {
            fields.push(name);
        }
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival<'a>(req: &'a CacheDirectives, res: &'a CacheDirectives) -> Arrival<'a> {
        Arrival {
            status: 200,
            method_cacheable: true,
            shared: true,
            request_authorization: false,
            request: req,
            response: res,
            expires: None,
            date: 1_000_000.0,
            last_modified: f64::NAN,
            age: f64::NAN,
            vary_star: false,
            set_cookie_kept: false,
            has_validator: false,
            cache_by_default: f64::NAN,
            request_time: 1_000_000.0,
            response_time: 1_000_000.0,
        }
    }

    #[test]
    fn parses_strictly() {
        let d = CacheDirectives::parse("Max-Age=\"60\", max-age=5, x=\"a,max-age=1\"");
        assert_eq!(d.max_age, 60.0);
        assert!(CacheDirectives::parse("max-age =5").bits == 0);
        assert!(CacheDirectives::parse("max-age=5a").has(bit::MAX_AGE_INVALID));
        assert!(CacheDirectives::parse("max-age=-1").has(bit::MAX_AGE_INVALID));
        let d = CacheDirectives::parse("no-cache=\"Set-Cookie, X-A\", private");
        assert_eq!(d.no_cache_fields, ["set-cookie", "x-a"]);
        assert!(d.has(bit::PRIVATE) && !d.has(bit::NO_CACHE));
        assert_eq!(
            CacheDirectives::parse("max-age=99999999999999").max_age,
            DELTA_SECONDS_MAX
        );
        let d = CacheDirectives::parse("max-stale");
        assert!(d.has(bit::MAX_STALE) && d.max_stale.is_nan());
    }

    #[test]
    fn storage_rules() {
        let none = CacheDirectives::default();
        let cc = CacheDirectives::parse("max-age=60");
        assert!(arrive(&arrival(&none, &cc)).storable);
        let private = CacheDirectives::parse("private, max-age=60");
        assert!(!arrive(&arrival(&none, &private)).storable);
        let mut x = arrival(&none, &private);
        x.shared = false;
        assert!(arrive(&x).storable);
        let mut x = arrival(&none, &cc);
        x.request_authorization = true;
        assert!(!storable(&x));
        let ns = CacheDirectives::parse("no-store");
        assert!(!storable(&arrival(&ns, &cc)));
        // no lifetime, no validator: nothing to gain
        assert!(!arrive(&arrival(&none, &none)).storable);
        let mut x = arrival(&none, &none);
        x.has_validator = true;
        assert!(arrive(&x).storable);
        let public = CacheDirectives::parse("public, max-age=60");
        let mut x = arrival(&none, &public);
        x.set_cookie_kept = true;
        assert!(!storable(&x));
        x.shared = false;
        assert!(storable(&x));
    }

    // RFC 9111 §5.2.2.3 / cache-tests status-599-must-understand (required) and
    // status-200-must-understand (optimal): must-understand stores only understood codes,
    // and for those it overrides no-store; without it an unknown final code is storable
    #[test]
    fn must_understand_limits_storage_to_understood_codes() {
        let none = CacheDirectives::default();
        let mu = CacheDirectives::parse("max-age=3600, no-store, must-understand");
        let mut x = arrival(&none, &mu);
        assert!(storable(&x));
        x.status = 599;
        assert!(!storable(&x));
        let plain = CacheDirectives::parse("max-age=3600");
        let mut x = arrival(&none, &plain);
        x.status = 599;
        assert!(storable(&x));
        for status in [101, 206, 304, 600] {
            x.status = status;
            assert!(!storable(&x), "{status}");
        }
    }

    // RFC 9111 §4.3.5 (cache-tests head-200-freshness-update): validators received must
    // match, and Content-Length if received; none received updates
    #[test]
    fn a_head_response_updates_a_stored_get_when_it_describes_it() {
        let stored = HeadFields {
            etag: Some("\"a\""),
            last_modified: Some("Sun, 06 Nov 1994 08:49:37 GMT"),
            content_length: Some("11"),
        };
        assert!(head_updates(&stored, &HeadFields::default()));
        let same = HeadFields {
            etag: Some("\"a\""),
            content_length: Some("11"),
            ..HeadFields::default()
        };
        assert!(head_updates(&stored, &same));
        let other_tag = HeadFields {
            etag: Some("\"b\""),
            ..HeadFields::default()
        };
        assert!(!head_updates(&stored, &other_tag));
        let longer = HeadFields {
            content_length: Some("12"),
            ..HeadFields::default()
        };
        assert!(!head_updates(&stored, &longer));
        let no_tag_stored = HeadFields::default();
        assert!(!head_updates(&no_tag_stored, &same));
    }

    #[test]
    fn lifetime_and_age() {
        let none = CacheDirectives::default();
        let both = CacheDirectives::parse("max-age=10, s-maxage=20");
        let mut x = arrival(&none, &both);
        assert_eq!(freshness_lifetime(&x), 20.0);
        x.shared = false;
        assert_eq!(freshness_lifetime(&x), 10.0);
        let mut x = arrival(&none, &none);
        x.expires = Some(1_000_000.0 + 30_000.0);
        assert_eq!(freshness_lifetime(&x), 30.0);
        x.expires = Some(f64::NAN);
        assert_eq!(freshness_lifetime(&x), 0.0);
        let mut x = arrival(&none, &none);
        x.last_modified = 1_000_000.0 - 100_000.0;
        assert_eq!(freshness_lifetime(&x), 10.0);
        x.status = 302;
        assert_eq!(freshness_lifetime(&x), 0.0);
        let mut x = arrival(&none, &none);
        x.age = 30.0;
        x.response_time += 2_000.0;
        assert_eq!(initial_age(&x), 32.0);
        assert_eq!(age_seconds("5, 7"), 5.0);
        assert!(age_seconds("-1").is_nan());
    }

    #[test]
    fn presented_rules() {
        let res = CacheDirectives::parse("max-age=10, stale-while-revalidate=5");
        let none = CacheDirectives::default();
        let p = |req: &CacheDirectives, age: f64| {
            presented_use(&Presentation {
                shared: true,
                response: &res,
                request: req,
                pragma_no_cache: false,
                lifetime: 10.0,
                age,
            })
        };
        assert_eq!(p(&none, 5.0), Use::Serve);
        assert_eq!(p(&none, 12.0), Use::ServeStaleAndRevalidate);
        assert_eq!(p(&none, 20.0), Use::Revalidate);
        assert_eq!(p(&CacheDirectives::parse("max-stale=15"), 20.0), Use::Serve);
        assert_eq!(
            p(&CacheDirectives::parse("max-age=1"), 5.0),
            Use::Revalidate
        );
        assert_eq!(
            p(&CacheDirectives::parse("min-fresh=6"), 5.0),
            Use::Revalidate
        );
        assert_eq!(p(&CacheDirectives::parse("no-cache"), 0.0), Use::Revalidate);
        assert_eq!(
            p(&CacheDirectives::parse("only-if-cached"), 20.0),
            Use::GatewayTimeout
        );
        let mr = CacheDirectives::parse("max-age=10, must-revalidate");
        let q = Presentation {
            shared: false,
            response: &mr,
            request: &CacheDirectives::parse("max-stale"),
            pragma_no_cache: false,
            lifetime: 10.0,
            age: 11.0,
        };
        assert_eq!(presented_use(&q), Use::Revalidate);
        assert!(!within_stale_if_error(&q));
    }

    #[test]
    fn not_modified_selection() {
        let v = |etag, last_modified| Validators {
            etag,
            last_modified,
        };
        assert!(not_modified_selects(
            &v(Some("\"a\""), None),
            &v(None, None)
        ));
        assert!(not_modified_selects(
            &v(Some("\"a\""), None),
            &v(Some("W/\"a\""), None)
        ));
        assert!(!not_modified_selects(
            &v(Some("\"a\""), None),
            &v(Some("\"b\""), None)
        ));
    }

    #[test]
    fn update_exceptions() {
        assert!(kept_on_update("content-length"));
        assert!(kept_on_update("connection"));
        assert!(!kept_on_update("cache-control"));
        assert!(!kept_on_update("date"));
        assert_eq!(
            vary_fields(" Accept-Encoding ,accept-encoding, X").unwrap(),
            ["accept-encoding", "x"]
        );
        assert_eq!(vary_fields("a, *").unwrap(), ["*"]);
        assert!(vary_fields("a b").is_none());
    }
}
