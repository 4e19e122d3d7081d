//! A `session` tool call as the host reports it: the model's arguments plus
//! the context OpenCode gives the tool.

use crate::error::InputError;
pub use crate::limits::{MAX_AGENT_CHARS, MAX_SESSION_CHARS, MAX_TEXT_BYTES};
use crate::mode::Mode;
use serde_json::{Map, Value};
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// Session the calling agent runs in.
    pub session_id: String,
    /// The in-flight assistant message; a fork copies history up to it.
    pub message_id: String,
    /// Agent that made the call; the target when `agent` is omitted.
    pub caller_agent: String,
    pub mode: Mode,
    pub text: String,
    /// Agent that should answer; `None` means the caller (for a follow-up,
    /// the branch's agent).
    pub agent: Option<String>,
    /// The branch a `message` follows up or a `cancel` stops, as the model
    /// named it (its id or the start of its title); `None` for the calling session.
    pub session: Option<String>,
}

impl ToolCall {
    /// Reads `{sessionId, messageId, callerAgent, mode, text, agent?, session?}`.
    /// The model writes `mode`, `text`, `agent` and `session`; a wrong one is refused with
    /// an error naming the field, so the model can correct its call. Fields
    /// it does not know are ignored; `null` counts as left out.
    pub fn from_json(value: Value) -> Result<Self, InputError> {
        let Value::Object(fields) = value else {
            return Err(InputError::Malformed {
                what: "tool call",
                detail: format!(
                    "expected an object {{sessionId, messageId, callerAgent, mode, text, agent?}}, got {}",
                    crate::shown::kind(&value)
                ),
            });
        };
        let mode: Mode = match string(
            &fields,
            "mode",
            "one of \"message\", \"new\", \"compact\", \"fork\", \"status\", \"cancel\"",
        )? {
            Some(mode) => mode.trim().parse()?,
            None => return Err(InputError::MissingMode),
        };
        let text = string(&fields, "text", "a string")?.unwrap_or("").trim();
        if text.len() > MAX_TEXT_BYTES {
            return Err(InputError::TextTooLong { bytes: text.len() });
        }
        if text.is_empty() && !mode.needs_no_text() {
            return Err(InputError::EmptyText);
        }
        let agent = string(&fields, "agent", "the name of a primary agent, or left out")?
            .map(str::trim)
            .filter(|name| !name.is_empty());
        if let Some(chars) = agent.map(|name| name.chars().count()) {
            if chars > MAX_AGENT_CHARS {
                return Err(InputError::AgentTooLong { chars });
            }
        }
        let session = string(&fields, "session", "a branch's session id, or left out")?
            .map(str::trim)
            .filter(|name| !name.is_empty());
        if let Some(chars) = session.map(|name| name.chars().count()) {
            if chars > MAX_SESSION_CHARS {
                return Err(InputError::SessionTooLong { chars });
            }
        }
        match (mode, session) {
            (Mode::Cancel, None) => return Err(InputError::MissingSession),
            (Mode::New | Mode::Compact | Mode::Fork | Mode::Status, Some(_)) => {
                return Err(InputError::SessionNotTaken { mode })
            }
            (Mode::Message | Mode::Cancel, _)
            | (Mode::New | Mode::Compact | Mode::Fork | Mode::Status, None) => {}
        }
        let context = |field: &'static str| -> Result<String, InputError> {
            match string(&fields, field, "a string")? {
                Some(value) if !value.trim().is_empty() => Ok(value.to_owned()),
                _ => Err(InputError::MissingContext { field }),
            }
        };
        Ok(ToolCall {
            session_id: context("sessionId")?,
            message_id: context("messageId")?,
            caller_agent: context("callerAgent")?,
            mode,
            text: text.to_owned(),
            agent: agent.map(str::to_owned),
            session: session.map(str::to_owned),
        })
    }

    /// The agent that will answer.
    pub fn target_agent(&self) -> &str {
        self.agent.as_deref().unwrap_or(&self.caller_agent)
    }
}

/// A mode as the model writes it, e.g. `fork`.
impl FromStr for Mode {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::EVERY
            .into_iter()
            .find(|mode| mode.as_str() == s)
            .ok_or_else(|| InputError::UnknownMode(s.to_owned()))
    }
}

/// Field `name` as a string; `None` when it is left out or `null`.
fn string<'a>(
    fields: &'a Map<String, Value>,
    name: &'static str,
    expected: &'static str,
) -> Result<Option<&'a str>, InputError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(other) => Err(InputError::wrong_type(name, expected, other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(mode: &str, text: &str) -> Value {
        json!({
            "sessionId": "ses_1", "messageId": "msg_1", "callerAgent": "build",
            "mode": mode, "text": text
        })
    }

    #[test]
    fn reads_a_complete_call_and_defaults_the_agent_to_the_caller() {
        let parsed = ToolCall::from_json(call("fork", "  try Redux ")).unwrap();
        assert_eq!(parsed.mode, Mode::Fork);
        assert_eq!(parsed.text, "try Redux");
        assert_eq!(parsed.target_agent(), "build");
    }

    #[test]
    fn a_blank_agent_means_the_caller() {
        let mut value = call("message", "hi");
        value["agent"] = json!("  ");
        assert_eq!(ToolCall::from_json(value).unwrap().agent, None);
    }

    #[test]
    fn rejects_unknown_modes_and_empty_text_with_guidance() {
        assert_eq!(
            ToolCall::from_json(call("teleport", "x")),
            Err(InputError::UnknownMode("teleport".into()))
        );
        assert_eq!(
            ToolCall::from_json(call("new", " \n ")),
            Err(InputError::EmptyText)
        );
    }

    #[test]
    fn rejects_wrong_types_naming_the_field() {
        let err = ToolCall::from_json(json!("text")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed tool call: expected an object {sessionId, messageId, callerAgent, mode, text, agent?}, got a string"
        );
        let mut value = call("message", "x");
        value["text"] = json!(5);
        assert_eq!(
            ToolCall::from_json(value).unwrap_err().to_string(),
            "`text` must be a string, got the number 5"
        );
        let mut value = call("message", "x");
        value["agent"] = json!(["plan"]);
        assert_eq!(
            ToolCall::from_json(value).unwrap_err().to_string(),
            "`agent` must be the name of a primary agent, or left out, got a list [\"plan\"]"
        );
        let mut value = call("message", "x");
        value["sessionId"] = json!({"id": 1});
        assert_eq!(
            ToolCall::from_json(value).unwrap_err().to_string(),
            "`sessionId` must be a string, got an object {\"id\":1}"
        );
        let mut value = call("message", "x");
        value["mode"] = json!(true);
        assert!(ToolCall::from_json(value)
            .unwrap_err()
            .to_string()
            .starts_with("`mode` must be one of \"message\""));
    }

    #[test]
    fn null_is_left_out() {
        let mut value = call("status", "x");
        value["text"] = json!(null);
        value["agent"] = json!(null);
        let parsed = ToolCall::from_json(value).unwrap();
        assert_eq!((parsed.text.as_str(), parsed.agent), ("", None));
        let mut value = call("x", "x");
        value["mode"] = json!(null);
        assert_eq!(ToolCall::from_json(value), Err(InputError::MissingMode));
    }

    #[test]
    fn oddly_written_modes_are_refused_with_a_hint() {
        let message = |mode: &str| {
            ToolCall::from_json(call(mode, "x"))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            message("FORK"),
            "unknown mode \"FORK\" (did you mean \"fork\"?): use one of message, new, compact, fork, status, cancel"
        );
        assert!(
            message("fork\u{0}").starts_with("unknown mode \"fork\\0\" (did you mean \"fork\"?)")
        );
        assert!(message(&"m".repeat(100_000)).contains("(100000 characters)"));
        assert_eq!(
            ToolCall::from_json(call(" fork\n", "x")).unwrap().mode,
            Mode::Fork
        );
    }

    #[test]
    fn text_and_agent_are_bounded() {
        let at_limit = "x".repeat(MAX_TEXT_BYTES);
        assert!(ToolCall::from_json(call("new", &at_limit)).is_ok());
        let over = format!("{at_limit}é");
        assert_eq!(
            ToolCall::from_json(call("new", &over)),
            Err(InputError::TextTooLong {
                bytes: MAX_TEXT_BYTES + 2
            })
        );
        let mut value = call("new", "x");
        value["agent"] = json!("a".repeat(MAX_AGENT_CHARS));
        assert!(ToolCall::from_json(value).is_ok());
        let mut value = call("new", "x");
        value["agent"] = json!("a".repeat(MAX_AGENT_CHARS + 1));
        assert_eq!(
            ToolCall::from_json(value),
            Err(InputError::AgentTooLong {
                chars: MAX_AGENT_CHARS + 1
            })
        );
    }

    #[test]
    fn requires_the_context_opencode_always_sends() {
        let mut value = call("fork", "x");
        value["messageId"] = json!("");
        assert_eq!(
            ToolCall::from_json(value),
            Err(InputError::MissingContext { field: "messageId" })
        );
        let mut value = call("fork", "x");
        value.as_object_mut().unwrap().remove("callerAgent");
        assert_eq!(
            ToolCall::from_json(value),
            Err(InputError::MissingContext {
                field: "callerAgent"
            })
        );
    }
}
