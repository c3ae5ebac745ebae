//! The Redis tier: tokio + redis-rs, no N-API (the binding in `src/napi/`
//! resolves JS Promises from the futures here).
//!
//! # Public API (used by `RedisCacheStore` and the page cache)
//!
//! - [`runtime::runtime`]`() -> Result<&'static Runtime, String>`: the addon's
//!   one tokio runtime (1 worker thread, measured best, created on first use, never shut
//!   down; its threads never keep Node's event loop alive). Spawn futures on
//!   it with [`RedisClient::spawn`] or `runtime()?.spawn(..)`.
//! - [`ClientOptions`] `{ urls, cluster, command_timeout }` and
//!   [`RedisClient::open`]`(&options) -> Result<RedisClient, OpenError>`: the
//!   process-wide client for those options (a registry of weak references:
//!   every store and worker thread naming the same URLs and options shares
//!   one client, freed with its last user). Opening never connects: an
//!   unreachable server is found by the first call. `OpenError::BadUrl` names
//!   the URL (password redacted, see [`client::redact`]). Several URLs or
//!   `cluster: true` select Redis Cluster (redis-rs `cluster-async`, connected
//!   on first use); pub/sub then runs on a connection to the first URL
//!   (PUBLISH reaches every node of a cluster).
//! - [`RedisClient::call`]`(|conn| async { ... })`: runs redis-rs commands on a
//!   [`RedisConnection`] (implements `redis::aio::ConnectionLike`, so
//!   `cmd.query_async(&mut conn)` and `script.key(..).invoke_async(&mut conn)`
//!   work) under the `command_timeout` deadline and the circuit breaker:
//!   - `Err(CallError::Unavailable)` at once while the breaker is open;
//!   - the first timeout (`CallError::Timeout`) or connection error
//!     (`CallError::Redis`) opens it; a background `PING` (25 ms, doubling to
//!     1 s) closes it when Redis answers within the deadline;
//!   - error replies (e.g. `WRONGTYPE`) are returned but do not open it.
//!
//!   [`RedisClient::query`]`(&cmd)` is the one-command shorthand.
//! - Pub/sub: [`RedisClient::subscribe`]`(channel, listener) -> Subscription`.
//!   The listener (`Arc<dyn Fn(BusEvent) + Send + Sync>`, called on a runtime
//!   thread, must not block) gets `BusEvent::Message(&[u8])` for each message
//!   and `BusEvent::Resync` whenever messages may have been missed: when the
//!   connection drops and again when the channel is resubscribed on the new
//!   connection (redis-rs resubscribes by itself). Clear or re-read an L1 on
//!   `Resync`. `Subscription::is_live()` tells whether messages published
//!   from now on will arrive (fill an L1 only then); drop the `Subscription`
//!   to stop. Single server: commands and subscriptions share one RESP3
//!   connection, so replies and messages arrive in the order Redis produced
//!   them.
//! - [`RedisClient::bus_epoch`]: bumped on every disconnect and
//!   (re)subscription. Read it before a call and after: if it changed, do not
//!   fill an L1 from that reply.
//! - Counters: [`RedisClient::errors`], [`RedisClient::reconnects`]
//!   (re-established pub/sub connections), [`RedisClient::is_available`].
//! - [`store`]: the `RedisCacheStore` core, a model for other Redis-backed
//!   caches: `RedisStore::new(client, StoreOptions { key_prefix, l1, max_entry_size })`
//!   subscribes `<prefix>invalidate` when it has an L1; `fetch(key, now)`,
//!   `write(key, NewVariant)` and `delete(key)` do their synchronous part at
//!   once (the local L1 forgets the key) and return a `Send + 'static` future
//!   to spawn; writes are one Lua script that also `PUBLISH`es, so a write
//!   that lands late still invalidates. L1 fills are guarded by the bus
//!   epoch, a resync generation and a per-key-hash invalidation counter read
//!   before the call and checked (under the message handler's lock) after it.
//!
//! The N-API side: `src/napi/redis_port.rs` (`spawn_completion`: results of
//! hot-path calls to JS in batches through one unref'd threadsafe function
//! per thread) and `src/napi/redis_client.rs` (`spawn_promise`: a Promise per
//! call; `redisClientOpen/Command/State/Subscribe` for JS).

pub mod client;
// The multi-instance page cache of `ferrocache/vsf` (added beside the foundation).
pub mod pages;
pub mod runtime;
pub mod store;
#[cfg(test)]
mod tests;

pub use client::{
    BusEvent, CallError, ClientOptions, Listener, OpenError, RedisClient, RedisConnection,
    Subscription,
};
