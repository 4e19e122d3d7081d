//! Whole numbers as decimal digits without the formatting machinery: every
//! hand-off's log lines and the host's drains carry several, on the path
//! from a turn's end to its prompt.

/// The decimal digits of a `u64`, held on the stack.
pub struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    #[inline]
    pub fn new(number: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = number;
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        Decimal { digits, start }
    }

    #[inline]
    pub fn as_str(&self) -> &str {
        // Only ASCII digits were written, so this never falls back.
        std::str::from_utf8(self.digits.get(self.start..).unwrap_or_default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::Decimal;

    #[test]
    fn writes_every_digit_of_the_range() {
        for number in [0, 7, 10, 4_096, 1_000_000_007, u64::MAX] {
            assert_eq!(Decimal::new(number).as_str(), number.to_string());
        }
    }
}
