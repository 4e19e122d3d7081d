//! Simulations of the limits around hand-offs: options, permissions, the
//! ping-pong guard, interrupts, retries, child sessions and branch titles.

mod sim;

use opencode_sessions_engine::{
    Action, Cancelled, EngineConfig, EngineStats, FailureCause, LogLevel, Mode, Notice, Outcome,
    Refusal, Request, ToastVariant,
};
use sim::*;

fn config(edit: impl FnOnce(&mut EngineConfig)) -> EngineConfig {
    let mut config = EngineConfig::default();
    edit(&mut config);
    config
}

fn warnings(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Log {
                level: LogLevel::Warn,
                message,
            } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

// ---- options ----

#[test]
fn a_mode_turned_off_is_refused_at_once_and_names_the_modes_left() {
    let mut sim = Sim::with_config(config(|c| c.modes = vec![Mode::Message, Mode::Fork]));
    let call = sim.call("s1", "build", "compact", "x", None);
    let actions = sim.drain_quiet();
    let (ok, text) = reply_to(&actions, call);
    assert!(!ok && text.contains("\"compact\" is turned off") && text.contains("message, fork"));
    assert!(requests(&actions).is_empty());
    assert!(sim.engine.is_quiet());
}

#[test]
fn an_agent_outside_the_allowed_list_is_refused_before_permission_is_asked() {
    let mut sim = Sim::with_config(config(|c| c.agents = Some(vec!["plan".into()])));
    let (call, actions) = sim.call_listed("s1", "plan", "message", "x", Some("build"));
    let (ok, text) = reply_to(&actions, call);
    assert!(!ok && text.contains("\"build\" is not among the agents") && text.contains("plan"));
    assert!(requests(&actions).is_empty());
    let (call, actions) = sim.call_listed("s1", "build", "message", "x", Some("plan"));
    assert!(matches!(
        &requests(&actions)[..],
        [(_, Request::AskPermission { call: c, pattern })] if *c == call && pattern == "message → plan"
    ));
}

// ---- permissions ----

#[test]
fn a_refused_permission_sends_nothing_and_says_why() {
    let mut sim = Sim::default();
    sim.busy("s1");
    let (call, ask) = sim.call_asking("s1", "build", "fork", "x", Some("plan"));
    sim.outcome(
        ask,
        Outcome::failed(
            "The user has specified a rule which prevents you from using this specific tool call.",
        ),
    );
    let actions = sim.drain_quiet();
    let (ok, text) = reply_to(&actions, call);
    assert!(!ok, "{text}");
    assert!(text.starts_with(
        "Permission \"session\" refused \"fork → plan\": The user has specified a rule"
    ));
    assert!(requests(&actions).is_empty() && toasts(&actions).is_empty());
    assert!(sim.engine.is_quiet());
}

#[test]
fn an_unanswered_permission_prompt_gives_up_after_its_own_time_limit() {
    let mut sim = Sim::with_config(config(|c| c.permission_timeout_ms = 120_000));
    let (call, _) = sim.call_asking("s1", "build", "message", "x", Some("plan"));
    sim.advance(119_999);
    assert!(sim.drain_quiet().is_empty(), "a person may take their time");
    sim.advance(1);
    let actions = sim.drain_quiet();
    let (ok, text) = reply_to(&actions, call);
    assert!(!ok && text.contains("within 2 min"), "{text}");
    assert_eq!(toasts(&actions)[0].0, ToastVariant::Warning);
    assert_eq!(sim.engine.pending_relays("s1"), 0);
}

// ---- ping-pong guard ----

#[test]
fn hand_offs_past_max_hops_are_refused_until_a_person_writes() {
    let mut sim = Sim::with_config(config(|c| c.max_hops = 3));
    sim.busy("s1");
    sim.person_writes("s1");
    let agents = ["plan", "build", "plan"];
    for (hop, target) in agents.iter().enumerate() {
        let caller = if *target == "plan" { "build" } else { "plan" };
        let (call, actions) = sim.call_checked("s1", caller, "message", "go on", Some(target));
        assert!(reply_to(&actions, call).0, "hop {} is allowed", hop + 1);
        assert_eq!(sim.engine.hops("s1"), hop as u32 + 1);
        deliver_next(&mut sim, "s1");
    }
    // plan answers the third hand-off and tries a fourth.
    let (call, actions) = sim.call_listed("s1", "plan", "message", "again", Some("build"));
    let (ok, text) = reply_to(&actions, call);
    assert!(!ok && text.contains("limit maxHops = 3"), "{text}");
    let toasts = toasts(&actions);
    assert_eq!(toasts.len(), 1);
    assert_eq!(toasts[0].0, ToastVariant::Warning);
    assert!(
        requests(&actions).is_empty(),
        "not even permission is asked"
    );

    sim.idle("s1");
    assert!(requests(&sim.drain_quiet()).is_empty());
    // A person writes: the count starts over. Messages the plugin sent do not count as a person.
    sim.engine.handle_user_message("s1", true);
    assert_eq!(sim.engine.hops("s1"), 3);
    sim.person_writes("s1");
    assert_eq!(sim.engine.hops("s1"), 0);
    sim.busy("s1");
    let (call, actions) = sim.call_checked("s1", "build", "message", "next", Some("plan"));
    assert!(reply_to(&actions, call).0);
}

#[test]
fn branches_inherit_the_hop_count_so_chains_of_new_sessions_stop_too() {
    let mut sim = Sim::with_config(config(|c| c.max_hops = 2));
    let mut session = "s0".to_owned();
    for hop in 1..=2 {
        let parent_hops = sim.engine.hops(&session);
        let (call, actions) = sim.call_checked(&session, "build", "new", "next phase", None);
        let create = requests(&actions)[0].0;
        let branch = format!("s{hop}");
        sim.outcome(
            create,
            Outcome::Session {
                id: branch.clone(),
                title: "new · build · next phase".into(),
            },
        );
        let send = requests_but_renames(&sim.drain_quiet())[0].0;
        sim.outcome(send, Outcome::Done);
        assert!(reply_to(&sim.drain_quiet(), call).0);
        assert_eq!(sim.engine.hops(&branch), hop);
        assert_eq!(
            sim.engine.hops(&session),
            parent_hops,
            "a branch is not a hop of its parent"
        );
        session = branch;
    }
    let (call, actions) = sim.call_listed(&session, "build", "fork", "more", None);
    assert!(!reply_to(&actions, call).0);
}

// ---- interrupts ----

#[test]
fn an_interrupt_cancels_every_waiting_hand_off_and_says_which() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "message", "Review the diff", Some("plan"));
    sim.call_checked("s1", "build", "compact", "Write the tests", Some("build"));
    let undecided = sim.call("s1", "build", "message", "Ship it", Some("plan"));
    sim.drain();
    sim.interrupt("s1");
    let actions = sim.drain();
    let (ok, text) = reply_to(&actions, undecided);
    assert!(!ok && text.contains("interrupted"), "{text}");
    let said = notices(&actions);
    assert!(
        matches!(&said[..], [
            Notice::CallRefused { call, reason: Refusal::Interrupted, .. },
            Notice::HandOffsCancelled { session_id, items },
        ] if *call == undecided && session_id == "s1" && matches!(&items[..], [
            Cancelled::ToolCall { call: c, mode: Mode::Message, agent: a1, .. },
            Cancelled::Relay { mode: Mode::Message, agent: a2, text: t2, .. },
            Cancelled::Relay { mode: Mode::Compact, agent: a3, text: t3, .. },
        ] if *c == undecided && a1 == "plan" && a2 == "plan" && t2 == "Review the diff"
            && a3 == "build" && t3 == "Write the tests")),
        "{said:#?}"
    );
    let toasts = toasts(&actions);
    assert_eq!(toasts.len(), 1, "{toasts:#?}");
    let (variant, title, message) = &toasts[0];
    assert_eq!(*variant, ToastVariant::Warning);
    assert_eq!(title, "Interrupted: 3 hand-offs cancelled");
    for line in [
        "message → plan: \"Ship it\"",
        "→ plan: \"Review the diff\"",
        "→ build: \"Write the tests\"",
    ] {
        assert!(message.contains(line), "{message}");
    }
    // The idle edge that follows the interrupt delivers nothing, nor does a later turn.
    sim.idle("s1");
    sim.busy("s1");
    sim.idle("s1");
    assert!(requests(&sim.drain_quiet()).is_empty());
    assert!(sim.engine.is_quiet());
}

#[test]
fn an_interrupted_answer_keeps_its_relay_but_drops_what_it_queued() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "message", "review", Some("plan"));
    deliver_next(&mut sim, "s1");
    // plan answers and queues a hand-off back; the person interrupts plan.
    sim.call_checked("s1", "plan", "message", "fix it", Some("build"));
    sim.interrupt("s1");
    let actions = sim.drain();
    assert_eq!(toasts(&actions)[0].1, "Interrupted: 1 hand-off cancelled");
    sim.idle("s1");
    let actions = sim.drain();
    assert!(requests(&actions).is_empty());
    assert!(notices(&actions)
        .iter()
        .any(|n| matches!(n, Notice::RelayDelivered { agent, .. } if agent == "plan")));
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Log { message, .. } if message.contains("delivered"))));
    assert!(sim.engine.is_quiet());
}

#[test]
fn an_interrupted_compaction_is_cancelled_and_its_late_result_ignored() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "compact", "continue", Some("plan"));
    sim.idle("s1");
    let model = requests(&sim.drain_quiet())[0].0;
    sim.outcome(model, session_model());
    let summarize = requests(&sim.drain_quiet())[0].0;
    sim.busy("s1");
    sim.interrupt("s1");
    assert_eq!(
        toasts(&sim.drain())[0].1,
        "Interrupted: 1 hand-off cancelled"
    );
    assert!(
        !sim.outcome(summarize, Outcome::Done),
        "nobody waits for it any more"
    );
    sim.idle("s1");
    assert!(requests(&sim.drain_quiet()).is_empty());
    assert!(sim.engine.is_quiet());
}

// ---- retries ----

#[test]
fn a_request_that_cannot_reach_opencode_is_retried_with_growing_pauses_then_reported() {
    let mut sim = Sim::default();
    let call = sim.call("s1", "build", "message", "x", Some("plan"));
    let list = single_request(&sim.drain(), |r| matches!(r, Request::ListAgents));
    let refused = || Outcome::failed_with(FailureCause::Unreachable, "connect ECONNREFUSED");
    assert!(sim.outcome(list, refused()));
    let actions = sim.drain();
    assert!(requests(&actions).is_empty());
    assert!(warnings(&actions)[0].contains("attempt 2 of 3 in 500 ms"));
    assert!(
        !sim.outcome(list, default_agents()),
        "an answer arriving during the pause belongs to no attempt"
    );
    sim.advance(499);
    assert!(sim.drain().is_empty());
    sim.advance(1);
    let second = single_request(&sim.drain(), |r| matches!(r, Request::ListAgents));
    assert_ne!(second, list, "each attempt has an id of its own");
    sim.outcome(
        second,
        Outcome::failed_with(FailureCause::Unavailable, "HTTP 503"),
    );
    sim.advance(2_000);
    let third = single_request(&sim.drain(), |r| matches!(r, Request::ListAgents));
    assert!(
        !sim.outcome(second, default_agents()),
        "a late answer to the second attempt is not the third's"
    );
    sim.outcome(
        third,
        Outcome::failed_with(FailureCause::Unavailable, "HTTP 503"),
    );
    let actions = sim.drain();
    let (ok, text) = reply_to(&actions, call);
    assert!(!ok && text.contains("HTTP 503"), "{text}");
    assert_eq!(toasts(&actions)[0].0, ToastVariant::Error);
    assert!(actions.iter().any(|a| matches!(a, Action::Log { level: LogLevel::Warn, message } if message.contains("HTTP 503"))));
    assert!(sim.engine.is_quiet());
}

#[test]
fn a_retried_request_that_then_succeeds_carries_on_as_if_nothing_happened() {
    let mut sim = Sim::default();
    sim.busy("s1");
    let (call, actions) = sim.call_checked("s1", "build", "message", "x", Some("plan"));
    assert!(reply_to(&actions, call).0);
    sim.idle("s1");
    let send = requests(&sim.drain_quiet())[0].0;
    sim.outcome(
        send,
        Outcome::failed_with(FailureCause::Unreachable, "socket hang up"),
    );
    sim.advance(500);
    let again = requests(&sim.drain_quiet());
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].1, prompt("s1", "plan", &["x"]));
    sim.outcome(again[0].0, Outcome::Done);
    sim.busy("s1");
    sim.idle("s1");
    assert!(toasts(&sim.drain()).is_empty());
    assert!(sim.engine.is_quiet());
}

/// Drains as a host that takes each request ([`Sim::drain`] only reads them).
fn drain_taken(sim: &mut Sim) -> Vec<Action> {
    std::iter::from_fn(|| sim.engine.poll_action()).collect()
}

#[test]
fn a_request_is_tried_again_the_same_whether_the_host_read_or_took_it() {
    for drain in [Sim::drain, drain_taken] {
        let mut sim = Sim::default();
        sim.busy("s1");
        let (call, actions) = sim.call_checked("s1", "build", "message", "x", Some("plan"));
        assert!(reply_to(&actions, call).0);
        sim.event(status("s1", "idle"));
        let sent = requests(&drain(&mut sim));
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].1, prompt("s1", "plan", &["x"]));
        sim.outcome(
            sent[0].0,
            Outcome::failed_with(FailureCause::Unreachable, "socket hang up"),
        );
        sim.advance(500);
        let again = requests(&drain(&mut sim));
        assert_eq!(again.len(), 1);
        assert_ne!(again[0].0, sent[0].0);
        assert_eq!(again[0].1, sent[0].1, "the engine kept the request");
        sim.outcome(again[0].0, Outcome::Done);
        sim.busy("s1");
        sim.idle("s1");
        assert!(toasts(&drain(&mut sim)).is_empty());
        assert!(sim.engine.is_quiet());
    }
}

#[test]
fn a_request_whose_time_runs_out_before_the_host_took_it_is_still_tried_again() {
    let mut sim = Sim::default();
    sim.call("s1", "build", "new", "x", None);
    // Nothing is drained: the listing is still in the outbox when its time runs out.
    sim.advance(15_000);
    sim.advance(500);
    let actions = sim.drain();
    let lists: Vec<_> = requests(&actions)
        .into_iter()
        .filter(|(_, r)| matches!(r, Request::ListAgents))
        .collect();
    assert_eq!(lists.len(), 2, "the first attempt, then the second");
    assert_ne!(lists[0].0, lists[1].0);
    assert!(warnings(&actions)[0].contains("no answer after 15 s"));
    sim.outcome(lists[1].0, default_agents());
    let ask = single_request(&sim.drain(), |r| matches!(r, Request::AskPermission { .. }));
    sim.outcome(ask, Outcome::Done);
    let create = single_request(&sim.drain(), |r| matches!(r, Request::CreateSession { .. }));
    assert!(sim.outcome(
        create,
        Outcome::Session {
            id: "ses_new".into(),
            title: "t".into()
        }
    ));
}

#[test]
fn requests_that_may_have_taken_effect_are_not_sent_twice() {
    let mut sim = Sim::default();
    // A fork answered with a server error may exist: no retry, and the user is told.
    let (call, actions) = sim.call_checked("s1", "build", "fork", "x", None);
    let fork = requests(&actions)[0].0;
    sim.outcome(
        fork,
        Outcome::failed_with(FailureCause::Unavailable, "HTTP 502"),
    );
    let (ok, text) = reply_to(&sim.drain_quiet(), call);
    assert!(!ok && text.contains("HTTP 502"), "{text}");

    // A listing that timed out is harmless to repeat.
    let call = sim.call("s2", "build", "new", "x", None);
    sim.drain();
    sim.advance(15_000);
    let actions = sim.drain();
    assert!(warnings(&actions)[0].contains("no answer after 15 s"));
    sim.advance(500);
    let list = single_request(&sim.drain(), |r| matches!(r, Request::ListAgents));
    sim.outcome(list, default_agents());
    assert!(matches!(
        &requests(&sim.drain_quiet())[..],
        [(_, Request::AskPermission { call: c, .. })] if *c == call
    ));
}

// ---- child sessions ----

#[test]
fn a_subagent_task_cannot_queue_hand_offs_but_can_open_branches() {
    let mut sim = Sim::default();
    let (call, actions) = sim.call_listed("task1", "general", "message", "x", Some("plan"));
    let (ok, text) = reply_to(&actions, call);
    assert!(!ok && text.contains("inside a subagent task"), "{text}");
    let (call, actions) = sim.call_listed("task1", "general", "fork", "x", Some("plan"));
    assert!(matches!(
        &requests(&actions)[..],
        [(_, Request::AskPermission { call: c, .. })] if *c == call
    ));
}

#[test]
fn idle_edges_of_a_child_session_never_deliver_the_parents_relays() {
    let mut sim = Sim::default();
    sim.busy("parent");
    sim.call_checked("parent", "build", "message", "x", Some("plan"));
    // A subagent task runs in a child session while the parent's turn goes on.
    for _ in 0..3 {
        sim.busy("child");
        sim.idle("child");
    }
    assert!(requests(&sim.drain_quiet()).is_empty());
    assert_eq!(sim.engine.pending_relays("parent"), 1);
    assert_eq!(
        deliver_next(&mut sim, "parent"),
        prompt("parent", "plan", &["x"])
    );
}

// ---- branches ----

#[test]
fn a_branch_titled_before_its_sibling_arrived_is_renamed_with_the_new_count() {
    let mut sim = Sim::default();
    let (_, actions) = sim.call_checked("s1", "build", "fork", "Redux", None);
    sim.outcome(
        requests(&actions)[0].0,
        Outcome::Session {
            id: "f1".into(),
            title: "t (fork #1)".into(),
        },
    );
    assert_eq!(
        renames(&sim.drain_quiet()),
        [("f1".into(), "fork · build · Redux".into())]
    );
    let (_, actions) = sim.call_checked("s1", "build", "fork", "Zustand", None);
    assert_eq!(
        renames(&actions),
        [("f1".into(), "fork 1/2 · build · Redux".into())]
    );
    let fork = requests_but_renames(&actions)[0].0;
    sim.outcome(
        fork,
        Outcome::Session {
            id: "f2".into(),
            title: "t (fork #1)".into(),
        },
    );
    assert_eq!(
        renames(&sim.drain_quiet()),
        [("f2".into(), "fork 2/2 · build · Zustand".into())]
    );
}

#[test]
fn switch_to_shows_a_new_session_in_the_tui() {
    let mut sim = Sim::with_config(config(|c| c.switch_to = vec![Mode::New]));
    let (call, actions) = sim.call_checked("s1", "build", "new", "x", Some("plan"));
    sim.outcome(
        requests(&actions)[0].0,
        Outcome::Session {
            id: "n1".into(),
            title: "new · plan · x".into(),
        },
    );
    let send = requests(&sim.drain_quiet())[0].0;
    sim.outcome(send, Outcome::Done);
    let actions = sim.drain_quiet();
    assert_eq!(
        requests(&actions)
            .into_iter()
            .map(|(_, r)| r)
            .collect::<Vec<_>>(),
        [Request::SelectSession {
            session_id: "n1".into()
        }]
    );
    assert!(reply_to(&actions, call)
        .1
        .contains("The TUI switches to it"));
}

#[test]
fn deleting_every_session_leaves_the_engine_empty() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "message", "x", Some("plan"));
    deliver_next(&mut sim, "s1");
    sim.call_checked("s1", "plan", "fork", "y", None);
    sim.call_checked("s2", "build", "compact", "z", None);
    sim.person_writes("s3");
    let held = sim.engine.stats();
    assert_eq!(
        (held.relays_pending, held.sessions_remembered),
        (2, 2),
        "plan is answering s1's relay, s2's compact waits: {held:?}"
    );
    for session in ["s1", "s2", "s3"] {
        sim.deleted(session);
    }
    // The fork was already being made; its request ends by its time limit.
    sim.advance(15_000);
    sim.drain();
    assert!(sim.engine.is_empty(), "{:#?}", sim.engine);
    assert_eq!(sim.engine.stats(), EngineStats::default());
}

#[test]
fn an_interrupt_between_steps_cancels_too_though_opencode_reports_no_error() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "message", "never delivered", Some("plan"));
    // The tool step finished; the person stops the turn before the next step.
    let step = |finish: &str| {
        serde_json::json!({"type": "message.updated", "properties": {"info": {
            "role": "assistant", "sessionID": "s1", "finish": finish, "time": {"created": 1, "completed": 2}
        }}})
    };
    sim.event(step("tool-calls"));
    sim.idle("s1");
    let actions = sim.drain();
    assert!(requests(&actions).is_empty(), "{actions:#?}");
    assert_eq!(toasts(&actions)[0].1, "Interrupted: 1 hand-off cancelled");
    assert!(sim.engine.is_quiet());

    // A turn that ends normally after its tools delivers as before.
    sim.busy("s1");
    sim.call_checked("s1", "build", "message", "delivered", Some("plan"));
    sim.event(step("tool-calls"));
    sim.event(step("stop"));
    assert_eq!(
        deliver_next(&mut sim, "s1"),
        prompt("s1", "plan", &["delivered"])
    );
}

#[test]
fn a_model_error_after_the_tool_step_is_not_an_interrupt_and_the_hand_off_goes_out() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "message", "still wanted", Some("plan"));
    // OpenCode 1.18: the tool step completes, the next request to the model
    // fails with HTTP 400, `session.error` comes, then idle; only then is the
    // failed message recorded, and idle comes again. A prompt sent at the
    // first idle is recorded but never answered.
    sim.event(step("s1", Some("tool-calls"), None));
    sim.event(model_error("s1"));
    sim.idle("s1");
    let early = sim.drain();
    assert!(requests(&early).is_empty(), "{early:#?}");
    assert!(toasts(&early).is_empty(), "no interrupt: {early:#?}");
    sim.event(step("s1", None, Some("APIError")));
    sim.idle("s1");
    let sent = requests(&sim.drain_quiet());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, prompt("s1", "plan", &["still wanted"]));

    // Without the failed step recorded, the relay goes out after a short wait.
    sim.outcome(sent[0].0, Outcome::Done);
    sim.busy("s1");
    sim.call_checked("s1", "plan", "message", "back to build", Some("build"));
    sim.event(model_error("s1"));
    sim.idle("s1");
    assert!(requests(&sim.drain_quiet()).is_empty());
    sim.advance(2_999);
    assert!(requests(&sim.drain_quiet()).is_empty());
    sim.advance(1);
    let sent = requests(&sim.drain_quiet());
    assert_eq!(sent.len(), 1, "sent once the wait ran out");
    assert_eq!(sent[0].1, prompt("s1", "build", &["back to build"]));
}

#[test]
fn a_person_who_writes_after_a_failed_turn_goes_first() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "message", "waits its turn", Some("plan"));
    sim.event(model_error("s1"));
    sim.idle("s1");
    sim.drain();
    // The person's turn starts while the relay waits for the failed turn to close.
    sim.person_writes("s1");
    sim.busy("s1");
    sim.advance(5_000);
    assert!(
        requests(&sim.drain_quiet()).is_empty(),
        "not during the person's turn"
    );
    assert_eq!(
        deliver_next(&mut sim, "s1"),
        prompt("s1", "plan", &["waits its turn"])
    );
}

/// A completed assistant message: one step of the turn ended.
fn step(session: &str, finish: Option<&str>, error: Option<&str>) -> serde_json::Value {
    let mut info = serde_json::json!({
        "role": "assistant", "sessionID": session, "time": {"created": 1, "completed": 2}
    });
    if let Some(finish) = finish {
        info["finish"] = serde_json::json!(finish);
    }
    if let Some(error) = error {
        info["error"] = serde_json::json!({"name": error, "data": {"message": "model failed"}});
    }
    serde_json::json!({"type": "message.updated", "properties": {"info": info}})
}

/// The `session.error` of a model that answered HTTP 400.
fn model_error(session: &str) -> serde_json::Value {
    serde_json::json!({"type": "session.error", "properties": {"sessionID": session,
        "error": {"name": "APIError", "data": {"message": "model failed with 400"}}}})
}

#[test]
fn a_summary_waiting_to_be_retried_waits_for_a_failed_turn_to_close() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "compact", "after compaction", Some("plan"));
    sim.idle("s1");
    let read = requests(&sim.drain_quiet());
    sim.outcome(read[0].0, session_model());
    let summarize = requests(&sim.drain_quiet());
    sim.outcome(
        summarize[0].0,
        Outcome::Failed {
            message: "ECONNREFUSED".into(),
            cause: FailureCause::Unreachable,
        },
    );
    sim.drain();
    // A person's turn starts during the retry pause, and fails.
    sim.person_writes("s1");
    sim.busy("s1");
    sim.event(model_error("s1"));
    sim.idle("s1");
    assert!(requests(&sim.drain_quiet()).is_empty(), "not in the gap");
    sim.event(step("s1", None, Some("APIError")));
    sim.idle("s1");
    let sent = requests(&sim.drain_quiet());
    assert!(
        matches!(sent.as_slice(), [(_, Request::Summarize { .. })]),
        "{sent:#?}"
    );
}
