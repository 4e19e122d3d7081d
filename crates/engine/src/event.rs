//! The OpenCode bus events the engine reacts to. Every other event type is
//! irrelevant to relays; the host should filter on [`RELEVANT_EVENT_TYPES`]
//! before handing events over, so the hot path never crosses into native code.

use crate::error::InputError;
use crate::render;
use serde_json::Value;

/// Event `type`s that can change what the engine does.
pub const RELEVANT_EVENT_TYPES: [&str; 13] = [
    "session.status",
    "session.idle",
    "session.compacted",
    "session.error",
    "session.deleted",
    "message.updated",
    "message.part.updated",
    "permission.asked",
    "permission.updated",
    "permission.replied",
    "question.asked",
    "question.replied",
    "question.rejected",
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
    /// A tool part of a session's turn started (`running`) or ended
    /// (`message.part.updated` of a tool part).
    ToolState {
        session_id: String,
        part_id: String,
        tool: String,
        running: bool,
    },
    /// A permission prompt (`permission.asked`, `permission.updated` up to
    /// OpenCode 1.0) or a question (`question.asked`) waits for a person;
    /// `what` says what is asked, in a few words.
    PersonAsked {
        session_id: String,
        request_id: String,
        what: String,
    },
    /// The person answered it (`permission.replied`, `question.replied` or `.rejected`).
    PersonAnswered {
        session_id: String,
        request_id: String,
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
            "message.part.updated" => {
                let part = props.get("part").unwrap_or(&Value::Null);
                let text = |key: &str| {
                    part.get(key)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                };
                let status = part
                    .get("state")
                    .and_then(|s| s.get("status"))
                    .and_then(Value::as_str);
                let running = match status {
                    Some("running") => Some(true),
                    Some("completed" | "error") => Some(false),
                    _ => None,
                };
                match (
                    text("type"),
                    text("sessionID"),
                    text("id"),
                    text("tool"),
                    running,
                ) {
                    (Some("tool"), Some(session_id), Some(part_id), Some(tool), Some(running)) => {
                        BusEvent::ToolState {
                            session_id: session_id.to_owned(),
                            part_id: part_id.to_owned(),
                            tool: tool.to_owned(),
                            running,
                        }
                    }
                    _ => BusEvent::Other,
                }
            }
            "permission.asked" | "permission.updated" | "question.asked" => BusEvent::PersonAsked {
                session_id: session_id(&["sessionID"])?,
                request_id: session_id(&["id"])?,
                what: render::person_asked(kind, props),
            },
            "permission.replied" | "question.replied" | "question.rejected" => {
                // 1.0 names the request `permissionID`, later releases `requestID`.
                let request = if props.get("requestID").is_some() {
                    "requestID"
                } else {
                    "permissionID"
                };
                BusEvent::PersonAnswered {
                    session_id: session_id(&["sessionID"])?,
                    request_id: session_id(&[request])?,
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
    fn a_person_is_asked_by_a_permission_or_a_question_and_answers_it() {
        let asked = |kind: &str, props: Value| {
            BusEvent::from_json(&json!({"type": kind, "properties": props})).unwrap()
        };
        assert_eq!(
            asked(
                "permission.asked",
                json!({"id": "per_1", "sessionID": "s", "permission": "bash", "patterns": ["git status"]})
            ),
            BusEvent::PersonAsked {
                session_id: "s".into(),
                request_id: "per_1".into(),
                what: "bash (git status)".into()
            }
        );
        assert_eq!(
            asked(
                "permission.updated",
                json!({"id": "per_1", "sessionID": "s", "type": "bash", "pattern": "ls", "title": "Run ls"})
            ),
            BusEvent::PersonAsked {
                session_id: "s".into(),
                request_id: "per_1".into(),
                what: "bash (ls)".into()
            }
        );
        assert_eq!(
            asked(
                "question.asked",
                json!({"id": "que_1", "sessionID": "s", "questions": [{"question": "Which database?", "header": "DB"}]})
            ),
            BusEvent::PersonAsked {
                session_id: "s".into(),
                request_id: "que_1".into(),
                what: "Which database?".into()
            }
        );
        assert_eq!(
            asked(
                "permission.replied",
                json!({"sessionID": "s", "permissionID": "per_1", "response": "once"})
            ),
            BusEvent::PersonAnswered {
                session_id: "s".into(),
                request_id: "per_1".into()
            }
        );
        assert_eq!(
            asked(
                "question.rejected",
                json!({"sessionID": "s", "requestID": "que_1"})
            ),
            BusEvent::PersonAnswered {
                session_id: "s".into(),
                request_id: "que_1".into()
            }
        );
        let pending = json!({"part": {"type": "tool", "sessionID": "s", "id": "p", "tool": "bash", "state": {"status": "pending"}}});
        assert_eq!(asked("message.part.updated", pending), BusEvent::Other);
        let text = json!({"part": {"type": "text", "sessionID": "s", "id": "p", "text": "hi"}});
        assert_eq!(asked("message.part.updated", text), BusEvent::Other);
    }

    #[test]
    fn every_relevant_type_is_decoded_to_something_other_than_other() {
        for kind in RELEVANT_EVENT_TYPES {
            let event = json!({"type": kind, "properties": {
                "sessionID": "s", "status": {"type": "idle"}, "id": "r", "requestID": "r",
                "info": {"id": "s", "sessionID": "s", "role": "assistant", "time": {"completed": 2}},
                "part": {"type": "tool", "sessionID": "s", "id": "p", "tool": "bash", "state": {"status": "running"}}
            }});
            assert_ne!(
                BusEvent::from_json(&event).unwrap(),
                BusEvent::Other,
                "{kind}"
            );
        }
    }
}
