//! `RelayEngine` as JS sees it.
//!
//! One call per input: each input method feeds the engine and drains what the
//! input left to do in the same call, returning it as the JSON text of a
//! [`JsDrain`](crate::types::JsDrain), or null when nothing changed (the common case, which
//! allocates nothing in JS). JSON because one string crosses far cheaper than
//! objects built property by property through Node-API (measured: the idle
//! edge that sends a prompt took about twice as long as typed objects).
//! Inputs cross as the few primitive fields the engine needs; the host's
//! adapter reads them from its own objects. The input methods also come as
//! functions bound to the engine (`inputs`, see src/bound_inputs.rs),
//! cheaper to call than methods.

use std::cell::{RefCell, RefMut};
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use opencode_sessions_engine::{
    tool_text, ActionId, BusEvent, EngineConfig, HostLimit, InputError, Mode, Outcome,
    PendingHandOff, Polled, RelayEngine, ToolCall, OPTIONS_REFUSED_TITLE, OPTION_NAMES,
    RELEVANT_EVENT_TYPES,
};
use serde_json::Value;

use crate::bound_inputs::{borrow, inputs_object};
use crate::decode::{boolean, json, non_empty_string, optional_string, string, whole_number};
use crate::error::JsInputError;
use crate::json::{DrainText, DrainWriter};
use crate::types::{
    JsAction, JsEngineStats, JsOutcome, JsPendingHandOff, JsSessionsOptions, JsToolMode, JsToolText,
};

/// The relay engine. Feed it with its input methods; each returns what to do
/// as the JSON text of a `JsDrain` (the actions in order, when to call
/// `timeout()` next, the pending list for the disk), or null when nothing
/// changed. `toolCall` returns the JSON of a `JsToolCallStarted`.
#[napi(js_name = "RelayEngine")]
pub struct JsRelayEngine {
    /// Shared with the input functions of [`JsRelayEngine::inputs`], which
    /// outlive the object when JS keeps one.
    state: Rc<RefCell<EngineState>>,
}

/// What a `RelayEngine` holds; every method of it runs on this, borrowed
/// for the call.
pub(crate) struct EngineState {
    engine: RelayEngine,
    /// The time of the next `timeout()` as last returned to the host.
    timeout_at: Option<u64>,
    /// Whether drains carry prompts and log lines as compact lines; see [`JsRelayEngine::compact_actions`].
    compact_actions: bool,
}

/// Reads a whole number argument, refusing anything else by name.
fn now(now_ms: Unknown<'_>) -> Result<u64> {
    Ok(whole_number("nowMs", now_ms).map_err(JsInputError::Argument)?)
}

#[napi]
impl JsRelayEngine {
    /// Takes the plugin options as the user wrote them in `opencode.json`;
    /// a wrong or unknown option throws, naming it. `hostLimits` are the
    /// hand-off modes the host cannot perform and what it lacks for each.
    #[napi(
        constructor,
        ts_args_type = "options?: JsSessionsOptions | null, hostLimits?: Array<JsHostLimit> | null"
    )]
    pub fn new(options: Option<Unknown<'_>>, host_limits: Option<Unknown<'_>>) -> Result<Self> {
        let options = match options {
            Some(options) => json("options", options).map_err(JsInputError::Options)?,
            None => Value::Null,
        };
        let mut config = EngineConfig::from_options(&options).map_err(JsInputError::Options)?;
        if let Some(limits) = host_limits {
            let limits = json("hostLimits", limits).map_err(JsInputError::Argument)?;
            config.host_limits =
                HostLimit::list_from_json(&limits).map_err(JsInputError::Argument)?;
        }
        Ok(JsRelayEngine {
            state: Rc::new(RefCell::new(EngineState {
                engine: RelayEngine::new(config),
                timeout_at: None,
                compact_actions: false,
            })),
        })
    }

    /// Whether drains carry `notice` actions (they do unless told otherwise).
    /// A host that does not listen to notices turns them off: the toasts,
    /// log lines and tool results made from them come all the same, and
    /// nothing is encoded that nobody reads (a notice is a third of the JSON
    /// of an idle edge that sends a prompt).
    #[napi]
    pub fn want_notices(&self, want: bool) -> Result<()> {
        self.state()?.engine.handle_notices_wanted(want);
        Ok(())
    }

    /// Whether the drains of input methods carry prompt requests and log
    /// lines as compact lines (`P…`, `L…`, see `write_prompt` in src/json.rs)
    /// instead of JSON (they do not unless told). For a host that reads
    /// drains with `readDrain` in lib/driver.js: the prompt is what an idle
    /// edge waits on, and a compact line reads in a fraction of the time
    /// `JSON.parse` takes.
    #[napi]
    pub fn compact_actions(&self, compact: bool) -> Result<()> {
        self.state()?.compact_actions = compact;
        Ok(())
    }

    /// The modes the tool offers, in the order it lists them.
    #[napi]
    pub fn enabled_modes(&self) -> Result<Vec<JsToolMode>> {
        let state = self.state()?;
        Ok(state
            .engine
            .config()
            .offered_modes()
            .into_iter()
            .map(JsToolMode::from)
            .collect())
    }

    /// What the model reads about the `session` tool, for the modes on offer.
    #[napi]
    pub fn tool_text(&self) -> Result<JsToolText> {
        Ok(tool_text(&self.state()?.engine.config().offered_modes()).into())
    }

    /// The options the engine runs with, defaults filled in.
    #[napi(getter)]
    pub fn options(&self) -> Result<JsSessionsOptions> {
        Ok(self.state()?.engine.config().into())
    }

    /// The input methods (the ones the type names), as functions bound to
    /// this engine that take the same arguments. Called without a receiver,
    /// a call skips napi-rs's lookup of it, most of the cost of a `status`
    /// call that changes nothing. The driver makes them the engine's own
    /// methods.
    #[napi(
        ts_return_type = "Pick<RelayEngine, 'status' | 'idle' | 'compacted' | 'deleted' | 'sessionError' | 'stepFinished' | 'toolState' | 'personEvent' | 'turnEnding' | 'userMessage' | 'timeout' | 'toolCall' | 'outcome' | 'restored'>"
    )]
    pub fn inputs(&self, env: Env) -> Result<Unknown<'_>> {
        // SAFETY: the env of this call, on the JS thread.
        let object = unsafe { inputs_object(env.raw(), self)? };
        // SAFETY: a live value made in this call's env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), object) })
    }

    /// `session.status` of a session: `busy` is false for idle (`retry` is busy).
    #[napi(
        ts_args_type = "nowMs: number, sessionId: string, busy: boolean",
        ts_return_type = "string | null"
    )]
    pub fn status(
        &self,
        now_ms: Unknown<'_>,
        session_id: Unknown<'_>,
        busy: Unknown<'_>,
    ) -> Result<Option<DrainText>> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        let now = now(now_ms)?;
        let session_id = session(session_id)?;
        let busy = boolean("busy", busy).map_err(JsInputError::Argument)?;
        state.event(now, BusEvent::Status { session_id, busy })
    }

    /// `session.idle`: the end of a turn, often right after `status` idle.
    #[napi(
        ts_args_type = "nowMs: number, sessionId: string",
        ts_return_type = "string | null"
    )]
    pub fn idle(&self, now_ms: Unknown<'_>, session_id: Unknown<'_>) -> Result<Option<DrainText>> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        state.session_event(now_ms, session_id, |session_id| BusEvent::Idle {
            session_id,
        })
    }

    /// `session.compacted`: a summary now stands in for the history.
    #[napi(
        ts_args_type = "nowMs: number, sessionId: string",
        ts_return_type = "string | null"
    )]
    pub fn compacted(
        &self,
        now_ms: Unknown<'_>,
        session_id: Unknown<'_>,
    ) -> Result<Option<DrainText>> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        state.session_event(now_ms, session_id, |session_id| BusEvent::Compacted {
            session_id,
        })
    }

    /// `session.deleted`.
    #[napi(
        ts_args_type = "nowMs: number, sessionId: string",
        ts_return_type = "string | null"
    )]
    pub fn deleted(
        &self,
        now_ms: Unknown<'_>,
        session_id: Unknown<'_>,
    ) -> Result<Option<DrainText>> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        state.session_event(now_ms, session_id, |session_id| BusEvent::Deleted {
            session_id,
        })
    }

    /// `session.error`: `name` is the error's class (`MessageAbortedError`
    /// when a person interrupted), `message` its text; a null or empty
    /// `sessionId` names no session.
    #[napi(
        ts_args_type = "nowMs: number, sessionId: string | null, name: string | null, message: string | null",
        ts_return_type = "string | null"
    )]
    pub fn session_error(
        &self,
        now_ms: Unknown<'_>,
        session_id: Unknown<'_>,
        name: Unknown<'_>,
        message: Unknown<'_>,
    ) -> Result<Option<DrainText>> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        let now = now(now_ms)?;
        let session_id = optional_string("sessionId", session_id)
            .map_err(JsInputError::Argument)?
            .filter(|id| !id.is_empty());
        let name = optional_string("name", name).map_err(JsInputError::Argument)?;
        let message = optional_string("message", message).map_err(JsInputError::Argument)?;
        state.event(
            now,
            BusEvent::Error {
                session_id,
                name,
                message,
            },
        )
    }

    /// An assistant message completed: one step of a turn ended, for the
    /// reason `finish` (`stop`, `tool-calls`, ...) or with the error named
    /// `error` (`MessageAbortedError` when interrupted).
    #[napi(
        ts_args_type = "nowMs: number, sessionId: string, finish: string | null, error: string | null",
        ts_return_type = "string | null"
    )]
    pub fn step_finished(
        &self,
        now_ms: Unknown<'_>,
        session_id: Unknown<'_>,
        finish: Unknown<'_>,
        error: Unknown<'_>,
    ) -> Result<Option<DrainText>> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        let now = now(now_ms)?;
        let session_id = session(session_id)?;
        let finish = optional_string("finish", finish).map_err(JsInputError::Argument)?;
        let error = optional_string("error", error).map_err(JsInputError::Argument)?;
        state.event(
            now,
            BusEvent::StepFinished {
                session_id,
                finish,
                error,
            },
        )
    }

    /// A tool part of a session's turn started (`running`) or ended
    /// (`message.part.updated` of a tool part): `status` tells what a branch runs.
    #[napi(
        ts_args_type = "nowMs: number, sessionId: string, partId: string, tool: string, running: boolean",
        ts_return_type = "string | null"
    )]
    pub fn tool_state(
        &self,
        now_ms: Unknown<'_>,
        session_id: Unknown<'_>,
        part_id: Unknown<'_>,
        tool: Unknown<'_>,
        running: Unknown<'_>,
    ) -> Result<Option<DrainText>> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        let now = now(now_ms)?;
        let session_id = session(session_id)?;
        let part_id = non_empty_string("partId", part_id).map_err(JsInputError::Argument)?;
        let tool = non_empty_string("tool", tool).map_err(JsInputError::Argument)?;
        let running = boolean("running", running).map_err(JsInputError::Argument)?;
        state.event(
            now,
            BusEvent::ToolState {
                session_id,
                part_id,
                tool,
                running,
            },
        )
    }

    /// A permission prompt or a question waits for a person, or was answered:
    /// the `permission.*` or `question.*` event as OpenCode sent it (they are
    /// rare, so they cross whole, and the engine reads what they ask).
    #[napi(
        ts_args_type = "nowMs: number, event: { type: string, properties?: unknown }",
        ts_return_type = "string | null"
    )]
    pub fn person_event(
        &self,
        now_ms: Unknown<'_>,
        event: Unknown<'_>,
    ) -> Result<Option<DrainText>> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        let now = now(now_ms)?;
        let value = json("event", event).map_err(JsInputError::Argument)?;
        let event = BusEvent::from_json(&value).map_err(JsInputError::Argument)?;
        match event {
            BusEvent::PersonAsked { .. } | BusEvent::PersonAnswered { .. } => {
                state.event(now, event)
            }
            BusEvent::Status { .. }
            | BusEvent::Idle { .. }
            | BusEvent::Compacted { .. }
            | BusEvent::Error { .. }
            | BusEvent::Deleted { .. }
            | BusEvent::StepFinished { .. }
            | BusEvent::ToolState { .. }
            | BusEvent::Other => Err(JsInputError::Argument(InputError::malformed(
                "event",
                "expected a permission or question event",
            ))
            .into()),
        }
    }

    /// The host process ends at the first idle of the session it was started
    /// for (OpenCode's `run`): hand-offs go out through `turnEnding` instead
    /// of an idle edge, and `new`/`fork` calls return once their branch answered.
    #[napi]
    pub fn host_ends_with_turn(&self) -> Result<()> {
        self.state()?.engine.handle_host_ends_with_turn();
        Ok(())
    }

    /// A step of the session's turn (the assistant message `stepId`) wrote
    /// its last text and calls no tool: the turn is about to end, and the
    /// host holds it open until the requests this returns are done.
    #[napi(
        ts_args_type = "nowMs: number, sessionId: string, stepId: string",
        ts_return_type = "string | null"
    )]
    pub fn turn_ending(
        &self,
        now_ms: Unknown<'_>,
        session_id: Unknown<'_>,
        step_id: Unknown<'_>,
    ) -> Result<Option<DrainText>> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        let now = now(now_ms)?;
        let session_id = session(session_id)?;
        let step_id = non_empty_string("stepId", step_id).map_err(JsInputError::Argument)?;
        state.engine.handle_turn_ending(now, &session_id, &step_id);
        Ok(state.drain(state.compact_actions))
    }

    /// A user message was added to a session; `fromPlugin` is true for the
    /// messages this plugin sent. Any other resets the session's hop count.
    #[napi(
        ts_args_type = "sessionId: string, fromPlugin: boolean",
        ts_return_type = "string | null"
    )]
    pub fn user_message(
        &self,
        session_id: Unknown<'_>,
        from_plugin: Unknown<'_>,
    ) -> Result<Option<DrainText>> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        let session_id = string("sessionId", session_id).map_err(JsInputError::Argument)?;
        let from_plugin = boolean("fromPlugin", from_plugin).map_err(JsInputError::Argument)?;
        state.engine.handle_user_message(&session_id, from_plugin);
        Ok(state.drain(state.compact_actions))
    }

    /// Starts a `session` tool call. Returns the id its `replyToTool` action
    /// will carry, and what the call left to do.
    #[napi(
        ts_args_type = "nowMs: number, call: JsToolCallInput",
        ts_return_type = "string"
    )]
    pub fn tool_call(&self, now_ms: Unknown<'_>, call: Unknown<'_>) -> Result<DrainText> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        let now = now(now_ms)?;
        let call = json("tool call", call).map_err(JsInputError::Argument)?;
        let call = ToolCall::from_json(call).map_err(JsInputError::Argument)?;
        let id = state.engine.handle_tool_call(now, call);
        // All JSON, whatever `compactActions` says: the host parses it whole.
        let drain = state.drain(false);
        Ok(DrainText::tool_call_started(id.0, drain))
    }

    /// Reports what became of request `id`. Null when that changed nothing,
    /// as for an outcome the engine no longer waits for (it timed out before).
    #[napi(
        ts_args_type = "nowMs: number, id: number, outcome: JsOutcome",
        ts_return_type = "string | null"
    )]
    pub fn outcome(
        &self,
        now_ms: Unknown<'_>,
        id: Unknown<'_>,
        outcome: Unknown<'_>,
    ) -> Result<Option<DrainText>> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        let now = now(now_ms)?;
        let id = ActionId(whole_number("action id", id).map_err(JsInputError::Argument)?);
        // Read as JSON when it is not an outcome, for the error that says what is wrong.
        let typed = match outcome.get_type() {
            Ok(ValueType::Object) => JsOutcome::from_unknown(outcome).ok(),
            _ => None,
        };
        let outcome = match typed {
            Some(typed) => Outcome::from(typed),
            None => {
                let value = json("outcome", outcome).map_err(JsInputError::Argument)?;
                Outcome::from_json(value).map_err(JsInputError::Argument)?
            }
        };
        state.engine.handle_outcome(now, id, outcome);
        Ok(state.drain(state.compact_actions))
    }

    /// Lets time pass: requests past their time limit fail.
    #[napi(ts_args_type = "nowMs: number", ts_return_type = "string | null")]
    pub fn timeout(&self, now_ms: Unknown<'_>) -> Result<Option<DrainText>> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        let now = now(now_ms)?;
        state.engine.handle_timeout(now);
        Ok(state.drain(state.compact_actions))
    }

    /// Hand-offs a stopped host process left on disk: each session is told
    /// what was not delivered.
    #[napi(
        ts_args_type = "nowMs: number, handoffs: JsPendingHandOff[]",
        ts_return_type = "string | null"
    )]
    pub fn restored(
        &self,
        now_ms: Unknown<'_>,
        handoffs: Unknown<'_>,
    ) -> Result<Option<DrainText>> {
        let mut guard = self.state()?;
        let state = &mut *guard;
        let now = now(now_ms)?;
        let handoffs = json("pending hand-offs", handoffs).map_err(JsInputError::Argument)?;
        let handoffs = PendingHandOff::list_from_json(handoffs).map_err(JsInputError::Argument)?;
        state.engine.handle_restored(now, handoffs);
        Ok(state.drain(state.compact_actions))
    }

    /// Relays of a session not yet delivered or reported.
    #[napi(ts_args_type = "sessionId: string")]
    pub fn pending_relays(&self, session_id: Unknown<'_>) -> Result<u32> {
        let state = self.state()?;
        let session_id = string("sessionId", session_id).map_err(JsInputError::Argument)?;
        let pending = state.engine.pending_relays(&session_id);
        Ok(u32::try_from(pending).unwrap_or(u32::MAX))
    }

    /// Agent-to-agent hand-offs since a person last wrote in the session.
    #[napi(ts_args_type = "sessionId: string")]
    pub fn hops(&self, session_id: Unknown<'_>) -> Result<u32> {
        let state = self.state()?;
        let session_id = string("sessionId", session_id).map_err(JsInputError::Argument)?;
        Ok(state.engine.hops(&session_id))
    }

    /// How much is pending, and how many sessions the engine remembers.
    #[napi]
    pub fn stats(&self) -> Result<JsEngineStats> {
        Ok(self.state()?.engine.stats().into())
    }

    /// True when no relay, tool call or request is pending.
    #[napi(getter)]
    pub fn is_quiet(&self) -> Result<bool> {
        Ok(self.state()?.engine.is_quiet())
    }

    /// True when the engine holds nothing about any session.
    #[napi(getter)]
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.state()?.engine.is_empty())
    }
}

impl JsRelayEngine {
    /// The state for one call; refused while another call runs (a getter
    /// that the engine set off by reading an argument, calling back into it).
    fn state(&self) -> Result<RefMut<'_, EngineState>> {
        borrow(&self.state)
    }

    /// Another handle on the same engine, for a bound input function.
    pub(crate) fn share(&self) -> JsRelayEngine {
        JsRelayEngine {
            state: Rc::clone(&self.state),
        }
    }
}

impl EngineState {
    /// An event that names only its session.
    fn session_event(
        &mut self,
        now_ms: Unknown<'_>,
        session_id: Unknown<'_>,
        event: fn(String) -> BusEvent,
    ) -> Result<Option<DrainText>> {
        let now = now(now_ms)?;
        let session_id = session(session_id)?;
        self.event(now, event(session_id))
    }

    fn event(&mut self, now: u64, event: BusEvent) -> Result<Option<DrainText>> {
        self.engine.handle_event(now, event);
        Ok(self.drain(self.compact_actions))
    }

    /// What the last input left to do, as the JSON of a [`crate::types::JsDrain`], written
    /// as the engine hands out its actions; `None` when there are no actions,
    /// the pending list did not change and the timer stays as it was. With
    /// `compact`, prompts and log lines are compact lines (see `DrainWriter`).
    fn drain(&mut self, compact: bool) -> Option<DrainText> {
        let mut writer = DrainWriter::new(compact);
        // Requests are lent, not taken: the engine keeps the one it may send again.
        while let Some(()) = self.engine.poll_action_with(|polled| match polled {
            Polled::Request {
                id,
                timeout_ms,
                request,
            } => writer.request(id, timeout_ms, request),
            Polled::Action(action) => writer.action(&JsAction::from(action)),
        }) {}
        let journal = self.engine.poll_journal();
        let timeout_at = self.engine.poll_timeout();
        if writer.is_empty() && journal.is_none() && timeout_at == self.timeout_at {
            writer.discard();
            return None;
        }
        self.timeout_at = timeout_at;
        let journal: Option<Vec<JsPendingHandOff>> =
            journal.map(|list| list.into_iter().map(JsPendingHandOff::from).collect());
        Some(writer.finish(timeout_at.map(|ms| ms as i64), journal.as_deref()))
    }
}

/// A session id from an event: a non-empty string.
fn session(value: Unknown<'_>) -> Result<String> {
    Ok(non_empty_string("sessionId", value).map_err(JsInputError::Argument)?)
}

/// The toast title when the plugin's options are refused (the message is the
/// error `new RelayEngine(options)` throws).
#[napi]
pub fn options_refused_title() -> &'static str {
    OPTIONS_REFUSED_TITLE
}

/// Event types that can matter to the engine; skip every other event before
/// calling into native code.
#[napi]
pub fn relevant_event_types() -> Vec<&'static str> {
    RELEVANT_EVENT_TYPES.to_vec()
}

/// Every mode of the `session` tool, in the order it lists them.
#[napi]
pub fn modes() -> Vec<JsToolMode> {
    Mode::EVERY.into_iter().map(JsToolMode::from).collect()
}

/// Every option the plugin reads, in the order the README documents them.
#[napi]
pub fn option_names() -> Vec<&'static str> {
    OPTION_NAMES.to_vec()
}
