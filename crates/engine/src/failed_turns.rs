//! A turn that ends in a model error is closed by OpenCode in two steps: it
//! reports idle, then records the failed step, then reports idle again. A
//! prompt or summary sent at the first idle is recorded but never run. So the
//! engine holds that first idle back until the failed step is recorded (and
//! takes the idle after it as the turn's end), or for [`CLOSING_MS`] when
//! OpenCode gives no such sign.

use crate::fast_hash::HashMap;
use crate::ids::ActionId;
use crate::notice::Activity;
use crate::requests::{Owner, Requests};

/// How long an idle after a failed turn is held when the failed step is never
/// reported.
pub(crate) const CLOSING_MS: u64 = 3_000;

/// Sessions whose turn failed and that OpenCode has not closed yet.
#[derive(Debug, Default)]
pub(crate) struct FailedTurns {
    turns: HashMap<String, FailedTurn>,
}

#[derive(Debug, Default)]
struct FailedTurn {
    /// The failed step was recorded: the next idle ends the turn.
    step_recorded: bool,
    /// Armed by the first idle held back.
    timer: Option<ActionId>,
}

impl FailedTurns {
    /// A `session.error` other than an interrupt: the session's next idle may
    /// come before OpenCode has closed the turn. Only a turn the engine knows
    /// of (`in_a_turn`) is watched; an error outside a turn (a prompt refused
    /// before it started) has no turn to close.
    pub fn turn_failed(&mut self, session_id: &str, in_a_turn: bool) {
        if in_a_turn {
            self.turns.entry(session_id.to_owned()).or_default();
        }
    }

    /// A completed step that ended in an error other than an interrupt.
    pub fn step_recorded(&mut self, session_id: &str) {
        if let Some(turn) = self.turns.get_mut(session_id) {
            turn.step_recorded = true;
        }
    }

    /// Whether an idle event of the session must be held back: true until the
    /// failed turn is closed. Arms the time limit at the first idle held.
    pub fn holds_idle(&mut self, now_ms: u64, session_id: &str, requests: &mut Requests) -> bool {
        let Some(turn) = self.turns.get_mut(session_id) else {
            return false;
        };
        if turn.step_recorded {
            self.forget(session_id, requests);
            return false;
        }
        if turn.timer.is_none() {
            let owner = Owner::FailedTurn {
                session_id: session_id.to_owned(),
            };
            let activity = Activity::WaitingForFailedTurnToClose;
            turn.timer = Some(requests.timer_lasting(now_ms, owner, CLOSING_MS, activity));
        }
        true
    }

    /// OpenCode gave no sign it closed the failed turn: true when its end
    /// must be taken now.
    pub fn timed_out(&mut self, session_id: &str) -> bool {
        self.turns.remove(session_id).is_some()
    }

    /// Drops what is known of the session's failed turn: another turn began,
    /// or the session was deleted.
    pub fn forget(&mut self, session_id: &str, requests: &mut Requests) {
        if let Some(FailedTurn {
            timer: Some(timer), ..
        }) = self.turns.remove(session_id)
        {
            requests.forget(timer);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }
}
