//! Branches (`new`, `fork`) reporting back to the session that opened them.
//! When a branch's turn ends, its final answer is read and, as the `report`
//! option says, noted in the parent without starting a turn there; once every
//! branch of one turn is done, a side-by-side summary follows, and with
//! `resumeParent` the parent's agent takes a turn on it. Notes wait for the
//! parent to be idle, since a message added to a running turn would steer it.

use crate::action::{LogLevel, Request};
use crate::branches::GroupKey;
use crate::config::ReportMode;
use crate::engine::RelayEngine;
use crate::ids::ActionId;
use crate::mode::Mode;
use crate::outcome::Outcome;
use crate::tool_call::ToolCall;
use crate::wording;
use std::collections::VecDeque;

/// Finished branches a parent remembers for `status`; older ones are forgotten.
const FINISHED_KEPT: usize = 20;

#[derive(Debug)]
pub(crate) struct Branch {
    pub parent: String,
    pub group: GroupKey,
    pub title: String,
    pub agent: String,
    pub state: BranchState,
    /// A `session.error` seen during the branch's turn.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BranchState {
    /// The prompt was accepted; `busy` once its turn started.
    Running { busy: bool },
    /// The turn ended; reading its final answer.
    Reading { request: ActionId },
    Finished {
        answer: String,
        error: Option<String>,
    },
}

/// A session that opened branches.
#[derive(Debug, Default)]
pub(crate) struct Parent {
    pub busy: bool,
    /// The agent that last opened a branch here; notes are recorded under it.
    pub agent: String,
    /// Notes waiting for the parent to be idle.
    pub notes: VecDeque<String>,
    /// Branch session ids, oldest first.
    pub branches: Vec<String>,
}

impl Branch {
    pub fn is_finished(&self) -> bool {
        matches!(self.state, BranchState::Finished { .. })
    }
}

impl RelayEngine {
    /// A branch's agent started answering: follow it until its turn ends.
    pub(crate) fn track_branch(
        &mut self,
        call: &ToolCall,
        group: GroupKey,
        session_id: &str,
        title: &str,
    ) {
        let branch = Branch {
            parent: call.session_id.clone(),
            group,
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

    pub(crate) fn branch_session_busy(&mut self, session_id: &str) {
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

    pub(crate) fn branch_session_idle(&mut self, now_ms: u64, session_id: &str) {
        if let Some(parent) = self.parents.get_mut(session_id) {
            parent.busy = false;
        }
        self.send_notes(now_ms, session_id);
        let turn_over = matches!(
            self.branches.get(session_id).map(|b| &b.state),
            Some(BranchState::Running { busy: true })
        );
        // A branch that queued hand-offs of its own is done once they are.
        if turn_over && self.pending_relays(session_id) == 0 {
            let request = self.issue_for_branch(
                now_ms,
                session_id,
                Request::LastAnswer {
                    session_id: session_id.to_owned(),
                },
            );
            if let Some(branch) = self.branches.get_mut(session_id) {
                branch.state = BranchState::Reading { request };
            }
        }
    }

    pub(crate) fn branch_session_error(&mut self, now_ms: u64, session_id: &str, error: &str) {
        let Some(branch) = self.branches.get_mut(session_id) else {
            return;
        };
        match branch.state {
            // The turn runs: the error is part of how it ends.
            BranchState::Running { busy: true } => branch.error = Some(error.to_owned()),
            // The prompt was accepted but its turn never started.
            BranchState::Running { busy: false } => {
                self.branch_finished(now_ms, session_id, String::new(), Some(error.to_owned()));
            }
            _ => {}
        }
    }

    /// A session was deleted: as a branch it is finished; as a parent, its
    /// branches have nobody to report to and are forgotten.
    pub(crate) fn branch_session_deleted(&mut self, now_ms: u64, session_id: &str) {
        if let Some(parent) = self.parents.remove(session_id) {
            for branch in parent.branches {
                if let Some(Branch {
                    state: BranchState::Reading { request },
                    ..
                }) = self.branches.remove(&branch)
                {
                    self.forget_request(request);
                }
            }
        }
        let reading = match self.branches.get(session_id).map(|b| &b.state) {
            Some(BranchState::Reading { request }) => Some(*request),
            Some(BranchState::Running { .. }) => None,
            _ => return,
        };
        if let Some(request) = reading {
            self.forget_request(request);
        }
        let answer = String::new();
        self.branch_finished(
            now_ms,
            session_id,
            answer,
            Some("the session was deleted".to_owned()),
        );
    }

    /// The outcome of reading a branch's final answer.
    pub(crate) fn branch_outcome(
        &mut self,
        now_ms: u64,
        session_id: &str,
        id: ActionId,
        outcome: Outcome,
    ) {
        let waiting = matches!(
            self.branches.get(session_id).map(|b| &b.state),
            Some(BranchState::Reading { request }) if *request == id
        );
        if !waiting {
            return;
        }
        let seen_error = self
            .branches
            .get_mut(session_id)
            .and_then(|b| b.error.take());
        let (answer, error) = match outcome {
            Outcome::Answer { text, error } => (text, error.or(seen_error)),
            Outcome::Failed { message, .. } | Outcome::TimedOut { message } => (
                String::new(),
                Some(format!("its answer could not be read: {message}")),
            ),
            other => (
                String::new(),
                Some(format!("internal error: unexpected answer {other:?}")),
            ),
        };
        self.branch_finished(now_ms, session_id, answer, error);
    }

    fn branch_finished(
        &mut self,
        now_ms: u64,
        session_id: &str,
        answer: String,
        error: Option<String>,
    ) {
        let Some(branch) = self.branches.get_mut(session_id) else {
            return;
        };
        let answer = wording::trimmed_answer(&answer);
        branch.state = BranchState::Finished {
            answer: answer.clone(),
            error: error.clone(),
        };
        let (parent, group, title, agent) = (
            branch.parent.clone(),
            branch.group.clone(),
            branch.title.clone(),
            branch.agent.clone(),
        );
        self.log(
            LogLevel::Info,
            format!(
                "branch {session_id} \"{title}\" finished{}",
                error
                    .as_deref()
                    .map(|e| format!(" with an error: {e}"))
                    .unwrap_or_default()
            ),
        );
        if self.config.report == ReportMode::Each {
            let note =
                wording::branch_report(&title, session_id, &agent, &answer, error.as_deref());
            self.add_note(now_ms, &parent, note);
        }
        self.forget_old_branches(&parent);
        self.group_progress(now_ms, &group);
    }

    /// Once every branch of a turn is done: the summary, and the parent's turn.
    pub(crate) fn group_progress(&mut self, now_ms: u64, key: &GroupKey) {
        let Some(members) = self.finished_group(key) else {
            return;
        };
        let caller = self.group_caller(key);
        self.branch_groups.remove(key);
        if members.is_empty() {
            return;
        }
        let lines: Vec<(String, String, String, Option<String>)> = members
            .iter()
            .filter_map(|id| {
                let branch = self.branches.get(id)?;
                match &branch.state {
                    BranchState::Finished { answer, error } => Some((
                        branch.title.clone(),
                        id.clone(),
                        answer.clone(),
                        error.clone(),
                    )),
                    _ => None,
                }
            })
            .collect();
        let summary = wording::branches_summary(key.mode, &lines);
        let parent = key.session_id.clone();
        let summarize = match self.config.report {
            ReportMode::Each => lines.len() > 1,
            ReportMode::All => true,
            ReportMode::Off => false,
        };
        if summarize {
            self.add_note(now_ms, &parent, summary.clone());
        }
        if self.config.resume_parent {
            self.resume_parent(now_ms, key, caller, summary);
        }
    }

    /// The parent's agent takes a turn on the summary: a hand-off like any
    /// other, so the hop limit applies.
    fn resume_parent(&mut self, now_ms: u64, key: &GroupKey, caller: String, summary: String) {
        let call = ToolCall {
            session_id: key.session_id.clone(),
            message_id: key.message_id.clone(),
            caller_agent: caller,
            mode: Mode::Message,
            text: format!("{summary}\n\n{}", wording::resume_request()),
            agent: None,
        };
        let Some(hop) = self.next_hop(&call.session_id) else {
            let text = wording::resume_refused(self.config.max_hops);
            self.log(LogLevel::Warn, text.clone());
            self.toast(
                crate::action::ToastVariant::Warning,
                "Parent not resumed".to_owned(),
                text,
            );
            return;
        };
        self.hops.insert(call.session_id.clone(), hop);
        let (relay, _) = self.enqueue_relay(now_ms, &call);
        // Queued outside a turn: if the parent is idle, nothing else will wake it.
        let idle = self.parents.get(&call.session_id).is_some_and(|p| !p.busy);
        if idle {
            self.deliver_when_idle(now_ms, &call.session_id);
        }
        self.log(
            LogLevel::Info,
            format!(
                "{relay} resumes {} once its branches are done",
                call.session_id
            ),
        );
    }

    fn add_note(&mut self, now_ms: u64, parent: &str, note: String) {
        let entry = self.parents.entry(parent.to_owned()).or_default();
        entry.notes.push_back(note);
        if !entry.busy {
            self.send_notes(now_ms, parent);
        }
    }

    fn send_notes(&mut self, now_ms: u64, parent: &str) {
        let Some(entry) = self.parents.get_mut(parent) else {
            return;
        };
        let notes: Vec<String> = entry.notes.drain(..).collect();
        let agent = entry.agent.clone();
        for text in notes {
            let request = Request::Note {
                session_id: parent.to_owned(),
                agent: agent.clone(),
                text,
            };
            let describe = request.describe();
            self.issue_notice(now_ms, request, describe, "Branch report lost");
        }
    }

    /// The group's branch session ids once it is complete: no call of it is
    /// still opening, its turn ended, and each of its branches finished.
    fn finished_group(&self, key: &GroupKey) -> Option<Vec<String>> {
        let members = self.group_members(key)?;
        let all_done = members.iter().all(|id| {
            matches!(
                self.branches.get(id).map(|b| &b.state),
                Some(BranchState::Finished { .. }) | None
            )
        });
        all_done.then_some(members)
    }

    /// Keeps the parent's record of finished branches bounded.
    fn forget_old_branches(&mut self, parent: &str) {
        let Some(entry) = self.parents.get_mut(parent) else {
            return;
        };
        let finished: Vec<String> = entry
            .branches
            .iter()
            .filter(|id| {
                matches!(
                    self.branches.get(*id).map(|b| &b.state),
                    Some(BranchState::Finished { .. })
                )
            })
            .cloned()
            .collect();
        let excess = finished.len().saturating_sub(FINISHED_KEPT);
        for id in finished.into_iter().take(excess) {
            entry.branches.retain(|b| *b != id);
            self.branches.remove(&id);
        }
    }

    /// The `status` mode: what became of the branches this session opened.
    pub(crate) fn branch_status(&self, session_id: &str) -> String {
        let Some(parent) = self.parents.get(session_id) else {
            return wording::no_branches();
        };
        let lines: Vec<String> = parent
            .branches
            .iter()
            .filter_map(|id| {
                let branch = self.branches.get(id)?;
                let state = match &branch.state {
                    BranchState::Running { .. } | BranchState::Reading { .. } => {
                        wording::BranchLine::Running
                    }
                    BranchState::Finished { answer, error } => match error {
                        Some(error) => wording::BranchLine::Failed(error),
                        None => wording::BranchLine::Finished(answer),
                    },
                };
                Some(wording::branch_status_line(
                    &branch.title,
                    id,
                    &branch.agent,
                    state,
                ))
            })
            .collect();
        if lines.is_empty() {
            return wording::no_branches();
        }
        wording::branch_status(&lines)
    }
}
