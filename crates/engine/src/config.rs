//! What the engine may do and how long it waits, as the user configured it.
//! Reading the user's options into this lives in `options.rs`.

use crate::host_limits::HostLimit;
use crate::mode::Mode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Listing agents, creating or forking a session, sending a prompt.
    /// OpenCode's SDK has no time limits of its own.
    pub request_timeout_ms: u64,
    /// Summarizing runs a whole model call, so it gets much longer.
    pub summarize_timeout_ms: u64,
    /// A permission prompt waits for a person, so it gets longest of all.
    pub permission_timeout_ms: u64,
    /// Agent-to-agent hand-offs allowed since a person last wrote in a session.
    pub max_hops: u32,
    /// Branches (`new`, `fork`) of one session that run at once; the next
    /// wait and start in call order as others finish.
    pub max_branches: u32,
    /// Modes the tool offers; the others are refused.
    pub modes: Vec<Mode>,
    /// Agents a hand-off may target; `None` allows every primary agent.
    pub agents: Option<Vec<String>>,
    /// Branch modes (`new`, `fork`) after which the TUI shows the branch.
    pub switch_to: Vec<Mode>,
    /// What the parent session hears of its branches' answers.
    pub report: ReportMode,
    /// Whether the parent's agent takes a turn once all branches of a call are done.
    pub resume_parent: bool,
    pub retry: RetryPolicy,
    /// Modes the host cannot perform, whatever `modes` says.
    pub host_limits: Vec<HostLimit>,
}

/// How branches (`new`, `fork`) report back to the session that opened them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportMode {
    /// A note as each branch finishes, and a side-by-side summary once all
    /// branches of a turn are done.
    Each,
    /// Only the summary, once all branches of a turn are done.
    All,
    /// Nothing.
    Off,
}

/// How requests that failed for a passing reason are tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Wait before the second attempt; each later wait is `factor` times longer.
    pub first_delay_ms: u64,
    pub factor: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            request_timeout_ms: 15_000,
            summarize_timeout_ms: 600_000,
            permission_timeout_ms: 3_600_000,
            max_hops: 8,
            max_branches: 4,
            modes: Mode::ALL.to_vec(),
            agents: None,
            switch_to: Vec::new(),
            report: ReportMode::Each,
            resume_parent: false,
            retry: RetryPolicy::default(),
            host_limits: Vec::new(),
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            first_delay_ms: 500,
            factor: 4,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `next` (2 for the first retry), or `None` when
    /// no attempts are left.
    pub fn delay_before(&self, next: u32) -> Option<u64> {
        if next < 2 || next > self.attempts {
            return None;
        }
        let growth = self.factor.saturating_pow(next - 2);
        Some(self.first_delay_ms.saturating_mul(growth))
    }
}

impl EngineConfig {
    /// Whether the tool offers `mode`: the options leave it on and the host can do it.
    pub fn mode_enabled(&self, mode: Mode) -> bool {
        self.modes.contains(&mode) && self.host_lacks(mode).is_none()
    }

    /// What the host lacks to perform `mode`, if it cannot.
    pub fn host_lacks(&self, mode: Mode) -> Option<&str> {
        self.host_limits
            .iter()
            .find(|limit| limit.mode == mode)
            .map(|limit| limit.lacks.as_str())
    }

    /// The hand-off modes the tool accepts, in their usual order.
    pub fn enabled_hand_offs(&self) -> Vec<Mode> {
        Mode::ALL
            .into_iter()
            .filter(|mode| self.mode_enabled(*mode))
            .collect()
    }

    /// Whether `new` or `fork` is on, so that branches can be opened.
    pub fn opens_branches(&self) -> bool {
        self.mode_enabled(Mode::New) || self.mode_enabled(Mode::Fork)
    }

    /// Whether the tool offers a steering mode (`status`, `cancel`): branches
    /// can be opened and the host can do it.
    pub fn steering_enabled(&self, mode: Mode) -> bool {
        Mode::STEERING.contains(&mode) && self.opens_branches() && self.host_lacks(mode).is_none()
    }

    /// The modes the tool offers: the enabled hand-offs in their usual order,
    /// then `status` and `cancel` whenever branches can be opened (and the
    /// host can stop a session, for `cancel`).
    pub fn offered_modes(&self) -> Vec<Mode> {
        let mut offered = self.enabled_hand_offs();
        offered.extend(
            Mode::STEERING
                .into_iter()
                .filter(|mode| self.steering_enabled(*mode)),
        );
        offered
    }

    /// Whether the tool offers the `session` argument: to follow up a branch
    /// (`message` with branches) or to name the one `cancel` stops.
    pub fn offers_session_argument(&self) -> bool {
        self.steering_enabled(Mode::Cancel)
            || (self.mode_enabled(Mode::Message) && self.opens_branches())
    }

    /// Whether the user's `agents` option lets hand-offs reach `agent`.
    pub fn agent_allowed(&self, agent: &str) -> bool {
        self.agents
            .as_ref()
            .map_or(true, |allowed| allowed.iter().any(|a| a == agent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_waits_grow_and_stop_after_the_last_attempt() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay_before(1), None);
        assert_eq!(policy.delay_before(2), Some(500));
        assert_eq!(policy.delay_before(3), Some(2_000));
        assert_eq!(policy.delay_before(4), None);
    }
}
