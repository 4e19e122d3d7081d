//! Carrying a `session` tool call from its arguments to its result: check
//! the target agent and the limits the user set, ask OpenCode's permission
//! system, then queue a relay (`message`, `compact`, a follow-up to a
//! branch) or open a branch session (`new`, `fork`) and answer the tool; or
//! stop a branch (`cancel`). [`Calls`] owns the calls in progress, and the
//! branch calls waiting for their place under `maxBranches`; every answer it
//! gives is a [`Notice`] carrying the call's id.

use crate::action::Request;
use crate::agents::{reachability, reachable_agents, AgentInfo, Reachability};
use crate::branches::{Branches, Cancelling, FollowUp, OpeningTurn, Siblings};
use crate::config::EngineConfig;
use crate::fast_hash::HashMap;
use crate::groups::BranchSlot;
use crate::hops::Hops;
use crate::host_limits::HostLimit;
use crate::ids::{ActionId, ToolCallId};
use crate::mode::Mode;
use crate::notice::{
    CallFailure, Cancelled, Certainty, Notice, Refusal, RequestError, WaitingBranch,
};
use crate::outcome::Outcome;
use crate::outputs::Outputs;
use crate::relays::Relays;
use crate::render;
use crate::requests::{Answer, Owner, Requests};
use crate::tool_call::ToolCall;
use std::collections::VecDeque;

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
    /// Branches of one session that run at once.
    max_branches: u32,
    /// Branch calls waiting for fewer branches of their session to run, in call order.
    waiting: VecDeque<WaitingCall>,
    /// Branches can be opened, so `cancel` and follow-ups have something to name.
    opens_branches: bool,
    /// What the host lacks to stop a session, when it cannot.
    cancel_lacks: Option<String>,
    /// The modes the tool offers, for refusals to list.
    offered: Vec<Mode>,
}

/// A `new` or `fork` call whose branch waits for its place.
#[derive(Debug)]
struct WaitingCall {
    id: ToolCallId,
    call: ToolCall,
    slot: BranchSlot,
    /// The request that opens its branch session.
    open: Request,
    /// The calling turn ended while it waited.
    turn_ended: bool,
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
    /// What the branch session's events told of its prompt's turn before
    /// the prompt was confirmed.
    opening_turn: OpeningTurn,
    /// A turn runs in the branch session (its own or not), as its events
    /// said before its prompt was confirmed.
    branch_busy: bool,
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
    /// `cancel`: the branch is no longer followed; waiting for OpenCode to stop its turn.
    StoppingBranch {
        session_id: String,
        title: String,
        dropped: Vec<Cancelled>,
    },
}

impl CallStage {
    /// Whether the call has not yet done anything a person could see.
    fn is_undecided(&self) -> bool {
        match self {
            CallStage::CheckingAgent | CallStage::AskingPermission => true,
            CallStage::OpeningBranch { .. }
            | CallStage::PromptingBranch { .. }
            | CallStage::StoppingBranch { .. } => false,
        }
    }

    /// Whether the call is opening a branch, which counts as running.
    fn is_opening(&self) -> bool {
        match self {
            CallStage::OpeningBranch { .. } | CallStage::PromptingBranch { .. } => true,
            CallStage::CheckingAgent
            | CallStage::AskingPermission
            | CallStage::StoppingBranch { .. } => false,
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
            max_branches: config.max_branches,
            waiting: VecDeque::new(),
            opens_branches: config.opens_branches(),
            cancel_lacks: config.host_lacks(Mode::Cancel).map(str::to_owned),
            offered: config.offered_modes(),
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
        self.calls.is_empty() && self.waiting.is_empty()
    }

    /// The branch calls of `session_id` waiting for their place, in line order.
    pub fn waiting_in(&self, session_id: &str) -> Vec<WaitingBranch> {
        self.waiting
            .iter()
            .filter(|w| w.call.session_id == session_id)
            .enumerate()
            .map(|(n, w)| WaitingBranch {
                mode: w.call.mode,
                agent: w.call.target_agent().to_owned(),
                text: w.call.text.clone(),
                place: n + 1,
            })
            .collect()
    }

    /// Branches of `parent` that run, those being opened included.
    fn running_for(&self, parent: &str, branches: &Branches) -> usize {
        let opening = self
            .calls
            .values()
            .filter(|p| p.call.session_id == parent && p.stage.is_opening())
            .count();
        branches.running_of(parent) + opening
    }

    /// Opens the branches that wait, in call order, while their session
    /// runs fewer than `max_branches`.
    pub fn start_waiting(&mut self, now_ms: u64, sib: &mut CallSiblings) {
        let mut next = 0;
        while next < self.waiting.len() {
            let Some(parent) = self.waiting.get(next).map(|w| w.call.session_id.clone()) else {
                break;
            };
            let first_of_its_session = !self
                .waiting
                .iter()
                .take(next)
                .any(|w| w.call.session_id == parent);
            let room = self.running_for(&parent, sib.branches) < self.max_branches as usize;
            if !(first_of_its_session && room) {
                next += 1;
                continue;
            }
            if let Some(WaitingCall {
                id,
                call,
                slot,
                open,
                turn_ended,
            }) = self.waiting.remove(next)
            {
                self.open_branch(now_ms, id, call, slot, open, sib);
                if let Some(pending) = self.calls.get_mut(&id) {
                    pending.turn_ended = turn_ended;
                }
            }
        }
    }

    /// Whether a call made in the session is in progress: its turn runs.
    pub fn any_in(&self, session_id: &str) -> bool {
        self.calls
            .values()
            .any(|pending| pending.call.session_id == session_id)
    }

    /// A call that hands work off or stops a branch (any mode but `status`) began.
    pub fn begin(
        &mut self,
        now_ms: u64,
        id: ToolCallId,
        mut call: ToolCall,
        sib: &mut CallSiblings,
    ) {
        if call.mode == Mode::Cancel {
            self.cancel(now_ms, id, call, sib);
            return;
        }
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
        // A follow-up names one of the session's branches, whose agent answers by default.
        if let Some(named) = call.session.clone() {
            match sib.branches.resolve(&call.session_id, &named) {
                Ok(branch) => {
                    if call.agent.is_none() {
                        call.agent = sib.branches.agent_of(&branch);
                    }
                    call.session = Some(branch);
                }
                Err(branches) => {
                    let reason = Refusal::NotABranch { named, branches };
                    sib.out.notice(refused(id, &call, reason));
                    return;
                }
            }
        }
        // Agents come and go with the config, so each call checks afresh.
        let request = sib
            .requests
            .issue(now_ms, Owner::Call(id), Request::ListAgents, sib.out);
        self.track(id, call, CallStage::CheckingAgent, request);
    }

    /// `cancel`: stops the branch the call names, if it runs.
    fn cancel(&mut self, now_ms: u64, id: ToolCallId, call: ToolCall, sib: &mut CallSiblings) {
        let enabled = self.offered.clone();
        let refusal = match (&self.cancel_lacks, self.opens_branches) {
            (Some(lacks), _) => Some(Refusal::HostLacks {
                lacks: lacks.clone(),
                enabled,
            }),
            (None, false) => Some(Refusal::ModeDisabled { enabled }),
            (None, true) => None,
        };
        if let Some(reason) = refusal {
            sib.out.notice(refused(id, &call, reason));
            return;
        }
        let named = call.session.clone().unwrap_or_default();
        let branch = match sib.branches.resolve(&call.session_id, &named) {
            Ok(branch) => branch,
            Err(branches) => {
                let reason = Refusal::NotABranch { named, branches };
                sib.out.notice(refused(id, &call, reason));
                return;
            }
        };
        let (branches, mut siblings) = sib.for_branches();
        match branches.cancel(now_ms, &branch, &mut siblings) {
            Cancelling::Finished(info) => sib.out.notice(Notice::NothingToCancel {
                call: id,
                session_id: call.session_id.clone(),
                branch: info,
            }),
            Cancelling::Stopped { title, dropped } => {
                let stop = Request::AbortSession {
                    session_id: branch.clone(),
                };
                let request = sib.requests.issue(now_ms, Owner::Call(id), stop, sib.out);
                let stage = CallStage::StoppingBranch {
                    session_id: branch,
                    title,
                    dropped,
                };
                self.track(id, call, stage, request);
            }
        }
    }

    fn track(&mut self, id: ToolCallId, call: ToolCall, stage: CallStage, request: ActionId) {
        let pending = PendingCall {
            call,
            stage,
            request,
            turn_ended: false,
            parent_gone: false,
            branch_gone: false,
            opening_turn: OpeningTurn::Coming,
            branch_busy: false,
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
            opening_turn,
            branch_busy,
            ..
        } = pending;
        // A time-out or a server error may hide a session that was made after all.
        let certainty = if answer.may_have_taken_effect() {
            Certainty::Uncertain
        } else {
            Certainty::Definite
        };
        let result = answer.into_result();
        // A branch prompt that did not go through holds its session no longer.
        if let CallStage::PromptingBranch { session_id, .. } = &stage {
            if !matches!(result, Ok(Outcome::Done)) {
                sib.relays
                    .release(now_ms, session_id, sib.requests, sib.out);
            }
        }
        match (stage, result) {
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
                sib.relays.hold(&session_id);
                let stage = CallStage::PromptingBranch {
                    session_id,
                    title,
                    slot,
                };
                self.track(id, call, stage, request);
                if let Some(pending) = self.calls.get_mut(&id) {
                    pending.parent_gone = parent_gone;
                    pending.turn_ended = turn_ended;
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
                    // A branch that waited for its place may open after its calling turn.
                    let parent_busy = !turn_ended;
                    sib.branches.track(
                        now_ms,
                        &call,
                        &slot,
                        &session_id,
                        &title,
                        reply_to,
                        parent_busy,
                        opening_turn,
                        branch_busy,
                    );
                }
                let started = BranchOpened {
                    session_id: &session_id,
                    title: &title,
                    exists: !branch_gone,
                    answer_follows,
                };
                self.branch_started(now_ms, id, &call, started, sib);
                if opening_turn == OpeningTurn::Coming {
                    sib.relays.prompt_accepted(&session_id);
                } else {
                    sib.relays
                        .release(now_ms, &session_id, sib.requests, sib.out);
                }
                if tracked && opening_turn == OpeningTurn::Ended {
                    let pending = sib.relays.pending(&session_id);
                    sib.branches.opening_turn_ended(
                        now_ms,
                        &session_id,
                        pending,
                        sib.requests,
                        sib.out,
                    );
                }
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
            (
                CallStage::StoppingBranch {
                    session_id,
                    title,
                    dropped,
                },
                result,
            ) => sib.out.notice(Notice::BranchCancelled {
                call: id,
                session_id: call.session_id.clone(),
                branch_session_id: session_id,
                title,
                dropped,
                error: result.err(),
            }),
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
            Mode::Message if call.session.is_some() => self.follow_up(now_ms, id, call, sib),
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
                self.open_or_wait(now_ms, id, call, slot, request, sib);
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
                self.open_or_wait(now_ms, id, call, slot, request, sib);
            }
            // Answered before any check; never confirmed.
            Mode::Status | Mode::Cancel => {
                let failure = CallFailure::Internal {
                    answer: format!("{:?}", call.mode),
                    stage: format!("{:?}", CallStage::AskingPermission),
                };
                sib.out
                    .notice(failed(id, &call, failure, Certainty::Definite));
            }
        }
    }

    /// A follow-up to one of the session's branches: queued there like any
    /// relay, its answer reported home.
    fn follow_up(&mut self, now_ms: u64, id: ToolCallId, call: ToolCall, sib: &mut CallSiblings) {
        let branch = call.session.clone().unwrap_or_default();
        if !sib.branches.is_branch(&branch) {
            // Forgotten or deleted while permission was asked.
            let branches = sib.branches.status(&call.session_id);
            let reason = Refusal::NotABranch {
                named: branch,
                branches,
            };
            sib.out.notice(refused(id, &call, reason));
            return;
        }
        if sib.branches.is_deleted(&branch) {
            sib.out.notice(refused(id, &call, Refusal::SessionDeleted));
            return;
        }
        let hop = sib.hops.count(&call.session_id);
        let (branches, mut siblings) = sib.for_branches();
        if let Some(FollowUp {
            relay,
            title,
            busy,
            now,
        }) = branches.follow_up(now_ms, &call, &branch, &mut siblings)
        {
            sib.out.notice(Notice::FollowUpQueued {
                call: id,
                relay,
                session_id: call.session_id.clone(),
                branch_session_id: branch.clone(),
                title,
                agent: call.target_agent().to_owned(),
                busy,
                hop,
                max_hops: sib.hops.max_hops(),
            });
            if now {
                sib.relays
                    .deliver_when_idle(now_ms, &branch, sib.requests, sib.out);
            }
        }
    }

    /// Opens the call's branch, or lines it up when its session runs
    /// `max_branches` already (or others wait before it).
    fn open_or_wait(
        &mut self,
        now_ms: u64,
        id: ToolCallId,
        call: ToolCall,
        slot: BranchSlot,
        open: Request,
        sib: &mut CallSiblings,
    ) {
        let ahead = self
            .waiting
            .iter()
            .filter(|w| w.call.session_id == call.session_id)
            .count();
        let room = self.running_for(&call.session_id, sib.branches) < self.max_branches as usize;
        if ahead == 0 && room {
            self.open_branch(now_ms, id, call, slot, open, sib);
            return;
        }
        sib.out.notice(Notice::BranchWaiting {
            call: id,
            session_id: call.session_id.clone(),
            caller_agent: call.caller_agent.clone(),
            agent: call.target_agent().to_owned(),
            mode: call.mode,
            place: ahead + 1,
            max_branches: self.max_branches,
            answer_follows: self.within_turn,
        });
        // Where the host ends with the turn, the result waits for the branch's report.
        if !self.within_turn {
            sib.out.answered_early(id);
        }
        self.waiting.push_back(WaitingCall {
            id,
            call,
            slot,
            open,
            turn_ended: false,
        });
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

    /// A turn started (`busy`) or ended in `session_id`: a branch whose
    /// prompt is not yet confirmed learns it once it is followed. A turn
    /// while the prompt waits to be sent again is not the prompt's.
    pub fn branch_status(&mut self, session_id: &str, busy: bool, requests: &Requests) {
        for pending in self.calls.values_mut() {
            if matches!(&pending.stage, CallStage::PromptingBranch { session_id: branch, .. } if branch == session_id)
            {
                pending.branch_busy = busy;
                if !requests.is_backing_off(pending.request) {
                    pending.opening_turn = pending.opening_turn.status(busy);
                }
            }
        }
    }

    /// The session's turn ended: calls it made that are still undecided
    /// must not queue a relay for a turn that is already over.
    pub fn turn_ended(&mut self, session_id: &str) {
        for pending in self.calls.values_mut() {
            if pending.call.session_id == session_id {
                pending.turn_ended = true;
            }
        }
        for waiting in &mut self.waiting {
            if waiting.call.session_id == session_id {
                waiting.turn_ended = true;
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
        // Branches still waiting for their place have nobody to report to.
        let (gone, stay): (VecDeque<WaitingCall>, VecDeque<WaitingCall>) = self
            .waiting
            .drain(..)
            .partition(|w| w.call.session_id == session_id);
        self.waiting = stay;
        for waiting in gone {
            out.notice(refused(waiting.id, &waiting.call, Refusal::SessionDeleted));
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
