//! Values quoted back in messages. What a model or a host passed in may be
//! huge or hold control characters and bidi overrides; quoted here, it is
//! escaped and cut short, so it can neither flood nor garble a message.

use serde_json::Value;

/// Characters of a value kept when it is quoted back.
const QUOTED_CHARS: usize = 60;

/// A JSON value as written, cut short.
pub(crate) fn json(value: &Value) -> String {
    cut(&value.to_string(), QUOTED_CHARS)
}

/// What kind of JSON value this is, in words.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A value for "got …" in an error: its kind and, cut short, the value.
pub(crate) fn described(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(text) => format!("the string {}", quoted(text)),
        other @ (Value::Array(_) | Value::Object(_)) => format!("{} {}", kind(other), json(other)),
    }
}

/// `text` in double quotes, with quotes, backslashes, control characters and
/// bidi overrides escaped (`"a\u{202e}b"`), cut short.
pub(crate) fn quoted(text: &str) -> String {
    let count = text.chars().count();
    if count <= QUOTED_CHARS {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(QUOTED_CHARS - 1).collect();
        format!("{head:?}… ({count} characters)")
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        let head: String = text.chars().take(max - 1).collect();
        format!("{head}…")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quoting_escapes_what_could_garble_a_message_and_cuts_long_values() {
        assert_eq!(quoted("plan"), "\"plan\"");
        assert_eq!(quoted("a\u{202e}b\nc\0"), "\"a\\u{202e}b\\nc\\0\"");
        assert_eq!(quoted("say \"hi\""), "\"say \\\"hi\\\"\"");
        let long = quoted(&"x".repeat(1_000_000));
        assert!(long.ends_with("\"… (1000000 characters)"), "{long}");
        assert!(long.chars().count() < 100);
    }

    #[test]
    fn a_described_value_names_its_kind() {
        assert_eq!(described(&json!(null)), "null");
        assert_eq!(described(&json!(5)), "the number 5");
        assert_eq!(described(&json!(false)), "false");
        assert_eq!(described(&json!(["a"])), "a list [\"a\"]");
        assert_eq!(described(&json!("x")), "the string \"x\"");
        assert_eq!(
            described(&json!({"k": "v".repeat(100)})).chars().count(),
            70
        );
    }
}
