//! First byte: which decoder (options, tool call, event, outcome, all);
//! the rest: JSON text. See `opencode_sessions_engine::fuzz`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = opencode_sessions_engine::fuzz::decode_inputs(data) {
        panic!("{broken}");
    }
});
