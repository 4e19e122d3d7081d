//! Reading the options of `"plugin": [["opencode-sessions", { ... }]]` into
//! an [`EngineConfig`]. A wrong option stops the plugin from loading with a
//! message naming the option, rather than running with a setting the user
//! did not ask for.

use crate::config::{EngineConfig, ReportMode};
use crate::error::InputError;
use crate::mode::Mode;
use crate::shown;
use serde_json::{Map, Value};

/// Every option the plugin reads, in the order the README documents them.
pub const OPTION_NAMES: [&str; 10] = [
    "maxHops",
    "maxBranches",
    "modes",
    "agents",
    "switchTo",
    "report",
    "resumeParent",
    "requestTimeoutMs",
    "summarizeTimeoutMs",
    "permissionTimeoutMs",
];

/// The longest delay JS timers honour (about 24.8 days); longer ones fire at once.
const MAX_TIMER_MS: u64 = 2_147_483_647;
const MAX_HOPS_LIMIT: u64 = 1_000;
/// More branches of one session at once than any provider's rate limit allows.
const MAX_BRANCHES_LIMIT: u64 = 100;

impl EngineConfig {
    /// Reads the plugin options. `null` (no options given) means the defaults.
    pub fn from_options(options: &Value) -> Result<Self, InputError> {
        let mut config = EngineConfig::default();
        let fields = match options {
            Value::Null => return Ok(config),
            Value::Object(fields) => fields,
            other @ (Value::Bool(_) | Value::Number(_) | Value::String(_) | Value::Array(_)) => {
                return Err(InputError::InvalidOptions(format!(
                    "expected an object like {{ \"maxHops\": 8 }}, got {}",
                    shown::kind(other)
                )))
            }
        };
        reject_unknown(fields)?;
        for (key, value) in fields {
            match key.as_str() {
                "maxHops" => {
                    config.max_hops = whole(key, value, 1, MAX_HOPS_LIMIT)? as u32;
                }
                "maxBranches" => {
                    config.max_branches = whole(key, value, 1, MAX_BRANCHES_LIMIT)? as u32;
                }
                "requestTimeoutMs" => {
                    config.request_timeout_ms = whole(key, value, 1, MAX_TIMER_MS)?;
                }
                "summarizeTimeoutMs" => {
                    config.summarize_timeout_ms = whole(key, value, 1, MAX_TIMER_MS)?;
                }
                "permissionTimeoutMs" => {
                    config.permission_timeout_ms = whole(key, value, 1, MAX_TIMER_MS)?;
                }
                "modes" => config.modes = modes(key, value, &Mode::ALL)?,
                "switchTo" => {
                    config.switch_to = modes(key, value, &[Mode::New, Mode::Fork])?;
                }
                "agents" => config.agents = Some(agents(key, value)?),
                "report" => config.report = report(key, value)?,
                "resumeParent" => {
                    config.resume_parent = value.as_bool().ok_or_else(|| {
                        InputError::invalid_option(
                            key,
                            format!("must be true or false, got {}", shown::json(value)),
                        )
                    })?;
                }
                _ => {}
            }
        }
        Ok(config)
    }
}

fn reject_unknown(fields: &Map<String, Value>) -> Result<(), InputError> {
    let Some(unknown) = fields.keys().find(|k| !OPTION_NAMES.contains(&k.as_str())) else {
        return Ok(());
    };
    let hint = OPTION_NAMES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(unknown))
        .map(|known| format!(" (did you mean \"{known}\"?)"))
        .unwrap_or_default();
    Err(InputError::invalid_option(
        unknown,
        format!(
            "is not an option{hint}; the options are {}",
            OPTION_NAMES.join(", ")
        ),
    ))
}

fn whole(key: &str, value: &Value, min: u64, max: u64) -> Result<u64, InputError> {
    match value.as_u64() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(InputError::invalid_option(
            key,
            format!(
                "must be a whole number from {min} to {max}, got {}",
                shown::json(value)
            ),
        )),
    }
}

fn strings<'a>(key: &str, value: &'a Value) -> Result<Vec<&'a str>, InputError> {
    let list = value.as_array().filter(|items| !items.is_empty());
    let names: Option<Vec<&str>> = list.and_then(|items| {
        items
            .iter()
            .map(|item| item.as_str().map(str::trim).filter(|s| !s.is_empty()))
            .collect()
    });
    names.ok_or_else(|| {
        InputError::invalid_option(
            key,
            format!(
                "must be a non-empty list of names, got {}",
                shown::json(value)
            ),
        )
    })
}

fn modes(key: &str, value: &Value, allowed: &[Mode]) -> Result<Vec<Mode>, InputError> {
    let choices = || {
        allowed
            .iter()
            .map(|m| format!("\"{m}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut picked = Vec::new();
    for name in strings(key, value)? {
        let mode = allowed
            .iter()
            .copied()
            .find(|m| m.as_str() == name)
            .ok_or_else(|| {
                InputError::invalid_option(
                    key,
                    format!("has \"{name}\", which is not one of {}", choices()),
                )
            })?;
        if !picked.contains(&mode) {
            picked.push(mode);
        }
    }
    Ok(picked)
}

fn report(key: &str, value: &Value) -> Result<ReportMode, InputError> {
    match value.as_str() {
        Some("each") => Ok(ReportMode::Each),
        Some("all") => Ok(ReportMode::All),
        Some("off") => Ok(ReportMode::Off),
        _ => Err(InputError::invalid_option(
            key,
            format!(
                "must be \"each\", \"all\" or \"off\", got {}",
                shown::json(value)
            ),
        )),
    }
}

fn agents(key: &str, value: &Value) -> Result<Vec<String>, InputError> {
    let mut names: Vec<String> = strings(key, value)?
        .into_iter()
        .map(str::to_owned)
        .collect();
    names.dedup();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(options: Value) -> String {
        EngineConfig::from_options(&options)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn no_options_means_the_defaults() {
        assert_eq!(
            EngineConfig::from_options(&Value::Null).unwrap(),
            EngineConfig::default()
        );
        assert_eq!(
            EngineConfig::from_options(&json!({})).unwrap(),
            EngineConfig::default()
        );
    }

    #[test]
    fn reads_every_option() {
        let config = EngineConfig::from_options(&json!({
            "maxHops": 3, "maxBranches": 2, "modes": ["fork", "message", "fork"], "agents": ["plan"],
            "switchTo": ["new"], "report": "all", "resumeParent": true,
            "requestTimeoutMs": 2000, "summarizeTimeoutMs": 9000,
            "permissionTimeoutMs": 60000
        }))
        .unwrap();
        assert_eq!(config.max_hops, 3);
        assert_eq!(config.max_branches, 2);
        assert_eq!(config.modes, [Mode::Fork, Mode::Message]);
        assert_eq!(config.agents, Some(vec!["plan".to_owned()]));
        assert_eq!(config.switch_to, [Mode::New]);
        assert_eq!(config.report, ReportMode::All);
        assert!(config.resume_parent);
        assert_eq!(
            (
                config.request_timeout_ms,
                config.summarize_timeout_ms,
                config.permission_timeout_ms
            ),
            (2000, 9000, 60000)
        );
        assert!(config.agent_allowed("plan") && !config.agent_allowed("build"));
    }

    #[test]
    fn bad_values_name_the_option_and_what_is_expected() {
        assert_eq!(
            error(json!({"maxHops": 0})),
            "invalid option \"maxHops\": must be a whole number from 1 to 1000, got 0"
        );
        assert!(error(json!({"maxHops": "8"})).contains("got \"8\""));
        assert_eq!(
            error(json!({"maxBranches": 0})),
            "invalid option \"maxBranches\": must be a whole number from 1 to 100, got 0"
        );
        assert!(error(json!({"requestTimeoutMs": 1.5})).contains("requestTimeoutMs"));
        assert!(error(json!({"requestTimeoutMs": 3_000_000_000u64})).contains("2147483647"));
        assert!(error(json!({"modes": []})).contains("non-empty list"));
        assert!(error(json!({"modes": ["teleport"]})).contains(
            "\"teleport\", which is not one of \"message\", \"new\", \"compact\", \"fork\""
        ));
        assert!(error(json!({"switchTo": ["message"]})).contains("not one of \"new\", \"fork\""));
        assert!(error(json!({"agents": ["plan", ""]})).contains("agents"));
        assert!(error(json!(["maxHops"])).contains("expected an object"));
        assert!(error(json!({"report": "some"})).contains("\"each\", \"all\" or \"off\""));
        assert!(error(json!({"resumeParent": "yes"})).contains("true or false"));
    }

    #[test]
    fn unknown_options_are_refused_with_a_hint() {
        assert_eq!(
            error(json!({"maxhops": 3})),
            "invalid option \"maxhops\": is not an option (did you mean \"maxHops\"?); the options are maxHops, maxBranches, modes, agents, switchTo, report, resumeParent, requestTimeoutMs, summarizeTimeoutMs, permissionTimeoutMs"
        );
    }
}
