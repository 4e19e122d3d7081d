use napi_derive::napi;

use super::{JsAction, JsPendingHandOff};

/// What an input left to do: every input method of `RelayEngine` returns
/// its JSON text when anything changed, `null` when nothing did.
// Type only: `DrainWriter` in json.rs writes its JSON as the actions come.
#[allow(dead_code)]
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct JsDrain {
    /// Everything the engine wants done, in order.
    pub actions: Vec<JsAction>,
    /// When `timeout()` must be called next (ms, the clock of `nowMs`), or null for never.
    pub timeout_at: Option<i64>,
    /// The hand-offs pending now when they changed (the host keeps the
    /// latest list on disk), null when they did not.
    pub journal: Option<Vec<JsPendingHandOff>>,
}

/// What `RelayEngine.toolCall` returns: the id the call's `replyToTool`
/// action will carry, and what the call left to do.
// Type only: `DrainText::tool_call_started` in json.rs writes its JSON.
#[allow(dead_code)]
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct JsToolCallStarted {
    pub call: i64,
    /// Null when the call left nothing to do yet.
    pub drain: Option<JsDrain>,
}
