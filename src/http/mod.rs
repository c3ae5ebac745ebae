//! HTTP semantics building blocks (RFC 9110 / RFC 9111). Pure Rust, no N-API.

pub mod cache_control;
pub mod date;
pub mod headers;
pub mod policy;
pub mod range;
pub mod stored_response;
pub mod vary;
