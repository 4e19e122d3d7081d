use napi_derive::napi;
use opencode_sessions_engine::EngineStats;

/// What the engine holds (`RelayEngine.stats()`).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[napi(object, object_from_js = false)]
pub struct JsEngineStats {
    /// Hand-offs not yet delivered or reported.
    pub relays_pending: u32,
    /// `session` tool calls waiting for their result.
    pub tool_calls_pending: u32,
    /// Requests to the host in flight, timers and retry pauses included.
    pub requests_in_flight: u32,
    /// Branch sessions whose turn has not been reported yet.
    pub branches_running: u32,
    /// Sessions the engine remembers anything about.
    pub sessions_remembered: u32,
}

impl From<EngineStats> for JsEngineStats {
    fn from(stats: EngineStats) -> Self {
        let EngineStats {
            relays_pending,
            tool_calls_pending,
            requests_in_flight,
            branches_running,
            sessions_remembered,
        } = stats;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        JsEngineStats {
            relays_pending: count(relays_pending),
            tool_calls_pending: count(tool_calls_pending),
            requests_in_flight: count(requests_in_flight),
            branches_running: count(branches_running),
            sessions_remembered: count(sessions_remembered),
        }
    }
}
