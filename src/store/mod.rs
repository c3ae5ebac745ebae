//! Storage cores. Pure Rust, no N-API: callers pass the clock (`now`, ms).

pub mod coherent_pages;
pub mod entry;
pub mod expiry;
pub mod lru_slab;
pub mod memory;
pub mod named;
pub mod page_record;
pub mod pages;
pub mod sqlite;
pub mod tag_versions;
pub mod tags;
