//! N-API glue of the Redis tier (`src/redis/`): Promises settled from the
//! addon's tokio runtime, shared clients, and pub/sub callbacks.
//!
//! - **Promises**: [`spawn_promise`] creates a napi deferred (`env.create_deferred`,
//!   a Promise plus a one-shot threadsafe function), spawns the future on our
//!   own runtime (`redis::runtime`, not napi-rs' `tokio_rt` feature: one
//!   runtime for the whole addon whose size we choose, created only when Redis
//!   is used), and settles the Promise on the JS thread with the output. A
//!   pending Promise keeps the event loop alive (as any pending I/O does) and
//!   every Redis call has a deadline, so it never keeps it for long.
//! - **Callbacks** ([`redis_client_subscribe`]): a weak (unref'd)
//!   threadsafe function per subscription: it never keeps a process alive.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::Env;
use napi_derive::napi;
use parking_lot::Mutex;

use crate::redis::{BusEvent, ClientOptions, RedisClient, Subscription};

/// Spawns `fut` on the Redis runtime; the returned Promise resolves with its
/// `Ok` value (converted on the JS thread) or rejects with an `Error` carrying
/// its `Err` message.
pub fn spawn_promise<'env, T, F>(env: &'env Env, fut: F) -> Result<Object<'env>>
where
    T: ToNapiValue + Send + 'static,
    F: std::future::Future<Output = std::result::Result<T, String>> + Send + 'static,
{
    type Resolve<T> = Box<dyn FnOnce(Env) -> Result<T>>;
    let (deferred, promise) = env.create_deferred::<T, Resolve<T>>()?;
    let rt = crate::redis::runtime::runtime().map_err(Error::from_reason)?;
    rt.spawn(async move {
        // A panic in the future still settles the Promise (a pending deferred
        // would keep the event loop alive forever).
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(Ok(value)) => deferred.resolve(Box::new(move |_| Ok(value))),
            Ok(Err(message)) => deferred.reject(Error::from_reason(message)),
            Err(_) => deferred.reject(Error::from_reason(
                "internal error in the Redis call (panic)",
            )),
        }
    });
    Ok(promise)
}

/// A Buffer over `bytes` without copying, built on the JS thread (a
/// resolved value of [`spawn_promise`]).
pub struct SharedBuffer(pub Bytes);

impl ToNapiValue for SharedBuffer {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        let env = Env::from_raw(env);
        let buffer = super::convert::external_buffer(&env, val.0)?;
        // SAFETY: `env` is the live env this conversion was called with.
        unsafe { BufferSlice::to_napi_value(env.raw(), buffer) }
    }
}

/// Milliseconds from JS as a deadline (at least 1 ms).
pub fn deadline(ms: f64) -> Duration {
    if ms.is_finite() && ms >= 1.0 {
        Duration::from_millis(ms as u64)
    } else if ms.is_finite() {
        Duration::from_millis(1)
    } else {
        Duration::from_secs(24 * 3600)
    }
}

/// Client options from the shell's arguments.
pub fn client_options(urls: Vec<String>, cluster: bool, command_timeout: f64) -> ClientOptions {
    ClientOptions {
        urls,
        cluster,
        command_timeout: deadline(command_timeout),
    }
}

/// Opens (or shares) the process-wide client for these options. Throws a
/// `TypeError` naming a URL that cannot be read; never connects.
#[napi(catch_unwind)]
pub fn redis_client_open(
    urls: Vec<String>,
    cluster: bool,
    command_timeout: f64,
) -> Result<External<RedisClient>> {
    let options = client_options(urls, cluster, command_timeout);
    RedisClient::open(&options)
        .map(External::new)
        .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))
}

/// `[available (0/1), errors, reconnects]` of a client.
#[napi(catch_unwind)]
pub fn redis_client_state(client: &External<RedisClient>) -> Vec<f64> {
    vec![
        client.is_available() as u8 as f64,
        client.errors() as f64,
        client.reconnects() as f64,
    ]
}

/// Runs one command (`args[0]` is its name) through the client's deadline
/// and breaker; resolves with the reply as a string, a number, an array of
/// those, or null.
#[napi(catch_unwind)]
pub fn redis_client_command<'env>(
    env: &'env Env,
    client: &External<RedisClient>,
    args: Vec<String>,
) -> Result<Object<'env>> {
    let client: RedisClient = (**client).clone();
    spawn_promise(env, async move {
        let Some((name, rest)) = args.split_first() else {
            return Err("no command".to_owned());
        };
        let mut cmd = ::redis::cmd(name);
        for a in rest {
            cmd.arg(a);
        }
        let reply: ::redis::Value = client.query(&cmd).await.map_err(|e| e.to_string())?;
        Ok(Reply(reply))
    })
}

/// A Redis reply as plain JS values.
struct Reply(::redis::Value);

impl ToNapiValue for Reply {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        use ::redis::Value as V;
        // SAFETY: `env` is the live env this conversion was called with (on
        // the JS thread), and each value is converted with it exactly once.
        unsafe {
            match val.0 {
                V::Nil => Null::to_napi_value(env, Null),
                V::Int(i) => f64::to_napi_value(env, i as f64),
                V::Double(d) => f64::to_napi_value(env, d),
                V::Boolean(b) => bool::to_napi_value(env, b),
                V::BulkString(b) => {
                    String::to_napi_value(env, String::from_utf8_lossy(&b).into_owned())
                }
                V::SimpleString(s) => String::to_napi_value(env, s),
                V::Okay => String::to_napi_value(env, "OK".to_owned()),
                V::Array(items) | V::Set(items) => {
                    Vec::<Reply>::to_napi_value(env, items.into_iter().map(Reply).collect())
                }
                V::Map(pairs) => Vec::<Reply>::to_napi_value(
                    env,
                    pairs
                        .into_iter()
                        .flat_map(|(k, v)| [Reply(k), Reply(v)])
                        .collect(),
                ),
                other => String::to_napi_value(env, format!("{other:?}")),
            }
        }
    }
}

/// A JS-owned subscription; `redisSubscriptionClose` (or collection) ends it.
pub struct JsSubscription(Mutex<Option<Subscription>>);

/// Calls `callback(message: Buffer)` for every message on `channel`, and
/// `callback(null)` whenever messages may have been missed (disconnect,
/// resubscription): clear or re-read what depends on them. The callback runs
/// through an unref'd threadsafe function: it never keeps the process alive.
#[napi(catch_unwind)]
pub fn redis_client_subscribe(
    client: &External<RedisClient>,
    channel: String,
    callback: Function<'_, Option<Buffer>, ()>,
) -> Result<External<JsSubscription>> {
    let tsfn = Arc::new(
        callback
            .build_threadsafe_function::<Option<Vec<u8>>>()
            .weak::<true>()
            .callee_handled::<false>()
            .build_callback(|ctx| Ok(ctx.value.map(Buffer::from)))?,
    );
    let subscription = client.subscribe(
        &channel,
        Arc::new(move |event: BusEvent<'_>| {
            let value = match event {
                BusEvent::Message(m) => Some(m.to_vec()),
                BusEvent::Resync => None,
            };
            tsfn.call(value, ThreadsafeFunctionCallMode::NonBlocking);
        }),
    );
    Ok(External::new(JsSubscription(Mutex::new(Some(
        subscription,
    )))))
}

/// Ends a subscription now (idempotent).
#[napi(catch_unwind)]
pub fn redis_subscription_close(subscription: &External<JsSubscription>) {
    subscription.0.lock().take();
}
