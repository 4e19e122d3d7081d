//! Simulations of each mode of the `session` tool, asserting the exact
//! requests the engine makes and what the calling agent is told.

mod sim;

use opencode_sessions_engine::{Action, Delivery, Notice, Outcome, Request, ToastVariant};
use sim::*;

#[test]
fn message_waits_for_the_turn_to_end_then_prompts_the_target_agent_once() {
    let mut sim = Sim::default();
    sim.busy("s1");
    let (call, actions) = sim.call_checked(
        "s1",
        "build",
        "message",
        "Review the auth module",
        Some("plan"),
    );
    let (ok, text) = reply_to(&actions, call);
    assert!(ok);
    assert!(
        text.starts_with("Queued as relay #") && text.contains(" for plan: when your turn ends"),
        "{text}"
    );
    assert!(
        requests(&actions).is_empty(),
        "nothing is sent while the turn runs"
    );
    assert_eq!(sim.engine.pending_relays("s1"), 1);

    // The calling turn ends: status idle, then session.idle for the same edge.
    sim.event(status("s1", "idle"));
    let sent = requests(&sim.drain_quiet());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, prompt("s1", "plan", &["Review the auth module"]));
    sim.event(serde_json::json!({"type": "session.idle", "properties": {"sessionID": "s1"}}));
    assert!(
        sim.drain_quiet().is_empty(),
        "the duplicate idle sends nothing"
    );

    assert!(sim.outcome(sent[0].0, Outcome::Done));
    sim.busy("s1");
    sim.idle("s1");
    let logs = sim.drain();
    assert!(
        matches!(&logs[..], [
            Action::Notice { notice },
            Action::Log { message, .. },
        ] if matches!(&**notice, Notice::RelayDelivered { agent, delivery: Delivery::Answered { .. }, .. } if agent == "plan")
            && message.contains("delivered")),
        "{logs:#?}"
    );
    assert!(sim.engine.is_quiet(), "nothing left once delivered");
}

#[test]
fn with_notices_turned_off_the_same_words_come_without_the_notices() {
    let words = |actions: &[Action]| -> Vec<Action> {
        actions
            .iter()
            .filter(|action| !matches!(action, Action::Notice { .. }))
            .cloned()
            .collect()
    };
    let run = |notices: bool| {
        let mut sim = Sim::default();
        sim.engine.handle_notices_wanted(notices);
        sim.busy("s1");
        let (_, mut actions) = sim.call_checked("s1", "build", "message", "Review", Some("plan"));
        // The idle edge: the prompt and the line saying the relay starts.
        sim.event(status("s1", "idle"));
        let edge = sim.drain();
        let sent = requests(&edge);
        actions.extend(edge);
        assert!(sim.outcome(sent[0].0, Outcome::Done));
        sim.busy("s1");
        sim.idle("s1");
        actions.extend(sim.drain());
        actions
    };
    let with = run(true);
    let without = run(false);
    assert!(!notices(&with).is_empty());
    assert!(notices(&without).is_empty(), "{without:#?}");
    assert!(
        without.iter().any(|action| matches!(action, Action::Log { message, .. } if message.contains(" starting in s1: message → plan"))),
        "{without:#?}"
    );
    assert_eq!(words(&with), without);

    // A compact relay's start also shows a toast.
    let compact_edge = |notices: bool| {
        let mut sim = Sim::default();
        sim.engine.handle_notices_wanted(notices);
        sim.busy("s1");
        sim.call_checked("s1", "build", "compact", "Review", Some("plan"));
        sim.event(status("s1", "idle"));
        sim.drain()
    };
    let with = compact_edge(true);
    let without = compact_edge(false);
    assert!(
        matches!(
            &without[..],
            [
                Action::Request { .. },
                Action::Toast { .. },
                Action::Log { .. }
            ]
        ),
        "{without:#?}"
    );
    assert_eq!(words(&with), without);
}

#[test]
fn several_messages_in_one_turn_are_delivered_in_order_each_after_the_previous_answer() {
    let mut sim = Sim::default();
    sim.busy("s1");
    let (first_call, first) = sim.call_checked("s1", "build", "message", "one", Some("plan"));
    let (second_call, second) = sim.call_checked("s1", "build", "message", "two", None);
    let (third_call, third) = sim.call_checked("s1", "build", "message", "three", Some("plan"));
    assert!(reply_to(&first, first_call).0);
    assert!(reply_to(&second, second_call)
        .1
        .contains("after 1 earlier hand-off"));
    assert!(reply_to(&third, third_call)
        .1
        .contains("after 2 earlier hand-offs"));

    let mut delivered = Vec::new();
    sim.idle("s1");
    for _ in 0..3 {
        let sent = requests(&sim.drain_quiet());
        assert_eq!(sent.len(), 1, "one relay at a time: {sent:#?}");
        delivered.push(sent[0].1.clone());
        sim.outcome(sent[0].0, Outcome::Done);
        sim.busy("s1");
        assert!(
            requests(&sim.drain_quiet()).is_empty(),
            "nothing while the answer runs"
        );
        sim.idle("s1");
    }
    assert_eq!(
        delivered,
        [
            prompt("s1", "plan", &["one"]),
            prompt("s1", "build", &["two"]),
            prompt("s1", "plan", &["three"]),
        ]
    );
    assert!(sim.engine.is_quiet());
}

#[test]
fn an_answer_that_ends_before_the_prompt_is_acknowledged_still_counts_once() {
    let mut sim = Sim::default();
    sim.call_checked("s1", "build", "message", "one", Some("plan"));
    sim.call_checked("s1", "build", "message", "two", Some("plan"));
    sim.idle("s1");
    let first = requests(&sim.drain_quiet());
    // A fast model: the whole answer runs before the HTTP 204 is processed.
    sim.busy("s1");
    sim.idle("s1");
    let second = requests(&sim.drain_quiet());
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].1, prompt("s1", "plan", &["two"]));
    assert!(
        !sim.outcome(first[0].0, Outcome::Done),
        "the late 204 is recognised as late"
    );
    assert!(sim.drain_quiet().is_empty());
}

#[test]
fn new_creates_a_titled_session_prompts_it_and_returns_without_waiting_for_the_answer() {
    let mut sim = Sim::default();
    let (call, actions) = sim.call_checked(
        "s1",
        "build",
        "new",
        "Research rate limiting\nin depth",
        Some("plan"),
    );
    let create = single_request(&actions, |r| {
        *r == Request::CreateSession {
            title: "new · plan · Research rate limiting".into(),
        }
    });
    sim.outcome(
        create,
        Outcome::Session {
            id: "s2".into(),
            title: "new · plan · Research rate limiting".into(),
        },
    );
    let actions = sim.drain_quiet();
    let send = single_request(&actions, |r| {
        *r == prompt("s2", "plan", &["Research rate limiting\nin depth"])
    });
    sim.outcome(send, Outcome::Done);
    let (ok, text) = reply_to(&sim.drain_quiet(), call);
    assert!(ok);
    assert!(
        text.contains("s2") && text.contains("\"new · plan · Research rate limiting\""),
        "{text}"
    );
    assert_eq!(
        sim.engine.pending_relays("s1"),
        0,
        "new never queues in the caller's session"
    );
    sim.idle("s1");
    assert_eq!(sim.engine.pending_tool_calls(), 0);
}

#[test]
fn fork_copies_history_up_to_the_calling_message_and_prompts_the_fork() {
    let mut sim = Sim::default();
    let (call, actions) = sim.call_checked("s1", "build", "fork", "Implement using Redux", None);
    let message_id = format!("msg_s1_{}", sim.now);
    let fork = single_request(&actions, |r| {
        *r == Request::ForkSession {
            session_id: "s1".into(),
            message_id: message_id.clone(),
        }
    });
    sim.outcome(
        fork,
        Outcome::Session {
            id: "s9".into(),
            title: "t (fork #1)".into(),
        },
    );
    let actions = sim.drain_quiet();
    assert_eq!(
        renames(&actions),
        [("s9".into(), "fork · build · Implement using Redux".into())],
        "OpenCode's \"(fork #1)\" title is replaced"
    );
    let send = requests_but_renames(&actions)[0].0;
    assert_eq!(
        requests_but_renames(&actions),
        [(send, prompt("s9", "build", &["Implement using Redux"]))]
    );
    sim.outcome(send, Outcome::Done);
    let (ok, text) = reply_to(&sim.drain_quiet(), call);
    assert!(
        ok && text.starts_with("Forked this session into s9"),
        "{text}"
    );
}

#[test]
fn three_forks_in_one_turn_run_concurrently_and_each_gets_its_own_reply() {
    let mut sim = Sim::default();
    let calls: Vec<_> = ["Redux", "Context API", "Zustand"]
        .iter()
        .map(|t| sim.call("s1", "build", "fork", t, None))
        .collect();
    // All three agent checks are in flight at once.
    let lists = requests(&sim.drain_quiet());
    assert_eq!(lists.len(), 3);
    for (id, _) in &lists {
        sim.outcome(*id, default_agents());
    }
    let asks = requests(&sim.drain_quiet());
    assert_eq!(asks.len(), 3, "three permission requests at once");
    for (id, _) in &asks {
        sim.outcome(*id, Outcome::Done);
    }
    let forks = requests(&sim.drain_quiet());
    assert_eq!(forks.len(), 3, "three forks requested before any finished");
    // Forks finish in reverse order.
    for (n, (id, _)) in forks.iter().enumerate().rev() {
        sim.outcome(
            *id,
            Outcome::Session {
                id: format!("f{n}"),
                title: format!("fork {n}"),
            },
        );
    }
    let actions = sim.drain_quiet();
    assert_eq!(
        renames(&actions),
        [
            ("f2".into(), "fork 3/3 · build · Zustand".into()),
            ("f1".into(), "fork 2/3 · build · Context API".into()),
            ("f0".into(), "fork 1/3 · build · Redux".into()),
        ],
        "each fork is told apart by its number"
    );
    for (id, request) in requests(&actions) {
        if matches!(request, Request::RenameSession { .. }) {
            sim.outcome(id, Outcome::Done);
        }
    }
    let prompts = requests_but_renames(&actions);
    let targets: Vec<_> = prompts.iter().map(|(_, r)| r.clone()).collect();
    assert_eq!(
        targets,
        [
            prompt("f2", "build", &["Zustand"]),
            prompt("f1", "build", &["Context API"]),
            prompt("f0", "build", &["Redux"]),
        ]
    );
    for (id, _) in &prompts {
        sim.outcome(*id, Outcome::Done);
    }
    let replies = sim.drain_quiet();
    for (n, call) in calls.iter().enumerate() {
        let (ok, text) = reply_to(&replies, *call);
        assert!(ok && text.contains(&format!("f{n}")), "{text}");
    }
    sim.idle("s1");
    assert_eq!(sim.engine.pending_tool_calls(), 0);
}

#[test]
fn compact_summarizes_with_the_sessions_model_then_hands_over_with_a_note() {
    let mut sim = Sim::default();
    sim.busy("s1");
    let (call, actions) = sim.call_checked(
        "s1",
        "build",
        "compact",
        "Review the architecture",
        Some("plan"),
    );
    assert!(reply_to(&actions, call)
        .1
        .contains(": when your turn ends, this session is summarized"));

    sim.idle("s1");
    let actions = sim.drain_quiet();
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::Toast {
            variant: ToastVariant::Info,
            ..
        }
    )));
    let read = single_request(&actions, |r| {
        *r == Request::LastUserModel {
            session_id: "s1".into(),
        }
    });
    sim.outcome(
        read,
        Outcome::Model {
            provider_id: "mock".into(),
            model_id: "m1".into(),
        },
    );
    let summarize = single_request(&sim.drain_quiet(), |r| {
        *r == Request::Summarize {
            session_id: "s1".into(),
            provider_id: "mock".into(),
            model_id: "m1".into(),
        }
    });

    // The order OpenCode was seen to use: busy, compacted, busy, idle, then the HTTP answer.
    sim.busy("s1");
    sim.compacted("s1");
    sim.busy("s1");
    assert!(
        sim.drain_quiet().is_empty(),
        "nothing before the session is idle again"
    );
    sim.idle("s1");
    assert!(
        sim.drain_quiet().is_empty(),
        "nothing before summarize returned"
    );
    sim.outcome(summarize, Outcome::Done);
    let sent = requests(&sim.drain_quiet());
    assert_eq!(
        sent.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
        [prompt(
            "s1",
            "plan",
            &[
                "[Session compacted — build handed over to plan]",
                "Review the architecture"
            ]
        )]
    );
    sim.outcome(sent[0].0, Outcome::Done);
    sim.busy("s1");
    sim.idle("s1");
    assert!(sim.engine.is_quiet());
}

#[test]
fn compact_waits_for_the_compacted_event_and_idle_when_summarize_returns_first() {
    let mut sim = Sim::default();
    sim.call_checked("s1", "build", "compact", "go on", None);
    sim.idle("s1");
    let read = single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::LastUserModel { .. })
    });
    sim.outcome(read, session_model());
    let summarize = single_request(&sim.drain_quiet(), |_| true);
    sim.busy("s1");
    sim.outcome(summarize, Outcome::Done);
    assert!(
        sim.drain_quiet().is_empty(),
        "summarize returned but no session.compacted yet"
    );
    sim.compacted("s1");
    assert!(sim.drain_quiet().is_empty(), "compacted but still busy");
    sim.idle("s1");
    let sent = requests(&sim.drain_quiet());
    assert_eq!(
        sent.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
        [prompt(
            "s1",
            "build",
            &[
                "[Session compacted at build's request — build continues]",
                "go on"
            ]
        )]
    );
}

#[test]
fn an_agent_that_cannot_answer_is_refused_with_the_reason_and_the_agents_that_can() {
    let mut sim = Sim::default();
    for (mode, target, reason) in [
        ("message", "reviewer", "is not an agent of this project"),
        (
            "fork",
            "general",
            "is a subagent: subagents run only inside a task, not as the agent of a session",
        ),
        ("new", "title", "is one of OpenCode's internal agents"),
    ] {
        let (call, actions) = sim.call_listed("s1", "build", mode, "x", Some(target));
        let (ok, text) = reply_to(&actions, call);
        assert!(!ok);
        assert_eq!(
            text,
            format!("Agent \"{target}\" {reason}. Agents that can answer: build, plan. Nothing was sent.")
        );
        assert!(requests(&actions).is_empty());
    }
    assert!(sim.engine.is_quiet());
    sim.idle("s1");
    assert!(sim.drain_quiet().is_empty());
}

#[test]
fn idle_events_of_other_sessions_deliver_nothing() {
    let mut sim = Sim::default();
    sim.call_checked("s1", "build", "message", "x", Some("plan"));
    sim.busy("s2");
    sim.idle("s2");
    assert!(sim.drain_quiet().is_empty());
    assert_eq!(sim.engine.pending_relays("s1"), 1);
}

#[test]
fn a_hand_off_made_while_answering_a_relay_is_next_and_says_so() {
    let mut sim = Sim::default();
    sim.call_checked("s1", "build", "message", "review", Some("plan"));
    sim.idle("s1");
    let sent = requests(&sim.drain_quiet());
    sim.outcome(sent[0].0, Outcome::Done);
    sim.busy("s1");
    // plan, answering, hands back to build.
    let (call, actions) = sim.call_checked("s1", "plan", "message", "fix it", Some("build"));
    assert_eq!(
        reply_to(&actions, call).1,
        "Queued as relay #10 for build: when your turn ends, your text arrives in this session as a user message and build answers it. End your turn now; the reply will not come back to you inside this turn."
    );
    sim.idle("s1");
    let sent = requests(&sim.drain_quiet());
    assert_eq!(
        sent.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
        [prompt("s1", "build", &["fix it"])]
    );
}
