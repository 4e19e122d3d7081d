//! A queued hand-off to an agent in the same session, and the stages it goes
//! through once it is the session's front relay. `relays.rs` owns them.

use crate::ids::{ActionId, RelayId};
use crate::mode::Mode;
use crate::notice::Activity;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Relay {
    pub id: RelayId,
    /// [`Mode::Message`] or [`Mode::Compact`]: the modes that wait for the turn to end.
    pub mode: Mode,
    pub caller_agent: String,
    pub agent: String,
    pub text: String,
    pub queued_at_ms: u64,
    /// The session's turn that queued it; an interrupt of that turn cancels it.
    pub turn: u64,
}

/// What the session's front relay is waiting for. Every stage but
/// [`Stage::ReadyToSummarize`] holds the id of a request or timer, so it
/// cannot wait forever; that one waits for the end of the session's turn,
/// which no time limit can hurry (the turn is a person's or an agent's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Compact: looking up the model the session runs on.
    ReadingModel { request: ActionId },
    /// Compact: the model is known; summarizing waits for the session's
    /// turn to end, since it takes the session over.
    ReadyToSummarize {
        provider_id: String,
        model_id: String,
    },
    /// Compact: the summarize request is running. `compacted` records
    /// `session.compacted`, `turn_ended` a busy→idle edge meanwhile.
    Summarizing {
        request: ActionId,
        /// The model, to summarize again if the request must wait for a turn.
        provider_id: String,
        model_id: String,
        compacted: bool,
        turn_ended: bool,
    },
    /// Compact: summarize returned; waiting for `session.compacted` and the
    /// idle edge that follows it, bounded by `timer`.
    Settling { timer: ActionId, compacted: bool },
    /// The prompt was sent. `pending` is the prompt request, then (once
    /// OpenCode `accepted` it) a timer for the answer to start; `None` once
    /// the session went busy. The next busy→idle edge ends the answer.
    Answering {
        pending: Option<ActionId>,
        accepted: bool,
    },
}

impl Stage {
    /// The request or timer whose outcome this stage waits for.
    pub fn waits_for(&self) -> Option<ActionId> {
        match *self {
            Stage::ReadingModel { request } | Stage::Summarizing { request, .. } => Some(request),
            Stage::Settling { timer, .. } => Some(timer),
            Stage::Answering { pending, .. } => pending,
            Stage::ReadyToSummarize { .. } => None,
        }
    }

    /// Whether the relay's prompt went out: before that, its text was
    /// certainly not delivered.
    pub fn sent_prompt(&self) -> bool {
        match self {
            Stage::Answering { .. } => true,
            Stage::ReadingModel { .. }
            | Stage::ReadyToSummarize { .. }
            | Stage::Summarizing { .. }
            | Stage::Settling { .. } => false,
        }
    }

    /// What the relay is doing, for failure reports.
    pub fn activity(&self) -> Activity {
        match self {
            Stage::ReadingModel { .. } => Activity::ReadingModel,
            Stage::ReadyToSummarize { .. } => Activity::WaitingForTurnToEnd,
            Stage::Summarizing { .. } => Activity::Summarizing,
            Stage::Settling { .. } => Activity::WaitingForCompaction,
            Stage::Answering { .. } => Activity::SendingPrompt,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActiveRelay {
    pub relay: Relay,
    pub stage: Stage,
}
