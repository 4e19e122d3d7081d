//! The engine's state and its input/output plumbing. Tool calls are carried
//! forward in `calls.rs`, session relays in `relays.rs`.

use crate::action::{Action, LogLevel, Request, ToastVariant};
use crate::branches::{BranchGroup, GroupKey};
use crate::calls::PendingCall;
use crate::config::EngineConfig;
use crate::event::BusEvent;
use crate::failed_turns::FailedTurn;
use crate::ids::{ActionId, RelayId, ToolCallId};
use crate::outcome::{FailureCause, Outcome};
use crate::relay::SessionRelays;
use crate::reports::{Branch, BranchState, Parent};
use crate::tool_call::ToolCall;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// The relay engine: a deterministic state machine with no I/O and no clock.
///
/// Methods fall into three groups:
/// - `handle_*` feed it inputs: a `session` tool call, a bus event, the
///   outcome of a request it made, or the passing of time. Each takes the
///   current time in milliseconds; the engine never reads a clock.
/// - `poll_*` drain its outputs: [`RelayEngine::poll_action`] yields the
///   [`Action`]s to perform in order, [`RelayEngine::poll_timeout`] the time at
///   which [`RelayEngine::handle_timeout`] must be called next.
/// - getters describe what is pending.
///
/// After every `handle_*` call, drain `poll_action` until it returns `None`,
/// then re-arm the timer from `poll_timeout`.
#[derive(Debug)]
pub struct RelayEngine {
    pub(crate) config: EngineConfig,
    next_id: u64,
    pub(crate) sessions: HashMap<String, SessionRelays>,
    pub(crate) calls: HashMap<ToolCallId, PendingCall>,
    /// Agent-to-agent hand-offs since a person last wrote, by session; absent means none.
    pub(crate) hops: HashMap<String, u32>,
    /// Branches opened by one turn, so their titles can say "2/3".
    pub(crate) branch_groups: HashMap<GroupKey, BranchGroup>,
    /// Branch sessions followed until they report, by session id.
    pub(crate) branches: HashMap<String, Branch>,
    /// Sessions that opened branches, by session id.
    pub(crate) parents: HashMap<String, Parent>,
    waiting: HashMap<ActionId, Waiting>,
    /// Ids of retried attempts, each mapped to the id its owner waits on.
    attempts: HashMap<ActionId, ActionId>,
    deadlines: BTreeSet<(u64, ActionId)>,
    actions: VecDeque<Action>,
    /// Sessions whose turn failed and that OpenCode has not closed yet.
    pub(crate) failed_turns: HashMap<String, FailedTurn>,
    /// Relays of the last pending list `poll_journal` returned.
    pub(crate) journaled: Vec<RelayId>,
}

/// A request in flight (or a timer) and whom its outcome belongs to.
#[derive(Debug)]
struct Waiting {
    deadline_ms: u64,
    timeout_ms: u64,
    describe: &'static str,
    owner: Owner,
    /// The request, kept while it may be tried again; `None` for timers.
    request: Option<Request>,
    attempt: u32,
    /// Waiting out the pause before the next attempt.
    backing_off: bool,
    /// The id the attempt in flight was sent with; outcomes of earlier
    /// attempts carry other ids and no longer count.
    current: ActionId,
}

#[derive(Debug, Clone)]
enum Owner {
    Call(ToolCallId),
    Relay {
        session_id: String,
    },
    /// A branch session's answer, to report to its parent.
    Branch {
        session_id: String,
    },
    /// The time limit on closing a failed turn.
    FailedTurn {
        session_id: String,
    },
    /// Nothing waits for it: a failure is logged, and when it loses something
    /// a person was meant to read (a note) also shown under `lost`.
    Background {
        describe: &'static str,
        lost: Option<&'static str>,
    },
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
            config,
            next_id: 1,
            sessions: HashMap::new(),
            calls: HashMap::new(),
            hops: HashMap::new(),
            branch_groups: HashMap::new(),
            branches: HashMap::new(),
            parents: HashMap::new(),
            waiting: HashMap::new(),
            attempts: HashMap::new(),
            deadlines: BTreeSet::new(),
            actions: VecDeque::new(),
            failed_turns: HashMap::new(),
            journaled: Vec::new(),
        }
    }

    // ---- inputs ----

    /// A `session` tool call began. Its result comes back later as an
    /// [`Action::ReplyToTool`] with the returned id.
    pub fn handle_tool_call(&mut self, now_ms: u64, call: ToolCall) -> ToolCallId {
        let id = ToolCallId(self.allocate_id());
        self.begin_call(now_ms, id, call);
        id
    }

    /// A user message was added to a session. `from_plugin` is true for the
    /// messages this plugin sent (the host recognizes their marker); any other
    /// user message was written by a person, which resets the hop count.
    pub fn handle_user_message(&mut self, session_id: &str, from_plugin: bool) {
        if !from_plugin {
            self.hops.remove(session_id);
        }
    }

    /// A bus event arrived. Events may repeat or arrive late; the engine
    /// tolerates both.
    pub fn handle_event(&mut self, now_ms: u64, event: BusEvent) {
        match event {
            BusEvent::Status {
                session_id,
                busy: true,
            } => {
                self.forget_failed_turn(&session_id);
                self.session_busy(&session_id);
                self.branch_session_busy(&session_id);
            }
            BusEvent::Status {
                session_id,
                busy: false,
            }
            | BusEvent::Idle { session_id } => {
                if !self.holds_idle(now_ms, &session_id) {
                    self.idle_edge(now_ms, &session_id);
                }
            }
            BusEvent::Compacted { session_id } => self.session_compacted(now_ms, &session_id),
            BusEvent::StepFinished {
                session_id,
                finish,
                error,
            } => {
                // Stopped before the model answered its tools, or cut off mid-step.
                let stopped =
                    finish.as_deref() == Some("tool-calls") || error.as_deref() == Some(ABORTED);
                if error.as_deref().is_some_and(|name| name != ABORTED) {
                    self.failed_step_recorded(&session_id);
                }
                self.step_finished(&session_id, stopped);
            }
            BusEvent::Deleted { session_id } => {
                self.forget_failed_turn(&session_id);
                self.session_deleted(&session_id);
                self.branch_session_deleted(now_ms, &session_id);
            }
            BusEvent::Error {
                session_id: Some(session_id),
                name: Some(name),
                ..
            } if name == ABORTED => {
                self.branch_session_error(now_ms, &session_id, "interrupted by the user");
                self.session_interrupted(now_ms, &session_id);
            }
            BusEvent::Error {
                session_id: Some(session_id),
                name,
                message,
            } => {
                let error = match (name, message) {
                    (Some(name), Some(message)) => format!("{name}: {message}"),
                    (name, message) => name
                        .or(message)
                        .unwrap_or_else(|| "unknown error".to_owned()),
                };
                self.turn_failed(&session_id);
                self.branch_session_error(now_ms, &session_id, &error);
                self.session_error(now_ms, &session_id, &error);
            }
            BusEvent::Error { .. } | BusEvent::Other => {}
        }
    }

    /// The end of a session's turn (a busy→idle edge, or a repeat of one).
    pub(crate) fn idle_edge(&mut self, now_ms: u64, session_id: &str) {
        self.session_idle(now_ms, session_id);
        self.branch_session_idle(now_ms, session_id);
    }

    /// Whether a turn runs in the session, as far as anything the engine
    /// holds there (relays, branches, their parents, tool calls) knows.
    pub(crate) fn in_a_turn(&self, session_id: &str) -> bool {
        self.sessions.get(session_id).is_some_and(|s| s.busy)
            || self.parents.get(session_id).is_some_and(|p| p.busy)
            || self
                .branches
                .get(session_id)
                .is_some_and(|b| b.state == BranchState::Running { busy: true })
            || self
                .calls
                .values()
                .any(|call| call.session_id() == session_id)
    }

    /// The outcome of the request `id`. Returns `false` when no request with
    /// that id is waiting, e.g. because it already timed out; such late
    /// outcomes change nothing.
    pub fn handle_outcome(&mut self, now_ms: u64, sent_as: ActionId, outcome: Outcome) -> bool {
        let id = self.attempts.remove(&sent_as).unwrap_or(sent_as);
        match self.waiting.get(&id) {
            None => return false,
            Some(waiting) if waiting.backing_off || waiting.current != sent_as => return false,
            Some(_) => {}
        }
        let cause = match &outcome {
            Outcome::Failed { cause, .. } => Some(*cause),
            _ => None,
        };
        if let Some(cause) = cause {
            if self.retry_later(now_ms, id, cause, &outcome) {
                return true;
            }
        }
        if let Some(waiting) = self.stop_waiting(id) {
            self.dispatch_outcome(now_ms, id, waiting.owner, outcome);
        }
        true
    }

    /// Time passed: every request whose time limit ran out fails.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now_ms {
                break;
            }
            self.deadlines.remove(&(deadline, id));
            if self.waiting.get(&id).is_some_and(|w| w.backing_off) {
                self.attempt_again(now_ms, id);
                continue;
            }
            let Some(waiting) = self.waiting.get(&id) else {
                continue;
            };
            let message = format!(
                "no answer after {} s while {}",
                waiting.timeout_ms.div_ceil(1000),
                waiting.describe
            );
            let timed_out = Outcome::TimedOut { message };
            // A time-out leaves open whether the request took effect.
            if self.retry_later(now_ms, id, FailureCause::Unavailable, &timed_out) {
                continue;
            }
            if let Some(waiting) = self.stop_waiting(id) {
                self.dispatch_outcome(now_ms, id, waiting.owner, timed_out);
            }
        }
    }

    // ---- outputs ----

    /// The next thing to do, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`RelayEngine::handle_timeout`] must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.deadlines.first().map(|&(deadline, _)| deadline)
    }

    // ---- getters ----

    /// Relays of `session_id` not yet delivered or reported, the one in progress included.
    pub fn pending_relays(&self, session_id: &str) -> usize {
        self.sessions
            .get(session_id)
            .map_or(0, SessionRelays::pending)
    }

    /// Sessions that have relays pending.
    pub fn sessions_with_relays(&self) -> usize {
        self.sessions.len()
    }

    /// Tool calls still waiting for their result.
    pub fn pending_tool_calls(&self) -> usize {
        self.calls.len()
    }

    /// Agent-to-agent hand-offs since a person last wrote in `session_id`.
    pub fn hops(&self, session_id: &str) -> u32 {
        self.hops.get(session_id).copied().unwrap_or(0)
    }

    /// The number the next hand-off from `session_id` would take, or `None`
    /// when it would pass `max_hops`: the ping-pong guard in one place.
    pub(crate) fn next_hop(&self, session_id: &str) -> Option<u32> {
        let next = self.hops(session_id).saturating_add(1);
        (next <= self.config.max_hops).then_some(next)
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// True when nothing at all is pending: no relays, calls, requests or
    /// branch titles to keep up to date.
    pub fn is_quiet(&self) -> bool {
        self.sessions.is_empty()
            && self.failed_turns.is_empty()
            && self.calls.is_empty()
            && self.waiting.is_empty()
            && self.attempts.is_empty()
            && self.deadlines.is_empty()
            && self.branch_groups.is_empty()
            && self.branches.values().all(|b| b.is_finished())
            && self.parents.values().all(|p| p.notes.is_empty())
    }

    /// Requests and timers the engine waits on.
    pub(crate) fn requests_in_flight(&self) -> usize {
        self.waiting.len()
    }

    /// True when the engine remembers nothing about any session: what
    /// remains once every session it saw was deleted.
    pub fn is_empty(&self) -> bool {
        self.is_quiet()
            && self.hops.is_empty()
            && self.branches.is_empty()
            && self.parents.is_empty()
    }

    // ---- helpers for calls.rs and relays.rs ----

    fn allocate_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(crate) fn allocate_relay_id(&mut self) -> RelayId {
        RelayId(self.allocate_id())
    }

    fn timeout_for(&self, request: &Request) -> u64 {
        match request {
            Request::Summarize { .. } => self.config.summarize_timeout_ms,
            Request::AskPermission { .. } => self.config.permission_timeout_ms,
            _ => self.config.request_timeout_ms,
        }
    }

    fn issue(&mut self, now_ms: u64, owner: Owner, request: Request) -> ActionId {
        let timeout_ms = self.timeout_for(&request);
        let id = self.wait(now_ms, owner, timeout_ms, request.describe());
        if let Some(waiting) = self.waiting.get_mut(&id) {
            waiting.attempt = 1;
            waiting.request = request.is_retryable().then(|| request.clone());
        }
        self.actions.push_back(Action::Request {
            id,
            timeout_ms,
            request,
        });
        id
    }

    /// After a failure of `id` with `cause`: if another attempt may help and
    /// is safe, schedules it (keeping the same id, so its owner notices
    /// nothing) and returns true.
    fn retry_later(
        &mut self,
        now_ms: u64,
        id: ActionId,
        cause: FailureCause,
        failure: &Outcome,
    ) -> bool {
        let policy = self.config.retry.clone();
        let Some(waiting) = self.waiting.get_mut(&id) else {
            return false;
        };
        let Some(request) = &waiting.request else {
            return false;
        };
        let safe = match cause {
            FailureCause::Unreachable => true,
            FailureCause::Unavailable => request.is_idempotent(),
            FailureCause::Refused => false,
        };
        let next = waiting.attempt + 1;
        let Some(delay_ms) = policy.delay_before(next).filter(|_| safe) else {
            return false;
        };
        let reason = match failure {
            Outcome::Failed { message, .. } | Outcome::TimedOut { message } => message.as_str(),
            _ => "",
        };
        let message = format!(
            "{} failed ({reason}); attempt {next} of {} in {} ms",
            waiting.describe, policy.attempts, delay_ms
        );
        self.deadlines.remove(&(waiting.deadline_ms, id));
        waiting.backing_off = true;
        waiting.deadline_ms = now_ms.saturating_add(delay_ms);
        self.deadlines.insert((waiting.deadline_ms, id));
        self.log(LogLevel::Warn, message);
        true
    }

    /// The pause before another attempt of `id` is over: send it again,
    /// under an id of its own so a late answer to an earlier attempt cannot
    /// be taken for this one's.
    fn attempt_again(&mut self, now_ms: u64, id: ActionId) {
        let Some(request) = self.waiting.get(&id).and_then(|w| w.request.clone()) else {
            return;
        };
        if self.is_outdated(&request) {
            self.stop_waiting(id);
            return;
        }
        let sent_as = ActionId(self.allocate_id());
        let Some(waiting) = self.waiting.get_mut(&id) else {
            return;
        };
        // The previous attempt's id no longer counts; an outcome it gets
        // later finds nothing waiting for it.
        if waiting.current != id {
            self.attempts.remove(&waiting.current);
        }
        waiting.backing_off = false;
        waiting.attempt += 1;
        waiting.current = sent_as;
        waiting.deadline_ms = now_ms.saturating_add(waiting.timeout_ms);
        let timeout_ms = waiting.timeout_ms;
        self.deadlines.insert((waiting.deadline_ms, id));
        self.attempts.insert(sent_as, id);
        self.actions.push_back(Action::Request {
            id: sent_as,
            timeout_ms,
            request,
        });
    }

    /// Stops waiting for `id`, dropping its deadline and attempt ids.
    fn stop_waiting(&mut self, id: ActionId) -> Option<Waiting> {
        let waiting = self.waiting.remove(&id)?;
        self.deadlines.remove(&(waiting.deadline_ms, id));
        if waiting.current != id {
            self.attempts.remove(&waiting.current);
        }
        Some(waiting)
    }

    /// Whether `id` waits out the pause before another attempt: it was not
    /// received, so whatever happens meanwhile was not its doing.
    pub(crate) fn is_backing_off(&self, id: ActionId) -> bool {
        self.waiting.get(&id).is_some_and(|w| w.backing_off)
    }

    /// Registers something to wait for, which fails as timed out after `timeout_ms`.
    fn wait(
        &mut self,
        now_ms: u64,
        owner: Owner,
        timeout_ms: u64,
        describe: &'static str,
    ) -> ActionId {
        let id = ActionId(self.allocate_id());
        let deadline_ms = now_ms.saturating_add(timeout_ms);
        self.waiting.insert(
            id,
            Waiting {
                deadline_ms,
                timeout_ms,
                describe,
                owner,
                request: None,
                attempt: 0,
                backing_off: false,
                current: id,
            },
        );
        self.deadlines.insert((deadline_ms, id));
        id
    }

    /// Starts a time limit for something a relay waits for that is no request,
    /// such as an event. It ends with [`RelayEngine::forget_request`], or fails
    /// the relay with [`Outcome::TimedOut`].
    pub(crate) fn arm_relay_timer(
        &mut self,
        now_ms: u64,
        session_id: &str,
        describe: &'static str,
    ) -> ActionId {
        let owner = Owner::Relay {
            session_id: session_id.to_owned(),
        };
        let timeout_ms = self.config.request_timeout_ms;
        self.wait(now_ms, owner, timeout_ms, describe)
    }

    pub(crate) fn arm_closing_timer(
        &mut self,
        now_ms: u64,
        session_id: &str,
        timeout_ms: u64,
    ) -> ActionId {
        let owner = Owner::FailedTurn {
            session_id: session_id.to_owned(),
        };
        self.wait(
            now_ms,
            owner,
            timeout_ms,
            "waiting for OpenCode to close the failed turn",
        )
    }

    pub(crate) fn issue_for_call(
        &mut self,
        now_ms: u64,
        call: ToolCallId,
        request: Request,
    ) -> ActionId {
        self.issue(now_ms, Owner::Call(call), request)
    }

    pub(crate) fn issue_for_relay(
        &mut self,
        now_ms: u64,
        session_id: &str,
        request: Request,
    ) -> ActionId {
        let owner = Owner::Relay {
            session_id: session_id.to_owned(),
        };
        self.issue(now_ms, owner, request)
    }

    pub(crate) fn issue_for_branch(
        &mut self,
        now_ms: u64,
        session_id: &str,
        request: Request,
    ) -> ActionId {
        let owner = Owner::Branch {
            session_id: session_id.to_owned(),
        };
        self.issue(now_ms, owner, request)
    }

    /// A request whose outcome nobody waits for; failures are logged.
    pub(crate) fn issue_in_background(&mut self, now_ms: u64, request: Request) {
        let describe = request.describe();
        let owner = Owner::Background {
            describe,
            lost: None,
        };
        self.issue(now_ms, owner, request);
    }

    /// Sends a note a person must read; should it fail, a toast titled
    /// `lost` says so, with `describe`.
    pub(crate) fn issue_notice(
        &mut self,
        now_ms: u64,
        request: Request,
        describe: &'static str,
        lost: &'static str,
    ) {
        let owner = Owner::Background {
            describe,
            lost: Some(lost),
        };
        self.issue(now_ms, owner, request);
    }

    /// Stops waiting for `id`: its outcome no longer matters.
    pub(crate) fn forget_request(&mut self, id: ActionId) {
        self.stop_waiting(id);
    }

    fn dispatch_outcome(&mut self, now_ms: u64, id: ActionId, owner: Owner, outcome: Outcome) {
        match owner {
            Owner::Call(call) => self.call_outcome(now_ms, call, outcome),
            Owner::Relay { session_id } => self.relay_outcome(now_ms, &session_id, id, outcome),
            Owner::Branch { session_id } => self.branch_outcome(now_ms, &session_id, id, outcome),
            Owner::FailedTurn { session_id } => self.failed_turn_timed_out(now_ms, &session_id),
            Owner::Background { describe, lost } => match outcome {
                Outcome::Failed { message, .. } | Outcome::TimedOut { message } => {
                    let text = format!("{describe} failed: {message}");
                    if let Some(title) = lost {
                        self.log(LogLevel::Error, text.clone());
                        self.toast(ToastVariant::Error, title.to_owned(), text);
                    } else {
                        self.log(LogLevel::Warn, text);
                    }
                }
                _ => {}
            },
        }
    }

    pub(crate) fn push(&mut self, action: Action) {
        self.actions.push_back(action);
    }

    pub(crate) fn log(&mut self, level: LogLevel, message: String) {
        self.push(Action::Log { level, message });
    }

    pub(crate) fn toast(&mut self, variant: ToastVariant, title: String, message: String) {
        self.push(Action::Toast {
            variant,
            title,
            message,
        });
    }
}
