//! Carrying a `session` tool call from its arguments to its result: check
//! the target agent and the limits the user set, ask OpenCode's permission
//! system, then queue a relay (`message`, `compact`) or open a branch session
//! (`new`, `fork`) and answer the tool.

use crate::action::{Action, LogLevel, Request, ToastVariant};
use crate::agents::{reachability, reachable_agents, AgentInfo, Reachability};
use crate::branches::BranchSlot;
use crate::engine::RelayEngine;
use crate::ids::{ActionId, ToolCallId};
use crate::mode::Mode;
use crate::outcome::{FailureCause, Outcome};
use crate::tool_call::ToolCall;
use crate::wording::{self, Certainty};

#[derive(Debug)]
pub(crate) struct PendingCall {
    call: ToolCall,
    stage: CallStage,
    /// The request this call waits for.
    request: ActionId,
    /// The calling turn ended (it was interrupted) while the call ran.
    turn_ended: bool,
    /// The calling session was deleted while its branch was being opened:
    /// the branch runs on, but has nobody to report to.
    parent_gone: bool,
    /// The branch session was deleted before its prompt was confirmed.
    branch_gone: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CallStage {
    CheckingAgent,
    AskingPermission,
    /// `new` or `fork`: waiting for the branch session.
    OpeningBranch {
        slot: BranchSlot,
    },
    /// The branch exists; waiting for OpenCode to accept its prompt.
    PromptingBranch {
        session_id: String,
        title: String,
        slot: BranchSlot,
    },
}

impl CallStage {
    /// Whether the call has not yet done anything a person could see.
    fn is_undecided(&self) -> bool {
        matches!(self, CallStage::CheckingAgent | CallStage::AskingPermission)
    }
}

/// Why a call is refused before anything is done.
enum Refusal {
    /// The model can fix this itself: said in the tool result only.
    ToModel(String),
    /// The person should know too: also a warning toast.
    ToEveryone { title: &'static str, text: String },
}

impl PendingCall {
    /// The session the call was made in.
    pub(crate) fn session_id(&self) -> &str {
        &self.call.session_id
    }
}

impl RelayEngine {
    pub(crate) fn begin_call(&mut self, now_ms: u64, id: ToolCallId, call: ToolCall) {
        if call.mode == Mode::Status {
            // Asks, hands nothing off: no agent check, no permission.
            return self.agent_confirmed(now_ms, id, call);
        }
        if !self.config.mode_enabled(call.mode) {
            let text = wording::mode_disabled(call.mode, &self.config.modes);
            self.reply(id, false, text);
            return;
        }
        // Agents come and go with the config, so each call checks afresh.
        let request = self.issue_for_call(now_ms, id, Request::ListAgents);
        self.track(id, call, CallStage::CheckingAgent, request);
    }

    fn track(&mut self, id: ToolCallId, call: ToolCall, stage: CallStage, request: ActionId) {
        let pending = PendingCall {
            call,
            stage,
            request,
            turn_ended: false,
            parent_gone: false,
            branch_gone: false,
        };
        self.calls.insert(id, pending);
    }

    pub(crate) fn call_outcome(&mut self, now_ms: u64, id: ToolCallId, outcome: Outcome) {
        let Some(pending) = self.calls.remove(&id) else {
            return;
        };
        let PendingCall {
            call,
            stage,
            turn_ended,
            parent_gone,
            branch_gone,
            ..
        } = pending;
        let agent = call.target_agent().to_owned();
        let branch = if call.mode == Mode::Fork {
            "fork"
        } else {
            "new session"
        };
        // A time-out or a server error may hide a session that was made after all.
        let certainty = match outcome {
            Outcome::TimedOut { .. }
            | Outcome::Failed {
                cause: FailureCause::Unavailable,
                ..
            } => Certainty::Uncertain,
            _ => Certainty::Definite,
        };
        match (stage, outcome) {
            (CallStage::CheckingAgent, Outcome::Agents { agents }) => {
                let refusal = self
                    .agent_refusal(&call, &agents)
                    .or_else(|| self.hop_refusal(&call))
                    .or_else(|| turn_over_refusal(&call, turn_ended));
                match refusal {
                    Some(refusal) => self.refuse(id, refusal),
                    None => {
                        let pattern = wording::permission_pattern(call.mode, &agent);
                        let request = Request::AskPermission { call: id, pattern };
                        let request = self.issue_for_call(now_ms, id, request);
                        self.track(id, call, CallStage::AskingPermission, request);
                        if let Some(pending) = self.calls.get_mut(&id) {
                            pending.turn_ended = turn_ended;
                        }
                    }
                }
            }
            (
                CallStage::CheckingAgent,
                Outcome::Failed { message, .. } | Outcome::TimedOut { message },
            ) => {
                self.fail(id, wording::agents_unavailable(&message));
            }
            (CallStage::AskingPermission, Outcome::Done) => {
                // Time passed while a person was asked: check the limits again.
                let refusal = self
                    .hop_refusal(&call)
                    .or_else(|| turn_over_refusal(&call, turn_ended));
                match refusal {
                    Some(refusal) => self.refuse(id, refusal),
                    None => self.agent_confirmed(now_ms, id, call),
                }
            }
            (CallStage::AskingPermission, Outcome::Failed { message, .. }) => {
                let pattern = wording::permission_pattern(call.mode, &agent);
                let text = wording::permission_denied(&pattern, &message);
                self.refuse(id, Refusal::ToModel(text));
            }
            (CallStage::AskingPermission, Outcome::TimedOut { .. }) => {
                let pattern = wording::permission_pattern(call.mode, &agent);
                let timeout = self.config.permission_timeout_ms;
                let text = wording::permission_unanswered(&pattern, timeout);
                self.refuse(
                    id,
                    Refusal::ToEveryone {
                        title: "Hand-off not made",
                        text,
                    },
                );
            }
            (
                CallStage::OpeningBranch { slot },
                Outcome::Session {
                    id: session_id,
                    title,
                },
            ) => {
                let title =
                    self.branch_opened(now_ms, &slot, &session_id, &title, &agent, &call.text);
                let request = Request::Prompt {
                    session_id: session_id.clone(),
                    agent,
                    parts: vec![call.text.clone()],
                };
                let request = self.issue_for_call(now_ms, id, request);
                let stage = CallStage::PromptingBranch {
                    session_id,
                    title,
                    slot,
                };
                self.track(id, call, stage, request);
                if let Some(pending) = self.calls.get_mut(&id) {
                    pending.parent_gone = parent_gone;
                }
            }
            (
                CallStage::OpeningBranch { slot },
                Outcome::Failed { message, .. } | Outcome::TimedOut { message },
            ) => {
                self.branch_abandoned(now_ms, &slot);
                self.fail(id, wording::branch_failed(branch, &message, certainty));
            }
            (
                CallStage::PromptingBranch {
                    session_id,
                    title,
                    slot,
                },
                Outcome::Done,
            ) => {
                if !parent_gone && !branch_gone {
                    self.track_branch(&call, slot.key.clone(), &session_id, &title);
                }
                self.branch_started(now_ms, id, &call, &session_id, &title, !branch_gone);
            }
            (
                CallStage::PromptingBranch {
                    session_id, slot, ..
                },
                Outcome::Failed { message, .. } | Outcome::TimedOut { message },
            ) => {
                self.branch_abandoned(now_ms, &slot);
                let text = wording::branch_not_answering(&agent, &session_id, &message, certainty);
                self.fail(id, text);
            }
            (stage, outcome) => {
                let text = format!(
                    "Internal error: unexpected answer {outcome:?} while {stage:?}. Nothing more was done; please report this."
                );
                self.fail(id, text);
            }
        }
    }

    /// Whether the target agent may answer: it must exist, be a primary
    /// agent, be allowed by the options, and a subagent's task session
    /// cannot queue hand-offs nobody would read.
    fn agent_refusal(&self, call: &ToolCall, agents: &[AgentInfo]) -> Option<Refusal> {
        let agent = call.target_agent();
        let why = reachability(agents, agent);
        if why != Reachability::Reachable {
            let text = wording::agent_refused(agent, why, &reachable_agents(agents));
            return Some(Refusal::ToModel(text));
        }
        if !self.config.agent_allowed(agent) {
            let allowed = self.config.agents.as_deref().unwrap_or_default();
            return Some(Refusal::ToModel(wording::agent_not_allowed(agent, allowed)));
        }
        let caller_is_subagent = agents
            .iter()
            .any(|a| a.name == call.caller_agent && a.mode == "subagent");
        if caller_is_subagent && call.mode.is_queued() {
            return Some(Refusal::ToModel(wording::queued_from_subagent(call.mode)));
        }
        None
    }

    /// The ping-pong guard: each hand-off is one hop, and a session may take
    /// `max_hops` of them before a person writes again.
    fn hop_refusal(&self, call: &ToolCall) -> Option<Refusal> {
        self.next_hop(&call.session_id)
            .is_none()
            .then(|| Refusal::ToEveryone {
                title: "Hand-off refused: hop limit",
                text: wording::hop_limit(self.config.max_hops),
            })
    }

    fn refuse(&mut self, id: ToolCallId, refusal: Refusal) {
        match refusal {
            Refusal::ToModel(text) => self.reply(id, false, text),
            Refusal::ToEveryone { title, text } => {
                self.toast(ToastVariant::Warning, title.to_owned(), text.clone());
                self.reply(id, false, text);
            }
        }
    }

    /// A failed action: said in the tool result, a toast and the log.
    fn fail(&mut self, id: ToolCallId, text: String) {
        self.toast(
            ToastVariant::Error,
            "Hand-off failed".to_owned(),
            text.clone(),
        );
        self.reply(id, false, text);
    }

    fn agent_confirmed(&mut self, now_ms: u64, id: ToolCallId, call: ToolCall) {
        let hop = self.hops(&call.session_id).saturating_add(1);
        match call.mode {
            Mode::Message | Mode::Compact => {
                // The hop counts from the moment it is promised.
                self.hops.insert(call.session_id.clone(), hop);
                let (relay, backlog) = self.enqueue_relay(now_ms, &call);
                let agent = call.target_agent();
                let text = if call.mode == Mode::Message {
                    wording::queued_message(relay, agent, backlog)
                } else {
                    wording::queued_compact(relay, agent, backlog)
                };
                self.log(
                    LogLevel::Info,
                    format!(
                        "{relay} queued in {} (hop {hop} of {}): {} → {agent}",
                        call.session_id, self.config.max_hops, call.mode
                    ),
                );
                self.reply(id, true, text);
            }
            Mode::Status => {
                let text = format!(
                    "{}\n\n{}",
                    self.branch_status(&call.session_id),
                    wording::engine_summary(&self.stats())
                );
                self.reply(id, true, text);
            }
            Mode::New | Mode::Fork => {
                let slot = self.join_branch_group(now_ms, &call);
                let request = if call.mode == Mode::New {
                    Request::CreateSession {
                        title: self.branch_title(&slot, call.target_agent(), &call.text),
                    }
                } else {
                    // Forking at the in-flight message leaves this tool call out of the copy.
                    Request::ForkSession {
                        session_id: call.session_id.clone(),
                        message_id: call.message_id.clone(),
                    }
                };
                let request = self.issue_for_call(now_ms, id, request);
                self.track(id, call, CallStage::OpeningBranch { slot }, request);
            }
        }
    }

    /// The branch's agent is answering: the branch inherits the hop count,
    /// unless it was deleted meanwhile.
    fn branch_started(
        &mut self,
        now_ms: u64,
        id: ToolCallId,
        call: &ToolCall,
        session_id: &str,
        title: &str,
        exists: bool,
    ) {
        let agent = call.target_agent();
        let hop = self.hops(&call.session_id).saturating_add(1);
        if exists {
            self.hops.insert(session_id.to_owned(), hop);
        }
        let shown = exists && self.config.switch_to.contains(&call.mode);
        if shown {
            let request = Request::SelectSession {
                session_id: session_id.to_owned(),
            };
            self.issue_in_background(now_ms, request);
        }
        let text = if call.mode == Mode::Fork {
            wording::started_fork(agent, session_id, title, shown)
        } else {
            wording::started_new(agent, session_id, title, shown)
        };
        self.log(
            LogLevel::Info,
            format!(
                "{} → {agent}: started {session_id} \"{title}\" from {} (hop {hop} of {})",
                call.mode, call.session_id, self.config.max_hops
            ),
        );
        self.reply(id, true, text);
    }

    /// The session's turn ended: calls it made that are still undecided
    /// must not queue a relay for a turn that is already over.
    pub(crate) fn turn_ended_for_calls(&mut self, session_id: &str) {
        for pending in self.calls.values_mut() {
            if pending.call.session_id == session_id {
                pending.turn_ended = true;
            }
        }
    }

    /// A person interrupted the session's turn: its calls that have not yet
    /// acted end now. Returns a line for each, for the interrupt toast.
    pub(crate) fn interrupt_calls(&mut self, session_id: &str) -> Vec<String> {
        let undecided: Vec<ToolCallId> = self
            .calls
            .iter()
            .filter(|(_, p)| p.call.session_id == session_id && p.stage.is_undecided())
            .map(|(id, _)| *id)
            .collect();
        let mut lines = Vec::new();
        for id in undecided {
            if let Some(pending) = self.calls.remove(&id) {
                self.forget_request(pending.request);
                let call = &pending.call;
                lines.push(wording::cancelled_line(
                    call.mode.as_str(),
                    call.target_agent(),
                    &call.text,
                ));
                self.reply(id, false, wording::call_interrupted());
            }
        }
        lines
    }

    /// The session was deleted: calls that would queue into it, or have not
    /// yet opened their branch, end now; a branch already being opened will
    /// not report to it, and one deleted while its prompt is confirmed is
    /// not followed.
    pub(crate) fn session_gone_for_calls(&mut self, session_id: &str) {
        for pending in self.calls.values_mut() {
            if pending.call.session_id == session_id {
                pending.parent_gone = true;
            }
            if matches!(&pending.stage, CallStage::PromptingBranch { session_id: branch, .. } if branch == session_id)
            {
                pending.branch_gone = true;
            }
        }
        let gone: Vec<ToolCallId> = self
            .calls
            .iter()
            .filter(|(_, p)| {
                p.call.session_id == session_id
                    && (p.call.mode.is_queued() || p.stage.is_undecided())
            })
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            if let Some(pending) = self.calls.remove(&id) {
                self.forget_request(pending.request);
                self.reply(id, false, wording::session_deleted_before_queueing());
            }
        }
    }

    fn reply(&mut self, call: ToolCallId, ok: bool, text: String) {
        if !ok {
            self.log(LogLevel::Warn, format!("session tool call failed: {text}"));
        }
        self.push(Action::ReplyToTool { call, ok, text });
    }
}

/// A queued hand-off is only made while the turn that asked for it runs.
fn turn_over_refusal(call: &ToolCall, turn_ended: bool) -> Option<Refusal> {
    (turn_ended && call.mode.is_queued()).then(|| Refusal::ToEveryone {
        title: "Hand-off not queued",
        text: wording::turn_ended_before_queueing(call.target_agent()),
    })
}
