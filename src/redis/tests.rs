//! The Redis tier against a real `redis-server` (started on a free port on
//! 127.0.0.1, no persistence). Without redis-server the tests print why and
//! pass, except under CI (`CI` set), where they fail.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::client::{BusEvent, CallError, ClientOptions, RedisClient};
use super::runtime::runtime;
use super::store::{NewVariant, RedisStore, StoreOptions};
use crate::store::memory::{Found, Limits};

struct Server {
    port: u16,
    child: Child,
    dir: std::path::PathBuf,
}

impl Server {
    fn start() -> Option<Server> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI requires redis-server for the Redis tests"
            );
            eprintln!("SKIPPING: redis-server not found");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .ok()?;
        let dir = std::env::temp_dir().join(format!("ferrocache-rs-redis-{port}"));
        std::fs::create_dir_all(&dir).ok()?;
        let child = Self::spawn(port, &dir)?;
        let server = Server { port, child, dir };
        server.wait_ready();
        Some(server)
    }

    fn spawn(port: u16, dir: &std::path::Path) -> Option<Child> {
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status();
    }

    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(child) = Self::spawn(self.port, &self.dir) {
            self.child = child;
        }
        self.wait_ready();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    runtime().unwrap().block_on(f)
}

/// Polls `cond` every 5 ms for up to `max`.
fn eventually(max: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + max;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

fn client(server: &Server, timeout_ms: u64) -> RedisClient {
    RedisClient::open(&ClientOptions::single(
        &server.url(),
        Duration::from_millis(timeout_ms),
    ))
    .unwrap()
}

#[test]
fn commands_run_and_clients_are_shared_by_options() {
    let Some(server) = Server::start() else {
        return;
    };
    let a = client(&server, 500);
    let b = client(&server, 500);
    let mut set = ::redis::cmd("SET");
    set.arg("k").arg(b"v\x00\xff".as_slice());
    block_on(a.query::<()>(&set)).unwrap();
    let mut get = ::redis::cmd("GET");
    get.arg("k");
    let v: Vec<u8> = block_on(b.query(&get)).unwrap();
    assert_eq!(v, b"v\x00\xff", "binary values round-trip");
    assert_eq!(a.options(), b.options());
    assert!(
        RedisClient::open(&ClientOptions::single("http://x", Duration::from_millis(5))).is_err()
    );
}

#[test]
fn an_unreachable_server_opens_at_once_and_calls_fail_within_the_deadline() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let started = Instant::now();
    let c = RedisClient::open(&ClientOptions::single(
        &format!("redis://127.0.0.1:{port}"),
        Duration::from_millis(100),
    ))
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    let r = block_on(c.query::<String>(&::redis::cmd("PING")));
    assert!(r.is_err());
    assert!(started.elapsed() < Duration::from_secs(2));
    // The breaker is open now: the next call fails without waiting.
    let t = Instant::now();
    assert_eq!(
        block_on(c.query::<String>(&::redis::cmd("PING"))),
        Err(CallError::Unavailable)
    );
    assert!(t.elapsed() < Duration::from_millis(50));
}

#[test]
fn a_frozen_server_opens_the_breaker_and_a_probe_closes_it() {
    let Some(server) = Server::start() else {
        return;
    };
    let c = client(&server, 150);
    block_on(c.query::<String>(&::redis::cmd("PING"))).unwrap();
    server.signal("-STOP");
    let t = Instant::now();
    assert_eq!(
        block_on(c.query::<String>(&::redis::cmd("PING"))),
        Err(CallError::Timeout)
    );
    assert!(
        t.elapsed() < Duration::from_millis(600),
        "bounded by the deadline"
    );
    assert!(!c.is_available());
    assert_eq!(
        block_on(c.query::<String>(&::redis::cmd("PING"))),
        Err(CallError::Unavailable)
    );
    server.signal("-CONT");
    assert!(eventually(Duration::from_secs(5), || c.is_available()));
    assert_eq!(
        block_on(c.query::<String>(&::redis::cmd("PING"))).unwrap(),
        "PONG"
    );
    assert!(c.errors() >= 1);
}

#[test]
fn subscribers_get_messages_and_a_resync_after_a_restart() {
    let Some(mut server) = Server::start() else {
        return;
    };
    let c = client(&server, 300);
    let messages = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let resyncs = Arc::new(AtomicUsize::new(0));
    let (m, r) = (messages.clone(), resyncs.clone());
    let sub = c.subscribe(
        "chan",
        Arc::new(move |e: BusEvent<'_>| match e {
            BusEvent::Message(b) => m.lock().push(b.to_vec()),
            BusEvent::Resync => {
                r.fetch_add(1, Ordering::SeqCst);
            }
        }),
    );
    assert!(eventually(Duration::from_secs(3), || sub.is_live()));
    let publisher = client(&server, 301);
    let mut publish = ::redis::cmd("PUBLISH");
    publish.arg("chan").arg("hello");
    block_on(publisher.query::<i64>(&publish)).unwrap();
    assert!(eventually(Duration::from_secs(2), || messages.lock().len() == 1));
    assert_eq!(messages.lock()[0], b"hello");

    let before = resyncs.load(Ordering::SeqCst);
    server.restart();
    // The drop is seen (Resync), the channel resubscribed (Resync again).
    assert!(eventually(Duration::from_secs(8), || sub.is_live()
        && resyncs.load(Ordering::SeqCst) >= before + 2));
    assert_eq!(c.reconnects(), 1);
    // Messages flow again on the new connection.
    let publisher = client(&server, 302);
    block_on(async {
        for _ in 0..50 {
            if publisher.query::<i64>(&publish).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    assert!(eventually(Duration::from_secs(3), || messages.lock().len() >= 2));
}

fn store(server: &Server, timeout_ms: u64, l1: bool) -> Arc<RedisStore> {
    Arc::new(RedisStore::new(
        client(server, timeout_ms),
        StoreOptions {
            key_prefix: "t:".to_owned(),
            l1: l1.then(Limits::default),
            max_entry_size: 1 << 20,
        },
    ))
}

fn variant(body: &[u8], vary: &str, request: &str, now: f64) -> NewVariant {
    NewVariant {
        method: "GET".to_owned(),
        variant: vary.to_owned(),
        meta: "[200]".to_owned(),
        body: body.to_vec(),
        delete_at: now + 60_000.0,
        now,
        request: request.to_owned(),
    }
}

#[test]
fn writes_are_read_back_and_invalidate_every_l1() {
    let Some(server) = Server::start() else {
        return;
    };
    // Two clients (different deadlines): two "instances".
    let a = store(&server, 500, true);
    let b = store(&server, 501, true);
    assert!(eventually(Duration::from_secs(3), || a
        .subscription_is_live()
        && b.subscription_is_live()));
    let now = 1_000.0; // a caller's clock far in the past: never expires early
    let key = a.key("http://h", "/p");
    block_on(a.write(key.clone(), variant(b"one", "", "", now))).unwrap();
    let read = block_on(b.fetch(key.clone(), now)).unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(&read[0].body[..], b"one");
    let in_l1 = |s: &RedisStore| {
        matches!(
            s.l1()
                .unwrap()
                .lookup(&key, "GET", now, Default::default())
                .found,
            Found::One(_)
        )
    };
    // A fetch fills the L1 unless an invalidation of the key arrived while it
    // was in flight (here: possibly the write's own message), then the next.
    assert!(
        in_l1(&b) || {
            block_on(b.fetch(key.clone(), now)).unwrap();
            in_l1(&b)
        },
        "a fetch fills the L1"
    );

    block_on(a.write(key.clone(), variant(b"two", "", "", now))).unwrap();
    assert!(
        eventually(Duration::from_millis(500), || !in_l1(&b)),
        "the write's message drops B's copy"
    );
    let read = block_on(b.fetch(key.clone(), now)).unwrap();
    assert_eq!(read.len(), 1, "the write replaced the variant");
    assert_eq!(&read[0].body[..], b"two");

    block_on(a.delete(key.clone())).unwrap();
    assert!(eventually(Duration::from_millis(500), || !in_l1(&b)));
    assert!(block_on(b.fetch(key.clone(), now)).unwrap().is_empty());
}

#[test]
fn a_write_replaces_the_variants_its_request_would_be_served() {
    let Some(server) = Server::start() else {
        return;
    };
    let s = store(&server, 500, false);
    let now = 1_000.0;
    let key = s.key("http://h", "/v");
    // Two variants by accept-language; a third request without the header.
    block_on(s.write(
        key.clone(),
        variant(b"en", "accept-language\0sen", "accept-language\0sen", now),
    ))
    .unwrap();
    block_on(s.write(
        key.clone(),
        variant(
            b"fr",
            "accept-language\0sfr",
            "accept-language\0sfr\u{1}x\0s1",
            now,
        ),
    ))
    .unwrap();
    block_on(s.write(key.clone(), variant(b"none", "accept-language\0n", "", now))).unwrap();
    let v = block_on(s.fetch(key.clone(), now)).unwrap();
    let bodies: Vec<&[u8]> = v.iter().map(|v| &v.body[..]).collect();
    assert_eq!(bodies, [b"en".as_slice(), b"fr", b"none"], "write order");
    // A response without Vary to a request with accept-language: fr replaces
    // the fr variant (that request would have been served it), keeps the others.
    block_on(s.write(
        key.clone(),
        variant(b"fr2", "", "accept-language\0sfr", now),
    ))
    .unwrap();
    let v = block_on(s.fetch(key.clone(), now)).unwrap();
    let bodies: Vec<&[u8]> = v.iter().map(|v| &v.body[..]).collect();
    assert_eq!(bodies, [b"en".as_slice(), b"none", b"fr2"]);
}

#[test]
fn entries_expire_in_redis_no_earlier_than_either_clock_says() {
    let Some(server) = Server::start() else {
        return;
    };
    let s = store(&server, 500, false);
    let key = s.key("http://h", "/ttl");
    // The caller's clock says 1970 (a fake timer): deleteAt is "in the past"
    // for Redis, yet the entry lives deleteAt - now = 60 s from Redis' now.
    block_on(s.write(key.clone(), variant(b"x", "", "", 1_000.0))).unwrap();
    let mut pttl = ::redis::cmd("PTTL");
    pttl.arg(&key);
    let ttl: i64 = block_on(s.client().query(&pttl)).unwrap();
    assert!((59_000..=60_000).contains(&ttl), "ttl {ttl}");
    // Read with the caller's clock past deleteAt: not served.
    assert!(block_on(s.fetch(key.clone(), 61_001.0)).unwrap().is_empty());
}

impl RedisStore {
    fn subscription_is_live(&self) -> bool {
        self.is_coherent()
    }
}
