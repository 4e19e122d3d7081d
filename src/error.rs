//! The one conversion from engine errors to JS errors.

use opencode_sessions_engine::{options_refused, InputError};

/// An engine [`InputError`] on its way to JS, where it becomes a `TypeError`-like
/// `Error` whose message says what was wrong and what to do.
pub enum JsInputError {
    /// A wrong argument of a call.
    Argument(InputError),
    /// Options the plugin cannot load with: the message says where to fix them.
    Options(InputError),
}

impl From<InputError> for JsInputError {
    fn from(err: InputError) -> Self {
        JsInputError::Argument(err)
    }
}

impl From<JsInputError> for napi::Error {
    fn from(err: JsInputError) -> Self {
        let message = match err {
            JsInputError::Argument(err) => format!("opencode-sessions: {err}"),
            JsInputError::Options(err) => options_refused(&err),
        };
        napi::Error::new(napi::Status::InvalidArg, message)
    }
}
