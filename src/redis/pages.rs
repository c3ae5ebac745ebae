//! `SharedPages`: the Redis side of `ferrocache/vsf`'s multi-instance page
//! cache. The pure parts live in `store::coherent_pages` (L1 + tag-version
//! table under one lock), `store::tag_versions` and `store::page_record`; this
//! file adds the keys, the Lua scripts, the broadcast listener, the resync
//! after a reconnect, the herd lock and the replay of invalidations made
//! while Redis was unreachable.
//!
//! # Keys (`p` = key prefix, `k` = page key)
//! - `{p}vsf:page:{k}` — the page record (`store::page_record`), `PX` = ttl;
//! - `{p}vsf:lock:{k}` — the render lock, `PX` = lock timeout;
//! - `{p}vsf:epoch:{{p}vsf}` and `{p}vsf:tags:{{p}vsf}` (hash tag → version);
//! - channel `{p}vsf:events`.
//!
//! A page and its lock share the hash tag `{k}`; the epoch and the versions
//! share `{{p}vsf}`: no command spans Cluster slots.
//!
//! # Messages on the channel
//! - `v<epoch>\n` then per tag `<bytes>:<tag><version>\n` — versions raised;
//! - `a<epoch>` — a new epoch (invalidate all);
//! - `f<k>` — the render of `k` ended (stored or not): waiters look again.
//!
//! Every message is published by the same script that made the change, so a
//! write that lands after the client gave up on it is still announced.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ::redis::{Script, Value};
use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::client::{BusEvent, CallError, RedisClient, Subscription};
use crate::store::coherent_pages::{Admitted, CoherentPages};
use crate::store::pages::{InsertOutcome, PageCache};
use crate::store::tag_versions::Version;

/// Called with a message for the application's logger (a failure that did
/// not fail the request). Runs on a runtime thread; must not block.
pub type Reporter = Arc<dyn Fn(String) + Send + Sync>;

/// What an L1 miss found in Redis.
#[derive(Debug)]
pub enum Fetched {
    /// A current page (now also in L1 when it fit).
    Hit {
        content: Bytes,
        outcome: InsertOutcome,
    },
    /// Render it. `token`: this request holds the page's lock (pass it to
    /// [`SharedPages::store`] or [`SharedPages::release`]).
    Render { token: Option<String> },
    /// Another instance holds the lock: [`SharedPages::wait`] for its page.
    Wait,
    /// Redis is off the request path (breaker open, timeout, error, not yet
    /// synced): render, keep in L1 only.
    Offline,
}

/// Counters (shared by every handle).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SharedStats {
    pub l2_hits: u64,
    pub invalidations_received: u64,
    pub errors: u64,
    /// Page writes skipped because `MAX_WRITES` were in flight.
    pub writes_skipped: u64,
    pub synced: bool,
    pub available: bool,
}

// A page found stale: take its lock, and read the page again in the same
// step, since a current one may have landed since it was read.
const LOCK_LUA: &str = r#"
local v = redis.call('GET', KEYS[1]) or ''
local ok = 0
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then ok = 1 end
return {v, ok}
"#;

const PEEK_LUA: &str = r#"
return {redis.call('GET', KEYS[1]) or '', redis.call('EXISTS', KEYS[2])}
"#;

const STORE_LUA: &str = r#"
if ARGV[2] == '0' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[4], 'f' .. ARGV[5])
return 1
"#;

const RELEASE_LUA: &str = r#"
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], 'f' .. ARGV[3])
return 1
"#;

// Versions and epochs are max(old + 1, server time in µs): never reused, even
// after Redis lost its data. Integers below 2^53 stay exact in Lua numbers.
const INVALIDATE_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local e = redis.call('GET', KEYS[1])
if not e then
  e = string.format('%.0f', now)
  redis.call('SET', KEYS[1], e)
end
local out = {e}
local msg = {'v', e, '\n'}
for i = 2, #ARGV do
  local tag = ARGV[i]
  local v = tonumber(redis.call('HGET', KEYS[2], tag) or '0') + 1
  if now > v then v = now end
  local s = string.format('%.0f', v)
  redis.call('HSET', KEYS[2], tag, s)
  out[#out + 1] = s
  msg[#msg + 1] = #tag .. ':' .. tag .. s .. '\n'
end
redis.call('PUBLISH', ARGV[1], table.concat(msg))
return out
"#;

const INVALIDATE_ALL_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local e = tonumber(redis.call('GET', KEYS[1]) or '0') + 1
if now > e then e = now end
local s = string.format('%.0f', e)
redis.call('SET', KEYS[1], s)
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[1], 'a' .. s)
return s
"#;

// The epoch, created if Redis has none (first use, or Redis restarted
// empty): a new epoch makes every page stored before stale.
const EPOCH_LUA: &str = r#"
local e = redis.call('GET', KEYS[1])
if not e then
  local t = redis.call('TIME')
  e = string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2]))
  redis.call('SET', KEYS[1], e)
end
return e
"#;

/// Tags read per `HSCAN` call while resyncing (each call has the deadline).
const SCAN_COUNT: usize = 1000;
/// How often a waiter looks again when no "filled" message came.
const POLL: Duration = Duration::from_millis(25);
/// Page writes in flight at most. Writes run in the background, under the
/// same deadline and breaker as reads: a burst of renders queueing thousands
/// of writes on the connection would push reads past their deadline and open
/// the breaker. A write over the limit is skipped (counted): the page stays
/// in this L1 and is rendered again by another instance that needs it.
const MAX_WRITES: usize = 64;

struct Scripts {
    lock: Script,
    peek: Script,
    store: Script,
    release: Script,
    invalidate: Script,
    invalidate_all: Script,
    epoch: Script,
}

/// Invalidations made while Redis could not be reached, replayed on resync.
#[derive(Default)]
struct Pending {
    tags: HashSet<String>,
    all: bool,
}

struct Inner {
    client: RedisClient,
    coherent: CoherentPages,
    prefix: String,
    channel: String,
    epoch_key: String,
    tags_key: String,
    lock_timeout: Duration,
    scripts: Scripts,
    subscription: Mutex<Option<Subscription>>,
    /// Page key → waiters for its "filled" message.
    waiters: Mutex<HashMap<String, Arc<Notify>>>,
    pending: Mutex<Pending>,
    resyncing: AtomicBool,
    writes: Arc<tokio::sync::Semaphore>,
    writes_skipped: AtomicU64,
    report: Reporter,
    next_token: AtomicU64,
    l2_hits: AtomicU64,
    invalidations_received: AtomicU64,
    errors: AtomicU64,
}

/// One driver's Redis tier over its page cache. Cheap to clone.
#[derive(Clone)]
pub struct SharedPages(Arc<Inner>);

fn text(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        other => std::str::from_utf8(text(other)?).ok()?.parse().ok(),
    }
}

/// Parses a `v` message body (after the `v`): the epoch and the versions.
pub fn parse_versions(body: &[u8]) -> Option<(Version, Vec<(String, Version)>)> {
    let nl = body.iter().position(|&b| b == b'\n')?;
    let epoch = std::str::from_utf8(&body[..nl]).ok()?.parse().ok()?;
    let mut rest = &body[nl + 1..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let colon = rest.iter().position(|&b| b == b':')?;
        let len: usize = std::str::from_utf8(&rest[..colon]).ok()?.parse().ok()?;
        let tag_end = (colon + 1).checked_add(len)?;
        let tag = std::str::from_utf8(rest.get(colon + 1..tag_end)?).ok()?;
        let after = rest.get(tag_end..)?;
        let nl = after.iter().position(|&b| b == b'\n')?;
        let version = std::str::from_utf8(&after[..nl]).ok()?.parse().ok()?;
        out.push((tag.to_owned(), version));
        rest = &after[nl + 1..];
    }
    Some((epoch, out))
}

impl SharedPages {
    /// The tier over `pages` for one driver; subscribes to the channel and
    /// loads the versions in the background (pages read from Redis are not
    /// trusted until that is done).
    pub fn new(
        client: RedisClient,
        pages: Arc<PageCache>,
        key_prefix: &str,
        lock_timeout: Duration,
        report: Reporter,
    ) -> SharedPages {
        let p = key_prefix;
        let inner = Arc::new(Inner {
            client: client.clone(),
            coherent: CoherentPages::new(pages),
            prefix: p.to_owned(),
            channel: format!("{p}vsf:events"),
            epoch_key: format!("{p}vsf:epoch:{{{p}vsf}}"),
            tags_key: format!("{p}vsf:tags:{{{p}vsf}}"),
            lock_timeout,
            scripts: Scripts {
                lock: Script::new(LOCK_LUA),
                peek: Script::new(PEEK_LUA),
                store: Script::new(STORE_LUA),
                release: Script::new(RELEASE_LUA),
                invalidate: Script::new(INVALIDATE_LUA),
                invalidate_all: Script::new(INVALIDATE_ALL_LUA),
                epoch: Script::new(EPOCH_LUA),
            },
            subscription: Mutex::new(None),
            waiters: Mutex::new(HashMap::new()),
            pending: Mutex::new(Pending::default()),
            resyncing: AtomicBool::new(false),
            writes: Arc::new(tokio::sync::Semaphore::new(MAX_WRITES)),
            writes_skipped: AtomicU64::new(0),
            report,
            next_token: AtomicU64::new(1),
            l2_hits: AtomicU64::new(0),
            invalidations_received: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&inner);
        let subscription = client.subscribe(
            &inner.channel,
            Arc::new(move |event: BusEvent<'_>| {
                if let Some(inner) = weak.upgrade() {
                    Inner::on_event(&inner, event);
                }
            }),
        );
        *inner.subscription.lock() = Some(subscription);
        Inner::start_resync(&inner);
        SharedPages(inner)
    }

    pub fn coherent(&self) -> &CoherentPages {
        &self.0.coherent
    }

    pub fn page_key(&self, key: &str) -> String {
        format!("{}vsf:page:{{{key}}}", self.0.prefix)
    }

    pub fn lock_key(&self, key: &str) -> String {
        format!("{}vsf:lock:{{{key}}}", self.0.prefix)
    }

    pub fn stats(&self) -> SharedStats {
        let i = &self.0;
        SharedStats {
            l2_hits: i.l2_hits.load(Ordering::Relaxed),
            invalidations_received: i.invalidations_received.load(Ordering::Relaxed),
            errors: i.errors.load(Ordering::Relaxed),
            writes_skipped: i.writes_skipped.load(Ordering::Relaxed),
            synced: i.coherent.is_synced(),
            available: i.client.is_available(),
        }
    }

    /// Stops listening (the L1 stays usable, Redis is no longer read).
    pub fn close(&self) {
        self.0.subscription.lock().take();
        self.0.coherent.mark_unsynced();
    }

    fn failed(&self, what: &str, e: &CallError) {
        self.0.failed(what, e);
    }

    fn token(&self) -> String {
        let n = self.0.next_token.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{}-{n}-{nanos}", std::process::id())
    }

    /// An L1 miss of `l1_key` (page key `key` in Redis): a `GET` of the page
    /// and, when it is missing or stale, a second round trip that takes its
    /// lock (and reads the page again, in case a current one just landed). Both together stay within the command
    /// deadline (plus a little, so that a single call's own timeout, which
    /// opens the breaker, fires first).
    pub async fn fetch(&self, l1_key: &str, key: &str, now: f64) -> Fetched {
        let budget = self.0.client.options().command_timeout + Duration::from_millis(5);
        match tokio::time::timeout(budget, self.fetch_within(l1_key, key, now)).await {
            Ok(fetched) => fetched,
            Err(_) => {
                self.failed("page read", &CallError::Timeout);
                Fetched::Offline
            }
        }
    }

    async fn fetch_within(&self, l1_key: &str, key: &str, now: f64) -> Fetched {
        let inner = &self.0;
        if !inner.client.is_available() || !inner.coherent.is_synced() {
            return Fetched::Offline;
        }
        let token = self.token();
        let page = self.page_key(key);
        // A plain GET: the value comes back without passing through Lua.
        let mut cmd = ::redis::cmd("GET");
        cmd.arg(&page);
        let value = match inner.client.query::<Option<Vec<u8>>>(&cmd).await {
            Ok(Some(v)) => Bytes::from(v),
            // Missing: take the lock (the script reads the page again).
            Ok(None) => return self.lock(l1_key, key, token, now).await,
            Err(e) => {
                self.failed("page read", &e);
                return Fetched::Offline;
            }
        };
        match inner.coherent.admit(l1_key, &value, now) {
            Ok(Admitted::Current { content, outcome }) => {
                inner.l2_hits.fetch_add(1, Ordering::Relaxed);
                Fetched::Hit { content, outcome }
            }
            Ok(Admitted::Unsynced) => Fetched::Offline,
            Err(e) => {
                inner.report_error(format!(
                    "value under {page} is not a page ({e}); rendering anew"
                ));
                self.lock(l1_key, key, token, now).await
            }
            // Stale or expired: render anew, under the lock.
            Ok(_) => self.lock(l1_key, key, token, now).await,
        }
    }

    /// Takes the page's lock for a render of a page found stale, unless a
    /// current page landed meanwhile.
    async fn lock(&self, l1_key: &str, key: &str, token: String, now: f64) -> Fetched {
        let inner = &self.0;
        let ms = inner.lock_timeout.as_millis().to_string();
        let Some((value, locked)) = self
            .page_and_lock(&inner.scripts.lock, key, &[&token, &ms], "page lock")
            .await
        else {
            return Fetched::Offline;
        };
        if let Some(hit) = self.admit_current(l1_key, &value, now) {
            if locked {
                self.release(key, Some(token));
            }
            return hit;
        }
        if locked {
            Fetched::Render { token: Some(token) }
        } else {
            Fetched::Wait
        }
    }

    /// Runs `script` (the lock or the peek script) over `key`'s page and lock
    /// keys with `args`; its reply is [the page's value (empty: none), 1 when
    /// the lock is held]. The value is taken from the reply, not copied.
    /// `None` when Redis failed (reported as `what`) or answered otherwise.
    async fn page_and_lock(
        &self,
        script: &Script,
        key: &str,
        args: &[&str],
        what: &str,
    ) -> Option<(Bytes, bool)> {
        let (page, lock) = (self.page_key(key), self.lock_key(key));
        let reply: Result<Value, CallError> = self
            .0
            .client
            .call(|mut c| {
                let mut s = script.prepare_invoke();
                s.key(&page).key(&lock);
                for a in args {
                    s.arg(*a);
                }
                async move { s.invoke_async(&mut c).await }
            })
            .await;
        let mut items = match reply {
            Ok(Value::Array(items)) => items,
            Ok(_) => return None,
            Err(e) => {
                self.failed(what, &e);
                return None;
            }
        };
        let locked = items.get(1).and_then(number) == Some(1);
        let value = match items.first_mut().map(std::mem::take) {
            Some(Value::BulkString(b)) => Bytes::from(b),
            Some(Value::SimpleString(s)) => Bytes::from(s.into_bytes()),
            _ => Bytes::new(),
        };
        Some((value, locked))
    }

    /// A page value read from Redis: kept in L1 and served (an L2 hit) when
    /// current at `now`; `None` when empty, stale, expired or not a page.
    fn admit_current(&self, l1_key: &str, value: &Bytes, now: f64) -> Option<Fetched> {
        if value.is_empty() {
            return None;
        }
        let inner = &self.0;
        match inner.coherent.admit(l1_key, value, now) {
            Ok(Admitted::Current { content, outcome }) => {
                inner.l2_hits.fetch_add(1, Ordering::Relaxed);
                Some(Fetched::Hit { content, outcome })
            }
            _ => None,
        }
    }

    /// Waits (at most the lock timeout) for another instance's render of
    /// `key`: `Hit` when its page lands, `Render` (without a lock) when the
    /// lock is released with no current page or expires, `Offline` on failure.
    pub async fn wait(&self, l1_key: &str, key: &str, now: f64) -> Fetched {
        let inner = &self.0;
        let started = Instant::now();
        let deadline = started + inner.lock_timeout;
        let notify = inner
            .waiters
            .lock()
            .entry(key.to_owned())
            .or_insert_with(|| Arc::new(Notify::new()))
            .clone();
        let out = self
            .wait_on(&notify, l1_key, key, now, started, deadline)
            .await;
        // The last waiter of the key removes its entry.
        let mut waiters = inner.waiters.lock();
        if Arc::strong_count(&notify) == 2 {
            waiters.remove(key);
        }
        out
    }

    async fn wait_on(
        &self,
        notify: &Notify,
        l1_key: &str,
        key: &str,
        now: f64,
        started: Instant,
        deadline: Instant,
    ) -> Fetched {
        let inner = &self.0;
        loop {
            let mut filled = std::pin::pin!(notify.notified());
            filled.as_mut().enable();
            let Some((value, locked)) = self
                .page_and_lock(&inner.scripts.peek, key, &[], "page wait")
                .await
            else {
                return Fetched::Offline;
            };
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            if let Some(hit) = self.admit_current(l1_key, &value, now + elapsed) {
                return hit;
            }
            if !locked {
                // Released without a current page (untagged, failed, or
                // invalidated while rendering), or the holder died.
                return Fetched::Render { token: None };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Fetched::Render { token: None };
            }
            // Woken by a "filled" message, or look again after POLL.
            let _ = tokio::time::timeout(left.min(POLL), &mut filled).await;
        }
    }

    /// Keeps a page rendered since generation `since` in L1 and writes it to
    /// Redis in the background (releasing `token`'s lock). `None` when one of
    /// its tags changed during the render (nothing stored; the lock is
    /// released).
    #[allow(clippy::too_many_arguments)]
    pub fn store<S: AsRef<str>>(
        &self,
        l1_key: &str,
        key: &str,
        content: Bytes,
        tags: &[S],
        expires_at: f64,
        now: f64,
        since: u64,
        token: Option<String>,
    ) -> Option<InsertOutcome> {
        let inner = &self.0;
        let stored = inner
            .coherent
            .store(l1_key, content, tags, expires_at, now, since);
        let Some(stored) = stored else {
            self.release(key, token);
            return None;
        };
        let ttl = expires_at - now;
        let closed = inner.subscription.lock().is_none();
        let permit = if ttl > 0.0 && inner.client.is_available() && !closed {
            let permit = inner.writes.clone().try_acquire_owned().ok();
            if permit.is_none() {
                inner.writes_skipped.fetch_add(1, Ordering::Relaxed);
            }
            permit
        } else {
            None
        };
        if let Some(permit) = permit {
            let ttl = if ttl.is_finite() {
                (ttl.ceil() as u64).max(1).to_string()
            } else {
                "0".to_owned()
            };
            let this = self.clone();
            let (page, lock, key) = (self.page_key(key), self.lock_key(key), key.to_owned());
            let record = stored.record;
            inner.client.spawn(async move {
                let inner = &this.0;
                let token = token.unwrap_or_default();
                let r: Result<i64, CallError> = inner
                    .client
                    .call(|mut c| {
                        let mut s = inner.scripts.store.prepare_invoke();
                        s.key(&page)
                            .key(&lock)
                            .arg(&record[..])
                            .arg(&ttl)
                            .arg(&token)
                            .arg(&inner.channel)
                            .arg(&key);
                        async move { s.invoke_async(&mut c).await }
                    })
                    .await;
                drop(permit);
                if let Err(e) = r {
                    this.failed("page write", &e);
                }
            });
        } else {
            self.release(key, token);
        }
        Some(stored.outcome)
    }

    /// Releases the lock of a render that stored nothing and wakes its
    /// waiters (they render for themselves).
    pub fn release(&self, key: &str, token: Option<String>) {
        let Some(token) = token else { return };
        let this = self.clone();
        let (lock, key) = (self.lock_key(key), key.to_owned());
        self.0.client.spawn(async move {
            let inner = &this.0;
            let r: Result<i64, CallError> = inner
                .client
                .call(|mut c| {
                    let mut s = inner.scripts.release.prepare_invoke();
                    s.key(&lock).arg(&token).arg(&inner.channel).arg(&key);
                    async move { s.invoke_async(&mut c).await }
                })
                .await;
            if let Err(e) = r {
                this.failed("lock release", &e);
            }
        });
    }

    /// Drops the page stored under `key` in Redis (in the background).
    pub fn delete(&self, key: &str) {
        let this = self.clone();
        let page = self.page_key(key);
        self.0.client.spawn(async move {
            let mut cmd = ::redis::cmd("DEL");
            cmd.arg(&page);
            if let Err(e) = this.0.client.query::<i64>(&cmd).await {
                this.failed("page delete", &e);
            }
        });
    }

    /// Invalidates `tags` on every instance: raises their versions in Redis
    /// (one script, which broadcasts them) and applies them here. O(tags):
    /// pages carrying them are found stale when read. `Ok(pages in this L1
    /// made stale)` once Redis has the new versions; `Err` when it could not
    /// be reached: then this L1 drops the pages at once, and the invalidation
    /// is replayed to every instance when Redis is back.
    pub async fn invalidate(&self, tags: Vec<String>) -> Result<u64, String> {
        let inner = &self.0;
        let here = inner.coherent.count_tagged(&tags);
        if tags.is_empty() {
            return Ok(0);
        }
        match inner.send_invalidate(&tags).await {
            Ok(()) => Ok(here),
            Err(e) => {
                inner.coherent.invalidate_locally(&tags);
                inner.pending.lock().tags.extend(tags.iter().cloned());
                inner.failed("invalidation", &e);
                // Replayed by the resync once Redis answers again.
                Inner::start_resync(inner);
                Err(format!(
                    "invalidation of {} tag(s) applied on this instance only: {e}; it is replayed to every instance when Redis is back",
                    tags.len()
                ))
            }
        }
    }

    /// Moves every instance to a new epoch (every page stale); `Ok(pages in
    /// this L1)`.
    pub async fn invalidate_all(&self) -> Result<u64, String> {
        let inner = &self.0;
        let here = inner.coherent.pages().stats().count;
        match inner.send_invalidate_all().await {
            Ok(()) => Ok(here),
            Err(e) => {
                inner.coherent.clear_locally();
                inner.pending.lock().all = true;
                inner.failed("invalidateAll", &e);
                Inner::start_resync(inner);
                Err(format!(
                    "invalidateAll applied on this instance only: {e}; it is replayed to every instance when Redis is back"
                ))
            }
        }
    }
}

impl Inner {
    fn report_error(&self, message: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        (self.report)(message);
    }

    fn failed(&self, what: &str, e: &CallError) {
        // Skipped while the breaker is open: counted once, when it opened.
        if *e != CallError::Unavailable {
            self.report_error(format!("Redis {what} failed: {e}"));
        }
    }

    fn on_event(this: &Arc<Inner>, event: BusEvent<'_>) {
        match event {
            BusEvent::Message(m) => match m.split_first() {
                Some((b'v', body)) => {
                    if let Some((epoch, versions)) = parse_versions(body) {
                        this.invalidations_received.fetch_add(1, Ordering::Relaxed);
                        this.coherent.apply(epoch, &versions);
                    }
                }
                Some((b'a', body)) => {
                    let epoch = std::str::from_utf8(body).ok().and_then(|s| s.parse().ok());
                    if let Some(epoch) = epoch {
                        this.invalidations_received.fetch_add(1, Ordering::Relaxed);
                        this.coherent.apply::<&str>(epoch, &[]);
                    }
                }
                Some((b'f', key)) => {
                    let notify = std::str::from_utf8(key)
                        .ok()
                        .and_then(|k| this.waiters.lock().get(k).cloned());
                    if let Some(n) = notify {
                        n.notify_waiters();
                    }
                }
                _ => {}
            },
            BusEvent::Resync => {
                this.coherent.mark_unsynced();
                Inner::start_resync(this);
            }
        }
    }

    /// Starts the background resync unless one is running.
    fn start_resync(this: &Arc<Inner>) {
        if this.resyncing.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(this);
        this.client.spawn(resync(weak));
    }

    async fn send_invalidate(&self, tags: &[String]) -> Result<(), CallError> {
        let reply: Vec<String> = self
            .client
            .call(|mut c| {
                let mut s = self.scripts.invalidate.prepare_invoke();
                s.key(&self.epoch_key)
                    .key(&self.tags_key)
                    .arg(&self.channel);
                for t in tags {
                    s.arg(t);
                }
                async move { s.invoke_async(&mut c).await }
            })
            .await?;
        let mut numbers = reply.iter().map(|s| s.parse::<u64>().unwrap_or(0));
        let epoch = numbers.next().unwrap_or(0);
        let versions: Vec<(&str, Version)> = tags.iter().map(String::as_str).zip(numbers).collect();
        self.coherent.apply(epoch, &versions);
        Ok(())
    }

    async fn send_invalidate_all(&self) -> Result<(), CallError> {
        let epoch: String = self
            .client
            .call(|mut c| {
                let mut s = self.scripts.invalidate_all.prepare_invoke();
                s.key(&self.epoch_key)
                    .key(&self.tags_key)
                    .arg(&self.channel);
                async move { s.invoke_async(&mut c).await }
            })
            .await?;
        self.coherent.apply::<&str>(epoch.parse().unwrap_or(0), &[]);
        Ok(())
    }

    /// Replays invalidations made while Redis was unreachable.
    async fn replay(&self) -> Result<(), CallError> {
        let (tags, all) = {
            let mut p = self.pending.lock();
            (std::mem::take(&mut p.tags), std::mem::take(&mut p.all))
        };
        if all {
            if let Err(e) = self.send_invalidate_all().await {
                self.pending.lock().all = true;
                self.pending.lock().tags.extend(tags);
                return Err(e);
            }
        }
        if !tags.is_empty() {
            let tags: Vec<String> = tags.into_iter().collect();
            if let Err(e) = self.send_invalidate(&tags).await {
                self.pending.lock().tags.extend(tags);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Loads the epoch and every version (in `HSCAN` chunks, each under the
    /// deadline) and applies them; `Ok(true)` when nothing may have been
    /// missed meanwhile (the table is then marked synced).
    async fn load_snapshot(&self) -> Result<bool, CallError> {
        let bus = self.client.bus_epoch();
        let epoch: String = self
            .client
            .call(|mut c| {
                let mut s = self.scripts.epoch.prepare_invoke();
                s.key(&self.epoch_key);
                async move { s.invoke_async(&mut c).await }
            })
            .await?;
        let epoch: Version = epoch.parse().unwrap_or(0);
        let mut cursor: u64 = 0;
        loop {
            let mut cmd = ::redis::cmd("HSCAN");
            cmd.arg(&self.tags_key)
                .arg(cursor)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, fields): (u64, Vec<String>) = self.client.query(&cmd).await?;
            let versions: Vec<(String, Version)> = fields
                .chunks_exact(2)
                .filter_map(|tv| Some((tv[0].clone(), tv[1].parse().ok()?)))
                .collect();
            self.coherent.apply(epoch, &versions);
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        if self.client.bus_epoch() != bus {
            return Ok(false);
        }
        self.coherent.apply_snapshot::<&str>(epoch, &[]);
        Ok(true)
    }
}

/// The background resync: once the channel is subscribed and Redis answers,
/// replays pending invalidations and loads the versions. Retries (backing off
/// to 1 s) until done or the tier is gone.
async fn resync(weak: Weak<Inner>) {
    let mut delay = Duration::from_millis(5);
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let live = inner
            .subscription
            .lock()
            .as_ref()
            .is_some_and(Subscription::is_live);
        if live && inner.client.is_available() {
            let done = match inner.replay().await {
                Ok(()) => inner.load_snapshot().await,
                Err(e) => Err(e),
            };
            match done {
                Ok(true) => {
                    inner.resyncing.store(false, Ordering::SeqCst);
                    // A Resync that arrived while this one ran found it
                    // running: check once more.
                    if inner.coherent.is_synced() {
                        return;
                    }
                    if inner.resyncing.swap(true, Ordering::SeqCst) {
                        return;
                    }
                }
                Ok(false) => {}
                Err(e) => inner.failed("resync", &e),
            }
        } else if inner.subscription.lock().is_none() {
            inner.resyncing.store(false, Ordering::SeqCst);
            return;
        }
        drop(inner);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_message_round_trip_with_awkward_tags() {
        let body = b"1700000000000001\n2:P11700000000000002\n5:a:b\n\n1700000000000003\n0:5\n";
        let (epoch, versions) = parse_versions(body).unwrap();
        assert_eq!(epoch, 1_700_000_000_000_001);
        assert_eq!(
            versions,
            vec![
                ("P1".to_owned(), 1_700_000_000_000_002),
                ("a:b\n\n".to_owned(), 1_700_000_000_000_003),
                (String::new(), 5)
            ]
        );
    }

    #[test]
    fn malformed_messages_are_ignored_not_panics() {
        for m in [
            &b""[..],
            b"12",
            b"x\n",
            b"1\n3:ab",
            b"1\n99:ab1\n",
            b"1\n2:ab\n",
            b"1\nq:ab1\n",
        ] {
            assert!(parse_versions(m).is_none(), "{m:?}");
        }
        assert_eq!(parse_versions(b"7\n"), Some((7, vec![])));
    }
}
