//! The only Rust that knows N-API: converts arguments, calls the core, maps
//! errors. Hot paths are free functions over an `External` handle (a class
//! method costs ~3x more per call in napi-rs 3.16, see docs/ARCHITECTURE.md).
//! Every export is `catch_unwind`: a panic becomes a JS exception.

pub mod cache_policy;
pub mod convert;
pub mod handles;
pub mod memory_store;
pub mod page_cache;
pub mod panic_hooks;
pub mod sqlite_store;
pub mod wire;
pub mod writers;

use napi_derive::napi;

/// An empty call: the N-API floor the benchmark reports.
#[napi(catch_unwind)]
pub fn noop() {}
