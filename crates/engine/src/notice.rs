//! What happened, as data: the engine emits a [`Notice`] for every ending
//! (a relay delivered, failed or cancelled, a tool call refused, a branch
//! finished, ...) as an [`crate::Action::Notice`], right before the toasts,
//! log lines and tool results made from it. Those words are made from the
//! notice in one place (`render.rs`); a host or a test that needs to know what
//! happened matches on the notice, never on the words.

use crate::ids::{RelayId, ToolCallId};
use crate::mode::Mode;
use crate::stats::EngineStats;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Notice {
    /// A `message` or `compact` call was accepted: the relay waits for the
    /// end of the calling turn, after `backlog` relays queued before it.
    RelayQueued {
        call: ToolCallId,
        relay: RelayId,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: Mode,
        /// The hand-off's number since a person last wrote.
        hop: u32,
        max_hops: u32,
        backlog: usize,
        /// The host ends with the calling turn (OpenCode's `run`): the relay
        /// goes out as that turn's last written reply is complete, inside it.
        within_turn: bool,
    },
    /// The session's turn ended and the relay's first request went out.
    RelayStarted {
        relay: RelayId,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: Mode,
    },
    /// The relay's text arrived and its agent answered (or was answering).
    RelayDelivered {
        relay: RelayId,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: Mode,
        delivery: Delivery,
    },
    /// The relay ended without its agent answering; `certainty` says
    /// whether its text may have arrived all the same.
    RelayFailed {
        relay: RelayId,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: Mode,
        text: String,
        reason: RelayFailure,
        certainty: Certainty,
    },
    /// A person interrupted the session's turn: these hand-offs of it
    /// (relays queued, tool calls not yet decided) will not happen.
    HandOffsCancelled {
        session_id: String,
        items: Vec<Cancelled>,
    },
    /// A `session` tool call was answered with an error before anything
    /// was sent.
    CallRefused {
        call: ToolCallId,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: Mode,
        reason: Refusal,
    },
    /// A `session` tool call failed while it acted.
    CallFailed {
        call: ToolCallId,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: Mode,
        failure: CallFailure,
        certainty: Certainty,
    },
    /// A `new` or `fork` call opened its branch and its agent is answering there.
    BranchStarted {
        call: ToolCallId,
        session_id: String,
        branch_session_id: String,
        title: String,
        caller_agent: String,
        agent: String,
        mode: Mode,
        /// The TUI was asked to show the branch.
        shown: bool,
        /// The call's result waits for the branch's answer (the host ends
        /// with the calling turn), and comes with `BranchFinished`/`BranchFailed`.
        answer_follows: bool,
        /// The branch's hop count, inherited from its parent.
        hop: u32,
        max_hops: u32,
    },
    /// A `new` or `fork` call waits: its session already runs
    /// `max_branches` branches. It opens its branch, in call order, once
    /// fewer run; `place` is its place in that line (1 is next).
    BranchWaiting {
        call: ToolCallId,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: Mode,
        place: usize,
        max_branches: u32,
        /// The call's result waits for the branch's answer (the host ends
        /// with the calling turn), so this says nothing to the model.
        answer_follows: bool,
    },
    /// A `message` call to one of the session's branches was accepted: the
    /// text goes to the branch now (`busy` false) or when its turn ends, and
    /// its answer comes home as a branch report.
    FollowUpQueued {
        call: ToolCallId,
        relay: RelayId,
        session_id: String,
        branch_session_id: String,
        title: String,
        agent: String,
        busy: bool,
        hop: u32,
        max_hops: u32,
    },
    /// A `cancel` call stopped a branch: it is no longer followed, what it
    /// had queued (`dropped`) will not happen, and OpenCode was asked to
    /// stop its turn; `error` when OpenCode did not confirm that.
    BranchCancelled {
        call: ToolCallId,
        session_id: String,
        branch_session_id: String,
        title: String,
        dropped: Vec<Cancelled>,
        error: Option<RequestError>,
    },
    /// A `cancel` call named a branch that had already finished: nothing changed.
    NothingToCancel {
        call: ToolCallId,
        session_id: String,
        branch: BranchInfo,
    },
    /// A branch raised a permission prompt or asked a question: it waits for
    /// a person. `shown` when the TUI was asked to show it (`switchTo`).
    BranchWaitsForPerson {
        session_id: String,
        parent_session_id: String,
        title: String,
        what: String,
        shown: bool,
    },
    /// A `status` call was answered at `now_ms`.
    StatusReported {
        call: ToolCallId,
        now_ms: u64,
        session_id: String,
        branches: Vec<BranchInfo>,
        /// Calls waiting for a place among the running branches, in line order.
        waiting: Vec<WaitingBranch>,
        stats: EngineStats,
    },
    /// A branch's turn ended and its answer was read.
    BranchFinished {
        session_id: String,
        parent_session_id: String,
        title: String,
        agent: String,
        /// The answer as reports carry it (trimmed).
        answer: String,
        /// The call whose result is this report, when it waited for it.
        call: Option<ToolCallId>,
    },
    /// A branch's turn ended in an error, or the branch was lost.
    BranchFailed {
        session_id: String,
        parent_session_id: String,
        title: String,
        agent: String,
        answer: String,
        error: BranchError,
        /// The call whose result is this report, when it waited for it.
        call: Option<ToolCallId>,
    },
    /// Every branch one turn opened with `mode` is done.
    BranchesDone {
        session_id: String,
        mode: Mode,
        branches: Vec<String>,
        /// A side-by-side summary was noted in the parent.
        summarized: bool,
    },
    /// `resumeParent`: the parent's agent takes a turn on the branches' summary.
    ParentResumed {
        relay: RelayId,
        session_id: String,
        agent: String,
    },
    /// `resumeParent`, but the hop limit is reached: the parent stays idle.
    ParentNotResumed { session_id: String, max_hops: u32 },
    /// A note a person was meant to read could not be added to its session.
    NoteLost {
        session_id: String,
        note: NoteKind,
        error: RequestError,
    },
    /// A request nobody waits for (a rename, showing a session) failed.
    BackgroundRequestFailed {
        activity: Activity,
        error: RequestError,
    },
    /// A request failed for a passing reason and goes out again after `delay_ms`.
    RetryScheduled {
        activity: Activity,
        error: RequestError,
        /// The attempt that will be made, 2 for the first retry.
        attempt: u32,
        attempts: u32,
        delay_ms: u64,
    },
    /// Hand-offs a stopped OpenCode process left pending: each session was
    /// sent a note saying what was not delivered.
    HandOffsRestored { items: Vec<Restored> },
}

/// How a relay's text arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Delivery {
    /// Its agent's turn ended, `after_ms` after the relay was queued.
    Answered { after_ms: u64 },
    /// Its agent was answering when the session was deleted.
    AnsweringWhenDeleted,
    /// Its agent was answering when a `cancel` stopped the branch.
    AnsweringWhenCancelled,
}

/// Whether a failure is certain, or the engine only stopped waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Certainty {
    /// It certainly did not happen.
    Definite,
    /// It may have happened after all (a time-out, a server error).
    Uncertain,
}

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum RequestError {
    /// The host reported it failed, saying why.
    Failed { message: String },
    /// No outcome came within `seconds` while the engine waited for `activity`.
    TimedOut { seconds: u64, activity: Activity },
    /// The host reported a time-out itself ([`crate::Outcome::TimedOut`]).
    ReportedTimeOut { message: String },
}

/// What the engine was doing or waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Activity {
    ListingAgents,
    CreatingSession,
    ForkingSession,
    SendingPrompt,
    ReadingModel,
    Summarizing,
    AskingPermission,
    RenamingSession,
    ShowingSession,
    ReadingAnswer,
    ReportingToParent,
    StoppingSession,
    TellingAboutLostHandOff,
    /// A compact relay's summary waits for the session's turn to end.
    WaitingForTurnToEnd,
    /// A compact relay waits for its compaction to finish.
    WaitingForCompaction,
    /// The timer on `session.compacted` after the summary returned.
    WaitingForOpenCodeToCompact,
    /// The timer on the answer's turn after OpenCode accepted the prompt.
    WaitingForAnswerToStart,
    /// The timer on OpenCode closing a failed turn.
    WaitingForFailedTurnToClose,
}

/// Why a relay failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum RelayFailure {
    /// The session was deleted first.
    SessionDeleted,
    /// Its session, a branch, was cancelled while its prompt was unconfirmed.
    BranchCancelled,
    /// OpenCode accepted the prompt but reported an error instead of answering.
    NotStarted { error: SessionError },
    /// A request failed while the relay was at `activity`.
    RequestFailed { activity: Activity, message: String },
    /// A request or wait got no answer in time.
    TimedOut { error: RequestError },
    /// The compaction's turn ended without `session.compacted`; `error` is
    /// the `session.error` seen meanwhile.
    NotCompacted { error: Option<SessionError> },
    /// An answer of the wrong kind: a bug.
    Internal { answer: String, activity: Activity },
}

/// A `session.error` as OpenCode reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionError {
    pub name: Option<String>,
    pub message: Option<String>,
}

/// One hand-off an interrupt cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Cancelled {
    /// A tool call not yet decided; it was answered with an error.
    ToolCall {
        call: ToolCallId,
        mode: Mode,
        agent: String,
        text: String,
    },
    /// A queued relay, or a compact relay still before its prompt.
    Relay {
        relay: RelayId,
        mode: Mode,
        agent: String,
        text: String,
    },
}

/// Why a tool call was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Refusal {
    /// The `modes` option turns the mode off; `enabled` are the modes left.
    ModeDisabled {
        enabled: Vec<Mode>,
    },
    /// The host cannot perform the mode: it lacks `lacks` (see `HostLimit`);
    /// `enabled` are the modes left.
    HostLacks {
        lacks: String,
        enabled: Vec<Mode>,
    },
    /// No agent of that name; `reachable` are the agents that can answer.
    AgentUnknown {
        reachable: Vec<String>,
    },
    AgentIsSubagent {
        reachable: Vec<String>,
    },
    AgentHidden {
        reachable: Vec<String>,
    },
    /// The `agents` option does not list the agent.
    AgentNotAllowed {
        allowed: Vec<String>,
    },
    /// `message` or `compact` from inside a subagent's task.
    QueuedFromSubagent,
    /// `max_hops` hand-offs since a person last wrote.
    HopLimit {
        max_hops: u32,
    },
    /// OpenCode's permission system refused, saying why.
    PermissionRefused {
        message: String,
    },
    /// Nobody answered the permission prompt within `timeout_ms`.
    PermissionUnanswered {
        timeout_ms: u64,
    },
    /// The calling turn ended before a queued hand-off was decided.
    TurnOver,
    /// A person interrupted the calling turn.
    Interrupted,
    /// The calling session was deleted.
    SessionDeleted,
    /// `session` names no branch this session opened (nor the start of the
    /// title of exactly one); `branches` are those it did.
    NotABranch {
        named: String,
        branches: Vec<BranchInfo>,
    },
}

/// Why a tool call failed while it acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum CallFailure {
    /// The agents could not be listed, so the target could not be checked.
    AgentsUnavailable { error: RequestError },
    /// The branch session could not be made (or that was not confirmed).
    BranchNotStarted { error: RequestError },
    /// The branch session exists, but its prompt failed (or was not confirmed).
    BranchNotAnswering {
        branch_session_id: String,
        error: RequestError,
    },
    /// An answer of the wrong kind at `stage`: a bug.
    Internal { answer: String, stage: String },
}

/// Why a branch ended badly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum BranchError {
    /// Its last answer ended in this error.
    Answer { error: String },
    /// A `session.error` during its turn, or before it started.
    Session { error: SessionError },
    /// A person interrupted it.
    Interrupted,
    /// Its answer could not be read.
    Unreadable { error: RequestError },
    /// The branch session was deleted.
    SessionDeleted,
    /// A `cancel` call of its parent stopped it.
    Cancelled,
    /// An answer of the wrong kind: a bug.
    Internal { answer: String },
}

/// A branch as `status` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BranchInfo {
    pub session_id: String,
    pub title: String,
    pub agent: String,
    pub state: BranchProgress,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum BranchProgress {
    /// Its turn runs (or its answer is being read), since `started_ms`,
    /// `steps` model calls so far.
    Running {
        started_ms: u64,
        steps: u32,
        doing: BranchActivity,
    },
    Finished {
        answer: String,
    },
    Failed {
        error: BranchError,
    },
    /// Stopped by a `cancel` call of its parent.
    Cancelled,
}

/// What a running branch is doing, as far as its events tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum BranchActivity {
    /// Its prompt was accepted; its turn has not started yet.
    Starting,
    /// The model is writing (or thinking): no tool runs.
    Writing,
    /// The tool `tool` runs.
    RunningTool { tool: String },
    /// A permission prompt or a question waits for a person since `since_ms`.
    WaitingForPerson { what: String, since_ms: u64 },
    /// Its turn ended; its answer is being read.
    Reporting,
}

/// A `new` or `fork` call waiting for fewer branches to run, as `status` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitingBranch {
    pub mode: Mode,
    pub agent: String,
    pub text: String,
    /// 1 is next.
    pub place: usize,
}

/// Which note a person was meant to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NoteKind {
    /// A branch's report, or the summary of a turn's branches.
    BranchReport,
    /// What a stopped OpenCode process did not deliver.
    LostAtStop,
}

/// A hand-off a stopped process left pending, as restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    pub session_id: String,
    pub relay: RelayId,
    /// As kept on disk: `message` or `compact`.
    pub mode: String,
    pub caller_agent: String,
    pub agent: String,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use serde_json::json;

    #[test]
    fn notices_serialize_tagged_by_kind_inside_a_notice_action() {
        let action = Action::Notice {
            notice: Box::new(Notice::RelayFailed {
                relay: RelayId(4),
                session_id: "s1".into(),
                caller_agent: "build".into(),
                agent: "plan".into(),
                mode: Mode::Message,
                text: "Review".into(),
                reason: RelayFailure::TimedOut {
                    error: RequestError::TimedOut {
                        seconds: 15,
                        activity: Activity::SendingPrompt,
                    },
                },
                certainty: Certainty::Uncertain,
            }),
        };
        assert_eq!(
            serde_json::to_value(&action).unwrap(),
            json!({"type": "notice", "notice": {
                "kind": "relayFailed", "relay": 4, "sessionId": "s1",
                "callerAgent": "build", "agent": "plan", "mode": "message", "text": "Review",
                "reason": {"kind": "timedOut", "error": {"kind": "timedOut", "seconds": 15, "activity": "sendingPrompt"}},
                "certainty": "uncertain"
            }})
        );
    }
}
