//! Helpers for the tests that load the built plugin: the CLAP host itself is the `descant-host`
//! crate (re-exported here), plus what only the tests need.

pub use descant_host::*;

/// The chorales' own figures, alto against soprano in all 412 chorales, with the duet measures
/// (`training/duet.py` on the extracted corpus): the reference for Descant's counter-line.
pub mod chorales {
    /// Parallel fifths and octaves per 100 beats where both voices sound: 33 in 22,014. (Read
    /// before 2026-12-07 without the order of the voices, which counted the alto's parallel
    /// fourths below the soprano as fifths: 1.7.)
    pub const PARALLEL_PERFECT_PER_100: f64 = 0.15;
    /// The share of parallel motion (%).
    pub const PARALLEL: f64 = 17.9;
    /// The share of contrary motion (%).
    pub const CONTRARY: f64 = 17.6;
}

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
