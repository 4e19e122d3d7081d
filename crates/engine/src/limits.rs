//! How much a `session` tool call may carry. Both the decoder
//! (`tool_call.rs`) and its error messages (`error.rs`) name these limits.

/// The longest `text` a call may hand over, in bytes of UTF-8. A model's
/// whole answer is far shorter; OpenCode itself stops answering a prompt of
/// about 4 MiB.
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;

/// The longest `agent` name a call may give, in characters.
pub const MAX_AGENT_CHARS: usize = 128;

/// The longest `session` a call may name, in characters: far longer than
/// any session id, long enough for the start of a title.
pub const MAX_SESSION_CHARS: usize = 200;
