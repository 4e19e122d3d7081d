//! What the engine holds, in numbers a person can read: how much is pending
//! and how many sessions it remembers anything about
//! ([`crate::RelayEngine::stats`] counts them).

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineStats {
    /// Hand-offs (message, compact, resumeParent) not yet delivered or reported.
    pub relays_pending: usize,
    /// `session` tool calls still waiting for their result.
    pub tool_calls_pending: usize,
    /// Requests to OpenCode in flight, timers and retry pauses included.
    pub requests_in_flight: usize,
    /// Branch sessions whose turn has not yet been reported.
    pub branches_running: usize,
    /// Sessions the engine remembers anything about: relays, hop counts,
    /// branches or their parents. Deleting a session forgets it.
    pub sessions_remembered: usize,
}
