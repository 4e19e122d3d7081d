//! Simulations of steering the branches a session opened: the `maxBranches`
//! cap, `cancel`, follow-ups (`message` to a branch), a branch waiting for a
//! person, and what `status` tells of a running branch.

mod sim;

use opencode_sessions_engine::{
    Action, ActionId, BranchError, BranchProgress, EngineConfig, FailureCause, InputError, Mode,
    Notice, Outcome, Refusal, Request, ToastVariant, ToolCall, ToolCallId,
};
use serde_json::json;
use sim::*;

fn capped(max_branches: u32) -> EngineConfig {
    EngineConfig {
        max_branches,
        ..EngineConfig::default()
    }
}

/// The fork requests in `actions`, answered with branch sessions `<parent>-b<id>`,
/// their prompts accepted; returns the branch ids.
fn open(sim: &mut Sim, parent: &str, actions: &[Action]) -> Vec<String> {
    let mut branches = Vec::new();
    for (id, request) in requests_but_renames(actions) {
        if !matches!(request, Request::ForkSession { .. }) {
            continue;
        }
        let branch = format!("{parent}-b{}", id.0);
        sim.outcome(
            id,
            Outcome::Session {
                id: branch.clone(),
                title: "t".into(),
            },
        );
        branches.push(branch);
    }
    for (id, request) in requests(&sim.drain_quiet()) {
        if matches!(
            request,
            Request::Prompt { .. } | Request::RenameSession { .. }
        ) {
            sim.outcome(id, Outcome::Done);
        }
    }
    branches
}

fn forks_requested(actions: &[Action]) -> usize {
    requests(actions)
        .iter()
        .filter(|(_, r)| matches!(r, Request::ForkSession { .. }))
        .count()
}

/// The branch's turn runs and ends with `text`; returns what followed the answer.
fn branch_answers(sim: &mut Sim, branch: &str, text: &str) -> Vec<Action> {
    sim.busy(branch);
    sim.idle(branch);
    let read = single_request(
        &sim.drain_quiet(),
        |r| matches!(r, Request::LastAnswer { session_id } if session_id == branch),
    );
    sim.outcome(read, answer(text));
    sim.drain_quiet()
}

/// Notes sent to `parent` in `actions`, each answered.
fn notes(sim: &mut Sim, parent: &str, actions: &[Action]) -> Vec<String> {
    let mut seen = Vec::new();
    let mut actions = actions.to_vec();
    loop {
        let sent: Vec<(ActionId, String)> = requests(&actions)
            .into_iter()
            .filter_map(|(id, r)| match r {
                Request::Note {
                    session_id, text, ..
                } if session_id == parent => Some((id, text)),
                _ => None,
            })
            .collect();
        if sent.is_empty() {
            return seen;
        }
        for (id, text) in sent {
            seen.push(text);
            sim.outcome(id, Outcome::Done);
        }
        actions = sim.drain_quiet();
    }
}

fn status_text(sim: &mut Sim, parent: &str) -> String {
    let call = sim.call(parent, "build", "status", "", None);
    reply_to(&sim.drain_quiet(), call).1
}

// ---- the cap ----

#[test]
fn branches_past_the_cap_wait_and_start_in_call_order_as_others_finish() {
    let mut sim = Sim::with_config(capped(2));
    let (calls, actions) = fork_calls(&mut sim, "p", &["A", "B", "C", "D"]);
    assert_eq!(forks_requested(&actions), 2, "{actions:#?}");
    for (n, call) in calls[2..].iter().enumerate() {
        let (ok, text) = reply_to(&actions, *call);
        assert!(ok);
        assert!(
            text.starts_with("Waiting: this session already runs 2 branches (maxBranches = 2).")
                && text.contains(&format!("is number {} in line", n + 1)),
            "{text}"
        );
    }
    let first = open(&mut sim, "p", &actions);
    sim.idle("p");
    sim.drain();
    let status = status_text(&mut sim, "p");
    assert!(
        status.contains("Waiting for a place (maxBranches), in call order (2):\n- waiting, number 1 in line: fork → build: \"C\"\n- waiting, number 2 in line: fork → build: \"D\""),
        "{status}"
    );

    // The second branch finishes first: the third starts, not the fourth.
    let mut said = Vec::new();
    let after = branch_answers(&mut sim, &first[1], "answer B");
    assert_eq!(forks_requested(&after), 1, "{after:#?}");
    // The call was answered already: its branch's start says nothing to it.
    let third = open(&mut sim, "p", &after);
    let started = sim.drain();
    assert!(
        !started
            .iter()
            .any(|a| matches!(a, Action::ReplyToTool { .. })),
        "{started:#?}"
    );
    said.extend(notes(&mut sim, "p", &after));
    assert!(status_text(&mut sim, "p").contains("number 1 in line: fork → build: \"D\""));

    let after = branch_answers(&mut sim, &first[0], "answer A");
    assert_eq!(forks_requested(&after), 1);
    let fourth = open(&mut sim, "p", &after);
    said.extend(notes(&mut sim, "p", &after));
    assert!(!status_text(&mut sim, "p").contains("Waiting for a place"));

    let after = branch_answers(&mut sim, &fourth[0], "answer D");
    said.extend(notes(&mut sim, "p", &after));
    let after = branch_answers(&mut sim, &third[0], "answer C");
    said.extend(notes(&mut sim, "p", &after));
    let summary = said
        .iter()
        .find(|n| n.starts_with("[All 4 fork branches"))
        .unwrap_or_else(|| panic!("a summary of all four in {said:#?}"));
    for answer in ["answer A", "answer B", "answer C", "answer D"] {
        assert!(summary.contains(answer), "{summary}");
    }
}

#[test]
fn the_cap_counts_each_session_apart() {
    let mut sim = Sim::with_config(capped(1));
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    assert_eq!(forks_requested(&actions), 1);
    let (_, actions) = fork_calls(&mut sim, "q", &["B"]);
    assert_eq!(forks_requested(&actions), 1);
}

#[test]
fn a_branch_deleted_while_others_wait_frees_its_place() {
    let mut sim = Sim::with_config(capped(1));
    let (calls, actions) = fork_calls(&mut sim, "p", &["A", "B"]);
    let first = open(&mut sim, "p", &actions);
    assert!(reply_to(&actions, calls[1]).1.starts_with("Waiting"));
    sim.deleted(&first[0]);
    assert_eq!(forks_requested(&sim.drain_quiet()), 1);
}

#[test]
fn branches_waiting_when_their_session_is_deleted_never_start() {
    let mut sim = Sim::with_config(capped(1));
    let (_, actions) = fork_calls(&mut sim, "p", &["A", "B", "C"]);
    let first = open(&mut sim, "p", &actions);
    sim.drain();
    sim.deleted("p");
    let after = sim.drain_quiet();
    // Their calls had their result: nothing more is said to them.
    assert!(
        !after
            .iter()
            .any(|a| matches!(a, Action::ReplyToTool { .. })),
        "{after:#?}"
    );
    sim.busy(&first[0]);
    sim.idle(&first[0]);
    assert_eq!(forks_requested(&sim.drain_quiet()), 0);
    sim.deleted(&first[0]);
    sim.drain();
    assert!(sim.engine.is_quiet(), "{:#?}", sim.engine);
}

#[test]
fn a_waiting_branch_whose_fork_fails_is_told_in_a_toast() {
    let mut sim = Sim::with_config(capped(1));
    let (_, actions) = fork_calls(&mut sim, "p", &["A", "B"]);
    let first = open(&mut sim, "p", &actions);
    sim.drain();
    sim.busy(&first[0]);
    sim.idle(&first[0]);
    let read = single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::LastAnswer { .. })
    });
    sim.outcome(read, answer("a"));
    let fork = single_request(
        &requests_but_renames(&sim.drain_quiet())
            .into_iter()
            .filter(|(_, r)| !matches!(r, Request::Note { .. }))
            .map(|(id, request)| Action::Request {
                id,
                timeout_ms: 0,
                request,
            })
            .collect::<Vec<_>>(),
        |r| matches!(r, Request::ForkSession { .. }),
    );
    sim.outcome(fork, Outcome::failed("HTTP 400: no such message"));
    let after = sim.drain_quiet();
    assert!(
        toasts(&after)
            .iter()
            .any(|(_, title, message)| title == "Hand-off failed"
                && message.contains("no such message")),
        "{after:#?}"
    );
    assert!(!after
        .iter()
        .any(|a| matches!(a, Action::ReplyToTool { .. })));
}

// ---- cancel ----

#[test]
fn cancelling_a_running_branch_stops_its_turn_and_it_shows_as_cancelled() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A", "B"]);
    let branches = open(&mut sim, "p", &actions);
    sim.drain();
    sim.busy(&branches[0]);
    let (call, actions) = cancel(&mut sim, "p", &branches[0]);
    let stop = single_request(
        &actions,
        |r| matches!(r, Request::AbortSession { session_id } if *session_id == branches[0]),
    );
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::ReplyToTool { .. })),
        "the result waits for OpenCode to stop the turn: {actions:#?}"
    );
    sim.outcome(stop, Outcome::Done);
    let actions = sim.drain_quiet();
    let (ok, text) = reply_to(&actions, call);
    assert!(ok);
    assert!(
        text.starts_with(&format!(
            "Cancelled branch {} \"fork 1/2 · build · A\": its turn was stopped",
            branches[0]
        )),
        "{text}"
    );
    assert!(toasts(&actions)
        .iter()
        .any(|(_, title, _)| title == "Branch cancelled"));
    // OpenCode reports the stop like a person's Esc: nothing more is read or said.
    sim.interrupt(&branches[0]);
    sim.idle(&branches[0]);
    let after = sim.drain_quiet();
    assert!(requests(&after).is_empty(), "{after:#?}");
    assert!(status_text(&mut sim, "p").contains(&format!(
        "- \"fork 1/2 · build · A\" ({}, build) — cancelled",
        branches[0]
    )));

    sim.idle("p");
    sim.drain();
    let last = branch_answers(&mut sim, &branches[1], "answer B");
    let notes = notes(&mut sim, "p", &last);
    // Only B reports on its own; the summary lists A as cancelled.
    assert_eq!(
        notes.iter().filter(|n| n.starts_with("[Branch")).count(),
        1,
        "{notes:#?}"
    );
    let summary = notes.last().unwrap();
    assert!(
        summary.starts_with("[All 2 fork branches")
            && summary.contains(&format!(
                "1. \"fork 1/2 · build · A\" ({})\ncancelled",
                branches[0]
            )),
        "{summary}"
    );
}

fn cancel(sim: &mut Sim, parent: &str, session: &str) -> (ToolCallId, Vec<Action>) {
    let value = json!({
        "sessionId": parent, "messageId": format!("m{}", sim.now), "callerAgent": "build",
        "mode": "cancel", "session": session
    });
    let call = sim
        .engine
        .handle_tool_call(sim.now, ToolCall::from_json(value).unwrap());
    (call, sim.drain_quiet())
}

#[test]
fn cancelling_a_finished_branch_says_so_and_changes_nothing() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    sim.idle("p");
    let done = branch_answers(&mut sim, &branches[0], "answer A");
    notes(&mut sim, "p", &done);
    sim.busy("p");
    let before = status_text(&mut sim, "p");
    let (call, actions) = cancel(&mut sim, "p", &branches[0]);
    let (ok, text) = reply_to(&actions, call);
    assert!(ok);
    assert_eq!(
        text,
        format!(
            "Branch {} \"fork · build · A\" had already finished: nothing was changed. Its report is in this session.",
            branches[0]
        )
    );
    assert!(requests(&actions).is_empty());
    assert_eq!(status_text(&mut sim, "p"), before);
}

#[test]
fn cancel_names_a_branch_by_the_start_of_its_title_and_refuses_anything_else() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["Redux", "Zustand"]);
    let branches = open(&mut sim, "p", &actions);
    sim.drain();
    let (_, actions) = cancel(&mut sim, "p", "fork 2/2");
    single_request(
        &actions,
        |r| matches!(r, Request::AbortSession { session_id } if *session_id == branches[1]),
    );
    for named in ["ses_elsewhere", "fork"] {
        let (call, actions) = cancel(&mut sim, "p", named);
        let (ok, text) = reply_to(&actions, call);
        assert!(!ok);
        assert!(
            text.starts_with(&format!("\"{named}\" is not a branch of this session"))
                && text.contains(&format!("{} \"fork 1/2 · build · Redux\"", branches[0]))
                && text.contains(&branches[1]),
            "{text}"
        );
        assert!(requests(&actions).is_empty());
    }
    let (call, actions) = cancel(&mut sim, "q", &branches[0]);
    assert!(reply_to(&actions, call).1.contains("it has opened none"));
}

#[test]
fn cancelling_drops_what_the_branch_queued() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    sim.drain();
    let b = branches[0].clone();
    sim.busy(&b);
    // The branch's agent hands work on inside its own turn.
    let (_, queued) = sim.call_checked(&b, "build", "message", "review it", Some("plan"));
    assert!(notices(&queued)
        .iter()
        .any(|n| matches!(n, Notice::RelayQueued { .. })));
    let (call, actions) = cancel(&mut sim, "p", &b);
    let stop = single_request(&actions, |r| matches!(r, Request::AbortSession { .. }));
    sim.outcome(stop, Outcome::Done);
    let actions = sim.drain_quiet();
    let (_, text) = reply_to(&actions, call);
    assert!(
        text.ends_with("1 hand-off it had queued was dropped."),
        "{text}"
    );
    assert_eq!(sim.engine.pending_relays(&b), 0);
    sim.idle(&b);
    assert!(requests(&sim.drain_quiet()).is_empty());
}

#[test]
fn a_stop_opencode_does_not_confirm_is_said() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    sim.drain();
    let (call, actions) = cancel(&mut sim, "p", &branches[0]);
    let stop = single_request(&actions, |r| matches!(r, Request::AbortSession { .. }));
    sim.outcome(stop, Outcome::failed("HTTP 404: session not found"));
    let (ok, text) = reply_to(&sim.drain_quiet(), call);
    assert!(ok);
    assert!(
        text.contains(
            "OpenCode did not confirm that its turn stopped (HTTP 404: session not found)"
        ),
        "{text}"
    );
    assert!(status_text(&mut sim, "p").contains("— cancelled"));
}

// ---- follow-ups ----

fn follow_up(sim: &mut Sim, parent: &str, session: &str, text: &str) -> (ToolCallId, Vec<Action>) {
    let value = json!({
        "sessionId": parent, "messageId": format!("m{}", sim.now), "callerAgent": "build",
        "mode": "message", "session": session, "text": text
    });
    let call = sim
        .engine
        .handle_tool_call(sim.now, ToolCall::from_json(value).unwrap());
    let list = single_request(&sim.drain_quiet(), |r| matches!(r, Request::ListAgents));
    sim.outcome(list, default_agents());
    let ask = single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::AskPermission { .. })
    });
    sim.outcome(ask, Outcome::Done);
    (call, sim.drain_quiet())
}

#[test]
fn a_follow_up_to_an_idle_branch_is_answered_there_at_once_and_reported_home() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    sim.idle("p");
    let done = branch_answers(&mut sim, &branches[0], "answer A");
    notes(&mut sim, "p", &done);

    sim.busy("p");
    let (call, actions) = follow_up(&mut sim, "p", &branches[0], "now add tests");
    let (ok, text) = reply_to(&actions, call);
    assert!(ok);
    assert!(
        text.contains(&format!(
            "to branch {} \"fork · build · A\": build is answering your text there now",
            branches[0]
        )),
        "{text}"
    );
    let prompt = single_request(&actions, |r| {
        *r == sim::prompt(&branches[0], "build", &["now add tests"])
    });
    sim.outcome(prompt, Outcome::Done);
    sim.idle("p");
    sim.drain();
    assert!(status_text(&mut sim, "p").contains("— running"));
    let after = branch_answers(&mut sim, &branches[0], "tests added");
    let notes = notes(&mut sim, "p", &after);
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert!(
        notes[0].starts_with("[Branch finished] \"fork · build · A\"")
            && notes[0].contains("tests added"),
        "{notes:#?}"
    );
}

#[test]
fn a_follow_up_to_a_busy_branch_goes_out_when_its_turn_ends() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    let b = branches[0].clone();
    sim.drain();
    sim.busy(&b);
    let (call, actions) = follow_up(&mut sim, "p", &b, "also check the docs");
    let (_, text) = reply_to(&actions, call);
    assert!(
        text.contains("its turn runs, so build gets your text when that turn ends"),
        "{text}"
    );
    assert!(requests(&actions).is_empty(), "{actions:#?}");
    // The branch's turn ends: the follow-up goes out, its answer is read after.
    let prompt = match &deliver_next(&mut sim, &b) {
        Request::Prompt { parts, .. } => parts.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(prompt, ["also check the docs"]);
    sim.idle(&b);
    let read = single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::LastAnswer { .. })
    });
    sim.outcome(read, answer("docs checked"));
    sim.idle("p");
    let after = sim.drain_quiet();
    let notes = notes(&mut sim, "p", &after);
    assert!(
        notes.iter().any(|n| n.contains("docs checked")),
        "{notes:#?}"
    );
}

#[test]
fn a_follow_up_while_the_branch_answer_is_read_goes_out_after_its_report() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    let b = branches[0].clone();
    sim.drain();
    sim.busy(&b);
    sim.idle(&b);
    let read = single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::LastAnswer { .. })
    });
    let (_, actions) = follow_up(&mut sim, "p", &b, "more");
    assert!(requests(&actions).is_empty(), "{actions:#?}");
    sim.outcome(read, answer("first"));
    let after = sim.drain_quiet();
    assert!(requests(&after)
        .iter()
        .any(|(_, r)| *r == sim::prompt(&b, "build", &["more"])));
}

#[test]
fn a_follow_up_names_only_this_sessions_branches() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    sim.drain();
    let value = json!({
        "sessionId": "p", "messageId": "m", "callerAgent": "build",
        "mode": "message", "session": "p", "text": "hi"
    });
    let call = sim
        .engine
        .handle_tool_call(sim.now, ToolCall::from_json(value).unwrap());
    let actions = sim.drain_quiet();
    let (ok, text) = reply_to(&actions, call);
    assert!(!ok);
    assert!(
        text.starts_with("\"p\" is not a branch of this session")
            && text.contains(&format!(
                "Its branches: {} \"fork · build · A\"",
                branches[0]
            )),
        "{text}"
    );
    assert!(requests(&actions).is_empty());
    assert!(matches!(
        &notices(&actions)[..],
        [Notice::CallRefused {
            reason: Refusal::NotABranch { .. },
            mode: Mode::Message,
            ..
        }]
    ));
}

#[test]
fn session_is_taken_only_where_it_means_something() {
    let call = |mode: &str, session: Option<&str>| {
        let mut value = json!({
            "sessionId": "p", "messageId": "m", "callerAgent": "build", "mode": mode, "text": "x"
        });
        if let Some(session) = session {
            value["session"] = json!(session);
        }
        ToolCall::from_json(value)
    };
    assert_eq!(
        call("fork", Some("ses_1")),
        Err(InputError::SessionNotTaken { mode: Mode::Fork })
    );
    assert_eq!(call("cancel", None), Err(InputError::MissingSession));
    assert_eq!(
        call("cancel", Some(&"s".repeat(201))),
        Err(InputError::SessionTooLong { chars: 201 })
    );
    assert!(call("cancel", Some(" ses_1 ")).is_ok_and(|c| c.session.as_deref() == Some("ses_1")));
    assert_eq!(
        call("fork", Some("x")).unwrap_err().to_string(),
        "`session` is not taken by mode \"fork\": only message (to follow up a branch) and cancel name a branch; leave it out"
    );
}

#[test]
fn cancelled_and_followed_up_branches_keep_the_notices_typed() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    sim.drain();
    let (_, actions) = cancel(&mut sim, "p", &branches[0]);
    assert!(notices(&actions).iter().any(|n| matches!(
        n,
        Notice::BranchFailed {
            error: BranchError::Cancelled,
            ..
        }
    )));
    let status = sim.call("p", "build", "status", "", None);
    let listed = notices(&sim.drain_quiet());
    assert!(matches!(
        &listed[..],
        [Notice::StatusReported { call, branches, .. }]
            if *call == status && branches[0].state == BranchProgress::Cancelled
    ));
}

// ---- a branch waiting for a person, and its progress ----

fn permission_asked(sim: &mut Sim, session: &str, id: &str) {
    sim.event(json!({"type": "permission.asked", "properties": {
        "id": id, "sessionID": session, "permission": "bash", "patterns": ["git status"],
        "metadata": {}, "always": []
    }}));
}

fn permission_replied(sim: &mut Sim, session: &str, id: &str) {
    sim.event(json!({"type": "permission.replied", "properties": {
        "sessionID": session, "requestID": id, "reply": "once"
    }}));
}

fn tool(sim: &mut Sim, session: &str, part: &str, status: &str) {
    sim.event(json!({"type": "message.part.updated", "properties": {"part": {
        "id": part, "sessionID": session, "type": "tool", "tool": "bash", "state": {"status": status}
    }}}));
}

fn step_finished(sim: &mut Sim, session: &str) {
    sim.event(json!({"type": "message.updated", "properties": {"info": {
        "role": "assistant", "sessionID": session, "finish": "tool-calls", "time": {"created": 1, "completed": 2}
    }}}));
}

#[test]
fn a_branch_asking_permission_is_announced_and_its_report_says_it_waited() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    let b = branches[0].clone();
    sim.idle("p");
    sim.drain();
    sim.busy(&b);
    sim.advance(4_000);
    permission_asked(&mut sim, &b, "per_1");
    let actions = sim.drain();
    assert_eq!(
        toasts(&actions),
        [(
            ToastVariant::Warning,
            "A branch waits for you".to_owned(),
            format!("Branch \"fork · build · A\" ({b}) asks: bash (git status). Open it from /sessions to answer; it waits until someone does.")
        )]
    );
    // Repeated, it is not announced twice.
    permission_asked(&mut sim, &b, "per_1");
    assert!(toasts(&sim.drain()).is_empty());
    sim.advance(12_000);
    let status = status_text(&mut sim, "p");
    assert!(
        status.contains(&format!("- \"fork · build · A\" ({b}, build) — running for 16 s, 0 steps, now waiting 12 s for a person to answer: bash (git status)")),
        "{status}"
    );
    sim.advance(3_000);
    permission_replied(&mut sim, &b, "per_1");
    tool(&mut sim, &b, "prt_1", "running");
    assert!(status_text(&mut sim, "p").contains("— running for 19 s, 0 steps, now running bash"));
    tool(&mut sim, &b, "prt_1", "completed");
    step_finished(&mut sim, &b);
    assert!(status_text(&mut sim, "p").contains("— running for 19 s, 1 step, now writing"));
    let after = branch_answers(&mut sim, &b, "status is clean");
    let notes = notes(&mut sim, "p", &after);
    assert!(
        notes[0].contains(
            "It waited 15 s for a person to answer: bash (git status).\n\nstatus is clean"
        ),
        "{notes:#?}"
    );
}

#[test]
fn a_branch_left_waiting_for_a_person_says_so_when_it_ends() {
    let mut sim = Sim::with_config(EngineConfig {
        switch_to: vec![Mode::Fork],
        ..EngineConfig::default()
    });
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    let b = branches[0].clone();
    sim.idle("p");
    sim.drain();
    sim.busy(&b);
    sim.event(json!({"type": "question.asked", "properties": {
        "id": "que_1", "sessionID": &b, "questions": [{"question": "Which database should I use?", "header": "DB", "options": []}]
    }}));
    let actions = sim.drain_quiet();
    // With switchTo naming fork, the TUI is taken to the branch.
    assert!(requests(&actions)
        .iter()
        .any(|(_, r)| matches!(r, Request::SelectSession { session_id } if *session_id == b)));
    let (_, title, message) = &toasts(&actions)[0];
    assert_eq!(title, "A branch waits for you");
    assert!(
        message.ends_with("asks: Which database should I use?. The TUI switches to it; it waits until someone does."),
        "{message}"
    );
    assert!(notices(&actions)
        .iter()
        .any(|n| matches!(n, Notice::BranchWaitsForPerson { shown: true, .. })));
    // Nobody answers; a person stops the branch's turn in the end.
    sim.advance(600_000);
    sim.interrupt(&b);
    sim.idle(&b);
    let read = single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::LastAnswer { .. })
    });
    sim.outcome(read, answer(""));
    let after = sim.drain_quiet();
    let notes = notes(&mut sim, "p", &after);
    assert!(
        notes[0].starts_with("[Branch ended with an error]")
            && notes[0].contains("It was still waiting for a person to answer (Which database should I use?) after 10 min 0 s: nobody did."),
        "{notes:#?}"
    );
}

#[test]
fn a_prompt_in_a_session_that_is_no_branch_is_left_to_opencode() {
    let mut sim = Sim::default();
    sim.busy("p");
    permission_asked(&mut sim, "p", "per_1");
    assert!(sim.drain().is_empty());
    assert!(sim.engine.is_empty());
}

#[test]
fn a_follow_up_to_a_finished_branch_whose_session_runs_a_turn_waits_for_it() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    let b = branches[0].clone();
    sim.idle("p");
    let done = branch_answers(&mut sim, &b, "answer A");
    notes(&mut sim, "p", &done);
    // A person writes in the finished branch.
    sim.busy(&b);
    sim.busy("p");
    let (call, actions) = follow_up(&mut sim, "p", &b, "one more thing");
    assert!(reply_to(&actions, call).1.contains("its turn runs"));
    assert!(requests(&actions).is_empty(), "{actions:#?}");
    let prompt = deliver_next(&mut sim, &b);
    assert_eq!(prompt, sim::prompt(&b, "build", &["one more thing"]));
}

#[test]
fn a_follow_up_to_a_deleted_branch_is_refused() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    sim.drain();
    sim.deleted(&branches[0]);
    sim.drain();
    let (call, actions) = follow_up(&mut sim, "p", &branches[0], "still there?");
    let (ok, text) = reply_to(&actions, call);
    assert!(!ok && text.starts_with("The session was deleted"), "{text}");
    assert!(requests(&actions).is_empty());
}

#[test]
fn cancelling_a_branch_answering_a_follow_up_says_the_text_arrived() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    let b = branches[0].clone();
    sim.idle("p");
    let done = branch_answers(&mut sim, &b, "answer A");
    notes(&mut sim, "p", &done);
    sim.busy("p");
    let (_, actions) = follow_up(&mut sim, "p", &b, "go on");
    let prompt = single_request(&actions, |r| matches!(r, Request::Prompt { .. }));
    sim.outcome(prompt, Outcome::Done);
    sim.busy(&b);
    let (_, actions) = cancel(&mut sim, "p", &b);
    assert!(notices(&actions).iter().any(|n| matches!(
        n,
        Notice::RelayDelivered {
            delivery: opencode_sessions_engine::Delivery::AnsweringWhenCancelled,
            ..
        }
    )));
    assert_eq!(sim.engine.pending_relays(&b), 0);
}

#[test]
fn where_the_host_ends_with_the_turn_a_waiting_call_returns_with_its_branch_report() {
    let mut sim = Sim::with_config(capped(1));
    sim.engine.handle_host_ends_with_turn();
    let (calls, actions) = fork_calls(&mut sim, "p", &["A", "B"]);
    assert_eq!(forks_requested(&actions), 1);
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::ReplyToTool { .. })),
        "{actions:#?}"
    );
    let first = open(&mut sim, "p", &actions);
    let after = branch_answers(&mut sim, &first[0], "answer A");
    assert!(reply_to(&after, calls[0]).1.contains("answer A"));
    let second = open(&mut sim, "p", &after);
    let after = branch_answers(&mut sim, &second[0], "answer B");
    let (ok, text) = reply_to(&after, calls[1]);
    assert!(
        ok && text.starts_with("[Branch finished] \"fork 2/2 · build · B\""),
        "{text}"
    );
}

#[test]
fn a_follow_up_waits_behind_an_opening_prompt_not_yet_started_and_goes_out_if_it_fails() {
    let mut sim = Sim::default();
    let (_, actions) = fork_calls(&mut sim, "p", &["A"]);
    let branches = open(&mut sim, "p", &actions);
    // The branch's prompt is accepted, its turn has not started: no second prompt beside it.
    let (call, actions) = follow_up(&mut sim, "p", &branches[0], "and then B");
    let (ok, text) = reply_to(&actions, call);
    assert!(
        ok && text.contains("gets your text when that turn ends"),
        "{text}"
    );
    assert!(
        !requests(&actions)
            .iter()
            .any(|(_, r)| matches!(r, Request::Prompt { .. })),
        "{actions:#?}"
    );
    // OpenCode refuses to run the opening prompt: the follow-up goes out now.
    sim.event(
        json!({"type": "session.error", "properties": {"sessionID": branches[0],
        "error": {"name": "UnknownError", "data": {"message": "Agent not found"}}}}),
    );
    let after = sim.drain_quiet();
    let prompt = single_request(&after, |r| {
        *r == sim::prompt(&branches[0], "build", &["and then B"])
    });
    sim.outcome(prompt, Outcome::Done);
    sim.drain();
    let status = status_text(&mut sim, "p");
    assert!(status.contains("— running"), "{status}");
    sim.idle("p");
    let idle = sim.drain_quiet();
    notes(&mut sim, "p", &idle);
    let done = branch_answers(&mut sim, &branches[0], "B done");
    let home = notes(&mut sim, "p", &done);
    assert!(home.iter().any(|n| n.contains("B done")), "{home:#?}");
}

/// A fork of `p` made as branch `p-b`, its opening prompt sent and not yet
/// answered; returns the branch and the prompt's request.
fn forked_with_prompt_unanswered(sim: &mut Sim) -> (String, ActionId) {
    let (_, actions) = fork_calls(sim, "p", &["A"]);
    let fork = single_request(&actions, |r| matches!(r, Request::ForkSession { .. }));
    let b = "p-b".to_string();
    sim.outcome(
        fork,
        Outcome::Session {
            id: b.clone(),
            title: "t".into(),
        },
    );
    let [(prompt, Request::Prompt { .. })] = requests_but_renames(&sim.drain_quiet())[..] else {
        panic!("expected the opening prompt");
    };
    (b, prompt)
}

#[test]
fn a_branch_whose_opening_turn_ends_before_its_prompt_is_confirmed_is_read_and_takes_a_follow_up_at_once(
) {
    let mut sim = Sim::default();
    let (b, prompt) = forked_with_prompt_unanswered(&mut sim);
    // OpenCode tells of the whole opening turn before it confirms the prompt.
    sim.busy(&b);
    sim.idle(&b);
    sim.outcome(prompt, Outcome::Done);
    let read = single_request(
        &sim.drain_quiet(),
        |r| matches!(r, Request::LastAnswer { session_id } if *session_id == b),
    );
    sim.outcome(read, answer("answer A"));
    sim.idle("p");
    let done = sim.drain_quiet();
    let home = notes(&mut sim, "p", &done);
    assert!(home.iter().any(|n| n.contains("answer A")), "{home:#?}");

    // The branch is idle: a follow-up goes out now, not after a turn that already ended.
    let (call, actions) = follow_up(&mut sim, "p", &b, "and then B");
    let (ok, text) = reply_to(&actions, call);
    assert!(
        ok && text.contains("build is answering your text there now"),
        "{text}"
    );
    single_request(&actions, |r| {
        *r == sim::prompt(&b, "build", &["and then B"])
    });
}

/// A fork of `p` whose opening prompt was accepted but whose turn has not started.
fn opening_branch(sim: &mut Sim) -> String {
    let (_, actions) = fork_calls(sim, "p", &["A"]);
    open(sim, "p", &actions).remove(0)
}

fn session_error(sim: &mut Sim, session: &str) {
    sim.event(
        json!({"type": "session.error", "properties": {"sessionID": session,
        "error": {"name": "UnknownError", "data": {"message": "Agent not found"}}}}),
    );
}

fn prompts_to(actions: &[Action], session: &str) -> usize {
    requests(actions)
        .iter()
        .filter(|(_, r)| matches!(r, Request::Prompt { session_id, .. } if session_id == session))
        .count()
}

#[test]
fn an_idle_repeated_before_the_opening_turn_starts_does_not_send_the_follow_up_behind_it() {
    let mut sim = Sim::default();
    let b = opening_branch(&mut sim);
    let (call, actions) = follow_up(&mut sim, "p", &b, "and then B");
    assert!(reply_to(&actions, call).0);
    // A late idle of an earlier edge: the opening turn has not run yet.
    sim.idle(&b);
    assert_eq!(prompts_to(&sim.drain_quiet(), &b), 0);
    sim.busy(&b);
    sim.idle(&b);
    let after = sim.drain_quiet();
    single_request(&after, |r| *r == sim::prompt(&b, "build", &["and then B"]));
}

#[test]
fn a_follow_up_behind_an_opening_prompt_goes_out_when_it_is_refused_though_the_parent_is_gone() {
    let mut sim = Sim::default();
    let b = opening_branch(&mut sim);
    follow_up(&mut sim, "p", &b, "and then B");
    sim.deleted("p");
    sim.drain_quiet();
    session_error(&mut sim, &b);
    let after = sim.drain_quiet();
    let prompt = single_request(&after, |r| *r == sim::prompt(&b, "build", &["and then B"]));
    sim.outcome(prompt, Outcome::Done);
    sim.busy(&b);
    sim.idle(&b);
    let delivered = notices(&sim.drain_quiet());
    assert!(
        delivered
            .iter()
            .any(|n| matches!(n, Notice::RelayDelivered { session_id, .. } if *session_id == b)),
        "{delivered:#?}"
    );
    assert!(sim.engine.is_quiet(), "{:#?}", sim.engine);
}

#[test]
fn a_follow_up_to_a_branch_cancelled_before_its_opening_turn_waits_for_that_turn() {
    let mut sim = Sim::default();
    let b = opening_branch(&mut sim);
    let (_, actions) = cancel(&mut sim, "p", &b);
    let stop = single_request(&actions, |r| matches!(r, Request::AbortSession { .. }));
    sim.outcome(stop, Outcome::Done);
    sim.drain_quiet();
    // The stop came before the opening turn began, which runs all the same.
    let (call, actions) = follow_up(&mut sim, "p", &b, "and then B");
    let (ok, text) = reply_to(&actions, call);
    assert!(
        ok && text.contains("gets your text when that turn ends"),
        "{text}"
    );
    assert_eq!(prompts_to(&actions, &b), 0, "{actions:#?}");
    sim.busy(&b);
    sim.idle(&b);
    let after = sim.drain_quiet();
    single_request(&after, |r| *r == sim::prompt(&b, "build", &["and then B"]));
}

#[test]
fn a_follow_up_while_the_answer_is_read_waits_for_a_turn_a_person_began_meanwhile() {
    let mut sim = Sim::default();
    let b = opening_branch(&mut sim);
    sim.busy(&b);
    sim.idle(&b);
    let read = single_request(&sim.drain_quiet(), |r| {
        matches!(r, Request::LastAnswer { .. })
    });
    follow_up(&mut sim, "p", &b, "more");
    sim.person_writes(&b);
    sim.busy(&b);
    sim.outcome(read, answer("first"));
    assert_eq!(prompts_to(&sim.drain_quiet(), &b), 0);
    sim.idle(&b);
    let after = sim.drain_quiet();
    single_request(&after, |r| *r == sim::prompt(&b, "build", &["more"]));
}

#[test]
fn a_turn_that_runs_while_the_opening_prompt_waits_to_be_sent_again_is_not_the_branchs() {
    let mut sim = Sim::default();
    let (b, prompt) = forked_with_prompt_unanswered(&mut sim);
    sim.outcome(
        prompt,
        Outcome::failed_with(FailureCause::Unreachable, "connect ECONNREFUSED"),
    );
    // A person's turn in the new session while the prompt waits to be retried.
    sim.person_writes(&b);
    sim.busy(&b);
    sim.drain_quiet();
    sim.advance(500);
    let [(retry, Request::Prompt { .. })] = requests_but_renames(&sim.drain_quiet())[..] else {
        panic!("expected the opening prompt again");
    };
    sim.outcome(retry, Outcome::Done);
    sim.drain_quiet();
    // That turn fails: the branch's own turn is still to come.
    session_error(&mut sim, &b);
    let failed = notices(&sim.drain_quiet());
    assert!(
        !failed
            .iter()
            .any(|n| matches!(n, Notice::BranchFailed { .. })),
        "{failed:#?}"
    );
    // A follow-up does not go into the running turn.
    let (call, actions) = follow_up(&mut sim, "p", &b, "and then B");
    assert!(reply_to(&actions, call).0);
    assert_eq!(prompts_to(&actions, &b), 0, "{actions:#?}");
}
