//! Adaptive look-ahead: how far ahead of the playhead the worker plans. Owned by the worker
//! (allocates nothing); published (in beats) for the GUI.
//!
//! Guarantees: the look-ahead stays in [`MIN_SECS`]..=[`MAX_SECS`]; it grows at once (×1.5) when a
//! planned note reached the audio thread too late or arrived with less than a quarter of the
//! look-ahead to spare, and shrinks slowly (×0.98 per note) while notes arrive with most of it to
//! spare and generating a note takes a small part of it; it never shrinks below four times the
//! latest cost of starting a line (priming the model with the context, which the worker does at
//! every answer, loop cycle and Continue re-read; that floor decays by 10 % a line). A shorter
//! look-ahead makes steering changes audible sooner; a longer one survives a busy machine.

/// Shortest look-ahead, in seconds.
pub const MIN_SECS: f64 = 0.12;
/// Longest look-ahead, in seconds.
pub const MAX_SECS: f64 = 2.0;
/// Look-ahead at the start, in seconds (on the safe side until the worker has measured itself).
pub const START_SECS: f64 = 1.0;

/// The controller's state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lookahead {
    /// The current look-ahead in seconds.
    secs: f64,
    /// The least look-ahead that covers starting a line, in seconds.
    floor: f64,
}

impl Default for Lookahead {
    fn default() -> Self {
        Lookahead {
            secs: START_SECS,
            floor: MIN_SECS,
        }
    }
}

impl Lookahead {
    /// The look-ahead in seconds.
    pub fn secs(&self) -> f64 {
        self.secs
    }

    /// The look-ahead in beats at `tempo` BPM.
    pub fn beats(&self, tempo: f64) -> f64 {
        self.secs * tempo.clamp(1.0, 1000.0) / 60.0
    }

    /// A note went out `margin_secs` before it was due; generating it took `work_secs`.
    pub fn on_note(&mut self, margin_secs: f64, work_secs: f64) {
        if margin_secs < 0.25 * self.secs {
            self.grow();
        } else if margin_secs > 0.75 * self.secs && work_secs * 20.0 < self.secs {
            self.secs = (self.secs * 0.98).max(self.floor);
        }
    }

    /// Starting a line (priming the model) took `work_secs`.
    pub fn on_line_start(&mut self, work_secs: f64) {
        self.floor = (self.floor * 0.9)
            .max(4.0 * work_secs)
            .clamp(MIN_SECS, MAX_SECS);
        self.secs = self.secs.max(self.floor);
    }

    /// A planned note reached the audio thread after its time and was dropped.
    pub fn on_late(&mut self) {
        self.grow();
    }

    fn grow(&mut self) {
        self.secs = (self.secs * 1.5).min(MAX_SECS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_grows_when_late_and_shrinks_when_ahead_within_bounds() {
        let mut l = Lookahead::default();
        l.on_late();
        assert!((l.secs() - START_SECS * 1.5).abs() < 1e-12);
        for _ in 0..20 {
            l.on_late();
        }
        assert_eq!(l.secs(), MAX_SECS);
        for _ in 0..2000 {
            let s = l.secs();
            l.on_note(s, 0.0003);
        }
        assert_eq!(l.secs(), MIN_SECS);
        let s = l.secs();
        l.on_note(0.1 * s, 0.0003);
        assert!(l.secs() > s);
        assert!((l.beats(120.0) - l.secs() * 2.0).abs() < 1e-12);
    }

    #[test]
    fn starting_a_line_sets_a_floor_that_decays() {
        let mut l = Lookahead::default();
        l.on_line_start(0.4);
        assert!((l.secs() - 1.6).abs() < 1e-12);
        for _ in 0..2000 {
            let s = l.secs();
            l.on_note(s, 0.0003);
        }
        assert!((l.secs() - 1.6).abs() < 1e-12, "no lower than the floor");
        for _ in 0..100 {
            l.on_line_start(0.001);
        }
        for _ in 0..2000 {
            let s = l.secs();
            l.on_note(s, 0.0003);
        }
        assert_eq!(l.secs(), MIN_SECS);
    }

    #[test]
    fn a_slow_model_keeps_it_long() {
        let mut l = Lookahead::default();
        for _ in 0..1000 {
            let s = l.secs();
            l.on_note(s, 0.2);
        }
        assert_eq!(l.secs(), START_SECS);
    }
}
