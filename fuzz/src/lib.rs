//! The fuzz targets' bodies (`checks`), over ferrocache's HTTP rules.
//!
//! `src/http/` is compiled here from the main crate's own source files
//! rather than through a dependency on the `ferrocache` package: that module
//! is pure Rust with no dependencies, while the package would pull in the
//! bundled SQLite (a C build of minutes under the fuzzer's flags) and N-API
//! registrations that cannot link outside Node. The code under test is the
//! same file for file; `ferrocache::http::…` paths resolve to it.
//!
//! `src/fuzz_regressions.rs` in the main crate includes `checks.rs` too, so
//! `cargo test` replays `fuzz/regressions/` through exactly the code the
//! fuzzer runs.

extern crate self as ferrocache;

#[path = "../../src/http/mod.rs"]
pub mod http;

pub mod checks;
