//! Delivering queued relays: one at a time per session, each on a busy→idle
//! edge, so the calling agent finishes its turn before the next agent speaks.
//! [`Relays`] owns every session's queue and the stage of its front relay
//! ([`crate::relay::Stage`]); it sends its requests through
//! [`Requests`] and tells how each relay ended as a [`Notice`].

use crate::action::Request;
use crate::fast_hash::HashMap;
use crate::ids::{ActionId, RelayId};
use crate::mode::Mode;
use crate::notice::{Activity, Cancelled, Certainty, Delivery, Notice, RelayFailure, SessionError};
use crate::outcome::{FailureCause, Outcome};
use crate::outputs::Outputs;
use crate::relay::{ActiveRelay, Relay, Stage};
use crate::render;
use crate::requests::{Answer, Owner, Requests};
use crate::tool_call::ToolCall;
use std::collections::VecDeque;

/// Every session's relays; a session with none is not kept.
#[derive(Debug, Default)]
pub(crate) struct Relays {
    sessions: HashMap<String, SessionRelays>,
    /// Sessions where a branch's opening prompt was sent (`false`) or
    /// accepted (`true`) and its turn has not begun: their relays wait, since
    /// beside a second prompt the session's events could not say whose turn
    /// is whose.
    held: Vec<(String, bool)>,
}

/// Relays of one session, delivered one at a time in the order they were queued.
#[derive(Debug, Default)]
struct SessionRelays {
    /// Last status OpenCode reported. A relay starts only on a busy→idle edge,
    /// so a repeated idle event never starts anything twice.
    busy: bool,
    /// Counts the session's turns (busy edges), so relays know which turn queued them.
    turn: u64,
    queue: VecDeque<Relay>,
    active: Option<ActiveRelay>,
    /// The `session.error` seen while the active relay's compaction ran.
    compaction_error: Option<Box<SessionError>>,
    /// The turn's last finished step called tools or was aborted: a turn
    /// that ends there was interrupted.
    stopped_midway: bool,
    /// The host said the turn is ending while it waits ([`Relays::turn_ending`]):
    /// relays go out within the turn, since no idle edge will come for them.
    ending_turn: bool,
    /// The step whose end was last announced, so that a second text of the
    /// same step does not end the turn twice.
    ending_step: Option<String>,
}

impl SessionRelays {
    /// Relays not yet delivered or reported, the one in progress included.
    fn pending(&self) -> usize {
        self.queue.len() + usize::from(self.active.is_some())
    }
}

fn owner(session_id: &str) -> Owner {
    Owner::Relay {
        session_id: session_id.to_owned(),
    }
}

impl Relays {
    // ---- getters ----

    /// Relays of `session_id` not yet delivered or reported, the one in progress included.
    pub fn pending(&self, session_id: &str) -> usize {
        self.sessions
            .get(session_id)
            .map_or(0, SessionRelays::pending)
    }

    /// Relays not yet delivered or reported, in every session.
    pub fn pending_everywhere(&self) -> usize {
        self.sessions.values().map(SessionRelays::pending).sum()
    }

    /// Sessions that have relays pending.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    pub fn sessions(&self) -> impl Iterator<Item = &str> {
        self.sessions.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty() && self.held.is_empty()
    }

    /// Whether the session runs a turn, as its relays know it.
    pub fn is_busy(&self, session_id: &str) -> bool {
        self.sessions.get(session_id).is_some_and(|s| s.busy)
    }

    /// The relays not yet sent, oldest first, with their sessions: a relay
    /// leaves the list once its prompt may have reached OpenCode.
    pub fn not_yet_sent<'a>(&'a self, requests: &Requests) -> Vec<(&'a str, &'a Relay)> {
        let mut pending: Vec<(&str, &Relay)> = self
            .sessions
            .iter()
            .flat_map(|(session_id, session)| {
                session
                    .active
                    .iter()
                    .filter(|active| !prompt_reached_opencode(&active.stage, requests))
                    .map(|active| &active.relay)
                    .chain(session.queue.iter())
                    .map(move |relay| (session_id.as_str(), relay))
            })
            .collect();
        pending.sort_unstable_by_key(|(_, relay)| relay.id);
        pending
    }

    // ---- inputs ----

    /// Queues a relay for the end of the calling turn. Returns its id and how
    /// many queued relays go before it. A relay in progress does not count:
    /// the only turn that can call the tool meanwhile is that relay's answer.
    pub fn enqueue(
        &mut self,
        now_ms: u64,
        call: &ToolCall,
        requests: &mut Requests,
    ) -> (RelayId, usize) {
        self.queue(now_ms, call, true, requests)
    }

    /// Queues a relay for a session whose turn is not the caller's (a
    /// follow-up to a branch): it goes out at the session's next turn end,
    /// as its events tell it, or when [`Relays::deliver_when_idle`] says.
    pub fn enqueue_elsewhere(
        &mut self,
        now_ms: u64,
        call: &ToolCall,
        requests: &mut Requests,
    ) -> RelayId {
        self.queue(now_ms, call, false, requests).0
    }

    fn queue(
        &mut self,
        now_ms: u64,
        call: &ToolCall,
        in_calling_turn: bool,
        requests: &mut Requests,
    ) -> (RelayId, usize) {
        let id = requests.allocate_relay_id();
        let session = self.sessions.entry(call.session_id.clone()).or_default();
        // The tool runs inside a turn, so the session is busy whatever the
        // events said last; the end of this turn is the edge that delivers.
        if in_calling_turn {
            if !session.busy {
                session.turn += 1;
            }
            session.busy = true;
        }
        let relay = Relay {
            id,
            mode: call.mode,
            caller_agent: call.caller_agent.clone(),
            agent: call.target_agent().to_owned(),
            text: call.text.clone(),
            queued_at_ms: now_ms,
            turn: session.turn,
        };
        let backlog = session.queue.len();
        session.queue.push_back(relay);
        (id, backlog)
    }

    /// A branch's opening prompt goes out in `session_id`: nothing starts
    /// there until [`Relays::release`], or until an accepted prompt's turn
    /// begins or is refused.
    pub fn hold(&mut self, session_id: &str) {
        if !self.held.iter().any(|(held, _)| held == session_id) {
            self.held.push((session_id.to_owned(), false));
        }
    }

    /// The held session's opening prompt was accepted: its busy edge, or a
    /// `session.error` refusing it, lets the session's relays go.
    pub fn prompt_accepted(&mut self, session_id: &str) {
        if let Some((_, accepted)) = self.held.iter_mut().find(|(held, _)| held == session_id) {
            *accepted = true;
        }
    }

    /// The held session's opening prompt failed, or its turn ran already:
    /// what waits there starts unless a turn runs.
    pub fn release(
        &mut self,
        now_ms: u64,
        session_id: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        if self.unhold(session_id, false) {
            self.start_next(now_ms, session_id, requests, out);
        }
    }

    /// Ends the hold on `session_id`; `if_accepted` ends it only once the
    /// prompt was accepted. Whether a hold ended.
    fn unhold(&mut self, session_id: &str, if_accepted: bool) -> bool {
        let before = self.held.len();
        self.held
            .retain(|(held, accepted)| held != session_id || (if_accepted && !accepted));
        self.held.len() != before
    }

    fn is_held(&self, session_id: &str) -> bool {
        !self.held.is_empty() && self.held.iter().any(|(held, _)| held == session_id)
    }

    /// A step of the session's turn finished; `stopped` when the turn cannot
    /// go on from it (tools not yet answered, or the step was interrupted).
    pub fn step_finished(&mut self, session_id: &str, stopped: bool) {
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.stopped_midway = stopped;
        }
    }

    /// Starts the session's front relay now, outside any turn's end: for a
    /// relay queued while the session was idle.
    pub fn deliver_when_idle(
        &mut self,
        now_ms: u64,
        session_id: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.busy = false;
        }
        self.start_next(now_ms, session_id, requests, out);
    }

    pub fn session_busy(&mut self, session_id: &str, requests: &mut Requests) {
        if !self.held.is_empty() {
            self.unhold(session_id, true);
        }
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        if !session.busy {
            session.turn += 1;
            session.stopped_midway = false;
            session.ending_turn = false;
        }
        session.busy = true;
        let Some(active) = session.active.as_mut() else {
            return;
        };
        match &mut active.stage {
            Stage::Summarizing {
                request,
                provider_id,
                model_id,
                ..
            } => {
                if requests.is_backing_off(*request) {
                    // The summary never reached OpenCode, and it takes the session
                    // over: it waits for the end of the turn that started meanwhile.
                    requests.forget(*request);
                    active.stage = Stage::ReadyToSummarize {
                        provider_id: std::mem::take(provider_id),
                        model_id: std::mem::take(model_id),
                    };
                }
            }
            Stage::Answering {
                pending: pending @ Some(_),
                ..
            } => {
                let Some(id) = *pending else {
                    return;
                };
                if requests.is_backing_off(id) {
                    // The prompt never reached OpenCode, so this turn is somebody
                    // else's: the relay goes out again on its end.
                    requests.forget(id);
                    if let Some(active) = session.active.take() {
                        session.queue.push_front(active.relay);
                    }
                    return;
                }
                // The answer started, so the prompt was accepted: stop waiting for it.
                *pending = None;
                requests.forget(id);
            }
            Stage::Answering { pending: None, .. }
            | Stage::ReadingModel { .. }
            | Stage::ReadyToSummarize { .. }
            | Stage::Settling { .. } => {}
        }
    }

    /// The first half of a busy→idle edge: `None` when the session has
    /// nothing here or the edge repeats one already seen; else whether the
    /// turn stopped midway, which counts as an interrupt.
    pub fn idle_begins(&mut self, session_id: &str) -> Option<bool> {
        let session = self.sessions.get_mut(session_id)?;
        if !session.busy {
            // A repeated idle (OpenCode sends `session.status` idle and
            // `session.idle` for the same edge): nothing new happened.
            return None;
        }
        // Interrupted without a `session.error` (OpenCode sends none when
        // the stop falls between or early in steps): the interrupt still wins.
        Some(std::mem::take(&mut session.stopped_midway))
    }

    /// The rest of a busy→idle edge: the front relay moves on, or the next
    /// starts. With `host_exits` (the host ends with this idle) the answer in
    /// progress ends, but nothing new starts: a prompt sent now would be
    /// stored and never answered, so what waits stays on the pending list,
    /// which the next start reports.
    pub fn idle_ends(
        &mut self,
        now_ms: u64,
        session_id: &str,
        host_exits: bool,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        session.busy = false;
        session.ending_turn = false;
        if host_exits {
            if matches!(
                session.active.as_ref().map(|active| &active.stage),
                Some(Stage::Answering { pending: None, .. })
            ) {
                self.delivered(now_ms, session_id, requests, out);
            }
            return;
        }
        match session.active.as_mut().map(|active| &mut active.stage) {
            Some(Stage::Answering { .. }) => self.delivered(now_ms, session_id, requests, out),
            Some(Stage::Summarizing { turn_ended, .. }) => *turn_ended = true,
            Some(Stage::Settling {
                compacted: true, ..
            }) => self.send_after_compaction(now_ms, session_id, requests, out),
            Some(Stage::Settling {
                compacted: false, ..
            }) => self.compaction_failed(now_ms, session_id, requests, out),
            Some(Stage::ReadyToSummarize { .. }) => {
                self.summarize(now_ms, session_id, requests, out)
            }
            Some(Stage::ReadingModel { .. }) | None => {}
        }
        self.start_next(now_ms, session_id, requests, out);
    }

    /// The session's turn is about to end, and the host holds it open until
    /// the requests this issues are done (OpenCode's `run`, which exits at
    /// the first idle): what an idle edge would deliver goes out now, inside
    /// the turn, so the turn goes on with it. `step` names the step whose
    /// end this is; a repeat for the same step changes nothing.
    pub fn turn_ending(
        &mut self,
        now_ms: u64,
        session_id: &str,
        step: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        if session.ending_step.as_deref() == Some(step) {
            return;
        }
        session.ending_step = Some(step.to_owned());
        session.ending_turn = true;
        match session.active.as_mut().map(|active| &mut active.stage) {
            // The relay's answer is this step: it is done.
            Some(Stage::Answering { pending: None, .. }) => {
                self.delivered(now_ms, session_id, requests, out);
            }
            // The compaction's summary is this step: the relay's text goes next.
            Some(Stage::Settling { .. }) => {
                return self.send_after_compaction(now_ms, session_id, requests, out);
            }
            Some(Stage::ReadyToSummarize { .. }) => {
                return self.summarize(now_ms, session_id, requests, out);
            }
            // Still waiting for its own request: this step is not its answer.
            Some(
                Stage::Answering {
                    pending: Some(_), ..
                }
                | Stage::ReadingModel { .. }
                | Stage::Summarizing { .. },
            ) => return,
            None => {}
        }
        self.start_next(now_ms, session_id, requests, out);
    }

    pub fn session_compacted(
        &mut self,
        now_ms: u64,
        session_id: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        let idle = !session.busy;
        match session.active.as_mut().map(|active| &mut active.stage) {
            Some(Stage::Summarizing { compacted, .. }) => *compacted = true,
            Some(Stage::Settling { compacted, .. }) => {
                *compacted = true;
                if idle {
                    self.send_after_compaction(now_ms, session_id, requests, out);
                }
            }
            Some(
                Stage::ReadingModel { .. }
                | Stage::ReadyToSummarize { .. }
                | Stage::Answering { .. },
            )
            | None => {}
        }
    }

    /// A `session.error`: a prompt that OpenCode accepted but refused to run
    /// (an agent removed since the call, say) never starts a turn. Only an
    /// accepted prompt counts: OpenCode may send such an error twice, and the
    /// second must not fail the next relay, whose prompt is still in flight.
    pub fn session_error(
        &mut self,
        now_ms: u64,
        session_id: &str,
        error: &SessionError,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        // The accepted opening prompt was refused: no turn of it will come.
        // (An error while a turn runs is that turn's.)
        if !self.held.is_empty() && !self.is_busy(session_id) && self.unhold(session_id, true) {
            self.start_next(now_ms, session_id, requests, out);
        }
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        // The turn ended in an error (the model failed after a step that
        // called tools, say), not because a person stopped it: the
        // hand-offs it queued stand and go out when it ends.
        session.stopped_midway = false;
        let waiting_to_start = match session.active.as_ref().map(|a| &a.stage) {
            // An error while summarizing is why the compaction will not
            // finish: keep it for the report.
            Some(Stage::Summarizing { .. } | Stage::Settling { .. }) => {
                session.compaction_error = Some(Box::new(error.clone()));
                false
            }
            Some(Stage::Answering {
                pending: Some(_),
                accepted,
            }) => *accepted,
            Some(
                Stage::Answering { pending: None, .. }
                | Stage::ReadingModel { .. }
                | Stage::ReadyToSummarize { .. },
            )
            | None => false,
        };
        if waiting_to_start {
            let reason = RelayFailure::NotStarted {
                error: error.clone(),
            };
            self.fail_active(
                now_ms,
                session_id,
                reason,
                Certainty::Definite,
                requests,
                out,
            );
        }
    }

    /// A person interrupted the session's turn (`MessageAbortedError`): every
    /// hand-off still waiting there is cancelled, so nothing the person did
    /// not ask for happens after the interrupt. A relay whose prompt was
    /// already sent has arrived and is left alone. `calls` are the tool calls
    /// the interrupt cancelled, told in the same notice.
    pub fn interrupted(
        &mut self,
        now_ms: u64,
        session_id: &str,
        calls: Vec<Cancelled>,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let mut items = calls;
        if let Some(session) = self.sessions.get_mut(session_id) {
            let mut cancelled = Vec::new();
            // A compact relay still before its prompt is cancelled with the rest.
            if let Some(active) = session
                .active
                .take_if(|a| !matches!(a.stage, Stage::Answering { .. }))
            {
                if let Some(waiting) = active.stage.waits_for() {
                    requests.forget(waiting);
                }
                cancelled.push(active.relay);
            }
            // Only what the interrupted turn queued; earlier turns' hand-offs wait on.
            let turn = session.turn;
            let (now, later): (Vec<Relay>, Vec<Relay>) =
                session.queue.drain(..).partition(|r| r.turn == turn);
            session.queue.extend(later);
            cancelled.extend(now);
            items.extend(cancelled.into_iter().map(|relay| Cancelled::Relay {
                relay: relay.id,
                mode: relay.mode,
                agent: relay.agent,
                text: relay.text,
            }));
        }
        if items.is_empty() {
            return;
        }
        out.notice(Notice::HandOffsCancelled {
            session_id: session_id.to_owned(),
            items,
        });
        self.start_next(now_ms, session_id, requests, out);
    }

    /// The session's branch was cancelled: everything waiting there is
    /// dropped, and returned for the notice that tells of the cancel. A
    /// relay whose prompt went out was delivered, or may have been; the
    /// cancel stops its answer.
    pub fn cancel_all(
        &mut self,
        session_id: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) -> Vec<Cancelled> {
        let Some(session) = self.sessions.remove(session_id) else {
            return Vec::new();
        };
        let SessionRelays { queue, active, .. } = session;
        let mut dropped = Vec::new();
        if let Some(ActiveRelay { relay, stage }) = active {
            if let Some(waiting) = stage.waits_for() {
                requests.forget(waiting);
            }
            match stage {
                Stage::Answering { pending: None, .. } => {
                    out.notice(delivered(
                        session_id,
                        relay,
                        Delivery::AnsweringWhenCancelled,
                    ));
                }
                Stage::Answering {
                    pending: Some(_), ..
                } => {
                    let reason = RelayFailure::BranchCancelled;
                    out.notice(failed(session_id, relay, reason, Certainty::Uncertain));
                }
                Stage::ReadingModel { .. }
                | Stage::ReadyToSummarize { .. }
                | Stage::Summarizing { .. }
                | Stage::Settling { .. } => dropped.push(relay),
            }
        }
        dropped.extend(queue);
        dropped
            .into_iter()
            .map(|relay| Cancelled::Relay {
                relay: relay.id,
                mode: relay.mode,
                agent: relay.agent,
                text: relay.text,
            })
            .collect()
    }

    pub fn session_deleted(
        &mut self,
        session_id: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        self.unhold(session_id, false);
        let Some(session) = self.sessions.remove(session_id) else {
            return;
        };
        let SessionRelays { queue, active, .. } = session;
        if let Some(ActiveRelay { relay, stage }) = active {
            if let Some(waiting) = stage.waits_for() {
                requests.forget(waiting);
            }
            if matches!(stage, Stage::Answering { pending: None, .. }) {
                // Its answer had started: the text arrived before the session went.
                out.notice(delivered(session_id, relay, Delivery::AnsweringWhenDeleted));
            } else {
                let reason = RelayFailure::SessionDeleted;
                out.notice(failed(session_id, relay, reason, Certainty::Definite));
            }
        }
        for relay in queue {
            let reason = RelayFailure::SessionDeleted;
            out.notice(failed(session_id, relay, reason, Certainty::Definite));
        }
    }

    /// The answer to a request or timer of the session's front relay.
    pub fn outcome(
        &mut self,
        now_ms: u64,
        session_id: &str,
        id: ActionId,
        answer: Answer,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        let idle = !session.busy;
        let ending_turn = session.ending_turn;
        let Some(active) = session.active.as_mut() else {
            return;
        };
        if active.stage.waits_for() != Some(id) {
            return;
        }
        let doing = active.stage.activity();
        match (&mut active.stage, answer) {
            (
                Stage::ReadingModel { .. },
                Answer::Outcome(Outcome::Model {
                    provider_id,
                    model_id,
                }),
            ) => {
                active.stage = Stage::ReadyToSummarize {
                    provider_id,
                    model_id,
                };
                // Summarizing takes the session over: not while a turn runs,
                // unless that turn is ending and waits for it.
                if idle || ending_turn {
                    self.summarize(now_ms, session_id, requests, out);
                }
            }
            (
                Stage::Summarizing {
                    compacted,
                    turn_ended,
                    ..
                },
                Answer::Outcome(Outcome::Done),
            ) => match (*compacted, *turn_ended && idle) {
                (true, _) if idle => self.send_after_compaction(now_ms, session_id, requests, out),
                (false, true) => self.compaction_failed(now_ms, session_id, requests, out),
                (compacted, _) => {
                    let activity = Activity::WaitingForOpenCodeToCompact;
                    // Within an ending turn, the summary is only stored so far:
                    // it is written while the turn goes on.
                    let timer = if ending_turn {
                        let limit = requests.summarize_timeout_ms();
                        requests.timer_lasting(now_ms, owner(session_id), limit, activity)
                    } else {
                        requests.timer(now_ms, owner(session_id), activity)
                    };
                    active.stage = Stage::Settling { timer, compacted };
                }
            },
            // Within an ending turn the prompt is stored and the turn goes on
            // with it: its answer has started.
            (Stage::Answering { .. }, Answer::Outcome(Outcome::Done)) if ending_turn => {
                active.stage = Stage::Answering {
                    pending: None,
                    accepted: true,
                };
            }
            (Stage::Answering { .. }, Answer::Outcome(Outcome::Done)) => {
                let activity = Activity::WaitingForAnswerToStart;
                let timer = requests.timer(now_ms, owner(session_id), activity);
                active.stage = Stage::Answering {
                    pending: Some(timer),
                    accepted: true,
                };
            }
            (stage, Answer::Failed { message, cause }) => {
                // A server error may hide a prompt that was taken after all.
                let certainty = if cause == FailureCause::Unavailable && stage.sent_prompt() {
                    Certainty::Uncertain
                } else {
                    Certainty::Definite
                };
                let reason = RelayFailure::RequestFailed {
                    activity: doing,
                    message,
                };
                self.fail_active(now_ms, session_id, reason, certainty, requests, out);
            }
            (stage, Answer::TimedOut(error)) => {
                // Before its prompt, a relay's text certainly did not go out.
                let certainty = if stage.sent_prompt() {
                    Certainty::Uncertain
                } else {
                    Certainty::Definite
                };
                let reason = RelayFailure::TimedOut { error };
                self.fail_active(now_ms, session_id, reason, certainty, requests, out);
            }
            (_, Answer::Outcome(outcome)) => {
                let reason = RelayFailure::Internal {
                    answer: format!("{outcome:?}"),
                    activity: doing,
                };
                self.fail_active(
                    now_ms,
                    session_id,
                    reason,
                    Certainty::Definite,
                    requests,
                    out,
                );
            }
        }
    }

    // ---- carrying a relay through its stages ----

    fn active_mut(&mut self, session_id: &str) -> Option<&mut ActiveRelay> {
        self.sessions.get_mut(session_id)?.active.as_mut()
    }

    /// Sends the summarize request of a compact relay that has its model.
    fn summarize(
        &mut self,
        now_ms: u64,
        session_id: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let Some(active) = self.active_mut(session_id) else {
            return;
        };
        let Stage::ReadyToSummarize {
            provider_id,
            model_id,
        } = active.stage.clone()
        else {
            return;
        };
        let summarize = Request::Summarize {
            session_id: session_id.to_owned(),
            provider_id: provider_id.clone(),
            model_id: model_id.clone(),
        };
        let request = requests.issue(now_ms, owner(session_id), summarize, out);
        active.stage = Stage::Summarizing {
            request,
            provider_id,
            model_id,
            compacted: false,
            turn_ended: false,
        };
    }

    /// The compaction's turn ended without `session.compacted`.
    fn compaction_failed(
        &mut self,
        now_ms: u64,
        session_id: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let error = self
            .sessions
            .get_mut(session_id)
            .and_then(|s| s.compaction_error.take());
        let reason = RelayFailure::NotCompacted {
            error: error.map(|error| *error),
        };
        self.fail_active(
            now_ms,
            session_id,
            reason,
            Certainty::Definite,
            requests,
            out,
        );
    }

    /// Starts the front relay if the session is idle and nothing is in progress;
    /// forgets the session once it has nothing left.
    fn start_next(
        &mut self,
        now_ms: u64,
        session_id: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        if self.is_held(session_id) {
            return;
        }
        let Some(session) = self.sessions.get_mut(session_id) else {
            return;
        };
        if (session.busy && !session.ending_turn) || session.active.is_some() {
            return;
        }
        session.compaction_error = None;
        let Some(relay) = session.queue.pop_front() else {
            self.sessions.remove(session_id);
            return;
        };
        let stage = match relay.mode {
            Mode::Compact => {
                let request = Request::LastUserModel {
                    session_id: session_id.to_owned(),
                };
                let request = requests.issue(now_ms, owner(session_id), request, out);
                Stage::ReadingModel { request }
            }
            // Only `message` and `compact` are queued (`Mode::is_queued`).
            Mode::Message | Mode::New | Mode::Fork | Mode::Status | Mode::Cancel => {
                let parts = vec![relay.text.clone()];
                let request = prompt(now_ms, session_id, &relay, parts, requests, out);
                Stage::Answering {
                    pending: Some(request),
                    accepted: false,
                }
            }
        };
        out.relay_started(
            relay.id,
            session_id,
            &relay.caller_agent,
            &relay.agent,
            relay.mode,
        );
        session.active = Some(ActiveRelay { relay, stage });
    }

    /// Sends the compact relay's text, after a note that records the hand-off.
    fn send_after_compaction(
        &mut self,
        now_ms: u64,
        session_id: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let Some(active) = self.active_mut(session_id) else {
            return;
        };
        if let Some(waiting) = active.stage.waits_for() {
            requests.forget(waiting);
        }
        let relay = &active.relay;
        let note = render::compaction_note(&relay.caller_agent, &relay.agent);
        let parts = vec![note, relay.text.clone()];
        let request = prompt(now_ms, session_id, relay, parts, requests, out);
        active.stage = Stage::Answering {
            pending: Some(request),
            accepted: false,
        };
    }

    fn delivered(
        &mut self,
        now_ms: u64,
        session_id: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let Some(active) = self
            .sessions
            .get_mut(session_id)
            .and_then(|s| s.active.take())
        else {
            return;
        };
        if let Some(waiting) = active.stage.waits_for() {
            requests.forget(waiting);
        }
        let after_ms = now_ms.saturating_sub(active.relay.queued_at_ms);
        let delivery = Delivery::Answered { after_ms };
        out.notice(delivered(session_id, active.relay, delivery));
    }

    fn fail_active(
        &mut self,
        now_ms: u64,
        session_id: &str,
        reason: RelayFailure,
        certainty: Certainty,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let Some(active) = self
            .sessions
            .get_mut(session_id)
            .and_then(|s| s.active.take())
        else {
            return;
        };
        if let Some(waiting) = active.stage.waits_for() {
            requests.forget(waiting);
        }
        out.notice(failed(session_id, active.relay, reason, certainty));
        self.start_next(now_ms, session_id, requests, out);
    }
}

fn prompt(
    now_ms: u64,
    session_id: &str,
    relay: &Relay,
    parts: Vec<String>,
    requests: &mut Requests,
    out: &mut Outputs,
) -> ActionId {
    let request = Request::Prompt {
        session_id: session_id.to_owned(),
        agent: relay.agent.clone(),
        parts,
    };
    requests.issue(now_ms, owner(session_id), request, out)
}

/// Whether the relay's prompt may have reached OpenCode: sent, and not
/// waiting to be tried again after it could not reach it.
fn prompt_reached_opencode(stage: &Stage, requests: &Requests) -> bool {
    match stage {
        Stage::Answering {
            pending: Some(id),
            accepted: false,
        } => !requests.is_backing_off(*id),
        stage @ (Stage::Answering { .. }
        | Stage::ReadingModel { .. }
        | Stage::ReadyToSummarize { .. }
        | Stage::Summarizing { .. }
        | Stage::Settling { .. }) => stage.sent_prompt(),
    }
}

fn delivered(session_id: &str, relay: Relay, delivery: Delivery) -> Notice {
    Notice::RelayDelivered {
        relay: relay.id,
        session_id: session_id.to_owned(),
        caller_agent: relay.caller_agent,
        agent: relay.agent,
        mode: relay.mode,
        delivery,
    }
}

fn failed(session_id: &str, relay: Relay, reason: RelayFailure, certainty: Certainty) -> Notice {
    Notice::RelayFailed {
        relay: relay.id,
        session_id: session_id.to_owned(),
        caller_agent: relay.caller_agent,
        agent: relay.agent,
        mode: relay.mode,
        text: relay.text,
        reason,
        certainty,
    }
}
