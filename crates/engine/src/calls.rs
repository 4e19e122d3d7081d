//! Carrying a `session` tool call from its arguments to its result:
//! check the target agent, then queue a relay (`message`, `compact`) or
//! start a branch session (`new`, `fork`) and answer the tool.

use crate::action::{Action, LogLevel, Request, ToastVariant};
use crate::agents::{reachability, reachable_agents, Reachability};
use crate::engine::RelayEngine;
use crate::ids::{ActionId, ToolCallId};
use crate::mode::Mode;
use crate::outcome::Outcome;
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CallStage {
    CheckingAgent,
    /// `new` or `fork`: waiting for the branch session.
    OpeningBranch,
    /// The branch exists; waiting for OpenCode to accept its prompt.
    PromptingBranch {
        session_id: String,
        title: String,
    },
}

impl RelayEngine {
    pub(crate) fn begin_call(&mut self, now_ms: u64, id: ToolCallId, call: ToolCall) {
        // Agents come and go with the config, so each call checks afresh.
        let request = self.issue_for_call(now_ms, id, Request::ListAgents);
        let pending = PendingCall {
            call,
            stage: CallStage::CheckingAgent,
            request,
            turn_ended: false,
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
            ..
        } = pending;
        let agent = call.target_agent().to_owned();
        let branch = if call.mode == Mode::Fork {
            "fork"
        } else {
            "new session"
        };
        let certainty = if matches!(outcome, Outcome::TimedOut { .. }) {
            Certainty::Uncertain
        } else {
            Certainty::Definite
        };
        match (stage, outcome) {
            (CallStage::CheckingAgent, Outcome::Agents { agents }) => {
                let why = reachability(&agents, &agent);
                if why != Reachability::Reachable {
                    let text = wording::agent_refused(&agent, why, &reachable_agents(&agents));
                    self.reply(id, false, text);
                } else if turn_ended && call.mode.is_queued() {
                    // Nobody reads the tool result of an ended turn: say it aloud.
                    let text = wording::turn_ended_before_queueing(&agent);
                    self.toast(
                        ToastVariant::Warning,
                        "Hand-off not queued".to_owned(),
                        text.clone(),
                    );
                    self.reply(id, false, text);
                } else {
                    self.agent_confirmed(now_ms, id, call);
                }
            }
            (
                CallStage::CheckingAgent,
                Outcome::Failed { message } | Outcome::TimedOut { message },
            ) => {
                self.reply(id, false, wording::agents_unavailable(&message));
            }
            (
                CallStage::OpeningBranch,
                Outcome::Session {
                    id: session_id,
                    title,
                },
            ) => {
                let request = Request::Prompt {
                    session_id: session_id.clone(),
                    agent,
                    parts: vec![call.text.clone()],
                };
                let request = self.issue_for_call(now_ms, id, request);
                let stage = CallStage::PromptingBranch { session_id, title };
                self.calls.insert(
                    id,
                    PendingCall {
                        call,
                        stage,
                        request,
                        turn_ended,
                    },
                );
            }
            (
                CallStage::OpeningBranch,
                Outcome::Failed { message } | Outcome::TimedOut { message },
            ) => {
                self.reply(
                    id,
                    false,
                    wording::branch_failed(branch, &message, certainty),
                );
            }
            (CallStage::PromptingBranch { session_id, title }, Outcome::Done) => {
                let text = if call.mode == Mode::Fork {
                    wording::started_fork(&agent, &session_id, &title)
                } else {
                    wording::started_new(&agent, &session_id, &title)
                };
                self.log(
                    LogLevel::Info,
                    format!(
                        "{} → {agent}: started {session_id} from {}",
                        call.mode, call.session_id
                    ),
                );
                self.reply(id, true, text);
            }
            (
                CallStage::PromptingBranch { session_id, .. },
                Outcome::Failed { message } | Outcome::TimedOut { message },
            ) => {
                let text = wording::branch_not_answering(&agent, &session_id, &message, certainty);
                self.reply(id, false, text);
            }
            (stage, outcome) => {
                let text = format!(
                    "Internal error: unexpected answer {outcome:?} while {stage:?}. Nothing more was done; please report this."
                );
                self.reply(id, false, text);
            }
        }
    }

    fn agent_confirmed(&mut self, now_ms: u64, id: ToolCallId, call: ToolCall) {
        match call.mode {
            Mode::Message | Mode::Compact => {
                let (relay, backlog) = self.enqueue_relay(now_ms, &call);
                let agent = call.target_agent();
                let text = if call.mode == Mode::Message {
                    wording::queued_message(agent, backlog)
                } else {
                    wording::queued_compact(agent, backlog)
                };
                self.log(
                    LogLevel::Info,
                    format!(
                        "{relay} queued in {}: {} → {agent}",
                        call.session_id, call.mode
                    ),
                );
                self.reply(id, true, text);
            }
            Mode::New | Mode::Fork => {
                let request = if call.mode == Mode::New {
                    Request::CreateSession {
                        title: wording::new_session_title(call.target_agent(), &call.text),
                    }
                } else {
                    // Forking at the in-flight message leaves this tool call out of the copy.
                    Request::ForkSession {
                        session_id: call.session_id.clone(),
                        message_id: call.message_id.clone(),
                    }
                };
                let request = self.issue_for_call(now_ms, id, request);
                let pending = PendingCall {
                    call,
                    stage: CallStage::OpeningBranch,
                    request,
                    turn_ended: false,
                };
                self.calls.insert(id, pending);
            }
        }
    }

    /// The session's turn ended: calls it made that are still checking their
    /// agent must not queue a relay for a turn that is already over.
    pub(crate) fn turn_ended_for_calls(&mut self, session_id: &str) {
        for pending in self.calls.values_mut() {
            if pending.call.session_id == session_id {
                pending.turn_ended = true;
            }
        }
    }

    /// The session was deleted: calls that would queue into it end now.
    pub(crate) fn session_gone_for_calls(&mut self, session_id: &str) {
        let gone: Vec<ToolCallId> = self
            .calls
            .iter()
            .filter(|(_, p)| p.call.session_id == session_id && p.call.mode.is_queued())
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
