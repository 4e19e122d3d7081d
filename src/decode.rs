//! Arguments from JS, read without trusting their type: a value of the wrong
//! type is refused with an error naming the argument, rather than napi's
//! generic conversion message.

use napi::bindgen_prelude::{FromNapiValue, JsValue, Unknown};
use napi::{sys, ValueType};
use opencode_sessions_engine::InputError;
use serde_json::Value;

/// A plain JSON-like value (object, array, string, number, boolean, null).
/// `undefined` fields are left out; functions, symbols, cycles and values
/// nested too deep are refused.
pub fn json(what: &'static str, value: Unknown<'_>) -> Result<Value, InputError> {
    if value.get_type().ok() == Some(ValueType::Undefined) {
        return Err(InputError::malformed(
            what,
            "expected an object, got undefined",
        ));
    }
    Value::from_unknown(value).map_err(|e| {
        // napi's words for NaN and infinities, which JSON cannot hold.
        let detail = if e.reason.contains("js number to serde_json::Number") {
            "holds a number that is NaN or infinite, which JSON cannot represent".to_owned()
        } else {
            e.reason
        };
        InputError::malformed(what, detail)
    })
}

/// Strings up to this many UTF-16 code units (session ids, agent names) are
/// read in one Node-API call.
const SHORT: usize = 128;

pub fn string(what: &'static str, value: Unknown<'_>) -> Result<String, InputError> {
    // The common case first: a short string, read in one call without asking
    // its type. As UTF-16, which V8 copies as it is, where UTF-8 takes it two
    // passes (measured and encoded); ids are ASCII and narrow back at once.
    let raw = value.value();
    let mut buffer = [0u16; SHORT];
    let mut len = 0usize;
    // SAFETY: `raw` is a live value of this call; the buffer holds `SHORT` units,
    // and Node-API writes at most that many, the terminating NUL included.
    let status = unsafe {
        sys::napi_get_value_string_utf16(raw.env, raw.value, buffer.as_mut_ptr(), SHORT, &mut len)
    };
    // A longer string is cut to fit: only a string shorter than that is whole.
    if status == sys::Status::napi_ok && len + 1 < SHORT {
        if let Some(units) = buffer.get(..len) {
            if units.iter().all(|&unit| unit < 0x80) {
                // Byte by byte, which the compiler vectorizes, rather than char by char.
                let bytes: Vec<u8> = units.iter().map(|&unit| unit as u8).collect();
                if let Ok(text) = String::from_utf8(bytes) {
                    return Ok(text);
                }
            }
            // Lone surrogates become U+FFFD, as Node-API's UTF-8 makes them.
            return Ok(String::from_utf16_lossy(units));
        }
    }
    expect(what, &value, ValueType::String, "a string")?;
    String::from_unknown(value).map_err(|e| InputError::malformed(what, e.reason))
}

pub fn boolean(what: &'static str, value: Unknown<'_>) -> Result<bool, InputError> {
    let raw = value.value();
    let mut flag = false;
    // SAFETY: `raw` is a live value of this call; a non-boolean only fails the call.
    if unsafe { sys::napi_get_value_bool(raw.env, raw.value, &mut flag) } == sys::Status::napi_ok {
        return Ok(flag);
    }
    expect(what, &value, ValueType::Boolean, "true or false")?;
    bool::from_unknown(value).map_err(|e| InputError::malformed(what, e.reason))
}

/// A timestamp or id: a JS number that is a whole number from 0 to 2^53 - 1.
pub fn whole_number(what: &'static str, value: Unknown<'_>) -> Result<u64, InputError> {
    let raw = value.value();
    let mut number = 0f64;
    // SAFETY: `raw` is a live value of this call; a non-number only fails the call.
    if unsafe { sys::napi_get_value_double(raw.env, raw.value, &mut number) }
        == sys::Status::napi_ok
    {
        return whole(what, number);
    }
    expect(what, &value, ValueType::Number, "a whole number")?;
    let number = f64::from_unknown(value).map_err(|e| InputError::malformed(what, e.reason))?;
    whole(what, number)
}

/// NaN, infinities, negatives, fractions and numbers past 2^53 - 1 (where
/// doubles stop counting in ones) are refused rather than silently rounded.
fn whole(what: &'static str, value: f64) -> Result<u64, InputError> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= 9_007_199_254_740_991.0
    {
        // In range and integral, so the cast is exact.
        Ok(value as u64)
    } else {
        let shown = match value {
            v if v.is_nan() => "NaN".to_owned(),
            v if v == f64::INFINITY => "Infinity".to_owned(),
            v if v == f64::NEG_INFINITY => "-Infinity".to_owned(),
            v if v.abs() >= 1e16 => format!("{v:e}"),
            v => v.to_string(),
        };
        Err(InputError::Malformed {
            what,
            detail: format!("expected a whole number from 0 to 2^53 - 1, got {shown}"),
        })
    }
}

fn expect(
    what: &'static str,
    value: &Unknown<'_>,
    wanted: ValueType,
    expected: &str,
) -> Result<(), InputError> {
    let found = value
        .get_type()
        .map_err(|e| InputError::malformed(what, e.reason))?;
    if found == wanted {
        Ok(())
    } else {
        Err(InputError::Malformed {
            what,
            detail: format!("expected {expected}, got {}", kind(found)),
        })
    }
}

fn kind(found: ValueType) -> &'static str {
    match found {
        ValueType::Undefined => "undefined",
        ValueType::Null => "null",
        ValueType::Boolean => "a boolean",
        ValueType::Number => "a number",
        ValueType::String => "a string",
        ValueType::Symbol => "a symbol",
        ValueType::Object => "an object",
        ValueType::Function => "a function",
        ValueType::External => "an external value",
        ValueType::BigInt => "a bigint",
        _ => "a value of unknown type",
    }
}

/// A string that is not empty, such as a session id from an event.
pub fn non_empty_string(what: &'static str, value: Unknown<'_>) -> Result<String, InputError> {
    let text = string(what, value)?;
    if text.is_empty() {
        return Err(InputError::malformed(
            what,
            "expected a non-empty string, got \"\"",
        ));
    }
    Ok(text)
}

/// A string, or `None` for null and undefined.
pub fn optional_string(
    what: &'static str,
    value: Unknown<'_>,
) -> Result<Option<String>, InputError> {
    match value
        .get_type()
        .map_err(|e| InputError::malformed(what, e.reason))?
    {
        ValueType::Null | ValueType::Undefined => Ok(None),
        ValueType::String => String::from_unknown(value)
            .map(Some)
            .map_err(|e| InputError::malformed(what, e.reason)),
        found => Err(InputError::Malformed {
            what,
            detail: format!("expected a string or null, got {}", kind(found)),
        }),
    }
}
