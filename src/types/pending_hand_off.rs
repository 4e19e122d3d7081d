use napi_derive::napi;
use opencode_sessions_engine::PendingHandOff;

/// A hand-off not yet delivered, as the host keeps it on disk.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[napi(object)]
pub struct JsPendingHandOff {
    pub session_id: String,
    /// Its number in the tool's result ("relay #4").
    pub relay: i64,
    /// `message` or `compact`.
    pub mode: String,
    pub caller_agent: String,
    pub agent: String,
    pub text: String,
}

impl From<PendingHandOff> for JsPendingHandOff {
    fn from(handoff: PendingHandOff) -> Self {
        let PendingHandOff {
            session_id,
            relay,
            mode,
            caller_agent,
            agent,
            text,
        } = handoff;
        JsPendingHandOff {
            session_id,
            relay: relay as i64,
            mode,
            caller_agent,
            agent,
            text,
        }
    }
}
