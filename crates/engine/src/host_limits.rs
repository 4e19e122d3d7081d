//! Modes the host cannot perform, as the host says at construction: an
//! OpenCode build whose plugin API has no way to fork, compact or stop a
//! session, say. Such a mode is neither offered to the model nor accepted,
//! and a call to it is refused naming what the host lacks.

use crate::error::InputError;
use crate::mode::Mode;
use serde_json::Value;

/// A hand-off mode the host cannot perform, and what it lacks for it, in
/// words that finish "this OpenCode lacks …" (e.g. "a way to fork a session
/// from a plugin").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLimit {
    pub mode: Mode,
    pub lacks: String,
}

/// The longest `lacks` kept; the host writes it, the model reads it.
const MAX_LACKS_CHARS: usize = 200;

impl HostLimit {
    /// Reads `[{mode: "fork", lacks: "…"}, …]`; `null` is none. A mode that is
    /// not a hand-off or `cancel` (`status`, a typo) or an empty `lacks` is refused.
    pub fn list_from_json(value: &Value) -> Result<Vec<HostLimit>, InputError> {
        let items = match value {
            Value::Null => return Ok(Vec::new()),
            Value::Array(items) => items,
            Value::Bool(_) | Value::Number(_) | Value::String(_) | Value::Object(_) => {
                return Err(InputError::malformed("host limits", "expected an array"));
            }
        };
        items.iter().map(Self::from_json).collect()
    }

    fn from_json(item: &Value) -> Result<HostLimit, InputError> {
        let mode = item.get("mode").and_then(Value::as_str).unwrap_or_default();
        let mode = Mode::ALL
            .into_iter()
            .chain([Mode::Cancel])
            .find(|m| m.as_str() == mode)
            .ok_or_else(|| {
                InputError::malformed(
                    "host limits",
                    format!("{mode:?} is not a hand-off mode or cancel"),
                )
            })?;
        let lacks = item
            .get("lacks")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|lacks| !lacks.is_empty())
            .ok_or_else(|| {
                InputError::malformed("host limits", format!("mode {mode} without `lacks`"))
            })?;
        Ok(HostLimit {
            mode,
            lacks: lacks.chars().take(MAX_LACKS_CHARS).collect(),
        })
    }
}
