//! Node-API binding of the relay engine. It converts between JS values and
//! the engine's types and nothing more; the logic lives in
//! `opencode-sessions-engine`.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bound_inputs;
mod decode;
mod error;
mod js_engine;
mod json;
mod types;

pub use js_engine::{
    modes, option_names, options_refused_title, relevant_event_types, JsRelayEngine,
};
