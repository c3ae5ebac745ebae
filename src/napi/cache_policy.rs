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
    response_directives, revalidation_matches, server_date, Exchange, Facts, HeaderValues, Method,
    Presented, Validators,
};

// Input flags (policyNew).
const IN_SHARED: u32 = 1;
const IN_IGNORE_CARGO_CULT: u32 = 2;
const IN_NO_AUTHORIZATION: u32 = 4;
const IN_SET_COOKIE: u32 = 8;
const IN_VARY_STAR: u32 = 16;
const IN_CACHE_CONTROL_PRESENT: u32 = 32;
const IN_REQUEST_NO_STORE: u32 = 128;
const IN_EXPIRES_PRESENT: u32 = 256;
const IN_DATES_UNLOADED: u32 = 512;

// Fact flags (io[0] after policyNew, and the flags slot of the clock-dependent rules).
const STORABLE: u32 = 1;
const MUST_REVALIDATE: u32 = 2;
const EXPLICIT_EXPIRATION: u32 = 4;
const CARGO_CULT_REWRITTEN: u32 = 8;
const NEEDS_DATES: u32 = 16;

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
pub(super) fn with_io<R>(f: impl FnOnce(&mut [f64; IO_SLOTS]) -> R) -> R {
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
    let [status, method, flags, cache_heuristic, immutable_min_ttl, response_time, ..] =
        with_io(|io| *io);
    let flags = flags as u32;
    let mut fields = packed.splitn(7, '\0');
    let mut next = || {
        fields
            .next()
            .ok_or_else(|| bad_input("policyNew: malformed input"))
    };
    let (expires, date, last_modified, age, pragma, request_cc) =
        (next()?, next()?, next()?, next()?, next()?, next()?);
    let response_cc = next()?;
    let present = flags & IN_CACHE_CONTROL_PRESENT != 0;
    let (directives, rewritten) = response_directives(
        present.then_some(response_cc),
        pragma,
        flags & IN_IGNORE_CARGO_CULT != 0,
    );
    let request_no_store = Directives::parse(request_cc).no_store.truthy();
    // ignoreCargoCult also deletes Expires (and Pragma) from the stored headers.
    let expires = if rewritten.is_some() { "" } else { expires };
    let exchange = exchange(
        [
            status,
            method,
            f64::from(flags),
            cache_heuristic,
            immutable_min_ttl,
            response_time,
        ],
        request_no_store,
        directives.summary(),
        HeaderValues::parse(expires, date, last_modified, age),
    );
    write_facts(&exchange, rewritten.is_some());
    Ok(rewritten.flatten())
}

fn exchange(
    [status, method, flags, cache_heuristic, immutable_min_ttl, response_time]: [f64; 6],
    request_no_store: bool,
    directives: Summary,
    headers: HeaderValues,
) -> Exchange {
    let flags = flags as u32;
    Exchange {
        status,
        method: Method::from_code(method as u32),
        shared: flags & IN_SHARED != 0,
        no_authorization: flags & IN_NO_AUTHORIZATION != 0,
        set_cookie: flags & IN_SET_COOKIE != 0,
        vary_star: flags & IN_VARY_STAR != 0,
        request_no_store,
        cache_heuristic,
        immutable_min_ttl,
        response_time,
        directives,
        headers,
    }
}

fn write_facts(exchange: &Exchange, rewritten: bool) {
    let f = Facts::of(exchange);
    let mut out_flags = 0;
    if f.storable {
        out_flags |= STORABLE;
    }
    if f.must_revalidate {
        out_flags |= MUST_REVALIDATE;
    }
    if f.explicit_expiration {
        out_flags |= EXPLICIT_EXPIRATION;
    }
    if rewritten {
        out_flags |= CARGO_CULT_REWRITTEN;
    }
    with_io(|io| {
        io[..6].copy_from_slice(&[
            f64::from(out_flags),
            f.max_age,
            f.age_value,
            f.date,
            f.stale_while_revalidate,
            f.stale_if_error,
        ])
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
    let flags = io[2] as u32;
    let directives = Summary {
        bits: io[6] as u32,
        max_age: io[7],
        s_maxage: io[8],
        stale_while_revalidate: io[9],
        stale_if_error: io[10],
    };
    let headers = HeaderValues {
        expires: (flags & IN_EXPIRES_PRESENT != 0).then_some(io[11]),
        date: io[12],
        last_modified: io[13],
        age: io[14],
    };
    let head = [io[0], io[1], io[2], io[3], io[4], io[5]];
    let exchange = exchange(head, flags & IN_REQUEST_NO_STORE != 0, directives, headers);
    if flags & IN_DATES_UNLOADED != 0 && needs_dates(&exchange) {
        // Ask for the dates; `date` is then unknown until they are loaded.
        with_io(|io| io[0] = f64::from(NEEDS_DATES));
        return;
    }
    write_facts(&exchange, false);
}

/// The Date to count from: io `[dateMs (NaN if absent/invalid), responseTime]`.
#[napi(catch_unwind)]
pub fn policy_server_date() -> f64 {
    let [date, response_time, ..] = with_io(|io| *io);
    server_date(date, response_time)
}

/// A response Cache-Control value as numbers: writes io
/// `[bits, maxAge, sMaxage, staleWhileRevalidate, staleIfError]`.
#[napi(catch_unwind)]
pub fn policy_summary(cache_control: Unknown) -> Result<()> {
    with_string(&cache_control, |cc| {
        panic_point("policySummary");
        let s = Directives::parse(cc).summary();
        with_io(|io| {
            io[..5].copy_from_slice(&[
                f64::from(s.bits),
                s.max_age,
                s.s_maxage,
                s.stale_while_revalidate,
                s.stale_if_error,
            ])
        });
        Ok(())
    })
}

/// Up to three HTTP-dates, NUL-separated (empty = absent), in ms: writes
/// io `[first, second, third]`, NaN where absent or not a date.
#[napi(catch_unwind)]
pub fn policy_dates(packed: Unknown) -> Result<()> {
    with_string(&packed, |s| {
        let mut dates = [f64::NAN; 3];
        for (slot, value) in dates.iter_mut().zip(s.splitn(3, '\0')) {
            *slot = date_or_nan(value);
        }
        with_io(|io| io[..3].copy_from_slice(&dates));
        Ok(())
    })
}

/// `toNumberOrZero(value)` (the Age header's seconds, a directive's value).
#[napi(catch_unwind)]
pub fn policy_number_or_zero(value: Unknown) -> Result<f64> {
    with_string(&value, |s| Ok(to_number_or_zero(s)))
}

fn facts(
    flags: u32,
    max_age: f64,
    age_value: f64,
    response_time: f64,
    swr: f64,
    sie: f64,
) -> Facts {
    Facts {
        storable: flags & STORABLE != 0,
        must_revalidate: flags & MUST_REVALIDATE != 0,
        explicit_expiration: flags & EXPLICIT_EXPIRATION != 0,
        max_age,
        age_value,
        date: f64::NAN,
        stale_while_revalidate: swr,
        stale_if_error: sie,
        response_time,
    }
}

/// A clock-dependent rule. Reads io `[op, flags, maxAge, ageValue,
/// responseTime, staleWhileRevalidate, staleIfError, now]`; `op` 0 age (s),
/// 1 timeToLive (ms), 2 stale, 3 useStaleWhileRevalidate, 4 stale-if-error
/// window open, 5 warning 113 due (booleans as 1/0).
#[napi(catch_unwind)]
pub fn policy_time() -> f64 {
    let [op, flags, max_age, age_value, response_time, swr, sie, now, ..] = with_io(|io| *io);
    let f = facts(flags as u32, max_age, age_value, response_time, swr, sie);
    let b = |v: bool| if v { 1.0 } else { 0.0 };
    match op as u32 {
        0 => f.age(now),
        1 => f.time_to_live(now),
        2 => b(f.stale(now)),
        3 => b(f.use_stale_while_revalidate(now)),
        4 => b(f.use_stale_if_error(now)),
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
    let [_, flags, max_age, age_value, response_time, swr, sie, now, ..] = with_io(|io| *io);
    let f = facts(flags as u32, max_age, age_value, response_time, swr, sie);
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
