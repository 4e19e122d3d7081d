//! Requests in flight and timers: the ids they go out under, their time
//! limits, and trying again those that failed for a passing reason. This is
//! the only place that sends an [`Action::Request`], and it holds every
//! deadline [`crate::RelayEngine::poll_timeout`] reports. What comes back (an outcome, or
//! the end of a time limit) is handed to the request's [`Owner`] as an
//! [`Answer`]; a request nobody waits for ends here, with a notice when it fails.

use crate::action::{Action, Request};
use crate::config::{EngineConfig, RetryPolicy};
use crate::fast_hash::HashMap;
use crate::ids::{ActionId, RelayId, ToolCallId};
use crate::notice::{Activity, NoteKind, Notice, RequestError};
use crate::outcome::{FailureCause, Outcome};
use crate::outputs::Outputs;
use std::collections::BTreeSet;

#[derive(Debug)]
pub(crate) struct Requests {
    next_id: u64,
    waiting: HashMap<ActionId, Waiting>,
    /// Ids of retried attempts, each mapped to the id its owner waits on.
    attempts: HashMap<ActionId, ActionId>,
    deadlines: BTreeSet<(u64, ActionId)>,
    request_timeout_ms: u64,
    summarize_timeout_ms: u64,
    permission_timeout_ms: u64,
    retry: RetryPolicy,
}

/// A request in flight (or a timer) and whom its outcome belongs to.
#[derive(Debug)]
struct Waiting {
    deadline_ms: u64,
    timeout_ms: u64,
    activity: Activity,
    owner: Owner,
    /// What another attempt would send.
    retry_with: Retry,
    attempt: u32,
    /// Waiting out the pause before the next attempt.
    backing_off: bool,
    /// The id the attempt in flight was sent with; outcomes of earlier
    /// attempts carry other ids and no longer count.
    current: ActionId,
}

/// The request another attempt of a [`Waiting`] would send.
#[derive(Debug)]
enum Retry {
    /// A timer, or a request never tried twice (a person's permission answer).
    Never,
    /// The request's action is still in the outbox: its copy is taken when
    /// it leaves ([`Requests::sent`]), so a host that only reads the action
    /// there leaves the engine the original.
    InOutbox,
    Kept(Request),
}

/// Whom the answer to a request or timer goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner {
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
    /// A branch's report to its parent: the next one waits for it, so the
    /// parent receives them in the order they were written.
    Report {
        session_id: String,
    },
    /// Nothing waits for it: a failure is only told, as a lost note when it
    /// carried one a person was meant to read.
    Background {
        note: Option<(NoteKind, String)>,
    },
}

/// What became of a request or timer, for its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The host's outcome: anything but a failure.
    Outcome(Outcome),
    /// The host reported a failure.
    Failed {
        message: String,
        cause: FailureCause,
    },
    /// No outcome came in time (or the host reported a time-out): the
    /// request may still have taken effect.
    TimedOut(RequestError),
}

impl Answer {
    fn from_outcome(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Failed { message, cause } => Answer::Failed { message, cause },
            Outcome::TimedOut { message } => {
                Answer::TimedOut(RequestError::ReportedTimeOut { message })
            }
            outcome @ (Outcome::Done
            | Outcome::Agents { .. }
            | Outcome::Session { .. }
            | Outcome::Answer { .. }
            | Outcome::Model { .. }) => Answer::Outcome(outcome),
        }
    }

    /// The outcome, or why there is none.
    pub fn into_result(self) -> Result<Outcome, RequestError> {
        match self {
            Answer::Outcome(outcome) => Ok(outcome),
            Answer::Failed { message, .. } => Err(RequestError::Failed { message }),
            Answer::TimedOut(error) => Err(error),
        }
    }

    /// Whether what was asked may have happened though no success came
    /// back: after a time-out, or a server error.
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            Answer::TimedOut(_)
            | Answer::Failed {
                cause: FailureCause::Unavailable,
                ..
            } => true,
            Answer::Failed {
                cause: FailureCause::Unreachable | FailureCause::Refused,
                ..
            }
            | Answer::Outcome(_) => false,
        }
    }

    /// Why it did not succeed, if it did not.
    pub fn error(&self) -> Option<RequestError> {
        match self {
            Answer::Outcome(_) => None,
            Answer::Failed { message, .. } => Some(RequestError::Failed {
                message: message.clone(),
            }),
            Answer::TimedOut(error) => Some(error.clone()),
        }
    }
}

/// An answer due to its owner.
#[derive(Debug)]
pub(crate) struct Due {
    pub id: ActionId,
    pub owner: Owner,
    pub answer: Answer,
}

impl Requests {
    pub fn new(config: &EngineConfig) -> Self {
        Requests {
            next_id: 1,
            waiting: HashMap::default(),
            attempts: HashMap::default(),
            deadlines: BTreeSet::new(),
            request_timeout_ms: config.request_timeout_ms,
            summarize_timeout_ms: config.summarize_timeout_ms,
            permission_timeout_ms: config.permission_timeout_ms,
            retry: config.retry.clone(),
        }
    }

    /// A fresh id: requests, tool calls and relays count from one sequence.
    pub fn allocate_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn allocate_relay_id(&mut self) -> RelayId {
        RelayId(self.allocate_id())
    }

    fn timeout_for(&self, request: &Request) -> u64 {
        match request {
            Request::Summarize { .. } => self.summarize_timeout_ms,
            Request::AskPermission { .. } => self.permission_timeout_ms,
            Request::ListAgents
            | Request::CreateSession { .. }
            | Request::ForkSession { .. }
            | Request::Prompt { .. }
            | Request::LastUserModel { .. }
            | Request::RenameSession { .. }
            | Request::SelectSession { .. }
            | Request::LastAnswer { .. }
            | Request::AbortSession { .. }
            | Request::Note { .. } => self.request_timeout_ms,
        }
    }

    /// Sends `request`; its answer goes to `owner`.
    pub fn issue(
        &mut self,
        now_ms: u64,
        owner: Owner,
        request: Request,
        out: &mut Outputs,
    ) -> ActionId {
        let timeout_ms = self.timeout_for(&request);
        let id = self.insert(now_ms, owner, timeout_ms, request.activity(), |waiting| {
            waiting.attempt = 1;
            if request.is_retryable() {
                waiting.retry_with = Retry::InOutbox;
            }
        });
        out.request(Action::Request {
            id,
            timeout_ms,
            request,
        });
        id
    }

    /// A request whose outcome nobody waits for; a failure is told.
    pub fn issue_in_background(&mut self, now_ms: u64, request: Request, out: &mut Outputs) {
        self.issue(now_ms, Owner::Background { note: None }, request, out);
    }

    /// Adds a note a person must read to the session, recorded under
    /// `agent`; should it fail, a [`Notice::NoteLost`] says so.
    pub fn note(
        &mut self,
        now_ms: u64,
        kind: NoteKind,
        session_id: &str,
        agent: &str,
        text: String,
        out: &mut Outputs,
    ) {
        let owner = Owner::Background {
            note: Some((kind, session_id.to_owned())),
        };
        let request = Request::Note {
            session_id: session_id.to_owned(),
            agent: agent.to_owned(),
            text,
        };
        self.issue(now_ms, owner, request, out);
    }

    /// Adds a branch report to the parent `session_id`; its answer goes to
    /// the owner [`Owner::Report`].
    pub fn report(
        &mut self,
        now_ms: u64,
        session_id: &str,
        agent: &str,
        text: String,
        out: &mut Outputs,
    ) -> ActionId {
        let owner = Owner::Report {
            session_id: session_id.to_owned(),
        };
        let request = Request::Note {
            session_id: session_id.to_owned(),
            agent: agent.to_owned(),
            text,
        };
        self.issue(now_ms, owner, request, out)
    }

    /// Starts a time limit on something that is no request, such as an
    /// event; it ends with [`Requests::forget`], or answers `owner` with
    /// [`Answer::TimedOut`].
    /// The time limit of a summarize request.
    pub fn summarize_timeout_ms(&self) -> u64 {
        self.summarize_timeout_ms
    }

    pub fn timer(&mut self, now_ms: u64, owner: Owner, activity: Activity) -> ActionId {
        let timeout_ms = self.request_timeout_ms;
        self.wait(now_ms, owner, timeout_ms, activity)
    }

    /// A timer of its own length.
    pub fn timer_lasting(
        &mut self,
        now_ms: u64,
        owner: Owner,
        timeout_ms: u64,
        activity: Activity,
    ) -> ActionId {
        self.wait(now_ms, owner, timeout_ms, activity)
    }

    /// Registers something to wait for, which times out after `timeout_ms`.
    fn wait(&mut self, now_ms: u64, owner: Owner, timeout_ms: u64, activity: Activity) -> ActionId {
        self.insert(now_ms, owner, timeout_ms, activity, |_| {})
    }

    /// `wait`, with what `set` adds to the entry.
    fn insert(
        &mut self,
        now_ms: u64,
        owner: Owner,
        timeout_ms: u64,
        activity: Activity,
        set: impl FnOnce(&mut Waiting),
    ) -> ActionId {
        let id = ActionId(self.allocate_id());
        let deadline_ms = now_ms.saturating_add(timeout_ms);
        let mut waiting = Waiting {
            deadline_ms,
            timeout_ms,
            activity,
            owner,
            retry_with: Retry::Never,
            attempt: 0,
            backing_off: false,
            current: id,
        };
        set(&mut waiting);
        self.waiting.insert(id, waiting);
        self.deadlines.insert((deadline_ms, id));
        id
    }

    /// The request sent as `sent_as` left the outbox: if it may be tried
    /// again, what `request` gives is kept for that (the request itself, when
    /// the host only read it; a copy, when it took it).
    pub fn sent(&mut self, sent_as: ActionId, request: impl FnOnce() -> Request) {
        let id = self.attempts.get(&sent_as).copied().unwrap_or(sent_as);
        if let Some(waiting) = self.waiting.get_mut(&id) {
            if matches!(waiting.retry_with, Retry::InOutbox) && waiting.current == sent_as {
                waiting.retry_with = Retry::Kept(request());
            }
        }
    }

    /// The request `waiting` may be tried again with: the copy it keeps, or
    /// the one still in the outbox.
    fn kept<'a>(waiting: &'a Waiting, out: &'a Outputs) -> Option<&'a Request> {
        match &waiting.retry_with {
            Retry::Kept(request) => Some(request),
            Retry::InOutbox => out.queued_request(waiting.current),
            Retry::Never => None,
        }
    }

    /// Stops waiting for `id`: its outcome no longer matters.
    pub fn forget(&mut self, id: ActionId) {
        self.stop_waiting(id);
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
    pub fn is_backing_off(&self, id: ActionId) -> bool {
        self.waiting.get(&id).is_some_and(|w| w.backing_off)
    }

    /// Requests and timers waited on.
    pub fn in_flight(&self) -> usize {
        self.waiting.len()
    }

    /// Nothing waited on, no timer armed.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.attempts.is_empty() && self.deadlines.is_empty()
    }

    /// When [`Requests::next_due`] must be called next, if ever.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.first().map(|&(deadline, _)| deadline)
    }

    /// The outcome of the request sent as `sent_as`. `None` when no request
    /// with that id is waiting (a late outcome, which changes nothing), or
    /// when it is tried again; `Some(None)` when it was taken here.
    pub fn outcome(
        &mut self,
        now_ms: u64,
        sent_as: ActionId,
        outcome: Outcome,
        out: &mut Outputs,
    ) -> Option<Option<Due>> {
        let id = self.attempts.remove(&sent_as).unwrap_or(sent_as);
        match self.waiting.get(&id) {
            None => return None,
            Some(waiting) if waiting.backing_off || waiting.current != sent_as => return None,
            Some(_) => {}
        }
        let answer = Answer::from_outcome(outcome);
        if let Answer::Failed { cause, message } = &answer {
            let error = RequestError::Failed {
                message: message.clone(),
            };
            if self.retry_later(now_ms, id, *cause, error, out) {
                return Some(None);
            }
        }
        Some(self.answered(id, answer, out))
    }

    /// Time passed to `now_ms`: the next request or timer whose time ran out
    /// and that its owner must hear of, if any. Call until `None`, routing
    /// each; retries happen on the way. `is_outdated` tells a retried request
    /// a newer one replaced.
    pub fn next_due(
        &mut self,
        now_ms: u64,
        is_outdated: impl Fn(&Request) -> bool,
        out: &mut Outputs,
    ) -> Option<Due> {
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now_ms {
                break;
            }
            self.deadlines.remove(&(deadline, id));
            if self.is_backing_off(id) {
                self.attempt_again(now_ms, id, &is_outdated, out);
                continue;
            }
            let Some(waiting) = self.waiting.get(&id) else {
                continue;
            };
            let timed_out = RequestError::TimedOut {
                seconds: waiting.timeout_ms.div_ceil(1000),
                activity: waiting.activity,
            };
            // A time-out leaves open whether the request took effect.
            let cause = FailureCause::Unavailable;
            if self.retry_later(now_ms, id, cause, timed_out.clone(), out) {
                continue;
            }
            if let Some(due) = self.answered(id, Answer::TimedOut(timed_out), out) {
                return Some(due);
            }
        }
        None
    }

    /// Stops waiting for `id` and hands its answer on, or (for a request
    /// nobody waits for) tells of its failure here.
    fn answered(&mut self, id: ActionId, answer: Answer, out: &mut Outputs) -> Option<Due> {
        let waiting = self.stop_waiting(id)?;
        match waiting.owner {
            Owner::Background { note } => {
                if let Some(error) = answer.error() {
                    out.notice(match note {
                        Some((note, session_id)) => Notice::NoteLost {
                            session_id,
                            note,
                            error,
                        },
                        None => Notice::BackgroundRequestFailed {
                            activity: waiting.activity,
                            error,
                        },
                    });
                }
                None
            }
            owner @ (Owner::Call(_)
            | Owner::Relay { .. }
            | Owner::Branch { .. }
            | Owner::FailedTurn { .. }
            | Owner::Report { .. }) => Some(Due { id, owner, answer }),
        }
    }

    /// After a failure of `id` with `cause`: if another attempt may help and
    /// is safe, schedules it (keeping the same id, so its owner notices
    /// nothing) and returns true.
    fn retry_later(
        &mut self,
        now_ms: u64,
        id: ActionId,
        cause: FailureCause,
        error: RequestError,
        out: &mut Outputs,
    ) -> bool {
        let Some(waiting) = self.waiting.get_mut(&id) else {
            return false;
        };
        let Some(request) = Self::kept(waiting, out) else {
            return false;
        };
        let safe = match cause {
            FailureCause::Unreachable => true,
            FailureCause::Unavailable => request.is_idempotent(),
            FailureCause::Refused => false,
        };
        let next = waiting.attempt + 1;
        let Some(delay_ms) = self.retry.delay_before(next).filter(|_| safe) else {
            return false;
        };
        self.deadlines.remove(&(waiting.deadline_ms, id));
        waiting.backing_off = true;
        waiting.deadline_ms = now_ms.saturating_add(delay_ms);
        self.deadlines.insert((waiting.deadline_ms, id));
        out.notice(Notice::RetryScheduled {
            activity: waiting.activity,
            error,
            attempt: next,
            attempts: self.retry.attempts,
            delay_ms,
        });
        true
    }

    /// The pause before another attempt of `id` is over: send it again,
    /// under an id of its own so a late answer to an earlier attempt cannot
    /// be taken for this one's.
    fn attempt_again(
        &mut self,
        now_ms: u64,
        id: ActionId,
        is_outdated: impl Fn(&Request) -> bool,
        out: &mut Outputs,
    ) {
        let Some(request) = self
            .waiting
            .get(&id)
            .and_then(|waiting| Self::kept(waiting, out).cloned())
        else {
            return;
        };
        if is_outdated(&request) {
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
        out.request(Action::Request {
            id: sent_as,
            timeout_ms,
            request,
        });
    }
}
