//! Errors for input the engine cannot accept. Failures of the work itself
//! (an HTTP error, a deleted session) are not errors here: they are reported
//! to the user through actions.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    /// The host passed a value whose shape does not match what the engine reads.
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },

    #[error("`text` is empty: write what the receiving agent should do")]
    EmptyText,

    #[error("unknown mode \"{0}\": use one of message, new, compact, fork, status")]
    UnknownMode(String),

    #[error(
        "`{field}` is empty: OpenCode passes it with every tool call, so the host must forward it"
    )]
    MissingContext { field: &'static str },

    /// The plugin options as a whole are not an object.
    #[error("invalid options: {0}")]
    InvalidOptions(String),

    #[error("invalid option \"{key}\": {problem}")]
    InvalidOption { key: String, problem: String },
}

impl InputError {
    pub(crate) fn malformed(what: &'static str, err: impl std::fmt::Display) -> Self {
        InputError::Malformed {
            what,
            detail: err.to_string(),
        }
    }

    pub(crate) fn invalid_option(key: &str, problem: String) -> Self {
        InputError::InvalidOption {
            key: key.to_owned(),
            problem,
        }
    }
}
