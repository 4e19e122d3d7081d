//! A queued hand-off to an agent in the same session, and where it stands.

use crate::ids::{ActionId, RelayId};
use crate::mode::Mode;
use std::collections::VecDeque;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Relay {
    pub id: RelayId,
    /// [`Mode::Message`] or [`Mode::Compact`]: the modes that wait for the turn to end.
    pub mode: Mode,
    pub caller_agent: String,
    pub agent: String,
    pub text: String,
    pub queued_at_ms: u64,
}

/// What the session's front relay is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Compact: looking up the model the session runs on.
    ReadingModel { request: ActionId },
    /// Compact: the summary is being written. The answer is sent once the
    /// request returned (`request` is `None`), OpenCode said
    /// `session.compacted`, and the session is idle again.
    Summarizing {
        request: Option<ActionId>,
        compacted: bool,
    },
    /// The prompt was sent (`request` is `None` once OpenCode accepted it);
    /// the next busy→idle edge is the end of the answer.
    Answering { request: Option<ActionId> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActiveRelay {
    pub relay: Relay,
    pub stage: Stage,
}

/// Relays of one session, delivered one at a time in the order they were queued.
#[derive(Debug, Default)]
pub(crate) struct SessionRelays {
    /// Last status OpenCode reported. A relay starts only on a busy→idle edge,
    /// so a repeated idle event never starts anything twice.
    pub busy: bool,
    pub queue: VecDeque<Relay>,
    pub active: Option<ActiveRelay>,
}

impl SessionRelays {
    /// Relays not yet delivered or reported, the one in progress included.
    pub fn pending(&self) -> usize {
        self.queue.len() + usize::from(self.active.is_some())
    }
}
