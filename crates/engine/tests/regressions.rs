//! Simulations of races between retries, turns, deletions and interrupts:
//! each pins down an order of events that once went wrong.

mod sim;

use opencode_sessions_engine::{
    Action, Activity, CallFailure, Certainty, Delivery, EngineConfig, FailureCause, Notice,
    Outcome, RelayFailure, Request, RequestError, ToastVariant,
};
use sim::*;

/// A late answer to a timed-out attempt is not taken for the retry's.
#[test]
fn late_answer_of_a_timed_out_attempt_is_not_taken_for_the_retry() {
    let mut sim = Sim::default();
    sim.call("s1", "build", "message", "x", Some("plan"));
    let first = single_request(&sim.drain(), |r| matches!(r, Request::ListAgents));
    sim.advance(15_000); // the engine gives up on attempt 1 and schedules attempt 2
    sim.drain();
    sim.advance(500);
    let second = single_request(&sim.drain(), |r| matches!(r, Request::ListAgents));
    // The shell aborts attempt 1 a moment later and reports it.
    let stale = Outcome::failed_with(FailureCause::Unavailable, "timed out");
    assert!(!sim.outcome(first, stale), "attempt 1's outcome is stale");
    assert!(
        sim.outcome(second, default_agents()),
        "attempt 2's answer counts"
    );
    assert!(matches!(
        &requests(&sim.drain_quiet())[..],
        [(_, Request::AskPermission { .. })]
    ));
}

/// A relay prompt waiting out its retry pause never reached OpenCode: when a
/// person starts a turn meanwhile, the relay goes out again at its end.
#[test]
fn a_relay_prompt_waiting_to_be_retried_is_not_lost_when_a_person_starts_a_turn() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "message", "review this", Some("plan"));
    sim.idle("s1");
    let send = requests(&sim.drain_quiet())[0].0;
    // never reached OpenCode: the engine will try again in 500 ms
    sim.outcome(
        send,
        Outcome::failed_with(FailureCause::Unreachable, "ECONNREFUSED"),
    );
    sim.drain();
    // meanwhile the person types a message: their own turn starts
    sim.person_writes("s1");
    sim.busy("s1");
    sim.advance(3_000);
    sim.idle("s1");
    let actions = sim.drain();
    let resent = requests(&actions)
        .iter()
        .any(|(_, r)| matches!(r, Request::Prompt { .. }));
    let said = notices(&actions);
    let reported = said.iter().any(|n| matches!(n, Notice::RelayFailed { .. }));
    assert_eq!(
        reported,
        toasts(&actions).iter().any(|t| t.0 == ToastVariant::Error)
    );
    let logged_delivered = said
        .iter()
        .any(|n| matches!(n, Notice::RelayDelivered { session_id, .. } if session_id == "s1"));
    assert!(
        resent || reported,
        "relay neither re-sent nor reported; logged as delivered: {logged_delivered}; {actions:#?}"
    );
}

/// A `new` call still asking permission when its session is deleted ends
/// there: no branch is opened for a deleted session and nothing is left behind.
#[test]
fn deleting_the_calling_session_during_the_permission_prompt_leaves_nothing_behind() {
    let mut sim = Sim::default();
    sim.busy("s1");
    let (call, ask) = sim.call_asking("s1", "build", "new", "x", Some("plan"));
    sim.deleted("s1");
    let (ok, text) = reply_to(&sim.drain_quiet(), call);
    assert!(!ok && text.contains("deleted"), "{text}");
    assert!(!sim.outcome(ask, Outcome::Done));
    assert!(requests(&sim.drain()).is_empty());
    assert!(sim.engine.is_empty(), "{:#?}", sim.engine);
}

/// An interrupt cancels what the interrupted turn queued; a relay queued by an
/// earlier turn, still waiting behind the one being answered, stays.
#[test]
fn interrupting_a_relay_answer_keeps_relays_queued_by_earlier_turns() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "message", "first", Some("plan"));
    sim.call_checked("s1", "build", "message", "second", Some("plan"));
    deliver_next(&mut sim, "s1"); // plan answers "first"; "second" waits
    sim.interrupt("s1"); // the person interrupts plan's answer, which queued nothing
    let actions = sim.drain();
    assert!(
        toasts(&actions).is_empty() && sim.engine.pending_relays("s1") == 2,
        "{:#?}",
        toasts(&actions)
    );
}

/// A rename retried after a newer rename of the same session is dropped,
/// so the outdated title never comes back.
#[test]
fn a_retried_rename_never_overwrites_a_newer_title() {
    let mut sim = Sim::default();
    let (_, actions) = sim.call_checked("s1", "build", "fork", "Redux", None);
    sim.outcome(
        requests(&actions)[0].0,
        Outcome::Session {
            id: "f1".into(),
            title: "t (fork #1)".into(),
        },
    );
    let first = requests(&sim.drain_quiet());
    let (rename1, _) = first
        .iter()
        .find(|(_, r)| matches!(r, Request::RenameSession { .. }))
        .unwrap()
        .clone();
    sim.outcome(
        rename1,
        Outcome::failed_with(FailureCause::Unavailable, "HTTP 503"),
    );
    // a sibling fork of the same turn arrives: f1 is renamed to "1/2", which lands
    let (_, actions) = sim.call_checked("s1", "build", "fork", "Zustand", None);
    let newer: Vec<_> = requests(&actions)
        .into_iter()
        .filter(|(_, r)| matches!(r, Request::RenameSession { .. }))
        .collect();
    assert_eq!(newer.len(), 1);
    sim.outcome(newer[0].0, Outcome::Done);
    sim.advance(500);
    let later = renames(&sim.drain_quiet());
    assert!(
        later
            .iter()
            .all(|(_, title)| title != "fork · build · Redux"),
        "outdated title re-sent after the newer one landed: {later:?}"
    );
}

/// A server error on a fork may hide a fork that was made (which is why it is
/// not retried), so the user is told it may exist.
#[test]
fn a_server_error_on_a_fork_does_not_claim_the_fork_was_not_made() {
    let mut sim = Sim::default();
    let (call, actions) = sim.call_checked("s1", "build", "fork", "x", None);
    sim.outcome(
        requests(&actions)[0].0,
        Outcome::failed_with(FailureCause::Unavailable, "HTTP 502"),
    );
    let actions = sim.drain_quiet();
    assert!(matches!(
        &notices(&actions)[..],
        [Notice::CallFailed {
            call: c,
            failure: CallFailure::BranchNotStarted {
                error: RequestError::Failed { message }
            },
            certainty: Certainty::Uncertain,
            ..
        }] if *c == call && message == "HTTP 502"
    ));
    let (_, text) = reply_to(&actions, call);
    assert!(text.contains("may"), "{text}");
}

/// A compaction's summary waits while a person's turn runs in the session.
#[test]
fn summarize_is_not_sent_while_the_session_is_busy() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "compact", "go on", Some("plan"));
    sim.idle("s1");
    let model = requests(&sim.drain_quiet())[0].0;
    sim.person_writes("s1");
    sim.busy("s1");
    sim.outcome(model, session_model());
    let sent = requests(&sim.drain_quiet());
    assert!(
        !sent
            .iter()
            .any(|(_, r)| matches!(r, Request::Summarize { .. })),
        "summarize sent while busy: {sent:#?}"
    );
}

/// A relay that timed out before its prompt was sent was certainly not delivered.
#[test]
fn a_timeout_before_the_prompt_says_the_relay_was_not_delivered() {
    let mut sim = Sim::with_config(EngineConfig {
        summarize_timeout_ms: 60_000,
        ..Default::default()
    });
    sim.busy("s1");
    sim.call_checked("s1", "build", "compact", "go on", Some("plan"));
    sim.idle("s1");
    let model = requests(&sim.drain_quiet())[0].0;
    sim.outcome(model, session_model());
    sim.drain();
    sim.advance(60_000);
    let actions = sim.drain();
    assert!(
        matches!(
            &notices(&actions)[..],
            [Notice::RelayFailed {
                reason: RelayFailure::TimedOut {
                    error: RequestError::TimedOut {
                        seconds: 60,
                        activity: Activity::Summarizing
                    }
                },
                certainty: Certainty::Definite,
                ..
            }]
        ),
        "{actions:#?}"
    );
    let t = toasts(&actions);
    assert!(
        t.iter()
            .all(|(_, _, m)| !m.contains("may not have been delivered")),
        "{t:#?}"
    );
}

#[test]
fn concurrent_calls_in_one_turn_do_not_exceed_max_hops() {
    let mut sim = Sim::with_config(EngineConfig {
        max_hops: 2,
        ..Default::default()
    });
    sim.busy("s1");
    sim.person_writes("s1");
    let (_, a) = sim.call_asking("s1", "build", "message", "a", Some("plan"));
    let (_, b) = sim.call_asking("s1", "build", "message", "b", Some("plan"));
    let (_, c) = sim.call_asking("s1", "build", "compact", "c", Some("plan"));
    for ask in [a, b, c] {
        sim.outcome(ask, Outcome::Done);
    }
    sim.drain();
    assert_eq!(sim.engine.hops("s1"), 2);
    assert_eq!(sim.engine.pending_relays("s1"), 2);
}

/// A fork whose calling session is deleted while the fork is being made runs
/// on, but is not followed: nothing is kept for the deleted parent.
#[test]
fn a_branch_opened_for_a_deleted_session_leaves_nothing_behind() {
    let mut sim = Sim::default();
    sim.busy("s1");
    let (_, actions) = sim.call_checked("s1", "build", "fork", "x", None);
    let fork = single_request(&actions, |r| matches!(r, Request::ForkSession { .. }));
    sim.deleted("s1");
    sim.outcome(
        fork,
        Outcome::Session {
            id: "f1".into(),
            title: "t".into(),
        },
    );
    // the fork's rename and prompt land
    for (id, _) in requests(&sim.drain_quiet()) {
        sim.outcome(id, Outcome::Done);
    }
    sim.busy("f1");
    sim.idle("f1");
    for (id, _) in requests(&sim.drain_quiet()) {
        sim.outcome(id, Outcome::Done);
    }
    sim.deleted("f1");
    sim.drain();
    assert!(sim.engine.is_empty(), "{:#?}", sim.engine);
}

/// A session deleted while the agent answers a relay: the text arrived, so
/// the relay is not reported as undelivered.
#[test]
fn deleting_a_session_while_a_relay_is_answered_does_not_call_it_undelivered() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "message", "review", Some("plan"));
    deliver_next(&mut sim, "s1"); // plan is answering
    sim.deleted("s1");
    let actions = sim.drain();
    assert!(toasts(&actions).is_empty(), "{:#?}", toasts(&actions));
    assert!(matches!(
        &notices(&actions)[..],
        [Notice::RelayDelivered {
            session_id,
            agent,
            delivery: Delivery::AnsweringWhenDeleted,
            ..
        }] if session_id == "s1" && agent == "plan"
    ));
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Log { message, .. } if message.contains("delivered in s1"))));
    assert!(sim.engine.is_empty(), "{:#?}", sim.engine);
}

/// A branch session deleted while OpenCode confirms its prompt is not
/// followed: nothing is kept for it.
#[test]
fn a_branch_deleted_while_its_prompt_is_confirmed_leaves_nothing_behind() {
    let mut sim = Sim::default();
    sim.busy("s1");
    let (_, actions) = sim.call_checked("s1", "build", "fork", "x", None);
    let fork = single_request(&actions, |r| matches!(r, Request::ForkSession { .. }));
    sim.outcome(
        fork,
        Outcome::Session {
            id: "f1".into(),
            title: "t".into(),
        },
    );
    let sent = requests(&sim.drain_quiet());
    sim.deleted("f1");
    // the prompt had landed; its answer arrives after the deletion
    for (id, _) in sent {
        sim.outcome(id, Outcome::Done);
    }
    sim.idle("s1");
    for (id, _) in requests(&sim.drain_quiet()) {
        sim.outcome(id, Outcome::Done);
    }
    sim.deleted("s1");
    sim.drain();
    assert!(sim.engine.is_empty(), "{:#?}", sim.engine);
}

/// An attempt that timed out and was tried again is forgotten even when no
/// outcome ever comes for it.
#[test]
fn a_retried_attempt_that_never_gets_an_answer_is_forgotten() {
    let mut sim = Sim::default();
    sim.busy("s1");
    let call = sim.call("s1", "build", "message", "x", Some("plan"));
    sim.drain();
    sim.advance(15_000); // attempt 1 times out; attempt 2 follows after 500 ms
    sim.advance(500);
    let second = single_request(&sim.drain(), |r| matches!(r, Request::ListAgents));
    sim.advance(15_000); // attempt 2 times out too and is never answered
    sim.advance(2_000);
    let third = single_request(&sim.drain(), |r| matches!(r, Request::ListAgents));
    assert_ne!(second, third);
    sim.outcome(third, Outcome::failed("HTTP 400"));
    let (ok, _) = reply_to(&sim.drain_quiet(), call);
    assert!(!ok);
    sim.idle("s1");
    sim.drain();
    assert!(sim.engine.is_quiet(), "{:#?}", sim.engine);
    assert!(
        !sim.outcome(second, default_agents()),
        "attempt 2 no longer counts"
    );
}

/// A summarize request waiting to be retried never reached OpenCode: when a
/// person starts a turn meanwhile, it waits for that turn to end.
#[test]
fn a_summary_waiting_to_be_retried_is_not_sent_into_a_turn_a_person_started() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "compact", "go on", None);
    sim.idle("s1");
    let model = requests(&sim.drain_quiet())[0].0;
    sim.outcome(model, session_model());
    let summarize = single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::Summarize { .. })
    });
    sim.outcome(
        summarize,
        Outcome::failed_with(FailureCause::Unreachable, "ECONNREFUSED"),
    );
    sim.drain();
    sim.person_writes("s1");
    sim.busy("s1");
    sim.advance(3_000);
    assert!(
        requests(&sim.drain_quiet()).is_empty(),
        "nothing sent while the person's turn runs"
    );
    sim.idle("s1");
    assert!(matches!(
        &requests(&sim.drain_quiet())[..],
        [(_, Request::Summarize { .. })]
    ));
}
