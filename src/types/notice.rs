use napi_derive::napi;
use opencode_sessions_engine::{
    Activity, BranchActivity, BranchError, BranchInfo, BranchProgress, CallFailure, Cancelled,
    Certainty, Delivery, Mode, NoteKind, Notice, Refusal, RelayFailure, RequestError, Restored,
    SessionError, WaitingBranch,
};

use super::{JsEngineStats, JsToolMode};

/// What happened, as data: the engine gives one for every ending, right
/// before the toasts, log lines and tool results made from it. Match on the
/// notice, never on the words.
#[derive(serde::Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[napi(
    discriminant = "kind",
    discriminant_case = "camelCase",
    object_from_js = false
)]
pub enum JsNotice {
    /// A `message` or `compact` call was accepted: the relay waits for the
    /// end of the calling turn, after `backlog` relays queued before it.
    RelayQueued {
        call: i64,
        relay: i64,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: JsToolMode,
        hop: u32,
        max_hops: u32,
        backlog: u32,
        within_turn: bool,
    },
    /// The session's turn ended and the relay's first request went out.
    RelayStarted {
        relay: i64,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: JsToolMode,
    },
    /// The relay's text arrived and its agent answered (or was answering).
    RelayDelivered {
        relay: i64,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: JsToolMode,
        delivery: JsDelivery,
    },
    /// The relay ended without its agent answering; `certainty` says
    /// whether its text may have arrived all the same.
    RelayFailed {
        relay: i64,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: JsToolMode,
        text: String,
        reason: JsRelayFailure,
        certainty: JsCertainty,
    },
    /// A person interrupted the session's turn: these hand-offs of it will not happen.
    HandOffsCancelled {
        session_id: String,
        items: Vec<JsCancelled>,
    },
    /// A `session` tool call was answered with an error before anything was sent.
    CallRefused {
        call: i64,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: JsToolMode,
        reason: JsRefusal,
    },
    /// A `session` tool call failed while it acted.
    CallFailed {
        call: i64,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: JsToolMode,
        failure: JsCallFailure,
        certainty: JsCertainty,
    },
    /// A `new` or `fork` call opened its branch and its agent is answering there.
    BranchStarted {
        call: i64,
        session_id: String,
        branch_session_id: String,
        title: String,
        caller_agent: String,
        agent: String,
        mode: JsToolMode,
        shown: bool,
        answer_follows: bool,
        hop: u32,
        max_hops: u32,
    },
    /// A `new` or `fork` call waits: its session runs `maxBranches`
    /// branches already; `place` is its place in line (1 is next).
    BranchWaiting {
        call: i64,
        session_id: String,
        caller_agent: String,
        agent: String,
        mode: JsToolMode,
        place: u32,
        max_branches: u32,
        answer_follows: bool,
    },
    /// A `message` to one of the session's branches was accepted; its answer
    /// comes home as a branch report. `busy`: it goes out when the branch's turn ends.
    FollowUpQueued {
        call: i64,
        relay: i64,
        session_id: String,
        branch_session_id: String,
        title: String,
        agent: String,
        busy: bool,
        hop: u32,
        max_hops: u32,
    },
    /// A `cancel` call stopped a branch; `error` when OpenCode did not confirm its turn stopped.
    BranchCancelled {
        call: i64,
        session_id: String,
        branch_session_id: String,
        title: String,
        dropped: Vec<JsCancelled>,
        error: Option<JsRequestError>,
    },
    /// A `cancel` call named a branch that had already finished: nothing changed.
    NothingToCancel {
        call: i64,
        session_id: String,
        branch: JsBranchInfo,
    },
    /// A branch raised a permission prompt or asked a question: it waits for a
    /// person. `shown`: the TUI was asked to show it (`switchTo`).
    BranchWaitsForPerson {
        session_id: String,
        parent_session_id: String,
        title: String,
        what: String,
        shown: bool,
    },
    /// A `status` call was answered at `nowMs`.
    StatusReported {
        call: i64,
        now_ms: i64,
        session_id: String,
        branches: Vec<JsBranchInfo>,
        waiting: Vec<JsWaitingBranch>,
        stats: JsEngineStats,
    },
    /// A branch's turn ended and its answer was read.
    BranchFinished {
        session_id: String,
        parent_session_id: String,
        title: String,
        agent: String,
        answer: String,
        call: Option<i64>,
    },
    /// A branch's turn ended in an error, or the branch was lost.
    BranchFailed {
        session_id: String,
        parent_session_id: String,
        title: String,
        agent: String,
        answer: String,
        error: JsBranchError,
        call: Option<i64>,
    },
    /// Every branch one turn opened with `mode` is done.
    BranchesDone {
        session_id: String,
        mode: JsToolMode,
        branches: Vec<String>,
        summarized: bool,
    },
    /// `resumeParent`: the parent's agent takes a turn on the branches' summary.
    ParentResumed {
        relay: i64,
        session_id: String,
        agent: String,
    },
    /// `resumeParent`, but the hop limit is reached: the parent stays idle.
    ParentNotResumed { session_id: String, max_hops: u32 },
    /// A note a person was meant to read could not be added to its session.
    NoteLost {
        session_id: String,
        note: JsNoteKind,
        error: JsRequestError,
    },
    /// A request nobody waits for (a rename, showing a session) failed.
    BackgroundRequestFailed {
        activity: JsActivity,
        error: JsRequestError,
    },
    /// A request failed for a passing reason and goes out again after `delayMs`.
    RetryScheduled {
        activity: JsActivity,
        error: JsRequestError,
        attempt: u32,
        attempts: u32,
        delay_ms: i64,
    },
    /// Hand-offs a stopped process left pending: each session was sent a note.
    HandOffsRestored { items: Vec<JsRestored> },
}

/// How a relay's text arrived.
#[derive(serde::Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[napi(
    discriminant = "kind",
    discriminant_case = "camelCase",
    object_from_js = false
)]
pub enum JsDelivery {
    /// Its agent's turn ended, `afterMs` after the relay was queued.
    Answered {
        after_ms: i64,
    },
    /// Its agent was answering when the session was deleted.
    AnsweringWhenDeleted,
    AnsweringWhenCancelled,
}

/// Whether a failure is certain, or the engine only stopped waiting.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[napi(string_enum = "camelCase")]
pub enum JsCertainty {
    Definite,
    Uncertain,
}

/// Why a request did not succeed.
#[derive(serde::Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[napi(
    discriminant = "kind",
    discriminant_case = "camelCase",
    object_from_js = false
)]
pub enum JsRequestError {
    Failed { message: String },
    TimedOut { seconds: i64, activity: JsActivity },
    ReportedTimeOut { message: String },
}

/// What the engine was doing or waiting for.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[napi(string_enum = "camelCase")]
pub enum JsActivity {
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
    WaitingForTurnToEnd,
    WaitingForCompaction,
    WaitingForOpenCodeToCompact,
    WaitingForAnswerToStart,
    WaitingForFailedTurnToClose,
}

/// Why a relay failed.
#[derive(serde::Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[napi(
    discriminant = "kind",
    discriminant_case = "camelCase",
    object_from_js = false,
    use_nullable = true
)]
pub enum JsRelayFailure {
    SessionDeleted,
    BranchCancelled,
    NotStarted {
        error: JsSessionError,
    },
    RequestFailed {
        activity: JsActivity,
        message: String,
    },
    TimedOut {
        error: JsRequestError,
    },
    NotCompacted {
        error: Option<JsSessionError>,
    },
    Internal {
        answer: String,
        activity: JsActivity,
    },
}

/// A `session.error` as the host reported it.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct JsSessionError {
    pub name: Option<String>,
    pub message: Option<String>,
}

/// One hand-off an interrupt cancelled.
#[derive(serde::Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[napi(
    discriminant = "kind",
    discriminant_case = "camelCase",
    object_from_js = false
)]
pub enum JsCancelled {
    ToolCall {
        call: i64,
        mode: JsToolMode,
        agent: String,
        text: String,
    },
    Relay {
        relay: i64,
        mode: JsToolMode,
        agent: String,
        text: String,
    },
}

/// Why a tool call was refused.
#[derive(serde::Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[napi(
    discriminant = "kind",
    discriminant_case = "camelCase",
    object_from_js = false
)]
pub enum JsRefusal {
    ModeDisabled {
        enabled: Vec<JsToolMode>,
    },
    /// The host cannot perform the mode; `lacks` says what it lacks.
    HostLacks {
        lacks: String,
        enabled: Vec<JsToolMode>,
    },
    AgentUnknown {
        reachable: Vec<String>,
    },
    AgentIsSubagent {
        reachable: Vec<String>,
    },
    AgentHidden {
        reachable: Vec<String>,
    },
    AgentNotAllowed {
        allowed: Vec<String>,
    },
    QueuedFromSubagent,
    HopLimit {
        max_hops: u32,
    },
    PermissionRefused {
        message: String,
    },
    PermissionUnanswered {
        timeout_ms: i64,
    },
    TurnOver,
    Interrupted,
    SessionDeleted,
    /// `session` names no branch of this session; `branches` are those it opened.
    NotABranch {
        named: String,
        branches: Vec<JsBranchInfo>,
    },
}

/// Why a tool call failed while it acted.
#[derive(serde::Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[napi(
    discriminant = "kind",
    discriminant_case = "camelCase",
    object_from_js = false
)]
pub enum JsCallFailure {
    AgentsUnavailable {
        error: JsRequestError,
    },
    BranchNotStarted {
        error: JsRequestError,
    },
    BranchNotAnswering {
        branch_session_id: String,
        error: JsRequestError,
    },
    Internal {
        answer: String,
        stage: String,
    },
}

/// Why a branch ended badly.
#[derive(serde::Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[napi(
    discriminant = "kind",
    discriminant_case = "camelCase",
    object_from_js = false
)]
pub enum JsBranchError {
    Answer { error: String },
    Session { error: JsSessionError },
    Interrupted,
    Unreadable { error: JsRequestError },
    SessionDeleted,
    Cancelled,
    Internal { answer: String },
}

/// A branch as `status` lists it.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[napi(object, object_from_js = false)]
pub struct JsBranchInfo {
    pub session_id: String,
    pub title: String,
    pub agent: String,
    pub state: JsBranchProgress,
}

#[derive(serde::Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[napi(
    discriminant = "kind",
    discriminant_case = "camelCase",
    object_from_js = false
)]
pub enum JsBranchProgress {
    /// Its turn runs since `startedMs`, `steps` model calls so far.
    Running {
        started_ms: i64,
        steps: u32,
        doing: JsBranchActivity,
    },
    Finished {
        answer: String,
    },
    Failed {
        error: JsBranchError,
    },
    Cancelled,
}

/// What a running branch is doing.
#[derive(serde::Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[napi(
    discriminant = "kind",
    discriminant_case = "camelCase",
    object_from_js = false
)]
pub enum JsBranchActivity {
    Starting,
    Writing,
    RunningTool { tool: String },
    WaitingForPerson { what: String, since_ms: i64 },
    Reporting,
}

impl From<BranchActivity> for JsBranchActivity {
    fn from(activity: BranchActivity) -> Self {
        match activity {
            BranchActivity::Starting => JsBranchActivity::Starting,
            BranchActivity::Writing => JsBranchActivity::Writing,
            BranchActivity::RunningTool { tool } => JsBranchActivity::RunningTool { tool },
            BranchActivity::WaitingForPerson { what, since_ms } => {
                JsBranchActivity::WaitingForPerson {
                    what,
                    since_ms: since_ms as i64,
                }
            }
            BranchActivity::Reporting => JsBranchActivity::Reporting,
        }
    }
}

/// A `new` or `fork` call waiting for its place, as `status` lists it.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[napi(object, object_from_js = false)]
pub struct JsWaitingBranch {
    pub mode: JsToolMode,
    pub agent: String,
    pub text: String,
    pub place: u32,
}

impl From<WaitingBranch> for JsWaitingBranch {
    fn from(
        WaitingBranch {
            mode,
            agent,
            text,
            place,
        }: WaitingBranch,
    ) -> Self {
        JsWaitingBranch {
            mode: mode.into(),
            agent,
            text,
            place: u32::try_from(place).unwrap_or(u32::MAX),
        }
    }
}

/// Which note a person was meant to read.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[napi(string_enum = "camelCase")]
pub enum JsNoteKind {
    BranchReport,
    LostAtStop,
}

/// A hand-off a stopped process left pending, as restored.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[napi(object, object_from_js = false)]
pub struct JsRestored {
    pub session_id: String,
    pub relay: i64,
    /// As kept on disk: `message` or `compact`.
    pub mode: String,
    pub caller_agent: String,
    pub agent: String,
    pub text: String,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn modes(modes: Vec<Mode>) -> Vec<JsToolMode> {
    modes.into_iter().map(JsToolMode::from).collect()
}

impl From<Notice> for JsNotice {
    fn from(notice: Notice) -> Self {
        match notice {
            Notice::RelayQueued {
                call,
                relay,
                session_id,
                caller_agent,
                agent,
                mode,
                hop,
                max_hops,
                backlog,
                within_turn,
            } => JsNotice::RelayQueued {
                call: call.0 as i64,
                relay: relay.0 as i64,
                session_id,
                caller_agent,
                agent,
                mode: mode.into(),
                hop,
                max_hops,
                backlog: count(backlog),
                within_turn,
            },
            Notice::RelayStarted {
                relay,
                session_id,
                caller_agent,
                agent,
                mode,
            } => JsNotice::RelayStarted {
                relay: relay.0 as i64,
                session_id,
                caller_agent,
                agent,
                mode: mode.into(),
            },
            Notice::RelayDelivered {
                relay,
                session_id,
                caller_agent,
                agent,
                mode,
                delivery,
            } => JsNotice::RelayDelivered {
                relay: relay.0 as i64,
                session_id,
                caller_agent,
                agent,
                mode: mode.into(),
                delivery: delivery.into(),
            },
            Notice::RelayFailed {
                relay,
                session_id,
                caller_agent,
                agent,
                mode,
                text,
                reason,
                certainty,
            } => JsNotice::RelayFailed {
                relay: relay.0 as i64,
                session_id,
                caller_agent,
                agent,
                mode: mode.into(),
                text,
                reason: reason.into(),
                certainty: certainty.into(),
            },
            Notice::HandOffsCancelled { session_id, items } => JsNotice::HandOffsCancelled {
                session_id,
                items: items.into_iter().map(JsCancelled::from).collect(),
            },
            Notice::CallRefused {
                call,
                session_id,
                caller_agent,
                agent,
                mode,
                reason,
            } => JsNotice::CallRefused {
                call: call.0 as i64,
                session_id,
                caller_agent,
                agent,
                mode: mode.into(),
                reason: reason.into(),
            },
            Notice::CallFailed {
                call,
                session_id,
                caller_agent,
                agent,
                mode,
                failure,
                certainty,
            } => JsNotice::CallFailed {
                call: call.0 as i64,
                session_id,
                caller_agent,
                agent,
                mode: mode.into(),
                failure: failure.into(),
                certainty: certainty.into(),
            },
            Notice::BranchStarted {
                call,
                session_id,
                branch_session_id,
                title,
                caller_agent,
                agent,
                mode,
                shown,
                answer_follows,
                hop,
                max_hops,
            } => JsNotice::BranchStarted {
                call: call.0 as i64,
                session_id,
                branch_session_id,
                title,
                caller_agent,
                agent,
                mode: mode.into(),
                shown,
                answer_follows,
                hop,
                max_hops,
            },
            Notice::BranchWaiting {
                call,
                session_id,
                caller_agent,
                agent,
                mode,
                place,
                max_branches,
                answer_follows,
            } => JsNotice::BranchWaiting {
                call: call.0 as i64,
                session_id,
                caller_agent,
                agent,
                mode: mode.into(),
                place: u32::try_from(place).unwrap_or(u32::MAX),
                max_branches,
                answer_follows,
            },
            Notice::FollowUpQueued {
                call,
                relay,
                session_id,
                branch_session_id,
                title,
                agent,
                busy,
                hop,
                max_hops,
            } => JsNotice::FollowUpQueued {
                call: call.0 as i64,
                relay: relay.0 as i64,
                session_id,
                branch_session_id,
                title,
                agent,
                busy,
                hop,
                max_hops,
            },
            Notice::BranchCancelled {
                call,
                session_id,
                branch_session_id,
                title,
                dropped,
                error,
            } => JsNotice::BranchCancelled {
                call: call.0 as i64,
                session_id,
                branch_session_id,
                title,
                dropped: dropped.into_iter().map(JsCancelled::from).collect(),
                error: error.map(JsRequestError::from),
            },
            Notice::NothingToCancel {
                call,
                session_id,
                branch,
            } => JsNotice::NothingToCancel {
                call: call.0 as i64,
                session_id,
                branch: branch.into(),
            },
            Notice::BranchWaitsForPerson {
                session_id,
                parent_session_id,
                title,
                what,
                shown,
            } => JsNotice::BranchWaitsForPerson {
                session_id,
                parent_session_id,
                title,
                what,
                shown,
            },
            Notice::StatusReported {
                call,
                now_ms,
                session_id,
                branches,
                waiting,
                stats,
            } => JsNotice::StatusReported {
                call: call.0 as i64,
                now_ms: now_ms as i64,
                session_id,
                branches: branches.into_iter().map(JsBranchInfo::from).collect(),
                waiting: waiting.into_iter().map(JsWaitingBranch::from).collect(),
                stats: stats.into(),
            },
            Notice::BranchFinished {
                session_id,
                parent_session_id,
                title,
                agent,
                answer,
                call,
            } => JsNotice::BranchFinished {
                session_id,
                parent_session_id,
                title,
                agent,
                answer,
                call: call.map(|call| call.0 as i64),
            },
            Notice::BranchFailed {
                session_id,
                parent_session_id,
                title,
                agent,
                answer,
                error,
                call,
            } => JsNotice::BranchFailed {
                session_id,
                parent_session_id,
                title,
                agent,
                answer,
                error: error.into(),
                call: call.map(|call| call.0 as i64),
            },
            Notice::BranchesDone {
                session_id,
                mode,
                branches,
                summarized,
            } => JsNotice::BranchesDone {
                session_id,
                mode: mode.into(),
                branches,
                summarized,
            },
            Notice::ParentResumed {
                relay,
                session_id,
                agent,
            } => JsNotice::ParentResumed {
                relay: relay.0 as i64,
                session_id,
                agent,
            },
            Notice::ParentNotResumed {
                session_id,
                max_hops,
            } => JsNotice::ParentNotResumed {
                session_id,
                max_hops,
            },
            Notice::NoteLost {
                session_id,
                note,
                error,
            } => JsNotice::NoteLost {
                session_id,
                note: note.into(),
                error: error.into(),
            },
            Notice::BackgroundRequestFailed { activity, error } => {
                JsNotice::BackgroundRequestFailed {
                    activity: activity.into(),
                    error: error.into(),
                }
            }
            Notice::RetryScheduled {
                activity,
                error,
                attempt,
                attempts,
                delay_ms,
            } => JsNotice::RetryScheduled {
                activity: activity.into(),
                error: error.into(),
                attempt,
                attempts,
                delay_ms: delay_ms as i64,
            },
            Notice::HandOffsRestored { items } => JsNotice::HandOffsRestored {
                items: items.into_iter().map(JsRestored::from).collect(),
            },
        }
    }
}

impl From<Delivery> for JsDelivery {
    fn from(delivery: Delivery) -> Self {
        match delivery {
            Delivery::Answered { after_ms } => JsDelivery::Answered {
                after_ms: after_ms as i64,
            },
            Delivery::AnsweringWhenDeleted => JsDelivery::AnsweringWhenDeleted,
            Delivery::AnsweringWhenCancelled => JsDelivery::AnsweringWhenCancelled,
        }
    }
}

impl From<Certainty> for JsCertainty {
    fn from(certainty: Certainty) -> Self {
        match certainty {
            Certainty::Definite => JsCertainty::Definite,
            Certainty::Uncertain => JsCertainty::Uncertain,
        }
    }
}

impl From<RequestError> for JsRequestError {
    fn from(error: RequestError) -> Self {
        match error {
            RequestError::Failed { message } => JsRequestError::Failed { message },
            RequestError::TimedOut { seconds, activity } => JsRequestError::TimedOut {
                seconds: seconds as i64,
                activity: activity.into(),
            },
            RequestError::ReportedTimeOut { message } => {
                JsRequestError::ReportedTimeOut { message }
            }
        }
    }
}

impl From<Activity> for JsActivity {
    fn from(activity: Activity) -> Self {
        match activity {
            Activity::ListingAgents => JsActivity::ListingAgents,
            Activity::CreatingSession => JsActivity::CreatingSession,
            Activity::ForkingSession => JsActivity::ForkingSession,
            Activity::SendingPrompt => JsActivity::SendingPrompt,
            Activity::ReadingModel => JsActivity::ReadingModel,
            Activity::Summarizing => JsActivity::Summarizing,
            Activity::AskingPermission => JsActivity::AskingPermission,
            Activity::RenamingSession => JsActivity::RenamingSession,
            Activity::ShowingSession => JsActivity::ShowingSession,
            Activity::ReadingAnswer => JsActivity::ReadingAnswer,
            Activity::ReportingToParent => JsActivity::ReportingToParent,
            Activity::StoppingSession => JsActivity::StoppingSession,
            Activity::TellingAboutLostHandOff => JsActivity::TellingAboutLostHandOff,
            Activity::WaitingForTurnToEnd => JsActivity::WaitingForTurnToEnd,
            Activity::WaitingForCompaction => JsActivity::WaitingForCompaction,
            Activity::WaitingForOpenCodeToCompact => JsActivity::WaitingForOpenCodeToCompact,
            Activity::WaitingForAnswerToStart => JsActivity::WaitingForAnswerToStart,
            Activity::WaitingForFailedTurnToClose => JsActivity::WaitingForFailedTurnToClose,
        }
    }
}

impl From<RelayFailure> for JsRelayFailure {
    fn from(failure: RelayFailure) -> Self {
        match failure {
            RelayFailure::SessionDeleted => JsRelayFailure::SessionDeleted,
            RelayFailure::BranchCancelled => JsRelayFailure::BranchCancelled,
            RelayFailure::NotStarted { error } => JsRelayFailure::NotStarted {
                error: error.into(),
            },
            RelayFailure::RequestFailed { activity, message } => JsRelayFailure::RequestFailed {
                activity: activity.into(),
                message,
            },
            RelayFailure::TimedOut { error } => JsRelayFailure::TimedOut {
                error: error.into(),
            },
            RelayFailure::NotCompacted { error } => JsRelayFailure::NotCompacted {
                error: error.map(JsSessionError::from),
            },
            RelayFailure::Internal { answer, activity } => JsRelayFailure::Internal {
                answer,
                activity: activity.into(),
            },
        }
    }
}

impl From<SessionError> for JsSessionError {
    fn from(SessionError { name, message }: SessionError) -> Self {
        JsSessionError { name, message }
    }
}

impl From<Cancelled> for JsCancelled {
    fn from(cancelled: Cancelled) -> Self {
        match cancelled {
            Cancelled::ToolCall {
                call,
                mode,
                agent,
                text,
            } => JsCancelled::ToolCall {
                call: call.0 as i64,
                mode: mode.into(),
                agent,
                text,
            },
            Cancelled::Relay {
                relay,
                mode,
                agent,
                text,
            } => JsCancelled::Relay {
                relay: relay.0 as i64,
                mode: mode.into(),
                agent,
                text,
            },
        }
    }
}

impl From<Refusal> for JsRefusal {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::ModeDisabled { enabled } => JsRefusal::ModeDisabled {
                enabled: modes(enabled),
            },
            Refusal::HostLacks { lacks, enabled } => JsRefusal::HostLacks {
                lacks,
                enabled: modes(enabled),
            },
            Refusal::AgentUnknown { reachable } => JsRefusal::AgentUnknown { reachable },
            Refusal::AgentIsSubagent { reachable } => JsRefusal::AgentIsSubagent { reachable },
            Refusal::AgentHidden { reachable } => JsRefusal::AgentHidden { reachable },
            Refusal::AgentNotAllowed { allowed } => JsRefusal::AgentNotAllowed { allowed },
            Refusal::QueuedFromSubagent => JsRefusal::QueuedFromSubagent,
            Refusal::HopLimit { max_hops } => JsRefusal::HopLimit { max_hops },
            Refusal::PermissionRefused { message } => JsRefusal::PermissionRefused { message },
            Refusal::PermissionUnanswered { timeout_ms } => JsRefusal::PermissionUnanswered {
                timeout_ms: timeout_ms as i64,
            },
            Refusal::TurnOver => JsRefusal::TurnOver,
            Refusal::Interrupted => JsRefusal::Interrupted,
            Refusal::SessionDeleted => JsRefusal::SessionDeleted,
            Refusal::NotABranch { named, branches } => JsRefusal::NotABranch {
                named,
                branches: branches.into_iter().map(JsBranchInfo::from).collect(),
            },
        }
    }
}

impl From<CallFailure> for JsCallFailure {
    fn from(failure: CallFailure) -> Self {
        match failure {
            CallFailure::AgentsUnavailable { error } => JsCallFailure::AgentsUnavailable {
                error: error.into(),
            },
            CallFailure::BranchNotStarted { error } => JsCallFailure::BranchNotStarted {
                error: error.into(),
            },
            CallFailure::BranchNotAnswering {
                branch_session_id,
                error,
            } => JsCallFailure::BranchNotAnswering {
                branch_session_id,
                error: error.into(),
            },
            CallFailure::Internal { answer, stage } => JsCallFailure::Internal { answer, stage },
        }
    }
}

impl From<BranchError> for JsBranchError {
    fn from(error: BranchError) -> Self {
        match error {
            BranchError::Answer { error } => JsBranchError::Answer { error },
            BranchError::Session { error } => JsBranchError::Session {
                error: error.into(),
            },
            BranchError::Interrupted => JsBranchError::Interrupted,
            BranchError::Unreadable { error } => JsBranchError::Unreadable {
                error: error.into(),
            },
            BranchError::SessionDeleted => JsBranchError::SessionDeleted,
            BranchError::Cancelled => JsBranchError::Cancelled,
            BranchError::Internal { answer } => JsBranchError::Internal { answer },
        }
    }
}

impl From<BranchInfo> for JsBranchInfo {
    fn from(
        BranchInfo {
            session_id,
            title,
            agent,
            state,
        }: BranchInfo,
    ) -> Self {
        JsBranchInfo {
            session_id,
            title,
            agent,
            state: state.into(),
        }
    }
}

impl From<BranchProgress> for JsBranchProgress {
    fn from(progress: BranchProgress) -> Self {
        match progress {
            BranchProgress::Running {
                started_ms,
                steps,
                doing,
            } => JsBranchProgress::Running {
                started_ms: started_ms as i64,
                steps,
                doing: doing.into(),
            },
            BranchProgress::Finished { answer } => JsBranchProgress::Finished { answer },
            BranchProgress::Failed { error } => JsBranchProgress::Failed {
                error: error.into(),
            },
            BranchProgress::Cancelled => JsBranchProgress::Cancelled,
        }
    }
}

impl From<NoteKind> for JsNoteKind {
    fn from(note: NoteKind) -> Self {
        match note {
            NoteKind::BranchReport => JsNoteKind::BranchReport,
            NoteKind::LostAtStop => JsNoteKind::LostAtStop,
        }
    }
}

impl From<Restored> for JsRestored {
    fn from(
        Restored {
            session_id,
            relay,
            mode,
            caller_agent,
            agent,
            text,
        }: Restored,
    ) -> Self {
        JsRestored {
            session_id,
            relay: relay.0 as i64,
            mode,
            caller_agent,
            agent,
            text,
        }
    }
}
