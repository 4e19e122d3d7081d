//! Branches (`new`, `fork`) reporting back to the session that opened them.
//! When a branch's turn ends, its final answer is read and, as the `report`
//! option says, noted in the parent without starting a turn there; once every
//! branch of one turn is done, a side-by-side summary follows, and with
//! `resumeParent` the parent's agent takes a turn on it. Notes wait for the
//! parent to be idle, since a message added to a running turn would steer it.
//!
//! [`Branches`] owns the branches, their parents and the groups that title
//! them ([`BranchGroups`]). Resuming a parent is a hand-off like any other:
//! it takes a hop from [`Hops`] and a relay from [`Relays`].

use crate::action::Request;
use crate::config::{EngineConfig, ReportMode};
use crate::fast_hash::HashMap;
use crate::groups::{BranchGroups, BranchSlot, GroupKey};
use crate::hops::Hops;
use crate::ids::{ActionId, RelayId, ToolCallId};
use crate::mode::Mode;
use crate::notice::{
    BranchActivity, BranchError, BranchInfo, BranchProgress, Cancelled, NoteKind, Notice,
};
use crate::outcome::Outcome;
use crate::outputs::Outputs;
use crate::relays::Relays;
use crate::render::{self, BranchReport, WaitedForPerson};
use crate::requests::{Answer, Owner, Requests};
use crate::tool_call::ToolCall;
use std::collections::VecDeque;

/// Finished branches a parent remembers for `status`; older ones are forgotten.
const FINISHED_KEPT: usize = 20;

#[derive(Debug)]
pub(crate) struct Branches {
    groups: BranchGroups,
    /// Branch sessions followed until they report, by session id.
    branches: HashMap<String, Branch>,
    /// Sessions that opened branches, by session id.
    parents: HashMap<String, Parent>,
    report: ReportMode,
    resume_parent: bool,
    /// Branch modes after which the TUI shows the branch, also when it waits for a person.
    switch_to: Vec<Mode>,
}

/// What a branch needs of its siblings when it may finish a group: the
/// parent's hop count and relays (to resume it), the requests that carry
/// notes, and the outputs.
pub(crate) struct Siblings<'a> {
    pub hops: &'a mut Hops,
    pub relays: &'a mut Relays,
    pub requests: &'a mut Requests,
    pub out: &'a mut Outputs,
}

#[derive(Debug)]
struct Branch {
    parent: String,
    group: GroupKey,
    title: String,
    agent: String,
    state: BranchState,
    /// A `session.error` seen during the branch's turn.
    error: Option<BranchError>,
    /// The tool call whose result is this branch's report (it waits for it).
    reply_to: Option<ToolCallId>,
    /// A follow-up (`message` to the branch) was sent: the answer to it is
    /// reported whatever `report` says but `off`.
    followed_up: bool,
    /// A follow-up waits for the answer being read: it goes out once that is reported.
    deliver_after_read: bool,
    /// When its turn (or its latest follow-up) began to be followed.
    started_ms: u64,
    /// Steps (model calls) its turns completed.
    steps: u32,
    /// The tools running now: (part id, tool).
    tools: Vec<(String, String)>,
    /// Permission prompts and questions of this turn that waited for a person.
    asks: Vec<PersonAsk>,
    /// A turn runs in the branch session, as its events say, whatever the
    /// branch's state (a person may write there once it finished).
    session_busy: bool,
    /// The branch session was deleted: it takes no follow-up.
    deleted: bool,
    /// Its opening prompt was accepted and its first turn has not started:
    /// a follow-up waits behind it, since beside a second prompt an error
    /// would not say which of the two it is of.
    opening: bool,
}

/// What the branch session's events told of its opening turn before the
/// opening prompt was confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum OpeningTurn {
    /// No turn was seen: it is about to start.
    #[default]
    Coming,
    /// The turn runs.
    Running,
    /// The turn ran and ended already: its answer can be read at once.
    Ended,
}

impl OpeningTurn {
    /// The branch session turned busy (`busy`) or idle.
    pub fn status(self, busy: bool) -> Self {
        match (self, busy) {
            (_, true) => Self::Running,
            (Self::Running | Self::Ended, false) => Self::Ended,
            (Self::Coming, false) => Self::Coming,
        }
    }
}

/// A permission prompt or question a branch raised.
#[derive(Debug, Clone)]
struct PersonAsk {
    request_id: String,
    what: String,
    since_ms: u64,
    answered_ms: Option<u64>,
}

/// What a `cancel` call found.
pub(crate) enum Cancelling {
    /// The branch had finished already; nothing changed.
    Finished(BranchInfo),
    /// The branch is no longer followed; `dropped` is what it had queued.
    Stopped {
        title: String,
        dropped: Vec<Cancelled>,
    },
}

/// A follow-up on its way to a branch.
pub(crate) struct FollowUp {
    pub relay: RelayId,
    pub title: String,
    /// The branch's turn runs: the text goes out when it ends.
    pub busy: bool,
    /// The branch is idle: the caller delivers it now, once it told of it.
    pub now: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum BranchState {
    /// The prompt was accepted; `busy` once its turn started.
    Running { busy: bool },
    /// The turn ended; reading its final answer.
    Reading { request: ActionId },
    Finished {
        answer: String,
        error: Option<BranchError>,
    },
}

/// A session that opened branches.
#[derive(Debug, Default)]
struct Parent {
    busy: bool,
    /// The agent that last opened a branch here; notes are recorded under it.
    agent: String,
    /// Notes waiting for the parent to be idle, or for the one in flight.
    notes: VecDeque<String>,
    /// The note being added; the next is sent once it is answered.
    note_in_flight: Option<ActionId>,
    /// Branch session ids, oldest first.
    branches: Vec<String>,
}

impl Branch {
    /// The branch session is idle: a turn the branch follows is over, and
    /// its answer is read unless hand-offs it queued itself are still pending.
    fn read_if_done(
        &mut self,
        now_ms: u64,
        session_id: &str,
        pending_relays: usize,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        if self.state == (BranchState::Running { busy: true }) && pending_relays == 0 {
            let owner = Owner::Branch {
                session_id: session_id.to_owned(),
            };
            let read = Request::LastAnswer {
                session_id: session_id.to_owned(),
            };
            let request = requests.issue(now_ms, owner, read, out);
            self.state = BranchState::Reading { request };
        }
    }

    fn is_finished(&self) -> bool {
        match self.state {
            BranchState::Finished { .. } => true,
            BranchState::Running { .. } | BranchState::Reading { .. } => false,
        }
    }

    /// What the branch is doing, while it runs.
    fn activity(&self) -> BranchActivity {
        if let Some(ask) = self.asks.iter().rev().find(|a| a.answered_ms.is_none()) {
            return BranchActivity::WaitingForPerson {
                what: ask.what.clone(),
                since_ms: ask.since_ms,
            };
        }
        match (&self.state, self.tools.last()) {
            (BranchState::Reading { .. } | BranchState::Finished { .. }, _) => {
                BranchActivity::Reporting
            }
            (BranchState::Running { .. }, Some((_, tool))) => {
                BranchActivity::RunningTool { tool: tool.clone() }
            }
            (BranchState::Running { busy: true }, None) => BranchActivity::Writing,
            (BranchState::Running { busy: false }, None) => BranchActivity::Starting,
        }
    }

    /// How its turn waited for a person, for its report: the latest ask.
    fn waited(&self, now_ms: u64) -> Option<WaitedForPerson> {
        let ask = self.asks.last()?;
        Some(WaitedForPerson {
            what: ask.what.clone(),
            for_ms: ask
                .answered_ms
                .unwrap_or(now_ms)
                .saturating_sub(ask.since_ms),
            answered: ask.answered_ms.is_some(),
        })
    }

    fn info(&self, session_id: &str) -> BranchInfo {
        let state = match &self.state {
            BranchState::Running { .. } | BranchState::Reading { .. } => BranchProgress::Running {
                started_ms: self.started_ms,
                steps: self.steps,
                doing: self.activity(),
            },
            BranchState::Finished {
                error: Some(BranchError::Cancelled),
                ..
            } => BranchProgress::Cancelled,
            BranchState::Finished {
                error: Some(error), ..
            } => BranchProgress::Failed {
                error: error.clone(),
            },
            BranchState::Finished {
                answer,
                error: None,
            } => BranchProgress::Finished {
                answer: answer.clone(),
            },
        };
        BranchInfo {
            session_id: session_id.to_owned(),
            title: self.title.clone(),
            agent: self.agent.clone(),
            state,
        }
    }
}

impl Branches {
    pub fn new(config: &EngineConfig) -> Self {
        Branches {
            groups: BranchGroups::default(),
            branches: HashMap::default(),
            parents: HashMap::default(),
            report: config.report,
            resume_parent: config.resume_parent,
            switch_to: config.switch_to.clone(),
        }
    }

    // ---- getters ----

    /// Whether the session runs a turn, as a branch or as a parent.
    pub fn is_busy(&self, session_id: &str) -> bool {
        self.parents.get(session_id).is_some_and(|p| p.busy)
            || self
                .branches
                .get(session_id)
                .is_some_and(|b| b.state == BranchState::Running { busy: true })
    }

    /// Branch sessions whose turn has not yet been reported.
    /// Whether `session_id` is a branch a call opened.
    pub fn is_branch(&self, session_id: &str) -> bool {
        self.branches.contains_key(session_id)
    }

    pub fn running(&self) -> usize {
        self.branches.values().filter(|b| !b.is_finished()).count()
    }

    /// Branches of `parent` whose turn has not yet been reported.
    pub fn running_of(&self, parent: &str) -> usize {
        self.parents.get(parent).map_or(0, |p| {
            p.branches
                .iter()
                .filter(|id| self.branches.get(*id).is_some_and(|b| !b.is_finished()))
                .count()
        })
    }

    /// The branch of `parent` that `named` names: its session id, or the
    /// start of the title of exactly one. Else the branches it has, for the
    /// refusal to list.
    pub fn resolve(&self, parent: &str, named: &str) -> Result<String, Vec<BranchInfo>> {
        let Some(entry) = self.parents.get(parent) else {
            return Err(Vec::new());
        };
        let known = |id: &&String| self.branches.contains_key(*id);
        if let Some(id) = entry.branches.iter().filter(known).find(|id| *id == named) {
            return Ok(id.clone());
        }
        let by_title: Vec<&String> = entry
            .branches
            .iter()
            .filter(known)
            .filter(|id| self.current_title(id).starts_with(named))
            .collect();
        match by_title[..] {
            [id] => Ok(id.clone()),
            _ => Err(self.status(parent)),
        }
    }

    /// Whether branch `session_id` was deleted: it takes no follow-up.
    pub fn is_deleted(&self, session_id: &str) -> bool {
        self.branches.get(session_id).is_some_and(|b| b.deleted)
    }

    /// The agent that answers in branch `session_id`.
    pub fn agent_of(&self, session_id: &str) -> Option<String> {
        self.branches.get(session_id).map(|b| b.agent.clone())
    }

    /// The title the branch carries now: renamed as later calls of its turn joined.
    fn current_title(&self, session_id: &str) -> String {
        let Some(branch) = self.branches.get(session_id) else {
            return String::new();
        };
        self.groups
            .title_of(&branch.group, session_id)
            .unwrap_or_else(|| branch.title.clone())
    }

    /// Sessions remembered as branches or parents.
    pub fn sessions(&self) -> impl Iterator<Item = &str> {
        self.branches
            .keys()
            .chain(self.parents.keys())
            .map(String::as_str)
    }

    /// Nothing to keep up to date: no group, no branch running, no note waiting.
    pub fn is_quiet(&self) -> bool {
        self.groups.is_empty()
            && self.branches.values().all(Branch::is_finished)
            && self
                .parents
                .values()
                .all(|p| p.notes.is_empty() && p.note_in_flight.is_none())
    }

    /// No branch and no parent remembered.
    pub fn is_empty(&self) -> bool {
        self.branches.is_empty() && self.parents.is_empty()
    }

    /// The `status` mode: what became of the branches this session opened.
    pub fn status(&self, session_id: &str) -> Vec<BranchInfo> {
        let Some(parent) = self.parents.get(session_id) else {
            return Vec::new();
        };
        parent
            .branches
            .iter()
            .filter_map(|id| Some(self.branches.get(id)?.info(id)))
            .collect()
    }

    /// Whether `request` would undo something newer (a stale rename).
    pub fn is_outdated(&self, request: &Request) -> bool {
        self.groups.is_outdated(request)
    }

    // ---- the calls that open branches ----

    /// A `new` or `fork` call is about to open its branch.
    pub fn join_group(
        &mut self,
        now_ms: u64,
        call: &ToolCall,
        requests: &mut Requests,
        out: &mut Outputs,
    ) -> BranchSlot {
        self.groups.join(now_ms, call, requests, out)
    }

    /// The title the slot's branch should carry now.
    pub fn title(&self, slot: &BranchSlot, call: &ToolCall) -> String {
        self.groups.title(slot, call.target_agent(), &call.text)
    }

    /// The slot's branch session exists with `current_title`; returns the
    /// title it carries (renamed if need be).
    #[allow(clippy::too_many_arguments)] // what a rename needs, and the two sinks
    pub fn opened(
        &mut self,
        now_ms: u64,
        slot: &BranchSlot,
        session_id: &str,
        current_title: &str,
        call: &ToolCall,
        requests: &mut Requests,
        out: &mut Outputs,
    ) -> String {
        self.groups
            .opened(now_ms, slot, session_id, current_title, call, requests, out)
    }

    /// The slot's call ended without a branch session.
    pub fn abandoned(&mut self, now_ms: u64, slot: &BranchSlot, sib: &mut Siblings) {
        self.groups.abandoned(slot);
        self.group_progress(now_ms, &slot.key, sib);
    }

    /// A branch's agent started answering: follow it until its turn ends.
    /// `reply_to` is the call whose result waits for the branch's report;
    /// `parent_busy` when the call runs inside its parent's turn,
    /// `opening_turn` is what the branch session's events told so far of
    /// its prompt's turn (one that ended already is followed to its answer
    /// by [`Self::opening_turn_ended`]); `session_busy` when a turn runs
    /// there now, its own or a person's.
    #[allow(clippy::too_many_arguments)] // a branch as its call opened it
    pub fn track(
        &mut self,
        now_ms: u64,
        call: &ToolCall,
        slot: &BranchSlot,
        session_id: &str,
        title: &str,
        reply_to: Option<ToolCallId>,
        parent_busy: bool,
        opening_turn: OpeningTurn,
        session_busy: bool,
    ) {
        let started = opening_turn != OpeningTurn::Coming;
        let branch = Branch {
            reply_to,
            parent: call.session_id.clone(),
            group: slot.key.clone(),
            title: title.to_owned(),
            agent: call.target_agent().to_owned(),
            state: BranchState::Running { busy: started },
            error: None,
            followed_up: false,
            deliver_after_read: false,
            started_ms: now_ms,
            steps: 0,
            tools: Vec::new(),
            asks: Vec::new(),
            session_busy,
            deleted: false,
            opening: !started,
        };
        self.branches.insert(session_id.to_owned(), branch);
        let parent = self.parents.entry(call.session_id.clone()).or_default();
        if parent_busy {
            parent.busy = true;
        }
        parent.agent.clone_from(&call.caller_agent);
        parent.branches.push(session_id.to_owned());
    }

    /// `call` (a `message` from the branch's parent) follows up branch
    /// `session_id`: its text is queued there like any relay, delivered now
    /// when the branch is idle, and the branch is followed again until its
    /// next turn ends. `None` when the branch is not (or no longer) known.
    pub fn follow_up(
        &mut self,
        now_ms: u64,
        call: &ToolCall,
        session_id: &str,
        sib: &mut Siblings,
    ) -> Option<FollowUp> {
        let title = self.current_title(session_id);
        let branch = self.branches.get_mut(session_id)?;
        // The call that waited for the branch's first answer has it already.
        branch.reply_to = None;
        branch.followed_up = true;
        if branch.is_finished() {
            branch.started_ms = now_ms;
            branch.asks.clear();
        }
        let relay_call = ToolCall {
            session_id: session_id.to_owned(),
            message_id: call.message_id.clone(),
            caller_agent: call.caller_agent.clone(),
            mode: Mode::Message,
            text: call.text.clone(),
            agent: Some(call.target_agent().to_owned()),
            session: None,
        };
        // Queued as the branch session's events say: a turn that runs there
        // (the branch's own, its stop not yet done, a person's) or that its
        // opening prompt is about to start delivers it as it ends, and the
        // branch is followed from that turn; an idle branch gets it now, or
        // once the answer being read is reported.
        let (relay, busy, now) = if branch.session_busy {
            if branch.is_finished() {
                branch.state = BranchState::Running { busy: true };
            }
            let (relay, _) = sib.relays.enqueue(now_ms, &relay_call, sib.requests);
            (relay, true, false)
        } else if branch.opening {
            // Not yet busy: only the opening turn's own busy edge arms the
            // idle that delivers, so a repeated idle before it sends nothing.
            if branch.is_finished() {
                branch.state = BranchState::Running { busy: false };
            }
            let relay = sib
                .relays
                .enqueue_elsewhere(now_ms, &relay_call, sib.requests);
            (relay, true, false)
        } else {
            let relay = sib
                .relays
                .enqueue_elsewhere(now_ms, &relay_call, sib.requests);
            match branch.state {
                BranchState::Reading { .. } => {
                    branch.deliver_after_read = true;
                    (relay, false, false)
                }
                BranchState::Finished { .. } => {
                    branch.state = BranchState::Running { busy: false };
                    (relay, false, true)
                }
                BranchState::Running { .. } => (relay, false, true),
            }
        };
        Some(FollowUp {
            relay,
            title,
            busy,
            now,
        })
    }

    /// A `cancel` call stops branch `session_id`: it is finished as
    /// cancelled (no report of a half-written answer), and the hand-offs it
    /// queued are dropped. Stopping its turn is the caller's request.
    pub fn cancel(&mut self, now_ms: u64, session_id: &str, sib: &mut Siblings) -> Cancelling {
        let title = self.current_title(session_id);
        let Some(branch) = self.branches.get_mut(session_id) else {
            return Cancelling::Stopped {
                title,
                dropped: Vec::new(),
            };
        };
        match branch.state {
            BranchState::Finished { .. } => return Cancelling::Finished(branch.info(session_id)),
            BranchState::Reading { request } => sib.requests.forget(request),
            BranchState::Running { .. } => {}
        }
        branch.deliver_after_read = false;
        let dropped = sib.relays.cancel_all(session_id, sib.requests, sib.out);
        let error = Some(BranchError::Cancelled);
        self.finished(now_ms, session_id, String::new(), error, sib);
        Cancelling::Stopped { title, dropped }
    }

    // ---- events ----

    /// A step (model call) of the session's turn completed.
    pub fn step_finished(&mut self, session_id: &str) {
        if let Some(branch) = self.branches.get_mut(session_id) {
            if !branch.is_finished() {
                branch.steps += 1;
            }
        }
    }

    /// A tool of the session's turn started (`running`) or ended.
    pub fn tool_state(&mut self, session_id: &str, part_id: &str, tool: &str, running: bool) {
        let Some(branch) = self.branches.get_mut(session_id) else {
            return;
        };
        branch.tools.retain(|(id, _)| id != part_id);
        if running && !branch.is_finished() {
            branch.tools.push((part_id.to_owned(), tool.to_owned()));
        }
    }

    /// A branch raised a permission prompt or asked a question: the person
    /// is told at once, and the TUI shows the branch where `switchTo` says so.
    pub fn person_asked(
        &mut self,
        now_ms: u64,
        session_id: &str,
        request_id: &str,
        what: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let title = self.current_title(session_id);
        let Some(branch) = self.branches.get_mut(session_id) else {
            return;
        };
        if branch.is_finished() || branch.asks.iter().any(|a| a.request_id == request_id) {
            return;
        }
        branch.asks.push(PersonAsk {
            request_id: request_id.to_owned(),
            what: what.to_owned(),
            since_ms: now_ms,
            answered_ms: None,
        });
        let shown = self.switch_to.contains(&branch.group.mode);
        let parent = branch.parent.clone();
        if shown {
            let request = Request::SelectSession {
                session_id: session_id.to_owned(),
            };
            requests.issue_in_background(now_ms, request, out);
        }
        out.notice(Notice::BranchWaitsForPerson {
            session_id: session_id.to_owned(),
            parent_session_id: parent,
            title,
            what: what.to_owned(),
            shown,
        });
    }

    /// The person answered a branch's prompt or question.
    pub fn person_answered(&mut self, now_ms: u64, session_id: &str, request_id: &str) {
        let Some(branch) = self.branches.get_mut(session_id) else {
            return;
        };
        for ask in branch.asks.iter_mut() {
            if ask.request_id == request_id && ask.answered_ms.is_none() {
                ask.answered_ms = Some(now_ms);
            }
        }
    }

    pub fn session_busy(&mut self, session_id: &str) {
        if let Some(parent) = self.parents.get_mut(session_id) {
            parent.busy = true;
        }
        if let Some(branch) = self.branches.get_mut(session_id) {
            branch.session_busy = true;
            branch.opening = false;
            if let BranchState::Running { busy } = &mut branch.state {
                *busy = true;
            }
        }
    }

    /// The turn of `session_id` ended, so no call will join its groups any more.
    pub fn close_groups(&mut self, now_ms: u64, session_id: &str, sib: &mut Siblings) {
        for key in self.groups.close(session_id) {
            self.group_progress(now_ms, &key, sib);
        }
    }

    /// The session's turn ended: as a parent it may take its notes; as a
    /// branch with no relays of its own left (`pending_relays`), its answer is read.
    pub fn session_idle(
        &mut self,
        now_ms: u64,
        session_id: &str,
        pending_relays: usize,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        if let Some(parent) = self.parents.get_mut(session_id) {
            parent.busy = false;
        }
        self.send_notes(now_ms, session_id, requests, out);
        let Some(branch) = self.branches.get_mut(session_id) else {
            return;
        };
        branch.session_busy = false;
        branch.read_if_done(now_ms, session_id, pending_relays, requests, out);
    }

    /// The branch `session_id` was tracked after its opening turn had ended
    /// (the host told of the turn before it confirmed the prompt): its answer
    /// is read now, as at the end of any turn.
    pub fn opening_turn_ended(
        &mut self,
        now_ms: u64,
        session_id: &str,
        pending_relays: usize,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        if let Some(branch) = self.branches.get_mut(session_id) {
            branch.read_if_done(now_ms, session_id, pending_relays, requests, out);
        }
    }

    pub fn session_error(
        &mut self,
        now_ms: u64,
        session_id: &str,
        error: BranchError,
        sib: &mut Siblings,
    ) {
        let Some(branch) = self.branches.get_mut(session_id) else {
            return;
        };
        match branch.state {
            // The turn runs: the error is part of how it ends.
            BranchState::Running { busy: true } => branch.error = Some(error),
            // A turn that is not the prompt's runs there (a person's): the
            // error is of that turn, and the prompt's turn is still to come.
            BranchState::Running { busy: false } if branch.session_busy => {}
            // The prompt was accepted but its turn never started; a follow-up
            // that waited behind the opening prompt goes out now, as the
            // refusal ends the session's hold ([`Relays::hold`]).
            BranchState::Running { busy: false } => {
                let opening = std::mem::take(&mut branch.opening);
                let followed_up = branch.followed_up;
                self.finished(now_ms, session_id, String::new(), Some(error), sib);
                if opening && followed_up {
                    // Followed again from the follow-up's turn, as after any report.
                    if let Some(branch) = self.branches.get_mut(session_id) {
                        branch.state = BranchState::Running { busy: false };
                        branch.started_ms = now_ms;
                        branch.followed_up = true;
                    }
                }
            }
            // A branch cancelled before its opening turn started: no turn
            // follows the refused prompt.
            BranchState::Finished { .. } => branch.opening = false,
            BranchState::Reading { .. } => {}
        }
    }

    /// A session was deleted: as a branch it is finished; as a parent, its
    /// branches have nobody to report to and are forgotten, but for those
    /// whose call waits for them: they finish, so the call gets its result.
    pub fn session_deleted(&mut self, now_ms: u64, session_id: &str, sib: &mut Siblings) {
        if let Some(parent) = self.parents.remove(session_id) {
            for branch in parent.branches {
                if self
                    .branches
                    .get(&branch)
                    .is_some_and(|b| b.reply_to.is_some())
                {
                    continue;
                }
                let Some(removed) = self.branches.remove(&branch) else {
                    continue;
                };
                if let BranchState::Reading { request } = removed.state {
                    sib.requests.forget(request);
                }
                // A follow-up waiting for the answer being read goes out all
                // the same: it was accepted, though nobody hears its answer.
                if removed.deliver_after_read && !removed.session_busy {
                    sib.relays
                        .deliver_when_idle(now_ms, &branch, sib.requests, sib.out);
                }
            }
        }
        if let Some(branch) = self.branches.get_mut(session_id) {
            branch.deleted = true;
        }
        match self.branches.get(session_id).map(|b| &b.state) {
            Some(BranchState::Reading { request }) => sib.requests.forget(*request),
            Some(BranchState::Running { .. }) => {}
            Some(BranchState::Finished { .. }) | None => return,
        }
        let error = Some(BranchError::SessionDeleted);
        self.finished(now_ms, session_id, String::new(), error, sib);
    }

    /// The outcome of reading a branch's final answer.
    pub fn outcome(
        &mut self,
        now_ms: u64,
        session_id: &str,
        id: ActionId,
        answer: Answer,
        sib: &mut Siblings,
    ) {
        let Some(branch) = self.branches.get_mut(session_id) else {
            return;
        };
        if branch.state != (BranchState::Reading { request: id }) {
            return;
        }
        let seen_error = branch.error.take();
        let (text, error) = match answer.into_result() {
            Ok(Outcome::Answer { text, error }) => (
                text,
                error
                    .map(|error| BranchError::Answer { error })
                    .or(seen_error),
            ),
            Err(error) => (String::new(), Some(BranchError::Unreadable { error })),
            Ok(other) => (
                String::new(),
                Some(BranchError::Internal {
                    answer: format!("{other:?}"),
                }),
            ),
        };
        self.finished(now_ms, session_id, text, error, sib);
    }

    /// The session is gone: its groups go too.
    pub fn forget_groups(&mut self, session_id: &str) {
        self.groups.forget(session_id);
    }

    // ---- reports ----

    fn finished(
        &mut self,
        now_ms: u64,
        session_id: &str,
        answer: String,
        error: Option<BranchError>,
        sib: &mut Siblings,
    ) {
        let Some(branch) = self.branches.get_mut(session_id) else {
            return;
        };
        let answer = render::trimmed_answer(&answer);
        // `opening` stays: a branch cancelled before its opening turn started
        // may still see that turn run, and a follow-up waits behind it.
        branch.state = BranchState::Finished {
            answer: answer.clone(),
            error: error.clone(),
        };
        let parent = branch.parent.clone();
        let group = branch.group.clone();
        // Calls that joined after the branch opened renamed it.
        let title = self
            .groups
            .title_of(&group, session_id)
            .unwrap_or_else(|| branch.title.clone());
        let agent = branch.agent.clone();
        // A call that waited for the report has it as its result already; a
        // follow-up's answer is told as soon as it comes, and a cancelled
        // branch was stopped by the parent's own call, which says so.
        let call = branch.reply_to;
        let reported = match self.report {
            ReportMode::Each => true,
            ReportMode::All => branch.followed_up,
            ReportMode::Off => false,
        };
        let cancelled = error == Some(BranchError::Cancelled);
        branch.followed_up = false;
        let waited = branch.waited(now_ms);
        branch.tools.clear();
        let note = (reported && call.is_none() && !cancelled).then(|| {
            render::branch_report(&BranchReport {
                title: &title,
                session_id,
                agent: &agent,
                answer: &answer,
                error: error.as_ref(),
                waited: waited.as_ref(),
            })
        });
        sib.out.notice(match error {
            None => Notice::BranchFinished {
                session_id: session_id.to_owned(),
                parent_session_id: parent.clone(),
                title,
                agent,
                answer,
                call,
            },
            Some(error) => Notice::BranchFailed {
                session_id: session_id.to_owned(),
                parent_session_id: parent.clone(),
                title,
                agent,
                answer,
                error,
                call,
            },
        });
        if let Some(note) = note {
            self.add_note(now_ms, &parent, note, sib.requests, sib.out);
        }
        if let Some(branch) = self.branches.get_mut(session_id) {
            if std::mem::take(&mut branch.deliver_after_read) {
                // A turn that began while the answer was read (a person's)
                // delivers it as it ends.
                branch.state = BranchState::Running {
                    busy: branch.session_busy,
                };
                if !branch.session_busy {
                    sib.relays
                        .deliver_when_idle(now_ms, session_id, sib.requests, sib.out);
                }
            }
        }
        self.forget_old_branches(&parent);
        self.group_progress(now_ms, &group, sib);
    }

    /// Once every branch of a turn is done: the summary, and the parent's turn.
    fn group_progress(&mut self, now_ms: u64, key: &GroupKey, sib: &mut Siblings) {
        let Some(group) = self.groups.closed(key) else {
            return;
        };
        let all_done = group
            .members
            .iter()
            .all(|id| self.branches.get(id).map_or(true, Branch::is_finished));
        if !all_done {
            return;
        }
        self.groups.remove(key);
        if group.members.is_empty() {
            return;
        }
        // Every call had its branch's report as its result, inside the
        // turn that opened them: no summary, no further turn to take on it.
        let reported_to_calls = group
            .members
            .iter()
            .all(|id| self.branches.get(id).is_some_and(|b| b.reply_to.is_some()));
        if reported_to_calls {
            return;
        }
        let branches: Vec<BranchInfo> = group
            .members
            .iter()
            .filter_map(|id| {
                let branch = self.branches.get(id)?;
                branch.is_finished().then(|| branch.info(id))
            })
            .collect();
        let summary = render::branches_summary(key.mode, &branches);
        let summarized = match self.report {
            ReportMode::Each => branches.len() > 1,
            ReportMode::All => true,
            ReportMode::Off => false,
        };
        sib.out.notice(Notice::BranchesDone {
            session_id: key.session_id.clone(),
            mode: key.mode,
            branches: branches.into_iter().map(|b| b.session_id).collect(),
            summarized,
        });
        if summarized {
            self.add_note(
                now_ms,
                &key.session_id,
                summary.clone(),
                sib.requests,
                sib.out,
            );
        }
        if self.resume_parent {
            self.resume(now_ms, key, group.caller_agent, &summary, sib);
        }
    }

    /// The parent's agent takes a turn on the summary: a hand-off like any
    /// other, so the hop limit applies.
    fn resume(
        &mut self,
        now_ms: u64,
        key: &GroupKey,
        caller: String,
        summary: &str,
        sib: &mut Siblings,
    ) {
        let call = ToolCall {
            session_id: key.session_id.clone(),
            message_id: key.message_id.clone(),
            caller_agent: caller,
            mode: Mode::Message,
            text: render::resume_text(summary),
            agent: None,
            session: None,
        };
        if sib.hops.count_within_limit(&call.session_id).is_none() {
            sib.out.notice(Notice::ParentNotResumed {
                session_id: call.session_id,
                max_hops: sib.hops.max_hops(),
            });
            return;
        }
        let (relay, _) = sib.relays.enqueue(now_ms, &call, sib.requests);
        // Queued outside a turn: if the parent is idle, nothing else will wake it.
        let idle = self.parents.get(&call.session_id).is_some_and(|p| !p.busy);
        if idle {
            sib.relays
                .deliver_when_idle(now_ms, &call.session_id, sib.requests, sib.out);
        }
        sib.out.notice(Notice::ParentResumed {
            relay,
            session_id: call.session_id,
            agent: call.caller_agent,
        });
    }

    fn add_note(
        &mut self,
        now_ms: u64,
        parent: &str,
        note: String,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let entry = self.parents.entry(parent.to_owned()).or_default();
        entry.notes.push_back(note);
        if !entry.busy {
            self.send_notes(now_ms, parent, requests, out);
        }
    }

    fn send_notes(
        &mut self,
        now_ms: u64,
        parent: &str,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let Some(entry) = self.parents.get_mut(parent) else {
            return;
        };
        if entry.note_in_flight.is_some() {
            return;
        }
        if let Some(text) = entry.notes.pop_front() {
            let id = requests.report(now_ms, parent, &entry.agent, text, out);
            entry.note_in_flight = Some(id);
        }
    }

    /// A note sent to `parent` was answered: a failure is told, and the next
    /// note follows unless the parent's turn runs.
    pub fn report_answered(
        &mut self,
        now_ms: u64,
        parent: &str,
        id: ActionId,
        answer: Answer,
        requests: &mut Requests,
        out: &mut Outputs,
    ) {
        let Some(entry) = self.parents.get_mut(parent) else {
            return;
        };
        if entry.note_in_flight != Some(id) {
            return;
        }
        entry.note_in_flight = None;
        if let Some(error) = answer.error() {
            out.notice(Notice::NoteLost {
                session_id: parent.to_owned(),
                note: NoteKind::BranchReport,
                error,
            });
        }
        if !entry.busy {
            self.send_notes(now_ms, parent, requests, out);
        }
    }

    /// Keeps the parent's record of finished branches bounded.
    fn forget_old_branches(&mut self, parent: &str) {
        let Some(entry) = self.parents.get_mut(parent) else {
            return;
        };
        let finished: Vec<String> = entry
            .branches
            .iter()
            .filter(|id| self.branches.get(*id).is_some_and(Branch::is_finished))
            .cloned()
            .collect();
        let excess = finished.len().saturating_sub(FINISHED_KEPT);
        for id in finished.into_iter().take(excess) {
            entry.branches.retain(|b| *b != id);
            self.branches.remove(&id);
        }
    }
}
