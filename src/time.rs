//! Numbers from JS (milliseconds, ids) arrive as doubles.

use opencode_sessions_engine::InputError;

/// A JS timestamp or id as an unsigned integer; NaN, infinities, negatives
/// and fractions are refused rather than silently rounded.
pub fn whole_number(what: &'static str, value: f64) -> Result<u64, InputError> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= 9_007_199_254_740_991.0
    {
        // In range and integral, so the cast is exact.
        Ok(value as u64)
    } else {
        Err(InputError::Malformed {
            what,
            detail: format!("expected a whole number of at least 0, got {value}"),
        })
    }
}
