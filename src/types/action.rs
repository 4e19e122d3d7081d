use napi_derive::napi;
use opencode_sessions_engine::{Action, LogLevel, ToastVariant};

use super::{JsNotice, JsRequest};

/// How a toast looks.
#[derive(serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[napi(string_enum = "lowercase")]
pub enum JsToastVariant {
    Info,
    Success,
    Warning,
    Error,
}

/// The level of a log line.
#[derive(serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[napi(string_enum = "lowercase")]
pub enum JsLogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// What the engine asks its host to do. Requests carry an id and a time
/// limit; their outcome must come back through `outcome()`. Everything else
/// is fire-and-forget.
#[derive(serde::Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[napi(
    discriminant = "type",
    discriminant_case = "camelCase",
    object_from_js = false
)]
pub enum JsAction {
    /// Perform `request`; report its outcome under `id`. The engine gives up
    /// after `timeoutMs`, so the host should abort the call then too.
    Request {
        id: i64,
        timeout_ms: i64,
        request: JsRequest,
    },
    /// Finish a `session` tool call: `ok` decides whether it is a result or an error.
    ReplyToTool { call: i64, ok: bool, text: String },
    /// Show a toast in the TUI.
    Toast {
        variant: JsToastVariant,
        title: String,
        message: String,
    },
    /// Write a line to the host's log under the plugin's service name.
    Log { level: JsLogLevel, message: String },
    /// What happened, as data. The toasts, log lines and tool results made
    /// from it follow right after it; a host may ignore it.
    Notice { notice: JsNotice },
}

impl From<Action> for JsAction {
    fn from(action: Action) -> Self {
        match action {
            Action::Request {
                id,
                timeout_ms,
                request,
            } => JsAction::Request {
                id: id.0 as i64,
                timeout_ms: timeout_ms as i64,
                request: request.into(),
            },
            Action::ReplyToTool { call, ok, text } => JsAction::ReplyToTool {
                call: call.0 as i64,
                ok,
                text,
            },
            Action::Toast {
                variant,
                title,
                message,
            } => JsAction::Toast {
                variant: variant.into(),
                title,
                message,
            },
            Action::Log { level, message } => JsAction::Log {
                level: level.into(),
                message,
            },
            Action::Notice { notice } => JsAction::Notice {
                notice: (*notice).into(),
            },
        }
    }
}

impl From<ToastVariant> for JsToastVariant {
    fn from(variant: ToastVariant) -> Self {
        match variant {
            ToastVariant::Info => JsToastVariant::Info,
            ToastVariant::Success => JsToastVariant::Success,
            ToastVariant::Warning => JsToastVariant::Warning,
            ToastVariant::Error => JsToastVariant::Error,
        }
    }
}

impl From<LogLevel> for JsLogLevel {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Debug => JsLogLevel::Debug,
            LogLevel::Info => JsLogLevel::Info,
            LogLevel::Warn => JsLogLevel::Warn,
            LogLevel::Error => JsLogLevel::Error,
        }
    }
}
