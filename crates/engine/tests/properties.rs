//! Property tests: random interleavings of `session` tool calls, bus events,
//! request outcomes and the passing of time, played against a model of
//! OpenCode, with the engine's promises checked after every step and once the
//! run is drained.
//!
//! By default the first property runs 1024 cases and the second 512 (a few
//! seconds in a debug build); run more with, for example:
//!
//!   PROPTEST_CASES=20000 cargo test -p opencode-sessions-engine --test properties
//!
//! # The host model
//!
//! A few sessions (`s1`, `s2`, and the branch sessions that `new` and `fork`
//! open) are each idle or running a turn. A turn runs a person's message, or
//! the prompt OpenCode accepted from the engine: a session is busy from such a
//! prompt until the generator ends that turn (in one of the ways OpenCode ends
//! turns: both idle events, one of them, a duplicate, an interrupt reported as
//! `session.error`, as an aborted step or as a turn stopped at its tool calls,
//! or another error). The engine learns all of it only from the events the
//! model emits. Every request the engine makes waits at the host until the
//! generator answers it: with the right success shape, a wrong shape, a
//! failure of each [`FailureCause`], or never; the outcome goes back at once or
//! later, also after the engine gave up on it. A prompt or summary the host
//! takes runs as the session's next turn; a 5xx (`unavailable`) or a request
//! never answered may or may not have been taken, as the generator chooses.
//!
//! The model keeps to what OpenCode does, where the engine relies on it:
//! - tool calls come only from a running turn, which waits for their reply
//!   unless a person interrupts it;
//! - nobody writes in a branch session before its opening prompt was answered;
//! - a person's turn does not start in a session while the engine waits for
//!   the outcome of a prompt or summary it sent there: the engine takes a turn
//!   that starts meanwhile for that request's (OpenCode answers a prompt it
//!   refuses before any turn could start);
//! - a summary runs inside its request: its turn starts when the host takes
//!   it, and a successful outcome comes as that turn ends, after
//!   `session.compacted` (which never follows the idle edge);
//! - a prompt OpenCode accepted starts its turn within the engine's time
//!   limit or never; one that took effect though it failed or got no answer
//!   has started its turn before that outcome;
//! - a `session.error` outside a turn only comes from OpenCode refusing to run
//!   a prompt it accepted, after the engine heard of the acceptance (the
//!   engine cannot tell an early refusal from the repeat of an earlier one);
//! - events are never older than the state they describe: a stale idle edge
//!   never arrives after the next busy one (no engine could tell).
//!
//! # Invariants
//!
//! Calls also steer branches: `cancel` and follow-ups (`message` with
//! `session`), mostly naming one of the caller's branches, sometimes any
//! session.
//!
//! 1. Every accepted relay (a `message`/`compact` call the engine answers
//!    with [`Notice::RelayQueued`], a follow-up with
//!    [`Notice::FollowUpQueued`], and every prompt opening a branch) ends
//!    exactly once. The checks read the engine's notices, never its wording:
//!    a relay ends by [`Notice::RelayDelivered`], [`Notice::RelayFailed`]
//!    (with a [`Certainty`]) or an item of [`Notice::HandOffsCancelled`] or
//!    of [`Notice::BranchCancelled`]; a
//!    branch prompt by its call's reply. Ambiguous outcomes (a time-out or a
//!    5xx on a prompt, an accepted prompt whose turn does not start in time)
//!    leave the engine unable to know, and it says so (uncertain): that
//!    ending is right whether the host ran the prompt or not, and a prompt
//!    whose 5xx reached the engine must end that way (a branch's call fails
//!    with [`CallFailure::BranchNotAnswering`], uncertain). Delivered (a
//!    branch's ok reply) requires that the host ran (took) the prompt once;
//!    a certain failure, a cancellation or a branch's certain failure require
//!    that it never did. No prompt ever runs twice. Once drained, every relay
//!    has its ending.
//! 2. Relays of one session run in the order they were accepted, but for a
//!    prompt the engine gave up on (an uncertain failure), which
//!    OpenCode may still take late.
//! 3. No relay prompt and no summarize request is sent while its session is
//!    busy as the events the model emitted say.
//! 4. Every tool call gets exactly one reply.
//! 5. After every session was deleted and the run drained, the engine is
//!    empty and quiet and wants no timer.
//! 6. Nothing panics. A late or repeated outcome (the engine says it was
//!    not waiting for it) changes nothing.
//! 7. The pending list the host keeps on disk (`poll_journal`) names only
//!    accepted relays that have not ended and whose prompt the host has not
//!    run, each once, oldest first; once every session is deleted it is empty.
//!
//! A second property plays only a happy host (every request succeeds at
//! once, turns end normally, no time limit passes) and checks that every
//! relay is delivered and nothing is reported as failed.

mod sim;

use opencode_sessions_engine::{
    Action, ActionId, BusEvent, CallFailure, Cancelled, Certainty, EngineConfig, FailureCause,
    Mode, Notice, Outcome, RelayEngine, ReportMode, Request, ToastVariant, ToolCall, ToolCallId,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;

const ABORTED: &str = "MessageAbortedError";
/// Bounds the host's moves while draining, so an engine that never settles fails.
const SETTLE_STEPS: usize = 2_000;

// ---- what the generator chooses ----

#[derive(Debug, Clone, Copy)]
enum Target {
    Caller,
    Build,
    Plan,
    Unknown,
    Subagent,
}

#[derive(Debug, Clone, Copy)]
enum Caller {
    Build,
    Plan,
    Subagent,
}

#[derive(Debug, Clone, Copy)]
enum TurnEnd {
    Idle,
    StatusOnly,
    IdleOnly,
    IdleTwice,
    Aborted,
    AbortedAfterIdle,
    AbortedStep,
    StoppedAtToolCalls,
    Failed,
}

#[derive(Debug, Clone, Copy)]
enum Fate {
    Succeed,
    WrongShape,
    Fail {
        cause: FailureCause,
        took_effect: bool,
    },
    NeverAnswer {
        took_effect: bool,
    },
}

/// One move of the world. Sessions, requests and outcomes are picked by an
/// index taken modulo what exists at that moment, so every sequence is valid
/// and shrinks well; a move that fits nothing does nothing.
#[derive(Debug, Clone)]
enum Op {
    Call {
        session: usize,
        mode: Mode,
        target: Target,
        caller: Caller,
    },
    /// A call that names a session as a branch: `cancel`, or a `message`
    /// following it up. The named session may be no branch of the caller's.
    Steer {
        session: usize,
        target: usize,
        cancel: bool,
    },
    StartTurn {
        session: usize,
    },
    Step {
        session: usize,
        tool_calls: bool,
    },
    EndTurn {
        session: usize,
        end: TurnEnd,
        compacted: bool,
    },
    TurnError {
        session: usize,
    },
    AutoCompacted {
        session: usize,
    },
    RepeatIdle {
        session: usize,
    },
    RefuseToRun {
        session: usize,
        twice: bool,
    },
    PersonWrites {
        session: usize,
    },
    PluginWrites {
        session: usize,
    },
    Delete {
        session: usize,
    },
    Answer {
        request: usize,
        fate: Fate,
        at_once: bool,
    },
    Deliver {
        outcome: usize,
    },
    Repeat {
        outcome: usize,
    },
    Advance {
        ms: u64,
    },
}

#[derive(Debug, Clone)]
struct Setup {
    max_hops: u32,
    report: ReportMode,
    switch_to: bool,
}

impl Setup {
    fn config(&self) -> EngineConfig {
        EngineConfig {
            max_hops: self.max_hops,
            report: self.report,
            switch_to: if self.switch_to {
                vec![Mode::New, Mode::Fork]
            } else {
                Vec::new()
            },
            ..EngineConfig::default()
        }
    }
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        prop_oneof![Just(2u32), Just(8)],
        prop_oneof![
            Just(ReportMode::Each),
            Just(ReportMode::All),
            Just(ReportMode::Off)
        ],
        any::<bool>(),
    )
        .prop_map(|(max_hops, report, switch_to)| Setup {
            max_hops,
            report,
            switch_to,
        })
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        4 => Just(Mode::Message),
        2 => Just(Mode::New),
        2 => Just(Mode::Compact),
        2 => Just(Mode::Fork),
        1 => Just(Mode::Status),
    ]
}

fn cause() -> impl Strategy<Value = FailureCause> {
    prop_oneof![
        Just(FailureCause::Unreachable),
        Just(FailureCause::Unavailable),
        Just(FailureCause::Refused)
    ]
}

fn any_op() -> impl Strategy<Value = Op> {
    let session = 0..8usize;
    prop_oneof![
        6 => (session.clone(), mode(), prop_oneof![
                3 => Just(Target::Caller), 3 => Just(Target::Build), 3 => Just(Target::Plan),
                1 => Just(Target::Unknown), 1 => Just(Target::Subagent)],
            prop_oneof![4 => Just(Caller::Build), 2 => Just(Caller::Plan), 1 => Just(Caller::Subagent)])
            .prop_map(|(session, mode, target, caller)| Op::Call { session, mode, target, caller }),
        5 => session.clone().prop_map(|session| Op::StartTurn { session }),
        2 => (session.clone(), 0..8usize, any::<bool>())
            .prop_map(|(session, target, cancel)| Op::Steer { session, target, cancel }),
        1 => (session.clone(), any::<bool>()).prop_map(|(session, tool_calls)| Op::Step { session, tool_calls }),
        3 => (session.clone(), prop_oneof![
                10 => Just(TurnEnd::Idle), 1 => Just(TurnEnd::StatusOnly), 1 => Just(TurnEnd::IdleOnly),
                1 => Just(TurnEnd::IdleTwice), 1 => Just(TurnEnd::Aborted), 1 => Just(TurnEnd::AbortedAfterIdle),
                1 => Just(TurnEnd::AbortedStep), 1 => Just(TurnEnd::StoppedAtToolCalls), 1 => Just(TurnEnd::Failed)],
            prop::bool::weighted(0.8))
            .prop_map(|(session, end, compacted)| Op::EndTurn { session, end, compacted }),
        1 => session.clone().prop_map(|session| Op::TurnError { session }),
        1 => session.clone().prop_map(|session| Op::AutoCompacted { session }),
        1 => session.clone().prop_map(|session| Op::RepeatIdle { session }),
        1 => (session.clone(), any::<bool>()).prop_map(|(session, twice)| Op::RefuseToRun { session, twice }),
        1 => session.clone().prop_map(|session| Op::PersonWrites { session }),
        1 => session.clone().prop_map(|session| Op::PluginWrites { session }),
        1 => session.clone().prop_map(|session| Op::Delete { session }),
        16 => (0..8usize, prop_oneof![
                12 => Just(Fate::Succeed),
                1 => Just(Fate::WrongShape),
                3 => (cause(), any::<bool>()).prop_map(|(cause, took_effect)| Fate::Fail { cause, took_effect }),
                1 => any::<bool>().prop_map(|took_effect| Fate::NeverAnswer { took_effect })],
            prop::bool::weighted(0.7))
            .prop_map(|(request, fate, at_once)| Op::Answer { request, fate, at_once }),
        3 => (0..8usize).prop_map(|outcome| Op::Deliver { outcome }),
        1 => (0..8usize).prop_map(|outcome| Op::Repeat { outcome }),
        2 => prop_oneof![
                4 => Just(1u64), 4 => Just(500), 2 => Just(2_000),
                1 => Just(15_000), 1 => Just(600_000), 1 => Just(3_600_000)]
            .prop_map(|ms| Op::Advance { ms }),
    ]
}

/// Moves of a host on which nothing fails and no time limit passes.
fn happy_op() -> impl Strategy<Value = Op> {
    let session = 0..8usize;
    prop_oneof![
        6 => (session.clone(), mode(),
            prop_oneof![Just(Target::Caller), Just(Target::Build), Just(Target::Plan)],
            prop_oneof![Just(Caller::Build), Just(Caller::Plan)])
            .prop_map(|(session, mode, target, caller)| Op::Call { session, mode, target, caller }),
        6 => session.clone().prop_map(|session| Op::StartTurn { session }),
        1 => session.clone().prop_map(|session| Op::Step { session, tool_calls: false }),
        5 => (session.clone(), prop_oneof![
                Just(TurnEnd::Idle), Just(TurnEnd::StatusOnly), Just(TurnEnd::IdleOnly), Just(TurnEnd::IdleTwice)])
            .prop_map(|(session, end)| Op::EndTurn { session, end, compacted: true }),
        1 => session.clone().prop_map(|session| Op::RepeatIdle { session }),
        1 => session.clone().prop_map(|session| Op::PersonWrites { session }),
        1 => session.clone().prop_map(|session| Op::PluginWrites { session }),
        12 => (0..8usize, any::<bool>())
            .prop_map(|(request, at_once)| Op::Answer { request, fate: Fate::Succeed, at_once }),
        3 => (0..8usize).prop_map(|outcome| Op::Deliver { outcome }),
    ]
}

// ---- the host model ----

/// What a session's turn runs: the prompt or summary the host took from
/// the engine, or (`None`) a person's message.
#[derive(Debug, Clone, PartialEq)]
enum Work {
    /// The prompt's text and the request that sent it.
    Prompt(String, ActionId),
    Summarize,
}

#[derive(Debug)]
struct HostSession {
    id: String,
    exists: bool,
    busy: bool,
    turns: u32,
    running: Option<Work>,
    /// Prompts OpenCode accepted, to run as the next turns; each runs before
    /// the time it is given or never.
    owed: VecDeque<(Work, u64)>,
    /// The outcome of the summary this turn runs, sent when it ends (the
    /// summarize request answers once the summary is written); `true` to
    /// send it before the idle events.
    summary_outcome: Option<(ActionId, Outcome, bool)>,
    /// A branch session before the host answered its opening prompt: nobody
    /// writes in it yet.
    unopened: bool,
}

impl HostSession {
    fn new(id: String, branch: bool) -> Self {
        HostSession {
            id,
            exists: true,
            busy: false,
            turns: 0,
            running: None,
            owed: VecDeque::new(),
            summary_outcome: None,
            unopened: branch,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ending {
    Delivered,
    NotDelivered,
    MayNotHaveBeenDelivered,
    Cancelled,
}

#[derive(Debug)]
struct CallRecord {
    session: String,
    mode: Mode,
    text: String,
    replies: u32,
    reply: Option<(bool, String)>,
    /// The engine said it queued a relay for this call.
    queued: bool,
    /// The engine said OpenCode did not confirm the prompt of the branch this call opened.
    not_confirmed: bool,
}

#[derive(Debug)]
struct RelayRecord {
    session: String,
    text: String,
    /// Place among the relays accepted in its session.
    accepted: usize,
    endings: Vec<Ending>,
    /// Turns the host ran on its prompt.
    ran: u32,
    /// The engine took a 5xx for its prompt: it cannot know whether the text arrived.
    ambiguous: bool,
}

/// The prompt a `new`/`fork` call sent to its branch session.
#[derive(Debug)]
struct BranchPrompt {
    call: ToolCallId,
    session: String,
    /// Times the host took it.
    taken: u32,
    /// The engine took a 5xx for it.
    ambiguous: bool,
}

struct World {
    engine: RelayEngine,
    now: u64,
    sessions: Vec<HostSession>,
    roots_made: u32,
    branches_made: u32,
    texts_made: u32,
    in_flight: Vec<(ActionId, Request)>,
    deferred: Vec<(ActionId, Outcome)>,
    /// Relay prompts and summaries whose outcome has not reached the engine,
    /// with the session and the time the engine stops waiting.
    unsettled: HashMap<ActionId, (String, u64)>,
    /// The text of each prompt request, by id.
    prompt_texts: HashMap<ActionId, String>,
    delivered: Vec<(ActionId, Outcome)>,
    calls: BTreeMap<ToolCallId, CallRecord>,
    relays: BTreeMap<u64, RelayRecord>,
    relay_by_text: HashMap<String, u64>,
    /// The session that opened each branch, as `BranchStarted` said.
    parent_of: HashMap<String, String>,
    accepted_in: HashMap<String, usize>,
    /// Per session, the place of the relay that ran last.
    last_ran: HashMap<String, usize>,
    branch_prompts: BTreeMap<String, BranchPrompt>,
    error_toasts: Vec<String>,
    trace: Vec<String>,
    /// The relays of the last pending list `poll_journal` gave.
    journal: Vec<u64>,
}

type Checked = Result<(), String>;

fn violation(invariant: &str, detail: String) -> Checked {
    Err(format!("invariant {invariant} broke: {detail}"))
}

impl World {
    fn new(config: EngineConfig) -> Self {
        let sessions = ["s1", "s2"]
            .into_iter()
            .map(|id| HostSession::new(id.to_owned(), false))
            .collect();
        World {
            engine: RelayEngine::new(config),
            now: 1_000,
            sessions,
            roots_made: 2,
            branches_made: 0,
            texts_made: 0,
            in_flight: Vec::new(),
            deferred: Vec::new(),
            unsettled: HashMap::new(),
            prompt_texts: HashMap::new(),
            delivered: Vec::new(),
            calls: BTreeMap::new(),
            relays: BTreeMap::new(),
            relay_by_text: HashMap::new(),
            parent_of: HashMap::new(),
            accepted_in: HashMap::new(),
            last_ran: HashMap::new(),
            branch_prompts: BTreeMap::new(),
            error_toasts: Vec::new(),
            trace: Vec::new(),
            journal: Vec::new(),
        }
    }

    fn note(&mut self, line: String) {
        self.trace.push(format!("t={} {line}", self.now));
    }

    fn trace_text(&self) -> String {
        let mut text = String::new();
        for line in &self.trace {
            let _ = writeln!(text, "  {line}");
        }
        text
    }

    /// Index of the `pick`-th session matching `pred`, if any.
    fn pick(&self, pick: usize, pred: impl Fn(&HostSession) -> bool) -> Option<usize> {
        let matching: Vec<usize> = (0..self.sessions.len())
            .filter(|&i| pred(&self.sessions[i]))
            .collect();
        (!matching.is_empty()).then(|| matching[pick % matching.len()])
    }

    fn session_mut(&mut self, id: &str) -> Option<&mut HostSession> {
        self.sessions.iter_mut().find(|s| s.id == id && s.exists)
    }

    fn event(&mut self, event: BusEvent) -> Checked {
        self.note(format!("event {event:?}"));
        self.engine.handle_event(self.now, event);
        self.pump()
    }

    // ---- the engine's actions, as the host performs and the checks see them ----

    fn pump(&mut self) -> Checked {
        while let Some(action) = self.engine.poll_action() {
            self.absorb(action)?;
        }
        self.check_journal()
    }

    /// Invariant 7, on the list the engine gives whenever it changed.
    fn check_journal(&mut self) -> Checked {
        let Some(pending) = self.engine.poll_journal() else {
            return Ok(());
        };
        let relays: Vec<u64> = pending.iter().map(|h| h.relay).collect();
        if relays.windows(2).any(|w| w[0] >= w[1]) {
            return violation(
                "7 (pending list)",
                format!("not oldest first, or twice: {relays:?}"),
            );
        }
        if relays == self.journal {
            return violation(
                "7 (pending list)",
                format!("given again unchanged: {relays:?}"),
            );
        }
        for handoff in &pending {
            let Some(record) = self.relays.get(&handoff.relay) else {
                return violation(
                    "7 (pending list)",
                    format!("relay #{} was never accepted", handoff.relay),
                );
            };
            // A prompt that never reached OpenCode is sent again later, so
            // only one the host ran takes a relay off the list.
            if !record.endings.is_empty()
                || record.ran > 0
                || record.text != handoff.text
                || record.session != handoff.session_id
            {
                return violation(
                    "7 (pending list)",
                    format!(
                        "lists relay #{} ({handoff:?}), which is {record:?}",
                        handoff.relay
                    ),
                );
            }
        }
        self.journal = relays;
        Ok(())
    }

    fn absorb(&mut self, action: Action) -> Checked {
        match action {
            Action::Request {
                id,
                request,
                timeout_ms,
            } => {
                self.note(format!("request {} {request:?}", id.0));
                self.check_not_busy(&request)?;
                if let Request::Prompt { session_id, .. } | Request::Summarize { session_id, .. } =
                    &request
                {
                    let deadline = self.now + timeout_ms;
                    self.unsettled.insert(id, (session_id.clone(), deadline));
                }
                if let Request::Prompt { parts, .. } = &request {
                    let text = parts.last().cloned().unwrap_or_default();
                    self.prompt_texts.insert(id, text);
                }
                self.in_flight.push((id, request));
            }
            Action::ReplyToTool { call, ok, text } => {
                self.note(format!("reply to call {} ok={ok}: {text}", call.0));
                let Some(record) = self.calls.get_mut(&call) else {
                    return violation(
                        "4 (one reply per call)",
                        format!("reply to unknown call {call:?}"),
                    );
                };
                record.replies += 1;
                if record.replies > 1 {
                    return violation(
                        "4 (one reply per call)",
                        format!("call {} replied twice", call.0),
                    );
                }
                record.reply = Some((ok, text.clone()));
                if record.queued && !ok {
                    return violation(
                        "1 (relay accounting)",
                        format!(
                            "call {} queued a relay but was answered with an error",
                            call.0
                        ),
                    );
                }
            }
            Action::Toast {
                variant,
                title,
                message,
            } => {
                self.note(format!("toast {variant:?} {title}: {message}"));
                if variant == ToastVariant::Error {
                    self.error_toasts.push(message.clone());
                }
            }
            Action::Log { .. } => {}
            Action::Notice { notice } => {
                self.note(format!("notice {notice:?}"));
                self.notice(*notice)?;
            }
        }
        Ok(())
    }

    /// What happened, as the engine says it: relays accepted and ended, and
    /// how the calls that opened branches ended.
    fn notice(&mut self, notice: Notice) -> Checked {
        match notice {
            Notice::RelayQueued { call, relay, .. } => {
                let Some(record) = self.calls.get_mut(&call) else {
                    return violation(
                        "1 (relay accounting)",
                        format!("relay #{} queued by unknown call {call:?}", relay.0),
                    );
                };
                record.queued = true;
                let session = record.session.clone();
                let record_text = record.text.clone();
                let accepted = self.accepted_in.entry(session.clone()).or_default();
                *accepted += 1;
                self.relay_by_text.insert(record_text.clone(), relay.0);
                self.relays.insert(
                    relay.0,
                    RelayRecord {
                        session,
                        text: record_text,
                        accepted: *accepted,
                        endings: Vec::new(),
                        ran: 0,
                        ambiguous: false,
                    },
                );
                Ok(())
            }
            // A follow-up is a relay into the branch it names.
            Notice::FollowUpQueued {
                call,
                relay,
                branch_session_id,
                ..
            } => {
                let Some(record) = self.calls.get_mut(&call) else {
                    return violation(
                        "1 (relay accounting)",
                        format!("relay #{} queued by unknown call {call:?}", relay.0),
                    );
                };
                record.queued = true;
                let record_text = record.text.clone();
                let accepted = self
                    .accepted_in
                    .entry(branch_session_id.clone())
                    .or_default();
                *accepted += 1;
                self.relay_by_text.insert(record_text.clone(), relay.0);
                self.relays.insert(
                    relay.0,
                    RelayRecord {
                        session: branch_session_id,
                        text: record_text,
                        accepted: *accepted,
                        endings: Vec::new(),
                        ran: 0,
                        ambiguous: false,
                    },
                );
                Ok(())
            }
            Notice::BranchStarted {
                session_id,
                branch_session_id,
                ..
            } => {
                self.parent_of.insert(branch_session_id, session_id);
                Ok(())
            }
            Notice::BranchCancelled { dropped, .. } => {
                for item in dropped {
                    if let Cancelled::Relay { relay, .. } = item {
                        self.relay_ended(relay.0, Ending::Cancelled)?;
                    }
                }
                Ok(())
            }
            Notice::RelayDelivered { relay, .. } => self.relay_ended(relay.0, Ending::Delivered),
            Notice::RelayFailed {
                relay, certainty, ..
            } => {
                let ending = match certainty {
                    Certainty::Definite => Ending::NotDelivered,
                    Certainty::Uncertain => Ending::MayNotHaveBeenDelivered,
                };
                self.relay_ended(relay.0, ending)
            }
            Notice::HandOffsCancelled { items, .. } => {
                for item in items {
                    match item {
                        Cancelled::Relay { relay, .. } => {
                            self.relay_ended(relay.0, Ending::Cancelled)?;
                        }
                        Cancelled::ToolCall { call, .. } => {
                            if !self.calls.contains_key(&call) {
                                return violation(
                                    "4 (one reply per call)",
                                    format!("an interrupt cancelled unknown call {call:?}"),
                                );
                            }
                        }
                    }
                }
                Ok(())
            }
            Notice::CallFailed {
                call,
                failure: CallFailure::BranchNotAnswering { .. },
                certainty: Certainty::Uncertain,
                ..
            } => {
                if let Some(record) = self.calls.get_mut(&call) {
                    record.not_confirmed = true;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn relay_ended(&mut self, relay: u64, ending: Ending) -> Checked {
        let Some(record) = self.relays.get_mut(&relay) else {
            return violation(
                "1 (relay accounting)",
                format!("relay #{relay} ended ({ending:?}) but was never accepted"),
            );
        };
        record.endings.push(ending);
        if record.endings.len() > 1 {
            return violation(
                "1 (each relay ends exactly once)",
                format!("relay #{relay} ended twice: {:?}", record.endings),
            );
        }
        Ok(())
    }

    fn check_not_busy(&self, request: &Request) -> Checked {
        let (session, what) = match request {
            Request::Prompt {
                session_id, parts, ..
            } if parts
                .last()
                .is_some_and(|text| self.relay_by_text.contains_key(text)) =>
            {
                (session_id, "relay prompt")
            }
            Request::Summarize { session_id, .. } => (session_id, "summarize"),
            _ => return Ok(()),
        };
        let busy = self
            .sessions
            .iter()
            .any(|s| s.id == *session && s.exists && s.busy);
        if busy {
            return violation(
                "3 (nothing sent into a busy session)",
                format!("{what} sent while {session} is busy: {request:?}"),
            );
        }
        Ok(())
    }

    // ---- the generator's moves ----

    fn apply(&mut self, op: &Op) -> Checked {
        match *op {
            Op::Call {
                session,
                mode,
                target,
                caller,
            } => self.call(session, mode, target, caller),
            Op::Steer {
                session,
                target,
                cancel,
            } => self.steer(session, target, cancel),
            Op::StartTurn { session } => match self.pick(session, |s| s.exists && !s.busy) {
                Some(i) => self.start_turn(i),
                None => Ok(()),
            },
            Op::Step {
                session,
                tool_calls,
            } => match self.pick(session, |s| s.exists && s.busy) {
                Some(i) => {
                    let finish = if tool_calls { "tool-calls" } else { "stop" };
                    let session_id = self.sessions[i].id.clone();
                    self.event(BusEvent::StepFinished {
                        session_id,
                        finish: Some(finish.to_owned()),
                        error: None,
                    })
                }
                None => Ok(()),
            },
            Op::EndTurn {
                session,
                end,
                compacted,
            } => {
                // A turn waits for its tool calls; only an interrupt ends it sooner.
                let interrupted = matches!(
                    end,
                    TurnEnd::Aborted
                        | TurnEnd::AbortedAfterIdle
                        | TurnEnd::AbortedStep
                        | TurnEnd::StoppedAtToolCalls
                );
                let ends = |s: &HostSession| {
                    s.exists && s.busy && (interrupted || !self.calls_waiting_in(&s.id))
                };
                match self.pick(session, ends) {
                    Some(i) => self.end_turn(i, end, compacted),
                    None => Ok(()),
                }
            }
            Op::TurnError { session } => match self.pick(session, |s| s.exists && s.busy) {
                Some(i) => {
                    let session_id = Some(self.sessions[i].id.clone());
                    self.event(BusEvent::Error {
                        session_id,
                        name: Some("APIError".to_owned()),
                        message: Some("overloaded".to_owned()),
                    })
                }
                None => Ok(()),
            },
            Op::AutoCompacted { session } => match self.pick(session, |s| s.exists && s.busy) {
                Some(i) => {
                    let session_id = self.sessions[i].id.clone();
                    self.event(BusEvent::Compacted { session_id })
                }
                None => Ok(()),
            },
            Op::RepeatIdle { session } => match self.pick(session, |s| s.exists && !s.busy) {
                Some(i) => {
                    let session_id = self.sessions[i].id.clone();
                    self.event(BusEvent::Idle { session_id })
                }
                None => Ok(()),
            },
            Op::RefuseToRun { session, twice } => {
                // OpenCode refuses a prompt after accepting it, and the engine
                // hears of the acceptance first; it refuses at once, while the
                // engine still waits for the prompt's turn.
                let now = self.now;
                let refusable = |s: &HostSession| {
                    s.exists
                        && !s.busy
                        && matches!(s.owed.front(), Some((Work::Prompt(_, id), by)) if !self.awaits_outcome(*id) && now < *by)
                };
                match self.pick(session, refusable) {
                    Some(i) => {
                        let refused = self.sessions[i].owed.pop_front();
                        let session_id = self.sessions[i].id.clone();
                        self.note(format!("host refuses to run {refused:?} in {session_id}"));
                        for _ in 0..if twice { 2 } else { 1 } {
                            self.event(BusEvent::Error {
                                session_id: Some(session_id.clone()),
                                name: Some("UnknownError".to_owned()),
                                message: Some("Agent not found".to_owned()),
                            })?;
                        }
                        Ok(())
                    }
                    None => Ok(()),
                }
            }
            Op::PersonWrites { session } => self.user_message(session, false),
            Op::PluginWrites { session } => self.user_message(session, true),
            Op::Delete { session } => match self.pick(session, |s| s.exists) {
                Some(i) => self.delete(i, true),
                None => Ok(()),
            },
            Op::Answer {
                request,
                fate,
                at_once,
            } => {
                if self.in_flight.is_empty() {
                    return Ok(());
                }
                let index = request % self.in_flight.len();
                self.answer(index, fate, at_once)
            }
            Op::Deliver { outcome } => {
                if self.deferred.is_empty() {
                    return Ok(());
                }
                let (id, outcome) = self.deferred.remove(outcome % self.deferred.len());
                self.deliver(id, outcome)
            }
            Op::Repeat { outcome } => {
                if self.delivered.is_empty() {
                    return Ok(());
                }
                let (id, outcome) = self.delivered[outcome % self.delivered.len()].clone();
                self.note(format!("outcome of {} again: {outcome:?}", id.0));
                if self.engine.handle_outcome(self.now, id, outcome) {
                    return violation(
                        "6 (a repeated outcome changes nothing)",
                        format!("the engine took a second outcome for request {}", id.0),
                    );
                }
                if let Some(action) = self.engine.poll_action() {
                    return violation(
                        "6 (a repeated outcome changes nothing)",
                        format!("an outcome the engine refused led to {action:?}"),
                    );
                }
                Ok(())
            }
            Op::Advance { ms } => self.advance_to(self.now + ms),
        }
    }

    fn call(&mut self, session: usize, mode: Mode, target: Target, caller: Caller) -> Checked {
        let Some(i) = self.pick(session, |s| s.exists && s.busy) else {
            return Ok(());
        };
        self.texts_made += 1;
        let text = format!("text{}", self.texts_made);
        let caller_agent = match caller {
            Caller::Build => "build",
            Caller::Plan => "plan",
            Caller::Subagent => "general",
        };
        let agent = match target {
            Target::Caller => None,
            Target::Build => Some("build"),
            Target::Plan => Some("plan"),
            Target::Unknown => Some("ghost"),
            Target::Subagent => Some("general"),
        };
        let session = &self.sessions[i];
        let call = ToolCall {
            session_id: session.id.clone(),
            message_id: format!("msg_{}_{}", session.id, session.turns),
            caller_agent: caller_agent.to_owned(),
            mode,
            text: text.clone(),
            agent: agent.map(str::to_owned),
            session: None,
        };
        let session_id = session.id.clone();
        let id = self.engine.handle_tool_call(self.now, call);
        self.note(format!(
            "call {} in {session_id} by {caller_agent}: {mode} → {agent:?} \"{text}\"",
            id.0
        ));
        self.calls.insert(
            id,
            CallRecord {
                session: session_id,
                mode,
                text,
                replies: 0,
                reply: None,
                queued: false,
                not_confirmed: false,
            },
        );
        self.pump()
    }

    fn steer(&mut self, session: usize, target: usize, cancel: bool) -> Checked {
        let Some(i) = self.pick(session, |s| s.exists && s.busy) else {
            return Ok(());
        };
        // Mostly one of the caller's own branches, when it has one.
        let caller = self.sessions[i].id.clone();
        let own = |s: &HostSession| s.exists && self.parent_of.get(&s.id) == Some(&caller);
        let j = match self.pick(target / 4, own) {
            Some(j) if target % 4 != 0 => j,
            _ => match self.pick(target, |s| s.exists) {
                Some(j) => j,
                None => return Ok(()),
            },
        };
        self.texts_made += 1;
        let text = format!("text{}", self.texts_made);
        let mode = if cancel { Mode::Cancel } else { Mode::Message };
        let (caller, named) = (self.sessions[i].id.clone(), self.sessions[j].id.clone());
        let call = ToolCall {
            session_id: caller.clone(),
            message_id: format!("msg_{caller}_{}", self.sessions[i].turns),
            caller_agent: "build".to_owned(),
            mode,
            text: text.clone(),
            agent: None,
            session: Some(named.clone()),
        };
        let id = self.engine.handle_tool_call(self.now, call);
        self.note(format!(
            "call {} in {caller} by build: {mode} → {named} \"{text}\"",
            id.0
        ));
        self.calls.insert(
            id,
            CallRecord {
                session: caller,
                mode,
                text,
                replies: 0,
                reply: None,
                queued: false,
                not_confirmed: false,
            },
        );
        self.pump()
    }

    fn user_message(&mut self, session: usize, from_plugin: bool) -> Checked {
        if let Some(i) = self.pick(session, |s| s.exists) {
            let session_id = self.sessions[i].id.clone();
            self.note(format!(
                "user message in {session_id}, from plugin: {from_plugin}"
            ));
            self.engine.handle_user_message(&session_id, from_plugin);
        }
        self.pump()
    }

    fn start_turn(&mut self, i: usize) -> Checked {
        let session_id = self.sessions[i].id.clone();
        let now = self.now;
        let mut work = None;
        while let Some((next, starts_by)) = self.sessions[i].owed.pop_front() {
            if now < starts_by {
                work = Some(next);
                break;
            }
            self.note(format!("{session_id} never starts {next:?}"));
        }
        self.run(i, work)
    }

    /// Starts a turn in session `i` on `work`, or on a person's message.
    fn run(&mut self, i: usize, work: Option<Work>) -> Checked {
        let session_id = self.sessions[i].id.clone();
        if work.is_none() {
            // A person's message; it does not overtake a prompt or summary
            // whose outcome the engine still waits for.
            let waiting = self
                .unsettled
                .iter()
                .any(|(id, (s, _))| *s == session_id && self.awaits_outcome(*id));
            if waiting || self.sessions[i].unopened {
                return Ok(());
            }
            self.engine.handle_user_message(&session_id, false);
        }
        self.note(format!("{session_id} starts a turn on {work:?}"));
        if let Some(Work::Prompt(text, _)) = &work {
            if let Some(&relay) = self.relay_by_text.get(text) {
                self.relay_ran(relay)?;
            }
        }
        let session = &mut self.sessions[i];
        session.turns += 1;
        session.busy = true;
        session.running = work;
        self.event(BusEvent::Status {
            session_id,
            busy: true,
        })
    }

    fn relay_ran(&mut self, relay: u64) -> Checked {
        let Some(record) = self.relays.get_mut(&relay) else {
            return Ok(());
        };
        record.ran += 1;
        if record.ran > 1 {
            return violation(
                "1 (no prompt runs twice)",
                format!("relay #{relay} ran {} times", record.ran),
            );
        }
        // A prompt the engine gave up on, saying it may not have been
        // delivered (an uncertain failure), can still be taken late, after the relays behind it:
        // the engine was told nothing it could order by.
        if record.endings == [Ending::MayNotHaveBeenDelivered] {
            return Ok(());
        }
        let last = self.last_ran.entry(record.session.clone()).or_default();
        if record.accepted < *last {
            return violation(
                "2 (per-session order)",
                format!(
                    "relay #{relay} (number {} accepted in {}) ran after a relay accepted later",
                    record.accepted, record.session
                ),
            );
        }
        *last = record.accepted;
        Ok(())
    }

    fn end_turn(&mut self, i: usize, end: TurnEnd, compacted: bool) -> Checked {
        let session_id = self.sessions[i].id.clone();
        let summarizing = self.sessions[i].running == Some(Work::Summarize);
        let summary_outcome = self.sessions[i].summary_outcome.take();
        self.sessions[i].busy = false;
        self.sessions[i].running = None;
        self.note(format!("{session_id} ends its turn: {end:?}"));
        let id = || session_id.clone();
        if summarizing && compacted {
            self.event(BusEvent::Compacted { session_id: id() })?;
        }
        let (answer_first, answer_last) = match summary_outcome {
            Some((id, outcome, true)) => (Some((id, outcome)), None),
            Some((id, outcome, false)) => (None, Some((id, outcome))),
            None => (None, None),
        };
        if let Some((id, outcome)) = answer_first {
            self.deliver(id, outcome)?;
        }
        let abort = || BusEvent::Error {
            session_id: Some(session_id.clone()),
            name: Some(ABORTED.to_owned()),
            message: Some("Aborted".to_owned()),
        };
        let idle = || BusEvent::Status {
            session_id: session_id.clone(),
            busy: false,
        };
        let session_idle = || BusEvent::Idle {
            session_id: session_id.clone(),
        };
        let events = match end {
            TurnEnd::Idle => vec![idle(), session_idle()],
            TurnEnd::StatusOnly => vec![idle()],
            TurnEnd::IdleOnly => vec![session_idle()],
            TurnEnd::IdleTwice => vec![idle(), session_idle(), session_idle()],
            TurnEnd::Aborted => vec![abort(), idle(), session_idle()],
            TurnEnd::AbortedAfterIdle => vec![idle(), session_idle(), abort()],
            TurnEnd::AbortedStep => vec![
                BusEvent::StepFinished {
                    session_id: id(),
                    finish: None,
                    error: Some(ABORTED.to_owned()),
                },
                idle(),
                session_idle(),
            ],
            TurnEnd::StoppedAtToolCalls => vec![
                BusEvent::StepFinished {
                    session_id: id(),
                    finish: Some("tool-calls".to_owned()),
                    error: None,
                },
                idle(),
                session_idle(),
            ],
            TurnEnd::Failed => vec![
                BusEvent::Error {
                    session_id: Some(id()),
                    name: Some("APIError".to_owned()),
                    message: Some("rate limited".to_owned()),
                },
                idle(),
                session_idle(),
            ],
        };
        for event in events {
            self.event(event)?;
        }
        match answer_last {
            Some((id, outcome)) => self.deliver(id, outcome),
            None => Ok(()),
        }
    }

    /// Deletes a session; with `replace`, a deleted root is followed by a new one.
    fn delete(&mut self, i: usize, replace: bool) -> Checked {
        if replace && !self.sessions[i].id.starts_with('b') {
            // The person opens another session to work in.
            self.roots_made += 1;
            let id = format!("s{}", self.roots_made);
            self.sessions.push(HostSession::new(id, false));
        }
        let session = &mut self.sessions[i];
        session.exists = false;
        session.busy = false;
        session.running = None;
        session.owed.clear();
        let session_id = session.id.clone();
        self.event(BusEvent::Deleted { session_id })
    }

    fn new_branch(&mut self) -> String {
        self.branches_made += 1;
        let id = format!("b{}", self.branches_made);
        self.sessions.push(HostSession::new(id.clone(), true));
        id
    }

    /// The host takes a prompt or summary. An accepted prompt runs as the
    /// session's next turn, if it starts within the engine's time limit; a
    /// summary, or a request that took effect though it failed or got no
    /// answer, runs at once, before its outcome leaves OpenCode.
    fn take(&mut self, session_id: &str, work: Work, runs_now: bool, answered: bool) -> Checked {
        if let Work::Prompt(text, _) = &work {
            if let Some(branch) = self.branch_prompts.get_mut(text) {
                branch.taken += 1;
            }
            self.engine.handle_user_message(session_id, true);
        }
        self.note(format!("{session_id} takes {work:?}"));
        // The engine waits for the turn from the moment it hears of the
        // acceptance; until then, only as long as it waits for the outcome.
        let starts_by = match &work {
            Work::Prompt(_, id) if !answered => self.unsettled.get(id).map_or(0, |(_, by)| *by),
            _ => self.now + self.engine.config().request_timeout_ms,
        };
        let Some(i) = self.pick(0, |s| s.id == session_id && s.exists) else {
            return Ok(());
        };
        if runs_now && !self.sessions[i].busy {
            self.run(i, Some(work))
        } else {
            self.sessions[i].owed.push_back((work, starts_by));
            Ok(())
        }
    }

    fn answer(&mut self, index: usize, fate: Fate, at_once: bool) -> Checked {
        let (id, request) = self.in_flight.remove(index);
        self.note(format!("host answers request {}: {fate:?}", id.0));
        let exists =
            |world: &World, id: &str| world.sessions.iter().any(|s| s.id == id && s.exists);
        let not_found = || Outcome::failed_with(FailureCause::Refused, "HTTP 404");
        // What success looks like, and what taking the request does.
        let (success, effect): (Outcome, Option<(String, Work)>) = match &request {
            Request::ListAgents => (agents(), None),
            Request::AskPermission { .. } => (Outcome::Done, None),
            Request::CreateSession { .. } | Request::ForkSession { .. } => {
                let source_gone = matches!(&request, Request::ForkSession { session_id, .. } if !exists(self, session_id));
                if source_gone {
                    (not_found(), None)
                } else if matches!(fate, Fate::Succeed) {
                    let id = self.new_branch();
                    self.note(format!("host opens branch {id}"));
                    let title = format!("title of {id}");
                    (Outcome::Session { id, title }, None)
                } else {
                    (Outcome::Done, None)
                }
            }
            Request::Prompt {
                session_id, parts, ..
            } => {
                if let Some(session) = self.session_mut(session_id) {
                    session.unopened = false;
                }
                if !exists(self, session_id) {
                    (not_found(), None)
                } else {
                    let text = parts.last().cloned().unwrap_or_default();
                    self.note_branch_prompt(session_id, &text);
                    (
                        Outcome::Done,
                        Some((session_id.clone(), Work::Prompt(text, id))),
                    )
                }
            }
            Request::Summarize { session_id, .. } => {
                if exists(self, session_id) {
                    (Outcome::Done, Some((session_id.clone(), Work::Summarize)))
                } else {
                    (not_found(), None)
                }
            }
            Request::LastUserModel { session_id } => {
                if exists(self, session_id) {
                    (
                        Outcome::Model {
                            provider_id: "p".to_owned(),
                            model_id: "m".to_owned(),
                        },
                        None,
                    )
                } else {
                    (not_found(), None)
                }
            }
            Request::LastAnswer { session_id } => {
                if exists(self, session_id) {
                    (
                        Outcome::Answer {
                            text: format!("answer of {session_id}"),
                            error: None,
                        },
                        None,
                    )
                } else {
                    (not_found(), None)
                }
            }
            Request::RenameSession { session_id, .. }
            | Request::SelectSession { session_id }
            | Request::AbortSession { session_id }
            | Request::Note { session_id, .. } => {
                if exists(self, session_id) {
                    (Outcome::Done, None)
                } else {
                    (not_found(), None)
                }
            }
        };
        let (outcome, effect) = match fate {
            Fate::Succeed => (Some(success), effect),
            Fate::WrongShape => {
                let answers_done = matches!(
                    request,
                    Request::Prompt { .. }
                        | Request::Summarize { .. }
                        | Request::AskPermission { .. }
                        | Request::RenameSession { .. }
                        | Request::SelectSession { .. }
                        | Request::Note { .. }
                );
                let wrong = if answers_done {
                    Outcome::Agents { agents: Vec::new() }
                } else {
                    Outcome::Done
                };
                (Some(wrong), None)
            }
            Fate::Fail { cause, took_effect } => {
                let took = took_effect && cause == FailureCause::Unavailable;
                let message = match cause {
                    FailureCause::Unreachable => "ECONNREFUSED",
                    FailureCause::Unavailable => "HTTP 503",
                    FailureCause::Refused => "HTTP 400",
                };
                (
                    Some(Outcome::failed_with(cause, message)),
                    effect.filter(|_| took),
                )
            }
            Fate::NeverAnswer { took_effect } => (None, effect.filter(|_| took_effect)),
        };
        // The model keeps to "a prompt OpenCode accepted starts its turn
        // within the engine's time limit or never": one the engine already
        // gave up on is not taken (the engine could not tell its late turn
        // from the next relay's).
        let gave_up = self.unsettled.contains_key(&id) && !self.awaits_outcome(id);
        let effect = effect.filter(|_| !gave_up);
        if let Some((session_id, work)) = effect {
            let summary = work == Work::Summarize;
            let accepted = matches!(fate, Fate::Succeed);
            self.take(&session_id, work, summary || !accepted, at_once)?;
            if let (true, true, Some(outcome)) = (summary, accepted, outcome.clone()) {
                let running = self.pick(0, |s| {
                    s.id == session_id && s.exists && s.running == Some(Work::Summarize)
                });
                if let Some(i) = running {
                    self.sessions[i].summary_outcome = Some((id, outcome, at_once));
                    return Ok(());
                }
            }
        }
        match outcome {
            Some(outcome) if at_once => self.deliver(id, outcome),
            Some(outcome) => {
                self.deferred.push((id, outcome));
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// A prompt to a branch session with the text of the `new`/`fork` call
    /// that opened it is that branch's opening prompt.
    fn note_branch_prompt(&mut self, session_id: &str, text: &str) {
        if self.relay_by_text.contains_key(text) || self.branch_prompts.contains_key(text) {
            return;
        }
        let call = self
            .calls
            .iter()
            .find(|(_, c)| c.text == text && matches!(c.mode, Mode::New | Mode::Fork))
            .map(|(id, _)| *id);
        if let Some(call) = call {
            self.branch_prompts.insert(
                text.to_owned(),
                BranchPrompt {
                    call,
                    session: session_id.to_owned(),
                    taken: 0,
                    ambiguous: false,
                },
            );
        }
    }

    /// Whether a tool call made in `session_id` still waits for its reply.
    fn calls_waiting_in(&self, session_id: &str) -> bool {
        self.calls
            .values()
            .any(|c| c.session == session_id && c.reply.is_none())
    }

    /// Whether the engine still waits for the outcome of relay request `id`.
    fn awaits_outcome(&self, id: ActionId) -> bool {
        self.unsettled
            .get(&id)
            .is_some_and(|(_, deadline)| self.now < *deadline)
    }

    fn deliver(&mut self, id: ActionId, outcome: Outcome) -> Checked {
        self.unsettled.remove(&id);
        self.note(format!("outcome of request {}: {outcome:?}", id.0));
        if self.engine.handle_outcome(self.now, id, outcome.clone()) {
            let server_error = matches!(
                outcome,
                Outcome::Failed {
                    cause: FailureCause::Unavailable,
                    ..
                }
            );
            if let (true, Some(text)) = (server_error, self.prompt_texts.get(&id)) {
                if let Some(relay) = self.relay_by_text.get(text) {
                    if let Some(record) = self.relays.get_mut(relay) {
                        record.ambiguous = true;
                    }
                }
                if let Some(branch) = self.branch_prompts.get_mut(text) {
                    branch.ambiguous = true;
                }
            }
            // From here the engine waits for the accepted prompt's turn as
            // long as it waits for any request.
            if outcome == Outcome::Done {
                let starts_by = self.now + self.engine.config().request_timeout_ms;
                for session in &mut self.sessions {
                    for (work, by) in &mut session.owed {
                        if matches!(work, Work::Prompt(_, prompt) if *prompt == id) {
                            *by = (*by).max(starts_by);
                        }
                    }
                }
            }
            self.delivered.push((id, outcome));
        } else if let Some(action) = self.engine.poll_action() {
            return violation(
                "6 (a late outcome changes nothing)",
                format!("an outcome the engine refused led to {action:?}"),
            );
        }
        self.pump()
    }

    /// Lets time pass, firing the engine's timers when they are due.
    fn advance_to(&mut self, target: u64) -> Checked {
        while let Some(due) = self.engine.poll_timeout() {
            if due > target {
                break;
            }
            self.now = self.now.max(due);
            self.note("timer fires".to_owned());
            self.engine.handle_timeout(self.now);
            self.pump()?;
        }
        self.now = target;
        Ok(())
    }

    // ---- draining ----

    /// Answers every request with success, ends every turn, runs every
    /// prompt the host took and lets every timer fire, until nothing moves.
    fn settle(&mut self) -> Checked {
        for _ in 0..SETTLE_STEPS {
            if !self.in_flight.is_empty() {
                self.answer(0, Fate::Succeed, true)?;
            } else if !self.deferred.is_empty() {
                let (id, outcome) = self.deferred.remove(0);
                self.deliver(id, outcome)?;
            } else if let Some(i) =
                self.pick(0, |s| s.exists && s.busy && !self.calls_waiting_in(&s.id))
            {
                self.end_turn(i, TurnEnd::Idle, true)?;
            } else if let Some(i) = self.pick(0, |s| s.exists && !s.owed.is_empty()) {
                self.start_turn(i)?;
            } else if let Some(due) = self.engine.poll_timeout() {
                self.advance_to(due.max(self.now))?;
            } else {
                // Past every time limit, for good measure.
                return self.advance_to(self.now + 10 * 3_600_000);
            }
        }
        violation(
            "5 (the run drains)",
            format!("still moving after {SETTLE_STEPS} steps"),
        )
    }

    /// Deletes every session and drains, until none is left.
    fn delete_everything(&mut self) -> Checked {
        for _ in 0..20 {
            let live: Vec<usize> = (0..self.sessions.len())
                .filter(|&i| self.sessions[i].exists)
                .collect();
            if live.is_empty() {
                return Ok(());
            }
            for i in live {
                self.delete(i, false)?;
            }
            self.settle()?;
        }
        violation("5 (the run drains)", "sessions keep appearing".to_owned())
    }

    // ---- the checks at rest ----

    fn check_every_call_replied(&self) -> Checked {
        for (id, call) in &self.calls {
            if call.replies != 1 {
                return violation(
                    "4 (one reply per call)",
                    format!("call {} got {} replies", id.0, call.replies),
                );
            }
        }
        Ok(())
    }

    fn check_every_relay_ended(&self) -> Checked {
        for (id, relay) in &self.relays {
            let ending = match relay.endings[..] {
                [ending] => ending,
                _ => {
                    return violation(
                        "1 (each relay ends exactly once)",
                        format!(
                            "relay #{id} in {} has endings {:?} once drained (ran {} times)",
                            relay.session, relay.endings, relay.ran
                        ),
                    )
                }
            };
            if relay.ambiguous && ending != Ending::MayNotHaveBeenDelivered {
                return violation(
                    "1 (ambiguous outcomes are reported as such)",
                    format!("relay #{id}'s prompt got a 5xx, but it ended {ending:?}"),
                );
            }
            let consistent = match ending {
                Ending::Delivered => relay.ran == 1,
                Ending::NotDelivered | Ending::Cancelled => relay.ran == 0,
                Ending::MayNotHaveBeenDelivered => relay.ran <= 1,
            };
            if !consistent {
                return violation(
                    "1 (relay endings tell the truth)",
                    format!(
                        "relay #{id} \"{}\" in {} ended {ending:?} but ran {} times",
                        relay.text, relay.session, relay.ran
                    ),
                );
            }
        }
        for (text, branch) in &self.branch_prompts {
            let call = &self.calls[&branch.call];
            let Some((ok, reply)) = &call.reply else {
                return violation(
                    "1 (each branch prompt ends exactly once)",
                    format!("the call that opened {} has no reply", branch.session),
                );
            };
            if branch.ambiguous && !call.not_confirmed {
                return violation(
                    "1 (ambiguous outcomes are reported as such)",
                    format!(
                        "branch {}'s prompt got a 5xx, but its call was told: {reply}",
                        branch.session
                    ),
                );
            }
            let consistent = if *ok {
                branch.taken == 1
            } else if call.not_confirmed {
                branch.taken <= 1
            } else {
                branch.taken == 0
            };
            if !consistent {
                return violation(
                    "1 (branch replies tell the truth)",
                    format!(
                        "branch {} prompt \"{text}\" taken {} times, but its call was told: {reply}",
                        branch.session, branch.taken
                    ),
                );
            }
        }
        Ok(())
    }

    fn check_empty(&self) -> Checked {
        if !self.journal.is_empty() {
            return violation(
                "7 (pending list)",
                format!(
                    "still lists {:?} after every session was deleted",
                    self.journal
                ),
            );
        }
        if !self.engine.is_quiet() || !self.engine.is_empty() {
            return violation(
                "5 (memory returns to empty)",
                format!("after deleting every session: {:#?}", self.engine),
            );
        }
        if let Some(due) = self.engine.poll_timeout() {
            return violation(
                "5 (memory returns to empty)",
                format!("a timer is still wanted at {due}"),
            );
        }
        Ok(())
    }
}

fn agents() -> Outcome {
    sim::default_agents()
}

/// Plays `ops`, drains, checks the invariants at rest, then deletes every
/// session and checks that the engine forgot everything.
fn run(setup: &Setup, ops: &[Op], happy: bool) -> Result<(), TestCaseError> {
    let mut world = World::new(setup.config());
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| play(&mut world, ops, happy)))
        .unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            violation("6 (nothing panics)", message)
        });
    result.map_err(|failure| {
        TestCaseError::fail(format!("{failure}\ntrace:\n{}", world.trace_text()))
    })
}

fn play(world: &mut World, ops: &[Op], happy: bool) -> Checked {
    // Each session starts in a person's turn, so calls can come at once.
    for i in 0..world.sessions.len() {
        world.start_turn(i)?;
    }
    for op in ops {
        world.note(format!("-- {op:?}"));
        world.apply(op)?;
    }
    world.note("-- drain".to_owned());
    world.settle()?;
    world.check_every_call_replied()?;
    world.check_every_relay_ended()?;
    if happy {
        check_happy(world)?;
    }
    world.note("-- delete every session".to_owned());
    world.delete_everything()?;
    world.check_every_call_replied()?;
    world.check_every_relay_ended()?;
    world.check_empty()
}

/// On a host where nothing fails, every relay is delivered and every branch starts.
fn check_happy(world: &World) -> Checked {
    if let Some(toast) = world.error_toasts.first() {
        return violation(
            "happy host (nothing reported as failed)",
            format!("error toast: {toast}"),
        );
    }
    for (id, relay) in &world.relays {
        if relay.endings != [Ending::Delivered] || relay.ran != 1 {
            return violation(
                "happy host (every relay delivered)",
                format!(
                    "relay #{id} ended {:?} and ran {} times",
                    relay.endings, relay.ran
                ),
            );
        }
    }
    for branch in world.branch_prompts.values() {
        let ok = world.calls[&branch.call]
            .reply
            .as_ref()
            .is_some_and(|(ok, _)| *ok);
        if !ok || branch.taken != 1 {
            return violation(
                "happy host (every branch starts)",
                format!("branch {} did not start cleanly", branch.session),
            );
        }
    }
    Ok(())
}

/// `PROPTEST_CASES` when set, else `default` (kept small for CI).
fn config(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn every_relay_ends_exactly_once_and_the_engine_forgets_everything(
        setup in setup(),
        ops in prop::collection::vec(any_op(), 0..100),
    ) {
        run(&setup, &ops, false)?;
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn on_a_host_where_nothing_fails_every_relay_is_delivered(
        setup in setup(),
        ops in prop::collection::vec(happy_op(), 0..60),
    ) {
        run(&setup, &ops, true)?;
    }
}
