//! Simulations of requests that fail, time out or lose their session: every
//! accepted relay ends delivered or reported, never silently dropped.

mod sim;

use opencode_sessions_engine::{Action, LogLevel, Outcome, Request, ToastVariant};
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
    let toasts = error_toasts(&sim.drain());
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
    let toasts = error_toasts(&sim.drain());
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
    let send = single_request(&sim.drain_quiet(), |_| true);
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
