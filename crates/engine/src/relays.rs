//! Delivering queued relays: one at a time per session, each on a busy→idle
//! edge, so the calling agent finishes its turn before the next agent speaks.

use crate::action::{LogLevel, Request, ToastVariant};
use crate::engine::RelayEngine;
use crate::ids::{ActionId, RelayId};
use crate::mode::Mode;
use crate::outcome::Outcome;
use crate::relay::{ActiveRelay, Relay, SessionRelays, Stage};
use crate::tool_call::ToolCall;
use crate::wording;

impl RelayEngine {
    /// Queues a relay for the end of the calling turn. Returns its id and how
    /// many queued relays go before it. A relay in progress does not count:
    /// the only turn that can call the tool meanwhile is that relay's answer.
    pub(crate) fn enqueue_relay(&mut self, now_ms: u64, call: &ToolCall) -> (RelayId, usize) {
        let id = self.allocate_relay_id();
        let relay = Relay {
            id,
            mode: call.mode,
            caller_agent: call.caller_agent.clone(),
            agent: call.target_agent().to_owned(),
            text: call.text.clone(),
            queued_at_ms: now_ms,
        };
        let session = self.sessions.entry(call.session_id.clone()).or_default();
        // The tool runs inside a turn, so the session is busy whatever the
        // events said last; the end of this turn is the edge that delivers.
        session.busy = true;
        let backlog = session.queue.len();
        session.queue.push_back(relay);
        (id, backlog)
    }

    pub(crate) fn session_busy(&mut self, session_id: &str) {
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.busy = true;
        }
    }

    pub(crate) fn session_idle(&mut self, now_ms: u64, session_id: &str) {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        if !session.busy {
            // A repeated idle (OpenCode sends `session.status` idle and
            // `session.idle` for the same edge): nothing new happened.
            return;
        }
        session.busy = false;
        match session.active.as_ref().map(|active| &active.stage) {
            Some(Stage::Answering { request }) => {
                if let Some(request) = *request {
                    // The answer already ran, so the prompt was accepted.
                    self.forget_request(request);
                }
                self.relay_delivered(now_ms, session_id);
            }
            Some(Stage::Summarizing { .. }) => self.finish_compaction_if_ready(now_ms, session_id),
            Some(Stage::ReadingModel { .. }) | None => {}
        }
        self.start_next_relay(now_ms, session_id);
    }

    pub(crate) fn session_compacted(&mut self, now_ms: u64, session_id: &str) {
        let Some(active) = self.active_mut(session_id) else {
            return;
        };
        if let Stage::Summarizing { compacted, .. } = &mut active.stage {
            *compacted = true;
            self.finish_compaction_if_ready(now_ms, session_id);
        }
    }

    pub(crate) fn session_deleted(&mut self, session_id: &str) {
        let Some(session) = self.sessions.remove(session_id) else {
            return;
        };
        let SessionRelays { queue, active, .. } = session;
        if let Some(ActiveRelay { relay, stage }) = active {
            if let Some(request) = stage_request(&stage) {
                self.forget_request(request);
            }
            self.report_failed(&relay, "the session was deleted");
        }
        for relay in queue {
            self.report_failed(&relay, "the session was deleted");
        }
    }

    pub(crate) fn relay_outcome(
        &mut self,
        now_ms: u64,
        session_id: &str,
        id: ActionId,
        outcome: Outcome,
    ) {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        let Some(active) = session.active.as_mut() else {
            return;
        };
        if stage_request(&active.stage) != Some(id) {
            return;
        }
        match (&mut active.stage, outcome) {
            (
                Stage::ReadingModel { .. },
                Outcome::Model {
                    provider_id,
                    model_id,
                },
            ) => {
                let request = Request::Summarize {
                    session_id: session_id.to_owned(),
                    provider_id,
                    model_id,
                };
                let summarize = self.issue_for_relay(now_ms, session_id, request);
                if let Some(active) = self.active_mut(session_id) {
                    active.stage = Stage::Summarizing {
                        request: Some(summarize),
                        compacted: false,
                    };
                }
            }
            (Stage::Summarizing { request, .. }, Outcome::Done) => {
                *request = None;
                self.finish_compaction_if_ready(now_ms, session_id);
            }
            (Stage::Answering { request }, Outcome::Done) => {
                // Accepted; the busy→idle edge of its answer completes it.
                *request = None;
            }
            (stage, Outcome::Failed { message }) => {
                let what = match stage {
                    Stage::ReadingModel { .. } => "reading the session's model",
                    Stage::Summarizing { .. } => "summarizing the session",
                    Stage::Answering { .. } => "sending the prompt",
                };
                self.fail_active(now_ms, session_id, &format!("{what} failed: {message}"));
            }
            (_, outcome) => {
                let reason = format!("internal error: unexpected answer {outcome:?}");
                self.fail_active(now_ms, session_id, &reason);
            }
        }
    }

    fn active_mut(&mut self, session_id: &str) -> Option<&mut ActiveRelay> {
        self.sessions.get_mut(session_id)?.active.as_mut()
    }

    fn take_active(&mut self, session_id: &str) -> Option<ActiveRelay> {
        self.sessions.get_mut(session_id)?.active.take()
    }

    /// Starts the front relay if the session is idle and nothing is in progress;
    /// forgets the session once it has nothing left.
    fn start_next_relay(&mut self, now_ms: u64, session_id: &str) {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        if session.busy || session.active.is_some() {
            return;
        }
        let Some(relay) = session.queue.pop_front() else {
            self.sessions.remove(session_id);
            return;
        };
        let stage = match relay.mode {
            Mode::Compact => {
                let request = Request::LastUserModel {
                    session_id: session_id.to_owned(),
                };
                let request = self.issue_for_relay(now_ms, session_id, request);
                self.toast(
                    ToastVariant::Info,
                    "Compacting session".to_owned(),
                    format!("{} will answer once the summary is written.", relay.agent),
                );
                Stage::ReadingModel { request }
            }
            _ => {
                let request = self.prompt(now_ms, session_id, &relay, vec![relay.text.clone()]);
                Stage::Answering {
                    request: Some(request),
                }
            }
        };
        self.log(
            LogLevel::Info,
            format!(
                "{} starting in {session_id}: {} → {}",
                relay.id, relay.mode, relay.agent
            ),
        );
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.active = Some(ActiveRelay { relay, stage });
        }
    }

    fn prompt(
        &mut self,
        now_ms: u64,
        session_id: &str,
        relay: &Relay,
        parts: Vec<String>,
    ) -> ActionId {
        let request = Request::Prompt {
            session_id: session_id.to_owned(),
            agent: relay.agent.clone(),
            parts,
        };
        self.issue_for_relay(now_ms, session_id, request)
    }

    /// Sends the compact relay's text once the summary is written, OpenCode
    /// said so, and the session went idle again.
    fn finish_compaction_if_ready(&mut self, now_ms: u64, session_id: &str) {
        let Some(session) = self.sessions.get(session_id) else {
            return;
        };
        let Some(active) = session.active.as_ref() else {
            return;
        };
        let ready = matches!(
            active.stage,
            Stage::Summarizing {
                request: None,
                compacted: true
            }
        ) && !session.busy;
        if !ready {
            return;
        }
        let relay = active.relay.clone();
        let note = wording::compaction_note(&relay.caller_agent, &relay.agent);
        let request = self.prompt(now_ms, session_id, &relay, vec![note, relay.text.clone()]);
        if let Some(active) = self.active_mut(session_id) {
            active.stage = Stage::Answering {
                request: Some(request),
            };
        }
    }

    fn relay_delivered(&mut self, now_ms: u64, session_id: &str) {
        let Some(active) = self.take_active(session_id) else {
            return;
        };
        let relay = active.relay;
        self.log(
            LogLevel::Info,
            format!(
                "{} delivered in {session_id}: {} answered ({} ms after it was queued)",
                relay.id,
                relay.agent,
                now_ms.saturating_sub(relay.queued_at_ms)
            ),
        );
    }

    fn fail_active(&mut self, now_ms: u64, session_id: &str, reason: &str) {
        let Some(active) = self.take_active(session_id) else {
            return;
        };
        if let Some(request) = stage_request(&active.stage) {
            self.forget_request(request);
        }
        self.report_failed(&active.relay, reason);
        self.start_next_relay(now_ms, session_id);
    }

    fn report_failed(&mut self, relay: &Relay, reason: &str) {
        let message = wording::relay_failed(relay.id, reason, &relay.text);
        self.log(LogLevel::Error, message.clone());
        self.toast(
            ToastVariant::Error,
            wording::relay_failed_title(&relay.agent),
            message,
        );
    }
}

fn stage_request(stage: &Stage) -> Option<ActionId> {
    match *stage {
        Stage::ReadingModel { request } => Some(request),
        Stage::Summarizing { request, .. } | Stage::Answering { request } => request,
    }
}
