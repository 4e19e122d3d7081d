//! Titles for the sessions that `new` and `fork` open. Calls of one turn
//! with the same mode form a group, so three forks read `fork 1/3 · …`,
//! `fork 2/3 · …`, `fork 3/3 · …` instead of three identical "(fork #1)".
//! The calls of a turn arrive one by one, so a branch titled before the last
//! call arrived is renamed once the count grows.

use crate::action::Request;
use crate::engine::RelayEngine;
use crate::mode::Mode;
use crate::tool_call::ToolCall;
use crate::wording;

/// The turn (its assistant message) and mode a branch was opened from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct GroupKey {
    pub session_id: String,
    pub message_id: String,
    pub mode: Mode,
}

#[derive(Debug, Default)]
pub(crate) struct BranchGroup {
    /// The agent whose turn opened the branches.
    caller_agent: String,
    /// Calls that joined; each call's number is its place in this count.
    joined: u32,
    /// Calls still opening their branch session.
    opening: u32,
    /// The turn that opened them ended: no call will join any more.
    turn_ended: bool,
    titled: Vec<TitledBranch>,
}

#[derive(Debug)]
struct TitledBranch {
    session_id: String,
    index: u32,
    /// The count the title was written with.
    total: u32,
    agent: String,
    text: String,
}

/// A call's place in its group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BranchSlot {
    pub key: GroupKey,
    index: u32,
}

impl RelayEngine {
    /// A `new` or `fork` call is about to open its branch.
    pub(crate) fn join_branch_group(&mut self, now_ms: u64, call: &ToolCall) -> BranchSlot {
        let key = GroupKey {
            session_id: call.session_id.clone(),
            message_id: call.message_id.clone(),
            mode: call.mode,
        };
        let group = self.branch_groups.entry(key.clone()).or_default();
        group.caller_agent.clone_from(&call.caller_agent);
        group.joined += 1;
        group.opening += 1;
        let index = group.joined;
        self.retitle_group(now_ms, &key);
        BranchSlot { key, index }
    }

    /// The title the slot's branch should carry now.
    pub(crate) fn branch_title(&self, slot: &BranchSlot, agent: &str, text: &str) -> String {
        let total = self
            .branch_groups
            .get(&slot.key)
            .map_or(slot.index, |g| g.joined);
        wording::branch_title(slot.key.mode, slot.index, total, agent, text)
    }

    /// The slot's branch session exists with `current_title`: renames it if
    /// that is not the title it should carry. Returns the title.
    pub(crate) fn branch_opened(
        &mut self,
        now_ms: u64,
        slot: &BranchSlot,
        session_id: &str,
        current_title: &str,
        agent: &str,
        text: &str,
    ) -> String {
        let title = self.branch_title(slot, agent, text);
        if title != current_title {
            self.rename(now_ms, session_id, &title);
        }
        if let Some(group) = self.branch_groups.get_mut(&slot.key) {
            group.opening = group.opening.saturating_sub(1);
            group.titled.push(TitledBranch {
                session_id: session_id.to_owned(),
                index: slot.index,
                total: group.joined,
                agent: agent.to_owned(),
                text: text.to_owned(),
            });
        }
        title
    }

    /// The slot's call ended without a branch session.
    pub(crate) fn branch_abandoned(&mut self, now_ms: u64, slot: &BranchSlot) {
        if let Some(group) = self.branch_groups.get_mut(&slot.key) {
            group.opening = group.opening.saturating_sub(1);
        }
        self.group_progress(now_ms, &slot.key);
    }

    /// The turn of `session_id` ended, so no call will join its groups any more.
    pub(crate) fn close_branch_groups(&mut self, now_ms: u64, session_id: &str) {
        let closing: Vec<GroupKey> = self
            .branch_groups
            .iter_mut()
            .filter(|(key, _)| key.session_id == session_id)
            .map(|(key, group)| {
                group.turn_ended = true;
                key.clone()
            })
            .collect();
        for key in closing {
            self.group_progress(now_ms, &key);
        }
    }

    /// The branch sessions of a group that can no longer grow, or `None`
    /// while calls may still join or are still opening their branch.
    pub(crate) fn group_members(&self, key: &GroupKey) -> Option<Vec<String>> {
        let group = self.branch_groups.get(key)?;
        (group.turn_ended && group.opening == 0)
            .then(|| group.titled.iter().map(|b| b.session_id.clone()).collect())
    }

    /// The agent whose turn opened the group's branches.
    pub(crate) fn group_caller(&self, key: &GroupKey) -> String {
        self.branch_groups
            .get(key)
            .map(|g| g.caller_agent.clone())
            .unwrap_or_default()
    }

    /// The session is gone: its groups go too.
    pub(crate) fn forget_branch_groups(&mut self, session_id: &str) {
        self.branch_groups
            .retain(|key, _| key.session_id != session_id);
    }

    /// Renames the group's branches whose title shows an outdated count.
    fn retitle_group(&mut self, now_ms: u64, key: &GroupKey) {
        let Some(group) = self.branch_groups.get_mut(key) else {
            return;
        };
        let total = group.joined;
        let mut renames = Vec::new();
        for branch in group.titled.iter_mut().filter(|b| b.total != total) {
            branch.total = total;
            let title =
                wording::branch_title(key.mode, branch.index, total, &branch.agent, &branch.text);
            renames.push((branch.session_id.clone(), title));
        }
        for (session_id, title) in renames {
            self.rename(now_ms, &session_id, &title);
        }
    }

    /// Whether `request` would undo something newer: a retried rename whose
    /// title a later rename of the same session replaced.
    pub(crate) fn is_outdated(&self, request: &Request) -> bool {
        let Request::RenameSession { session_id, title } = request else {
            return false;
        };
        self.branch_groups.iter().any(|(key, group)| {
            group.titled.iter().any(|b| {
                b.session_id == *session_id
                    && wording::branch_title(key.mode, b.index, b.total, &b.agent, &b.text)
                        != *title
            })
        })
    }

    fn rename(&mut self, now_ms: u64, session_id: &str, title: &str) {
        let request = Request::RenameSession {
            session_id: session_id.to_owned(),
            title: title.to_owned(),
        };
        self.issue_in_background(now_ms, request);
    }
}
