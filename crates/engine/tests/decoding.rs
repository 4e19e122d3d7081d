//! Generated JSON through the four decoders the binding uses (options, tool
//! calls, bus events, outcomes) and, when decoding succeeds, into a fresh
//! engine: no panic, every refusal has a message, every action can be encoded.

use opencode_sessions_engine::fuzz::decode_value;
use opencode_sessions_engine::{Mode, OPTION_NAMES, RELEVANT_EVENT_TYPES};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Keys the decoders read, so generated objects often reach past the first check.
const KEYS: &[&str] = &[
    "type",
    "properties",
    "sessionID",
    "status",
    "info",
    "id",
    "role",
    "time",
    "completed",
    "finish",
    "error",
    "name",
    "data",
    "message",
    "sessionId",
    "messageId",
    "callerAgent",
    "mode",
    "text",
    "agent",
    "agents",
    "hidden",
    "title",
    "providerId",
    "modelId",
    "cause",
    "relay",
];

/// [`KEYS`] and every option name.
fn keys() -> Vec<&'static str> {
    KEYS.iter().chain(OPTION_NAMES.iter()).copied().collect()
}

/// [`WORDS`] and every event type the engine reads.
fn words() -> Vec<&'static str> {
    WORDS
        .iter()
        .chain(RELEVANT_EVENT_TYPES.iter())
        .copied()
        .collect()
}

/// Strings the decoders compare against, and some that are almost those.
const WORDS: &[&str] = &[
    "message",
    "new",
    "compact",
    "fork",
    "status",
    "cancel",
    "FORK",
    " fork ",
    "fork\u{0}",
    "idle",
    "busy",
    "retry",
    "assistant",
    "user",
    "done",
    "agents",
    "session",
    "answer",
    "model",
    "failed",
    "unreachable",
    "unavailable",
    "refused",
    "primary",
    "subagent",
    "build",
    "plan",
    "each",
    "all",
    "off",
    "ses_1",
    "msg_1",
    "",
    " ",
    "\u{202e}",
    "\u{fffd}",
    "../../etc/passwd",
    "$(id)",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(words()).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![4 => proptest::sample::select(keys()).prop_map(str::to_owned), 1 => any::<String>()],
                    inner
                ),
                0..8
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A field that is usually a plausible string, sometimes anything, sometimes left out.
fn field(name: &'static str) -> impl Strategy<Value = Option<(String, Value)>> {
    prop_oneof![
        6 => word().prop_map(move |w| Some((name.to_owned(), Value::String(w)))),
        1 => json().prop_map(move |v| Some((name.to_owned(), v))),
        1 => Just(None),
    ]
}

fn object(fields: Vec<BoxedStrategy<Option<(String, Value)>>>) -> impl Strategy<Value = Value> {
    fields.prop_map(|pairs| Value::Object(pairs.into_iter().flatten().collect::<Map<_, _>>()))
}

/// Objects shaped like a tool call: the right keys, values mostly plausible.
fn tool_call_like() -> impl Strategy<Value = Value> {
    let names = [
        "sessionId",
        "messageId",
        "callerAgent",
        "mode",
        "text",
        "agent",
    ];
    let mut fields: Vec<_> = names
        .into_iter()
        .map(|n| match n {
            // Often a mode the tool has, so that calls get past the mode.
            "mode" => prop_oneof![
                1 => proptest::sample::select(Mode::EVERY.map(Mode::as_str).to_vec())
                    .prop_map(|m| Some(("mode".to_owned(), Value::from(m)))),
                1 => field("mode"),
            ]
            .boxed(),
            _ => field(n).boxed(),
        })
        .collect();
    // Mostly left out: only message and cancel take it.
    fields.push(prop_oneof![3 => Just(None), 1 => field("session")].boxed());
    object(fields)
}

/// Objects shaped like a bus event.
fn event_like() -> impl Strategy<Value = Value> {
    let status = object(vec![field("type").boxed()]);
    let error = || object(vec![field("name").boxed(), field("data").boxed()]);
    let time = prop_oneof![Just(json!({"completed": 2})), json()];
    let info = (
        object(
            ["id", "sessionID", "role", "finish"]
                .into_iter()
                .map(|n| field(n).boxed())
                .collect(),
        ),
        time,
        error(),
    )
        .prop_map(|(mut info, time, error)| {
            info["time"] = time;
            info["error"] = error;
            info
        });
    let properties =
        (field("sessionID"), status, info, error()).prop_map(|(id, status, info, error)| {
            let mut props = json!({"status": status, "info": info, "error": error});
            if let Some((key, value)) = id {
                props[key] = value;
            }
            props
        });
    (field("type"), properties).prop_map(|(kind, properties)| {
        let mut event = json!({"properties": properties});
        if let Some((key, value)) = kind {
            event[key] = value;
        }
        event
    })
}

/// Objects shaped like an outcome.
fn outcome_like() -> impl Strategy<Value = Value> {
    let agents = prop::collection::vec(
        object(vec![field("name").boxed(), field("mode").boxed()]),
        0..4,
    )
    .prop_map(|list| Some(("agents".to_owned(), Value::Array(list))));
    let names = [
        "type",
        "id",
        "title",
        "text",
        "error",
        "providerId",
        "modelId",
        "message",
        "cause",
    ];
    let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> =
        names.into_iter().map(|n| field(n).boxed()).collect();
    fields.push(agents.boxed());
    object(fields)
}

/// Objects shaped like the plugin options.
fn options_like() -> impl Strategy<Value = Value> {
    let list = prop::collection::vec(word().prop_map(Value::String), 0..4).prop_map(Value::Array);
    let number = prop_oneof![(0u64..2_000).prop_map(Value::from), json()];
    let value = prop_oneof![
        list,
        number,
        any::<bool>().prop_map(Value::Bool),
        word().prop_map(Value::String)
    ];
    prop::collection::vec(
        (
            proptest::sample::select(keys()).prop_map(str::to_owned),
            value,
        ),
        0..4,
    )
    .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>()))
}

/// A selector and a value shaped for the decoder it selects, or any JSON.
fn input() -> impl Strategy<Value = (u8, Value)> {
    prop_oneof![
        options_like().prop_map(|v| (0, v)),
        tool_call_like().prop_map(|v| (1, v)),
        event_like().prop_map(|v| (2, v)),
        outcome_like().prop_map(|v| (3, v)),
        (0u8..5, json()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn any_json_is_decoded_or_refused_with_a_message((selector, value) in input()) {
        if let Err(broken) = decode_value(selector, value.clone()) {
            prop_assert!(false, "{broken}\ninput (selector {selector}): {value}");
        }
    }
}

/// The generated values reach the engine, not only the first check of each
/// decoder: a fair share of each shape decodes.
#[test]
fn generated_inputs_often_decode() {
    use opencode_sessions_engine::{BusEvent, EngineConfig, Outcome, ToolCall};
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let mut decoded = [0usize; 4];
    let samples = 1_000;
    for _ in 0..samples {
        let mut sample = |strategy: BoxedStrategy<Value>| {
            strategy
                .new_tree(&mut runner)
                .map(|tree| tree.current())
                .unwrap_or(Value::Null)
        };
        decoded[0] +=
            usize::from(EngineConfig::from_options(&sample(options_like().boxed())).is_ok());
        decoded[1] += usize::from(ToolCall::from_json(sample(tool_call_like().boxed())).is_ok());
        let event = sample(event_like().boxed());
        decoded[2] +=
            usize::from(matches!(BusEvent::from_json(&event), Ok(e) if e != BusEvent::Other));
        decoded[3] += usize::from(Outcome::from_json(sample(outcome_like().boxed())).is_ok());
    }
    for (count, what) in decoded
        .iter()
        .zip(["options", "tool calls", "events", "outcomes"])
    {
        assert!(
            *count >= samples / 50,
            "only {count} of {samples} generated {what} decode"
        );
    }
}
