//! Carrying a `session` tool call from its arguments to its result:
//! check the target agent, then queue a relay (`message`, `compact`) or
//! start a branch session (`new`, `fork`) and answer the tool.

use crate::action::{Action, LogLevel, Request};
use crate::agents::reachable_agents;
use crate::engine::RelayEngine;
use crate::ids::ToolCallId;
use crate::mode::Mode;
use crate::outcome::Outcome;
use crate::tool_call::ToolCall;
use crate::wording;

#[derive(Debug)]
pub(crate) struct PendingCall {
    call: ToolCall,
    stage: CallStage,
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
        self.issue_for_call(now_ms, id, Request::ListAgents);
        self.calls.insert(
            id,
            PendingCall {
                call,
                stage: CallStage::CheckingAgent,
            },
        );
    }

    pub(crate) fn call_outcome(&mut self, now_ms: u64, id: ToolCallId, outcome: Outcome) {
        let Some(pending) = self.calls.remove(&id) else {
            return;
        };
        let PendingCall { call, stage } = pending;
        let agent = call.target_agent().to_owned();
        match (stage, outcome) {
            (CallStage::CheckingAgent, Outcome::Agents { agents }) => {
                let reachable = reachable_agents(&agents);
                if !reachable.contains(&agent.as_str()) {
                    let text = wording::unknown_agent(&agent, &reachable);
                    self.reply(id, false, text);
                    return;
                }
                self.agent_confirmed(now_ms, id, call);
            }
            (CallStage::CheckingAgent, Outcome::Failed { message }) => {
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
                self.issue_for_call(now_ms, id, request);
                self.calls.insert(
                    id,
                    PendingCall {
                        call,
                        stage: CallStage::PromptingBranch { session_id, title },
                    },
                );
            }
            (CallStage::OpeningBranch, Outcome::Failed { message }) => {
                let what = if call.mode == Mode::Fork {
                    "fork"
                } else {
                    "new session"
                };
                self.reply(id, false, wording::branch_failed(what, &message));
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
            (CallStage::PromptingBranch { session_id, .. }, Outcome::Failed { message }) => {
                self.reply(
                    id,
                    false,
                    wording::branch_not_answering(&agent, &session_id, &message),
                );
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
                self.issue_for_call(now_ms, id, request);
                self.calls.insert(
                    id,
                    PendingCall {
                        call,
                        stage: CallStage::OpeningBranch,
                    },
                );
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
