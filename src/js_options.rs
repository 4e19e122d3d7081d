//! Options accepted by the engine's constructor.

use napi_derive::napi;
use opencode_sessions_engine::{EngineConfig, InputError};

use crate::time::whole_number;

/// Time limits for the requests the engine makes, in milliseconds.
#[napi(object)]
pub struct EngineOptions {
    /// Listing agents, creating or forking a session, sending a prompt. Default 15000.
    pub request_timeout_ms: Option<f64>,
    /// Summarizing a session (a whole model call). Default 600000.
    pub summarize_timeout_ms: Option<f64>,
}

impl EngineOptions {
    pub fn into_config(self) -> Result<EngineConfig, InputError> {
        let mut config = EngineConfig::default();
        if let Some(ms) = self.request_timeout_ms {
            config.request_timeout_ms = positive("requestTimeoutMs", ms)?;
        }
        if let Some(ms) = self.summarize_timeout_ms {
            config.summarize_timeout_ms = positive("summarizeTimeoutMs", ms)?;
        }
        Ok(config)
    }
}

/// The longest delay JS timers honour (about 24.8 days); longer ones fire at once.
const MAX_TIMER_MS: u64 = 2_147_483_647;

fn positive(what: &'static str, value: f64) -> Result<u64, InputError> {
    match whole_number(what, value)? {
        0 => Err(InputError::Malformed {
            what,
            detail: "must be more than 0".to_owned(),
        }),
        ms if ms > MAX_TIMER_MS => Err(InputError::Malformed {
            what,
            detail: format!("must be at most {MAX_TIMER_MS} ms (about 24 days)"),
        }),
        ms => Ok(ms),
    }
}
