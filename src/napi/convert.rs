//! Conversions shared by the bindings.

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::{Env, ValueType};

use crate::http::vary::{HeaderValue, RequestHeaders, VaryKey};
use crate::store::entry::ResourceKey;

/// Splits `packed` = origin + method + path, given the origin's and method's
/// lengths in UTF-16 code units (JS `length`), into the resource key and method.
pub fn unpack_key(packed: &str, origin_len: u32, method_len: u32) -> Result<(ResourceKey, &str)> {
    let (o, m) = (origin_len as usize, method_len as usize);
    let (ob, mb) = if packed.is_ascii() {
        (o, o + m)
    } else {
        (utf16_offset(packed, o)?, utf16_offset(packed, o + m)?)
    };
    if mb > packed.len() || ob > mb {
        return Err(Error::new(Status::InvalidArg, "malformed cache key".to_owned()));
    }
    let key = ResourceKey::new(&packed[..ob], &packed[mb..]);
    Ok((key, &packed[ob..mb]))
}

/// Byte offset of the `units`-th UTF-16 code unit boundary.
fn utf16_offset(s: &str, units: usize) -> Result<usize> {
    let mut seen = 0;
    for (i, c) in s.char_indices() {
        if seen == units {
            return Ok(i);
        }
        seen += c.len_utf16();
    }
    if seen == units {
        Ok(s.len())
    } else {
        Err(Error::new(Status::InvalidArg, "malformed cache key".to_owned()))
    }
}

/// A JS value as a header value: string, array of strings, or absent.
pub fn header_value(value: Option<Unknown>) -> HeaderValue {
    let Some(value) = value else {
        return HeaderValue::Absent;
    };
    match value.get_type() {
        Ok(ValueType::Undefined) | Ok(ValueType::Null) => HeaderValue::Absent,
        Ok(ValueType::String) => match unsafe { value.cast::<String>() } {
            Ok(s) => HeaderValue::One(s.into_boxed_str()),
            Err(_) => HeaderValue::Invalid,
        },
        Ok(ValueType::Object) if value.is_array().unwrap_or(false) => {
            // SAFETY: checked to be an array just above.
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

/// The caller's request headers object, read lazily by name.
pub struct JsHeaders<'a>(pub Option<&'a Object<'a>>);

impl RequestHeaders for JsHeaders<'_> {
    fn header(&mut self, name: &str) -> HeaderValue {
        match self.0 {
            None => HeaderValue::Absent,
            Some(obj) => header_value(obj.get::<Unknown>(name).unwrap_or(None)),
        }
    }
}

/// undici's `vary` object (`{ name: string | string[] | null }`) as a VaryKey.
/// The JS shell has validated the value types.
pub fn vary_key(vary: &Object) -> Result<VaryKey> {
    let names = Object::keys(vary)?;
    let mut pairs = Vec::with_capacity(names.len());
    for name in names {
        let value = header_value(vary.get::<Unknown>(&name)?);
        if value == HeaderValue::Invalid {
            return Err(Error::new(
                Status::InvalidArg,
                format!("vary['{name}'] must be a string, an array of strings or null"),
            ));
        }
        pairs.push((name.into_boxed_str(), value));
    }
    Ok(VaryKey(pairs))
}

/// A zero-copy Buffer over `bytes`; the finalizer drops the `Bytes` handle.
pub fn external_buffer<'env>(env: &'env Env, bytes: Bytes) -> Result<BufferSlice<'env>> {
    if bytes.is_empty() {
        return BufferSlice::from_data(env, Vec::new());
    }
    let ptr = bytes.as_ptr() as *mut u8;
    let len = bytes.len();
    // SAFETY: `ptr` points at `len` bytes owned by `bytes`, which is moved into
    // the finalize hint and so outlives the Buffer. JS may write through the
    // Buffer; Rust never reads a body it has handed out as a reference to the
    // same memory while JS runs (the store only clones the `Bytes` handle).
    unsafe { BufferSlice::from_external(env, ptr, len, bytes, |_, bytes| drop(bytes)) }
}
