//! Helpers for the tests that load the built plugin: the CLAP host itself is the `descant-host`
//! crate (re-exported here), plus what only the tests need.

pub use descant_host::*;

/// A number from the environment variable `name` (the sizes and seeds of the long runs), or
/// `default` when it is unset or not a number.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Descant's note-ons in cycle `k` of a loop of `len` samples that started at sample `base`:
/// `(key, sample in the cycle, velocity in thousandths)`.
pub fn cycle_notes(sent: &[OutNote], base: u64, k: u64, len: u64) -> Vec<(u8, u64, u32)> {
    sent.iter()
        .filter(|n| n.on && n.sample >= base && (n.sample - base) / len == k)
        .map(|n| {
            let at = (n.sample - base) % len;
            (n.key, at, (n.velocity * 1000.0).round() as u32)
        })
        .collect()
}
