//! A hash that never changes: plans place untimed files by it, and caches name their
//! entries by it, so it must agree across machines, runs and Rust versions.

/// A fresh random number (std's randomly keyed hasher): unique names and tokens, never
/// anything a plan depends on.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

/// FNV-1a: the same on every machine and every Rust version.
pub fn stable_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
