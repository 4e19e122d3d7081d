//! The hash maps of the engine, keyed by session ids and request ids, with
//! a multiply-and-rotate hash (the FxHash scheme) instead of std's SipHash:
//! every input looks a session up in several components, and SipHash was a
//! sixth of an idle edge's time. SipHash's guard against chosen colliding
//! keys is not needed here: the keys are ids OpenCode and the engine make.

use std::hash::{BuildHasherDefault, Hasher};

/// `std::collections::HashMap` with [`FxHasher`]; make one with `default()`.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Folds each 8-byte word in with a rotate, a xor and a multiply.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut le = [0u8; 8];
            le.copy_from_slice(word);
            self.add(u64::from_le_bytes(le));
        }
        let mut rest = [0u8; 8];
        let tail = words.remainder();
        for (to, from) in rest.iter_mut().zip(tail) {
            *to = *from;
        }
        if !tail.is_empty() {
            self.add(u64::from_le_bytes(rest));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::HashMap;

    #[test]
    fn keys_of_any_length_are_found_and_told_apart() {
        let keys: Vec<String> = (0..2_000)
            .map(|i| format!("ses_{}", "x".repeat(i % 23)) + &i.to_string())
            .collect();
        let mut map = HashMap::default();
        for (at, key) in keys.iter().enumerate() {
            map.insert(key.clone(), at);
        }
        assert_eq!(map.len(), keys.len());
        for (at, key) in keys.iter().enumerate() {
            assert_eq!(map.get(key.as_str()), Some(&at));
        }
        assert_eq!(map.get("ses_"), None);
    }
}
