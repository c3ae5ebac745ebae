//! Test-only panic hooks: prove that a panic inside an export's body becomes
//! a JS `Error` instead of aborting the process (see docs/SECURITY.md).
//!
//! The hooks exist only in a debug build with the `panic-hooks` feature
//! (`npm run build:panic-hooks`, which `npm test` runs into
//! `target/panic-hooks/`); the release addon and `npm run build:debug` carry
//! none of this: `panic_point` is then an empty inline function.

#[cfg(all(debug_assertions, feature = "panic-hooks"))]
pub mod hooks {
    use napi::bindgen_prelude::*;
    use napi_derive::napi;
    use parking_lot::Mutex;

    /// The exports that contain a panic point (the name JS calls them by).
    pub const SITES: &[&str] = &[
        "memoryStoreLookup",
        "memoryStoreCommit",
        "sqliteStoreFind",
        "sqliteStoreReadAsync",
        "policyFacts",
        "policySummary",
        "policyEvaluatePlain",
        "pageCacheGet",
    ];

    /// The site armed to panic next. Global, not thread-local: the
    /// `sqliteStoreReadAsync` site runs on a libuv pool thread.
    static ARMED: Mutex<Option<&'static str>> = Mutex::new(None);

    /// Panics if `site` is armed (and disarms it first, so the next call
    /// through the same export runs normally).
    pub fn panic_point(site: &'static str) {
        let mut armed = ARMED.lock();
        if *armed == Some(site) {
            *armed = None;
            drop(armed);
            panic!("ferrocache: forced panic in {site}");
        }
    }

    /// `__forcePanic()` panics right here; `__forcePanic(site)` arms `site`
    /// (one of `SITES`) so the next call of that export panics inside its body.
    #[napi(catch_unwind, js_name = "__forcePanic")]
    pub fn force_panic(site: Option<String>) -> Result<()> {
        let Some(site) = site else {
            panic!("ferrocache: forced panic in __forcePanic");
        };
        match SITES.iter().find(|s| **s == site) {
            Some(s) => {
                *ARMED.lock() = Some(s);
                Ok(())
            }
            None => Err(Error::new(
                Status::InvalidArg,
                format!("__forcePanic: unknown site '{site}', expected one of {SITES:?}"),
            )),
        }
    }

    /// The sites `__forcePanic` accepts.
    #[napi(catch_unwind, js_name = "__panicSites")]
    pub fn panic_sites() -> Vec<&'static str> {
        SITES.to_vec()
    }
}

#[cfg(all(debug_assertions, feature = "panic-hooks"))]
pub use hooks::panic_point;

/// Without the hooks: nothing (inlined away).
#[cfg(not(all(debug_assertions, feature = "panic-hooks")))]
#[inline(always)]
pub fn panic_point(_site: &'static str) {}

/// Runs `f`, turning a panic into an `Err` with the panic message (what
/// `#[napi(catch_unwind)]` does for a synchronous export), for code napi-rs
/// calls outside that boundary (`Task::compute` / `Task::resolve`).
pub fn catch_panic<T>(f: impl FnOnce() -> napi::Result<T>) -> napi::Result<T> {
    // AssertUnwindSafe: the closures given here only read (a SQLite row, in
    // one statement under the connection lock, which parking_lot releases on
    // unwind) or convert what was read; nothing is left half-updated.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic from Rust code".to_owned());
        Err(napi::Error::new(napi::Status::GenericFailure, message))
    })
}
