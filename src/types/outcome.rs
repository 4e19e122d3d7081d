use napi_derive::napi;
use opencode_sessions_engine::{AgentInfo, FailureCause, Outcome};

/// An agent as the host lists it (only the fields the engine reads).
#[napi(object)]
pub struct JsAgentSummary {
    pub name: String,
    /// `primary`, `subagent` or `all`.
    pub mode: Option<String>,
    pub hidden: Option<bool>,
}

/// - `unreachable`: the request never reached the host's server; safe to send again.
/// - `unavailable`: a passing server error (HTTP 408, 429, 5xx); it may have taken effect.
/// - `refused`: anything else; sending it again would fail the same way.
#[napi(string_enum = "camelCase")]
pub enum JsFailureCause {
    Unreachable,
    Unavailable,
    Refused,
}

/// What became of a request, as the host reports it.
#[napi(discriminant = "type", discriminant_case = "camelCase")]
pub enum JsOutcome {
    /// The request succeeded and returns nothing the engine needs.
    Done,
    /// Answer to `listAgents`.
    Agents { agents: Vec<JsAgentSummary> },
    /// Answer to a session creation or fork.
    Session { id: String, title: String },
    /// Answer to `lastAnswer`: the text of the last assistant message, and
    /// its error if it ended in one.
    Answer { text: String, error: Option<String> },
    /// Answer to `lastUserModel`.
    Model {
        provider_id: String,
        model_id: String,
    },
    /// The request failed; `message` says why, in words for a person, and
    /// `cause` whether trying again could help (default `refused`).
    Failed {
        message: String,
        cause: Option<JsFailureCause>,
    },
}

impl From<JsOutcome> for Outcome {
    fn from(outcome: JsOutcome) -> Self {
        match outcome {
            JsOutcome::Done => Outcome::Done,
            JsOutcome::Agents { agents } => Outcome::Agents {
                agents: agents.into_iter().map(AgentInfo::from).collect(),
            },
            JsOutcome::Session { id, title } => Outcome::Session { id, title },
            JsOutcome::Answer { text, error } => Outcome::Answer { text, error },
            JsOutcome::Model {
                provider_id,
                model_id,
            } => Outcome::Model {
                provider_id,
                model_id,
            },
            JsOutcome::Failed { message, cause } => Outcome::Failed {
                message,
                cause: cause.map(FailureCause::from).unwrap_or_default(),
            },
        }
    }
}

impl From<JsAgentSummary> for AgentInfo {
    fn from(JsAgentSummary { name, mode, hidden }: JsAgentSummary) -> Self {
        AgentInfo {
            name,
            mode: mode.unwrap_or_default(),
            hidden: hidden.unwrap_or_default(),
        }
    }
}

impl From<JsFailureCause> for FailureCause {
    fn from(cause: JsFailureCause) -> Self {
        match cause {
            JsFailureCause::Unreachable => FailureCause::Unreachable,
            JsFailureCause::Unavailable => FailureCause::Unavailable,
            JsFailureCause::Refused => FailureCause::Refused,
        }
    }
}

/// Every engine outcome the host may report has a JS variant: a new one
/// fails the build here. (`timedOut` only the engine makes.)
#[allow(dead_code)] // a compile-time check, never called
fn mirrored(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Done
        | Outcome::Agents { .. }
        | Outcome::Session { .. }
        | Outcome::Answer { .. }
        | Outcome::Model { .. }
        | Outcome::Failed { .. } => true,
        Outcome::TimedOut { .. } => false,
    }
}
