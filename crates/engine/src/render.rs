//! Everything the engine says to people and models, in one place: the
//! toasts, log lines and tool results made from each [`Notice`], the names of
//! what the engine was doing ([`Activity`]), and the texts it sends into
//! sessions (titles, notes, reports, the `status` answer). No other module
//! holds a sentence; they emit notices or call the functions here.

use crate::decimal::Decimal;
use crate::error::InputError;
use crate::ids::{RelayId, ToolCallId};
use crate::mode::Mode;
use crate::notice::{
    Activity, BranchActivity, BranchError, BranchInfo, BranchProgress, CallFailure, Cancelled,
    Certainty, Delivery, NoteKind, Notice, Refusal, RelayFailure, RequestError, Restored,
    SessionError, WaitingBranch,
};
use crate::shown;
use crate::stats::EngineStats;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ToastVariant {
    Info,
    Success,
    Warning,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// One thing said about a notice, in the order it is said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Said {
    Toast {
        variant: ToastVariant,
        title: String,
        message: String,
    },
    Log {
        level: LogLevel,
        message: String,
    },
    /// The result of the `session` tool call the notice ends.
    Reply {
        call: ToolCallId,
        ok: bool,
        text: String,
    },
}

impl Said {
    fn log(level: LogLevel, message: String) -> Self {
        Said::Log { level, message }
    }

    fn toast(variant: ToastVariant, title: impl Into<String>, message: String) -> Self {
        Said::Toast {
            variant,
            title: title.into(),
            message,
        }
    }
}

/// A log line written piece by piece: the lines of every hand-off are made
/// on the path from a turn's end to its prompt, where `format!`'s machinery
/// was most of their cost.
struct Line(String);

impl Line {
    /// `relay #4`, the start of every relay's line.
    fn relay(relay: RelayId) -> Self {
        Line(String::with_capacity(96))
            .text("relay #")
            .number(relay.0)
    }

    fn text(mut self, text: &str) -> Self {
        self.0.push_str(text);
        self
    }

    fn number(self, number: u64) -> Self {
        self.text(Decimal::new(number).as_str())
    }

    /// `message → plan`, the line's end.
    fn hand_off(self, mode: Mode, agent: &str) -> String {
        self.text(mode.as_str()).text(" → ").text(agent).0
    }
}

/// What is said of a [`Notice::RelayStarted`], from its fields: a relay
/// starts on every idle edge that hands off, so its words can be made
/// without the notice when nobody listens to notices (see
/// [`crate::outputs::Outputs::relay_started`]).
pub(crate) fn relay_started(
    relay: RelayId,
    session_id: &str,
    mode: Mode,
    agent: &str,
    mut say: impl FnMut(Said),
) {
    match mode {
        Mode::Compact => say(Said::toast(
            ToastVariant::Info,
            "Compacting session",
            format!("{agent} will answer once the summary is written."),
        )),
        Mode::Message | Mode::New | Mode::Fork | Mode::Status | Mode::Cancel => {}
    }
    say(Said::log(
        LogLevel::Info,
        Line::relay(relay)
            .text(" starting in ")
            .text(session_id)
            .text(": ")
            .hand_off(mode, agent),
    ));
}

/// The toasts, log lines and tool result that tell people and the model
/// about `notice`, in the order they are shown.
pub(crate) fn said(notice: &Notice) -> Vec<Said> {
    match notice {
        Notice::RelayQueued {
            call,
            relay,
            session_id,
            agent,
            mode,
            hop,
            max_hops,
            backlog,
            within_turn,
            ..
        } => {
            let text = match (mode, within_turn) {
                (Mode::Compact, false) => queued_compact(*relay, agent, *backlog),
                (Mode::Compact, true) => queued_compact_within_turn(*relay, agent, *backlog),
                (Mode::Message | Mode::New | Mode::Fork | Mode::Status | Mode::Cancel, false) => {
                    queued_message(*relay, agent, *backlog)
                }
                (Mode::Message | Mode::New | Mode::Fork | Mode::Status | Mode::Cancel, true) => {
                    queued_message_within_turn(*relay, agent, *backlog)
                }
            };
            vec![
                Said::log(
                    LogLevel::Info,
                    Line::relay(*relay)
                        .text(" queued in ")
                        .text(session_id)
                        .text(" (hop ")
                        .number(u64::from(*hop))
                        .text(" of ")
                        .number(u64::from(*max_hops))
                        .text("): ")
                        .hand_off(*mode, agent),
                ),
                ok_reply(*call, text),
            ]
        }
        Notice::RelayStarted {
            relay,
            session_id,
            agent,
            mode,
            ..
        } => {
            let mut said = Vec::with_capacity(2);
            relay_started(*relay, session_id, *mode, agent, |s| said.push(s));
            said
        }
        Notice::RelayDelivered {
            relay,
            session_id,
            agent,
            delivery,
            ..
        } => {
            let line = Line::relay(*relay)
                .text(" delivered in ")
                .text(session_id)
                .text(": ")
                .text(agent);
            let line = match delivery {
                Delivery::Answered { after_ms } => line
                    .text(" answered (")
                    .number(*after_ms)
                    .text(" ms after it was queued)"),
                Delivery::AnsweringWhenDeleted => {
                    line.text(" was answering when the session was deleted")
                }
                Delivery::AnsweringWhenCancelled => {
                    line.text(" was answering when the branch was cancelled")
                }
            };
            vec![Said::log(LogLevel::Info, line.0)]
        }
        Notice::RelayFailed {
            relay,
            agent,
            text,
            reason,
            certainty,
            ..
        } => {
            let message = relay_failed(*relay, &relay_failure(reason), text, *certainty);
            vec![
                Said::log(LogLevel::Error, message.clone()),
                Said::toast(
                    ToastVariant::Error,
                    format!("Hand-off to {agent} failed"),
                    message,
                ),
            ]
        }
        Notice::HandOffsCancelled { session_id, items } => {
            let title = interrupted_title(items.len());
            let message = items
                .iter()
                .map(|item| match item {
                    Cancelled::ToolCall {
                        mode, agent, text, ..
                    } => cancelled_line(mode.as_str(), agent, text),
                    Cancelled::Relay {
                        relay, agent, text, ..
                    } => cancelled_line(&relay.to_string(), agent, text),
                })
                .collect::<Vec<_>>()
                .join("\n");
            vec![
                Said::log(
                    LogLevel::Info,
                    format!("{title} in {session_id}: {message}"),
                ),
                Said::toast(ToastVariant::Warning, title, message),
            ]
        }
        Notice::CallRefused {
            call,
            agent,
            mode,
            reason,
            ..
        } => {
            let text = refusal(*mode, agent, reason);
            let toast = match reason {
                Refusal::HopLimit { .. } => Some("Hand-off refused: hop limit"),
                Refusal::PermissionUnanswered { .. } => Some("Hand-off not made"),
                Refusal::TurnOver => Some("Hand-off not queued"),
                Refusal::ModeDisabled { .. }
                | Refusal::HostLacks { .. }
                | Refusal::AgentUnknown { .. }
                | Refusal::AgentIsSubagent { .. }
                | Refusal::AgentHidden { .. }
                | Refusal::AgentNotAllowed { .. }
                | Refusal::QueuedFromSubagent
                | Refusal::PermissionRefused { .. }
                | Refusal::Interrupted
                | Refusal::SessionDeleted
                | Refusal::NotABranch { .. } => None,
            };
            let mut said = Vec::with_capacity(3);
            if let Some(title) = toast {
                said.push(Said::toast(ToastVariant::Warning, title, text.clone()));
            }
            said.extend(failed_reply(*call, text));
            said
        }
        Notice::CallFailed {
            call,
            agent,
            mode,
            failure,
            certainty,
            ..
        } => {
            let text = call_failure(*mode, agent, failure, *certainty);
            let mut said = vec![Said::toast(
                ToastVariant::Error,
                "Hand-off failed",
                text.clone(),
            )];
            said.extend(failed_reply(*call, text));
            said
        }
        Notice::BranchStarted {
            call,
            session_id,
            branch_session_id,
            title,
            agent,
            mode,
            shown,
            answer_follows,
            hop,
            max_hops,
            ..
        } => {
            let log = Said::log(
                LogLevel::Info,
                format!("{mode} → {agent}: started {branch_session_id} \"{title}\" from {session_id} (hop {hop} of {max_hops})"),
            );
            // The result comes with the branch's answer.
            if *answer_follows {
                return vec![log];
            }
            let text = match mode {
                Mode::Fork => started_fork(agent, branch_session_id, title, *shown),
                Mode::New | Mode::Message | Mode::Compact | Mode::Status | Mode::Cancel => {
                    started_new(agent, branch_session_id, title, *shown)
                }
            };
            vec![log, ok_reply(*call, text)]
        }
        Notice::BranchWaitsForPerson {
            session_id,
            title,
            what,
            shown,
            ..
        } => {
            let text = waits_for_person(session_id, title, what, *shown);
            vec![
                Said::log(LogLevel::Info, text.clone()),
                Said::toast(ToastVariant::Warning, "A branch waits for you", text),
            ]
        }
        Notice::StatusReported {
            call,
            now_ms,
            branches,
            waiting,
            stats,
            ..
        } => {
            let mut text = branch_status(branches, *now_ms);
            if !waiting.is_empty() {
                text.push_str(&format!("\n\n{}", waiting_status(waiting)));
            }
            text.push_str(&format!("\n\n{}", engine_summary(stats)));
            vec![ok_reply(*call, text)]
        }
        Notice::BranchWaiting {
            call,
            session_id,
            agent,
            mode,
            place,
            max_branches,
            answer_follows,
            ..
        } => {
            let log = Said::log(
                LogLevel::Info,
                format!("{mode} → {agent} from {session_id} waits, number {place} in line (maxBranches = {max_branches})"),
            );
            if *answer_follows {
                return vec![log];
            }
            vec![log, ok_reply(*call, branch_waiting(*mode, agent, *place, *max_branches))]
        }
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
        } => vec![
            Said::log(
                LogLevel::Info,
                format!("{relay} follows up branch {branch_session_id} from {session_id} (hop {hop} of {max_hops}) → {agent}"),
            ),
            ok_reply(*call, follow_up_queued(*relay, branch_session_id, title, agent, *busy)),
        ],
        Notice::BranchCancelled {
            call,
            session_id,
            branch_session_id,
            title,
            dropped,
            error,
        } => {
            let text = branch_cancelled(branch_session_id, title, dropped, error.as_ref());
            vec![
                Said::log(
                    LogLevel::Info,
                    format!("branch {branch_session_id} \"{title}\" of {session_id} cancelled"),
                ),
                Said::toast(ToastVariant::Info, "Branch cancelled", text.clone()),
                ok_reply(*call, text),
            ]
        }
        Notice::NothingToCancel { call, branch, .. } => {
            vec![ok_reply(*call, nothing_to_cancel(branch))]
        }
        Notice::BranchFinished {
            session_id,
            title,
            agent,
            answer,
            call,
            ..
        } => {
            let mut said = vec![Said::log(
                LogLevel::Info,
                format!("branch {session_id} \"{title}\" finished"),
            )];
            if let Some(call) = call {
                let report = BranchReport {
                    title,
                    session_id,
                    agent,
                    answer,
                    error: None,
                    waited: None,
                };
                said.push(ok_reply(*call, branch_report(&report)));
            }
            said
        }
        Notice::BranchFailed {
            session_id,
            title,
            agent,
            answer,
            error,
            call,
            ..
        } => {
            let mut said = vec![Said::log(
                LogLevel::Info,
                format!(
                    "branch {session_id} \"{title}\" finished with an error: {}",
                    branch_error(error)
                ),
            )];
            if let Some(call) = call {
                let report = BranchReport {
                    title,
                    session_id,
                    agent,
                    answer,
                    error: Some(error),
                    waited: None,
                };
                said.push(ok_reply(*call, branch_report(&report)));
            }
            said
        }
        Notice::BranchesDone { .. } => Vec::new(),
        Notice::ParentResumed {
            relay, session_id, ..
        } => vec![Said::log(
            LogLevel::Info,
            format!("{relay} resumes {session_id} once its branches are done"),
        )],
        Notice::ParentNotResumed { max_hops, .. } => {
            let text = format!(
                "The branches are done, but the parent session was not resumed: agents have handed work to each other {max_hops} times since a person last wrote there (maxHops = {max_hops}). The summary is in the session."
            );
            vec![
                Said::log(LogLevel::Warn, text.clone()),
                Said::toast(ToastVariant::Warning, "Parent not resumed", text),
            ]
        }
        Notice::NoteLost { note, error, .. } => {
            let (doing, title) = match note {
                NoteKind::BranchReport => {
                    (activity(Activity::ReportingToParent), "Branch report lost")
                }
                NoteKind::LostAtStop => (
                    activity(Activity::TellingAboutLostHandOff),
                    "Hand-off lost at restart",
                ),
            };
            let text = format!("{doing} failed: {}", request_error(error));
            vec![
                Said::log(LogLevel::Error, text.clone()),
                Said::toast(ToastVariant::Error, title, text),
            ]
        }
        Notice::BackgroundRequestFailed {
            activity: doing,
            error,
        } => vec![Said::log(
            LogLevel::Warn,
            format!("{} failed: {}", activity(*doing), request_error(error)),
        )],
        Notice::RetryScheduled {
            activity: doing,
            error,
            attempt,
            attempts,
            delay_ms,
        } => vec![Said::log(
            LogLevel::Warn,
            format!(
                "{} failed ({}); attempt {attempt} of {attempts} in {delay_ms} ms",
                activity(*doing),
                request_error(error)
            ),
        )],
        Notice::HandOffsRestored { items } => {
            let title = lost_at_stop_title(items.len());
            let message = items
                .iter()
                .map(|item| cancelled_line(&item.relay.to_string(), &item.agent, &item.text))
                .collect::<Vec<_>>()
                .join("\n");
            vec![
                Said::log(LogLevel::Warn, format!("{title}: {message}")),
                Said::toast(ToastVariant::Warning, title, message),
            ]
        }
    }
}

fn ok_reply(call: ToolCallId, text: String) -> Said {
    Said::Reply {
        call,
        ok: true,
        text,
    }
}

/// A failed tool call is logged as well as answered.
fn failed_reply(call: ToolCallId, text: String) -> [Said; 2] {
    [
        Said::log(LogLevel::Warn, format!("session tool call failed: {text}")),
        Said::Reply {
            call,
            ok: false,
            text,
        },
    ]
}

/// What the engine was doing, for logs and error messages.
pub(crate) fn activity(activity: Activity) -> &'static str {
    match activity {
        Activity::ListingAgents => "listing agents",
        Activity::CreatingSession => "creating a session",
        Activity::ForkingSession => "forking the session",
        Activity::SendingPrompt => "sending the prompt",
        Activity::ReadingModel => "reading the session's model",
        Activity::Summarizing => "summarizing the session",
        Activity::AskingPermission => "asking for permission",
        Activity::RenamingSession => "renaming the session",
        Activity::ShowingSession => "showing the session in the TUI",
        Activity::ReadingAnswer => "reading the branch's answer",
        Activity::ReportingToParent => "reporting to the parent session",
        Activity::StoppingSession => "stopping the branch's turn",
        Activity::TellingAboutLostHandOff => {
            "telling the session about a hand-off lost when OpenCode stopped"
        }
        Activity::WaitingForTurnToEnd => "waiting for the session's turn to end",
        Activity::WaitingForCompaction => "waiting for the compaction to finish",
        Activity::WaitingForOpenCodeToCompact => "waiting for OpenCode to finish the compaction",
        Activity::WaitingForAnswerToStart => "waiting for the answer to start",
        Activity::WaitingForFailedTurnToClose => "waiting for OpenCode to close the failed turn",
    }
}

/// Why a request did not succeed, in words.
pub(crate) fn request_error(error: &RequestError) -> String {
    match error {
        RequestError::Failed { message } | RequestError::ReportedTimeOut { message } => {
            message.clone()
        }
        RequestError::TimedOut {
            seconds,
            activity: doing,
        } => format!("no answer after {seconds} s while {}", activity(*doing)),
    }
}

/// A `session.error`: `name: message`, or whichever of them there is.
pub(crate) fn session_error(error: &SessionError) -> String {
    match (&error.name, &error.message) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        (Some(text), None) | (None, Some(text)) => text.clone(),
        (None, None) => "unknown error".to_owned(),
    }
}

/// Why a compaction is given up when its turn ended without a summary.
const NO_SUMMARY: &str = "the session was not compacted: OpenCode reported no session.compacted, so the summary was interrupted or failed";

fn relay_failure(reason: &RelayFailure) -> String {
    match reason {
        RelayFailure::SessionDeleted => "the session was deleted".to_owned(),
        RelayFailure::BranchCancelled => {
            "the branch was cancelled before OpenCode confirmed the prompt".to_owned()
        }
        RelayFailure::NotStarted { error } => {
            format!(
                "OpenCode did not start the answer: {}",
                session_error(error)
            )
        }
        RelayFailure::RequestFailed {
            activity: doing,
            message,
        } => format!("{} failed: {message}", activity(*doing)),
        RelayFailure::TimedOut { error } => request_error(error),
        RelayFailure::NotCompacted { error: Some(error) } => {
            format!("{NO_SUMMARY}; OpenCode reported: {}", session_error(error))
        }
        RelayFailure::NotCompacted { error: None } => NO_SUMMARY.to_owned(),
        RelayFailure::Internal {
            answer,
            activity: doing,
        } => format!(
            "internal error: unexpected answer {answer} while {}",
            activity(*doing)
        ),
    }
}

fn refusal(mode: Mode, agent: &str, reason: &Refusal) -> String {
    match reason {
        Refusal::ModeDisabled { enabled } => mode_disabled(mode, enabled),
        Refusal::HostLacks { lacks, enabled } => host_lacks(mode, lacks, enabled),
        Refusal::AgentUnknown { reachable } => {
            agent_refused(agent, "is not an agent of this project", reachable)
        }
        Refusal::AgentIsSubagent { reachable } => agent_refused(
            agent,
            "is a subagent: subagents run only inside a task, not as the agent of a session",
            reachable,
        ),
        Refusal::AgentHidden { reachable } => {
            agent_refused(agent, "is one of OpenCode's internal agents", reachable)
        }
        Refusal::AgentNotAllowed { allowed } => agent_not_allowed(agent, allowed),
        Refusal::QueuedFromSubagent => queued_from_subagent(mode),
        Refusal::HopLimit { max_hops } => hop_limit(*max_hops),
        Refusal::PermissionRefused { message } => {
            permission_denied(&permission_pattern(mode, agent), message)
        }
        Refusal::PermissionUnanswered { timeout_ms } => {
            permission_unanswered(&permission_pattern(mode, agent), *timeout_ms)
        }
        Refusal::TurnOver => turn_ended_before_queueing(agent),
        Refusal::Interrupted => {
            "Cancelled: the turn was interrupted before the hand-off was made. Nothing was sent."
                .to_owned()
        }
        Refusal::SessionDeleted => {
            "The session was deleted before the hand-off was queued. Nothing was sent.".to_owned()
        }
        Refusal::NotABranch { named, branches } => not_a_branch(named, branches),
    }
}

fn call_failure(mode: Mode, agent: &str, failure: &CallFailure, certainty: Certainty) -> String {
    match failure {
        CallFailure::AgentsUnavailable { error } => agents_unavailable(&request_error(error)),
        CallFailure::BranchNotStarted { error } => {
            let what = match mode {
                Mode::Fork => "fork",
                Mode::New | Mode::Message | Mode::Compact | Mode::Status | Mode::Cancel => {
                    "new session"
                }
            };
            branch_failed(what, &request_error(error), certainty)
        }
        CallFailure::BranchNotAnswering {
            branch_session_id,
            error,
        } => branch_not_answering(agent, branch_session_id, &request_error(error), certainty),
        CallFailure::Internal { answer, stage } => format!(
            "Internal error: unexpected answer {answer} while {stage}. Nothing more was done; please report this."
        ),
    }
}

/// Why a branch ended badly, in words.
pub(crate) fn branch_error(error: &BranchError) -> String {
    match error {
        BranchError::Answer { error } => error.clone(),
        BranchError::Session { error } => session_error(error),
        BranchError::Interrupted => "interrupted by the user".to_owned(),
        BranchError::Unreadable { error } => {
            format!("its answer could not be read: {}", request_error(error))
        }
        BranchError::SessionDeleted => "the session was deleted".to_owned(),
        BranchError::Cancelled => "cancelled from the session that opened it".to_owned(),
        BranchError::Internal { answer } => format!("internal error: unexpected answer {answer}"),
    }
}

const TITLE_CHARS: usize = 60;
const PREVIEW_CHARS: usize = 120;

/// First line of `text`, whitespace folded, cut to `max` characters. It
/// goes into titles and toasts, so control characters and bidi overrides
/// count as spaces: they could garble a terminal or reorder the line.
pub(crate) fn preview(text: &str, max: usize) -> String {
    let folded = text
        .lines()
        .map(|line| {
            line.split(|c: char| c.is_whitespace() || c.is_control() || is_bidi_control(c))
                .filter(|word| !word.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    if folded.chars().count() <= max {
        folded
    } else {
        let cut: String = folded.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Marks that change the direction of the text around them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `fork 2/3 · build · Implement using Redux`; a lone branch has no count.
pub(crate) fn branch_title(mode: Mode, index: u32, total: u32, agent: &str, text: &str) -> String {
    let count = if total > 1 {
        format!(" {index}/{total}")
    } else {
        String::new()
    };
    format!("{mode}{count} · {agent} · {}", preview(text, TITLE_CHARS))
}

/// The permission pattern a hand-off is checked against, e.g. `fork → build`.
pub(crate) fn permission_pattern(mode: Mode, agent: &str) -> String {
    format!("{mode} → {agent}")
}

pub(crate) fn compaction_note(caller: &str, agent: &str) -> String {
    if caller == agent {
        format!("[Session compacted at {caller}'s request — {agent} continues]")
    } else {
        format!("[Session compacted — {caller} handed over to {agent}]")
    }
}

fn queued_message(relay: RelayId, agent: &str, backlog: usize) -> String {
    format!(
        "Queued as {relay} for {agent}{}: when your turn ends, your text arrives in this session as a user message and {agent} answers it. End your turn now; the reply will not come back to you inside this turn.",
        after(backlog)
    )
}

fn queued_compact(relay: RelayId, agent: &str, backlog: usize) -> String {
    format!(
        "Queued as {relay}{}: when your turn ends, this session is summarized, then {agent} answers your text on the summary. End your turn now.",
        after(backlog)
    )
}

fn queued_message_within_turn(relay: RelayId, agent: &str, backlog: usize) -> String {
    format!(
        "Queued as {relay} for {agent}{}: this OpenCode (`opencode run`) exits when your turn ends, so your text goes out as your turn's last written reply is complete, and {agent} answers it in this session before OpenCode exits. {RUN_TURN_END}",
        after(backlog)
    )
}

fn queued_compact_within_turn(relay: RelayId, agent: &str, backlog: usize) -> String {
    format!(
        "Queued as {relay}{}: this OpenCode (`opencode run`) exits when your turn ends, so as your turn's last written reply is complete this session is summarized, then {agent} answers your text on the summary before OpenCode exits. {RUN_TURN_END}",
        after(backlog)
    )
}

/// What a turn must end with for `opencode run` to hand over.
const RUN_TURN_END: &str = "End your turn now with a short written reply, calling no tool after it: a tool called after that reply hands over before the tool's result comes back, and a turn that ends without a written reply cannot hand over (the hand-off is then reported at OpenCode's next start).";

fn after(backlog: usize) -> String {
    match backlog {
        0 => String::new(),
        1 => " (after 1 earlier hand-off)".to_owned(),
        n => format!(" (after {n} earlier hand-offs)"),
    }
}

fn started_new(agent: &str, session_id: &str, title: &str, shown: bool) -> String {
    format!(
        "Started a new session {session_id} \"{title}\" without this conversation's history; {agent} is answering there now. {} This session goes on here.",
        follow(shown)
    )
}

fn started_fork(agent: &str, session_id: &str, title: &str, shown: bool) -> String {
    format!(
        "Forked this session into {session_id} \"{title}\" with the full history; {agent} is answering there now. {} This session goes on here.",
        follow(shown)
    )
}

fn follow(shown: bool) -> &'static str {
    if shown {
        "The TUI switches to it; /sessions leads back here."
    } else {
        "It runs on its own: open it by title from /sessions to follow it."
    }
}

fn mode_disabled(mode: Mode, enabled: &[Mode]) -> String {
    let enabled: Vec<&str> = enabled.iter().map(|m| m.as_str()).collect();
    format!(
        "Mode \"{mode}\" is turned off in this project's opencode-sessions options. Modes you can use: {}. Nothing was sent.",
        enabled.join(", ")
    )
}

fn host_lacks(mode: Mode, lacks: &str, enabled: &[Mode]) -> String {
    let enabled: Vec<&str> = enabled.iter().map(|m| m.as_str()).collect();
    format!(
        "Mode \"{mode}\" is not available here: this OpenCode lacks {lacks}. Modes you can use: {}. Nothing was sent.",
        enabled.join(", ")
    )
}

fn agent_not_allowed(agent: &str, allowed: &[String]) -> String {
    format!(
        "Agent \"{agent}\" is not among the agents this project's opencode-sessions options allow: {}. Nothing was sent.",
        allowed.join(", ")
    )
}

fn queued_from_subagent(mode: Mode) -> String {
    format!(
        "Mode \"{mode}\" is not available inside a subagent task: the task ends with your turn and nobody would read the answer. Return your result instead, or use new or fork. Nothing was sent."
    )
}

fn hop_limit(max_hops: u32) -> String {
    format!(
        "Refused: agents have handed work to each other {max_hops} times since a person last wrote in this session (or the one it branched from) (limit maxHops = {max_hops}). Finish your turn and report where things stand; a person's message lets the agents go on. Nothing was sent."
    )
}

fn permission_denied(pattern: &str, reason: &str) -> String {
    format!("Permission \"session\" refused \"{pattern}\": {reason} Nothing was sent.")
}

fn permission_unanswered(pattern: &str, timeout_ms: u64) -> String {
    format!(
        "Nobody answered the permission prompt for \"{pattern}\" within {} min. Nothing was sent; ask again when someone is there.",
        timeout_ms.div_ceil(60_000)
    )
}

/// Toast after a person interrupted a turn that had hand-offs waiting.
fn interrupted_title(count: usize) -> String {
    match count {
        1 => "Interrupted: 1 hand-off cancelled".to_owned(),
        n => format!("Interrupted: {n} hand-offs cancelled"),
    }
}

fn lost_at_stop_title(count: usize) -> String {
    match count {
        1 => "OpenCode stopped: 1 hand-off not delivered".to_owned(),
        n => format!("OpenCode stopped: {n} hand-offs not delivered"),
    }
}

/// One line of the interrupt toast: `relay #3 → plan: "Review the diff"`.
fn cancelled_line(what: &str, agent: &str, text: &str) -> String {
    format!("{what} → {agent}: \"{}\"", preview(text, PREVIEW_CHARS / 2))
}

fn agents_unavailable(reason: &str) -> String {
    format!("Could not check the target agent ({reason}). Nothing was sent; try again.")
}

fn branch_failed(what: &str, reason: &str, certainty: Certainty) -> String {
    match certainty {
        Certainty::Definite => format!("Could not start the {what}: {reason}."),
        Certainty::Uncertain => format!(
            "Could not confirm the {what} ({reason}); it may still appear in the session list. Check there before trying again."
        ),
    }
}

fn branch_not_answering(
    agent: &str,
    session_id: &str,
    reason: &str,
    certainty: Certainty,
) -> String {
    match certainty {
        Certainty::Definite => format!(
            "Session {session_id} was created, but {agent} could not be started in it: {reason}. Open it and send the text yourself, or try again."
        ),
        Certainty::Uncertain => format!(
            "Session {session_id} was created, but OpenCode did not confirm that {agent} started ({reason}). Open it to check."
        ),
    }
}

fn turn_ended_before_queueing(agent: &str) -> String {
    format!(
        "The hand-off to {agent} was not queued: the turn that asked for it ended first (was it interrupted?). Nothing was sent."
    )
}

fn relay_failed(relay: RelayId, reason: &str, text: &str, certainty: Certainty) -> String {
    let verdict = match certainty {
        Certainty::Definite => "was not delivered",
        Certainty::Uncertain => "may not have been delivered",
    };
    format!(
        "{relay} {verdict}: {reason}. Its text: \"{}\"",
        preview(text, PREVIEW_CHARS)
    )
}

/// How much of a branch's final answer its report carries.
const ANSWER_CHARS: usize = 1_500;
/// How much of each answer the side-by-side summary carries.
const SUMMARY_CHARS: usize = 300;

/// A branch's answer cut to what a report carries, saying when it was cut.
pub(crate) fn trimmed_answer(answer: &str) -> String {
    let answer = answer.trim();
    let total = answer.chars().count();
    if total <= ANSWER_CHARS {
        return answer.to_owned();
    }
    let cut: String = answer.chars().take(ANSWER_CHARS).collect();
    format!("{}… [trimmed; {total} characters in all]", cut.trim_end())
}

/// Text cut to `max` characters, lines kept.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// The footer of `status`: what the plugin holds across every session.
fn engine_summary(stats: &EngineStats) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "Across all sessions: {} pending, {} running, {} remembered by the plugin.",
        count(stats.relays_pending, "hand-off", "hand-offs"),
        count(stats.branches_running, "branch", "branches"),
        count(stats.sessions_remembered, "session", "sessions"),
    )
}

fn agent_refused(agent: &str, reason: &str, reachable: &[String]) -> String {
    let choices = if reachable.is_empty() {
        "none are configured".to_owned()
    } else {
        reachable.join(", ")
    };
    let agent = shown::quoted(agent);
    format!("Agent {agent} {reason}. Agents that can answer: {choices}. Nothing was sent.")
}

/// The note a session gets when OpenCode stopped before its turn ended,
/// taking a queued hand-off with it.
pub(crate) fn lost_at_stop(handoff: &Restored) -> String {
    let Restored {
        relay,
        mode,
        agent,
        text,
        ..
    } = handoff;
    format!(
        "[Hand-off not delivered] OpenCode stopped before {relay} ({mode} → {agent}) was sent, and it is not sent again on its own. Its text:\n\n{text}\n\nAsk again if it is still wanted."
    )
}

/// A finished branch, as its report to the parent tells it.
pub(crate) struct BranchReport<'a> {
    pub title: &'a str,
    pub session_id: &'a str,
    pub agent: &'a str,
    /// Already trimmed ([`trimmed_answer`]).
    pub answer: &'a str,
    pub error: Option<&'a BranchError>,
    pub waited: Option<&'a WaitedForPerson>,
}

/// The note a parent receives when one of its branches finished its turn.
pub(crate) fn branch_report(report: &BranchReport) -> String {
    let BranchReport {
        title,
        session_id,
        agent,
        answer,
        error,
        waited,
    } = report;
    let head = match error {
        None => format!("[Branch finished] \"{title}\" ({session_id}, {agent})"),
        Some(error) => format!(
            "[Branch ended with an error] \"{title}\" ({session_id}, {agent}): {}",
            branch_error(error)
        ),
    };
    let mut body = if answer.is_empty() {
        "(no answer)".to_owned()
    } else {
        (*answer).to_owned()
    };
    if let Some(waited) = waited {
        body = format!("{}\n\n{body}", waited_line(waited));
    }
    format!("{head}\n\n{body}\n\nThe whole conversation is in session {session_id} (open it from /sessions).")
}

/// The side-by-side summary once every branch of a turn with `mode` is done.
pub(crate) fn branches_summary(mode: Mode, branches: &[BranchInfo]) -> String {
    let mut text = match branches.len() {
        1 => format!("[The {mode} branch of this turn is done]"),
        n => format!("[All {n} {mode} branches of this turn are done]"),
    };
    for (n, branch) in branches.iter().enumerate() {
        let outcome = match &branch.state {
            BranchProgress::Failed { error } => {
                format!("ended with an error: {}", branch_error(error))
            }
            BranchProgress::Finished { answer } if answer.is_empty() => "(no answer)".to_owned(),
            BranchProgress::Finished { answer } => cut(answer, SUMMARY_CHARS),
            BranchProgress::Cancelled => "cancelled".to_owned(),
            // Not in a summary: it is made once every branch is done.
            BranchProgress::Running { .. } => "running".to_owned(),
        };
        text.push_str(&format!(
            "\n\n{}. \"{}\" ({})\n{outcome}",
            n + 1,
            branch.title,
            branch.session_id
        ));
    }
    text.push_str(
        "\n\nCompare them and choose; each whole conversation is in its session (/sessions).",
    );
    text
}

/// What the parent's agent is asked once its branches are done: the summary, then the request.
pub(crate) fn resume_text(summary: &str) -> String {
    format!("{summary}\n\nYour branches are done (above). Compare their results and continue.")
}

fn branch_waiting(mode: Mode, agent: &str, place: usize, max_branches: u32) -> String {
    format!(
        "Waiting: this session already runs {max_branches} branches (maxBranches = {max_branches}). This {mode} → {agent} is number {place} in line and starts on its own as one of them finishes; its report comes here like the others'. This session goes on here."
    )
}

fn follow_up_queued(
    relay: RelayId,
    session_id: &str,
    title: &str,
    agent: &str,
    busy: bool,
) -> String {
    let when = if busy {
        format!("its turn runs, so {agent} gets your text when that turn ends")
    } else {
        format!("{agent} is answering your text there now")
    };
    format!(
        "Sent as {relay} to branch {session_id} \"{title}\": {when}. The answer comes back here as a branch report. This session goes on here."
    )
}

fn branch_cancelled(
    session_id: &str,
    title: &str,
    dropped: &[Cancelled],
    error: Option<&RequestError>,
) -> String {
    let dropped = match dropped.len() {
        0 => String::new(),
        1 => " 1 hand-off it had queued was dropped.".to_owned(),
        n => format!(" {n} hand-offs it had queued were dropped."),
    };
    match error {
        None => format!(
            "Cancelled branch {session_id} \"{title}\": its turn was stopped and it will not report.{dropped}"
        ),
        Some(error) => format!(
            "Branch {session_id} \"{title}\" is no longer followed and will not report, but OpenCode did not confirm that its turn stopped ({}): open it from /sessions to check.{dropped}",
            request_error(error)
        ),
    }
}

fn nothing_to_cancel(branch: &BranchInfo) -> String {
    let state = match &branch.state {
        BranchProgress::Cancelled => "was cancelled already",
        BranchProgress::Running { .. } => "is running",
        BranchProgress::Finished { .. } | BranchProgress::Failed { .. } => "had already finished",
    };
    format!(
        "Branch {} \"{}\" {state}: nothing was changed. Its report is in this session.",
        branch.session_id, branch.title
    )
}

fn not_a_branch(named: &str, branches: &[BranchInfo]) -> String {
    let named = shown::quoted(named);
    if branches.is_empty() {
        return format!("{named} is not a branch of this session: it has opened none that are still remembered. Nothing was sent.");
    }
    let list: Vec<String> = branches
        .iter()
        .map(|b| format!("{} \"{}\"", b.session_id, b.title))
        .collect();
    format!(
        "{named} is not a branch of this session (name one by its id, or by the start of exactly one title). Its branches: {}. Nothing was sent.",
        list.join("; ")
    )
}

/// The `status` answer's lines for the branch calls waiting for their place.
fn waiting_status(waiting: &[WaitingBranch]) -> String {
    let lines: Vec<String> = waiting
        .iter()
        .map(|w| {
            format!(
                "- waiting, number {} in line: {} → {}: \"{}\"",
                w.place,
                w.mode,
                w.agent,
                preview(&w.text, PREVIEW_CHARS / 2)
            )
        })
        .collect();
    format!(
        "Waiting for a place (maxBranches), in call order ({}):\n{}",
        lines.len(),
        lines.join("\n")
    )
}

fn waits_for_person(session_id: &str, title: &str, what: &str, shown: bool) -> String {
    let go = if shown {
        "The TUI switches to it"
    } else {
        "Open it from /sessions to answer"
    };
    format!(
        "Branch \"{title}\" ({session_id}) asks: {}. {go}; it waits until someone does.",
        preview(what, PREVIEW_CHARS)
    )
}

/// `45 s`, `3 min 5 s`, `2 h 4 min`.
fn duration(ms: u64) -> String {
    let s = ms / 1_000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3_599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3_600, (s % 3_600) / 60),
    }
}

/// A running branch's line in `status`: how long, how many steps, what now.
fn running_line(started_ms: u64, steps: u32, doing: &BranchActivity, now_ms: u64) -> String {
    let steps = match steps {
        1 => "1 step".to_owned(),
        n => format!("{n} steps"),
    };
    let now = match doing {
        BranchActivity::Starting => "starting".to_owned(),
        BranchActivity::Writing => "writing".to_owned(),
        BranchActivity::RunningTool { tool } => format!("running {tool}"),
        BranchActivity::WaitingForPerson { what, since_ms } => format!(
            "waiting {} for a person to answer: {}",
            duration(now_ms.saturating_sub(*since_ms)),
            preview(what, PREVIEW_CHARS / 2)
        ),
        BranchActivity::Reporting => "done, its answer is being read".to_owned(),
    };
    format!(
        "running for {}, {steps}, now {now}",
        duration(now_ms.saturating_sub(started_ms))
    )
}

/// How a branch's turn waited for a person, as its report tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WaitedForPerson {
    pub what: String,
    pub for_ms: u64,
    pub answered: bool,
}

fn waited_line(waited: &WaitedForPerson) -> String {
    let what = preview(&waited.what, PREVIEW_CHARS);
    if waited.answered {
        format!(
            "It waited {} for a person to answer: {what}.",
            duration(waited.for_ms)
        )
    } else {
        format!(
            "It was still waiting for a person to answer ({what}) after {}: nobody did.",
            duration(waited.for_ms)
        )
    }
}

/// The `status` answer's list of the branches a session opened, oldest first.
fn branch_status(branches: &[BranchInfo], now_ms: u64) -> String {
    if branches.is_empty() {
        return "This session has not opened any branches (new or fork) that are still remembered."
            .to_owned();
    }
    let lines: Vec<String> = branches
        .iter()
        .map(|branch| branch_status_line(branch, now_ms))
        .collect();
    format!(
        "Branches opened from this session, oldest first ({}):\n{}\nOpen one from /sessions to read it all.",
        lines.len(),
        lines.join("\n")
    )
}

fn branch_status_line(branch: &BranchInfo, now_ms: u64) -> String {
    let state = match &branch.state {
        BranchProgress::Running {
            started_ms,
            steps,
            doing,
        } => running_line(*started_ms, *steps, doing, now_ms),
        BranchProgress::Finished { answer } if answer.is_empty() => {
            "finished (no answer)".to_owned()
        }
        BranchProgress::Finished { answer } => {
            format!(
                "finished: {}",
                cut(&answer.replace('\n', " "), SUMMARY_CHARS)
            )
        }
        BranchProgress::Failed { error } => format!("ended with an error: {}", branch_error(error)),
        BranchProgress::Cancelled => "cancelled".to_owned(),
    };
    format!(
        "- \"{}\" ({}, {}) — {state}",
        branch.title, branch.session_id, branch.agent
    )
}

/// What the model reads about the `session` tool: its description and what
/// each argument means, for the modes on offer only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolText {
    pub description: String,
    pub text: &'static str,
    /// The offered modes, `a | b | c`.
    pub mode: String,
    pub agent: &'static str,
    /// What `session` means; `None` when no offered mode takes it.
    pub session: Option<&'static str>,
}

/// The tool's text for `modes` (in the order they are offered).
pub fn tool_text(modes: &[Mode]) -> ToolText {
    let opens_branches = modes.contains(&Mode::New) || modes.contains(&Mode::Fork);
    let follows_up = opens_branches && modes.contains(&Mode::Message);
    let mut lines = vec![
        "Hand work to an agent (you or another primary agent, e.g. plan).".to_owned(),
        "Modes:".to_owned(),
    ];
    lines.extend(
        modes
            .iter()
            .map(|&mode| mode_line(mode, follows_up).to_owned()),
    );
    if opens_branches {
        lines.push("Branches report here when done.".to_owned());
    }
    if modes.iter().any(|mode| mode.is_queued()) {
        lines.push("After message or compact, end your turn.".to_owned());
    }
    ToolText {
        description: lines.join("\n"),
        text: "What the receiving agent should do, as a user message",
        mode: modes
            .iter()
            .map(|mode| mode.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
        agent: "Primary agent that answers; default: you",
        session: (follows_up || modes.contains(&Mode::Cancel))
            .then_some("Id of one of your branches (see status)"),
    }
}

fn mode_line(mode: Mode, follows_up: bool) -> &'static str {
    match mode {
        Mode::Message if follows_up => "- message: when your turn ends, agent answers text here (review, turn-taking); with session, in that branch.",
        Mode::Message => "- message: when your turn ends, agent answers text here (review, turn-taking).",
        Mode::New => "- new: agent answers text in a fresh session without this history. Returns at once.",
        Mode::Compact => "- compact: when your turn ends, this session is summarized, then agent answers text.",
        Mode::Fork => "- fork: agent answers text in a copy of this session. Call several times to try alternatives in parallel. Returns at once.",
        Mode::Status => "- status: your branches, their progress and answers.",
        Mode::Cancel => "- cancel: stop the branch named by session.",
    }
}

/// What a permission prompt or a question asks, in a few words: `bash (git
/// status)`, or the question's text.
pub(crate) fn person_asked(kind: &str, props: &serde_json::Value) -> String {
    use serde_json::Value;
    fn text(value: Option<&Value>) -> Option<&str> {
        value
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
    if kind == "question.asked" {
        let first = props.get("questions").and_then(|q| q.get(0));
        let question = text(first.and_then(|q| q.get("question")))
            .or_else(|| text(first.and_then(|q| q.get("header"))));
        return question.unwrap_or("a question").to_owned();
    }
    // 1.1 and later: `permission` and `patterns`; 1.0: `type`, `pattern` and `title`.
    let permission = text(props.get("permission")).or_else(|| text(props.get("type")));
    let patterns: Vec<&str> = match props.get("patterns").or_else(|| props.get("pattern")) {
        Some(Value::Array(items)) => items.iter().filter_map(|p| text(Some(p))).collect(),
        other => text(other).into_iter().collect(),
    };
    match (permission, patterns.is_empty()) {
        (Some(permission), false) => format!("{permission} ({})", patterns.join(", ")),
        (Some(permission), true) => permission.to_owned(),
        (None, _) => text(props.get("title"))
            .unwrap_or("a permission")
            .to_owned(),
    }
}

/// The toast title when the plugin's options are refused and it does not load.
pub const OPTIONS_REFUSED_TITLE: &str = "opencode-sessions not loaded";

/// What the plugin says when its options are refused and it does not load.
pub fn options_refused(error: &InputError) -> String {
    format!("opencode-sessions: {error}. Fix it under \"opencode-sessions\" in the \"plugin\" list of opencode.json; the session tool stays off until then.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_takes_the_first_non_empty_line_and_cuts_on_characters() {
        assert_eq!(
            preview("\n  implement   using Redux \nmore", 60),
            "implement using Redux"
        );
        assert_eq!(preview("ééééé", 3), "éé…");
        assert_eq!(preview("", 5), "");
        assert_eq!(
            preview("\u{7}\u{1b}\n\u{1b}[31mred\u{202e}txt\0end", 60),
            "[31mred txt end"
        );
    }

    #[test]
    fn a_failed_relay_is_logged_then_shown_saying_how_sure_the_engine_is() {
        let notice = Notice::RelayFailed {
            relay: RelayId(4),
            session_id: "s1".into(),
            caller_agent: "build".into(),
            agent: "plan".into(),
            mode: Mode::Message,
            text: "Review the diff\nplease".into(),
            reason: RelayFailure::TimedOut {
                error: RequestError::TimedOut {
                    seconds: 15,
                    activity: Activity::SendingPrompt,
                },
            },
            certainty: Certainty::Uncertain,
        };
        let text = "relay #4 may not have been delivered: no answer after 15 s while sending the prompt. Its text: \"Review the diff\"";
        assert_eq!(
            said(&notice),
            [
                Said::log(LogLevel::Error, text.to_owned()),
                Said::toast(
                    ToastVariant::Error,
                    "Hand-off to plan failed",
                    text.to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_refusal_a_person_should_see_is_shown_logged_and_answered() {
        let notice = Notice::CallRefused {
            call: ToolCallId(3),
            session_id: "s1".into(),
            caller_agent: "build".into(),
            agent: "plan".into(),
            mode: Mode::Message,
            reason: Refusal::HopLimit { max_hops: 2 },
        };
        let said = said(&notice);
        assert!(matches!(
            &said[..],
            [
                Said::Toast { variant: ToastVariant::Warning, title, message },
                Said::Log { level: LogLevel::Warn, message: logged },
                Said::Reply { call: ToolCallId(3), ok: false, text },
            ] if title == "Hand-off refused: hop limit"
                && message == text
                && *logged == format!("session tool call failed: {text}")
                && text.contains("(limit maxHops = 2)")
        ));
    }

    #[test]
    fn status_without_branches_says_so_and_sums_up_the_engine() {
        let notice = Notice::StatusReported {
            call: ToolCallId(1),
            now_ms: 0,
            session_id: "s1".into(),
            branches: Vec::new(),
            waiting: Vec::new(),
            stats: EngineStats {
                relays_pending: 1,
                ..EngineStats::default()
            },
        };
        assert_eq!(
            said(&notice),
            [Said::Reply {
                call: ToolCallId(1),
                ok: true,
                text: "This session has not opened any branches (new or fork) that are still remembered.\n\nAcross all sessions: 1 hand-off pending, 0 branches running, 0 sessions remembered by the plugin.".to_owned(),
            }]
        );
    }

    #[test]
    fn titles_count_branches_only_when_there_are_several() {
        assert_eq!(
            branch_title(Mode::New, 1, 1, "plan", "Design the API"),
            "new · plan · Design the API"
        );
        assert_eq!(
            branch_title(Mode::Fork, 2, 3, "build", "Implement using Redux\nmore"),
            "fork 2/3 · build · Implement using Redux"
        );
    }
}
