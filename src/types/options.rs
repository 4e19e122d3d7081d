use napi_derive::napi;
use opencode_sessions_engine::{EngineConfig, ReportMode, RetryPolicy};

use super::{JsBranchMode, JsSessionMode};

/// How branches report back to the session that opened them.
#[napi(string_enum = "lowercase")]
pub enum JsReportMode {
    Each,
    All,
    Off,
}

/// Options from `"plugin": [["opencode-sessions", { ... }]]`. Every option is
/// checked when the plugin loads; a wrong or unknown one keeps the plugin from
/// loading, with a message naming it.
#[napi(object)]
pub struct JsSessionsOptions {
    /// Agent-to-agent hand-offs allowed in a session since a person last wrote
    /// there; the next one is refused. `new` and `fork` branches start from
    /// their parent's count plus one. Whole number from 1 to 1000. Default 8.
    pub max_hops: Option<u32>,
    /// Branches (`new`, `fork`) of one session that run at once; the next wait and start in call
    /// order as others finish. Whole number from 1 to 100. Default 4.
    pub max_branches: Option<u32>,
    /// Modes the tool offers; the others are neither shown to the model nor accepted. Default: all four.
    pub modes: Option<Vec<JsSessionMode>>,
    /// Agents a hand-off may go to. Default: every primary agent that is not hidden.
    pub agents: Option<Vec<String>>,
    /// Branch modes after which the TUI switches to the new session. Default: none.
    pub switch_to: Option<Vec<JsBranchMode>>,
    /// What the session that opened branches (`new`, `fork`) hears back, as notes that start no turn:
    /// `"each"` a report as each branch finishes plus a side-by-side summary once all branches of a
    /// turn are done; `"all"` only the summary; `"off"` nothing. Default `"each"`.
    pub report: Option<JsReportMode>,
    /// Once all branches of a turn are done, the opening agent takes a turn on the summary (counts as a hop). Default false.
    pub resume_parent: Option<bool>,
    /// Time limit in ms for listing agents, creating or forking a session and sending a prompt. Default 15000.
    pub request_timeout_ms: Option<u32>,
    /// Time limit in ms for summarizing a session in `compact` mode. Default 600000.
    pub summarize_timeout_ms: Option<u32>,
    /// How long in ms a permission prompt may wait for a person. Default 3600000.
    pub permission_timeout_ms: Option<u32>,
}

impl From<ReportMode> for JsReportMode {
    fn from(report: ReportMode) -> Self {
        match report {
            ReportMode::Each => JsReportMode::Each,
            ReportMode::All => JsReportMode::All,
            ReportMode::Off => JsReportMode::Off,
        }
    }
}

/// The options the engine runs with, every one spelt out (`agents` only when
/// the user limited them).
impl From<&EngineConfig> for JsSessionsOptions {
    fn from(config: &EngineConfig) -> Self {
        // Destructured, so a new setting of the engine fails the build here.
        let EngineConfig {
            request_timeout_ms,
            summarize_timeout_ms,
            permission_timeout_ms,
            max_hops,
            max_branches,
            modes,
            agents,
            switch_to,
            report,
            resume_parent,
            retry: RetryPolicy { .. },
            // Not an option: the host's, given to the constructor.
            host_limits: _,
        } = config;
        // Timeouts are checked to be at most 2^31 - 1 when they are read.
        let ms = |ms: &u64| u32::try_from(*ms).unwrap_or(u32::MAX);
        JsSessionsOptions {
            max_hops: Some(*max_hops),
            max_branches: Some(*max_branches),
            modes: Some(
                modes
                    .iter()
                    .filter_map(|mode| JsSessionMode::try_from(*mode).ok())
                    .collect(),
            ),
            agents: agents.clone(),
            switch_to: Some(
                switch_to
                    .iter()
                    .filter_map(|mode| JsBranchMode::try_from(*mode).ok())
                    .collect(),
            ),
            report: Some((*report).into()),
            resume_parent: Some(*resume_parent),
            request_timeout_ms: Some(ms(request_timeout_ms)),
            summarize_timeout_ms: Some(ms(summarize_timeout_ms)),
            permission_timeout_ms: Some(ms(permission_timeout_ms)),
        }
    }
}
