//! Outputs as JSON text that is pure ASCII: V8 then makes a one-byte string
//! of it (a copy, no UTF-8 decoding) and parses it on its faster one-byte
//! path. Characters beyond ASCII are written as `\uXXXX` escapes, which
//! `JSON.parse` turns back into the same text.

use std::io::{self, Write};

use napi::bindgen_prelude::{Result, ToNapiValue};
use napi::{check_status, sys};
use serde::Serialize;

/// JSON text whose every byte is ASCII; it becomes a JS string.
pub struct AsciiJson(Vec<u8>);

impl AsciiJson {
    pub fn of<T: Serialize>(value: &T) -> Self {
        let mut out = Vec::with_capacity(256);
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, Ascii);
        match value.serialize(&mut serializer) {
            Ok(()) => AsciiJson(out),
            // These plain types always encode; should one ever not, the host
            // logs the loss instead of losing every action.
            Err(e) => AsciiJson(
                serde_json::json!({
                    "actions": [{"type": "log", "level": "error", "message": format!("internal error, the engine's actions could not be encoded ({e})")}],
                    "timeoutAt": null,
                    "journal": null,
                })
                .to_string()
                .into_bytes(),
            ),
        }
    }
}

impl ToNapiValue for AsciiJson {
    unsafe fn to_napi_value(env: sys::napi_env, value: Self) -> Result<sys::napi_value> {
        let mut raw = std::ptr::null_mut();
        let len = isize::try_from(value.0.len()).unwrap_or(isize::MAX);
        // SAFETY: the bytes are ASCII, hence Latin-1, and live for the call,
        // which copies them into the JS heap.
        check_status!(
            unsafe { sys::napi_create_string_latin1(env, value.0.as_ptr().cast(), len, &mut raw) },
            "could not make a string of the engine's output"
        )?;
        Ok(raw)
    }
}

/// serde_json's compact output, with every character beyond ASCII escaped.
struct Ascii;

impl serde_json::ser::Formatter for Ascii {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Ids, names and most text are ASCII already: written as they are.
        if fragment.is_ascii() {
            return writer.write_all(fragment.as_bytes());
        }
        let mut plain = 0;
        for (at, c) in fragment.char_indices() {
            if c.is_ascii() {
                continue;
            }
            writer.write_all(fragment.get(plain..at).unwrap_or_default().as_bytes())?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            plain = at + c.len_utf8();
        }
        writer.write_all(fragment.get(plain..).unwrap_or_default().as_bytes())
    }
}
