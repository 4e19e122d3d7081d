//! Small typed identifiers handed out by the engine.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A request the engine asked the host to perform; its outcome comes back
/// through [`crate::RelayEngine::handle_outcome`] under the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActionId(pub u64);

/// One invocation of the `session` tool, answered by an
/// [`crate::Action::ReplyToTool`] carrying the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ToolCallId(pub u64);

/// A `message` or `compact` relay waiting for, or going through, delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RelayId(pub u64);

impl fmt::Display for RelayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "relay #{}", self.0)
    }
}
