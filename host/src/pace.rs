//! Pacing block processing against the wall clock, as a live host does.

use std::time::{Duration, Instant};

/// Paces block processing against the wall clock (`speed`× real time).
pub struct Pacer {
    /// When pacing started.
    started: Instant,
    /// Audio time processed so far, in seconds.
    audio_secs: f64,
    /// How many times faster than real time to run.
    speed: f64,
}

impl Pacer {
    /// A pacer running at `speed`× real time.
    pub fn new(speed: f64) -> Pacer {
        Pacer {
            started: Instant::now(),
            audio_secs: 0.0,
            speed,
        }
    }

    /// Accounts for `frames` more samples and sleeps if ahead of the wall clock.
    pub fn wait(&mut self, frames: u64, sample_rate: f64) {
        self.audio_secs += frames as f64 / sample_rate;
        let due = Duration::from_secs_f64(self.audio_secs / self.speed);
        let elapsed = self.started.elapsed();
        if due > elapsed + Duration::from_millis(1) {
            std::thread::sleep(due - elapsed);
        }
    }
}
