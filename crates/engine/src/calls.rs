//! Carrying a `session` tool call from its arguments to its result: check
//! the target agent and the limits the user set, ask OpenCode's permission
//! system, then queue a relay (`message`, `compact`) or open a branch session
//! (`new`, `fork`) and answer the tool. [`Calls`] owns the calls in progress;
//! every answer it gives is a [`Notice`] carrying the call's id.

use crate::action::Request;
use crate::agents::{reachability, reachable_agents, AgentInfo, Reachability};
use crate::branches::{Branches, Siblings};
use crate::config::EngineConfig;
use crate::fast_hash::HashMap;
use crate::groups::BranchSlot;
use crate::hops::Hops;
use crate::host_limits::HostLimit;
use crate::ids::{ActionId, ToolCallId};
use crate::mode::Mode;
use crate::notice::{CallFailure, Cancelled, Certainty, Notice, Refusal, RequestError};
use crate::outcome::Outcome;
use crate::outputs::Outputs;
use crate::relays::Relays;
use crate::render;
use crate::requests::{Answer, Owner, Requests};
use crate::tool_call::ToolCall;

#[derive(Debug)]
pub(crate) struct Calls {
    calls: HashMap<ToolCallId, PendingCall>,
    /// Modes the tool offers; the others are refused.
    modes: Vec<Mode>,
    /// Modes the host cannot perform, refused naming what it lacks.
    host_limits: Vec<HostLimit>,
    /// Agents a hand-off may target; `None` allows every primary agent.
    agents: Option<Vec<String>>,
    /// Branch modes after which the TUI shows the branch.
    switch_to: Vec<Mode>,
    permission_timeout_ms: u64,
    /// The host ends with the calling turn: relays go out within it, and a
    /// branch call returns once its branch answered.
    within_turn: bool,
}

/// The siblings a call acts through.
pub(crate) struct CallSiblings<'a> {
    pub branches: &'a mut Branches,
    pub relays: &'a mut Relays,
    pub hops: &'a mut Hops,
    pub requests: &'a mut Requests,
    pub out: &'a mut Outputs,
}

impl CallSiblings<'_> {
    /// What a branch needs to finish its group.
    fn for_branches(&mut self) -> (&mut Branches, Siblings<'_>) {
        (
            &mut *self.branches,
            Siblings {
                hops: &mut *self.hops,
                relays: &mut *self.relays,
                requests: &mut *self.requests,
                out: &mut *self.out,
            },
        )
    }
}

#[derive(Debug)]
struct PendingCall {
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

/// A branch whose agent is answering, as its call tells it.
struct BranchOpened<'a> {
    session_id: &'a str,
    title: &'a str,
    /// The branch session still exists.
    exists: bool,
    /// The call's result waits for the branch's answer.
    answer_follows: bool,
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
        match self {
            CallStage::CheckingAgent | CallStage::AskingPermission => true,
            CallStage::OpeningBranch { .. } | CallStage::PromptingBranch { .. } => false,
        }
    }
}

fn refused(id: ToolCallId, call: &ToolCall, reason: Refusal) -> Notice {
    Notice::CallRefused {
        call: id,
        session_id: call.session_id.clone(),
        caller_agent: call.caller_agent.clone(),
        agent: call.target_agent().to_owned(),
        mode: call.mode,
        reason,
    }
}

fn failed(id: ToolCallId, call: &ToolCall, failure: CallFailure, certainty: Certainty) -> Notice {
    Notice::CallFailed {
        call: id,
        session_id: call.session_id.clone(),
        caller_agent: call.caller_agent.clone(),
        agent: call.target_agent().to_owned(),
        mode: call.mode,
        failure,
        certainty,
    }
}

impl Calls {
    pub fn new(config: &EngineConfig) -> Self {
        Calls {
            calls: HashMap::default(),
            modes: config.enabled_hand_offs(),
            host_limits: config.host_limits.clone(),
            agents: config.agents.clone(),
            switch_to: config.switch_to.clone(),
            permission_timeout_ms: config.permission_timeout_ms,
            within_turn: false,
        }
    }

    /// The host ends with the turn that calls the tool (OpenCode's `run`).
    pub fn host_ends_with_turn(&mut self) {
        self.within_turn = true;
    }

    /// Whether the host ends with the turn that calls the tool.
    pub fn hands_off_within_turn(&self) -> bool {
        self.within_turn
    }

    /// Tool calls still waiting for their result.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Whether a call made in the session is in progress: its turn runs.
    pub fn any_in(&self, session_id: &str) -> bool {
        self.calls
            .values()
            .any(|pending| pending.call.session_id == session_id)
    }

    /// A call that hands work off (any mode but `status`) began.
    pub fn begin(&mut self, now_ms: u64, id: ToolCallId, call: ToolCall, sib: &mut CallSiblings) {
        if !self.modes.contains(&call.mode) {
            let enabled = self.modes.clone();
            let reason = match self.host_limits.iter().find(|l| l.mode == call.mode) {
                Some(limit) => Refusal::HostLacks {
                    lacks: limit.lacks.clone(),
                    enabled,
                },
                None => Refusal::ModeDisabled { enabled },
            };
            sib.out.notice(refused(id, &call, reason));
            return;
        }
        // Agents come and go with the config, so each call checks afresh.
        let request = sib
            .requests
            .issue(now_ms, Owner::Call(id), Request::ListAgents, sib.out);
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

    pub fn outcome(&mut self, now_ms: u64, id: ToolCallId, answer: Answer, sib: &mut CallSiblings) {
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
        // A time-out or a server error may hide a session that was made after all.
        let certainty = if answer.may_have_taken_effect() {
            Certainty::Uncertain
        } else {
            Certainty::Definite
        };
        match (stage, answer.into_result()) {
            (CallStage::CheckingAgent, Ok(Outcome::Agents { agents })) => {
                let refusal = self
                    .agent_refusal(&call, &agents)
                    .or_else(|| hop_refusal(&call, sib.hops))
                    .or_else(|| turn_over_refusal(&call, turn_ended));
                match refusal {
                    Some(reason) => sib.out.notice(refused(id, &call, reason)),
                    None => {
                        let pattern = render::permission_pattern(call.mode, call.target_agent());
                        let ask = Request::AskPermission { call: id, pattern };
                        let request = sib.requests.issue(now_ms, Owner::Call(id), ask, sib.out);
                        self.track(id, call, CallStage::AskingPermission, request);
                        if let Some(pending) = self.calls.get_mut(&id) {
                            pending.turn_ended = turn_ended;
                        }
                    }
                }
            }
            (CallStage::CheckingAgent, Err(error)) => {
                let failure = CallFailure::AgentsUnavailable { error };
                sib.out.notice(failed(id, &call, failure, certainty));
            }
            (CallStage::AskingPermission, Ok(Outcome::Done)) => {
                // Time passed while a person was asked: check the limits again.
                let refusal =
                    hop_refusal(&call, sib.hops).or_else(|| turn_over_refusal(&call, turn_ended));
                match refusal {
                    Some(reason) => sib.out.notice(refused(id, &call, reason)),
                    None => self.confirmed(now_ms, id, call, sib),
                }
            }
            (CallStage::AskingPermission, Err(RequestError::Failed { message })) => {
                let reason = Refusal::PermissionRefused { message };
                sib.out.notice(refused(id, &call, reason));
            }
            (
                CallStage::AskingPermission,
                Err(RequestError::TimedOut { .. } | RequestError::ReportedTimeOut { .. }),
            ) => {
                let reason = Refusal::PermissionUnanswered {
                    timeout_ms: self.permission_timeout_ms,
                };
                sib.out.notice(refused(id, &call, reason));
            }
            (
                CallStage::OpeningBranch { slot },
                Ok(Outcome::Session {
                    id: session_id,
                    title,
                }),
            ) => {
                let title = sib.branches.opened(
                    now_ms,
                    &slot,
                    &session_id,
                    &title,
                    &call,
                    sib.requests,
                    sib.out,
                );
                let request = Request::Prompt {
                    session_id: session_id.clone(),
                    agent: call.target_agent().to_owned(),
                    parts: vec![call.text.clone()],
                };
                let request = sib
                    .requests
                    .issue(now_ms, Owner::Call(id), request, sib.out);
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
            (CallStage::OpeningBranch { slot }, Err(error)) => {
                let (branches, mut siblings) = sib.for_branches();
                branches.abandoned(now_ms, &slot, &mut siblings);
                let failure = CallFailure::BranchNotStarted { error };
                sib.out.notice(failed(id, &call, failure, certainty));
            }
            (
                CallStage::PromptingBranch {
                    session_id,
                    title,
                    slot,
                },
                Ok(Outcome::Done),
            ) => {
                let tracked = !parent_gone && !branch_gone;
                // Where the host ends with the turn, the call waits for the
                // branch's answer, so the branch runs to its end.
                let answer_follows = tracked && self.within_turn;
                if tracked {
                    let reply_to = answer_follows.then_some(id);
                    sib.branches
                        .track(&call, &slot, &session_id, &title, reply_to);
                }
                let started = BranchOpened {
                    session_id: &session_id,
                    title: &title,
                    exists: !branch_gone,
                    answer_follows,
                };
                self.branch_started(now_ms, id, &call, started, sib);
            }
            (
                CallStage::PromptingBranch {
                    session_id, slot, ..
                },
                Err(error),
            ) => {
                let (branches, mut siblings) = sib.for_branches();
                branches.abandoned(now_ms, &slot, &mut siblings);
                let failure = CallFailure::BranchNotAnswering {
                    branch_session_id: session_id,
                    error,
                };
                sib.out.notice(failed(id, &call, failure, certainty));
            }
            (stage, Ok(outcome)) => {
                let failure = CallFailure::Internal {
                    answer: format!("{outcome:?}"),
                    stage: format!("{stage:?}"),
                };
                sib.out
                    .notice(failed(id, &call, failure, Certainty::Definite));
            }
        }
    }

    /// Whether the target agent may answer: it must exist, be a primary
    /// agent, be allowed by the options, and a subagent's task session
    /// cannot queue hand-offs nobody would read.
    fn agent_refusal(&self, call: &ToolCall, agents: &[AgentInfo]) -> Option<Refusal> {
        let agent = call.target_agent();
        let reachable = || {
            reachable_agents(agents)
                .into_iter()
                .map(str::to_owned)
                .collect()
        };
        match reachability(agents, agent) {
            Reachability::Reachable => {}
            Reachability::Unknown => {
                return Some(Refusal::AgentUnknown {
                    reachable: reachable(),
                })
            }
            Reachability::Subagent => {
                return Some(Refusal::AgentIsSubagent {
                    reachable: reachable(),
                })
            }
            Reachability::Hidden => {
                return Some(Refusal::AgentHidden {
                    reachable: reachable(),
                })
            }
        }
        if let Some(allowed) = self
            .agents
            .as_ref()
            .filter(|a| !a.iter().any(|a| a == agent))
        {
            return Some(Refusal::AgentNotAllowed {
                allowed: allowed.clone(),
            });
        }
        let caller_is_subagent = agents
            .iter()
            .any(|a| a.name == call.caller_agent && a.mode == "subagent");
        if caller_is_subagent && call.mode.is_queued() {
            return Some(Refusal::QueuedFromSubagent);
        }
        None
    }

    fn confirmed(&mut self, now_ms: u64, id: ToolCallId, call: ToolCall, sib: &mut CallSiblings) {
        match call.mode {
            Mode::Message | Mode::Compact => {
                // The hop counts from the moment it is promised.
                let hop = sib.hops.count(&call.session_id);
                let (relay, backlog) = sib.relays.enqueue(now_ms, &call, sib.requests);
                sib.out.notice(Notice::RelayQueued {
                    call: id,
                    relay,
                    session_id: call.session_id.clone(),
                    caller_agent: call.caller_agent.clone(),
                    agent: call.target_agent().to_owned(),
                    mode: call.mode,
                    hop,
                    max_hops: sib.hops.max_hops(),
                    backlog,
                    within_turn: self.within_turn,
                });
            }
            Mode::New => {
                let slot = sib
                    .branches
                    .join_group(now_ms, &call, sib.requests, sib.out);
                let request = Request::CreateSession {
                    title: sib.branches.title(&slot, &call),
                };
                self.open_branch(now_ms, id, call, slot, request, sib);
            }
            Mode::Fork => {
                let slot = sib
                    .branches
                    .join_group(now_ms, &call, sib.requests, sib.out);
                // Forking at the in-flight message leaves this tool call out of the copy.
                let request = Request::ForkSession {
                    session_id: call.session_id.clone(),
                    message_id: call.message_id.clone(),
                };
                self.open_branch(now_ms, id, call, slot, request, sib);
            }
            // Answered by the engine before any check; never tracked here.
            Mode::Status => {
                let failure = CallFailure::Internal {
                    answer: format!("{:?}", call.mode),
                    stage: format!("{:?}", CallStage::AskingPermission),
                };
                sib.out
                    .notice(failed(id, &call, failure, Certainty::Definite));
            }
        }
    }

    /// Asks for the session a `new` or `fork` call opens.
    fn open_branch(
        &mut self,
        now_ms: u64,
        id: ToolCallId,
        call: ToolCall,
        slot: BranchSlot,
        request: Request,
        sib: &mut CallSiblings,
    ) {
        let request = sib
            .requests
            .issue(now_ms, Owner::Call(id), request, sib.out);
        self.track(id, call, CallStage::OpeningBranch { slot }, request);
    }

    /// The branch's agent is answering: the branch inherits the hop count,
    /// unless it was deleted meanwhile.
    fn branch_started(
        &mut self,
        now_ms: u64,
        id: ToolCallId,
        call: &ToolCall,
        started: BranchOpened,
        sib: &mut CallSiblings,
    ) {
        let BranchOpened {
            session_id,
            title,
            exists,
            answer_follows,
        } = started;
        let hop = sib.hops.inherit(&call.session_id, session_id, exists);
        let shown = exists && self.switch_to.contains(&call.mode);
        if shown {
            let request = Request::SelectSession {
                session_id: session_id.to_owned(),
            };
            sib.requests.issue_in_background(now_ms, request, sib.out);
        }
        sib.out.notice(Notice::BranchStarted {
            call: id,
            session_id: call.session_id.clone(),
            branch_session_id: session_id.to_owned(),
            title: title.to_owned(),
            caller_agent: call.caller_agent.clone(),
            agent: call.target_agent().to_owned(),
            mode: call.mode,
            shown,
            answer_follows,
            hop,
            max_hops: sib.hops.max_hops(),
        });
    }

    /// The session's turn ended: calls it made that are still undecided
    /// must not queue a relay for a turn that is already over.
    pub fn turn_ended(&mut self, session_id: &str) {
        for pending in self.calls.values_mut() {
            if pending.call.session_id == session_id {
                pending.turn_ended = true;
            }
        }
    }

    /// A person interrupted the session's turn: its calls that have not yet
    /// acted end now. Returns them, for the notice that lists what the
    /// interrupt cancelled.
    pub fn interrupted(
        &mut self,
        session_id: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) -> Vec<Cancelled> {
        let undecided: Vec<ToolCallId> = self
            .calls
            .iter()
            .filter(|(_, p)| p.call.session_id == session_id && p.stage.is_undecided())
            .map(|(id, _)| *id)
            .collect();
        let mut cancelled = Vec::new();
        for id in undecided {
            if let Some(pending) = self.calls.remove(&id) {
                requests.forget(pending.request);
                let call = pending.call;
                out.notice(refused(id, &call, Refusal::Interrupted));
                cancelled.push(Cancelled::ToolCall {
                    call: id,
                    mode: call.mode,
                    agent: call.target_agent().to_owned(),
                    text: call.text,
                });
            }
        }
        cancelled
    }

    /// The session was deleted: calls that would queue into it, or have not
    /// yet opened their branch, end now; a branch already being opened will
    /// not report to it, and one deleted while its prompt is confirmed is
    /// not followed.
    pub fn session_deleted(
        &mut self,
        session_id: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
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
                requests.forget(pending.request);
                out.notice(refused(id, &pending.call, Refusal::SessionDeleted));
            }
        }
    }
}

/// The ping-pong guard: each hand-off is one hop, and a session may take
/// `max_hops` of them before a person writes again.
fn hop_refusal(call: &ToolCall, hops: &Hops) -> Option<Refusal> {
    hops.exhausted(&call.session_id).then(|| Refusal::HopLimit {
        max_hops: hops.max_hops(),
    })
}

/// A queued hand-off is only made while the turn that asked for it runs.
fn turn_over_refusal(call: &ToolCall, turn_ended: bool) -> Option<Refusal> {
    (turn_ended && call.mode.is_queued()).then_some(Refusal::TurnOver)
}
