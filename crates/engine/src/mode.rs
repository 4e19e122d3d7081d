//! The four ways the `session` tool hands work to an agent, `status`, which
//! asks about the branches a session opened, and `cancel`, which stops one of
//! them. Reading a mode the model wrote is `tool_call.rs`'s.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// After the calling turn ends, the text arrives in the same session.
    Message,
    /// A fresh session without history, answered at once.
    New,
    /// After the calling turn ends, the session is summarized, then answered.
    Compact,
    /// A copy of the session with its full history, answered at once.
    Fork,
    /// Lists the branches (`new`, `fork`) this session opened; hands nothing off.
    Status,
    /// Stops a branch this session opened; hands nothing off.
    Cancel,
}

impl Mode {
    /// The modes that hand work off, which the `modes` option chooses from.
    pub const ALL: [Mode; 4] = [Mode::Message, Mode::New, Mode::Compact, Mode::Fork];

    /// Every mode of the tool, `status` included, in the order it lists them.
    pub const EVERY: [Mode; 6] = [
        Mode::Message,
        Mode::New,
        Mode::Compact,
        Mode::Fork,
        Mode::Status,
        Mode::Cancel,
    ];

    /// The modes that steer the branches a session opened rather than hand
    /// work off: offered whenever a branch can be opened.
    pub const STEERING: [Mode; 2] = [Mode::Status, Mode::Cancel];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Message => "message",
            Mode::New => "new",
            Mode::Compact => "compact",
            Mode::Fork => "fork",
            Mode::Status => "status",
            Mode::Cancel => "cancel",
        }
    }

    /// Whether a call of this mode may leave `text` out.
    pub fn needs_no_text(self) -> bool {
        match self {
            Mode::Status | Mode::Cancel => true,
            Mode::Message | Mode::New | Mode::Compact | Mode::Fork => false,
        }
    }

    /// Whether this mode waits in the session's queue until the calling turn ends.
    pub fn is_queued(self) -> bool {
        match self {
            Mode::Message | Mode::Compact => true,
            Mode::New | Mode::Fork | Mode::Status | Mode::Cancel => false,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
