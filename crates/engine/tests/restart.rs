//! Hand-offs pending when OpenCode stops: the journal the host keeps on
//! disk, and what the sessions are told when OpenCode starts again.

mod sim;

use opencode_sessions_engine::{
    FailureCause, NoteKind, Notice, Outcome, PendingHandOff, RelayId, Request, RequestError,
    ToastVariant,
};
use sim::*;

fn handoff(session: &str, relay: u64, agent: &str, text: &str) -> PendingHandOff {
    PendingHandOff {
        session_id: session.to_owned(),
        relay,
        mode: "message".to_owned(),
        caller_agent: "build".to_owned(),
        agent: agent.to_owned(),
        text: text.to_owned(),
    }
}

#[test]
fn the_journal_changes_when_a_hand_off_is_queued_and_when_it_is_answered() {
    let mut sim = Sim::default();
    assert_eq!(
        sim.engine.poll_journal(),
        None,
        "nothing pending, nothing new"
    );
    sim.busy("s1");
    sim.call_checked("s1", "build", "message", "first", Some("plan"));
    sim.call_checked("s1", "build", "compact", "second", None);
    let journal = sim.engine.poll_journal().expect("two relays were queued");
    let texts: Vec<(&str, &str, &str)> = journal
        .iter()
        .map(|h| (h.session_id.as_str(), h.mode.as_str(), h.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [("s1", "message", "first"), ("s1", "compact", "second")]
    );
    assert_eq!(sim.engine.poll_journal(), None, "unchanged since");

    // The first goes out: its text has arrived, whatever becomes of the answer.
    deliver_next(&mut sim, "s1");
    let journal = sim.engine.poll_journal().expect("the first was sent");
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].text, "second");
    sim.idle("s1");
    assert_eq!(
        sim.engine.poll_journal(),
        None,
        "the compact is still to come"
    );

    sim.deleted("s1");
    sim.drain();
    assert_eq!(sim.engine.poll_journal(), Some(Vec::new()));
}

#[test]
fn after_a_restart_each_session_is_told_what_was_not_delivered_and_nothing_is_sent_again() {
    let mut sim = Sim::default();
    sim.engine.handle_restored(
        sim.now,
        vec![
            handoff("s1", 4, "plan", "Review the diff"),
            handoff("s2", 9, "build", "Apply the plan"),
        ],
    );
    let actions = sim.drain_quiet();
    let sent = requests(&actions);
    assert_eq!(sent.len(), 2, "{actions:#?}");
    for ((_, request), (session, relay)) in
        sent.iter().zip([("s1", "relay #4"), ("s2", "relay #9")])
    {
        let Request::Note {
            session_id,
            agent,
            text,
        } = request
        else {
            panic!("a note, not {request:?}");
        };
        assert_eq!((session_id.as_str(), agent.as_str()), (session, "build"));
        assert!(
            text.starts_with("[Hand-off not delivered] OpenCode stopped before relay #")
                && text.contains(relay),
            "{text}"
        );
    }
    assert!(matches!(
        &notices(&actions)[..],
        [Notice::HandOffsRestored { items }]
            if items.iter().map(|i| (i.session_id.as_str(), i.relay)).eq([("s1", RelayId(4)), ("s2", RelayId(9))])
    ));
    let shown = toasts(&actions);
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].0, ToastVariant::Warning);
    assert_eq!(shown[0].1, "OpenCode stopped: 2 hand-offs not delivered");
    assert!(shown[0].2.contains("relay #4 → plan: \"Review the diff\""));

    // A session deleted meanwhile refuses its note: that is said too.
    sim.outcome(sent[0].0, Outcome::Done);
    sim.outcome(
        sent[1].0,
        Outcome::Failed {
            message: "Session not found".to_owned(),
            cause: FailureCause::Refused,
        },
    );
    let actions = sim.drain_quiet();
    assert!(matches!(
        &notices(&actions)[..],
        [Notice::NoteLost {
            session_id,
            note: NoteKind::LostAtStop,
            error: RequestError::Failed { message },
        }] if session_id == "s2" && message == "Session not found"
    ));
    let shown = toasts(&actions);
    assert_eq!(shown.len(), 1, "{actions:#?}");
    assert_eq!(
        (shown[0].0, shown[0].1.as_str()),
        (ToastVariant::Error, "Hand-off lost at restart")
    );
    assert!(
        requests(&actions).is_empty(),
        "no prompt, no retry of a refusal"
    );
    assert!(sim.engine.is_empty());
}

#[test]
fn a_prompt_waiting_to_be_tried_again_stays_on_the_list() {
    let mut sim = Sim::default();
    sim.busy("s1");
    sim.call_checked("s1", "build", "message", "retried", Some("plan"));
    sim.engine.poll_journal();
    sim.idle("s1");
    let sent = requests(&sim.drain_quiet());
    assert_eq!(
        sim.engine.poll_journal().map(|list| list.len()),
        Some(0),
        "sent: off the list"
    );
    // It never reached OpenCode: a stop before the next attempt would lose it.
    sim.outcome(
        sent[0].0,
        Outcome::Failed {
            message: "ECONNREFUSED".to_owned(),
            cause: FailureCause::Unreachable,
        },
    );
    let journal = sim.engine.poll_journal().expect("back on the list");
    assert_eq!(journal[0].text, "retried");
    sim.advance(500);
    assert_eq!(sim.engine.poll_journal().map(|list| list.len()), Some(0));
}
