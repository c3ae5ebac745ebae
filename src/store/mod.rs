//! Storage cores. Pure Rust, no N-API: callers pass the clock (`now`, ms).

pub mod entry;
pub mod lru;
pub mod memory;
