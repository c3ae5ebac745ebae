//! `RedisClient`: one connection to a Redis deployment (a server, or a
//! Cluster), shared process-wide by every store that names the same URLs and
//! options. It adds to redis-rs what a cache needs on a request path:
//!
//! - a deadline on every command (`command_timeout`);
//! - a circuit breaker: the first timeout or error takes Redis off the request
//!   path (calls fail at once with [`CallError::Unavailable`]) until a
//!   background `PING` answers within the deadline;
//! - pub/sub with a "you may have missed messages" signal
//!   ([`BusEvent::Resync`]) on every disconnect and every resubscription, so an
//!   in-process copy (L1) is cleared before it serves again.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, OnceLock, Weak};
use std::time::Duration;

use ::redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use ::redis::cluster::ClusterClient;
use ::redis::cluster_async::ClusterConnection;
use ::redis::{
    Cmd, ConnectionInfo, IntoConnectionInfo, Pipeline, ProtocolVersion, PushInfo, PushKind,
    RedisFuture, RedisResult, Value,
};
use parking_lot::Mutex;

use super::runtime::runtime;

/// How to reach Redis. Two clients with equal options are one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// `redis://` or `rediss://` URLs (`user:password@`, `/db` honoured). Several
    /// URLs, or `cluster`, mean a Redis Cluster (the URLs are seed nodes).
    pub urls: Vec<String>,
    pub cluster: bool,
    /// Deadline of every command, and of each connection attempt.
    pub command_timeout: Duration,
}

impl ClientOptions {
    /// A single server at `url`.
    pub fn single(url: &str, command_timeout: Duration) -> Self {
        ClientOptions {
            urls: vec![url.to_owned()],
            cluster: false,
            command_timeout,
        }
    }

    fn is_cluster(&self) -> bool {
        self.cluster || self.urls.len() > 1
    }

    fn registry_key(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.urls.join("\n"),
            self.is_cluster(),
            self.command_timeout.as_micros()
        )
    }
}

/// Why a client could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// A URL redis-rs cannot read (the message says which and why).
    BadUrl(String),
    /// No URL given.
    NoUrl,
    /// The runtime or the client could not be set up.
    Setup(String),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::BadUrl(m) => write!(f, "{m}"),
            OpenError::NoUrl => write!(f, "no Redis URL given"),
            OpenError::Setup(m) => write!(f, "{m}"),
        }
    }
}

/// Why a call did not return a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The circuit breaker is open: Redis is off the request path until a
    /// background probe succeeds. Nothing was sent.
    Unavailable,
    /// No reply within `command_timeout`. The command may still run on the
    /// server later (a frozen server resumes).
    Timeout,
    /// Redis answered with an error, or the connection failed.
    Redis(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Unavailable => {
                write!(
                    f,
                    "Redis is unavailable (circuit open until a probe succeeds)"
                )
            }
            CallError::Timeout => write!(f, "Redis command timed out"),
            CallError::Redis(m) => write!(f, "Redis error: {m}"),
        }
    }
}

/// A message or signal delivered to a [`Listener`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusEvent<'a> {
    /// A message published on the subscribed channel.
    Message(&'a [u8]),
    /// Messages may have been missed (the connection dropped, or it has just
    /// been resubscribed after a drop): anything kept because no message said
    /// otherwise must be dropped or re-read.
    Resync,
}

/// Called on a runtime thread for every event of its channel; must not block.
pub type Listener = Arc<dyn Fn(BusEvent<'_>) + Send + Sync>;

/// A connection handle for one call (cheap to clone; multiplexed).
#[derive(Clone)]
pub enum RedisConnection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConnection::Single(c) => c.req_packed_command(cmd),
            RedisConnection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConnection::Single(c) => c.req_packed_commands(pipeline, offset, count),
            RedisConnection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConnection::Single(c) => c.get_db(),
            RedisConnection::Cluster(c) => c.get_db(),
        }
    }
}

/// Where commands go.
enum Commands {
    /// The bus connection itself: on one server, commands and subscriptions
    /// share one ordered stream, so a reply read before an invalidation
    /// message was produced before it.
    Single,
    /// A Cluster connection, made on first use (an unreachable cluster never
    /// blocks a constructor).
    Cluster(Box<ClusterCommands>),
}

struct ClusterCommands {
    client: ClusterClient,
    connection: tokio::sync::OnceCell<ClusterConnection>,
}

#[derive(Default)]
struct Channel {
    listeners: Vec<(u64, Listener)>,
    /// Subscribed on the current connection (confirmation seen).
    live: bool,
}

/// Calls a listener; a panicking listener must not take the connection's
/// driver task (which delivers the pushes) down with it.
fn notify(listener: &Listener, event: BusEvent<'_>) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| listener(event)));
}

/// Pub/sub state, fed by redis-rs' push messages.
#[derive(Default)]
struct Bus {
    channels: Mutex<HashMap<String, Channel>>,
    /// Bumped on every disconnect and every (re)subscription confirmation.
    epoch: AtomicU64,
    reconnects: AtomicU64,
    /// A disconnect was seen since the last confirmation.
    down: AtomicBool,
    client: OnceLock<Weak<ClientInner>>,
}

impl Bus {
    fn on_push(&self, push: PushInfo) {
        match push.kind {
            PushKind::Message => {
                let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
                    (push.data.first(), push.data.get(1))
                else {
                    return;
                };
                let listeners = self.listeners_of(channel);
                for l in listeners {
                    notify(&l, BusEvent::Message(payload));
                }
            }
            PushKind::Subscribe => {
                let Some(Value::BulkString(channel)) = push.data.first() else {
                    return;
                };
                if self.down.swap(false, Ordering::SeqCst) {
                    self.reconnects.fetch_add(1, Ordering::Relaxed);
                }
                self.epoch.fetch_add(1, Ordering::SeqCst);
                let listeners = {
                    let mut channels = self.channels.lock();
                    let Some(c) = std::str::from_utf8(channel)
                        .ok()
                        .and_then(|name| channels.get_mut(name))
                    else {
                        return;
                    };
                    c.live = true;
                    c.listeners
                        .iter()
                        .map(|(_, l)| l.clone())
                        .collect::<Vec<_>>()
                };
                for l in listeners {
                    notify(&l, BusEvent::Resync);
                }
            }
            PushKind::Disconnection => {
                self.down.store(true, Ordering::SeqCst);
                self.epoch.fetch_add(1, Ordering::SeqCst);
                let listeners: Vec<Listener> = {
                    let mut channels = self.channels.lock();
                    channels
                        .values_mut()
                        .flat_map(|c| {
                            c.live = false;
                            c.listeners.iter().map(|(_, l)| l.clone())
                        })
                        .collect()
                };
                for l in listeners {
                    notify(&l, BusEvent::Resync);
                }
                if let Some(client) = self.client.get().and_then(Weak::upgrade) {
                    client.trip();
                }
            }
            _ => {}
        }
    }

    fn listeners_of(&self, channel: &[u8]) -> Vec<Listener> {
        let channels = self.channels.lock();
        std::str::from_utf8(channel)
            .ok()
            .and_then(|name| channels.get(name))
            .map(|c| c.listeners.iter().map(|(_, l)| l.clone()).collect())
            .unwrap_or_default()
    }
}

struct ClientInner {
    options: ClientOptions,
    /// The pub/sub connection (RESP3, resubscribes by itself after a
    /// reconnect); on a single server also the command connection.
    bus_connection: ConnectionManager,
    commands: Commands,
    bus: Arc<Bus>,
    /// The circuit breaker: open = off the request path.
    open: AtomicBool,
    errors: AtomicU64,
    next_listener: AtomicU64,
}

impl ClientInner {
    /// Opens the breaker (first failure) and starts the probe that closes it.
    fn trip(self: &Arc<Self>) {
        if self.open.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(self);
        let Ok(rt) = runtime() else { return };
        rt.spawn(probe(weak));
    }

    async fn connection(&self) -> RedisResult<RedisConnection> {
        match &self.commands {
            Commands::Single => Ok(RedisConnection::Single(self.bus_connection.clone())),
            Commands::Cluster(c) => c
                .connection
                .get_or_try_init(|| c.client.get_async_connection())
                .await
                .map(|c| RedisConnection::Cluster(c.clone())),
        }
    }
}

/// Pings until Redis answers within the deadline, then closes the breaker.
/// Backs off from 25 ms to 1 s; ends when the client is gone.
async fn probe(client: Weak<ClientInner>) {
    let mut delay = Duration::from_millis(25);
    loop {
        tokio::time::sleep(delay).await;
        let Some(inner) = client.upgrade() else {
            return;
        };
        let deadline = inner.options.command_timeout;
        let ping = async {
            let mut c = inner.connection().await?;
            ::redis::cmd("PING").query_async::<String>(&mut c).await
        };
        if let Ok(Ok(_)) = tokio::time::timeout(deadline, ping).await {
            inner.open.store(false, Ordering::SeqCst);
            // Subscriptions that never got through (Redis was down when they
            // were made) are retried now.
            let pending: Vec<String> = inner
                .bus
                .channels
                .lock()
                .iter()
                .filter(|(_, c)| !c.live)
                .map(|(name, _)| name.clone())
                .collect();
            for channel in pending {
                spawn_subscribe(&inner, channel);
            }
            return;
        }
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}

/// Sends `SUBSCRIBE channel` until it is confirmed (or the client is gone).
fn spawn_subscribe(inner: &Arc<ClientInner>, channel: String) {
    let weak = Arc::downgrade(inner);
    let Ok(rt) = runtime() else { return };
    rt.spawn(async move {
        let mut delay = Duration::from_millis(25);
        loop {
            let Some(inner) = weak.upgrade() else { return };
            let wanted = inner.bus.channels.lock().contains_key(&channel);
            if !wanted {
                return;
            }
            let mut c = inner.bus_connection.clone();
            let deadline = inner
                .options
                .command_timeout
                .max(Duration::from_millis(500));
            if let Ok(Ok(())) = tokio::time::timeout(deadline, c.subscribe(&channel)).await {
                return;
            }
            drop(inner);
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    });
}

/// A shared connection to one Redis deployment. Cheap to clone.
#[derive(Clone)]
pub struct RedisClient(Arc<ClientInner>);

static CLIENTS: LazyLock<Mutex<HashMap<String, Weak<ClientInner>>>> =
    LazyLock::new(Default::default);

fn connection_info(url: &str, protocol: ProtocolVersion) -> Result<ConnectionInfo, OpenError> {
    let info = url
        .into_connection_info()
        .map_err(|e| OpenError::BadUrl(format!("invalid Redis URL '{}': {e}", redact(url))))?;
    let settings = info.redis_settings().clone().set_protocol(protocol);
    Ok(info.set_redis_settings(settings))
}

/// `url` with any password replaced by `***`, for error messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((auth, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => format!("{scheme}://***@{host}"),
    }
}

impl RedisClient {
    /// The process-wide client for `options`, created (without connecting:
    /// the first command connects) if there is none. Errors only for a URL
    /// that cannot be read; an unreachable server is found by the first call.
    pub fn open(options: &ClientOptions) -> Result<RedisClient, OpenError> {
        if options.urls.is_empty() {
            return Err(OpenError::NoUrl);
        }
        let key = options.registry_key();
        let mut clients = CLIENTS.lock();
        if let Some(inner) = clients.get(&key).and_then(Weak::upgrade) {
            return Ok(RedisClient(inner));
        }
        clients.retain(|_, w| w.strong_count() > 0);
        let inner = Arc::new(Self::create(options)?);
        let _ = inner.bus.client.set(Arc::downgrade(&inner));
        clients.insert(key, Arc::downgrade(&inner));
        Ok(RedisClient(inner))
    }

    fn create(options: &ClientOptions) -> Result<ClientInner, OpenError> {
        let rt = runtime().map_err(OpenError::Setup)?;
        let _entered = rt.enter();
        let infos = options
            .urls
            .iter()
            .map(|u| connection_info(u, ProtocolVersion::RESP3))
            .collect::<Result<Vec<_>, _>>()?;
        let bus = Arc::new(Bus::default());
        let sink = bus.clone();
        let connect_timeout = options.command_timeout.max(Duration::from_millis(500));
        let config = ConnectionManagerConfig::new()
            .set_push_sender(move |push: PushInfo| -> Result<(), ()> {
                sink.on_push(push);
                Ok(())
            })
            .set_automatic_resubscription()
            .set_response_timeout(Some(options.command_timeout))
            .set_connection_timeout(Some(connect_timeout))
            .set_max_delay(Duration::from_secs(1));
        let first = infos.first().cloned().ok_or(OpenError::NoUrl)?;
        let bus_client =
            ::redis::Client::open(first).map_err(|e| OpenError::Setup(e.to_string()))?;
        let bus_connection = ConnectionManager::new_lazy_with_config(bus_client, config)
            .map_err(|e| OpenError::Setup(e.to_string()))?;
        let commands = if options.is_cluster() {
            let nodes = options
                .urls
                .iter()
                .map(|u| connection_info(u, ProtocolVersion::RESP2))
                .collect::<Result<Vec<_>, _>>()?;
            let client = ClusterClient::builder(nodes)
                .connection_timeout(connect_timeout)
                .response_timeout(options.command_timeout)
                .build()
                .map_err(|e| OpenError::Setup(e.to_string()))?;
            Commands::Cluster(Box::new(ClusterCommands {
                client,
                connection: tokio::sync::OnceCell::new(),
            }))
        } else {
            Commands::Single
        };
        Ok(ClientInner {
            options: options.clone(),
            bus_connection,
            commands,
            bus,
            open: AtomicBool::new(false),
            errors: AtomicU64::new(0),
            next_listener: AtomicU64::new(1),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.0.options
    }

    /// Runs `f` with a connection under the deadline and the breaker: fails
    /// at once with `Unavailable` while the breaker is open; a timeout or an
    /// error opens it (and counts in [`RedisClient::errors`]).
    pub async fn call<T, F, Fut>(&self, f: F) -> Result<T, CallError>
    where
        F: FnOnce(RedisConnection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let inner = &self.0;
        if inner.open.load(Ordering::SeqCst) {
            return Err(CallError::Unavailable);
        }
        let run = async {
            let c = inner.connection().await?;
            f(c).await
        };
        match tokio::time::timeout(inner.options.command_timeout, run).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                inner.errors.fetch_add(1, Ordering::Relaxed);
                if e.is_timeout() {
                    inner.trip();
                    return Err(CallError::Timeout);
                }
                // An error reply (e.g. WRONGTYPE) is Redis working: only
                // connection-level failures take it off the request path.
                if !matches!(e.kind(), ::redis::ErrorKind::Server(_)) {
                    inner.trip();
                }
                Err(CallError::Redis(e.to_string()))
            }
            Err(_) => {
                inner.errors.fetch_add(1, Ordering::Relaxed);
                inner.trip();
                Err(CallError::Timeout)
            }
        }
    }

    /// One command (see [`RedisClient::call`]).
    pub async fn query<T: ::redis::FromRedisValue>(&self, cmd: &Cmd) -> Result<T, CallError> {
        self.call(|mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    /// Whether calls go to Redis now (the breaker is closed).
    pub fn is_available(&self) -> bool {
        !self.0.open.load(Ordering::SeqCst)
    }

    /// Failed calls (timeouts and errors) since the client was opened.
    pub fn errors(&self) -> u64 {
        self.0.errors.load(Ordering::Relaxed)
    }

    /// Times the pub/sub connection was re-established after a drop.
    pub fn reconnects(&self) -> u64 {
        self.0.bus.reconnects.load(Ordering::Relaxed)
    }

    /// Counter bumped by every disconnect and (re)subscription: a value read
    /// before a call and again after it tells whether messages may have been
    /// missed in between.
    pub fn bus_epoch(&self) -> u64 {
        self.0.bus.epoch.load(Ordering::SeqCst)
    }

    /// Delivers every message published on `channel`, and [`BusEvent::Resync`]
    /// whenever messages may have been missed, to `listener` until the
    /// returned [`Subscription`] is dropped. Redis being down is not an error:
    /// the subscription is made when it answers.
    pub fn subscribe(&self, channel: &str, listener: Listener) -> Subscription {
        let id = self.0.next_listener.fetch_add(1, Ordering::Relaxed);
        let first = {
            let mut channels = self.0.bus.channels.lock();
            let c = channels.entry(channel.to_owned()).or_default();
            c.listeners.push((id, listener));
            c.listeners.len() == 1
        };
        if first {
            spawn_subscribe(&self.0, channel.to_owned());
        }
        Subscription {
            client: Arc::downgrade(&self.0),
            channel: channel.to_owned(),
            id,
        }
    }

    /// Spawns `fut` on the addon's runtime.
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        if let Ok(rt) = runtime() {
            rt.spawn(fut);
        }
    }
}

/// A listener registration; dropping it removes the listener (and
/// unsubscribes when it was the channel's last).
pub struct Subscription {
    client: Weak<ClientInner>,
    channel: String,
    id: u64,
}

impl Subscription {
    /// Whether the channel is subscribed on the current connection: messages
    /// published from now on will arrive.
    pub fn is_live(&self) -> bool {
        let Some(inner) = self.client.upgrade() else {
            return false;
        };
        let channels = inner.bus.channels.lock();
        channels.get(&self.channel).is_some_and(|c| c.live)
    }

    pub fn channel(&self) -> &str {
        &self.channel
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let Some(inner) = self.client.upgrade() else {
            return;
        };
        let last = {
            let mut channels = inner.bus.channels.lock();
            let Some(c) = channels.get_mut(&self.channel) else {
                return;
            };
            c.listeners.retain(|(id, _)| *id != self.id);
            let last = c.listeners.is_empty();
            if last {
                channels.remove(&self.channel);
            }
            last
        };
        if last {
            let mut c = inner.bus_connection.clone();
            let channel = std::mem::take(&mut self.channel);
            let deadline = inner.options.command_timeout;
            if let Ok(rt) = runtime() {
                rt.spawn(async move {
                    let _ = tokio::time::timeout(deadline, c.unsubscribe(channel)).await;
                });
            }
        }
    }
}
