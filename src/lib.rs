pub mod http;
pub mod napi;
pub mod redis;
pub mod store;

// The fuzz checks name the crate `ferrocache`, as the fuzz crate sees it.
#[cfg(test)]
extern crate self as ferrocache;
#[cfg(test)]
mod fuzz_regressions;
