use napi_derive::napi;

use super::mode::JsToolMode;

/// A `session` tool call as the host hands it to `RelayEngine.toolCall`: the
/// model's arguments plus the context the host gives the tool. The engine
/// reads it without trusting it (`ToolCall::from_json`), so a wrong field is
/// refused with an error naming it.
// Type only: the call is read as JSON, for the engine's messages naming the field.
#[allow(dead_code)]
#[napi(object)]
pub struct JsToolCallInput {
    /// Session the calling agent runs in.
    pub session_id: String,
    /// The in-flight assistant message; a fork copies history up to it.
    pub message_id: String,
    /// Agent that made the call; the target when `agent` is left out.
    pub caller_agent: String,
    /// As the model wrote it; anything but a `ToolMode` is refused with a hint.
    pub mode: String,
    pub text: String,
    /// Agent that should answer; left out (or null) means the caller.
    pub agent: Option<String>,
    /// The branch a `message` follows up or a `cancel` stops; left out (or null) for none.
    pub session: Option<String>,
}

/// Arguments of the `session` tool, as the model writes them.
// Type only: the tool hands its arguments on in a `ToolCallInput`.
#[allow(dead_code)]
#[napi(object)]
pub struct JsSessionToolArgs {
    /// What the receiving agent should do, written as a user message. Required for every mode but `status`.
    pub text: Option<String>,
    /// - `message`: when the calling turn ends, `text` arrives in the same session, answered by `agent`.
    /// - `new`: `agent` answers `text` in a fresh session without history; returns at once.
    /// - `compact`: when the calling turn ends, the session is summarized, then `agent` answers `text`.
    /// - `fork`: `agent` answers `text` in a copy of the session with its full history; returns at once.
    /// - `status`: lists the branches (`new`, `fork`) this session opened.
    /// - `cancel`: stops the branch `session` names.
    pub mode: JsToolMode,
    /// Primary agent that answers; defaults to the calling agent.
    pub agent: Option<String>,
    /// The branch (its id) a `message` goes to or a `cancel` stops.
    pub session: Option<String>,
}
