//! Limits the engine applies to the work it asks for.

/// How long the engine waits for each kind of request before it reports the
/// request as failed. OpenCode's SDK has no time limits of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Listing agents, creating or forking a session, sending a prompt.
    pub request_timeout_ms: u64,
    /// Summarizing runs a whole model call, so it gets much longer.
    pub summarize_timeout_ms: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            request_timeout_ms: 15_000,
            summarize_timeout_ms: 600_000,
        }
    }
}
