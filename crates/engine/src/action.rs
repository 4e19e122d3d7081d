//! What the engine asks its host to do. Requests carry an [`ActionId`] and a
//! time limit; their [`crate::Outcome`] must come back. Everything else is
//! fire-and-forget.

use crate::ids::{ActionId, ToolCallId};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Action {
    /// Perform `request`; report its outcome under `id`. The engine gives up
    /// after `timeout_ms`, so the host should abort the call then too.
    Request {
        id: ActionId,
        timeout_ms: u64,
        request: Request,
    },
    /// Finish a `session` tool call: `ok` decides whether it is a result or an error.
    ReplyToTool {
        call: ToolCallId,
        ok: bool,
        text: String,
    },
    /// Show a toast in the TUI.
    Toast {
        variant: ToastVariant,
        title: String,
        message: String,
    },
    /// Write a line to OpenCode's log under the plugin's service name.
    Log { level: LogLevel, message: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Request {
    /// List the configured agents. Outcome: [`crate::Outcome::Agents`].
    ListAgents,
    /// Create a session with no history. Outcome: [`crate::Outcome::Session`].
    CreateSession { title: String },
    /// Copy `session_id` with the messages before `message_id`.
    /// Outcome: [`crate::Outcome::Session`].
    ForkSession {
        session_id: String,
        message_id: String,
    },
    /// Send a user message (one text part per entry of `parts`) answered by
    /// `agent`, without waiting for the answer. Outcome: [`crate::Outcome::Done`].
    Prompt {
        session_id: String,
        agent: String,
        parts: Vec<String>,
    },
    /// Find the provider and model of the session's last user message.
    /// Outcome: [`crate::Outcome::Model`].
    LastUserModel { session_id: String },
    /// Summarize the session with that model. Outcome: [`crate::Outcome::Done`].
    Summarize {
        session_id: String,
        provider_id: String,
        model_id: String,
    },
}

impl Request {
    /// A short name for logs and error messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Request::ListAgents => "listing agents",
            Request::CreateSession { .. } => "creating a session",
            Request::ForkSession { .. } => "forking the session",
            Request::Prompt { .. } => "sending the prompt",
            Request::LastUserModel { .. } => "reading the session's model",
            Request::Summarize { .. } => "summarizing the session",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ToastVariant {
    Info,
    Success,
    Warning,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}
