//! Simulations of a host that ends with the calling turn (OpenCode's `run`,
//! which exits at its session's first idle): hand-offs go out through
//! `handle_turn_ending` inside the turn, and branch calls return with their
//! branch's report.

mod sim;

use opencode_sessions_engine::{Action, EngineConfig, Notice, Outcome, Request, ToolCallId};
use sim::*;

/// A sim of a host that ends with the turn, its session `s1` busy.
fn run_host() -> Sim {
    let mut sim = Sim::default();
    sim.engine.handle_host_ends_with_turn();
    sim.busy("s1");
    sim
}

fn turn_ending(sim: &mut Sim, session: &str, step: &str) -> Vec<Action> {
    sim.engine.handle_turn_ending(sim.now, session, step);
    sim.drain_quiet()
}

#[test]
fn a_message_goes_out_as_the_turn_ends_and_its_answer_ends_at_the_next_turn_end() {
    let mut sim = run_host();
    let (call, actions) = sim.call_checked("s1", "build", "message", "Review it", Some("plan"));
    let (ok, text) = reply_to(&actions, call);
    assert!(ok);
    assert!(
        text.contains("this OpenCode (`opencode run`) exits when your turn ends")
            && text.contains("a turn that ends without a written reply cannot hand over"),
        "the result says how the hand-off goes out, and what it needs: {text}"
    );
    assert!(matches!(
        &notices(&actions)[..],
        [Notice::RelayQueued {
            within_turn: true,
            ..
        }]
    ));

    let sent = requests(&turn_ending(&mut sim, "s1", "step-2"));
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].1, prompt("s1", "plan", &["Review it"]));
    assert!(
        turn_ending(&mut sim, "s1", "step-2").is_empty(),
        "a second text of the same step ends nothing"
    );
    sim.outcome(sent[0].0, Outcome::Done);
    assert!(sim.drain_quiet().is_empty());

    // No busy edge comes (the session never went idle): the answer is not
    // given up on while plan answers.
    sim.advance(60_000);
    assert!(sim.drain_quiet().is_empty(), "nothing times out");
    assert_eq!(sim.engine.pending_relays("s1"), 1);

    let actions = turn_ending(&mut sim, "s1", "step-3");
    assert!(
        matches!(&notices(&actions)[..], [Notice::RelayDelivered { agent, .. }] if agent == "plan"),
        "{actions:#?}"
    );
    assert!(requests(&actions).is_empty());
    assert!(sim.engine.is_quiet());
}

#[test]
fn a_chain_build_plan_build_runs_within_one_turn() {
    let mut sim = run_host();
    sim.call_checked("s1", "build", "message", "to plan", Some("plan"));
    let sent = requests(&turn_ending(&mut sim, "s1", "step-2"));
    assert_eq!(sent[0].1, prompt("s1", "plan", &["to plan"]));
    sim.outcome(sent[0].0, Outcome::Done);

    // plan, answering, hands back before its own text ends the turn.
    sim.call_checked("s1", "plan", "message", "to build", Some("build"));
    let actions = turn_ending(&mut sim, "s1", "step-4");
    assert!(matches!(
        &notices(&actions)[..],
        [Notice::RelayDelivered { agent, .. }, Notice::RelayStarted { .. }] if agent == "plan"
    ));
    let sent = requests(&actions);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, prompt("s1", "build", &["to build"]));
    sim.outcome(sent[0].0, Outcome::Done);
    assert_eq!(sim.engine.hops("s1"), 2);

    let actions = turn_ending(&mut sim, "s1", "step-5");
    assert!(matches!(
        &notices(&actions)[..],
        [Notice::RelayDelivered { agent, .. }] if agent == "build"
    ));
    assert!(sim.engine.is_quiet());
}

#[test]
fn a_compact_summarizes_within_the_turn_and_sends_its_text_after_the_summary() {
    let mut sim = run_host();
    let (call, actions) = sim.call_checked("s1", "build", "compact", "Go on", Some("plan"));
    assert!(reply_to(&actions, call)
        .1
        .contains("this session is summarized"));

    let read = single_request(&turn_ending(&mut sim, "s1", "step-2"), |r| {
        matches!(r, Request::LastUserModel { .. })
    });
    sim.outcome(read, session_model());
    // The session is busy, but its turn waits for the summary to be stored.
    let summarize = single_request(
        &sim.drain_quiet(),
        |r| matches!(r, Request::Summarize { session_id, .. } if session_id == "s1"),
    );
    sim.outcome(summarize, Outcome::Done);
    assert!(sim.drain_quiet().is_empty());

    // The summary is written while the turn goes on; that takes longer
    // than a request may.
    sim.advance(30_000);
    assert!(
        sim.drain_quiet().is_empty(),
        "the summary may take its time"
    );

    // The summary's own text ends its step: the relay's text goes next.
    let sent = requests(&turn_ending(&mut sim, "s1", "summary"));
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert!(
        matches!(&sent[0].1, Request::Prompt { agent, parts, .. }
            if agent == "plan" && parts.len() == 2 && parts[1] == "Go on"),
        "{sent:#?}"
    );
    sim.outcome(sent[0].0, Outcome::Done);
    sim.compacted("s1");
    assert!(sim.drain_quiet().is_empty());

    let actions = turn_ending(&mut sim, "s1", "step-4");
    assert!(matches!(
        &notices(&actions)[..],
        [Notice::RelayDelivered { agent, .. }] if agent == "plan"
    ));
    assert!(sim.engine.is_quiet());
}

#[test]
fn a_fork_call_returns_with_its_branch_report_once_the_branch_answered() {
    let mut sim = run_host();
    let (call, actions) = sim.call_checked("s1", "build", "fork", "Try A", Some("plan"));
    let fork = single_request(&actions, |r| matches!(r, Request::ForkSession { .. }));
    sim.outcome(
        fork,
        Outcome::Session {
            id: "s9".into(),
            title: "t (fork #1)".into(),
        },
    );
    let send = requests_but_renames(&sim.drain_quiet())[0].0;
    sim.outcome(send, Outcome::Done);
    let actions = sim.drain_quiet();
    assert!(
        actions
            .iter()
            .all(|a| !matches!(a, Action::ReplyToTool { .. })),
        "the call waits for the branch: {actions:#?}"
    );
    assert!(matches!(
        &notices(&actions)[..],
        [Notice::BranchStarted {
            answer_follows: true,
            ..
        }]
    ));

    sim.busy("s9");
    sim.idle("s9");
    let read = single_request(
        &sim.drain_quiet(),
        |r| matches!(r, Request::LastAnswer { session_id } if session_id == "s9"),
    );
    sim.outcome(
        read,
        Outcome::Answer {
            text: "A works".into(),
            error: None,
        },
    );
    let actions = sim.drain_quiet();
    let (ok, text) = reply_to(&actions, call);
    assert!(ok);
    assert!(
        text.starts_with("[Branch finished] \"fork · plan · Try A\" (s9, plan)")
            && text.contains("A works"),
        "{text}"
    );
    assert!(
        requests(&actions)
            .iter()
            .all(|(_, r)| !matches!(r, Request::Note { .. })),
        "the report is the call's result, not also a note: {actions:#?}"
    );
    // The run ends: no summary of branches whose calls had their reports.
    sim.idle("s1");
    let actions = sim.drain_quiet();
    assert!(requests(&actions).is_empty(), "{actions:#?}");
}

#[test]
fn a_turn_end_in_a_session_with_nothing_queued_does_nothing() {
    let mut sim = run_host();
    assert!(turn_ending(&mut sim, "s1", "step-1").is_empty());
    assert!(sim.engine.is_empty());
}

#[test]
fn a_relay_still_queued_when_the_run_goes_idle_stays_pending_for_the_next_start_to_report() {
    let mut sim = run_host();
    sim.call_checked("s1", "build", "message", "Review it", Some("plan"));
    assert_eq!(sim.engine.poll_journal().map(|list| list.len()), Some(1));
    // The turn ended without a text that could carry the hand-off.
    sim.idle("s1");
    assert!(
        requests(&sim.drain_quiet()).is_empty(),
        "no prompt is stored that nobody would answer"
    );
    assert_eq!(sim.engine.pending_relays("s1"), 1);
    assert_eq!(
        sim.engine.poll_journal(),
        None,
        "it stays on the pending list"
    );
}

#[test]
fn a_branch_that_queued_a_relay_delivers_it_on_its_own_idle() {
    let mut sim = run_host();
    let (_, actions) = sim.call_checked("s1", "build", "new", "Research", Some("plan"));
    let create = single_request(&actions, |r| matches!(r, Request::CreateSession { .. }));
    sim.outcome(
        create,
        Outcome::Session {
            id: "s9".into(),
            title: "new · plan · Research".into(),
        },
    );
    let send = requests_but_renames(&sim.drain_quiet())[0].0;
    sim.outcome(send, Outcome::Done);
    sim.drain_quiet();
    sim.busy("s9");
    sim.call_checked("s9", "plan", "message", "over to build", Some("build"));
    // Its caller waits for it, so the process lives on past the branch's idle.
    let sent = requests(&{
        sim.idle("s9");
        sim.drain_quiet()
    });
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].1, prompt("s9", "build", &["over to build"]));
}

#[test]
fn a_fork_call_gets_its_result_even_when_its_session_was_deleted_while_the_answer_was_read() {
    let mut sim = run_host();
    let (call, actions) = sim.call_checked("s1", "build", "fork", "Try A", Some("plan"));
    let fork = single_request(&actions, |r| matches!(r, Request::ForkSession { .. }));
    sim.outcome(
        fork,
        Outcome::Session {
            id: "s9".into(),
            title: "t (fork #1)".into(),
        },
    );
    let send = requests_but_renames(&sim.drain_quiet())[0].0;
    sim.outcome(send, Outcome::Done);
    sim.drain_quiet();
    sim.busy("s9");
    sim.idle("s9");
    let read = single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::LastAnswer { .. })
    });
    sim.deleted("s1");
    sim.drain_quiet();
    sim.outcome(
        read,
        Outcome::Answer {
            text: "A works".into(),
            error: None,
        },
    );
    let (ok, text) = reply_to(&sim.drain_quiet(), call);
    assert!(ok && text.contains("A works"), "{text}");
}

// ---- property: any mix of hand-offs and step ends ----

use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// The agent answering now calls `session` with `message` or `compact`.
    Call { compact: bool, to_plan: bool },
    /// A step ends with text and no tool call.
    StepEnds,
    /// The same step writes a second text.
    SameStepAgain,
    /// Time passes while the turn goes on.
    Wait(u64),
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<bool>(), any::<bool>()).prop_map(|(compact, to_plan)| Op::Call { compact, to_plan }),
        4 => Just(Op::StepEnds),
        1 => Just(Op::SameStepAgain),
        1 => (0u64..40_000).prop_map(Op::Wait),
    ]
}

/// Ends a step the way the host does: feeds `turn_ending`, then answers
/// every request it led to as OpenCode storing it would, until none is left.
/// Returns every action, and the requests in the order they went out.
fn end_step(sim: &mut Sim, step: &str) -> (Vec<Action>, Vec<Request>) {
    sim.engine.handle_turn_ending(sim.now, "s1", step);
    let mut actions = sim.drain();
    let mut sent = Vec::new();
    let mut open = requests(&actions);
    while let Some((id, request)) = open.pop() {
        let outcome = match request {
            Request::LastUserModel { .. } => session_model(),
            _ => Outcome::Done,
        };
        sent.push(request);
        sim.outcome(id, outcome);
        let more = sim.drain();
        open.extend(requests(&more));
        actions.extend(more);
    }
    (actions, sent)
}

fn check(ops: &[Op]) -> Result<(), TestCaseError> {
    // Enough hops for any sequence: the guard is tested elsewhere.
    let config = EngineConfig {
        max_hops: 1_000,
        ..EngineConfig::default()
    };
    let mut sim = Sim::with_config(config);
    sim.engine.handle_host_ends_with_turn();
    sim.busy("s1");
    let mut queued = Vec::new();
    let mut started = Vec::new();
    let mut delivered = Vec::new();
    let mut step = 0u32;
    // The current step called the tool.
    let mut called = false;
    let record = |actions: &[Action], started: &mut Vec<_>, delivered: &mut Vec<_>| {
        for notice in notices(actions) {
            match notice {
                Notice::RelayStarted { relay, .. } => started.push(relay),
                Notice::RelayDelivered { relay, .. } => delivered.push(relay),
                Notice::RelayFailed { .. } | Notice::HandOffsCancelled { .. } => {
                    return Err(TestCaseError::fail(format!("{notice:?}")))
                }
                _ => {}
            }
        }
        Ok(())
    };
    for op in ops {
        match op {
            Op::Call { compact, to_plan } => {
                let mode = if *compact { "compact" } else { "message" };
                let agent = if *to_plan { "plan" } else { "build" };
                called = true;
                let (call, actions) = sim.call_checked("s1", "build", mode, "text", Some(agent));
                let (ok, _) = reply_to(&actions, call);
                prop_assert!(ok);
                prop_assert!(
                    requests(&actions).is_empty(),
                    "nothing goes out from a tool call"
                );
                for notice in notices(&actions) {
                    if let Notice::RelayQueued {
                        relay, within_turn, ..
                    } = notice
                    {
                        prop_assert!(within_turn);
                        queued.push(relay);
                    }
                }
            }
            Op::StepEnds | Op::SameStepAgain => {
                // Before any step ended, a repeat is a first end; and a step
                // that called the tool is never ended by the host (it calls
                // a tool, so the turn goes on), the next text is a new step's.
                let again = matches!(op, Op::SameStepAgain) && step > 0 && !called;
                if !again {
                    step += 1;
                }
                called = false;
                let (actions, sent) = end_step(&mut sim, &format!("step-{step}"));
                record(&actions, &mut started, &mut delivered)?;
                let prompts = sent
                    .iter()
                    .filter(|r| matches!(r, Request::Prompt { .. }))
                    .count();
                prop_assert!(prompts <= 1, "one relay at a time: {sent:?}");
                if again {
                    prop_assert!(
                        sent.is_empty() && notices(&actions).is_empty(),
                        "a step ends once"
                    );
                }
            }
            Op::Wait(ms) => {
                sim.advance(*ms);
                let actions = sim.drain();
                prop_assert!(requests(&actions).is_empty());
                record(&actions, &mut started, &mut delivered)?;
            }
        }
    }
    // The turn goes on until nothing is left: a message takes two step ends
    // (its prompt, its answer), a compact three (summary, prompt, answer).
    for _ in 0..(3 * queued.len() + 1) {
        step += 1;
        let (actions, _) = end_step(&mut sim, &format!("step-{step}"));
        record(&actions, &mut started, &mut delivered)?;
    }
    prop_assert_eq!(&started, &queued, "each relay starts once, in order");
    prop_assert_eq!(&delivered, &queued, "each relay is answered once, in order");
    prop_assert!(sim.engine.is_quiet());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_hand_off_of_a_run_is_answered_once_in_order_within_the_turn(
        ops in prop::collection::vec(any_op(), 0..40),
    ) {
        check(&ops)?;
    }
}

/// Opens a fork of `s1` as session `branch` and lets its agent start; returns the call.
fn open_fork(sim: &mut Sim, text: &str, branch: &str) -> ToolCallId {
    let (call, actions) = sim.call_checked("s1", "build", "fork", text, Some("plan"));
    let forks = requests_but_renames(&actions);
    assert!(
        matches!(&forks[..], [(_, Request::ForkSession { .. })]),
        "{forks:#?}"
    );
    sim.outcome(
        forks[0].0,
        Outcome::Session {
            id: branch.into(),
            title: "t (fork #1)".into(),
        },
    );
    for (id, request) in requests(&sim.drain_quiet()) {
        if matches!(request, Request::Prompt { .. }) {
            sim.outcome(id, Outcome::Done);
        }
    }
    sim.drain_quiet();
    call
}

/// The branch's turn ends with `answer`; returns the actions that follow.
fn finish_branch(sim: &mut Sim, branch: &str, answer: &str) -> Vec<Action> {
    sim.busy(branch);
    sim.idle(branch);
    let read = single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::LastAnswer { .. })
    });
    sim.outcome(
        read,
        Outcome::Answer {
            text: answer.into(),
            error: None,
        },
    );
    sim.drain_quiet()
}

#[test]
fn forks_whose_calls_had_their_reports_get_no_summary_and_no_resumed_turn_when_the_run_ends() {
    let config = EngineConfig {
        resume_parent: true,
        ..EngineConfig::default()
    };
    let mut sim = Sim::with_config(config);
    sim.engine.handle_host_ends_with_turn();
    sim.busy("s1");
    let first = open_fork(&mut sim, "Try A", "s8");
    let second = open_fork(&mut sim, "Try B", "s9");
    assert!(reply_to(&finish_branch(&mut sim, "s8", "A works"), first)
        .1
        .contains("A works"));
    assert!(reply_to(&finish_branch(&mut sim, "s9", "B works"), second)
        .1
        .contains("B works"));
    sim.idle("s1");
    let actions = sim.drain_quiet();
    assert!(
        requests_but_renames(&actions).is_empty(),
        "nothing is sent as the run ends: {actions:#?}"
    );
    assert_eq!(
        sim.engine.pending_relays("s1"),
        0,
        "no turn on the summary is queued"
    );
}
