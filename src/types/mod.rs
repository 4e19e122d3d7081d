//! The JS-facing types: what crosses the boundary, as napi-rs typed objects
//! and enums, so `index.d.ts` carries their TypeScript types and nothing is
//! mirrored by hand. They keep their Rust names in TypeScript (`JsAction`, ...):
//! napi-rs resolves a renamed type only where its definition was expanded
//! first, which depends on module order. One type (and the small enums only it uses) per file;
//! each converts from or to its engine type with an exhaustive match, so a
//! new engine variant fails the build here. Outputs also derive their serde
//! shape, the same camelCase names and tags: they cross as JSON text (see
//! `json.rs`), and an `Option` is `null` there, which `use_nullable` says in
//! the TypeScript.

mod action;
// Type only (`index.d.ts`): json.rs writes their JSON.
mod drain;
mod engine_stats;
// Type only (`index.d.ts`), like `tool_call`.
mod host_limit;
mod mode;
mod notice;
mod options;
mod outcome;
mod pending_hand_off;
mod request;
// Type only (`index.d.ts`): nothing in Rust names them.
mod tool_call;
mod tool_text;

pub use action::{JsAction, JsLogLevel};
pub use engine_stats::JsEngineStats;
pub use mode::{JsBranchMode, JsSessionMode, JsToolMode};
pub use notice::JsNotice;
pub use options::JsSessionsOptions;
pub use outcome::JsOutcome;
pub use pending_hand_off::JsPendingHandOff;
pub use request::JsRequest;
pub use tool_text::JsToolText;
