//! A `session` tool call as the host reports it: the model's arguments plus
//! the context OpenCode gives the tool.

use crate::error::InputError;
use crate::mode::Mode;
use serde::Deserialize;
use serde_json::Value;

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
    /// Agent that should answer; `None` means the caller.
    pub agent: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolCallJson {
    session_id: String,
    message_id: String,
    caller_agent: String,
    mode: String,
    /// `status` needs no text.
    #[serde(default)]
    text: String,
    #[serde(default)]
    agent: Option<String>,
}

impl ToolCall {
    /// Reads `{sessionId, messageId, callerAgent, mode, text, agent?}`.
    pub fn from_json(value: Value) -> Result<Self, InputError> {
        let raw: ToolCallJson =
            serde_json::from_value(value).map_err(|e| InputError::malformed("tool call", e))?;
        let mode: Mode = raw.mode.trim().parse()?;
        let text = raw.text.trim();
        if text.is_empty() && mode != Mode::Status {
            return Err(InputError::EmptyText);
        }
        for (field, value) in [
            ("sessionId", &raw.session_id),
            ("messageId", &raw.message_id),
            ("callerAgent", &raw.caller_agent),
        ] {
            if value.trim().is_empty() {
                return Err(InputError::MissingContext { field });
            }
        }
        let agent = raw
            .agent
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty());
        Ok(ToolCall {
            session_id: raw.session_id,
            message_id: raw.message_id,
            caller_agent: raw.caller_agent,
            mode,
            text: text.to_owned(),
            agent,
        })
    }

    /// The agent that will answer.
    pub fn target_agent(&self) -> &str {
        self.agent.as_deref().unwrap_or(&self.caller_agent)
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
    fn rejects_wrong_types_without_panicking() {
        let err = ToolCall::from_json(json!({"sessionId": 5})).unwrap_err();
        assert!(matches!(
            err,
            InputError::Malformed {
                what: "tool call",
                ..
            }
        ));
        let err = ToolCall::from_json(json!("text")).unwrap_err();
        assert!(matches!(err, InputError::Malformed { .. }));
    }

    #[test]
    fn requires_the_context_opencode_always_sends() {
        let mut value = call("fork", "x");
        value["messageId"] = json!("");
        assert_eq!(
            ToolCall::from_json(value),
            Err(InputError::MissingContext { field: "messageId" })
        );
    }
}
