use napi_derive::napi;
use opencode_sessions_engine::ToolText;

/// What the model reads about the `session` tool (`RelayEngine.toolText()`):
/// its description and each argument's, for the modes on offer.
#[napi(object, object_from_js = false)]
pub struct JsToolText {
    pub description: String,
    /// What `text` means.
    pub text: String,
    /// What `mode` means: the offered modes, `a | b | c`.
    pub mode: String,
    /// What `agent` means.
    pub agent: String,
    /// What `session` means; absent when no offered mode takes it.
    pub session: Option<String>,
}

impl From<ToolText> for JsToolText {
    fn from(text: ToolText) -> Self {
        let ToolText {
            description,
            text,
            mode,
            agent,
            session,
        } = text;
        JsToolText {
            description,
            text: text.to_owned(),
            mode,
            agent: agent.to_owned(),
            session: session.map(str::to_owned),
        }
    }
}
