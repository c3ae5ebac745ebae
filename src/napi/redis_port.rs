//! The completion port: how results of Redis calls reach JS on the hot paths
//! (`RedisCacheStore` get and write). One threadsafe function per JS thread,
//! created once (`redisPortOpen(settle)`), instead of a napi deferred per
//! call: a deferred creates and tears down a threadsafe function (a libuv
//! async handle) for every Promise, measured ~20 µs per round trip above a
//! plain JS client on the bench machine.
//!
//! - A call returns an id; the JS shell (`lib/redis-port.js`) keeps
//!   `id → { resolve, reject }`.
//! - The runtime thread that finishes a call pushes `(id, result)` on this
//!   thread's queue and wakes the JS thread only if the queue was empty; the
//!   JS side drains the whole queue in one callback: `settle([id, ok, value,
//!   ...])`.
//! - The threadsafe function is unref'd while nothing is pending, and ref'd
//!   while a call is in flight (as any pending I/O keeps the loop alive; every
//!   call has a deadline), so an idle store never keeps a process alive.

use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;

use futures_util::FutureExt;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Env;
use napi_derive::napi;
use parking_lot::Mutex;

use super::redis_client::SharedBuffer;

/// What a finished call hands JS.
pub enum Payload {
    Undefined,
    /// `[meta, body, meta, body, ...]` (strings and Buffers).
    Parts(Vec<(String, bytes::Bytes)>),
}

struct Completion {
    id: f64,
    result: std::result::Result<Payload, String>,
}

/// One element of a batch array: an id, an ok flag, or a value.
type BatchItem = Either3<f64, bool, Either3<Undefined, Vec<Either<String, SharedBuffer>>, String>>;

/// A batch of completions as one JS array `[id, ok (bool), value, ...]`.
pub struct Batch(Vec<Completion>);

impl ToNapiValue for Batch {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        let mut out: Vec<BatchItem> = Vec::with_capacity(val.0.len() * 3);
        for c in val.0 {
            out.push(Either3::A(c.id));
            match c.result {
                Ok(Payload::Undefined) => {
                    out.push(Either3::B(true));
                    out.push(Either3::C(Either3::A(())));
                }
                Ok(Payload::Parts(parts)) => {
                    out.push(Either3::B(true));
                    let mut items = Vec::with_capacity(parts.len() * 2);
                    for (meta, body) in parts {
                        items.push(Either::A(meta));
                        items.push(Either::B(SharedBuffer(body)));
                    }
                    out.push(Either3::C(Either3::B(items)));
                }
                Err(message) => {
                    out.push(Either3::B(false));
                    out.push(Either3::C(Either3::C(message)));
                }
            }
        }
        // SAFETY: `env` is the live env this conversion was called with.
        unsafe { Vec::to_napi_value(env, out) }
    }
}

type Wake = ThreadsafeFunction<(), (), Batch, Status, false, true>;

/// The part runtime threads touch.
struct Shared {
    queue: Mutex<Vec<Completion>>,
    wake: Mutex<Option<Wake>>,
}

/// This JS thread's port.
struct Port {
    shared: Arc<Shared>,
    pending: Cell<u32>,
}

thread_local! {
    static PORT: RefCell<Option<Rc<Port>>> = const { RefCell::new(None) };
}

fn set_ref(env: napi::sys::napi_env, shared: &Shared, on: bool) {
    if let Some(wake) = shared.wake.lock().as_ref() {
        // SAFETY: called on the JS thread that owns `env` and created the
        // threadsafe function, which is alive (held in `wake`).
        unsafe {
            if on {
                napi::sys::napi_ref_threadsafe_function(env, wake.raw());
            } else {
                napi::sys::napi_unref_threadsafe_function(env, wake.raw());
            }
        }
    }
}

/// Installs this thread's port: `settle(batch)` is called with `[id, ok,
/// value, ...]` for every finished call. Calling it again replaces `settle`.
#[napi(catch_unwind, ts_args_type = "settle: (batch: Array<unknown>) => void")]
pub fn redis_port_open(settle: Function<'_, Batch, ()>) -> Result<()> {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Vec::new()),
        wake: Mutex::new(None),
    });
    let drain = Arc::downgrade(&shared);
    let wake: Wake = settle
        .build_threadsafe_function::<()>()
        .weak::<true>()
        .callee_handled::<false>()
        .build_callback(move |ctx| {
            let batch = drain
                .upgrade()
                .map(|s| std::mem::take(&mut *s.queue.lock()))
                .unwrap_or_default();
            // Settled calls no longer keep the loop alive.
            let n = batch.len() as u32;
            let _ = PORT.try_with(|p| {
                if let Some(port) = p.borrow().as_ref() {
                    let left = port.pending.get().saturating_sub(n);
                    port.pending.set(left);
                    if left == 0 {
                        set_ref(ctx.env.raw(), &port.shared, false);
                    }
                }
            });
            Ok(Batch(batch))
        })?;
    *shared.wake.lock() = Some(wake);
    PORT.with(|p| {
        *p.borrow_mut() = Some(Rc::new(Port {
            shared,
            pending: Cell::new(0),
        }))
    });
    Ok(())
}

/// Spawns `fut` on the Redis runtime; its result reaches JS through this
/// thread's port under the returned id.
pub fn spawn_completion<F>(env: &Env, id: f64, fut: F) -> Result<()>
where
    F: std::future::Future<Output = std::result::Result<Payload, String>> + Send + 'static,
{
    let port = PORT.with(|p| p.borrow().clone()).ok_or_else(|| {
        Error::new(
            Status::GenericFailure,
            "redisPortOpen was not called".to_owned(),
        )
    })?;
    let rt = crate::redis::runtime::runtime().map_err(Error::from_reason)?;
    let pending = port.pending.get() + 1;
    port.pending.set(pending);
    if pending == 1 {
        set_ref(env.raw(), &port.shared, true);
    }
    let shared = port.shared.clone();
    rt.spawn(async move {
        // A panic in the call must still settle its Promise (and let the
        // loop go): it becomes an error result.
        let result = match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(result) => result,
            Err(_) => Err("internal error in the Redis call (panic)".to_owned()),
        };
        let wake = {
            let mut q = shared.queue.lock();
            let wake = q.is_empty();
            q.push(Completion { id, result });
            wake
        };
        if wake {
            if let Some(w) = shared.wake.lock().as_ref() {
                w.call((), ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
    });
    Ok(())
}
