//! Hand-offs outlive the process that queued them only on disk. The engine
//! says what is pending whenever that changes ([`crate::RelayEngine::poll_journal`]);
//! the host keeps the latest list in a file. When OpenCode starts again, the
//! host hands the list a stopped process left behind to
//! [`crate::RelayEngine::handle_restored`], which tells each session what was not
//! delivered. Relays are not sent again: a stop ends the turn that queued
//! them, as an interrupt does, and an interrupt cancels what its turn queued.
//!
//! This module holds the list's shape; `relays.rs` makes the list, and
//! `outputs.rs` remembers which list the host was given last.

use crate::error::InputError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A hand-off not yet delivered, as the host keeps it on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingHandOff {
    pub session_id: String,
    /// The number the tool's result gave it ("relay #4").
    pub relay: u64,
    /// `message` or `compact`.
    pub mode: String,
    pub caller_agent: String,
    pub agent: String,
    pub text: String,
}

impl PendingHandOff {
    /// Reads the list the host kept on disk.
    pub fn list_from_json(value: Value) -> Result<Vec<Self>, InputError> {
        serde_json::from_value(value).map_err(|e| InputError::malformed("pending hand-offs", e))
    }
}
