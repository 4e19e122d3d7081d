//! The OpenCode bus events the engine reacts to. Every other event type is
//! irrelevant to relays; the host should filter on [`RELEVANT_EVENT_TYPES`]
//! before handing events over, so the hot path never crosses into native code.

use crate::error::InputError;
use serde_json::Value;

/// Event `type`s that can change what the engine does.
pub const RELEVANT_EVENT_TYPES: [&str; 6] = [
    "session.status",
    "session.idle",
    "session.compacted",
    "session.error",
    "session.deleted",
    "message.updated",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusEvent {
    /// `session.status`; `retry` counts as busy (the turn is still running).
    Status { session_id: String, busy: bool },
    /// `session.idle`: the same edge as `session.status` idle, often sent right after it.
    Idle { session_id: String },
    /// `session.compacted`: a summary now stands in for the history.
    Compacted { session_id: String },
    /// `session.error`; `name` is the error's class, e.g. `MessageAbortedError`.
    Error {
        session_id: Option<String>,
        name: Option<String>,
        message: Option<String>,
    },
    /// `session.deleted`.
    Deleted { session_id: String },
    /// `message.updated` of a completed assistant message: one step of a
    /// turn ended, for the reason `finish` (`stop`, `tool-calls`, ...) or
    /// with an error named `error` (`MessageAbortedError` when interrupted).
    StepFinished {
        session_id: String,
        finish: Option<String>,
        error: Option<String>,
    },
    /// Any other event type.
    Other,
}

impl BusEvent {
    /// Reads an event as the plugin `event` hook receives it: `{type, properties}`.
    /// Unknown types become [`BusEvent::Other`]; a known type with missing
    /// fields is an error, since it means OpenCode changed its event shapes.
    pub fn from_json(event: &Value) -> Result<Self, InputError> {
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| InputError::malformed("event", "no string `type`"))?;
        let props = event.get("properties").unwrap_or(&Value::Null);
        let session_id = |at: &[&str]| -> Result<String, InputError> {
            let mut node = props;
            for key in at {
                node = node.get(key).unwrap_or(&Value::Null);
            }
            node.as_str()
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    InputError::malformed(
                        "event",
                        format!("{kind} without properties.{}", at.join(".")),
                    )
                })
        };
        Ok(match kind {
            "session.status" => {
                let status = props
                    .get("status")
                    .and_then(|s| s.get("type"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        InputError::malformed(
                            "event",
                            "session.status without properties.status.type",
                        )
                    })?;
                BusEvent::Status {
                    session_id: session_id(&["sessionID"])?,
                    busy: status != "idle",
                }
            }
            "session.idle" => BusEvent::Idle {
                session_id: session_id(&["sessionID"])?,
            },
            "session.compacted" => BusEvent::Compacted {
                session_id: session_id(&["sessionID"])?,
            },
            "session.deleted" => BusEvent::Deleted {
                session_id: session_id(&["info", "id"])?,
            },
            "session.error" => BusEvent::Error {
                session_id: props
                    .get("sessionID")
                    .and_then(Value::as_str)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned),
                name: props
                    .get("error")
                    .and_then(|e| e.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                message: props
                    .get("error")
                    .and_then(|e| e.get("data"))
                    .and_then(|d| d.get("message"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            },
            // Only completed assistant messages matter; every other update
            // (user messages, a step still streaming) is left alone.
            "message.updated" => {
                let info = props.get("info").unwrap_or(&Value::Null);
                let completed = info.get("role").and_then(Value::as_str) == Some("assistant")
                    && info
                        .get("time")
                        .and_then(|t| t.get("completed"))
                        .is_some_and(Value::is_number);
                match info.get("sessionID").and_then(Value::as_str) {
                    Some(session_id) if completed && !session_id.is_empty() => {
                        BusEvent::StepFinished {
                            session_id: session_id.to_owned(),
                            finish: info
                                .get("finish")
                                .and_then(Value::as_str)
                                .map(str::to_owned),
                            error: info
                                .get("error")
                                .and_then(|e| e.get("name"))
                                .and_then(Value::as_str)
                                .map(str::to_owned),
                        }
                    }
                    _ => BusEvent::Other,
                }
            }
            _ => BusEvent::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_shapes_opencode_sends() {
        let busy = json!({"type": "session.status", "properties": {"sessionID": "s", "status": {"type": "busy"}}});
        let retry = json!({"type": "session.status", "properties": {"sessionID": "s", "status": {"type": "retry", "attempt": 1}}});
        let idle = json!({"type": "session.status", "properties": {"sessionID": "s", "status": {"type": "idle"}}});
        let deleted =
            json!({"type": "session.deleted", "properties": {"info": {"id": "s", "title": "t"}}});
        let aborted = json!({"type": "session.error", "properties": {"sessionID": "s", "error": {"name": "UnknownError", "data": {"message": "Agent not found"}}}});
        assert_eq!(
            BusEvent::from_json(&busy).unwrap(),
            BusEvent::Status {
                session_id: "s".into(),
                busy: true
            }
        );
        assert_eq!(
            BusEvent::from_json(&retry).unwrap(),
            BusEvent::Status {
                session_id: "s".into(),
                busy: true
            }
        );
        assert_eq!(
            BusEvent::from_json(&idle).unwrap(),
            BusEvent::Status {
                session_id: "s".into(),
                busy: false
            }
        );
        assert_eq!(
            BusEvent::from_json(&deleted).unwrap(),
            BusEvent::Deleted {
                session_id: "s".into()
            }
        );
        assert_eq!(
            BusEvent::from_json(&aborted).unwrap(),
            BusEvent::Error {
                session_id: Some("s".into()),
                name: Some("UnknownError".into()),
                message: Some("Agent not found".into())
            }
        );
    }

    #[test]
    fn unrelated_types_are_other_and_broken_known_types_are_errors() {
        let delta = json!({"type": "message.part.delta", "properties": {"delta": "x"}});
        assert_eq!(BusEvent::from_json(&delta).unwrap(), BusEvent::Other);
        assert!(BusEvent::from_json(&json!({"type": "session.idle", "properties": {}})).is_err());
        assert!(BusEvent::from_json(&json!({"properties": {}})).is_err());
        assert!(BusEvent::from_json(&json!(null)).is_err());
    }

    #[test]
    fn a_completed_assistant_step_is_read_and_other_message_updates_are_not() {
        let finished = json!({"type": "message.updated", "properties": {"info": {
            "role": "assistant", "sessionID": "s", "finish": "tool-calls", "time": {"created": 1, "completed": 2}
        }}});
        assert_eq!(
            BusEvent::from_json(&finished).unwrap(),
            BusEvent::StepFinished {
                session_id: "s".into(),
                finish: Some("tool-calls".into()),
                error: None
            }
        );
        let streaming = json!({"type": "message.updated", "properties": {"info": {
            "role": "assistant", "sessionID": "s", "time": {"created": 1}
        }}});
        let user = json!({"type": "message.updated", "properties": {"info": {
            "role": "user", "sessionID": "s", "time": {"created": 1, "completed": 2}
        }}});
        assert_eq!(BusEvent::from_json(&streaming).unwrap(), BusEvent::Other);
        assert_eq!(BusEvent::from_json(&user).unwrap(), BusEvent::Other);
    }

    #[test]
    fn every_relevant_type_is_decoded_to_something_other_than_other() {
        for kind in RELEVANT_EVENT_TYPES {
            let event = json!({"type": kind, "properties": {
                "sessionID": "s", "status": {"type": "idle"},
                "info": {"id": "s", "sessionID": "s", "role": "assistant", "time": {"completed": 2}}
            }});
            assert_ne!(
                BusEvent::from_json(&event).unwrap(),
                BusEvent::Other,
                "{kind}"
            );
        }
    }
}
