//! What the engine asks its host to do. Requests carry an [`ActionId`] and a
//! time limit; their [`crate::Outcome`] must come back. Everything else is
//! fire-and-forget; a [`Notice`] only says what happened.

use crate::ids::{ActionId, ToolCallId};
use crate::notice::{Activity, Notice};
use crate::render::{self, LogLevel, ToastVariant};
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
    /// What happened, as data. The toasts, log lines and tool results made
    /// from it follow right after it; a host may ignore it. Boxed: a notice
    /// is the largest action by far, and every action is moved several times
    /// on its way out.
    Notice { notice: Box<Notice> },
}

/// An action as [`crate::RelayEngine::poll_action_with`] hands it out: a
/// request lent, any other action given (`Action` is never a request there).
#[derive(Debug, PartialEq, Eq)]
pub enum Polled<'a> {
    Request {
        id: ActionId,
        timeout_ms: u64,
        request: &'a Request,
    },
    Action(Action),
}

impl Polled<'_> {
    /// The action as [`crate::RelayEngine::poll_action`] would have handed
    /// it over: a lent request is copied.
    pub fn into_action(self) -> Action {
        match self {
            Polled::Request {
                id,
                timeout_ms,
                request,
            } => Action::Request {
                id,
                timeout_ms,
                request: request.clone(),
            },
            Polled::Action(action) => action,
        }
    }
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
    /// Ask OpenCode's permission system (the calling tool's `ctx.ask`) whether
    /// `pattern` of permission `session` may run; a person may be asked.
    /// Outcome: [`crate::Outcome::Done`] when allowed, `failed` when refused.
    AskPermission { call: ToolCallId, pattern: String },
    /// Give a session a new title. Outcome: [`crate::Outcome::Done`].
    RenameSession { session_id: String, title: String },
    /// Show the session in the TUI. Outcome: [`crate::Outcome::Done`].
    SelectSession { session_id: String },
    /// Read the final answer of the session's last turn.
    /// Outcome: [`crate::Outcome::Answer`].
    LastAnswer { session_id: String },
    /// Stop the session's running turn, as a person's Esc would.
    /// Outcome: [`crate::Outcome::Done`].
    AbortSession { session_id: String },
    /// Add `text` to the session as a user message that starts no turn,
    /// recorded under `agent` so the session keeps its agent.
    /// Outcome: [`crate::Outcome::Done`].
    Note {
        session_id: String,
        agent: String,
        text: String,
    },
}

impl Request {
    /// What the engine is doing while the request runs.
    pub fn activity(&self) -> Activity {
        match self {
            Request::ListAgents => Activity::ListingAgents,
            Request::CreateSession { .. } => Activity::CreatingSession,
            Request::ForkSession { .. } => Activity::ForkingSession,
            Request::Prompt { .. } => Activity::SendingPrompt,
            Request::LastUserModel { .. } => Activity::ReadingModel,
            Request::Summarize { .. } => Activity::Summarizing,
            Request::AskPermission { .. } => Activity::AskingPermission,
            Request::RenameSession { .. } => Activity::RenamingSession,
            Request::SelectSession { .. } => Activity::ShowingSession,
            Request::LastAnswer { .. } => Activity::ReadingAnswer,
            Request::Note { .. } => Activity::ReportingToParent,
            Request::AbortSession { .. } => Activity::StoppingSession,
        }
    }

    /// A short name for logs and error messages.
    pub fn describe(&self) -> &'static str {
        render::activity(self.activity())
    }

    /// Whether doing the request twice does no harm: only such requests are
    /// tried again after a time-out or a server error, which may have taken effect.
    pub fn is_idempotent(&self) -> bool {
        match self {
            Request::ListAgents
            | Request::LastUserModel { .. }
            | Request::RenameSession { .. }
            | Request::SelectSession { .. }
            | Request::LastAnswer { .. }
            | Request::AbortSession { .. } => true,
            Request::CreateSession { .. }
            | Request::ForkSession { .. }
            | Request::Prompt { .. }
            | Request::Summarize { .. }
            | Request::AskPermission { .. }
            | Request::Note { .. } => false,
        }
    }

    /// Whether the request may be tried again at all: a person's answer to a
    /// permission prompt is never asked for twice.
    pub fn is_retryable(&self) -> bool {
        match self {
            Request::AskPermission { .. } => false,
            Request::ListAgents
            | Request::CreateSession { .. }
            | Request::ForkSession { .. }
            | Request::Prompt { .. }
            | Request::LastUserModel { .. }
            | Request::Summarize { .. }
            | Request::RenameSession { .. }
            | Request::SelectSession { .. }
            | Request::LastAnswer { .. }
            | Request::AbortSession { .. }
            | Request::Note { .. } => true,
        }
    }
}
