//! [`RelayEngine`]: the public face of the engine, and the router between its
//! components. It owns one of each and, but for the configuration it was
//! given, holds no state of its own:
//! - [`Requests`] (`requests.rs`): requests and timers in flight, ids, retries;
//! - [`Calls`] (`calls.rs`): `session` tool calls in progress;
//! - [`Relays`] (`relays.rs`): every session's queue of relays and their stages;
//! - [`Branches`] (`branches.rs`, with `groups.rs`): branch sessions, their
//!   parents, titles and reports;
//! - [`Hops`] (`hops.rs`): the hop counts of the ping-pong guard;
//! - [`FailedTurns`] (`failed_turns.rs`): idles held back after a failed turn;
//! - [`Outputs`] (`outputs.rs`): the actions and notices to hand out.
//!
//! Each input is taken apart here and handed to the components it concerns,
//! each given the siblings it needs; what comes back for a request (an
//! outcome, a time-out) is routed to the component that owns it.

use crate::action::{Action, Polled, Request};
use crate::branches::{Branches, Siblings};
use crate::calls::{CallSiblings, Calls};
use crate::config::EngineConfig;
use crate::event::BusEvent;
use crate::failed_turns::FailedTurns;
use crate::hops::Hops;
use crate::ids::{ActionId, RelayId, ToolCallId};
use crate::journal::PendingHandOff;
use crate::mode::Mode;
use crate::notice::{BranchError, NoteKind, Notice, Restored, SessionError};
use crate::outcome::Outcome;
use crate::outputs::Outputs;
use crate::relays::Relays;
use crate::render;
use crate::requests::{Due, Owner, Requests};
use crate::stats::EngineStats;
use crate::tool_call::ToolCall;
use std::collections::HashSet;

/// The relay engine: a deterministic state machine with no I/O and no clock.
///
/// Methods fall into three groups:
/// - `handle_*` feed it inputs: a `session` tool call, a user message, a bus
///   event, the outcome of a request it made, the passing of time, or the
///   hand-offs a stopped process left. Those that may act take the current
///   time in milliseconds; the engine never reads a clock.
/// - `poll_*` drain its outputs: [`RelayEngine::poll_action`] yields the
///   [`Action`]s to perform in order (a [`Notice`] first, then the toasts,
///   logs and tool results made from it; [`RelayEngine::poll_action_with`]
///   lends requests instead of handing them over), [`RelayEngine::poll_timeout`] the
///   time at which [`RelayEngine::handle_timeout`] must be called next, and
///   [`RelayEngine::poll_journal`] the hand-offs to keep on disk when they changed.
/// - getters describe what is pending.
///
/// After every `handle_*` call, drain `poll_action` until it returns `None`,
/// then re-arm the timer from `poll_timeout` (and save `poll_journal`'s list,
/// if any).
#[derive(Debug)]
pub struct RelayEngine {
    config: EngineConfig,
    requests: Requests,
    calls: Calls,
    relays: Relays,
    branches: Branches,
    hops: Hops,
    failed_turns: FailedTurns,
    out: Outputs,
}

/// The `session.error` name OpenCode uses when a person interrupts a turn.
const ABORTED: &str = "MessageAbortedError";

impl Default for RelayEngine {
    fn default() -> Self {
        Self::new(EngineConfig::default())
    }
}

impl RelayEngine {
    pub fn new(config: EngineConfig) -> Self {
        RelayEngine {
            requests: Requests::new(&config),
            calls: Calls::new(&config),
            relays: Relays::default(),
            branches: Branches::new(&config),
            hops: Hops::new(config.max_hops),
            failed_turns: FailedTurns::default(),
            out: Outputs::default(),
            config,
        }
    }

    /// The siblings a branch may need to finish its group.
    fn branch_siblings(&mut self) -> (&mut Branches, Siblings<'_>) {
        (
            &mut self.branches,
            Siblings {
                hops: &mut self.hops,
                relays: &mut self.relays,
                requests: &mut self.requests,
                out: &mut self.out,
            },
        )
    }

    /// The siblings a tool call acts through.
    fn call_siblings(&mut self) -> (&mut Calls, CallSiblings<'_>) {
        (
            &mut self.calls,
            CallSiblings {
                branches: &mut self.branches,
                relays: &mut self.relays,
                hops: &mut self.hops,
                requests: &mut self.requests,
                out: &mut self.out,
            },
        )
    }

    // ---- inputs ----

    /// A `session` tool call began. Its result comes back later as an
    /// [`Action::ReplyToTool`] with the returned id.
    pub fn handle_tool_call(&mut self, now_ms: u64, call: ToolCall) -> ToolCallId {
        let id = ToolCallId(self.requests.allocate_id());
        match call.mode {
            // Asks, hands nothing off: no agent check, no permission.
            Mode::Status => {
                let notice = Notice::StatusReported {
                    call: id,
                    now_ms,
                    branches: self.branches.status(&call.session_id),
                    waiting: self.calls.waiting_in(&call.session_id),
                    stats: self.stats(),
                    session_id: call.session_id,
                };
                self.out.notice(notice);
            }
            Mode::Message | Mode::New | Mode::Compact | Mode::Fork | Mode::Cancel => {
                let (calls, mut sib) = self.call_siblings();
                calls.begin(now_ms, id, call, &mut sib);
            }
        }
        self.start_waiting(now_ms);
        id
    }

    /// Branches waiting for their place open as far as `maxBranches` lets
    /// them: after every input, since any may have ended a branch.
    fn start_waiting(&mut self, now_ms: u64) {
        let (calls, mut sib) = self.call_siblings();
        calls.start_waiting(now_ms, &mut sib);
    }

    /// The host process ends when the turn it was started for ends, at the
    /// session's first idle (OpenCode's `run`), so nothing may wait for an
    /// idle edge there: from now on hand-offs are queued for
    /// [`RelayEngine::handle_turn_ending`] (their tool results say so), and
    /// a `new` or `fork` call returns once its branch answered, with the
    /// branch's report as its result, which keeps the turn (and the process)
    /// going until then.
    pub fn handle_host_ends_with_turn(&mut self) {
        self.calls.host_ends_with_turn();
    }

    /// Whether [`Action::Notice`]s are handed out (they are unless told
    /// otherwise). A host that does not listen to them turns them off; the
    /// toasts, log lines and tool results made from them come all the same.
    pub fn handle_notices_wanted(&mut self, wanted: bool) {
        self.out.notices_wanted(wanted);
    }

    /// A step of the session's turn wrote its last text and calls no tool,
    /// so the turn is about to end; the host holds it open until the
    /// requests this input issues (and those their outcomes issue) are done.
    /// What the turn's idle edge would deliver goes out now, inside the turn:
    /// a `message` relay's prompt (the turn goes on with its answer), or a
    /// `compact` relay's summary, whose own last text ends the step after
    /// which its prompt goes out. The next such input ends that answer, as
    /// an idle edge would. `step_id` names the step (its assistant message);
    /// a second text of the same step changes nothing.
    pub fn handle_turn_ending(&mut self, now_ms: u64, session_id: &str, step_id: &str) {
        self.relays.turn_ending(
            now_ms,
            session_id,
            step_id,
            &mut self.requests,
            &mut self.out,
        );
    }

    /// A user message was added to a session. `from_plugin` is true for the
    /// messages this plugin sent (the host recognizes their marker); any other
    /// user message was written by a person, which resets the hop count.
    pub fn handle_user_message(&mut self, session_id: &str, from_plugin: bool) {
        if !from_plugin {
            self.hops.forget(session_id);
        }
    }

    /// A bus event arrived. Events may repeat or arrive late; the engine
    /// tolerates both.
    pub fn handle_event(&mut self, now_ms: u64, event: BusEvent) {
        self.event(now_ms, event);
        self.start_waiting(now_ms);
    }

    fn event(&mut self, now_ms: u64, event: BusEvent) {
        match event {
            BusEvent::Status {
                session_id,
                busy: true,
            } => {
                self.failed_turns.forget(&session_id, &mut self.requests);
                self.relays.session_busy(&session_id, &mut self.requests);
                self.branches.session_busy(&session_id);
                self.calls.branch_status(&session_id, true, &self.requests);
            }
            BusEvent::Status {
                session_id,
                busy: false,
            }
            | BusEvent::Idle { session_id } => {
                let held = self
                    .failed_turns
                    .holds_idle(now_ms, &session_id, &mut self.requests);
                if !held {
                    self.idle_edge(now_ms, &session_id);
                }
            }
            BusEvent::Compacted { session_id } => {
                self.relays.session_compacted(
                    now_ms,
                    &session_id,
                    &mut self.requests,
                    &mut self.out,
                );
            }
            BusEvent::StepFinished {
                session_id,
                finish,
                error,
            } => {
                // Stopped before the model answered its tools, or cut off mid-step.
                let stopped =
                    finish.as_deref() == Some("tool-calls") || error.as_deref() == Some(ABORTED);
                if error.as_deref().is_some_and(|name| name != ABORTED) {
                    self.failed_turns.step_recorded(&session_id);
                }
                self.relays.step_finished(&session_id, stopped);
                self.branches.step_finished(&session_id);
            }
            BusEvent::ToolState {
                session_id,
                part_id,
                tool,
                running,
            } => self
                .branches
                .tool_state(&session_id, &part_id, &tool, running),
            BusEvent::PersonAsked {
                session_id,
                request_id,
                what,
            } => self.branches.person_asked(
                now_ms,
                &session_id,
                &request_id,
                &what,
                &mut self.requests,
                &mut self.out,
            ),
            BusEvent::PersonAnswered {
                session_id,
                request_id,
            } => self
                .branches
                .person_answered(now_ms, &session_id, &request_id),
            BusEvent::Deleted { session_id } => {
                self.failed_turns.forget(&session_id, &mut self.requests);
                self.calls
                    .session_deleted(&session_id, &mut self.requests, &mut self.out);
                self.hops.forget(&session_id);
                self.branches.forget_groups(&session_id);
                self.relays
                    .session_deleted(&session_id, &mut self.requests, &mut self.out);
                let (branches, mut sib) = self.branch_siblings();
                branches.session_deleted(now_ms, &session_id, &mut sib);
            }
            BusEvent::Error {
                session_id: Some(session_id),
                name: Some(name),
                ..
            } if name == ABORTED => {
                let (branches, mut sib) = self.branch_siblings();
                branches.session_error(now_ms, &session_id, BranchError::Interrupted, &mut sib);
                self.session_interrupted(now_ms, &session_id);
            }
            BusEvent::Error {
                session_id: Some(session_id),
                name,
                message,
            } => {
                let error = SessionError { name, message };
                let in_a_turn = self.in_a_turn(&session_id);
                self.failed_turns.turn_failed(&session_id, in_a_turn);
                let (branches, mut sib) = self.branch_siblings();
                let branch_error = BranchError::Session {
                    error: error.clone(),
                };
                branches.session_error(now_ms, &session_id, branch_error, &mut sib);
                self.relays.session_error(
                    now_ms,
                    &session_id,
                    &error,
                    &mut self.requests,
                    &mut self.out,
                );
            }
            BusEvent::Error {
                session_id: None, ..
            }
            | BusEvent::Other => {}
        }
    }

    /// The end of a session's turn (a busy→idle edge, or a repeat of one).
    fn idle_edge(&mut self, now_ms: u64, session_id: &str) {
        self.calls.turn_ended(session_id);
        self.calls.branch_status(session_id, false, &self.requests);
        let (branches, mut sib) = self.branch_siblings();
        branches.close_groups(now_ms, session_id, &mut sib);
        if let Some(stopped_midway) = self.relays.idle_begins(session_id) {
            if stopped_midway {
                self.session_interrupted(now_ms, session_id);
            }
            // Where the host ends with its turn, the idle of any session but
            // a branch (whose caller waits for it) is the host's end.
            let host_exits =
                self.calls.hands_off_within_turn() && !self.branches.is_branch(session_id);
            self.relays.idle_ends(
                now_ms,
                session_id,
                host_exits,
                &mut self.requests,
                &mut self.out,
            );
        }
        let pending = self.relays.pending(session_id);
        self.branches.session_idle(
            now_ms,
            session_id,
            pending,
            &mut self.requests,
            &mut self.out,
        );
    }

    /// A person interrupted the session's turn: its undecided calls and the
    /// relays it queued are cancelled. Branches already opening are sessions
    /// of their own and run on.
    fn session_interrupted(&mut self, now_ms: u64, session_id: &str) {
        let calls = self
            .calls
            .interrupted(session_id, &mut self.requests, &mut self.out);
        self.relays
            .interrupted(now_ms, session_id, calls, &mut self.requests, &mut self.out);
    }

    /// Whether a turn runs in the session, as far as anything the engine
    /// holds there (relays, branches, their parents, tool calls) knows.
    fn in_a_turn(&self, session_id: &str) -> bool {
        self.relays.is_busy(session_id)
            || self.branches.is_busy(session_id)
            || self.calls.any_in(session_id)
    }

    /// The outcome of the request `id`. Returns `false` when no request with
    /// that id is waiting, e.g. because it already timed out; such late
    /// outcomes change nothing.
    pub fn handle_outcome(&mut self, now_ms: u64, sent_as: ActionId, outcome: Outcome) -> bool {
        match self
            .requests
            .outcome(now_ms, sent_as, outcome, &mut self.out)
        {
            None => false,
            Some(due) => {
                if let Some(due) = due {
                    self.route(now_ms, due);
                }
                self.start_waiting(now_ms);
                true
            }
        }
    }

    /// Time passed: every request whose time limit ran out fails.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        loop {
            let branches = &self.branches;
            let outdated = |request: &Request| branches.is_outdated(request);
            let Some(due) = self.requests.next_due(now_ms, outdated, &mut self.out) else {
                break;
            };
            self.route(now_ms, due);
        }
        self.start_waiting(now_ms);
    }

    /// Hand-offs an earlier OpenCode process left pending when it stopped:
    /// each session gets a note saying what was not delivered (a note starts
    /// no turn), and one notice lists them all.
    pub fn handle_restored(&mut self, now_ms: u64, handoffs: Vec<PendingHandOff>) {
        if handoffs.is_empty() {
            return;
        }
        let items: Vec<Restored> = handoffs
            .into_iter()
            .map(|handoff| Restored {
                session_id: handoff.session_id,
                relay: RelayId(handoff.relay),
                mode: handoff.mode,
                caller_agent: handoff.caller_agent,
                agent: handoff.agent,
                text: handoff.text,
            })
            .collect();
        for item in &items {
            let (kind, text) = (NoteKind::LostAtStop, render::lost_at_stop(item));
            let (session_id, agent) = (&item.session_id, &item.caller_agent);
            self.requests
                .note(now_ms, kind, session_id, agent, text, &mut self.out);
        }
        self.out.notice(Notice::HandOffsRestored { items });
    }

    /// Hands an answer to the component whose request or timer it is.
    fn route(&mut self, now_ms: u64, due: Due) {
        let Due { id, owner, answer } = due;
        match owner {
            Owner::Call(call) => {
                let (calls, mut sib) = self.call_siblings();
                calls.outcome(now_ms, call, answer, &mut sib);
            }
            Owner::Relay { session_id } => self.relays.outcome(
                now_ms,
                &session_id,
                id,
                answer,
                &mut self.requests,
                &mut self.out,
            ),
            Owner::Branch { session_id } => {
                let (branches, mut sib) = self.branch_siblings();
                branches.outcome(now_ms, &session_id, id, answer, &mut sib);
            }
            Owner::FailedTurn { session_id } => {
                if self.failed_turns.timed_out(&session_id) {
                    self.idle_edge(now_ms, &session_id);
                }
            }
            Owner::Report { session_id } => {
                self.branches.report_answered(
                    now_ms,
                    &session_id,
                    id,
                    answer,
                    &mut self.requests,
                    &mut self.out,
                );
            }
            // Requests nobody waits for end in `Requests`.
            Owner::Background { .. } => {}
        }
    }

    // ---- outputs ----

    /// The next thing to do, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        let action = self.out.pop()?;
        if let Action::Request { id, request, .. } = &action {
            self.requests.sent(*id, || request.clone());
        }
        Some(action)
    }

    /// [`RelayEngine::poll_action`] for a host that only reads a request
    /// (to write it out, say): `take` is lent it, and the engine keeps the
    /// request itself for another attempt instead of a copy. Every other
    /// action is handed over as it is.
    pub fn poll_action_with<R>(&mut self, take: impl FnOnce(Polled<'_>) -> R) -> Option<R> {
        Some(match self.out.pop()? {
            Action::Request {
                id,
                timeout_ms,
                request,
            } => {
                let taken = take(Polled::Request {
                    id,
                    timeout_ms,
                    request: &request,
                });
                self.requests.sent(id, move || request);
                taken
            }
            action @ (Action::ReplyToTool { .. }
            | Action::Toast { .. }
            | Action::Log { .. }
            | Action::Notice { .. }) => take(Polled::Action(action)),
        })
    }

    /// When [`RelayEngine::handle_timeout`] must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.requests.next_deadline()
    }

    /// The hand-offs not yet sent, oldest first, when they differ from the
    /// list returned last; `None` when nothing changed. A relay leaves the
    /// list once its prompt went out: its text has arrived (or its failure
    /// is reported).
    pub fn poll_journal(&mut self) -> Option<Vec<PendingHandOff>> {
        let pending = self.relays.not_yet_sent(&self.requests);
        if !self.out.journal(pending.iter().map(|(_, relay)| relay.id)) {
            return None;
        }
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
        Some(list)
    }

    // ---- getters ----

    /// Relays of `session_id` not yet delivered or reported, the one in progress included.
    pub fn pending_relays(&self, session_id: &str) -> usize {
        self.relays.pending(session_id)
    }

    /// Sessions that have relays pending.
    pub fn sessions_with_relays(&self) -> usize {
        self.relays.session_count()
    }

    /// Tool calls still waiting for their result.
    pub fn pending_tool_calls(&self) -> usize {
        self.calls.len()
    }

    /// Agent-to-agent hand-offs since a person last wrote in `session_id`.
    pub fn hops(&self, session_id: &str) -> u32 {
        self.hops.get(session_id)
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// What the engine holds, in numbers.
    pub fn stats(&self) -> EngineStats {
        let remembered: HashSet<&str> = self
            .relays
            .sessions()
            .chain(self.hops.sessions())
            .chain(self.branches.sessions())
            .collect();
        EngineStats {
            relays_pending: self.relays.pending_everywhere(),
            tool_calls_pending: self.calls.len(),
            requests_in_flight: self.requests.in_flight(),
            branches_running: self.branches.running(),
            sessions_remembered: remembered.len(),
        }
    }

    /// True when nothing at all is pending: no relays, calls, requests or
    /// branch titles to keep up to date.
    pub fn is_quiet(&self) -> bool {
        self.relays.is_empty()
            && self.failed_turns.is_empty()
            && self.calls.is_empty()
            && self.requests.is_empty()
            && self.branches.is_quiet()
    }

    /// True when the engine remembers nothing about any session: what
    /// remains once every session it saw was deleted.
    pub fn is_empty(&self) -> bool {
        self.is_quiet() && self.hops.is_empty() && self.branches.is_empty()
    }
}
