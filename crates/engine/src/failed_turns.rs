//! A turn that ends in a model error is closed by OpenCode in two steps: it
//! reports idle, then records the failed step, then reports idle again. A
//! prompt or summary sent at the first idle is recorded but never run. So the
//! engine holds that first idle back until the failed step is recorded (and
//! takes the idle after it as the turn's end), or for [`CLOSING_MS`] when
//! OpenCode gives no such sign.

use crate::engine::RelayEngine;
use crate::ids::ActionId;

/// How long an idle after a failed turn is held when the failed step is never
/// reported.
pub(crate) const CLOSING_MS: u64 = 3_000;

#[derive(Debug, Default)]
pub(crate) struct FailedTurn {
    /// The failed step was recorded: the next idle ends the turn.
    step_recorded: bool,
    /// Armed by the first idle held back.
    timer: Option<ActionId>,
}

impl RelayEngine {
    /// A `session.error` other than an interrupt: the session's next idle may
    /// come before OpenCode has closed the turn. Only a turn the engine knows
    /// of is watched; an error outside a turn (a prompt refused before it
    /// started) has no turn to close.
    pub(crate) fn turn_failed(&mut self, session_id: &str) {
        if self.in_a_turn(session_id) {
            self.failed_turns.entry(session_id.to_owned()).or_default();
        }
    }

    /// A completed step that ended in an error other than an interrupt.
    pub(crate) fn failed_step_recorded(&mut self, session_id: &str) {
        if let Some(turn) = self.failed_turns.get_mut(session_id) {
            turn.step_recorded = true;
        }
    }

    /// Whether an idle event of the session must be held back: true until the
    /// failed turn is closed. Arms the time limit at the first idle held.
    pub(crate) fn holds_idle(&mut self, now_ms: u64, session_id: &str) -> bool {
        let Some(turn) = self.failed_turns.get(session_id) else {
            return false;
        };
        if turn.step_recorded {
            self.forget_failed_turn(session_id);
            return false;
        }
        if turn.timer.is_none() {
            let timer = self.arm_closing_timer(now_ms, session_id, CLOSING_MS);
            if let Some(turn) = self.failed_turns.get_mut(session_id) {
                turn.timer = Some(timer);
            }
        }
        true
    }

    /// OpenCode gave no sign it closed the failed turn: its end is taken now.
    pub(crate) fn failed_turn_timed_out(&mut self, now_ms: u64, session_id: &str) {
        if self.failed_turns.remove(session_id).is_some() {
            self.idle_edge(now_ms, session_id);
        }
    }

    /// Drops what is known of the session's failed turn: another turn began,
    /// or the session was deleted.
    pub(crate) fn forget_failed_turn(&mut self, session_id: &str) {
        if let Some(FailedTurn {
            timer: Some(timer), ..
        }) = self.failed_turns.remove(session_id)
        {
            self.forget_request(timer);
        }
    }
}
