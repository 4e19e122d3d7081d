//! Simulations of branches (`new`, `fork`) reporting back to the session
//! that opened them, and of the `status` mode.

mod sim;

use opencode_sessions_engine::{
    Action, ActionId, EngineConfig, NoteKind, Notice, Outcome, ReportMode, Request,
};
use sim::*;

fn config(edit: impl FnOnce(&mut EngineConfig)) -> EngineConfig {
    let mut config = EngineConfig::default();
    edit(&mut config);
    config
}

/// Opens one fork per text from `parent` in one turn; returns the branch ids.
fn open_forks(sim: &mut Sim, parent: &str, texts: &[&str]) -> Vec<String> {
    let (calls, actions) = fork_calls(sim, parent, texts);
    // Renames of branches opened earlier in the turn may come along.
    let forks = requests_but_renames(&actions);
    assert_eq!(forks.len(), texts.len());
    let mut branches = Vec::new();
    for (id, _) in &forks {
        let branch = format!("{parent}-b{}", id.0);
        sim.outcome(
            *id,
            Outcome::Session {
                id: branch.clone(),
                title: "t (fork #1)".into(),
            },
        );
        branches.push(branch);
    }
    for (id, _) in requests(&sim.drain_quiet()) {
        sim.outcome(id, Outcome::Done);
    }
    let replies = sim.drain_quiet();
    for call in calls {
        assert!(reply_to(&replies, call).0);
    }
    branches
}

/// The branch's turn runs and ends; returns the request reading its answer.
fn turn_ends(sim: &mut Sim, branch: &str) -> ActionId {
    sim.busy(branch);
    sim.idle(branch);
    single_request(
        &sim.drain_quiet(),
        |r| matches!(r, Request::LastAnswer { session_id } if session_id == branch),
    )
}

/// Notes sent to `parent` in `actions`.
fn notes_in(actions: &[Action], parent: &str) -> Vec<String> {
    requests(actions)
        .into_iter()
        .filter_map(|(_, r)| match r {
            Request::Note {
                session_id, text, ..
            } if session_id == parent => Some(text),
            _ => None,
        })
        .collect()
}

/// Drains the actions, lets OpenCode take every note (each as it is sent:
/// the next follows the answer to the one before), and returns the notes for `parent`.
fn notes(sim: &mut Sim, parent: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let actions = sim.drain();
        let sent: Vec<ActionId> = requests(&actions)
            .into_iter()
            .filter(|(_, r)| matches!(r, Request::Note { .. }))
            .map(|(id, _)| id)
            .collect();
        seen.extend(notes_in(&actions, parent));
        if sent.is_empty() {
            return seen;
        }
        for id in sent {
            sim.outcome(id, Outcome::Done);
        }
    }
}

#[test]
fn each_branch_reports_as_it_finishes_and_one_summary_follows_the_last() {
    let mut sim = Sim::default();
    let branches = open_forks(&mut sim, "p", &["Redux", "Context", "Zustand"]);
    sim.idle("p");
    sim.drain();
    let mut seen = Vec::new();
    for n in [2, 0, 1] {
        let read = turn_ends(&mut sim, &branches[n]);
        sim.outcome(read, answer(&format!("answer {n}")));
        seen.extend(notes(&mut sim, "p"));
    }
    assert_eq!(seen.len(), 4, "{seen:#?}");
    let order: Vec<&str> = seen[..3]
        .iter()
        .map(|n| n.lines().next().unwrap_or(""))
        .collect();
    let b = &branches;
    assert_eq!(
        order,
        [
            format!(
                "[Branch finished] \"fork 3/3 · build · Zustand\" ({}, build)",
                b[2]
            ),
            format!(
                "[Branch finished] \"fork 1/3 · build · Redux\" ({}, build)",
                b[0]
            ),
            format!(
                "[Branch finished] \"fork 2/3 · build · Context\" ({}, build)",
                b[1]
            ),
        ],
        "reports come in the order the branches finish"
    );
    assert!(seen[0].contains("\n\nanswer 2\n\n"));
    let summary = &seen[3];
    assert!(summary.starts_with("[All 3 fork branches of this turn are done]"));
    let places: Vec<usize> = ["answer 0", "answer 1", "answer 2"]
        .iter()
        .map(|a| summary.find(a).unwrap_or(usize::MAX))
        .collect();
    assert!(
        places.windows(2).all(|w| w[0] < w[1]),
        "side by side, in order: {summary}"
    );
    // Later idle edges of the branches report nothing twice.
    for branch in &branches {
        sim.idle(branch);
    }
    assert!(requests(&sim.drain()).is_empty());
    assert!(sim.engine.is_quiet());
}

#[test]
fn reports_wait_until_the_parent_is_idle() {
    let mut sim = Sim::default();
    let branches = open_forks(&mut sim, "p", &["only"]);
    let read = turn_ends(&mut sim, &branches[0]);
    sim.outcome(read, answer("done"));
    assert!(
        notes(&mut sim, "p").is_empty(),
        "the parent's turn still runs"
    );
    sim.idle("p");
    let sent = notes(&mut sim, "p");
    assert_eq!(sent.len(), 1, "a lone branch needs no summary: {sent:#?}");
    assert!(sent[0].starts_with("[Branch finished] \"fork · build · only\""));
}

#[test]
fn report_all_sends_only_the_summary_and_off_sends_nothing() {
    for (mode, expected) in [(ReportMode::All, 1), (ReportMode::Off, 0)] {
        let mut sim = Sim::with_config(config(|c| c.report = mode));
        let branches = open_forks(&mut sim, "p", &["a", "b"]);
        sim.idle("p");
        let mut sent = Vec::new();
        for branch in &branches {
            let read = turn_ends(&mut sim, branch);
            sim.outcome(read, answer("x"));
            sent.extend(notes(&mut sim, "p"));
        }
        assert_eq!(sent.len(), expected, "{mode:?}: {sent:#?}");
        if expected == 1 {
            assert!(sent[0].starts_with("[All 2 fork branches"));
        }
    }
}

#[test]
fn resume_parent_gives_the_parents_agent_a_turn_on_the_summary_and_counts_a_hop() {
    let mut sim = Sim::with_config(config(|c| c.resume_parent = true));
    let branches = open_forks(&mut sim, "p", &["a", "b"]);
    sim.idle("p");
    sim.drain();
    let mut actions = Vec::new();
    for branch in &branches {
        let read = turn_ends(&mut sim, branch);
        sim.outcome(read, answer("x"));
        actions = sim.drain_quiet();
    }
    let prompts: Vec<Request> = requests(&actions)
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| matches!(r, Request::Prompt { .. }))
        .collect();
    assert_eq!(prompts.len(), 1, "{actions:#?}");
    let Request::Prompt {
        session_id,
        agent,
        parts,
    } = &prompts[0]
    else {
        unreachable!()
    };
    assert_eq!((session_id.as_str(), agent.as_str()), ("p", "build"));
    assert!(parts[0].starts_with("[All 2 fork branches") && parts[0].ends_with("continue."));
    assert_eq!(sim.engine.hops("p"), 1);
}

#[test]
fn a_branch_that_fails_reports_its_error() {
    let mut sim = Sim::default();
    let branches = open_forks(&mut sim, "p", &["a"]);
    sim.idle("p");
    sim.busy(&branches[0]);
    sim.event(
        serde_json::json!({"type": "session.error", "properties": {"sessionID": branches[0],
        "error": {"name": "APIError", "data": {"message": "rate limited"}}}}),
    );
    sim.idle(&branches[0]);
    // OpenCode does not report the failed step here: the end is taken after a short wait.
    sim.advance(3_000);
    let read = single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::LastAnswer { .. })
    });
    sim.outcome(read, answer("partial"));
    let sent = notes(&mut sim, "p");
    let expected = format!(
        "[Branch ended with an error] \"fork · build · a\" ({}, build): APIError: rate limited",
        branches[0]
    );
    assert!(sent[0].starts_with(&expected), "{}", sent[0]);
}

#[test]
fn status_lists_each_branch_with_its_state_and_last_answer() {
    let mut sim = Sim::default();
    let call = sim.call("p", "build", "status", "", None);
    let (ok, text) = reply_to(&sim.drain(), call);
    assert!(ok && text.contains("has not opened any branches"));

    let branches = open_forks(&mut sim, "p", &["a", "b", "c"]);
    let read = turn_ends(&mut sim, &branches[0]);
    sim.outcome(read, answer("use Redux"));
    sim.busy(&branches[1]);
    sim.interrupt(&branches[1]);
    sim.idle(&branches[1]);
    let read = single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::LastAnswer { .. })
    });
    sim.outcome(read, answer(""));
    let call = sim.call("p", "build", "status", "", None);
    let (ok, text) = reply_to(&sim.drain(), call);
    assert!(ok);
    let b = &branches;
    assert_eq!(
        text,
        format!(
            "Branches opened from this session, oldest first (3):\n\
             - \"fork 1/3 · build · a\" ({}, build) — finished: use Redux\n\
             - \"fork 2/3 · build · b\" ({}, build) — ended with an error: interrupted by the user\n\
             - \"fork 3/3 · build · c\" ({}, build) — running for 0 s, 0 steps, now starting\n\
             Open one from /sessions to read it all.\n\n\
             Across all sessions: 0 hand-offs pending, 1 branch running, 4 sessions remembered by the plugin.",
            b[0], b[1], b[2]
        )
    );
}

#[test]
fn a_deleted_parent_forgets_its_branches_and_finished_ones_stay_bounded() {
    let mut sim = Sim::with_config(config(|c| c.report = ReportMode::Off));
    let mut every = Vec::new();
    for round in 0..25 {
        let branches = open_forks(&mut sim, "p", &[&format!("r{round}")]);
        every.extend(branches.clone());
        sim.idle("p");
        let read = turn_ends(&mut sim, &branches[0]);
        sim.outcome(read, answer("x"));
        sim.now += 1; // the next turn is another assistant message
    }
    let call = sim.call("p", "build", "status", "", None);
    let (_, text) = reply_to(&sim.drain(), call);
    assert!(text.contains("oldest first (20)"), "{text}");
    assert!(!text.contains("r4\"") && text.contains("r5\""), "{text}");

    let running = open_forks(&mut sim, "p", &["still running"]);
    sim.deleted("p");
    sim.busy(&running[0]);
    sim.idle(&running[0]);
    assert!(requests(&sim.drain()).is_empty(), "nobody to report to");
    assert!(
        !sim.engine.is_empty(),
        "branch sessions still carry their hop count"
    );
    for branch in running.iter().chain(&every) {
        sim.deleted(branch);
    }
    sim.drain();
    assert!(sim.engine.is_empty(), "{:#?}", sim.engine);
}

#[test]
fn a_branch_whose_turn_never_starts_is_reported_at_once() {
    let mut sim = Sim::default();
    let branches = open_forks(&mut sim, "p", &["a"]);
    sim.idle("p");
    sim.drain();
    sim.event(
        serde_json::json!({"type": "session.error", "properties": {"sessionID": branches[0],
        "error": {"name": "UnknownError", "data": {"message": "Agent not found"}}}}),
    );
    let sent = notes(&mut sim, "p");
    assert!(
        sent[0].contains("ended with an error") && sent[0].contains("Agent not found"),
        "{sent:#?}"
    );
    assert!(sim.engine.is_quiet());
}

#[test]
fn a_report_that_cannot_be_added_to_the_parent_is_shown_and_logged() {
    let mut sim = Sim::default();
    let branches = open_forks(&mut sim, "p", &["a"]);
    sim.idle("p");
    sim.drain();
    let read = turn_ends(&mut sim, &branches[0]);
    sim.outcome(read, answer("done"));
    let note = single_request(&sim.drain(), |r| matches!(r, Request::Note { .. }));
    sim.outcome(note, Outcome::failed("HTTP 404: session not found"));
    let actions = sim.drain();
    assert!(matches!(
        &notices(&actions)[..],
        [Notice::NoteLost { session_id, note: NoteKind::BranchReport, .. }] if session_id == "p"
    ));
    let shown = toasts(&actions);
    assert_eq!(shown.len(), 1, "{actions:#?}");
    assert_eq!(shown[0].1, "Branch report lost");
    assert!(shown[0].2.contains("HTTP 404"));
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::Log { level: opencode_sessions_engine::LogLevel::Error, message } if message.contains("reporting to the parent session failed")
    )));
}

#[test]
fn a_parent_receives_its_notes_one_at_a_time_so_they_arrive_in_order() {
    let mut sim = Sim::default();
    let branches = open_forks(&mut sim, "p", &["a", "b"]);
    // Both branches finish while the parent still runs: their notes wait.
    let mut reads = Vec::new();
    for branch in &branches {
        reads.push(turn_ends(&mut sim, branch));
    }
    for (n, read) in reads.into_iter().enumerate() {
        sim.outcome(read, answer(&format!("answer {n}")));
    }
    assert!(notes_in(&sim.drain(), "p").is_empty(), "the parent runs");
    sim.idle("p");
    let first = sim.drain();
    let sent = notes_in(&first, "p");
    assert_eq!(sent.len(), 1, "one note in flight: {sent:#?}");
    assert!(sent[0].contains("answer 0"));
    // The first note fails: that is told, and the second follows anyway.
    let note = single_request(&first, |r| matches!(r, Request::Note { .. }));
    sim.outcome(note, Outcome::failed("HTTP 500"));
    let actions = sim.drain();
    assert!(
        matches!(&notices(&actions)[..], [Notice::NoteLost { .. }]),
        "{actions:#?}"
    );
    let next = notes_in(&actions, "p");
    assert_eq!(next.len(), 1, "{next:#?}");
    assert!(next[0].contains("answer 1"));
    assert!(!sim.engine.is_quiet(), "the second note is still in flight");
    let second = single_request(&actions, |r| matches!(r, Request::Note { .. }));
    sim.outcome(second, Outcome::Done);
    let rest = notes(&mut sim, "p");
    assert_eq!(
        rest.len(),
        1,
        "the summary follows the second note: {rest:#?}"
    );
    assert!(rest[0].starts_with("[All 2 fork branches"));
    assert!(sim.engine.is_quiet());
}

#[test]
fn resuming_the_parent_waits_for_its_failed_turn_to_close() {
    let mut sim = Sim::with_config(config(|c| c.resume_parent = true));
    let branches = open_forks(&mut sim, "p", &["a"]);
    sim.busy(&branches[0]);
    // The parent's turn fails after opening the branch; OpenCode reports
    // idle before it has recorded the failed step.
    sim.event(
        serde_json::json!({"type": "session.error", "properties": {"sessionID": "p",
        "error": {"name": "APIError", "data": {"message": "model failed with 400"}}}}),
    );
    sim.idle("p");
    sim.drain();
    sim.idle(&branches[0]);
    let read = single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::LastAnswer { .. })
    });
    sim.outcome(read, answer("x"));
    let prompts = |actions: &[Action]| {
        requests(actions)
            .into_iter()
            .filter(|(_, r)| matches!(r, Request::Prompt { .. }))
            .count()
    };
    assert_eq!(prompts(&sim.drain_quiet()), 0, "not in the gap");
    sim.event(
        serde_json::json!({"type": "message.updated", "properties": {"info": {
        "role": "assistant", "sessionID": "p", "time": {"created": 1, "completed": 2},
        "error": {"name": "APIError"}}}}),
    );
    sim.idle("p");
    assert_eq!(
        prompts(&sim.drain_quiet()),
        1,
        "once OpenCode closed the turn"
    );
}

#[test]
fn a_branch_renamed_as_later_calls_joined_reports_under_its_new_title() {
    // OpenCode up to 1.3 runs a step's tool calls one after another: the first
    // branch is open before the second call arrives.
    let mut sim = Sim::default();
    sim.busy("p");
    let first = open_forks(&mut sim, "p", &["Redux"]);
    let second = open_forks(&mut sim, "p", &["Zustand"]);
    sim.idle("p");
    sim.drain_quiet();
    let read = turn_ends(&mut sim, &first[0]);
    sim.outcome(read, answer("Redux it is"));
    let sent = notes(&mut sim, "p");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].starts_with("[Branch finished] \"fork 1/2 · build · Redux\""),
        "{}",
        sent[0]
    );
    let read = turn_ends(&mut sim, &second[0]);
    sim.outcome(read, answer("or Zustand"));
    let sent = notes(&mut sim, "p");
    assert!(
        sent[0].starts_with("[Branch finished] \"fork 2/2 · build · Zustand\""),
        "{sent:?}"
    );
}
