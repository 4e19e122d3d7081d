use napi_derive::napi;
use opencode_sessions_engine::Mode;

/// A mode of the `session` tool: the four hand-offs, `status` and `cancel`.
#[derive(serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[napi(string_enum = "lowercase")]
pub enum JsToolMode {
    /// When the calling turn ends, the text arrives in the same session.
    Message,
    /// A fresh session without history, answered at once.
    New,
    /// When the calling turn ends, the session is summarized, then answered.
    Compact,
    /// A copy of the session with its full history, answered at once.
    Fork,
    /// Lists the branches (`new`, `fork`) the session opened; hands nothing off.
    Status,
    /// Stops a branch the session opened; hands nothing off.
    Cancel,
}

/// A hand-off mode of the `session` tool (the `modes` option chooses from these).
#[napi(string_enum = "lowercase")]
pub enum JsSessionMode {
    Message,
    New,
    Compact,
    Fork,
}

/// A mode that opens a branch session (the `switchTo` option chooses from these).
#[napi(string_enum = "lowercase")]
pub enum JsBranchMode {
    New,
    Fork,
}

impl From<Mode> for JsToolMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Message => JsToolMode::Message,
            Mode::New => JsToolMode::New,
            Mode::Compact => JsToolMode::Compact,
            Mode::Fork => JsToolMode::Fork,
            Mode::Status => JsToolMode::Status,
            Mode::Cancel => JsToolMode::Cancel,
        }
    }
}

impl TryFrom<Mode> for JsSessionMode {
    type Error = Mode;

    fn try_from(mode: Mode) -> Result<Self, Mode> {
        match mode {
            Mode::Message => Ok(JsSessionMode::Message),
            Mode::New => Ok(JsSessionMode::New),
            Mode::Compact => Ok(JsSessionMode::Compact),
            Mode::Fork => Ok(JsSessionMode::Fork),
            Mode::Status | Mode::Cancel => Err(mode),
        }
    }
}

impl TryFrom<Mode> for JsBranchMode {
    type Error = Mode;

    fn try_from(mode: Mode) -> Result<Self, Mode> {
        match mode {
            Mode::New => Ok(JsBranchMode::New),
            Mode::Fork => Ok(JsBranchMode::Fork),
            Mode::Message | Mode::Compact | Mode::Status | Mode::Cancel => Err(mode),
        }
    }
}
