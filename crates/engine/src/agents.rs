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
    }
}
