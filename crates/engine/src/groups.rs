//! Titles for the sessions that `new` and `fork` open. Calls of one turn
//! with the same mode form a group, so three forks read `fork 1/3 · …`,
//! `fork 2/3 · …`, `fork 3/3 · …` instead of three identical "(fork #1)".
//! The calls of a turn arrive one by one, so a branch titled before the last
//! call arrived is renamed once the count grows. [`BranchGroups`] belongs to
//! [`crate::branches::Branches`], which also learns from it when a group is
//! complete.

use crate::action::Request;
use crate::fast_hash::HashMap;
use crate::mode::Mode;
use crate::outputs::Outputs;
use crate::render;
use crate::requests::Requests;
use crate::tool_call::ToolCall;

/// The turn (its assistant message) and mode a branch was opened from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct GroupKey {
    pub session_id: String,
    pub message_id: String,
    pub mode: Mode,
}

/// Branches opened by one turn, so their titles can say "2/3".
#[derive(Debug, Default)]
pub(crate) struct BranchGroups {
    groups: HashMap<GroupKey, BranchGroup>,
}

#[derive(Debug, Default)]
struct BranchGroup {
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

/// A group that can no longer grow: its turn ended and no call of it is
/// still opening its branch.
#[derive(Debug)]
pub(crate) struct ClosedGroup {
    /// The agent whose turn opened the branches.
    pub caller_agent: String,
    /// Their sessions, in the order they were titled.
    pub members: Vec<String>,
}

impl BranchGroups {
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// A `new` or `fork` call is about to open its branch.
    pub fn join(
        &mut self,
        now_ms: u64,
        call: &ToolCall,
        requests: &mut Requests,
        out: &mut Outputs,
    ) -> BranchSlot {
        let key = GroupKey {
            session_id: call.session_id.clone(),
            message_id: call.message_id.clone(),
            mode: call.mode,
        };
        let group = self.groups.entry(key.clone()).or_default();
        group.caller_agent.clone_from(&call.caller_agent);
        group.joined += 1;
        group.opening += 1;
        let index = group.joined;
        self.retitle(now_ms, &key, requests, out);
        BranchSlot { key, index }
    }

    /// The title the slot's branch should carry now.
    pub fn title(&self, slot: &BranchSlot, agent: &str, text: &str) -> String {
        let total = self.groups.get(&slot.key).map_or(slot.index, |g| g.joined);
        render::branch_title(slot.key.mode, slot.index, total, agent, text)
    }

    /// The slot's branch session exists with `current_title`: renames it if
    /// that is not the title it should carry. Returns the title.
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
        let (agent, text) = (call.target_agent(), call.text.as_str());
        let title = self.title(slot, agent, text);
        if title != current_title {
            rename(now_ms, session_id, &title, requests, out);
        }
        if let Some(group) = self.groups.get_mut(&slot.key) {
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
    pub fn abandoned(&mut self, slot: &BranchSlot) {
        if let Some(group) = self.groups.get_mut(&slot.key) {
            group.opening = group.opening.saturating_sub(1);
        }
    }

    /// The turn of `session_id` ended, so no call will join its groups any
    /// more. Returns their keys.
    pub fn close(&mut self, session_id: &str) -> Vec<GroupKey> {
        self.groups
            .iter_mut()
            .filter(|(key, _)| key.session_id == session_id)
            .map(|(key, group)| {
                group.turn_ended = true;
                key.clone()
            })
            .collect()
    }

    /// The group, once it can no longer grow; `None` while calls may still
    /// join or are still opening their branch.
    pub fn closed(&self, key: &GroupKey) -> Option<ClosedGroup> {
        let group = self.groups.get(key)?;
        (group.turn_ended && group.opening == 0).then(|| ClosedGroup {
            caller_agent: group.caller_agent.clone(),
            members: group.titled.iter().map(|b| b.session_id.clone()).collect(),
        })
    }

    /// The group is done with: its titles are final.
    pub fn remove(&mut self, key: &GroupKey) {
        self.groups.remove(key);
    }

    /// The session is gone: its groups go too.
    pub fn forget(&mut self, session_id: &str) {
        self.groups.retain(|key, _| key.session_id != session_id);
    }

    /// The title the group's branch `session_id` carries now (renamed as
    /// later calls joined); `None` once the group is gone.
    pub fn title_of(&self, key: &GroupKey, session_id: &str) -> Option<String> {
        let branch = self
            .groups
            .get(key)?
            .titled
            .iter()
            .find(|b| b.session_id == session_id)?;
        Some(render::branch_title(
            key.mode,
            branch.index,
            branch.total,
            &branch.agent,
            &branch.text,
        ))
    }

    /// Renames the group's branches whose title shows an outdated count.
    fn retitle(&mut self, now_ms: u64, key: &GroupKey, requests: &mut Requests, out: &mut Outputs) {
        let Some(group) = self.groups.get_mut(key) else {
            return;
        };
        let total = group.joined;
        for branch in group.titled.iter_mut().filter(|b| b.total != total) {
            branch.total = total;
            let title =
                render::branch_title(key.mode, branch.index, total, &branch.agent, &branch.text);
            rename(now_ms, &branch.session_id, &title, requests, out);
        }
    }

    /// Whether `request` would undo something newer: a retried rename whose
    /// title a later rename of the same session replaced.
    pub fn is_outdated(&self, request: &Request) -> bool {
        let Request::RenameSession { session_id, title } = request else {
            return false;
        };
        self.groups.iter().any(|(key, group)| {
            group.titled.iter().any(|b| {
                b.session_id == *session_id
                    && render::branch_title(key.mode, b.index, b.total, &b.agent, &b.text) != *title
            })
        })
    }
}

fn rename(now_ms: u64, session_id: &str, title: &str, requests: &mut Requests, out: &mut Outputs) {
    let request = Request::RenameSession {
        session_id: session_id.to_owned(),
        title: title.to_owned(),
    };
    requests.issue_in_background(now_ms, request, out);
}
