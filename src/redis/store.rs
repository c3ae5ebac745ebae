//! `RedisStore`: the core of `RedisCacheStore` (undici's cache store on Redis,
//! shared by every instance), with an optional in-process L1 (our memory
//! store core) kept coherent by pub/sub.
//!
//! # Key layout
//! One Redis hash per resource (origin + path): `{keyPrefix}{<len>:<origin><path>}`
//! (`len` = origin bytes; the braces are the Cluster hash tag, so every command
//! of one operation stays in one slot). Its fields, per variant (method +
//! Vary'd request header values, see `lib/vary.js#variantKey`):
//! - `m:<method>\n<variant>` = `<deleteAt>\n<seq>\n<metadata JSON>`
//! - `b:<method>\n<variant>` = the body, binary
//! - `#seq`: the write counter; `seq` orders variants by write.
//!
//! All variants of a URL come back with one `HGETALL`. A write is one Lua
//! script: it drops the variants the writing request would be served and the
//! expired ones, stores metadata and body, sets the key's expiry, and
//! `PUBLISH`es the key on `{keyPrefix}invalidate`; a delete is `DEL` +
//! `PUBLISH` in one script. So a write that lands late (after the client gave
//! up on it) still invalidates every L1.
//!
//! # Coherence of the L1
//! Each store subscribes to its channel; a message removes the key from the
//! L1, a `Resync` (disconnect, resubscription) clears the L1. A reply fills the
//! L1 only if the subscription is live and nothing that could have made the
//! reply stale arrived while it was in flight: neither the bus epoch, nor the
//! store's resync generation, nor the key's invalidation counter changed
//! (checked under the lock the message handler takes).

use std::future::Future;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use ::redis::{Script, Value};
use bytes::Bytes;
use parking_lot::Mutex;

use super::client::{BusEvent, CallError, RedisClient, Subscription};
use crate::http::vary::{HeaderValue, RequestHeaders};
use crate::store::entry::{Method, NewEntry};
use crate::store::memory::{Limits, MemoryStore, Served};
use crate::store::named::Registry;

/// What a store is opened with (besides its client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Every key (and the invalidation channel) starts with it.
    pub key_prefix: String,
    /// Limits of the in-process tier; `None`: no L1.
    pub l1: Option<Limits>,
    /// Largest body stored, in bytes (a body of exactly this size is kept).
    pub max_entry_size: u64,
}

/// One stored variant as read from Redis.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVariant {
    pub method: String,
    /// The variant key (`lib/vary.js#variantKey`).
    pub variant: String,
    /// The shell's metadata JSON.
    pub meta: Bytes,
    pub body: Bytes,
    pub delete_at: f64,
    pub seq: u64,
}

/// A complete response to store.
#[derive(Debug, Clone)]
pub struct NewVariant {
    pub method: String,
    pub variant: String,
    pub meta: String,
    pub body: Vec<u8>,
    /// Caller's clock, ms.
    pub delete_at: f64,
    pub now: f64,
    /// Every request header, encoded as a variant key is (`lib/vary.js`), so
    /// the script can tell which stored variants the request would be served.
    pub request: String,
}

/// Counters of one store (shared by its handles).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub l1_hits: u64,
    pub l2_hits: u64,
    pub misses: u64,
    pub writes: u64,
    pub errors: u64,
    pub reconnects: u64,
}

const COUNTERS: usize = 4096;

/// The L1 and what guards its fills.
struct Coherent {
    l1: MemoryStore,
    /// Invalidations per key hash (a key's counter moved: a reply read before
    /// may be stale).
    counters: Box<[AtomicU64]>,
    /// Bumped on every resync (L1 cleared).
    generation: AtomicU64,
    /// Held by the message handler and by fills, so a fill's check and its
    /// insert see no invalidation in between.
    lock: Mutex<()>,
}

impl Coherent {
    fn slot(&self, key: &[u8]) -> usize {
        let h = foldhash::fast::FixedState::with_seed(0x6665_7272_6f63_6163).hash_one(key);
        (h as usize) % COUNTERS
    }

    fn invalidate(&self, key: &[u8]) {
        let _g = self.lock.lock();
        self.counters[self.slot(key)].fetch_add(1, Ordering::SeqCst);
        self.l1.delete(key);
    }

    fn resync(&self) {
        let _g = self.lock.lock();
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.l1.clear();
    }
}

/// Taken before a read; a fill happens only if it still holds after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillGuard {
    epoch: u64,
    generation: u64,
    counter: u64,
}

/// A request that never matches a stored Vary: fills copy Redis' variants as
/// they are, without the write-time replacement rule.
struct NoRequest;

impl RequestHeaders for NoRequest {
    fn header(&mut self, _: &str) -> HeaderValue {
        HeaderValue::Invalid
    }
}

// KEYS[1] the URL's hash. ARGV: 1 channel, 2 field id (method "\n" variant),
// 3 method, 4 metadata JSON, 5 body, 6 deleteAt and 7 now (caller's clock, ms),
// 8 the request's headers encoded as a variant key.
const WRITE_LUA: &str = r#"
local key = KEYS[1]
local id = ARGV[2]
local method = ARGV[3]
local now = tonumber(ARGV[7])
local req = {}
for field in string.gmatch(ARGV[8], '[^\1]+') do
  local name, value = string.match(field, '^([^%z]*)%z(.*)$')
  if name then req[name] = value end
end
-- Whether the writing request would be served this variant (RFC 9111 §4.1).
local function serves(variant)
  for field in string.gmatch(variant, '[^\1]+') do
    local name, value = string.match(field, '^([^%z]*)%z(.*)$')
    if value == 'n' then
      if req[name] ~= nil then return false end
    elseif req[name] ~= value then
      return false
    end
  end
  return true
end
for _, f in ipairs(redis.call('HKEYS', key)) do
  if string.sub(f, 1, 2) == 'm:' then
    local fid = string.sub(f, 3)
    local m = redis.call('HGET', key, f)
    local deleteAt = tonumber(string.match(m, '^([^\n]*)')) or 0
    local fmethod, variant = string.match(fid, '^([^\n]*)\n(.*)$')
    if fid == id or deleteAt <= now or (fmethod == method and serves(variant or '')) then
      redis.call('HDEL', key, f, 'b:' .. fid)
    end
  end
end
local seq = redis.call('HINCRBY', key, '#seq', 1)
redis.call('HSET', key, 'm:' .. id, ARGV[6] .. '\n' .. seq .. '\n' .. ARGV[4], 'b:' .. id, ARGV[5])
-- Expire at deleteAt on the caller's clock or as far from Redis' clock as
-- from the caller's, whichever is later: skewed or faked clocks never drop an
-- entry early (reads check deleteAt against the caller's clock).
local t = redis.call('TIME')
local rnow = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deleteAt = tonumber(ARGV[6])
local at = math.max(deleteAt, rnow + deleteAt - now)
local ttl = redis.call('PTTL', key)
if ttl < 0 or at > rnow + ttl then
  redis.call('PEXPIREAT', key, string.format('%.0f', at))
end
redis.call('PUBLISH', ARGV[1], key)
return seq
"#;

const DELETE_LUA: &str = r#"
local n = redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], KEYS[1])
return n
"#;

/// A time as the integer text the scripts read (clamped to dates JS can hold).
fn millis(x: f64) -> String {
    let x = if x.is_nan() {
        0.0
    } else {
        x.clamp(-8.64e15, 8.64e15)
    };
    format!("{}", x.ceil() as i64)
}

/// The store core. `Send + Sync`; shared by every handle of a named store.
pub struct RedisStore {
    client: RedisClient,
    options: StoreOptions,
    channel: String,
    coherent: Option<Arc<Coherent>>,
    subscription: Option<Subscription>,
    write_script: Script,
    delete_script: Script,
    l2_hits: AtomicU64,
    misses: AtomicU64,
    writes: AtomicU64,
    errors: AtomicU64,
}

static NAMED: Registry<RedisStore> = Registry::new();

/// A named store already open with other options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsMismatch;

impl RedisStore {
    /// A store over `client`; subscribes to its invalidation channel when it
    /// has an L1.
    pub fn new(client: RedisClient, options: StoreOptions) -> RedisStore {
        let channel = format!("{}invalidate", options.key_prefix);
        let coherent = options.l1.map(|limits| {
            Arc::new(Coherent {
                l1: MemoryStore::new(limits),
                counters: (0..COUNTERS).map(|_| AtomicU64::new(0)).collect(),
                generation: AtomicU64::new(0),
                lock: Mutex::new(()),
            })
        });
        let subscription = coherent.as_ref().map(|c| {
            let weak: Weak<Coherent> = Arc::downgrade(c);
            client.subscribe(
                &channel,
                Arc::new(move |event: BusEvent<'_>| {
                    let Some(c) = weak.upgrade() else { return };
                    match event {
                        BusEvent::Message(key) => c.invalidate(key),
                        BusEvent::Resync => c.resync(),
                    }
                }),
            )
        });
        RedisStore {
            client,
            options,
            channel,
            coherent,
            subscription,
            write_script: Script::new(WRITE_LUA),
            delete_script: Script::new(DELETE_LUA),
            l2_hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    /// The process-wide store called `name` (its first opener's client and
    /// options); a later opener must ask for the same options and client.
    pub fn open_named(
        name: &str,
        client: RedisClient,
        options: StoreOptions,
    ) -> Result<Arc<RedisStore>, OptionsMismatch> {
        let client_options = client.options().clone();
        let wanted = options.clone();
        NAMED.open(
            name,
            || RedisStore::new(client, options),
            |s| {
                if s.options == wanted && *s.client.options() == client_options {
                    Ok(())
                } else {
                    Err(OptionsMismatch)
                }
            },
        )
    }

    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    pub fn client(&self) -> &RedisClient {
        &self.client
    }

    /// The L1, if any (the binding serves synchronous hits from it).
    pub fn l1(&self) -> Option<&MemoryStore> {
        self.coherent.as_ref().map(|c| &c.l1)
    }

    /// Whether the L1 is kept coherent now (its invalidation channel is
    /// subscribed on the current connection); fills happen only then.
    pub fn is_coherent(&self) -> bool {
        self.subscription
            .as_ref()
            .is_some_and(Subscription::is_live)
    }

    /// The Redis key of a resource (also its L1 key and invalidation message).
    pub fn key(&self, origin: &str, path: &str) -> Vec<u8> {
        let mut key = Vec::new();
        self.write_key(&mut key, origin, path);
        key
    }

    /// [`RedisStore::key`] into a reused buffer (the L1 hit path allocates nothing).
    pub fn write_key(&self, out: &mut Vec<u8>, origin: &str, path: &str) {
        let p = &self.options.key_prefix;
        out.clear();
        out.reserve(p.len() + origin.len() + path.len() + 24);
        out.extend_from_slice(p.as_bytes());
        out.push(b'{');
        // The origin's length in decimal (no `fmt` on the hit path).
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = origin.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        out.extend_from_slice(&digits[at..]);
        out.push(b':');
        out.extend_from_slice(origin.as_bytes());
        out.extend_from_slice(path.as_bytes());
        out.push(b'}');
    }

    fn guard(&self, key: &[u8]) -> Option<FillGuard> {
        let c = self.coherent.as_ref()?;
        Some(FillGuard {
            epoch: self.client.bus_epoch(),
            generation: c.generation.load(Ordering::SeqCst),
            counter: c.counters[c.slot(key)].load(Ordering::SeqCst),
        })
    }

    /// Every live variant of the resource (any method), in write order; fills
    /// the L1 with them when that is safe (see the module docs).
    pub fn fetch(
        self: &Arc<Self>,
        key: Vec<u8>,
        now: f64,
    ) -> impl Future<Output = Result<Vec<StoredVariant>, CallError>> + Send + 'static {
        let store = self.clone();
        let guard = self.guard(&key);
        async move {
            let mut cmd = ::redis::cmd("HGETALL");
            cmd.arg(&key);
            let reply: Value = match store.client.query(&cmd).await {
                Ok(v) => v,
                Err(e) => {
                    store.errors.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            };
            let variants = parse_hash(reply, now);
            if let Some(guard) = guard {
                store.fill(&key, &variants, guard, now);
            }
            Ok(variants)
        }
    }

    fn fill(&self, key: &[u8], variants: &[StoredVariant], guard: FillGuard, now: f64) {
        let (Some(c), Some(sub)) = (&self.coherent, &self.subscription) else {
            return;
        };
        if variants.is_empty() || !sub.is_live() {
            return;
        }
        let _g = c.lock.lock();
        if self.client.bus_epoch() != guard.epoch
            || c.generation.load(Ordering::SeqCst) != guard.generation
            || c.counters[c.slot(key)].load(Ordering::SeqCst) != guard.counter
        {
            return;
        }
        c.l1.delete(key);
        for v in variants {
            let entry = NewEntry {
                method: Method::new(&v.method),
                variant: &v.variant,
                meta: &v.meta,
                body: v.body.clone(),
                delete_at: v.delete_at,
                cached_at: 0.0,
                stale_at: 0.0,
            };
            c.l1.insert(key, entry, &mut NoRequest, now, Served::Nothing);
        }
    }

    /// Drops `key` from this process' L1 now (before a write or delete is
    /// sent: the message that follows it does so everywhere else).
    fn invalidate_local(&self, key: &[u8]) {
        if let Some(c) = &self.coherent {
            c.invalidate(key);
        }
    }

    /// Stores one variant atomically (see the module docs). The local L1
    /// forgets the key before this returns.
    pub fn write(
        self: &Arc<Self>,
        key: Vec<u8>,
        v: NewVariant,
    ) -> impl Future<Output = Result<(), CallError>> + Send + 'static {
        self.invalidate_local(&key);
        let store = self.clone();
        async move {
            let id = format!("{}\n{}", v.method, v.variant);
            let result = store
                .client
                .call(|mut conn| {
                    let script = &store.write_script;
                    let mut inv = script.key(&key);
                    inv.arg(&store.channel)
                        .arg(&id)
                        .arg(&v.method)
                        .arg(&v.meta)
                        .arg(&v.body)
                        .arg(millis(v.delete_at))
                        .arg(millis(v.now))
                        .arg(&v.request);
                    async move { inv.invoke_async::<i64>(&mut conn).await }
                })
                .await;
            match result {
                Ok(_) => {
                    store.writes.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
                Err(e) => {
                    store.errors.fetch_add(1, Ordering::Relaxed);
                    Err(e)
                }
            }
        }
    }

    /// Removes every variant of the resource in Redis and in every L1.
    pub fn delete(
        self: &Arc<Self>,
        key: Vec<u8>,
    ) -> impl Future<Output = Result<(), CallError>> + Send + 'static {
        self.invalidate_local(&key);
        let store = self.clone();
        async move {
            let result = store
                .client
                .call(|mut conn| {
                    let mut inv = store.delete_script.key(&key);
                    inv.arg(&store.channel);
                    async move { inv.invoke_async::<i64>(&mut conn).await }
                })
                .await;
            result.map(|_| ()).inspect_err(|_| {
                store.errors.fetch_add(1, Ordering::Relaxed);
            })
        }
    }

    /// Counts the outcome of a fetch the caller has matched against its
    /// request: an L2 hit or a miss.
    pub fn record(&self, hit: bool) {
        if hit {
            self.l2_hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A miss answered without asking Redis (breaker open, store closed).
    pub fn record_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Counters; `served` is the caller's report of its last L1 lookup.
    pub fn stats(&self, served: Served) -> StoreStats {
        StoreStats {
            l1_hits: self.l1().map_or(0, |l1| l1.stats(served).hits),
            l2_hits: self.l2_hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            reconnects: self.client.reconnects(),
        }
    }
}

/// `HGETALL` reply → live variants in write order.
fn parse_hash(reply: Value, now: f64) -> Vec<StoredVariant> {
    let pairs: Vec<(Value, Value)> = match reply {
        Value::Map(pairs) => pairs,
        Value::Array(items) => {
            let mut it = items.into_iter();
            let mut pairs = Vec::new();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            pairs
        }
        _ => return Vec::new(),
    };
    let mut metas: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut bodies: std::collections::HashMap<Vec<u8>, Vec<u8>> = Default::default();
    for (k, v) in pairs {
        let (Value::BulkString(k), Value::BulkString(v)) = (k, v) else {
            continue;
        };
        match k.get(..2) {
            Some(b"m:") => metas.push((k[2..].to_vec(), v)),
            Some(b"b:") => {
                bodies.insert(k[2..].to_vec(), v);
            }
            _ => {}
        }
    }
    let mut out = Vec::with_capacity(metas.len());
    for (id, meta) in metas {
        let Some(body) = bodies.remove(&id) else {
            continue;
        };
        let Some(v) = parse_variant(&id, meta, body) else {
            continue;
        };
        if v.delete_at > now {
            out.push(v);
        }
    }
    out.sort_by_key(|v| v.seq);
    out
}

fn parse_variant(id: &[u8], meta: Vec<u8>, body: Vec<u8>) -> Option<StoredVariant> {
    let id = std::str::from_utf8(id).ok()?;
    let (method, variant) = id.split_once('\n')?;
    let mut parts = meta.splitn(3, |b| *b == b'\n');
    let delete_at: f64 = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let seq: u64 = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let json = parts.next()?;
    let start = meta.len() - json.len();
    let meta = Bytes::from(meta).slice(start..);
    Some(StoredVariant {
        method: method.to_owned(),
        variant: variant.to_owned(),
        meta,
        body: Bytes::from(body),
        delete_at,
        seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_one_hash_tag_and_keep_origin_and_path_apart() {
        // Opening never connects; a store without L1 subscribes to nothing.
        let client = RedisClient::open(&super::super::ClientOptions::single(
            "redis://127.0.0.1:1",
            std::time::Duration::from_millis(5),
        ))
        .unwrap();
        let store = RedisStore::new(
            client,
            StoreOptions {
                key_prefix: "fc:".to_owned(),
                l1: None,
                max_entry_size: 1,
            },
        );
        assert_eq!(store.key("http://a:1", "/x"), b"fc:{10:http://a:1/x}");
        assert_eq!(store.key("http://a", ":1/x"), b"fc:{8:http://a:1/x}");
        assert_ne!(
            store.key("http://a:1", "/x"),
            store.key("http://a", ":1/x"),
            "the origin's length keeps the split"
        );
        let long = "o".repeat(12345);
        assert!(store.key(&long, "/").starts_with(b"fc:{12345:o"));
        assert_eq!(store.key("", ""), b"fc:{0:}");
    }

    #[test]
    fn a_hash_reply_gives_live_variants_in_write_order() {
        let bulk = |s: &[u8]| Value::BulkString(s.to_vec());
        let reply = Value::Map(vec![
            (bulk(b"#seq"), bulk(b"3")),
            (bulk(b"m:GET\nb"), bulk(b"2000\n3\n[2]")),
            (bulk(b"b:GET\nb"), bulk(b"two")),
            (bulk(b"m:GET\na"), bulk(b"2000\n2\n[1]")),
            (bulk(b"b:GET\na"), bulk(b"one")),
            (bulk(b"m:GET\nold"), bulk(b"500\n1\n[0]")),
            (bulk(b"b:GET\nold"), bulk(b"zero")),
            // metadata without its body (never written so): skipped
            (bulk(b"m:GET\nx"), bulk(b"2000\n4\n[9]")),
        ]);
        let v = parse_hash(reply, 1000.0);
        assert_eq!(
            v.len(),
            2,
            "the expired and the bodiless variants are left out"
        );
        assert_eq!(v[0].variant, "a");
        assert_eq!(&v[0].meta[..], b"[1]");
        assert_eq!(&v[0].body[..], b"one");
        assert_eq!(v[1].variant, "b");
        assert_eq!(v[1].delete_at, 2000.0);
    }

    #[test]
    fn script_times_are_integers_within_js_dates() {
        assert_eq!(millis(1.5), "2");
        assert_eq!(millis(f64::INFINITY), "8640000000000000");
        assert_eq!(millis(f64::NAN), "0");
    }
}
