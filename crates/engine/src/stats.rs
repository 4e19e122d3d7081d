//! What the engine holds, in numbers a person can read: how much is pending
//! and how many sessions it remembers anything about.

use crate::engine::RelayEngine;
use crate::relay::SessionRelays;
use serde::Serialize;
use std::collections::HashSet;

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

impl RelayEngine {
    pub fn stats(&self) -> EngineStats {
        let remembered: HashSet<&str> = self
            .sessions
            .keys()
            .chain(self.hops.keys())
            .chain(self.branches.keys())
            .chain(self.parents.keys())
            .map(String::as_str)
            .collect();
        EngineStats {
            relays_pending: self.sessions.values().map(SessionRelays::pending).sum(),
            tool_calls_pending: self.calls.len(),
            requests_in_flight: self.requests_in_flight(),
            branches_running: self.branches.values().filter(|b| !b.is_finished()).count(),
            sessions_remembered: remembered.len(),
        }
    }
}
