//! Delivering queued relays: one at a time per session, each on a busy→idle
//! edge, so the calling agent finishes its turn before the next agent speaks.

use crate::action::{LogLevel, Request, ToastVariant};
use crate::engine::RelayEngine;
use crate::ids::{ActionId, RelayId};
use crate::mode::Mode;
use crate::outcome::{FailureCause, Outcome};
use crate::relay::{ActiveRelay, Relay, SessionRelays, Stage};
use crate::tool_call::ToolCall;
use crate::wording::{self, Certainty};

/// Why a compaction is given up when its turn ended without a summary.
const NO_SUMMARY: &str = "the session was not compacted: OpenCode reported no session.compacted, so the summary was interrupted or failed";

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
            turn: 0,
        };
        let session = self.sessions.entry(call.session_id.clone()).or_default();
        // The tool runs inside a turn, so the session is busy whatever the
        // events said last; the end of this turn is the edge that delivers.
        if !session.busy {
            session.turn += 1;
        }
        session.busy = true;
        let relay = Relay {
            turn: session.turn,
            ..relay
        };
        let backlog = session.queue.len();
        session.queue.push_back(relay);
        (id, backlog)
    }

    /// A step of the session's turn finished; `stopped` when the turn cannot
    /// go on from it (tools not yet answered, or the step was interrupted).
    pub(crate) fn step_finished(&mut self, session_id: &str, stopped: bool) {
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.stopped_midway = stopped;
        }
    }

    /// Starts the session's front relay now, outside any turn's end: for a
    /// relay queued while the session was idle.
    pub(crate) fn deliver_when_idle(&mut self, now_ms: u64, session_id: &str) {
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.busy = false;
        }
        self.start_next_relay(now_ms, session_id);
    }

    pub(crate) fn session_busy(&mut self, session_id: &str) {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        if !session.busy {
            session.turn += 1;
            session.stopped_midway = false;
        }
        session.busy = true;
        if let Some(ActiveRelay {
            stage:
                Stage::Summarizing {
                    request,
                    provider_id,
                    model_id,
                    ..
                },
            ..
        }) = &session.active
        {
            let (request, provider_id, model_id) =
                (*request, provider_id.clone(), model_id.clone());
            if self.is_backing_off(request) {
                // The summary never reached OpenCode, and it takes the session
                // over: it waits for the end of the turn that started meanwhile.
                self.forget_request(request);
                let stage = Stage::ReadyToSummarize {
                    provider_id,
                    model_id,
                };
                self.set_stage(session_id, stage);
            }
            return;
        }
        let Some(session) = self.sessions.get(session_id) else {
            return;
        };
        let pending = match &session.active {
            Some(ActiveRelay {
                stage:
                    Stage::Answering {
                        pending: Some(id), ..
                    },
                ..
            }) => *id,
            _ => return,
        };
        if self.is_backing_off(pending) {
            // The prompt never reached OpenCode, so this turn is somebody
            // else's: the relay goes out again on its end.
            self.forget_request(pending);
            if let Some(session) = self.sessions.get_mut(session_id) {
                if let Some(active) = session.active.take() {
                    session.queue.push_front(active.relay);
                }
            }
            return;
        }
        // The answer started, so the prompt was accepted: stop waiting for it.
        if let Some(ActiveRelay {
            stage: Stage::Answering { pending, .. },
            ..
        }) = self
            .sessions
            .get_mut(session_id)
            .and_then(|s| s.active.as_mut())
        {
            *pending = None;
        }
        self.forget_request(pending);
    }

    pub(crate) fn session_idle(&mut self, now_ms: u64, session_id: &str) {
        self.turn_ended_for_calls(session_id);
        self.close_branch_groups(now_ms, session_id);
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        if !session.busy {
            // A repeated idle (OpenCode sends `session.status` idle and
            // `session.idle` for the same edge): nothing new happened.
            return;
        }
        if std::mem::take(&mut session.stopped_midway) {
            // Interrupted without a `session.error` (OpenCode sends none when
            // the stop falls between or early in steps): the interrupt still wins.
            self.session_interrupted(now_ms, session_id);
        }
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        session.busy = false;
        match session.active.as_mut().map(|active| &mut active.stage) {
            Some(Stage::Answering { .. }) => self.relay_delivered(now_ms, session_id),
            Some(Stage::Summarizing { turn_ended, .. }) => *turn_ended = true,
            Some(Stage::Settling {
                compacted: true, ..
            }) => self.send_after_compaction(now_ms, session_id),
            Some(Stage::Settling {
                compacted: false, ..
            }) => self.compaction_failed(now_ms, session_id),
            Some(Stage::ReadyToSummarize { .. }) => self.summarize(now_ms, session_id),
            Some(Stage::ReadingModel { .. }) | None => {}
        }
        self.start_next_relay(now_ms, session_id);
    }

    pub(crate) fn session_compacted(&mut self, now_ms: u64, session_id: &str) {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        let idle = !session.busy;
        match session.active.as_mut().map(|active| &mut active.stage) {
            Some(Stage::Summarizing { compacted, .. }) => *compacted = true,
            Some(Stage::Settling { compacted, .. }) => {
                *compacted = true;
                if idle {
                    self.send_after_compaction(now_ms, session_id);
                }
            }
            _ => {}
        }
    }

    /// A `session.error`: a prompt that OpenCode accepted but refused to run
    /// (an agent removed since the call, say) never starts a turn. Only an
    /// accepted prompt counts: OpenCode may send such an error twice, and the
    /// second must not fail the next relay, whose prompt is still in flight.
    pub(crate) fn session_error(&mut self, now_ms: u64, session_id: &str, error: &str) {
        if let Some(session) = self.sessions.get_mut(session_id) {
            // The turn ended in an error (the model failed after a step that
            // called tools, say), not because a person stopped it: the
            // hand-offs it queued stand and go out when it ends.
            session.stopped_midway = false;
            // An error while summarizing is why the compaction will not
            // finish: keep it for the report.
            if matches!(
                session.active.as_ref().map(|a| &a.stage),
                Some(Stage::Summarizing { .. } | Stage::Settling { .. })
            ) {
                session.compaction_error = Some(error.to_owned());
            }
        }
        let waiting_to_start = matches!(
            self.sessions
                .get(session_id)
                .and_then(|s| s.active.as_ref()),
            Some(ActiveRelay {
                stage: Stage::Answering {
                    pending: Some(_),
                    accepted: true
                },
                ..
            })
        );
        if waiting_to_start {
            let reason = format!("OpenCode did not start the answer: {error}");
            self.fail_active(now_ms, session_id, &reason, Certainty::Definite);
        }
    }

    /// A person interrupted the session's turn (`MessageAbortedError`): every
    /// hand-off still waiting there is cancelled, so nothing the person did not
    /// ask for happens after the interrupt. A relay whose prompt was already
    /// sent has arrived and is left alone; branches already opening are
    /// sessions of their own and run on.
    pub(crate) fn session_interrupted(&mut self, now_ms: u64, session_id: &str) {
        let mut lines = self.interrupt_calls(session_id);
        let mut cancelled = Vec::new();
        let mut stop_waiting = None;
        if let Some(session) = self.sessions.get_mut(session_id) {
            // A compact relay still before its prompt is cancelled with the rest.
            if let Some(active) = session
                .active
                .take_if(|a| !matches!(a.stage, Stage::Answering { .. }))
            {
                stop_waiting = active.stage.waits_for();
                cancelled.push(active.relay);
            }
            // Only what the interrupted turn queued; earlier turns' hand-offs wait on.
            let turn = session.turn;
            let (now, later): (Vec<Relay>, Vec<Relay>) =
                session.queue.drain(..).partition(|r| r.turn == turn);
            session.queue.extend(later);
            cancelled.extend(now);
        }
        if let Some(waiting) = stop_waiting {
            self.forget_request(waiting);
        }
        for relay in &cancelled {
            lines.push(wording::cancelled_line(
                &relay.id.to_string(),
                &relay.agent,
                &relay.text,
            ));
        }
        if lines.is_empty() {
            return;
        }
        let title = wording::interrupted_title(lines.len());
        let message = lines.join("\n");
        self.log(
            LogLevel::Info,
            format!("{title} in {session_id}: {message}"),
        );
        self.toast(ToastVariant::Warning, title, message);
        self.start_next_relay(now_ms, session_id);
    }

    pub(crate) fn session_deleted(&mut self, session_id: &str) {
        self.session_gone_for_calls(session_id);
        self.hops.remove(session_id);
        self.forget_branch_groups(session_id);
        let Some(session) = self.sessions.remove(session_id) else {
            return;
        };
        let SessionRelays { queue, active, .. } = session;
        if let Some(ActiveRelay { relay, stage }) = active {
            if let Some(waiting) = stage.waits_for() {
                self.forget_request(waiting);
            }
            if matches!(stage, Stage::Answering { pending: None, .. }) {
                // Its answer had started: the text arrived before the session went.
                self.log(
                    LogLevel::Info,
                    format!(
                        "{} delivered in {session_id}: {} was answering when the session was deleted",
                        relay.id, relay.agent
                    ),
                );
            } else {
                self.report_failed(&relay, "the session was deleted", Certainty::Definite);
            }
        }
        for relay in queue {
            self.report_failed(&relay, "the session was deleted", Certainty::Definite);
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
        let idle = !session.busy;
        let Some(active) = session.active.as_mut() else {
            return;
        };
        if active.stage.waits_for() != Some(id) {
            return;
        }
        let doing = active.stage.describe();
        match (&mut active.stage, outcome) {
            (
                Stage::ReadingModel { .. },
                Outcome::Model {
                    provider_id,
                    model_id,
                },
            ) => {
                self.set_stage(
                    session_id,
                    Stage::ReadyToSummarize {
                        provider_id,
                        model_id,
                    },
                );
                // Summarizing takes the session over: not while a turn runs.
                if idle {
                    self.summarize(now_ms, session_id);
                }
            }
            (
                Stage::Summarizing {
                    compacted,
                    turn_ended,
                    ..
                },
                Outcome::Done,
            ) => match (*compacted, *turn_ended && idle) {
                (true, _) if idle => self.send_after_compaction(now_ms, session_id),
                (false, true) => self.compaction_failed(now_ms, session_id),
                (compacted, _) => {
                    let timer = self.arm_relay_timer(
                        now_ms,
                        session_id,
                        "waiting for OpenCode to finish the compaction",
                    );
                    self.set_stage(session_id, Stage::Settling { timer, compacted });
                }
            },
            (Stage::Answering { .. }, Outcome::Done) => {
                let timer =
                    self.arm_relay_timer(now_ms, session_id, "waiting for the answer to start");
                self.set_stage(
                    session_id,
                    Stage::Answering {
                        pending: Some(timer),
                        accepted: true,
                    },
                );
            }
            (stage, Outcome::Failed { message, cause }) => {
                // A server error may hide a prompt that was taken after all.
                let certainty = if cause == FailureCause::Unavailable && stage.sent_prompt() {
                    Certainty::Uncertain
                } else {
                    Certainty::Definite
                };
                let reason = format!("{doing} failed: {message}");
                self.fail_active(now_ms, session_id, &reason, certainty);
            }
            (stage, Outcome::TimedOut { message }) => {
                // Before its prompt, a relay's text certainly did not go out.
                let certainty = if stage.sent_prompt() {
                    Certainty::Uncertain
                } else {
                    Certainty::Definite
                };
                self.fail_active(now_ms, session_id, &message, certainty);
            }
            (_, outcome) => {
                let reason = format!("internal error: unexpected answer {outcome:?} while {doing}");
                self.fail_active(now_ms, session_id, &reason, Certainty::Definite);
            }
        }
    }

    /// Sends the summarize request of a compact relay that has its model.
    fn summarize(&mut self, now_ms: u64, session_id: &str) {
        let Some(Stage::ReadyToSummarize {
            provider_id,
            model_id,
        }) = self
            .sessions
            .get(session_id)
            .and_then(|s| s.active.as_ref())
            .map(|a| a.stage.clone())
        else {
            return;
        };
        let request = Request::Summarize {
            session_id: session_id.to_owned(),
            provider_id: provider_id.clone(),
            model_id: model_id.clone(),
        };
        let request = self.issue_for_relay(now_ms, session_id, request);
        self.set_stage(
            session_id,
            Stage::Summarizing {
                request,
                provider_id,
                model_id,
                compacted: false,
                turn_ended: false,
            },
        );
    }

    /// The compaction's turn ended without `session.compacted`.
    fn compaction_failed(&mut self, now_ms: u64, session_id: &str) {
        let error = self
            .sessions
            .get_mut(session_id)
            .and_then(|s| s.compaction_error.take());
        let reason = match error {
            Some(error) => format!("{NO_SUMMARY}; OpenCode reported: {error}"),
            None => NO_SUMMARY.to_owned(),
        };
        self.fail_active(now_ms, session_id, &reason, Certainty::Definite);
    }

    fn set_stage(&mut self, session_id: &str, stage: Stage) {
        if let Some(active) = self
            .sessions
            .get_mut(session_id)
            .and_then(|s| s.active.as_mut())
        {
            active.stage = stage;
        }
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
        session.compaction_error = None;
        let Some(relay) = session.queue.pop_front() else {
            self.sessions.remove(session_id);
            return;
        };
        self.launch(now_ms, session_id, relay);
    }

    /// Sends the relay's first request and makes it the active one.
    fn launch(&mut self, now_ms: u64, session_id: &str, relay: Relay) {
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
                    pending: Some(request),
                    accepted: false,
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

    /// Sends the compact relay's text, after a note that records the hand-off.
    fn send_after_compaction(&mut self, now_ms: u64, session_id: &str) {
        let Some(active) = self
            .sessions
            .get(session_id)
            .and_then(|s| s.active.as_ref())
        else {
            return;
        };
        let (relay, waiting) = (active.relay.clone(), active.stage.waits_for());
        if let Some(waiting) = waiting {
            self.forget_request(waiting);
        }
        let note = wording::compaction_note(&relay.caller_agent, &relay.agent);
        let request = self.prompt(now_ms, session_id, &relay, vec![note, relay.text.clone()]);
        self.set_stage(
            session_id,
            Stage::Answering {
                pending: Some(request),
                accepted: false,
            },
        );
    }

    fn relay_delivered(&mut self, now_ms: u64, session_id: &str) {
        let Some(active) = self.take_active(session_id) else {
            return;
        };
        if let Some(waiting) = active.stage.waits_for() {
            self.forget_request(waiting);
        }
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

    fn fail_active(&mut self, now_ms: u64, session_id: &str, reason: &str, certainty: Certainty) {
        let Some(active) = self.take_active(session_id) else {
            return;
        };
        if let Some(waiting) = active.stage.waits_for() {
            self.forget_request(waiting);
        }
        self.report_failed(&active.relay, reason, certainty);
        self.start_next_relay(now_ms, session_id);
    }

    fn report_failed(&mut self, relay: &Relay, reason: &str, certainty: Certainty) {
        let message = wording::relay_failed(relay.id, reason, &relay.text, certainty);
        self.log(LogLevel::Error, message.clone());
        self.toast(
            ToastVariant::Error,
            wording::relay_failed_title(&relay.agent),
            message,
        );
    }
}
