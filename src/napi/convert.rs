//! Conversions shared by the bindings.

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::{Env, JsString, JsValue, ValueType};

use crate::http::vary::{HeaderValue, RequestHeaders};
use smallvec::SmallVec;

use crate::store::entry::{resource_key_into, resource_key_utf16};
use crate::store::memory::Served;

/// Splits `method + '\n' + resourceKey`, the packed key the SqliteCacheStore
/// shell builds (its keys are SQL text; see lib/sqlite-cache-store.js).
pub fn split_method(packed: &str) -> Result<(&str, &str)> {
    packed
        .split_once('\n')
        .ok_or_else(|| Error::new(Status::InvalidArg, "malformed cache key".to_owned()))
}

/// The shell's report of its previous lookup, as one number: `0` nothing,
/// `id` served the single candidate, `-id` served `id` picked among several,
/// `-0.5` the single candidate did not match the request's Vary.
pub fn served(value: f64) -> Served {
    if value == -0.5 {
        Served::Rejected
    } else if value >= 1.0 && value.fract() == 0.0 {
        Served::Single(value as u64)
    } else if value <= -1.0 && value.fract() == 0.0 {
        Served::Picked(-value as u64)
    } else {
        Served::Nothing
    }
}

/// A zero-copy Buffer over `bytes`; the finalizer drops the `Bytes` handle.
pub fn external_buffer<'env>(env: &'env Env, bytes: Bytes) -> Result<BufferSlice<'env>> {
    if bytes.is_empty() {
        return BufferSlice::from_data(env, Vec::new());
    }
    let ptr = bytes.as_ptr() as *mut u8;
    let len = bytes.len();
    // SAFETY: `ptr` points at `len` bytes owned by `bytes`, which is moved into
    // the finalize hint and so outlives the Buffer. Rust never writes these
    // bytes after they are stored, and never reads them while JS code runs.
    unsafe { BufferSlice::from_external(env, ptr, len, bytes, |_, bytes| drop(bytes)) }
}

/// Stack room for a key: longer strings fall back to the heap.
const INLINE_KEY: usize = 512;

/// Reads a JS string as UTF-8 into a stack buffer and calls `f` with it; one
/// allocation fewer than a `String` argument on every hot-path call.
pub fn with_str<R>(s: &JsString, f: impl FnOnce(&str) -> Result<R>) -> Result<R> {
    with_str_in::<INLINE_KEY, R>(s, f)
}

/// [`with_str`] with room for `N` bytes on the stack (the metadata a commit
/// stores: a few hundred bytes to a few KB, read once and copied into the
/// entry).
pub fn with_str_in<const N: usize, R>(
    s: &JsString,
    f: impl FnOnce(&str) -> Result<R>,
) -> Result<R> {
    let raw = s.value();
    let (env, value) = (raw.env, raw.value);
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); N];
    let mut len = 0usize;
    // SAFETY: `buf` is valid for N bytes; napi writes at most N - 1 bytes
    // plus a NUL and reports the count in `len`.
    check_status!(unsafe {
        napi::sys::napi_get_value_string_utf8(env, value, buf.as_mut_ptr().cast(), N, &mut len)
    })?;
    // V8 copies whole characters only, so a result this far from the end was
    // not truncated.
    if len + 4 < N {
        // SAFETY: napi initialised the first `len` bytes.
        let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len) };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| Error::new(Status::InvalidArg, "invalid UTF-8 in key".to_owned()))?;
        return f(text);
    }
    let owned = s.into_utf8()?.into_owned()?;
    f(&owned)
}

/// A JS value as a header value: string, array of strings, or absent.
pub fn header_value(value: Option<Unknown>) -> HeaderValue {
    let Some(value) = value else {
        return HeaderValue::Absent;
    };
    match value.get_type() {
        Ok(ValueType::Undefined) | Ok(ValueType::Null) => HeaderValue::Absent,
        Ok(ValueType::String) => {
            // SAFETY: the value's type was checked to be a string just before.
            match unsafe { value.cast::<String>() } {
                Ok(s) => HeaderValue::One(s.into_boxed_str()),
                Err(_) => HeaderValue::Invalid,
            }
        }
        Ok(ValueType::Object) if value.is_array().unwrap_or(false) => {
            // SAFETY: the value was checked to be an array just before.
            let Ok(array) = (unsafe { value.cast::<Array>() }) else {
                return HeaderValue::Invalid;
            };
            let mut items = Vec::with_capacity(array.len() as usize);
            for i in 0..array.len() {
                match array.get::<Unknown>(i) {
                    Ok(Some(item)) if item.get_type().ok() == Some(ValueType::String) => {
                        // SAFETY: the element's type was checked to be a string.
                        match unsafe { item.cast::<String>() } {
                            Ok(s) => items.push(s.into_boxed_str()),
                            Err(_) => return HeaderValue::Invalid,
                        }
                    }
                    _ => return HeaderValue::Invalid,
                }
            }
            HeaderValue::Many(items.into_boxed_slice())
        }
        _ => HeaderValue::Invalid,
    }
}

/// The caller's request headers object, read lazily by name (only the names a
/// stored response varies on, and only when its variant key differs).
pub struct JsHeaders<'a>(pub Option<&'a Object<'a>>);

impl RequestHeaders for JsHeaders<'_> {
    fn header(&mut self, name: &str) -> HeaderValue {
        match self.0 {
            None => HeaderValue::Absent,
            Some(obj) => header_value(obj.get::<Unknown>(name).unwrap_or(None)),
        }
    }
}

/// Stack room for a resource key, in UTF-16 code units.
const INLINE_UNITS: usize = 1024;

/// Copies a JS string's UTF-16 code units into `buf`; returns how many were
/// copied, or `None` if the string may not have fit.
fn read_utf16(
    env: napi::sys::napi_env,
    value: napi::sys::napi_value,
    buf: &mut [std::mem::MaybeUninit<u16>],
) -> Result<Option<usize>> {
    let mut len = 0usize;
    // SAFETY: `buf` is valid for `buf.len()` units; napi writes at most
    // `buf.len() - 1` units plus a NUL and reports the count in `len`.
    check_status!(unsafe {
        napi::sys::napi_get_value_string_utf16(
            env,
            value,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut len,
        )
    })?;
    Ok((len + 1 < buf.len()).then_some(len))
}

fn utf16_of(env: napi::sys::napi_env, value: napi::sys::napi_value) -> Result<Vec<u16>> {
    let mut len = 0usize;
    // SAFETY: a null buffer asks napi for the length only.
    check_status!(unsafe {
        napi::sys::napi_get_value_string_utf16(env, value, std::ptr::null_mut(), 0, &mut len)
    })?;
    let mut units = vec![0u16; len + 1];
    let mut copied = 0usize;
    // SAFETY: `units` holds len + 1 units, room for the string and its NUL.
    check_status!(unsafe {
        napi::sys::napi_get_value_string_utf16(
            env,
            value,
            units.as_mut_ptr(),
            units.len(),
            &mut copied,
        )
    })?;
    units.truncate(copied);
    Ok(units)
}

/// Builds the resource key of `origin` + `path` (`store::entry::resource_key_into`
/// layout) straight from the JS strings, on the stack for usual lengths, and
/// calls `f` with it. UTF-16 copies are lossless and need no encoding work
/// (the hot path of every lookup).
pub fn with_key<R>(
    origin: &JsString,
    path: &JsString,
    f: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<R> {
    let (o, p) = (origin.value(), path.value());
    let env = o.env;
    let mut buf = [std::mem::MaybeUninit::<u16>::uninit(); INLINE_UNITS];
    if let Some(olen) = read_utf16(env, o.value, &mut buf)? {
        if let Some(plen) = read_utf16(env, p.value, &mut buf[olen..])? {
            // SAFETY: the first `olen + plen` units were initialised by napi.
            let units =
                unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u16>(), olen + plen) };
            let mut key: SmallVec<[u8; 2048]> = SmallVec::new();
            resource_key_into(&units[..olen], &units[olen..], &mut key);
            return f(&key[..]);
        }
    }
    let origin = utf16_of(env, o.value)?;
    let path = utf16_of(env, p.value)?;
    f(&resource_key_utf16(&origin, &path))
}
