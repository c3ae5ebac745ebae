//! The addon's one tokio runtime: created on first use, one worker thread,
//! shared by every Redis client of the process (and so by every store and
//! worker thread). Its threads are plain OS threads, not libuv handles: they
//! never keep Node's event loop alive. The runtime lives in a `static` and is
//! never shut down; at process exit its threads simply stop.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

/// Worker threads of the runtime. Redis work is I/O-bound and small (encode a
/// command, decode a reply). With one worker a command, the connection's
/// driver task and the reply run on one thread, so a round trip crosses
/// threads only twice (JS → runtime → JS). Measured (get-hit of a 256 B entry,
/// 21 interleaved rounds, median, 2-core machine): 2 workers 46 µs (2.4× a
/// plain ioredis GET), 1 worker 32 µs (1.7×); a current-thread runtime on a
/// dedicated thread measured the same as 1 worker.
pub const WORKER_THREADS: usize = 1;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The runtime, created on the first call; `Err` if the OS refused threads.
pub fn runtime() -> Result<&'static Runtime, String> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(WORKER_THREADS)
                .thread_name("ferrocache-redis")
                .enable_io()
                .enable_time()
                .build()
                .map_err(|e| format!("cannot start the Redis runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}
