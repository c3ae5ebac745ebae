//! Bindings of `http::policy` for `lib/cache-policy.js`.
//!
//! Stateless, and numbers never travel as arguments: each thread has one
//! small `Float64Array` (`policyIo()`, over memory Rust owns) through which JS
//! passes a policy's numbers in and Rust writes its results out.
//!
//! Strings cross once per distinct value: `policySummary` (a Cache-Control
//! value), `policyDate`, `policyNumberOrZero` return numbers the JS shell
//! memoizes. The constructor's one call (`policyFacts`, numbers only; or
//! `policyNew` with one packed string for the rare general case) computes the
//! policy's clock-independent `Facts`; the shell keeps them as numbers and
//! hands them back with `now` to the clock-dependent rules (`policyTime`,
//! `policyEvaluate*`).

use std::cell::Cell;

use napi::bindgen_prelude::*;
use napi::{sys, Env, JsValue};
use napi_derive::napi;

use super::panic_hooks::panic_point;
use crate::http::cache_control::{to_number_or_zero, Directives, Summary};
use crate::http::headers::{connection_tokens, drop_1xx_warnings, drop_weak_etags, HOP_BY_HOP};
use crate::http::policy::{
    date_or_nan, evaluate, is_error_status, needs_dates, response_cache_control,
    response_directives, revalidation_matches, server_date as date_to_count_from, Exchange, Facts,
    HeaderValues, Method, Presented, Validators,
};

// Slots, flags and op codes are defined once, in `super::wire` (also handed to
// JS by `wireLayout()`).
use super::wire::{
    dates, exchange as ex, fact_flags, facts as fx, input_flags, methods, server_date, summary,
    time, time_ops,
};

/// Slots of the per-thread I/O array.
pub const IO_SLOTS: usize = 16;

/// This thread's I/O slots: allocated on first use, freed when the thread exits.
struct IoSlots(Cell<*mut f64>);

impl Drop for IoSlots {
    fn drop(&mut self) {
        let ptr = self.0.get();
        if !ptr.is_null() {
            // SAFETY: `ptr` came from `Box::into_raw` of a `[f64; IO_SLOTS]` in `io_ptr`
            // and is freed only here, once. Thread-local destructors run when the thread
            // exits: a Node worker thread disposes its V8 isolate (and with it every
            // Float64Array view of these slots) before its OS thread ends, and the main
            // thread runs them inside `exit()`, when no more JS runs on it. V8 never reads
            // an external backing store's bytes by itself, and the view's finalizer
            // (`policy_io`) does not touch them.
            drop(unsafe { Box::from_raw(ptr as *mut [f64; IO_SLOTS]) });
        }
    }
}

thread_local! {
    static IO: IoSlots = const { IoSlots(Cell::new(std::ptr::null_mut())) };
}

/// This thread's I/O slots (allocated once per thread, kept until the thread
/// exits, so every view JS holds of them stays valid).
fn io_ptr() -> *mut f64 {
    IO.with(|io| {
        if io.0.get().is_null() {
            let slots: Box<[f64; IO_SLOTS]> = Box::new([0.0; IO_SLOTS]);
            io.0.set(Box::into_raw(slots) as *mut f64);
        }
        io.0.get()
    })
}

/// Runs `f` over this thread's I/O slots.
fn with_io<R>(f: impl FnOnce(&mut [f64; IO_SLOTS]) -> R) -> R {
    // SAFETY: the pointer comes from this thread's `[f64; IO_SLOTS]` (valid until
    // the thread exits, see `IoSlots`) that only this thread uses: JS on this thread reads and writes it between
    // calls, and Rust only inside a synchronous call from that JS, so no other
    // access overlaps this exclusive borrow, which ends before the call returns.
    let slots = unsafe { &mut *(io_ptr() as *mut [f64; IO_SLOTS]) };
    f(slots)
}

/// The `Float64Array` view of this thread's I/O slots.
#[napi(catch_unwind)]
pub fn policy_io(env: &Env) -> Result<Float64ArraySlice<'_>> {
    let ptr = io_ptr();
    // SAFETY: `ptr` points at this thread's IO_SLOTS f64s, which outlive every JS
    // view of them (freed only when the thread exits, see `IoSlots`); the finalizer
    // therefore has nothing to release.
    unsafe { Float64ArraySlice::from_external(env, ptr, IO_SLOTS, (), |_, _| {}) }
}

fn bad_input(msg: &str) -> Error {
    Error::new(Status::InvalidArg, msg.to_owned())
}

thread_local! {
    /// Reused buffers for string arguments (UTF-16 units, then UTF-8).
    static SCRATCH: std::cell::RefCell<(Vec<u16>, String)> =
        std::cell::RefCell::new((Vec::with_capacity(1024), String::with_capacity(1024)));
}

/// Runs `f` over a JS string argument, read without allocating (buffers are
/// reused per thread) and without a UTF-8 length pass.
fn with_string<R>(value: &Unknown, f: impl FnOnce(&str) -> Result<R>) -> Result<R> {
    let env = value.value().env;
    let raw = value.raw();
    SCRATCH.with(|scratch| {
        let mut guard = scratch.borrow_mut();
        let (units, text) = &mut *guard;
        let mut len = 0usize;
        let read = |units: &mut Vec<u16>, len: &mut usize| -> Result<()> {
            // SAFETY: `units` has `capacity()` writable u16s; N-API writes at
            // most that many (including a terminating NUL) and reports the
            // number of units written, which `set_len` then exposes.
            let status = unsafe {
                let status = sys::napi_get_value_string_utf16(
                    env,
                    raw,
                    units.as_mut_ptr(),
                    units.capacity(),
                    len,
                );
                units.set_len(if status == sys::Status::napi_ok {
                    *len
                } else {
                    0
                });
                status
            };
            if status != sys::Status::napi_ok {
                return Err(bad_input("expected a string"));
            }
            Ok(())
        };
        read(units, &mut len)?;
        if len + 1 >= units.capacity() {
            // Possibly truncated: ask for the length, grow, read again.
            // SAFETY: a null buffer asks N-API for the length only.
            let status = unsafe {
                sys::napi_get_value_string_utf16(env, raw, std::ptr::null_mut(), 0, &mut len)
            };
            if status != sys::Status::napi_ok {
                return Err(bad_input("expected a string"));
            }
            units.reserve(len + 2);
            read(units, &mut len)?;
        }
        text.clear();
        if units.iter().fold(0u16, |acc, &u| acc | u) < 0x80 {
            // SAFETY: every unit is ASCII, so the bytes pushed are valid UTF-8.
            unsafe { text.as_mut_vec() }.extend(units.iter().map(|&u| u as u8));
        } else {
            text.extend(char::decode_utf16(units.iter().copied()).map(|c| c.unwrap_or('\u{fffd}')));
        }
        let text: &str = text;
        f(text)
    })
}

/// Builds a policy's facts.
///
/// The general path (request Cache-Control, Pragma, cargo-cult rewrites):
/// `packed` = expires NUL date NUL last-modified NUL age NUL pragma NUL
/// request-cache-control NUL response-cache-control (the rest).
/// Reads io `[status, method, flags, cacheHeuristic, immutableMinTtl, responseTime]`,
/// writes io `[flags, maxAge, ageValue, date, staleWhileRevalidate, staleIfError]`.
/// Returns the rewritten Cache-Control value when `ignoreCargoCult` rewrote
/// it (flag `CARGO_CULT_REWRITTEN`).
#[napi(catch_unwind)]
pub fn policy_new(packed: Unknown) -> Result<Option<String>> {
    with_string(&packed, new_policy)
}

fn new_policy(packed: &str) -> Result<Option<String>> {
    let head = with_io(|io| head(io));
    let flags = head[ex::FLAGS] as u32;
    let mut fields = packed.splitn(7, '\0');
    let mut next = || {
        fields
            .next()
            .ok_or_else(|| bad_input("policyNew: malformed input"))
    };
    let (expires, date, last_modified, age, pragma, request_cc) =
        (next()?, next()?, next()?, next()?, next()?, next()?);
    let response_cc = next()?;
    let present = flags & input_flags::CACHE_CONTROL_PRESENT != 0;
    let (directives, rewritten) = response_directives(
        present.then_some(response_cc),
        pragma,
        flags & input_flags::IGNORE_CARGO_CULT != 0,
    );
    let request_no_store = Directives::parse(request_cc).no_store.truthy();
    // ignoreCargoCult also deletes Expires (and Pragma) from the stored headers.
    let expires = if rewritten.is_some() { "" } else { expires };
    let exchange = exchange(
        head,
        request_no_store,
        directives.summary(),
        HeaderValues::parse(expires, date, last_modified, age),
    );
    write_facts(&exchange, rewritten.is_some());
    Ok(rewritten.flatten())
}

/// The exchange's first slots, which `policyNew` and `policyFacts` both read.
fn head(io: &[f64; IO_SLOTS]) -> [f64; ex::HEAD_LEN] {
    let mut head = [0.0; ex::HEAD_LEN];
    head.copy_from_slice(&io[..ex::HEAD_LEN]);
    head
}

fn method(code: f64) -> Method {
    match code as u32 {
        methods::GET => Method::Get,
        methods::HEAD => Method::Head,
        methods::POST => Method::Post,
        _ => Method::Other,
    }
}

fn exchange(
    head: [f64; ex::HEAD_LEN],
    request_no_store: bool,
    directives: Summary,
    headers: HeaderValues,
) -> Exchange {
    let flags = head[ex::FLAGS] as u32;
    Exchange {
        status: head[ex::STATUS],
        method: method(head[ex::METHOD]),
        shared: flags & input_flags::SHARED != 0,
        no_authorization: flags & input_flags::NO_AUTHORIZATION != 0,
        set_cookie: flags & input_flags::SET_COOKIE != 0,
        vary_star: flags & input_flags::VARY_STAR != 0,
        request_no_store,
        cache_heuristic: head[ex::CACHE_HEURISTIC],
        immutable_min_ttl: head[ex::IMMUTABLE_MIN_TTL],
        response_time: head[ex::RESPONSE_TIME],
        directives,
        headers,
    }
}

fn write_facts(exchange: &Exchange, rewritten: bool) {
    let f = Facts::of(exchange);
    let mut out_flags = 0;
    if f.storable {
        out_flags |= fact_flags::STORABLE;
    }
    if f.must_revalidate {
        out_flags |= fact_flags::MUST_REVALIDATE;
    }
    if f.explicit_expiration {
        out_flags |= fact_flags::EXPLICIT_EXPIRATION;
    }
    if rewritten {
        out_flags |= fact_flags::CARGO_CULT_REWRITTEN;
    }
    with_io(|io| {
        io[fx::FLAGS] = f64::from(out_flags);
        io[fx::MAX_AGE] = f.max_age;
        io[fx::AGE_VALUE] = f.age_value;
        io[fx::DATE] = f.date;
        io[fx::STALE_WHILE_REVALIDATE] = f.stale_while_revalidate;
        io[fx::STALE_IF_ERROR] = f.stale_if_error;
    });
}

/// `policyNew` with every header already reduced to numbers (memoized by the
/// JS shell per distinct value), for exchanges without request Cache-Control,
/// effective Pragma or a cargo-cult rewrite. Reads io `[status, method,
/// flags, cacheHeuristic, immutableMinTtl, responseTime, ccBits, maxAge,
/// sMaxage, staleWhileRevalidate, staleIfError, expires, date, lastModified,
/// age]`, writes the facts like `policyNew`. With `IN_DATES_UNLOADED` the
/// date slots are not filled: if the lifetime needs them, only io[0] =
/// `NEEDS_DATES` is written; otherwise the facts, whose `date` is then unknown.
#[napi(catch_unwind)]
pub fn policy_facts() {
    panic_point("policyFacts");
    let io = with_io(|io| *io);
    let flags = io[ex::FLAGS] as u32;
    let directives = Summary {
        bits: io[ex::CC_BITS] as u32,
        max_age: io[ex::MAX_AGE],
        s_maxage: io[ex::S_MAXAGE],
        stale_while_revalidate: io[ex::STALE_WHILE_REVALIDATE],
        stale_if_error: io[ex::STALE_IF_ERROR],
    };
    let headers = HeaderValues {
        expires: (flags & input_flags::EXPIRES_PRESENT != 0).then_some(io[ex::EXPIRES]),
        date: io[ex::DATE],
        last_modified: io[ex::LAST_MODIFIED],
        age: io[ex::AGE],
    };
    let request_no_store = flags & input_flags::REQUEST_NO_STORE != 0;
    let exchange = exchange(head(&io), request_no_store, directives, headers);
    if flags & input_flags::DATES_UNLOADED != 0 && needs_dates(&exchange) {
        // Ask for the dates; `date` is then unknown until they are loaded.
        with_io(|io| io[fx::FLAGS] = f64::from(fact_flags::NEEDS_DATES));
        return;
    }
    write_facts(&exchange, false);
}

/// The Date to count from: reads the `server_date` slots (the Date in ms, NaN
/// if absent or invalid; the response time).
#[napi(catch_unwind)]
pub fn policy_server_date() -> f64 {
    let (date, response_time) =
        with_io(|io| (io[server_date::DATE], io[server_date::RESPONSE_TIME]));
    date_to_count_from(date, response_time)
}

/// A response Cache-Control value as numbers: writes io
/// `[bits, maxAge, sMaxage, staleWhileRevalidate, staleIfError]`.
#[napi(catch_unwind)]
pub fn policy_summary(cache_control: Unknown) -> Result<()> {
    with_string(&cache_control, |cc| {
        panic_point("policySummary");
        let s = Directives::parse(cc).summary();
        with_io(|io| {
            io[summary::BITS] = f64::from(s.bits);
            io[summary::MAX_AGE] = s.max_age;
            io[summary::S_MAXAGE] = s.s_maxage;
            io[summary::STALE_WHILE_REVALIDATE] = s.stale_while_revalidate;
            io[summary::STALE_IF_ERROR] = s.stale_if_error;
        });
        Ok(())
    })
}

/// Up to three HTTP-dates, NUL-separated (empty = absent), in ms: writes
/// io `[first, second, third]`, NaN where absent or not a date.
#[napi(catch_unwind)]
pub fn policy_dates(packed: Unknown) -> Result<()> {
    with_string(&packed, |s| {
        let mut values = s.splitn(3, '\0').map(date_or_nan);
        let mut next = || values.next().unwrap_or(f64::NAN);
        let (expires, date, last_modified) = (next(), next(), next());
        with_io(|io| {
            io[dates::EXPIRES] = expires;
            io[dates::DATE] = date;
            io[dates::LAST_MODIFIED] = last_modified;
        });
        Ok(())
    })
}

/// `toNumberOrZero(value)` (the Age header's seconds, a directive's value).
#[napi(catch_unwind)]
pub fn policy_number_or_zero(value: Unknown) -> Result<f64> {
    with_string(&value, |s| Ok(to_number_or_zero(s)))
}

/// A policy's facts and `now` from the `time` slots.
fn timed_facts(io: &[f64; IO_SLOTS]) -> (Facts, f64) {
    let flags = io[time::FLAGS] as u32;
    let facts = Facts {
        storable: flags & fact_flags::STORABLE != 0,
        must_revalidate: flags & fact_flags::MUST_REVALIDATE != 0,
        explicit_expiration: flags & fact_flags::EXPLICIT_EXPIRATION != 0,
        max_age: io[time::MAX_AGE],
        age_value: io[time::AGE_VALUE],
        date: f64::NAN,
        stale_while_revalidate: io[time::STALE_WHILE_REVALIDATE],
        stale_if_error: io[time::STALE_IF_ERROR],
        response_time: io[time::RESPONSE_TIME],
    };
    (facts, io[time::NOW])
}

/// A clock-dependent rule. Reads io `[op, flags, maxAge, ageValue,
/// responseTime, staleWhileRevalidate, staleIfError, now]`; `op` 0 age (s),
/// 1 timeToLive (ms), 2 stale, 3 useStaleWhileRevalidate, 4 stale-if-error
/// window open, 5 warning 113 due (booleans as 1/0).
#[napi(catch_unwind)]
pub fn policy_time() -> f64 {
    let (op, (f, now)) = with_io(|io| (io[time::OP] as u32, timed_facts(io)));
    let b = |v: bool| if v { 1.0 } else { 0.0 };
    match op {
        time_ops::AGE => f.age(now),
        time_ops::TIME_TO_LIVE => f.time_to_live(now),
        time_ops::STALE => b(f.stale(now)),
        time_ops::USE_STALE_WHILE_REVALIDATE => b(f.use_stale_while_revalidate(now)),
        time_ops::STALE_IF_ERROR => b(f.use_stale_if_error(now)),
        _ => b(f.heuristic_warning(now)),
    }
}

/// How the stored response may serve a request that matches it: 0 revalidate
/// first, 1 serve, 2 serve and revalidate in the background. Reads io
/// `[_, flags, maxAge, ageValue, responseTime, staleWhileRevalidate, staleIfError, now]`
/// (the `policyTime` layout); the request's Cache-Control and Pragma, if any,
/// are the arguments.
#[napi(catch_unwind)]
pub fn policy_evaluate(cache_control: Option<String>, pragma: Option<String>) -> u32 {
    let (f, now) = with_io(|io| timed_facts(io));
    let req = Presented {
        matches: true,
        cache_control: cache_control.as_deref().unwrap_or(""),
        pragma: pragma.as_deref().unwrap_or(""),
    };
    evaluate(&f, &req, now) as u32
}

/// `policyEvaluate` for a request without Cache-Control or Pragma.
#[napi(catch_unwind)]
pub fn policy_evaluate_plain() -> u32 {
    panic_point("policyEvaluatePlain");
    policy_evaluate(None, None)
}

/// Directives as NUL-terminated `k` / `k=v` entries, for `toObject()`
/// (`pragma` and `ignoreCargoCult` as at construction).
#[napi(catch_unwind)]
pub fn policy_directives(
    cache_control: Option<String>,
    pragma: Option<String>,
    ignore_cargo_cult: bool,
) -> String {
    let (cc, _) = response_cache_control(
        cache_control.as_deref(),
        pragma.as_deref().unwrap_or(""),
        ignore_cargo_cult,
    );
    cc.to_entries()
}

/// The names of hop-by-hop fields (RFC 9110 §7.6.1, plus `date`), comma-separated;
/// the JS shell reads them once.
#[napi(catch_unwind)]
pub fn policy_hop_by_hop() -> String {
    HOP_BY_HOP.join(",")
}

/// The field names a Connection header lists, each NUL-terminated.
#[napi(catch_unwind)]
pub fn policy_connection_tokens(connection: String) -> String {
    let mut out = String::with_capacity(connection.len() + 1);
    for token in connection_tokens(&connection) {
        out.push_str(token);
        out.push('\0');
    }
    out
}

/// A Warning value without 1xx warnings; null if none remain.
#[napi(catch_unwind)]
pub fn policy_drop_1xx_warnings(warning: String) -> Option<String> {
    drop_1xx_warnings(&warning)
}

/// If-None-Match without weak entity-tags; null if none remain.
#[napi(catch_unwind)]
pub fn policy_drop_weak_etags(if_none_match: String) -> Option<String> {
    drop_weak_etags(&if_none_match)
}

/// Whether a revalidation response selects the stored response for update.
#[napi(catch_unwind)]
pub fn policy_revalidation_matches(
    not_modified: bool,
    stored_etag: Option<String>,
    stored_last_modified: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
) -> bool {
    revalidation_matches(
        not_modified,
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

/// Whether a status is a server error that allows stale-if-error.
#[napi(catch_unwind)]
pub fn policy_is_error_status(status: f64) -> bool {
    is_error_status(status)
}
