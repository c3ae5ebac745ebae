pub mod http;
pub mod napi;
pub mod store;

// The fuzz checks name the crate `ferrocache`, as the fuzz crate sees it.
#[cfg(test)]
extern crate self as ferrocache;
#[cfg(test)]
mod fuzz_regressions;

/// Every Rust allocation of the addon (entry bodies, metadata, indexes) goes
/// to mimalloc rather than glibc malloc: see docs/ARCHITECTURE.md
/// ("Allocator") for the measurement behind the choice.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
