pub mod http;
pub mod napi;
pub mod store;
