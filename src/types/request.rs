use napi_derive::napi;
use opencode_sessions_engine::Request;

/// A request to the host; the comment on each says which outcome answers it.
#[derive(serde::Serialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
#[napi(
    discriminant = "op",
    discriminant_case = "camelCase",
    object_from_js = false
)]
pub enum JsRequest {
    /// List the configured agents. Outcome: `agents`.
    ListAgents,
    /// Create a session with no history. Outcome: `session`.
    CreateSession { title: String },
    /// Copy `sessionId` with the messages before `messageId`. Outcome: `session`.
    ForkSession {
        session_id: String,
        message_id: String,
    },
    /// Send a user message (one text part per entry of `parts`) answered by
    /// `agent`, without waiting for the answer. Outcome: `done`.
    Prompt {
        session_id: String,
        agent: String,
        parts: Vec<String>,
    },
    /// Find the provider and model of the session's last user message. Outcome: `model`.
    LastUserModel { session_id: String },
    /// Summarize the session with that model. Outcome: `done`.
    Summarize {
        session_id: String,
        provider_id: String,
        model_id: String,
    },
    /// Ask the host's permission system (the calling tool's own check) whether
    /// `pattern` of permission `session` may run; a person may be asked.
    /// Outcome: `done` when allowed, `failed` when refused.
    AskPermission { call: i64, pattern: String },
    /// Give a session a new title. Outcome: `done`.
    RenameSession { session_id: String, title: String },
    /// Show the session in the TUI. Outcome: `done`.
    SelectSession { session_id: String },
    /// Read the final answer of the session's last turn. Outcome: `answer`.
    LastAnswer { session_id: String },
    /// Stop the session's running turn, as a person's Esc would. Outcome: `done`.
    AbortSession { session_id: String },
    /// Add `text` to the session as a user message that starts no turn,
    /// recorded under `agent` so the session keeps its agent. Outcome: `done`.
    Note {
        session_id: String,
        agent: String,
        text: String,
    },
}

impl From<Request> for JsRequest {
    fn from(request: Request) -> Self {
        match request {
            Request::ListAgents => JsRequest::ListAgents,
            Request::CreateSession { title } => JsRequest::CreateSession { title },
            Request::ForkSession {
                session_id,
                message_id,
            } => JsRequest::ForkSession {
                session_id,
                message_id,
            },
            Request::Prompt {
                session_id,
                agent,
                parts,
            } => JsRequest::Prompt {
                session_id,
                agent,
                parts,
            },
            Request::LastUserModel { session_id } => JsRequest::LastUserModel { session_id },
            Request::Summarize {
                session_id,
                provider_id,
                model_id,
            } => JsRequest::Summarize {
                session_id,
                provider_id,
                model_id,
            },
            Request::AskPermission { call, pattern } => JsRequest::AskPermission {
                call: call.0 as i64,
                pattern,
            },
            Request::RenameSession { session_id, title } => {
                JsRequest::RenameSession { session_id, title }
            }
            Request::SelectSession { session_id } => JsRequest::SelectSession { session_id },
            Request::LastAnswer { session_id } => JsRequest::LastAnswer { session_id },
            Request::AbortSession { session_id } => JsRequest::AbortSession { session_id },
            Request::Note {
                session_id,
                agent,
                text,
            } => JsRequest::Note {
                session_id,
                agent,
                text,
            },
        }
    }
}
