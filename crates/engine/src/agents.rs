//! Which agents a relay may be handed to.

use serde::Deserialize;

/// An agent as `client.app.agents()` lists it (only the fields the engine reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AgentInfo {
    pub name: String,
    /// `primary`, `subagent` or `all`.
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub hidden: bool,
}

impl AgentInfo {
    /// Primary agents answer a session on their own; subagents only run
    /// inside a task, and hidden agents are OpenCode's internals.
    pub fn can_answer_a_session(&self) -> bool {
        !self.hidden && self.mode != "subagent"
    }
}

/// Whether a relay may be handed to an agent, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reachability {
    Reachable,
    Unknown,
    Subagent,
    Hidden,
}

pub fn reachability(agents: &[AgentInfo], name: &str) -> Reachability {
    match agents.iter().find(|a| a.name == name) {
        None => Reachability::Unknown,
        Some(a) if a.hidden => Reachability::Hidden,
        Some(a) if a.mode == "subagent" => Reachability::Subagent,
        Some(_) => Reachability::Reachable,
    }
}

/// Names of the agents a relay may target, in the order OpenCode lists them.
pub fn reachable_agents(agents: &[AgentInfo]) -> Vec<&str> {
    agents
        .iter()
        .filter(|a| a.can_answer_a_session())
        .map(|a| a.name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str, mode: &str, hidden: bool) -> AgentInfo {
        AgentInfo {
            name: name.into(),
            mode: mode.into(),
            hidden,
        }
    }

    #[test]
    fn keeps_primary_and_all_modes_and_drops_subagents_and_hidden() {
        let agents = [
            agent("build", "primary", false),
            agent("general", "subagent", false),
            agent("compaction", "primary", true),
            agent("review", "all", false),
        ];
        assert_eq!(reachable_agents(&agents), ["build", "review"]);
        assert_eq!(reachability(&agents, "review"), Reachability::Reachable);
        assert_eq!(reachability(&agents, "general"), Reachability::Subagent);
        assert_eq!(reachability(&agents, "compaction"), Reachability::Hidden);
        assert_eq!(reachability(&agents, "Build"), Reachability::Unknown);
    }
}
