//! Every input of the fuzz target's corpus (`fuzz/corpus/decode_inputs/`),
//! replayed through the same function the target calls, so the stable
//! `cargo test` checks what the fuzzer found interesting.

use opencode_sessions_engine::fuzz::decode_inputs;
use std::path::Path;

#[test]
fn the_fuzz_corpus_replays_without_breaking_an_invariant() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/decode_inputs");
    let mut replayed = 0;
    let mut broken = Vec::new();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a corpus entry").path();
        let data = std::fs::read(&path).expect("a readable corpus file");
        if let Err(why) = decode_inputs(&data) {
            broken.push(format!("{}: {why}", path.display()));
        }
        replayed += 1;
    }
    assert!(
        replayed >= 30,
        "only {replayed} corpus files in {}",
        dir.display()
    );
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// Found by the fuzzer: a `session.error` naming session "" made the drive
/// open a call in a session no tool call can come from.
#[test]
fn a_session_error_with_a_blank_session_id_names_no_session() {
    use opencode_sessions_engine::BusEvent;
    let event = serde_json::json!({"type": "session.error", "properties": {"sessionID": "", "error": {"name": "MessageAbortedError"}}});
    assert_eq!(
        BusEvent::from_json(&event),
        Ok(BusEvent::Error {
            session_id: None,
            name: Some("MessageAbortedError".to_owned()),
            message: None
        })
    );
    let data = [b"\x02".as_slice(), event.to_string().as_bytes()].concat();
    assert_eq!(decode_inputs(&data), Ok(()));
    let data = [
        b"\x02".as_slice(),
        br#"{"type": "session.idle", "properties": {"sessionID": "  "}}"#,
    ]
    .concat();
    assert_eq!(decode_inputs(&data), Ok(()));
}
