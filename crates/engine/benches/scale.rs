//! How the engine scales with the number of sessions that hold a pending
//! relay: the memory it keeps (counted by a global allocator that tracks
//! live bytes) and how many inputs (`handle_*` calls, each followed by
//! draining its actions as a host must) it handles per second.
//!
//!   cargo bench -p opencode-sessions-engine --bench scale [-- 1000,10000,100000]
//!
//! Prints a table, then one line of JSON for `bench/run.mjs`.

use opencode_sessions_engine::{Action, ActionId, BusEvent, Outcome, RelayEngine, ToolCall};
use serde_json::{json, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

/// The system allocator, counting the bytes currently allocated and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Relaxed) + bytes;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = System.realloc(ptr, layout, new_size);
        if !moved.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const NOW: u64 = 1_000;
/// Inputs per size, so small sizes repeat until their timing is stable.
const INPUTS_PER_SIZE: usize = 2_000_000;

fn session(i: usize) -> String {
    format!("ses_{i:08}")
}

fn event(value: Value) -> BusEvent {
    BusEvent::from_json(&value).expect("an event as OpenCode sends it")
}

fn status(session: &str, kind: &str) -> BusEvent {
    event(
        json!({"type": "session.status", "properties": {"sessionID": session, "status": {"type": kind}}}),
    )
}

fn idle(session: &str) -> BusEvent {
    event(json!({"type": "session.idle", "properties": {"sessionID": session}}))
}

fn outcome(value: Value) -> Outcome {
    Outcome::from_json(value).expect("a valid outcome")
}

/// Drains the engine's actions, as a host does after every input, keeping the request ids.
fn drain(engine: &mut RelayEngine, requests: &mut Vec<ActionId>) {
    while let Some(action) = engine.poll_action() {
        if let Action::Request { id, .. } = action {
            requests.push(id);
        }
        black_box(());
    }
}

/// A `message` call from session `i` to `plan`.
fn call(i: usize) -> ToolCall {
    ToolCall::from_json(json!({
        "sessionId": session(i), "messageId": format!("msg_{i}"), "callerAgent": "build",
        "mode": "message", "text": format!("Review the auth module, part {i}"), "agent": "plan"
    }))
    .expect("a valid tool call")
}

fn agents() -> Outcome {
    outcome(json!({"type": "agents", "agents": [
        {"name": "build", "mode": "primary"},
        {"name": "plan", "mode": "primary"},
        {"name": "general", "mode": "subagent"}
    ]}))
}

/// Runs a tool call through the agent check and a granted permission, so
/// its relay is queued.
fn queue(engine: &mut RelayEngine, call: ToolCall, agents: Outcome, requests: &mut Vec<ActionId>) {
    black_box(engine.handle_tool_call(NOW, call));
    drain(engine, requests);
    let list = requests.pop().expect("the call lists agents");
    black_box(engine.handle_outcome(NOW, list, agents));
    drain(engine, requests);
    let ask = requests.pop().expect("the call asks for permission");
    black_box(engine.handle_outcome(NOW, ask, Outcome::Done));
    drain(engine, requests);
    requests.clear();
}

/// Live bytes the engine holds for `n` sessions: with one queued relay each,
/// and once every session's prompt is in flight. Inputs are built one at a
/// time, so only the engine's own memory stays allocated.
fn memory(n: usize) -> (usize, usize) {
    let start = LIVE.load(Relaxed);
    let mut engine = RelayEngine::default();
    let mut requests = Vec::new();
    for i in 0..n {
        queue(&mut engine, call(i), agents(), &mut requests);
    }
    drop(requests);
    let queued = LIVE.load(Relaxed).saturating_sub(start);
    let mut prompts = Vec::new();
    for i in 0..n {
        engine.handle_event(NOW, status(&session(i), "idle"));
        drain(&mut engine, &mut prompts);
    }
    assert_eq!(prompts.len(), n, "one prompt per session");
    let held = std::mem::size_of::<ActionId>() * prompts.capacity();
    let in_flight = LIVE.load(Relaxed).saturating_sub(start + held);
    (queued, in_flight)
}

/// Seconds to queue one `message` relay in each of `n` sessions (3 inputs
/// each) and to deliver them all (6 inputs each). Each stage runs across
/// every session, so the engine holds `n` sessions throughout. Inputs are
/// built before the clock starts.
fn timing(n: usize) -> (f64, f64) {
    let calls: Vec<ToolCall> = (0..n).map(call).collect();
    let listed: Vec<Outcome> = (0..n).map(|_| agents()).collect();
    let mut engine = RelayEngine::default();
    let mut requests = Vec::with_capacity(4);
    let started = Instant::now();
    for (call, agents) in calls.into_iter().zip(listed) {
        queue(&mut engine, call, agents, &mut requests);
    }
    let queue_secs = started.elapsed().as_secs_f64();

    let ids: Vec<String> = (0..n).map(session).collect();
    let ends = |kind: &str| -> Vec<BusEvent> { ids.iter().map(|s| status(s, kind)).collect() };
    let idles = || -> Vec<BusEvent> { ids.iter().map(|s| idle(s)).collect() };
    let turn_ends = vec![ends("idle"), idles()];
    let answers = vec![ends("busy"), ends("idle"), idles()];
    let accepted: Vec<Outcome> = (0..n).map(|_| outcome(json!({"type": "done"}))).collect();
    let mut prompts = Vec::with_capacity(n);
    let started = Instant::now();
    // The calling turn ends (status idle, then session.idle): each relay is prompted once.
    for events in turn_ends {
        for event in events {
            engine.handle_event(NOW, event);
            drain(&mut engine, &mut prompts);
        }
    }
    // OpenCode accepts each prompt; the answer runs and ends.
    for (id, done) in prompts.iter().zip(accepted) {
        black_box(engine.handle_outcome(NOW, *id, done));
        drain(&mut engine, &mut requests);
    }
    for events in answers {
        for event in events {
            engine.handle_event(NOW, event);
            drain(&mut engine, &mut requests);
        }
    }
    let deliver_secs = started.elapsed().as_secs_f64();
    assert_eq!(prompts.len(), n, "one prompt per session");
    assert!(engine.is_quiet(), "every relay was delivered");
    (queue_secs, deliver_secs)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .map(|list| {
            list.split(',')
                .map(|n| n.trim().parse().expect("sizes are whole numbers"))
                .collect()
        })
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);

    let mut rows = Vec::new();
    let mut first_per_session = None;
    println!(
        "{:>8}  {:>12}  {:>13}  {:>15}  {:>15}  {:>17}  {:>13}",
        "sessions",
        "queued",
        "bytes/session",
        "prompts sent",
        "queue inputs/s",
        "deliver inputs/s",
        "all inputs/s"
    );
    for &n in &sizes {
        let (queued, in_flight) = memory(n);
        let reps = (INPUTS_PER_SIZE / (9 * n)).max(3);
        let runs: Vec<(f64, f64)> = (0..reps).map(|_| timing(n)).collect();
        let rate = |inputs: usize, secs: fn(&(f64, f64)) -> f64| {
            median(runs.iter().map(|run| inputs as f64 / secs(run)).collect())
        };
        let queue = rate(3 * n, |run| run.0);
        let deliver = rate(6 * n, |run| run.1);
        let all = rate(9 * n, |run| run.0 + run.1);
        let per_session = queued as f64 / n as f64;
        let growth = per_session / *first_per_session.get_or_insert(per_session);
        println!(
            "{:>8}  {:>9.2} MB  {:>13.0}  {:>12.2} MB  {:>13.2} M  {:>15.2} M  {:>11.2} M",
            n,
            queued as f64 / 1e6,
            per_session,
            in_flight as f64 / 1e6,
            queue / 1e6,
            deliver / 1e6,
            all / 1e6
        );
        rows.push(json!({
            "sessions": n,
            "repetitions": reps,
            "bytesQueued": queued,
            "bytesPromptsInFlight": in_flight,
            "bytesPerSession": per_session,
            "bytesPerSessionVsFirst": growth,
            "inputsPerSecond": { "queue": queue, "deliver": deliver, "all": all },
        }));
    }
    println!(
        "{}",
        json!({ "bench": "engine-scale", "command": "cargo bench -p opencode-sessions-engine --bench scale", "sizes": rows })
    );
}
