use napi_derive::napi;

use super::mode::JsToolMode;

/// A mode the host cannot perform (a hand-off, or `cancel`; never `status`),
/// given to the `RelayEngine` constructor: the tool neither offers nor accepts it, and a call to it is
/// refused with "this OpenCode lacks <lacks>".
// Type only: the list is read as JSON (`HostLimit::list_from_json`), for messages naming the field.
#[allow(dead_code)]
#[napi(object)]
pub struct JsHostLimit {
    pub mode: JsToolMode,
    /// What the host lacks, finishing "this OpenCode lacks …", e.g. "a way to fork a session from a plugin".
    pub lacks: String,
}
