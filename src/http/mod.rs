//! HTTP semantics building blocks (RFC 9110 / RFC 9111). Pure Rust, no N-API.

pub mod vary;
