//! Hand-offs outlive the process that queued them only on disk. The engine
//! says what is pending whenever that changes ([`RelayEngine::poll_journal`]);
//! the host keeps the latest list in a file. When OpenCode starts again, the
//! host hands the list a stopped process left behind to
//! [`RelayEngine::handle_restored`], which tells each session what was not
//! delivered. Relays are not sent again: a stop ends the turn that queued
//! them, as an interrupt does, and an interrupt cancels what its turn queued.

use crate::action::{LogLevel, Request, ToastVariant};
use crate::engine::RelayEngine;
use crate::error::InputError;
use crate::ids::RelayId;
use crate::relay::{Relay, Stage};
use crate::wording;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A hand-off not yet delivered, as the host keeps it on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingHandOff {
    pub session_id: String,
    /// The number the tool's result gave it ("relay #4").
    pub relay: u64,
    /// `message` or `compact`.
    pub mode: String,
    pub caller_agent: String,
    pub agent: String,
    pub text: String,
}

impl PendingHandOff {
    /// Reads the list the host kept on disk.
    pub fn list_from_json(value: Value) -> Result<Vec<Self>, InputError> {
        serde_json::from_value(value).map_err(|e| InputError::malformed("pending hand-offs", e))
    }
}

impl RelayEngine {
    /// The hand-offs not yet sent, oldest first, when they differ from the
    /// list returned last; `None` when nothing changed. A relay leaves the
    /// list once its prompt went out: its text has arrived (or its failure
    /// is reported).
    pub fn poll_journal(&mut self) -> Option<Vec<PendingHandOff>> {
        let mut pending: Vec<(&str, &Relay)> = self
            .sessions
            .iter()
            .flat_map(|(session_id, session)| {
                session
                    .active
                    .iter()
                    .filter(|active| !self.prompt_reached_opencode(&active.stage))
                    .map(|active| &active.relay)
                    .chain(session.queue.iter())
                    .map(move |relay| (session_id.as_str(), relay))
            })
            .collect();
        pending.sort_unstable_by_key(|(_, relay)| relay.id);
        if pending
            .iter()
            .map(|(_, relay)| relay.id)
            .eq(self.journaled.iter().copied())
        {
            return None;
        }
        let ids = pending.iter().map(|(_, relay)| relay.id).collect();
        let list = pending
            .into_iter()
            .map(|(session_id, relay)| PendingHandOff {
                session_id: session_id.to_owned(),
                relay: relay.id.0,
                mode: relay.mode.as_str().to_owned(),
                caller_agent: relay.caller_agent.clone(),
                agent: relay.agent.clone(),
                text: relay.text.clone(),
            })
            .collect();
        self.journaled = ids;
        Some(list)
    }

    /// Whether the relay's prompt may have reached OpenCode: sent, and not
    /// waiting to be tried again after it could not reach it.
    fn prompt_reached_opencode(&self, stage: &Stage) -> bool {
        match stage {
            Stage::Answering {
                pending: Some(id),
                accepted: false,
            } => !self.is_backing_off(*id),
            stage => stage.sent_prompt(),
        }
    }

    /// Hand-offs an earlier OpenCode process left pending when it stopped:
    /// each session gets a note saying what was not delivered (a note starts
    /// no turn), and one toast lists them all.
    pub fn handle_restored(&mut self, now_ms: u64, handoffs: Vec<PendingHandOff>) {
        if handoffs.is_empty() {
            return;
        }
        let mut lines = Vec::with_capacity(handoffs.len());
        for handoff in &handoffs {
            let relay = RelayId(handoff.relay);
            lines.push(wording::cancelled_line(
                &relay.to_string(),
                &handoff.agent,
                &handoff.text,
            ));
            let request = Request::Note {
                session_id: handoff.session_id.clone(),
                agent: handoff.caller_agent.clone(),
                text: wording::lost_at_stop(relay, &handoff.mode, &handoff.agent, &handoff.text),
            };
            self.issue_notice(
                now_ms,
                request,
                "telling the session about a hand-off lost when OpenCode stopped",
                "Hand-off lost at restart",
            );
        }
        let title = wording::lost_at_stop_title(handoffs.len());
        let message = lines.join("\n");
        self.log(LogLevel::Warn, format!("{title}: {message}"));
        self.toast(ToastVariant::Warning, title, message);
    }
}
