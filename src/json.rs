//! Outputs as JSON text that is pure ASCII: V8 then makes a one-byte string
//! of it (a copy, no UTF-8 decoding) and parses it on its faster one-byte
//! path. Characters beyond ASCII are written as `\uXXXX` escapes, which
//! `JSON.parse` turns back into the same text.
//!
//! A drain may also carry its prompts and log lines as compact lines instead
//! (see [`write_prompt`], [`write_log`]), for a host whose reader decodes them
//! (`readDrain` in lib/driver.js); they are ASCII too.

use std::cell::Cell;
use std::io::{self, Write};

use napi::bindgen_prelude::{Result, ToNapiValue};
use napi::{check_status, sys};
use opencode_sessions_engine::{Action, ActionId, Decimal, Request};
use serde::Serialize;

use crate::types::{JsAction, JsLogLevel, JsPendingHandOff};

thread_local! {
    /// The buffer of the last drain, kept for the next one: most inputs
    /// write a drain, and each would otherwise allocate its own.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A buffer that grew past this goes back to the allocator rather than
/// staying with the thread.
const SPARE_MAX_BYTES: usize = 16 * 1024;

/// The spare buffer, or a new one (also while the thread is ending, when
/// its spare is gone).
fn buffer() -> Vec<u8> {
    let mut out = SPARE.try_with(Cell::take).unwrap_or_default();
    out.clear();
    out.reserve(512);
    out
}

/// Keeps `out` as the spare; while the thread is ending, it is just freed.
fn recycle(mut out: Vec<u8>) {
    if out.capacity() <= SPARE_MAX_BYTES {
        out.clear();
        // An ending thread has no spare to keep: dropping the buffer is all there is to do.
        let _ = SPARE.try_with(|spare| spare.set(out));
    }
}

fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    value.serialize(&mut serde_json::Serializer::with_formatter(out, Ascii))
}

/// The JSON of a drain, written as the engine hands out its actions (no
/// list of them is kept), laid out one action per line:
///
/// ```text
/// {"actions":[
/// {...first action...}
/// ,{...next action...}
/// ],"timeoutAt":...,"journal":...}
/// ```
///
/// Still the JSON of a [`JsDrain`] (the line breaks are whitespace,
/// strings never hold a raw one), but the driver can parse and run each
/// action before it reads the next: a prompt, the first action of an idle
/// edge, leaves before the notice and log line after it are built as JS
/// objects (measured in the dispatch bench: parsing the whole drain
/// took ~6 µs, the prompt's line alone ~2 µs; idle event to prompt
/// went from ~14 to ~11 µs).
///
/// With `compact`, prompt requests and log lines are compact lines
/// rather than JSON (see [`write_prompt`]).
pub struct DrainWriter {
    out: Vec<u8>,
    compact: bool,
    actions: usize,
    lost: Option<serde_json::Error>,
}

impl DrainWriter {
    pub fn new(compact: bool) -> Self {
        let mut out = buffer();
        out.extend_from_slice(b"{\"actions\":[\n");
        DrainWriter {
            out,
            compact,
            actions: 0,
            lost: None,
        }
    }

    /// Whether no action was written yet.
    pub fn is_empty(&self) -> bool {
        self.actions == 0
    }

    /// Gives up the drain: nothing is returned to the host.
    pub fn discard(self) {
        recycle(self.out);
    }

    /// A request the engine lent: a prompt is written from it as it is.
    pub fn request(&mut self, id: ActionId, timeout_ms: u64, request: &Request) {
        match request {
            Request::Prompt {
                session_id,
                agent,
                parts,
            } if self.compact => {
                if self.lost.is_some() {
                    return;
                }
                let out = self.next_line();
                let written = write_prompt(out, id.0, timeout_ms, session_id, agent, parts);
                out.push(b'\n');
                if let Err(e) = written {
                    self.lost = Some(e);
                }
            }
            _ => self.action(&JsAction::from(Action::Request {
                id,
                timeout_ms,
                request: request.clone(),
            })),
        }
    }

    /// Where the next action's line goes, led by the comma that parts it
    /// from the one before.
    fn next_line(&mut self) -> &mut Vec<u8> {
        if self.actions > 0 {
            self.out.push(b',');
        }
        self.actions += 1;
        &mut self.out
    }

    pub fn action(&mut self, action: &JsAction) {
        if self.lost.is_some() {
            return;
        }
        let compact = self.compact;
        let out = self.next_line();
        let written = match action {
            JsAction::Log { level, message } if compact => write_log(out, level, message),
            _ => write(out, action),
        };
        out.push(b'\n');
        if let Err(e) = written {
            self.lost = Some(e);
        }
    }

    /// The drain's text, ended with when to call `timeout()` and the pending list.
    pub fn finish(
        mut self,
        timeout_at: Option<i64>,
        journal: Option<&[JsPendingHandOff]>,
    ) -> DrainText {
        let out = &mut self.out;
        out.extend_from_slice(b"],\"timeoutAt\":");
        match timeout_at {
            Some(at) => write_number(out, at),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"journal\":");
        match journal {
            None => out.extend_from_slice(b"null"),
            Some([]) => out.extend_from_slice(b"[]"),
            Some(list) => {
                if let Err(e) = write(out, list) {
                    self.lost = Some(e);
                }
            }
        }
        out.push(b'}');
        match self.lost {
            None => DrainText(self.out),
            Some(e) => {
                recycle(self.out);
                DrainText::lost(e)
            }
        }
    }
}

/// A prompt request as one compact line, which the host reads with a few
/// string slices instead of `JSON.parse` (measured in the dispatch bench:
/// parsing the prompt's JSON line took about a third of the idle edge):
///
/// ```text
/// P<id>,<timeoutMs>,<n>:<sessionId><n>:<agent><count>,<n>:<part>…
/// ```
///
/// (a string beyond ASCII as `<n>;<JSON literal>` instead of `<n>:<text>`).
/// Numbers are decimal; each string is counted (see [`write_counted`]), so
/// a raw line break inside a part is text, not the end of the line: the
/// reader knows where the line ends from the lengths.
fn write_prompt(
    out: &mut Vec<u8>,
    id: u64,
    timeout_ms: u64,
    session_id: &str,
    agent: &str,
    parts: &[String],
) -> serde_json::Result<()> {
    out.push(b'P');
    write_whole(out, id);
    out.push(b',');
    write_whole(out, timeout_ms);
    out.push(b',');
    write_counted(out, session_id)?;
    write_counted(out, agent)?;
    write_whole(out, parts.len() as u64);
    out.push(b',');
    for part in parts {
        write_counted(out, part)?;
    }
    Ok(())
}

/// A log line as one compact line: `L<n>:<level><n>:<message>`, strings
/// led by their length as in [`write_prompt`].
fn write_log(out: &mut Vec<u8>, level: &JsLogLevel, message: &str) -> serde_json::Result<()> {
    out.push(b'L');
    let level = match level {
        JsLogLevel::Debug => "debug",
        JsLogLevel::Info => "info",
        JsLogLevel::Warn => "warn",
        JsLogLevel::Error => "error",
    };
    write_counted(out, level)?;
    write_counted(out, message)
}

/// `<length>:<text>` for ASCII text, written as it is; other text as
/// `<length>;<JSON string literal>` with every character beyond ASCII
/// escaped, so the drain stays ASCII (a one-byte JS string, made by a copy
/// rather than by decoding UTF-8). Lengths count bytes, which for ASCII are
/// the UTF-16 code units JS string indices count.
fn write_counted(out: &mut Vec<u8>, text: &str) -> serde_json::Result<()> {
    if text.is_ascii() {
        write_whole(out, text.len() as u64);
        out.push(b':');
        out.extend_from_slice(text.as_bytes());
        return Ok(());
    }
    // The literal first, as every JSON string here is written (see `Ascii`),
    // then its length in front of it: one pass over the text.
    let start = out.len();
    write(out, text)?;
    let length = Decimal::new((out.len() - start) as u64);
    let prefix = length.as_str().bytes().chain([b';']);
    drop(out.splice(start..start, prefix));
    Ok(())
}

/// Decimal digits, without the formatting machinery: this runs for every
/// number of a prompt's line.
fn write_number(out: &mut Vec<u8>, number: i64) {
    if number < 0 {
        out.push(b'-');
    }
    write_whole(out, number.unsigned_abs());
}

fn write_whole(out: &mut Vec<u8>, number: u64) {
    out.extend_from_slice(Decimal::new(number).as_str().as_bytes());
}

/// The text of a drain: ASCII, whether its lines are JSON or compact.
pub struct DrainText(Vec<u8>);

impl DrainText {
    /// These plain types always encode; should one ever not, the host logs
    /// the loss instead of losing every action.
    fn lost(e: serde_json::Error) -> Self {
        let message = format!("internal error, the engine's actions could not be encoded ({e})");
        let text = format!(
            "{{\"actions\":[\n{}\n],\"timeoutAt\":null,\"journal\":null}}",
            serde_json::json!({"type": "log", "level": "error", "message": message})
        );
        DrainText(text.into_bytes())
    }

    /// The JSON of a [`crate::types::JsToolCallStarted`]: the call's id and
    /// what the call left to do (a drain written without compact lines).
    pub fn tool_call_started(call: u64, drain: Option<DrainText>) -> DrainText {
        let mut out = buffer();
        out.extend_from_slice(b"{\"call\":");
        write_whole(&mut out, call);
        out.extend_from_slice(b",\"drain\":");
        match drain {
            Some(drain) => {
                out.extend_from_slice(&drain.0);
                recycle(drain.0);
            }
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        DrainText(out)
    }
}

impl ToNapiValue for DrainText {
    unsafe fn to_napi_value(env: sys::napi_env, value: Self) -> Result<sys::napi_value> {
        let text = value.0;
        let mut raw = std::ptr::null_mut();
        let len = isize::try_from(text.len()).unwrap_or(isize::MAX);
        let status = if text.is_ascii() {
            // SAFETY: the bytes live for the call, which copies them into the
            // JS heap; ASCII is Latin-1, which V8 copies a byte per character.
            unsafe { sys::napi_create_string_latin1(env, text.as_ptr().cast(), len, &mut raw) }
        } else {
            // Not reached while every writer escapes what is beyond ASCII;
            // should one not, the text still arrives whole, decoded as UTF-8.
            // SAFETY: as above; the bytes are UTF-8 (JSON and `str`s written whole).
            unsafe { sys::napi_create_string_utf8(env, text.as_ptr().cast(), len, &mut raw) }
        };
        recycle(text);
        check_status!(status, "could not make a string of the engine's output")?;
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
