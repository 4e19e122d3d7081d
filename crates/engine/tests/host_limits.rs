//! Modes the host says it cannot perform: left out of what the tool offers,
//! and refused naming what the host lacks.

mod sim;

use opencode_sessions_engine::{
    tool_text, EngineConfig, HostLimit, InputError, Mode, Notice, Refusal,
};
use serde_json::json;
use sim::{notices, reply_to, requests, Sim};

fn lacking(limits: &[(Mode, &str)]) -> EngineConfig {
    EngineConfig {
        host_limits: limits
            .iter()
            .map(|(mode, lacks)| HostLimit {
                mode: *mode,
                lacks: (*lacks).to_owned(),
            })
            .collect(),
        ..EngineConfig::default()
    }
}

#[test]
fn a_mode_the_host_lacks_is_not_offered() {
    let config = lacking(&[(Mode::Fork, "a way to fork a session from a plugin")]);
    assert_eq!(
        config.offered_modes(),
        [
            Mode::Message,
            Mode::New,
            Mode::Compact,
            Mode::Status,
            Mode::Cancel
        ]
    );
    let text = tool_text(&config.offered_modes());
    assert!(
        !text.description.contains("- fork:"),
        "{}",
        text.description
    );
    assert!(!text.mode.contains("fork"), "{}", text.mode);
}

#[test]
fn status_goes_when_the_host_can_open_no_branch() {
    let config = lacking(&[(Mode::Fork, "forking"), (Mode::New, "creating sessions")]);
    assert_eq!(config.offered_modes(), [Mode::Message, Mode::Compact]);
}

#[test]
fn a_call_to_a_mode_the_host_lacks_is_refused_naming_what_it_lacks() {
    let mut sim = Sim::with_config(lacking(&[(
        Mode::Compact,
        "a way to compact a session from a plugin",
    )]));
    let call = sim.call("s1", "build", "compact", "go on", Some("plan"));
    let actions = sim.drain_quiet();
    let (ok, text) = reply_to(&actions, call);
    assert!(!ok);
    assert!(
        text.contains("this OpenCode lacks a way to compact a session from a plugin")
            && text.contains("message, new, fork")
            && !text.contains("turned off"),
        "{text}"
    );
    assert!(requests(&actions).is_empty(), "{actions:#?}");
    assert!(matches!(
        &notices(&actions)[..],
        [Notice::CallRefused {
            reason: Refusal::HostLacks { enabled, .. },
            ..
        }] if enabled == &[Mode::Message, Mode::New, Mode::Fork]
    ));
    assert!(sim.engine.is_quiet());
}

#[test]
fn a_mode_the_options_turn_off_is_still_refused_as_turned_off() {
    let mut config = lacking(&[(Mode::Fork, "forking")]);
    config.modes = vec![Mode::Message, Mode::Fork];
    let mut sim = Sim::with_config(config);
    let call = sim.call("s1", "build", "new", "x", None);
    let (_, text) = reply_to(&sim.drain_quiet(), call);
    // The modes left exclude the one the host lacks, too.
    assert!(
        text.contains("turned off") && text.ends_with("use: message. Nothing was sent."),
        "{text}"
    );
}

#[test]
fn the_list_is_read_from_json_and_refused_by_field() {
    let read = HostLimit::list_from_json(&json!([{"mode": "fork", "lacks": "  forking  "}]));
    assert_eq!(
        read,
        Ok(vec![HostLimit {
            mode: Mode::Fork,
            lacks: "forking".into()
        }])
    );
    assert_eq!(HostLimit::list_from_json(&json!(null)), Ok(Vec::new()));
    for bad in [
        json!({"mode": "fork"}),
        json!([{"mode": "status", "lacks": "x"}]),
        json!([{"mode": "fork", "lacks": " "}]),
        json!([{"lacks": "x"}]),
    ] {
        assert!(
            matches!(
                HostLimit::list_from_json(&bad),
                Err(InputError::Malformed { .. })
            ),
            "{bad}"
        );
    }
}
