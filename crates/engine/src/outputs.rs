//! The engine's outbox: the actions [`crate::RelayEngine::poll_action`] hands
//! out, in order, and what the last pending list given to the journal held.
//! A [`Notice`] goes out as an [`Action::Notice`], followed at once by the
//! toasts, log lines and tool result `render.rs` makes from it.

use crate::action::Action;
use crate::ids::RelayId;
use crate::notice::Notice;
use crate::render::{self, Said};
use std::collections::VecDeque;

#[derive(Debug, Default)]
pub(crate) struct Outputs {
    actions: VecDeque<Action>,
    /// Relays of the last pending list `poll_journal` returned.
    journaled: Vec<RelayId>,
}

impl Outputs {
    /// Says what happened: the notice, then the words made from it.
    pub fn notice(&mut self, notice: Notice) {
        let said = render::said(&notice);
        self.actions.push_back(Action::Notice { notice });
        for said in said {
            self.actions.push_back(match said {
                Said::Toast {
                    variant,
                    title,
                    message,
                } => Action::Toast {
                    variant,
                    title,
                    message,
                },
                Said::Log { level, message } => Action::Log { level, message },
                Said::Reply { call, ok, text } => Action::ReplyToTool { call, ok, text },
            });
        }
    }

    /// Queues a request; only `requests.rs`, which waits for its outcome, sends them.
    pub fn request(&mut self, action: Action) {
        self.actions.push_back(action);
    }

    pub fn pop(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Records `relays` as the pending list the host keeps; `false` when it
    /// is the list recorded last, so the host need not be told again.
    pub fn journal(&mut self, relays: impl Iterator<Item = RelayId> + Clone) -> bool {
        if relays.clone().eq(self.journaled.iter().copied()) {
            return false;
        }
        self.journaled = relays.collect();
        true
    }
}
