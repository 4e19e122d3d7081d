//! Simulations of requests that fail, time out or lose their session: every
//! accepted relay ends delivered or reported, never silently dropped.

mod sim;

use opencode_sessions_engine::{
    Action, Activity, Certainty, LogLevel, Notice, Outcome, RelayFailure, Request, RequestError,
    ToastVariant,
};
use sim::*;

fn error_toasts(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Toast {
                variant: ToastVariant::Error,
                message,
                ..
            } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn error_logs(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::Log {
                    level: LogLevel::Error,
                    ..
                }
            )
        })
        .count()
}

#[test]
fn a_failed_prompt_is_reported_and_the_next_relay_still_goes() {
    let mut sim = Sim::default();
    sim.call_checked("s1", "build", "message", "first", Some("plan"));
    sim.call_checked("s1", "build", "message", "second", Some("plan"));
    sim.idle("s1");
    let sent = requests(&sim.drain_quiet());
    sim.outcome(sent[0].0, Outcome::failed("HTTP 500"));
    let actions = sim.drain();
    assert!(matches!(
        &notices(&actions)[..],
        [
            Notice::RelayFailed {
                text,
                reason: RelayFailure::RequestFailed {
                    activity: Activity::SendingPrompt,
                    message
                },
                certainty: Certainty::Definite,
                ..
            },
            Notice::RelayStarted { .. },
        ] if text == "first" && message == "HTTP 500"
    ));
    let toasts = error_toasts(&actions);
    assert_eq!(toasts.len(), 1);
    assert!(
        toasts[0].contains("sending the prompt failed: HTTP 500")
            && toasts[0].contains("\"first\""),
        "{}",
        toasts[0]
    );
    assert_eq!(error_logs(&actions), 1);
    assert_eq!(requests(&actions)[0].1, prompt("s1", "plan", &["second"]));
}

#[test]
fn a_request_without_answer_times_out_and_its_late_answer_is_ignored() {
    let mut sim = Sim::default();
    sim.call_checked("s1", "build", "message", "hello", Some("plan"));
    sim.idle("s1");
    let actions = sim.drain_quiet();
    let sent = single_request(&actions, |r| matches!(r, Request::Prompt { .. }));
    let deadline = sim.engine.poll_timeout().expect("a deadline is armed");
    assert_eq!(deadline, sim.now + 15_000);
    sim.advance(14_999);
    assert!(sim.drain().is_empty());
    sim.advance(1);
    let actions = sim.drain();
    assert!(matches!(
        &notices(&actions)[..],
        [Notice::RelayFailed {
            reason: RelayFailure::TimedOut {
                error: RequestError::TimedOut {
                    seconds: 15,
                    activity: Activity::SendingPrompt
                }
            },
            certainty: Certainty::Uncertain,
            ..
        }]
    ));
    let toasts = error_toasts(&actions);
    assert_eq!(toasts.len(), 1);
    assert!(
        toasts[0].contains("no answer after 15 s while sending the prompt"),
        "{}",
        toasts[0]
    );
    assert!(!sim.outcome(sent, Outcome::Done));
    assert!(sim.engine.is_quiet());
    assert_eq!(sim.engine.poll_timeout(), None);
}

#[test]
fn a_failing_summarize_is_reported_and_the_text_is_not_sent() {
    let mut sim = Sim::default();
    sim.call_checked("s1", "build", "compact", "continue", Some("plan"));
    sim.idle("s1");
    let read = single_request(&sim.drain_quiet(), |_| true);
    sim.outcome(
        read,
        Outcome::Model {
            provider_id: "p".into(),
            model_id: "gone".into(),
        },
    );
    let summarize = single_request(&sim.drain_quiet(), |_| true);
    sim.outcome(summarize, Outcome::failed("HTTP 500: model not found"));
    let actions = sim.drain();
    assert!(requests(&actions).is_empty());
    assert!(error_toasts(&actions)[0]
        .contains("summarizing the session failed: HTTP 500: model not found"));
    assert!(sim.engine.is_quiet());
}

#[test]
fn deleting_a_session_reports_every_pending_relay_and_forgets_it() {
    let mut sim = Sim::default();
    sim.call_checked("s1", "build", "message", "a", Some("plan"));
    sim.call_checked("s1", "build", "compact", "b", Some("plan"));
    sim.idle("s1");
    sim.drain();
    sim.deleted("s1");
    let actions = sim.drain();
    let deleted = notices(&actions)
        .into_iter()
        .filter(|n| {
            matches!(
                n,
                Notice::RelayFailed {
                    reason: RelayFailure::SessionDeleted,
                    certainty: Certainty::Definite,
                    ..
                }
            )
        })
        .count();
    assert_eq!(deleted, 2);
    let toasts = error_toasts(&actions);
    assert_eq!(toasts.len(), 2);
    assert!(toasts.iter().all(|t| t.contains("the session was deleted")));
    assert!(sim.engine.is_quiet());
    assert_eq!(sim.engine.poll_timeout(), None, "no deadline left behind");
}

#[test]
fn a_branch_that_cannot_be_created_fails_the_tool_call_with_the_reason() {
    let mut sim = Sim::default();
    let (call, actions) = sim.call_checked("s1", "build", "new", "x", Some("plan"));
    let create = single_request(&actions, |_| true);
    sim.outcome(create, Outcome::failed("HTTP 503"));
    let (ok, text) = reply_to(&sim.drain(), call);
    assert!(!ok);
    assert_eq!(text, "Could not start the new session: HTTP 503.");
}

#[test]
fn a_branch_whose_prompt_fails_names_the_session_so_the_user_can_recover() {
    let mut sim = Sim::default();
    let (call, actions) = sim.call_checked("s1", "build", "fork", "x", Some("plan"));
    sim.outcome(
        single_request(&actions, |_| true),
        Outcome::Session {
            id: "f1".into(),
            title: "t".into(),
        },
    );
    let send = requests_but_renames(&sim.drain_quiet())[0].0;
    sim.outcome(send, Outcome::failed("HTTP 400"));
    let (ok, text) = reply_to(&sim.drain(), call);
    assert!(
        !ok && text.contains("f1") && text.contains("HTTP 400"),
        "{text}"
    );
}

#[test]
fn an_agent_list_that_cannot_be_read_fails_the_call_and_queues_nothing() {
    let mut sim = Sim::default();
    let call = sim.call("s1", "build", "message", "x", None);
    let list = single_request(&sim.drain(), |r| matches!(r, Request::ListAgents));
    sim.outcome(list, Outcome::failed("connection refused"));
    let (ok, text) = reply_to(&sim.drain(), call);
    assert!(!ok && text.contains("connection refused") && text.contains("Nothing was sent"));
    assert!(sim.engine.is_quiet());
}

#[test]
fn an_answer_of_the_wrong_kind_fails_loudly_instead_of_hanging() {
    let mut sim = Sim::default();
    sim.call_checked("s1", "build", "compact", "x", None);
    sim.idle("s1");
    let read = single_request(&sim.drain_quiet(), |_| true);
    sim.outcome(read, Outcome::Done);
    let toasts = error_toasts(&sim.drain());
    assert!(toasts[0].contains("internal error"), "{}", toasts[0]);
    assert!(sim.engine.is_quiet());
}

/// Runs a compact relay up to the running summarize request.
fn summarizing(sim: &mut Sim) -> opencode_sessions_engine::ActionId {
    sim.call_checked("s1", "build", "compact", "go on", Some("plan"));
    sim.call_checked("s1", "build", "message", "after", Some("plan"));
    sim.idle("s1");
    let read = single_request(&sim.drain_quiet(), |_| true);
    sim.outcome(read, session_model());
    single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::Summarize { .. })
    })
}

#[test]
fn a_compaction_that_ends_without_a_summary_is_reported_and_the_queue_moves_on() {
    let mut sim = Sim::default();
    let summarize = summarizing(&mut sim);
    // Interrupted or failed: the turn ends and no session.compacted comes.
    sim.busy("s1");
    sim.idle("s1");
    sim.outcome(summarize, Outcome::Done);
    let actions = sim.drain();
    let toasts = error_toasts(&actions);
    assert_eq!(toasts.len(), 1);
    assert!(
        toasts[0].contains("was not delivered: the session was not compacted"),
        "{}",
        toasts[0]
    );
    assert_eq!(
        requests(&actions)
            .iter()
            .map(|(_, r)| r.clone())
            .collect::<Vec<_>>(),
        [prompt("s1", "plan", &["after"])]
    );
}

#[test]
fn a_compaction_whose_events_never_come_is_given_up_after_the_time_limit() {
    let mut sim = Sim::default();
    let summarize = summarizing(&mut sim);
    sim.outcome(summarize, Outcome::Done);
    assert!(sim.drain_quiet().is_empty(), "waits for session.compacted");
    sim.advance(15_000);
    let toasts = error_toasts(&sim.drain());
    assert_eq!(toasts.len(), 1);
    assert!(
        toasts[0].contains("was not delivered: no answer after 15 s while waiting for OpenCode to finish the compaction"),
        "{}",
        toasts[0]
    );
    sim.idle("s1");
    assert_eq!(
        sim.engine.pending_relays("s1"),
        1,
        "the next relay is not stuck behind it"
    );
}

#[test]
fn a_summary_that_lands_after_the_http_answer_still_hands_over() {
    let mut sim = Sim::default();
    let summarize = summarizing(&mut sim);
    sim.busy("s1");
    sim.outcome(summarize, Outcome::Done);
    sim.compacted("s1");
    sim.busy("s1");
    assert!(sim.drain_quiet().is_empty());
    sim.idle("s1");
    let sent = requests(&sim.drain_quiet());
    assert_eq!(sent.len(), 1);
    assert!(matches!(&sent[0].1, Request::Prompt { parts, .. } if parts[1] == "go on"));
}

/// Queues `texts` for plan in one turn, ends the turn, and has OpenCode
/// accept the first prompt (HTTP 204) before its answer starts.
fn prompt_accepted(sim: &mut Sim, texts: &[&str]) {
    for text in texts {
        sim.call_checked("s1", "build", "message", text, Some("plan"));
    }
    sim.idle("s1");
    let sent = requests(&sim.drain_quiet());
    sim.outcome(sent[0].0, Outcome::Done);
}

#[test]
fn an_accepted_prompt_that_never_starts_is_reported_and_does_not_block_the_queue() {
    let mut sim = Sim::default();
    prompt_accepted(&mut sim, &["first", "second"]);
    // OpenCode accepted the prompt with 204 but refused to run it.
    sim.event(
        serde_json::json!({"type": "session.error", "properties": {"sessionID": "s1",
        "error": {"name": "UnknownError", "data": {"message": "Agent not found: \"plan\""}}}}),
    );
    let actions = sim.drain();
    let toasts = error_toasts(&actions);
    assert_eq!(toasts.len(), 1);
    assert!(
        toasts[0].contains("OpenCode did not start the answer: UnknownError: Agent not found"),
        "{}",
        toasts[0]
    );
    assert_eq!(requests(&actions)[0].1, prompt("s1", "plan", &["second"]));
}

#[test]
fn an_accepted_prompt_with_no_turn_and_no_error_times_out() {
    let mut sim = Sim::default();
    prompt_accepted(&mut sim, &["only"]);
    sim.advance(15_000);
    let toasts = error_toasts(&sim.drain());
    assert!(toasts[0].contains("may not have been delivered: no answer after 15 s while waiting for the answer to start"), "{}", toasts[0]);
    assert!(sim.engine.is_quiet());
}

#[test]
fn an_error_during_an_answer_that_started_does_not_fail_the_relay() {
    let mut sim = Sim::default();
    prompt_accepted(&mut sim, &["only"]);
    sim.busy("s1");
    sim.event(serde_json::json!({"type": "session.error", "properties": {"sessionID": "s1", "error": {"name": "APIError"}}}));
    sim.idle("s1");
    // No failed step is reported: the turn's end is taken after a short wait.
    sim.advance(3_000);
    assert!(
        error_toasts(&sim.drain()).is_empty(),
        "delivered: the agent got the text, its answer failed"
    );
    assert!(sim.engine.is_quiet());
}

/// A `message` call in a busy session whose agent check is still running.
fn checking_agent(
    sim: &mut Sim,
) -> (
    opencode_sessions_engine::ToolCallId,
    opencode_sessions_engine::ActionId,
) {
    sim.busy("s1");
    let call = sim.call("s1", "build", "message", "x", Some("plan"));
    let list = single_request(&sim.drain(), |r| matches!(r, Request::ListAgents));
    (call, list)
}

#[test]
fn a_session_deleted_while_its_call_checks_the_agent_queues_nothing() {
    let mut sim = Sim::default();
    let (call, list) = checking_agent(&mut sim);
    sim.deleted("s1");
    let (ok, text) = reply_to(&sim.drain(), call);
    assert!(!ok);
    assert_eq!(
        text,
        "The session was deleted before the hand-off was queued. Nothing was sent."
    );
    assert!(
        !sim.outcome(list, default_agents()),
        "its agent check no longer matters"
    );
    assert!(sim.engine.is_quiet());
}

#[test]
fn a_turn_interrupted_while_its_call_checks_the_agent_queues_nothing_and_says_so() {
    let mut sim = Sim::default();
    let (call, list) = checking_agent(&mut sim);
    sim.idle("s1");
    sim.outcome(list, default_agents());
    let actions = sim.drain();
    let (ok, text) = reply_to(&actions, call);
    assert!(
        !ok && text.contains("was not queued: the turn that asked for it ended first"),
        "{text}"
    );
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::Toast {
            variant: ToastVariant::Warning,
            ..
        }
    )));
    assert!(sim.engine.is_quiet());
}

#[test]
fn a_branch_that_times_out_says_it_may_exist() {
    let mut sim = Sim::default();
    let (call, _) = sim.call_checked("s1", "build", "new", "x", Some("plan"));
    sim.advance(15_000);
    let (ok, text) = reply_to(&sim.drain(), call);
    assert!(!ok);
    assert!(text.starts_with("Could not confirm the new session (no answer after 15 s while creating a session); it may still appear"), "{text}");
}

#[test]
fn a_refusal_reported_twice_fails_only_the_relay_it_belongs_to() {
    let mut sim = Sim::default();
    prompt_accepted(&mut sim, &["first", "second"]);
    let refused = serde_json::json!({"type": "session.error", "properties": {"sessionID": "s1",
        "error": {"name": "UnknownError", "data": {"message": "Agent not found"}}}});
    sim.event(refused.clone());
    let actions = sim.drain();
    assert_eq!(error_toasts(&actions).len(), 1);
    let second = requests(&actions);
    assert_eq!(second[0].1, prompt("s1", "plan", &["second"]));
    // OpenCode repeats the error before the second prompt is even accepted.
    sim.event(refused);
    assert!(
        error_toasts(&sim.drain()).is_empty(),
        "the second relay is not blamed"
    );
    sim.outcome(second[0].0, Outcome::Done);
    sim.busy("s1");
    sim.idle("s1");
    assert!(sim.engine.is_quiet());
}

#[test]
fn a_summary_the_model_refused_is_reported_with_opencodes_error() {
    let mut sim = Sim::default();
    let summarize = summarizing(&mut sim);
    sim.busy("s1");
    sim.event(
        serde_json::json!({"type": "session.error", "properties": {"sessionID": "s1",
        "error": {"name": "APIError", "data": {"message": "Bad Request: summary refused"}}}}),
    );
    sim.outcome(summarize, Outcome::Done);
    sim.idle("s1");
    assert!(
        error_toasts(&sim.drain()).is_empty(),
        "not before OpenCode closed the turn"
    );
    sim.advance(3_000);
    let toasts = error_toasts(&sim.drain());
    assert_eq!(toasts.len(), 1);
    assert!(
        toasts[0].contains(
            "not compacted: OpenCode reported no session.compacted, so the summary was interrupted or failed; OpenCode reported: APIError: Bad Request: summary refused"
        ),
        "{}",
        toasts[0]
    );
}
