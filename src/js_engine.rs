//! `RelayEngine` as JS sees it.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use opencode_sessions_engine::{
    ActionId, BusEvent, EngineConfig, Mode, Outcome, PendingHandOff, RelayEngine, ToolCall,
    RELEVANT_EVENT_TYPES,
};
use parking_lot::Mutex;
use serde_json::Value;

use crate::decode::{boolean, json, string, whole_number};
use crate::error::JsInputError;

/// The relay engine. Feed it with the `handle*` methods, then drain
/// `pollActions()` and re-arm a timer for `pollTimeout()`.
#[napi(js_name = "RelayEngine")]
pub struct JsRelayEngine {
    // The engine is the pending-relay queue; the lock keeps it consistent
    // should a host ever reach it from more than one thread.
    inner: Mutex<RelayEngine>,
}

#[napi]
impl JsRelayEngine {
    /// Takes the plugin options as the user wrote them in `opencode.json`;
    /// a wrong or unknown option throws, naming it.
    #[napi(
        constructor,
        ts_args_type = "options?: import('./lib/plugin.js').SessionsOptions | null"
    )]
    pub fn new(options: Option<Unknown<'_>>) -> Result<Self> {
        let options = match options {
            Some(options) => json("options", options).map_err(JsInputError)?,
            None => Value::Null,
        };
        let config = EngineConfig::from_options(&options).map_err(JsInputError)?;
        Ok(JsRelayEngine {
            inner: Mutex::new(RelayEngine::new(config)),
        })
    }

    /// The modes the tool offers, in the order it lists them.
    #[napi]
    pub fn enabled_modes(&self) -> Vec<&'static str> {
        let engine = self.inner.lock();
        engine
            .config()
            .offered_modes()
            .into_iter()
            .map(Mode::as_str)
            .collect()
    }

    /// A user message was added to a session; `fromPlugin` is true for the
    /// messages this plugin sent. Any other resets the session's hop count.
    #[napi(ts_args_type = "sessionId: string, fromPlugin: boolean")]
    pub fn handle_user_message(
        &self,
        session_id: Unknown<'_>,
        from_plugin: Unknown<'_>,
    ) -> Result<()> {
        let session_id = string("sessionId", session_id).map_err(JsInputError)?;
        let from_plugin = boolean("fromPlugin", from_plugin).map_err(JsInputError)?;
        self.inner
            .lock()
            .handle_user_message(&session_id, from_plugin);
        Ok(())
    }

    /// Starts a `session` tool call: `{sessionId, messageId, callerAgent, mode,
    /// text, agent?}`. Returns the id its `replyToTool` action will carry.
    #[napi(ts_args_type = "nowMs: number, call: import('./lib/engine-types.js').ToolCallInput")]
    pub fn handle_tool_call(&self, now_ms: Unknown<'_>, call: Unknown<'_>) -> Result<f64> {
        let now = whole_number("nowMs", now_ms).map_err(JsInputError)?;
        let call = json("tool call", call).map_err(JsInputError)?;
        let call = ToolCall::from_json(call).map_err(JsInputError)?;
        let id = self.inner.lock().handle_tool_call(now, call);
        Ok(id.0 as f64)
    }

    /// Feeds a bus event `{type, properties}`. Returns whether its type is one
    /// the engine reads.
    #[napi(ts_args_type = "nowMs: number, event: { type: string; properties?: unknown }")]
    pub fn handle_event(&self, now_ms: Unknown<'_>, event: Unknown<'_>) -> Result<bool> {
        let now = whole_number("nowMs", now_ms).map_err(JsInputError)?;
        let event = json("event", event).map_err(JsInputError)?;
        let event = BusEvent::from_json(&event).map_err(JsInputError)?;
        let relevant = event != BusEvent::Other;
        if relevant {
            self.inner.lock().handle_event(now, event);
        }
        Ok(relevant)
    }

    /// Reports what became of request `id`. Returns false when the engine no
    /// longer waits for it (it timed out before).
    #[napi(
        ts_args_type = "nowMs: number, id: number, outcome: import('./lib/engine-types.js').Outcome"
    )]
    pub fn handle_outcome(
        &self,
        now_ms: Unknown<'_>,
        id: Unknown<'_>,
        outcome: Unknown<'_>,
    ) -> Result<bool> {
        let now = whole_number("nowMs", now_ms).map_err(JsInputError)?;
        let id = ActionId(whole_number("action id", id).map_err(JsInputError)?);
        let outcome = json("outcome", outcome).map_err(JsInputError)?;
        let outcome = Outcome::from_json(outcome).map_err(JsInputError)?;
        Ok(self.inner.lock().handle_outcome(now, id, outcome))
    }

    /// Lets time pass: requests past their time limit fail.
    #[napi(ts_args_type = "nowMs: number")]
    pub fn handle_timeout(&self, now_ms: Unknown<'_>) -> Result<()> {
        let now = whole_number("nowMs", now_ms).map_err(JsInputError)?;
        self.inner.lock().handle_timeout(now);
        Ok(())
    }

    /// Everything the engine wants done, in order.
    #[napi(ts_return_type = "import('./lib/engine-types.js').Action[]")]
    pub fn poll_actions(&self) -> Vec<Value> {
        let mut engine = self.inner.lock();
        std::iter::from_fn(|| engine.poll_action())
            .map(|action| {
                // Encoding cannot fail for these plain types; should it ever,
                // the host logs the loss instead of losing every action.
                serde_json::to_value(&action).unwrap_or_else(|e| {
                    serde_json::json!({
                        "type": "log",
                        "level": "error",
                        "message": format!("internal error, an action could not be encoded ({e}): {action:?}"),
                    })
                })
            })
            .collect()
    }

    /// The hand-offs pending now, when they changed since the last call
    /// (null otherwise): the host keeps the latest list on disk.
    #[napi(ts_return_type = "import('./lib/engine-types.js').PendingHandOff[] | null")]
    pub fn poll_journal(&self) -> Option<Value> {
        let pending = self.inner.lock().poll_journal()?;
        serde_json::to_value(pending).ok()
    }

    /// Hand-offs a stopped OpenCode process left on disk: each session is
    /// told what was not delivered.
    #[napi(
        ts_args_type = "nowMs: number, handoffs: import('./lib/engine-types.js').PendingHandOff[]"
    )]
    pub fn handle_restored(&self, now_ms: Unknown<'_>, handoffs: Unknown<'_>) -> Result<()> {
        let now = whole_number("nowMs", now_ms).map_err(JsInputError)?;
        let handoffs = json("pending hand-offs", handoffs).map_err(JsInputError)?;
        let handoffs = PendingHandOff::list_from_json(handoffs).map_err(JsInputError)?;
        self.inner.lock().handle_restored(now, handoffs);
        Ok(())
    }

    /// When `handleTimeout` must be called next (ms, same clock as `nowMs`), or null.
    #[napi]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.inner.lock().poll_timeout().map(|ms| ms as f64)
    }

    /// Relays of a session not yet delivered or reported.
    #[napi(ts_args_type = "sessionId: string")]
    pub fn pending_relays(&self, session_id: Unknown<'_>) -> Result<u32> {
        let session_id = string("sessionId", session_id).map_err(JsInputError)?;
        let pending = self.inner.lock().pending_relays(&session_id);
        Ok(u32::try_from(pending).unwrap_or(u32::MAX))
    }

    /// Agent-to-agent hand-offs since a person last wrote in the session.
    #[napi(ts_args_type = "sessionId: string")]
    pub fn hops(&self, session_id: Unknown<'_>) -> Result<u32> {
        let session_id = string("sessionId", session_id).map_err(JsInputError)?;
        Ok(self.inner.lock().hops(&session_id))
    }

    /// How much is pending, and how many sessions the engine remembers.
    #[napi(ts_return_type = "import('./lib/engine-types.js').EngineStats")]
    pub fn stats(&self) -> Value {
        let stats = self.inner.lock().stats();
        serde_json::to_value(stats).unwrap_or(Value::Null)
    }

    /// True when no relay, tool call or request is pending.
    #[napi(getter)]
    pub fn is_quiet(&self) -> bool {
        self.inner.lock().is_quiet()
    }

    /// True when the engine holds nothing about any session.
    #[napi(getter)]
    pub fn is_empty(&self) -> bool {
        self.inner.lock().is_empty()
    }
}

/// Event types that can matter to the engine; skip every other event before
/// calling into native code.
#[napi]
pub fn relevant_event_types() -> Vec<&'static str> {
    RELEVANT_EVENT_TYPES.to_vec()
}
