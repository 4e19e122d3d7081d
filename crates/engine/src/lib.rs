//! The relay engine behind the `opencode-sessions` plugin.
//!
//! Sans-IO: the engine never performs I/O and never reads a clock. The host
//! (the plugin's JS shell) drives a [`RelayEngine`] in this order:
//!
//! 1. feed it one input through a `handle_*` method: a `session` tool call
//!    ([`RelayEngine::handle_tool_call`]), a user message, a bus event, the
//!    [`Outcome`] of a request it made ([`RelayEngine::handle_outcome`]), the
//!    passing of time ([`RelayEngine::handle_timeout`]), or the hand-offs a
//!    stopped process left ([`RelayEngine::handle_restored`]);
//! 2. drain [`RelayEngine::poll_action`] (or [`RelayEngine::poll_action_with`],
//!    which lends each request rather than handing it over) until it returns
//!    `None`, performing each [`Action`] in order and reporting each
//!    request's outcome back;
//! 3. re-arm its timer from [`RelayEngine::poll_timeout`], and save the list
//!    [`RelayEngine::poll_journal`] returns when it returns one.
//!
//! What happened (a relay delivered, a call refused, ...) comes out as a
//! typed [`Notice`], followed by the toasts, log lines and tool results made
//! from it; a host or a test matches on the notice, never on the words.
//! Everything the engine does can therefore be replayed in a test, with time
//! as a plain number.
//!
//! Inside, [`RelayEngine`] routes each input to components that own their
//! state (see `engine.rs`); no module of the crate imports one that imports it.

// Every match on an enum names its variants, so a new mode, stage or
// outcome makes the compiler list each place that must decide about it.
#![warn(clippy::wildcard_enum_match_arm)]
// A panic in a Node addon takes the host (OpenCode) down with it.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod action;
mod agents;
mod branches;
mod calls;
mod config;
mod decimal;
mod engine;
mod error;
mod event;
mod failed_turns;
mod fast_hash;
/// Entry point of the fuzz target and of the tests replaying its corpus.
#[doc(hidden)]
pub mod fuzz;
mod groups;
mod hops;
mod host_limits;
mod ids;
mod journal;
mod limits;
mod mode;
mod notice;
mod options;
mod outcome;
mod outputs;
mod relay;
mod relays;
mod render;
mod requests;
mod shown;
mod stats;
mod tool_call;

pub use action::{Action, Polled, Request};
pub use agents::{reachable_agents, AgentInfo};
pub use config::{EngineConfig, ReportMode, RetryPolicy};
pub use decimal::Decimal;
pub use engine::RelayEngine;
pub use error::InputError;
pub use event::{BusEvent, RELEVANT_EVENT_TYPES};
pub use host_limits::HostLimit;
pub use ids::{ActionId, RelayId, ToolCallId};
pub use journal::PendingHandOff;
pub use mode::Mode;
pub use notice::{
    Activity, BranchActivity, BranchError, BranchInfo, BranchProgress, CallFailure, Cancelled,
    Certainty, Delivery, NoteKind, Notice, Refusal, RelayFailure, RequestError, Restored,
    SessionError, WaitingBranch,
};
pub use options::OPTION_NAMES;
pub use outcome::{FailureCause, Outcome};
pub use render::{
    options_refused, tool_text, LogLevel, ToastVariant, ToolText, OPTIONS_REFUSED_TITLE,
};
pub use stats::EngineStats;
pub use tool_call::{ToolCall, MAX_AGENT_CHARS, MAX_SESSION_CHARS, MAX_TEXT_BYTES};
