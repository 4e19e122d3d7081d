//! The ping-pong guard: each agent-to-agent hand-off is one hop, and a
//! session may take `max_hops` of them before a person writes again. A
//! branch inherits its parent's count. This is the only writer of the counts.

use crate::fast_hash::HashMap;

#[derive(Debug)]
pub(crate) struct Hops {
    /// Hand-offs since a person last wrote, by session; absent means none.
    counts: HashMap<String, u32>,
    max_hops: u32,
}

impl Hops {
    pub fn new(max_hops: u32) -> Self {
        Hops {
            counts: HashMap::default(),
            max_hops,
        }
    }

    pub fn max_hops(&self) -> u32 {
        self.max_hops
    }

    /// Hand-offs since a person last wrote in `session_id`.
    pub fn get(&self, session_id: &str) -> u32 {
        self.counts.get(session_id).copied().unwrap_or(0)
    }

    /// The number the next hand-off from `session_id` takes.
    pub fn next(&self, session_id: &str) -> u32 {
        self.get(session_id).saturating_add(1)
    }

    /// Whether another hand-off from `session_id` would pass `max_hops`.
    pub fn exhausted(&self, session_id: &str) -> bool {
        self.next(session_id) > self.max_hops
    }

    /// Counts a hand-off from `session_id`, promised now; returns its number.
    pub fn count(&mut self, session_id: &str) -> u32 {
        let hop = self.next(session_id);
        self.counts.insert(session_id.to_owned(), hop);
        hop
    }

    /// Counts a hand-off from `session_id` unless it would pass `max_hops`;
    /// returns its number, or `None` when refused.
    pub fn count_within_limit(&mut self, session_id: &str) -> Option<u32> {
        (!self.exhausted(session_id)).then(|| self.count(session_id))
    }

    /// A branch opened from `parent` takes the parent's next hop as its own
    /// count; returns it.
    pub fn inherit(&mut self, parent: &str, branch: &str, exists: bool) -> u32 {
        let hop = self.next(parent);
        if exists {
            self.counts.insert(branch.to_owned(), hop);
        }
        hop
    }

    /// A person wrote in the session (or it was deleted): the count starts over.
    pub fn forget(&mut self, session_id: &str) {
        self.counts.remove(session_id);
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    pub fn sessions(&self) -> impl Iterator<Item = &str> {
        self.counts.keys().map(String::as_str)
    }
}
