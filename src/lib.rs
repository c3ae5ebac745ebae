// No panicking shortcuts outside tests (a panic is caught at the N-API
// boundary, but it is still a failed call), and every `unsafe` block says why
// it is sound.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::undocumented_unsafe_blocks
)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

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
