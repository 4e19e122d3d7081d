//! A deterministic stand-in for OpenCode around the engine: a clock that
//! only moves when told, bus events written as in OpenCode, and helpers that
//! drain and inspect the engine's actions.

#![allow(dead_code)] // each test file uses a different subset

use opencode_sessions_engine::{
    Action, ActionId, AgentInfo, BusEvent, EngineConfig, Notice, Outcome, RelayEngine, Request,
    ToastVariant, ToolCall, ToolCallId,
};
use serde_json::{json, Value};

pub struct Sim {
    pub engine: RelayEngine,
    pub now: u64,
}

impl Default for Sim {
    fn default() -> Self {
        Sim {
            engine: RelayEngine::default(),
            now: 1_000,
        }
    }
}

impl Sim {
    pub fn with_config(config: EngineConfig) -> Self {
        Sim {
            engine: RelayEngine::new(config),
            now: 1_000,
        }
    }

    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.engine.handle_timeout(self.now);
    }

    pub fn call(
        &mut self,
        session: &str,
        caller: &str,
        mode: &str,
        text: &str,
        agent: Option<&str>,
    ) -> ToolCallId {
        let mut value = json!({
            "sessionId": session, "messageId": format!("msg_{session}_{}", self.now),
            "callerAgent": caller, "mode": mode, "text": text
        });
        if let Some(agent) = agent {
            value["agent"] = json!(agent);
        }
        let call = ToolCall::from_json(value).expect("valid tool call");
        self.engine.handle_tool_call(self.now, call)
    }

    pub fn event(&mut self, value: Value) {
        let event = BusEvent::from_json(&value).expect("valid event");
        self.engine.handle_event(self.now, event);
    }

    pub fn busy(&mut self, session: &str) {
        self.event(status(session, "busy"));
    }

    /// The two events OpenCode sends when a turn ends.
    pub fn idle(&mut self, session: &str) {
        self.event(status(session, "idle"));
        self.event(json!({"type": "session.idle", "properties": {"sessionID": session}}));
    }

    pub fn compacted(&mut self, session: &str) {
        self.event(json!({"type": "session.compacted", "properties": {"sessionID": session}}));
    }

    pub fn deleted(&mut self, session: &str) {
        self.event(json!({"type": "session.deleted", "properties": {"info": {"id": session}}}));
    }

    pub fn outcome(&mut self, id: ActionId, outcome: Outcome) -> bool {
        self.engine.handle_outcome(self.now, id, outcome)
    }

    /// Takes the actions as the binding does, reading each request where it
    /// lies (the copy here is the test's own).
    pub fn drain(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.engine.poll_action_with(|polled| polled.into_action())).collect()
    }

    /// Drains and drops log lines, which tests check separately where they matter.
    pub fn drain_quiet(&mut self) -> Vec<Action> {
        self.drain()
            .into_iter()
            .filter(|a| !matches!(a, Action::Log { .. }))
            .collect()
    }

    /// Runs a tool call through the agent check with `build` and `plan`
    /// configured, returning the actions that follow it.
    pub fn call_listed(
        &mut self,
        session: &str,
        caller: &str,
        mode: &str,
        text: &str,
        agent: Option<&str>,
    ) -> (ToolCallId, Vec<Action>) {
        let call = self.call(session, caller, mode, text, agent);
        let list = single_request(&self.drain_quiet(), |r| matches!(r, Request::ListAgents));
        self.outcome(list, default_agents());
        (call, self.drain_quiet())
    }

    /// Runs a tool call through the agent check up to the permission
    /// request; returns its id.
    pub fn call_asking(
        &mut self,
        session: &str,
        caller: &str,
        mode: &str,
        text: &str,
        agent: Option<&str>,
    ) -> (ToolCallId, ActionId) {
        let (call, actions) = self.call_listed(session, caller, mode, text, agent);
        let ask = single_request(
            &actions,
            |r| matches!(r, Request::AskPermission { call: c, .. } if *c == call),
        );
        (call, ask)
    }

    /// Runs a tool call through the agent check and a granted permission,
    /// returning the actions that follow.
    pub fn call_checked(
        &mut self,
        session: &str,
        caller: &str,
        mode: &str,
        text: &str,
        agent: Option<&str>,
    ) -> (ToolCallId, Vec<Action>) {
        let (call, ask) = self.call_asking(session, caller, mode, text, agent);
        self.outcome(ask, Outcome::Done);
        (call, self.drain_quiet())
    }

    /// A message a person typed into the session.
    pub fn person_writes(&mut self, session: &str) {
        self.engine.handle_user_message(session, false);
    }

    /// The person interrupts the session's turn (Esc in the TUI).
    pub fn interrupt(&mut self, session: &str) {
        self.event(
            json!({"type": "session.error", "properties": {"sessionID": session,
            "error": {"name": "MessageAbortedError", "data": {"message": "Aborted"}}}}),
        );
    }
}

/// Ends the session's turn, lets OpenCode accept the one relay prompt that
/// follows, and starts the answering turn; returns that prompt.
pub fn deliver_next(sim: &mut Sim, session: &str) -> Request {
    sim.idle(session);
    let sent = requests(&sim.drain_quiet());
    assert_eq!(sent.len(), 1, "one prompt per idle edge: {sent:#?}");
    sim.outcome(sent[0].0, Outcome::Done);
    sim.busy(session);
    sent[0].1.clone()
}

pub fn status(session: &str, kind: &str) -> Value {
    json!({"type": "session.status", "properties": {"sessionID": session, "status": {"type": kind}}})
}

pub fn agent(name: &str, mode: &str) -> AgentInfo {
    AgentInfo {
        name: name.into(),
        mode: mode.into(),
        hidden: false,
    }
}

/// The answer to `LastUserModel`: the session runs on model `m` of provider `p`.
pub fn session_model() -> Outcome {
    Outcome::Model {
        provider_id: "p".into(),
        model_id: "m".into(),
    }
}

pub fn default_agents() -> Outcome {
    Outcome::Agents {
        agents: vec![
            agent("build", "primary"),
            agent("plan", "primary"),
            agent("general", "subagent"),
            AgentInfo {
                name: "title".into(),
                mode: "primary".into(),
                hidden: true,
            },
        ],
    }
}

/// A branch's answer as the host reads it, without an error.
pub fn answer(text: &str) -> Outcome {
    Outcome::Answer {
        text: text.into(),
        error: None,
    }
}

/// Makes one `fork` call per text from `parent`'s running turn and runs them
/// through the agent check and a granted permission; returns the calls and
/// what followed.
pub fn fork_calls(sim: &mut Sim, parent: &str, texts: &[&str]) -> (Vec<ToolCallId>, Vec<Action>) {
    sim.busy(parent);
    let calls: Vec<ToolCallId> = texts
        .iter()
        .map(|t| sim.call(parent, "build", "fork", t, None))
        .collect();
    for stage in ["agents", "permission"] {
        for (id, _) in requests(&sim.drain_quiet()) {
            let outcome = if stage == "agents" {
                default_agents()
            } else {
                Outcome::Done
            };
            sim.outcome(id, outcome);
        }
    }
    (calls, sim.drain_quiet())
}

/// The id of the one request in `actions`, which must match `pred`.
pub fn single_request(actions: &[Action], pred: impl Fn(&Request) -> bool) -> ActionId {
    let requests: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Request { id, request, .. } => Some((*id, request)),
            _ => None,
        })
        .collect();
    assert_eq!(
        requests.len(),
        1,
        "expected exactly one request in {actions:#?}"
    );
    assert!(
        pred(requests[0].1),
        "unexpected request {:#?}",
        requests[0].1
    );
    requests[0].0
}

/// Requests in `actions` other than the titles kept up to date in the background.
pub fn requests_but_renames(actions: &[Action]) -> Vec<(ActionId, Request)> {
    requests(actions)
        .into_iter()
        .filter(|(_, r)| !matches!(r, Request::RenameSession { .. }))
        .collect()
}

/// The titles `actions` give to sessions: `(session, title)`.
pub fn renames(actions: &[Action]) -> Vec<(String, String)> {
    requests(actions)
        .into_iter()
        .filter_map(|(_, r)| match r {
            Request::RenameSession { session_id, title } => Some((session_id, title)),
            _ => None,
        })
        .collect()
}

pub fn requests(actions: &[Action]) -> Vec<(ActionId, Request)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Request { id, request, .. } => Some((*id, request.clone())),
            _ => None,
        })
        .collect()
}

/// The reply in `actions` to `call`: `(ok, text)`.
pub fn reply_to(actions: &[Action], call: ToolCallId) -> (bool, String) {
    let replies: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::ReplyToTool { call: c, ok, text } if *c == call => Some((*ok, text.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        replies.len(),
        1,
        "expected one reply to {call:?} in {actions:#?}"
    );
    replies[0].clone()
}

/// The notices in `actions`: what happened, in order.
pub fn notices(actions: &[Action]) -> Vec<Notice> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notice { notice } => Some(Notice::clone(notice)),
            _ => None,
        })
        .collect()
}

/// Toasts in `actions`: `(variant, title, message)`.
pub fn toasts(actions: &[Action]) -> Vec<(ToastVariant, String, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Toast {
                variant,
                title,
                message,
            } => Some((*variant, title.clone(), message.clone())),
            _ => None,
        })
        .collect()
}

pub fn prompt(session: &str, agent: &str, parts: &[&str]) -> Request {
    Request::Prompt {
        session_id: session.into(),
        agent: agent.into(),
        parts: parts.iter().map(|p| p.to_string()).collect(),
    }
}
