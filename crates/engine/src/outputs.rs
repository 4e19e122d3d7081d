//! The engine's outbox: the actions [`crate::RelayEngine::poll_action`] hands
//! out, in order, and what the last pending list given to the journal held.
//! A [`Notice`] goes out as an [`Action::Notice`] (unless the host turned
//! notices off), followed at once by the toasts, log lines and tool result
//! `render.rs` makes from it (a relay's start is worded from its fields,
//! without the notice, when notices are off). A call
//! answered before it was done (a branch waiting for its place) gets no
//! second result: what would have been one is dropped, the log line made
//! with it stays.

use crate::action::{Action, Request};
use crate::ids::{ActionId, RelayId, ToolCallId};
use crate::mode::Mode;
use crate::notice::Notice;
use crate::render::{self, Said};
use std::collections::{HashSet, VecDeque};

#[derive(Debug)]
pub(crate) struct Outputs {
    actions: VecDeque<Action>,
    /// Whether notices go out as actions, or only the words made from them.
    notices: bool,
    /// Relays of the last pending list `poll_journal` returned.
    journaled: Vec<RelayId>,
    /// Calls whose result is given already, while they go on.
    answered: HashSet<ToolCallId>,
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs {
            actions: VecDeque::new(),
            notices: true,
            journaled: Vec::new(),
            answered: HashSet::new(),
        }
    }
}

impl Outputs {
    /// Off: notices are still made and worded, but not handed out.
    pub fn notices_wanted(&mut self, wanted: bool) {
        self.notices = wanted;
    }

    /// Says what happened: the notice, then the words made from it.
    pub fn notice(&mut self, notice: Notice) {
        let said = render::said(&notice);
        if self.notices {
            self.actions.push_back(Action::Notice {
                notice: Box::new(notice),
            });
        }
        for said in said {
            self.say(said);
        }
    }

    /// Queues what is said as the action that says it; a second result for
    /// a call answered early is dropped.
    fn say(&mut self, said: Said) {
        if let Said::Reply { call, .. } = &said {
            if self.answered.remove(call) {
                return;
            }
        }
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

    /// A relay starts (its prompt, or a compact relay's summary, goes out):
    /// [`Notice::RelayStarted`]. The words come from the same fields either
    /// way; the notice itself is built only for a host that listens, since
    /// this runs between a turn's end and its prompt on every hand-off.
    pub fn relay_started(
        &mut self,
        relay: RelayId,
        session_id: &str,
        caller_agent: &str,
        agent: &str,
        mode: Mode,
    ) {
        if self.notices {
            self.notice(Notice::RelayStarted {
                relay,
                session_id: session_id.to_owned(),
                caller_agent: caller_agent.to_owned(),
                agent: agent.to_owned(),
                mode,
            });
        } else {
            render::relay_started(relay, session_id, mode, agent, |said| self.say(said));
        }
    }

    /// The call's result went out while it goes on: the next one made for it is dropped.
    pub fn answered_early(&mut self, call: ToolCallId) {
        self.answered.insert(call);
    }

    /// Queues a request; only `requests.rs`, which waits for its outcome, sends them.
    pub fn request(&mut self, action: Action) {
        self.actions.push_back(action);
    }

    pub fn pop(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The request sent as `id`, while it is still waiting to be handed out.
    pub fn queued_request(&self, id: ActionId) -> Option<&Request> {
        self.actions.iter().find_map(|action| match action {
            Action::Request {
                id: queued,
                request,
                ..
            } if *queued == id => Some(request),
            Action::Request { .. }
            | Action::ReplyToTool { .. }
            | Action::Toast { .. }
            | Action::Log { .. }
            | Action::Notice { .. } => None,
        })
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
