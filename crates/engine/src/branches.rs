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
use crate::ids::{ActionId, ToolCallId};
use crate::mode::Mode;
use crate::notice::{BranchError, BranchInfo, BranchProgress, NoteKind, Notice};
use crate::outcome::Outcome;
use crate::outputs::Outputs;
use crate::relays::Relays;
use crate::render::{self, BranchReport};
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
    fn is_finished(&self) -> bool {
        match self.state {
            BranchState::Finished { .. } => true,
            BranchState::Running { .. } | BranchState::Reading { .. } => false,
        }
    }

    fn info(&self, session_id: &str) -> BranchInfo {
        let state = match &self.state {
            BranchState::Running { .. } | BranchState::Reading { .. } => BranchProgress::Running,
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
    /// `reply_to` is the call whose result waits for the branch's report.
    pub fn track(
        &mut self,
        call: &ToolCall,
        slot: &BranchSlot,
        session_id: &str,
        title: &str,
        reply_to: Option<ToolCallId>,
    ) {
        let branch = Branch {
            reply_to,
            parent: call.session_id.clone(),
            group: slot.key.clone(),
            title: title.to_owned(),
            agent: call.target_agent().to_owned(),
            state: BranchState::Running { busy: false },
            error: None,
        };
        self.branches.insert(session_id.to_owned(), branch);
        let parent = self.parents.entry(call.session_id.clone()).or_default();
        // The call runs inside the parent's turn.
        parent.busy = true;
        parent.agent.clone_from(&call.caller_agent);
        parent.branches.push(session_id.to_owned());
    }

    // ---- events ----

    pub fn session_busy(&mut self, session_id: &str) {
        if let Some(parent) = self.parents.get_mut(session_id) {
            parent.busy = true;
        }
        if let Some(Branch {
            state: BranchState::Running { busy },
            ..
        }) = self.branches.get_mut(session_id)
        {
            *busy = true;
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
        // A branch that queued hand-offs of its own is done once they are.
        if branch.state == (BranchState::Running { busy: true }) && pending_relays == 0 {
            let owner = Owner::Branch {
                session_id: session_id.to_owned(),
            };
            let read = Request::LastAnswer {
                session_id: session_id.to_owned(),
            };
            let request = requests.issue(now_ms, owner, read, out);
            branch.state = BranchState::Reading { request };
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
            // The prompt was accepted but its turn never started.
            BranchState::Running { busy: false } => {
                self.finished(now_ms, session_id, String::new(), Some(error), sib);
            }
            BranchState::Reading { .. } | BranchState::Finished { .. } => {}
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
                if let Some(Branch {
                    state: BranchState::Reading { request },
                    ..
                }) = self.branches.remove(&branch)
                {
                    sib.requests.forget(request);
                }
            }
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
        // A call that waited for the report has it as its result already.
        let call = branch.reply_to;
        let note = (self.report == ReportMode::Each && call.is_none()).then(|| {
            render::branch_report(&BranchReport {
                title: &title,
                session_id,
                agent: &agent,
                answer: &answer,
                error: error.as_ref(),
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
