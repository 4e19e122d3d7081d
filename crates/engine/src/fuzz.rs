//! Arbitrary input through every decoder the binding uses, and a short drive
//! of an engine with whatever decoded. Shared by the cargo-fuzz target
//! `decode_inputs` (in `fuzz/`) and by the tests that replay its corpus and
//! feed it generated JSON, so all three check the same thing.

use crate::{
    Action, AgentInfo, BusEvent, EngineConfig, InputError, Outcome, PendingHandOff, RelayEngine,
    Request, ToolCall,
};
use serde_json::{json, Value};

/// How many rounds of answering requests and ending turns a drive takes at most.
const DRIVE_ROUNDS: usize = 24;

/// Runs fuzz bytes: the first byte selects the decoder (see [`decode_value`]),
/// the rest is JSON text. Bytes that are not JSON are skipped. Returns an
/// error naming the broken invariant: a decoding error with an empty message,
/// an action the binding could not encode, an empty text, or a toast, log
/// line or tool result not preceded by a [`crate::Notice`].
pub fn decode_inputs(data: &[u8]) -> Result<(), String> {
    let Some((&selector, text)) = data.split_first() else {
        return Ok(());
    };
    match serde_json::from_slice::<Value>(text) {
        Ok(value) => decode_value(selector, value),
        Err(_) => Ok(()),
    }
}

/// Decodes `value` as plugin options (`selector % 5 == 0`), a tool call (1),
/// a bus event (2), an outcome (3) or all of them, the pending hand-offs a
/// stopped process left included (4), and drives a fresh engine with what
/// decoded.
pub fn decode_value(selector: u8, value: Value) -> Result<(), String> {
    match selector % 5 {
        0 => options(&value),
        1 => tool_call(value),
        2 => event(&value),
        3 => outcome(value),
        _ => {
            options(&value)?;
            tool_call(value.clone())?;
            event(&value)?;
            handoffs(value.clone())?;
            outcome(value)
        }
    }
}

fn handoffs(value: Value) -> Result<(), String> {
    match PendingHandOff::list_from_json(value) {
        Ok(handoffs) => {
            let mut drive = Drive::new(RelayEngine::default());
            drive.engine.handle_restored(drive.now, handoffs);
            drive.drain()?;
            drive.run()
        }
        Err(err) => explained("pending hand-offs", &err),
    }
}

fn options(value: &Value) -> Result<(), String> {
    match EngineConfig::from_options(value) {
        Ok(config) => {
            let mut drive = Drive::new(RelayEngine::new(config));
            drive.call(standard_call("fork", "ses_1"))?;
            drive.call(standard_call("message", "ses_1"))?;
            drive.run()
        }
        Err(err) => explained("options", &err),
    }
}

fn tool_call(value: Value) -> Result<(), String> {
    match ToolCall::from_json(value) {
        Ok(call) => {
            let mut drive = Drive::new(RelayEngine::default());
            drive.call(call.clone())?;
            // The same call again, so queues hold more than one relay.
            drive.call(call)?;
            drive.run()
        }
        Err(err) => explained("tool call", &err),
    }
}

fn event(value: &Value) -> Result<(), String> {
    match BusEvent::from_json(value) {
        Ok(event) => {
            let session = match &event {
                BusEvent::Status { session_id, .. }
                | BusEvent::Idle { session_id }
                | BusEvent::Compacted { session_id }
                | BusEvent::Deleted { session_id }
                | BusEvent::StepFinished { session_id, .. }
                | BusEvent::ToolState { session_id, .. }
                | BusEvent::PersonAsked { session_id, .. }
                | BusEvent::PersonAnswered { session_id, .. }
                | BusEvent::Error {
                    session_id: Some(session_id),
                    ..
                } => session_id.clone(),
                BusEvent::Error {
                    session_id: None, ..
                }
                | BusEvent::Other => "ses_1".to_owned(),
            };
            let mut drive = Drive::new(RelayEngine::default());
            drive.call(standard_call("message", &session))?;
            drive.call(standard_call("compact", &session))?;
            drive.answer_requests()?;
            drive.engine.handle_event(drive.now, event.clone());
            drive.drain()?;
            drive.run()?;
            drive.engine.handle_event(drive.now, event);
            drive.drain()
        }
        Err(err) => explained("event", &err),
    }
}

fn outcome(value: Value) -> Result<(), String> {
    match Outcome::from_json(value) {
        Ok(outcome) => {
            let mut drive = Drive::new(RelayEngine::default());
            drive.call(standard_call("new", "ses_1"))?;
            // Whatever was asked first gets the decoded outcome as its answer.
            if let Some((id, _)) = drive.pending.pop() {
                drive.engine.handle_outcome(drive.now, id, outcome);
            }
            drive.run()
        }
        Err(err) => explained("outcome", &err),
    }
}

/// A refusal must say something.
fn explained(what: &str, err: &InputError) -> Result<(), String> {
    if err.to_string().trim().is_empty() {
        Err(format!("{what}: an error with an empty message: {err:?}"))
    } else {
        Ok(())
    }
}

/// A call in `session` as the binding would decode it; in `ses_1` when no
/// tool call could come from `session` (a blank id, say).
fn standard_call(mode: &str, session: &str) -> ToolCall {
    let call = |session: &str| {
        ToolCall::from_json(json!({
            "sessionId": session, "messageId": "msg_1", "callerAgent": "build",
            "mode": mode, "text": "try this", "agent": "plan"
        }))
    };
    call(session)
        .or_else(|_| call("ses_1"))
        .unwrap_or(ToolCall {
            session_id: "ses_1".to_owned(),
            message_id: "msg_1".to_owned(),
            caller_agent: "build".to_owned(),
            mode: crate::Mode::Message,
            text: "try this".to_owned(),
            agent: Some("plan".to_owned()),
            session: None,
        })
}

/// An engine, a clock, and a host that answers every request as OpenCode
/// would when all goes well.
struct Drive {
    engine: RelayEngine,
    now: u64,
    sessions: Vec<String>,
    agents: Vec<String>,
    pending: Vec<(crate::ActionId, Request)>,
    opened: u64,
    /// Drains since the start: every other one reads requests where they
    /// lie (`poll_action_with`, as the binding does), the rest takes them.
    drains: u64,
}

impl Drive {
    fn new(engine: RelayEngine) -> Self {
        Drive {
            engine,
            now: 1_000,
            sessions: Vec::new(),
            agents: vec!["build".to_owned(), "plan".to_owned()],
            pending: Vec::new(),
            opened: 0,
            drains: 0,
        }
    }

    fn call(&mut self, call: ToolCall) -> Result<(), String> {
        for name in [call.caller_agent.clone(), call.target_agent().to_owned()] {
            if !self.agents.contains(&name) {
                self.agents.push(name);
            }
        }
        if !self.sessions.contains(&call.session_id) {
            self.sessions.push(call.session_id.clone());
        }
        self.engine.handle_tool_call(self.now, call);
        self.drain()
    }

    fn next_action(&mut self, lent: bool) -> Option<Action> {
        if !lent {
            return self.engine.poll_action();
        }
        self.engine.poll_action_with(|polled| polled.into_action())
    }

    /// Takes every action out of the engine, checking the binding can encode it.
    fn drain(&mut self) -> Result<(), String> {
        // Words for people are made from a notice, which comes first.
        let mut noticed = false;
        self.drains += 1;
        let lent = self.drains % 2 == 0;
        while let Some(action) = self.next_action(lent) {
            serde_json::to_value(&action)
                .map_err(|e| format!("an action could not be encoded ({e}): {action:?}"))?;
            let words = match &action {
                Action::ReplyToTool { .. } | Action::Toast { .. } | Action::Log { .. } => true,
                Action::Request { .. } | Action::Notice { .. } => false,
            };
            if words && !noticed {
                return Err(format!("{action:?} without the notice it tells of"));
            }
            noticed |= matches!(action, Action::Notice { .. });
            match action {
                Action::Request { id, request, .. } => self.pending.push((id, request)),
                Action::ReplyToTool { text, .. } if text.trim().is_empty() => {
                    return Err("a tool call was answered with an empty text".to_owned());
                }
                Action::Toast { message, .. } | Action::Log { message, .. }
                    if message.trim().is_empty() =>
                {
                    return Err("a toast or log line without a message".to_owned());
                }
                Action::ReplyToTool { .. }
                | Action::Toast { .. }
                | Action::Log { .. }
                | Action::Notice { .. } => {}
            }
        }
        Ok(())
    }

    fn answer_requests(&mut self) -> Result<(), String> {
        for (id, request) in std::mem::take(&mut self.pending) {
            self.now += 1;
            let outcome = self.outcome_for(&request);
            self.engine.handle_outcome(self.now, id, outcome);
            self.drain()?;
        }
        Ok(())
    }

    fn outcome_for(&mut self, request: &Request) -> Outcome {
        match request {
            Request::ListAgents => Outcome::Agents {
                agents: self
                    .agents
                    .iter()
                    .map(|name| AgentInfo {
                        name: name.clone(),
                        mode: "primary".to_owned(),
                        hidden: false,
                    })
                    .collect(),
            },
            Request::CreateSession { title } => self.opened(title),
            Request::ForkSession { .. } => self.opened("fork"),
            Request::LastUserModel { .. } => Outcome::Model {
                provider_id: "p".to_owned(),
                model_id: "m".to_owned(),
            },
            Request::LastAnswer { .. } => Outcome::Answer {
                text: "done".to_owned(),
                error: None,
            },
            Request::Prompt { .. }
            | Request::AbortSession { .. }
            | Request::Summarize { .. }
            | Request::AskPermission { .. }
            | Request::RenameSession { .. }
            | Request::SelectSession { .. }
            | Request::Note { .. } => Outcome::Done,
        }
    }

    fn opened(&mut self, title: &str) -> Outcome {
        self.opened += 1;
        let id = format!("ses_branch{}", self.opened);
        self.sessions.push(id.clone());
        Outcome::Session {
            id,
            title: title.to_owned(),
        }
    }

    /// Rounds of: answer what was asked, end every session's turn, let time pass.
    fn run(&mut self) -> Result<(), String> {
        for _ in 0..DRIVE_ROUNDS {
            self.answer_requests()?;
            for session in self.sessions.clone() {
                self.now += 1;
                for event in [
                    json!({"type": "session.status", "properties": {"sessionID": session, "status": {"type": "busy"}}}),
                    json!({"type": "session.status", "properties": {"sessionID": session, "status": {"type": "idle"}}}),
                    json!({"type": "session.idle", "properties": {"sessionID": session}}),
                ] {
                    let event = BusEvent::from_json(&event)
                        .map_err(|e| format!("a well-formed event was refused: {e}"))?;
                    self.engine.handle_event(self.now, event);
                    self.drain()?;
                }
            }
            if let Some(at) = self.engine.poll_timeout() {
                self.now = self.now.max(at);
                self.engine.handle_timeout(self.now);
                self.drain()?;
            }
            if self.pending.is_empty() && self.engine.is_quiet() {
                break;
            }
        }
        Ok(())
    }
}
