//! What became of a [`crate::Request`], as the host reports it.

use crate::agents::AgentInfo;
use crate::error::InputError;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Outcome {
    /// The request succeeded and returns nothing the engine needs.
    Done,
    /// Answer to [`crate::Request::ListAgents`].
    Agents { agents: Vec<AgentInfo> },
    /// Answer to a session creation or fork.
    Session { id: String, title: String },
    /// Answer to [`crate::Request::LastAnswer`]: the text of the last
    /// assistant message, and its error if it ended in one.
    Answer {
        text: String,
        #[serde(default)]
        error: Option<String>,
    },
    /// Answer to [`crate::Request::LastUserModel`].
    Model {
        provider_id: String,
        model_id: String,
    },
    /// The request failed; `message` says why, in words for a person, and
    /// `cause` whether trying again could help.
    Failed {
        message: String,
        #[serde(default)]
        cause: FailureCause,
    },
    /// The engine stopped waiting: the request may still have taken effect.
    /// Only the engine produces this, when a time limit runs out.
    #[serde(skip_deserializing)]
    TimedOut { message: String },
}

/// What kind of failure the host saw, which decides whether a retry may help
/// and may be done safely.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FailureCause {
    /// The request never reached OpenCode (connection refused or reset before
    /// a response): trying again is safe for any request.
    Unreachable,
    /// OpenCode answered with a passing server error (HTTP 408, 429, 5xx):
    /// trying again may help, but the request may have taken effect.
    Unavailable,
    /// Anything else, e.g. HTTP 400 or 404: trying again would fail the same way.
    #[default]
    Refused,
}

impl Outcome {
    /// Reads `{type: "done" | "agents" | "session" | "model" | "failed", ...}`.
    pub fn from_json(value: Value) -> Result<Self, InputError> {
        serde_json::from_value(value).map_err(|e| InputError::malformed("outcome", e))
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Outcome::Failed {
            message: message.into(),
            cause: FailureCause::Refused,
        }
    }

    pub fn failed_with(cause: FailureCause, message: impl Into<String>) -> Self {
        Outcome::Failed {
            message: message.into(),
            cause,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_each_kind() {
        assert_eq!(
            Outcome::from_json(json!({"type": "done"})).unwrap(),
            Outcome::Done
        );
        assert_eq!(
            Outcome::from_json(json!({"type": "model", "providerId": "p", "modelId": "m"}))
                .unwrap(),
            Outcome::Model {
                provider_id: "p".into(),
                model_id: "m".into()
            }
        );
        let agents = Outcome::from_json(json!({"type": "agents", "agents": [
            {"name": "build", "mode": "primary"},
            {"name": "explore", "mode": "subagent", "hidden": false}
        ]}))
        .unwrap();
        assert!(matches!(agents, Outcome::Agents { agents } if agents.len() == 2));
    }

    #[test]
    fn rejects_unknown_kinds() {
        assert!(Outcome::from_json(json!({"type": "maybe"})).is_err());
        assert!(Outcome::from_json(json!({"type": "session", "id": 3})).is_err());
    }

    #[test]
    fn a_failure_without_a_cause_is_not_retried() {
        assert_eq!(
            Outcome::from_json(json!({"type": "failed", "message": "HTTP 400"})).unwrap(),
            Outcome::failed("HTTP 400")
        );
        assert_eq!(
            Outcome::from_json(json!({"type": "failed", "message": "x", "cause": "unreachable"}))
                .unwrap(),
            Outcome::failed_with(FailureCause::Unreachable, "x")
        );
    }
}
