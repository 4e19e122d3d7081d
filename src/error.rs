//! The one conversion from engine errors to JS errors.

use opencode_sessions_engine::InputError;

/// An engine [`InputError`] on its way to JS, where it becomes a `TypeError`-like
/// `Error` whose message says what was wrong and what to do.
pub struct JsInputError(pub InputError);

impl From<InputError> for JsInputError {
    fn from(err: InputError) -> Self {
        JsInputError(err)
    }
}

impl From<JsInputError> for napi::Error {
    fn from(JsInputError(err): JsInputError) -> Self {
        napi::Error::new(
            napi::Status::InvalidArg,
            format!("opencode-sessions: {err}"),
        )
    }
}
