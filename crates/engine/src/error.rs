//! Errors for input the engine cannot accept. Failures of the work itself
//! (an HTTP error, a deleted session) are not errors here: they are reported
//! to the user through actions.

use crate::limits::{MAX_AGENT_CHARS, MAX_SESSION_CHARS, MAX_TEXT_BYTES};
use crate::mode::Mode;
use crate::shown;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    /// The host passed a value whose shape does not match what the engine reads.
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },

    #[error("`text` is empty: write what the receiving agent should do")]
    EmptyText,

    #[error(
        "`text` is {bytes} bytes long, over the limit of {MAX_TEXT_BYTES} bytes (1 MiB): shorten it, or write the details to a file and name the file in `text`"
    )]
    TextTooLong { bytes: usize },

    #[error("unknown mode {}{}: use one of {}", shown::quoted(.0), mode_hint(.0), every_mode())]
    UnknownMode(String),

    #[error("`mode` is missing: use one of {}", every_mode())]
    MissingMode,

    #[error(
        "`agent` is {chars} characters long, longer than any agent name (at most {MAX_AGENT_CHARS}): name a primary agent such as build or plan, or leave `agent` out to answer yourself"
    )]
    AgentTooLong { chars: usize },

    #[error(
        "`session` is {chars} characters long, longer than any session id (at most {MAX_SESSION_CHARS}): name a branch by its id as new, fork or status printed it"
    )]
    SessionTooLong { chars: usize },

    #[error("`session` is missing: cancel stops a branch of this session, so name it by its id (see status)")]
    MissingSession,

    #[error("`session` is not taken by mode \"{mode}\": only message (to follow up a branch) and cancel name a branch; leave it out")]
    SessionNotTaken { mode: Mode },

    /// A field of a tool call has the wrong JSON type.
    #[error("`{field}` must be {expected}, got {got}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        got: String,
    },

    #[error(
        "`{field}` is missing or empty: OpenCode passes it with every tool call, so the host must forward it"
    )]
    MissingContext { field: &'static str },

    /// The plugin options as a whole are not an object.
    #[error("invalid options: {0}")]
    InvalidOptions(String),

    #[error("invalid option \"{key}\": {problem}")]
    InvalidOption { key: String, problem: String },
}

impl InputError {
    pub fn malformed(what: &'static str, err: impl std::fmt::Display) -> Self {
        InputError::Malformed {
            what,
            detail: err.to_string(),
        }
    }

    pub(crate) fn wrong_type(
        field: &'static str,
        expected: &'static str,
        got: &serde_json::Value,
    ) -> Self {
        InputError::WrongType {
            field,
            expected,
            got: shown::described(got),
        }
    }

    pub(crate) fn invalid_option(key: &str, problem: String) -> Self {
        InputError::InvalidOption {
            key: key.to_owned(),
            problem,
        }
    }
}

/// ` (did you mean "fork"?)` for a mode written in other case or with stray
/// characters in it.
fn mode_hint(written: &str) -> String {
    let bare: String = written.chars().filter(char::is_ascii_alphabetic).collect();
    Mode::EVERY
        .into_iter()
        .find(|mode| mode.as_str().eq_ignore_ascii_case(&bare))
        .map(|mode| format!(" (did you mean \"{mode}\"?)"))
        .unwrap_or_default()
}

/// `message, new, compact, fork, status`.
fn every_mode() -> String {
    Mode::EVERY.map(Mode::as_str).join(", ")
}
