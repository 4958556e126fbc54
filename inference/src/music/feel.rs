//! Feel: the velocity and timing Descant gives a generated note. Called by the worker for each
//! note it plans; allocates nothing; deterministic for a given random generator state.
//!
//! Guarantees: velocities are in 0.05..=1; with `humanize` at 0 onsets are untouched (on the
//! grid) and the velocity depends only on the metric position and the key's place in the register;
//! a humanized onset moves by at most [`MAX_SHIFT_BEATS`] and never before `earliest`.

use crate::music::time::{Meter, TICKS_PER_BEAT};

/// Largest timing shift at `Humanize` 100 %, in beats (about 16 ms at 120 BPM).
pub const MAX_SHIFT_BEATS: f64 = 0.03;
/// Largest velocity change at `Humanize` 100 %.
const MAX_VELOCITY_JITTER: f32 = 0.12;

/// The metric accent of a note `ticks_from_anchor` after a bar line: strongest on the bar line,
/// then the middle of the bar (in even meters), then beats, then off-beats.
pub fn accent(ticks_from_anchor: i64, meter: Meter) -> f32 {
    let bar = meter.bar_ticks();
    let in_bar = ticks_from_anchor.rem_euclid(bar);
    let beat_ticks = TICKS_PER_BEAT * 4 / i64::from(meter.denominator.max(1));
    if in_bar == 0 {
        0.86
    } else if meter.numerator.is_multiple_of(2) && meter.numerator > 2 && in_bar * 2 == bar {
        0.78
    } else if in_bar % beat_ticks == 0 {
        0.72
    } else if in_bar % (beat_ticks / 2).max(1) == 0 {
        0.64
    } else {
        0.58
    }
}

/// A note's velocity and onset after feel is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Felt {
    /// Velocity, 0.05..=1.
    pub velocity: f32,
    /// Onset in beats.
    pub onset_beat: f64,
    /// Length in beats (the end stays where the grid put it).
    pub length_beats: f64,
}

/// Applies accent, contour and `humanize` (0..=1) to a note on the grid.
///
/// `contour` is the key's place in the register, -1 (lowest) to +1 (highest): higher notes of a
/// line sound a little louder, as a player shapes a phrase. `earliest` is the end of the previous
/// note in beats: a shifted onset never overlaps it.
// The note's place (four values), the two musician's settings and the take's random numbers are
// independent inputs; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    ticks_from_anchor: i64,
    meter: Meter,
    onset_beat: f64,
    length_beats: f64,
    contour: f32,
    humanize: f32,
    earliest: f64,
    rng: &mut fastrand::Rng,
) -> Felt {
    let h = humanize.clamp(0.0, 1.0);
    let mut velocity = accent(ticks_from_anchor, meter) + 0.06 * contour.clamp(-1.0, 1.0);
    let mut onset = onset_beat;
    if h > 0.0 {
        velocity += (rng.f32() * 2.0 - 1.0) * MAX_VELOCITY_JITTER * h;
        let shift = (rng.f64() * 2.0 - 1.0) * MAX_SHIFT_BEATS * f64::from(h);
        onset = (onset_beat + shift)
            .max(earliest)
            .max(onset_beat - MAX_SHIFT_BEATS);
    }
    let end = onset_beat + length_beats;
    Felt {
        velocity: velocity.clamp(0.05, 1.0),
        onset_beat: onset,
        length_beats: (end - onset).max(length_beats * 0.5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_follow_the_meter() {
        let m = Meter::FOUR_FOUR;
        assert!(accent(0, m) > accent(24, m));
        assert!(accent(24, m) > accent(12, m));
        assert!(accent(12, m) > accent(6, m));
        assert!(accent(6, m) > accent(3, m));
        assert_eq!(accent(48, m), accent(0, m));
    }

    #[test]
    fn without_humanize_notes_stay_on_the_grid() {
        let mut rng = fastrand::Rng::with_seed(1);
        let f = apply(12, Meter::FOUR_FOUR, 5.0, 0.5, 0.0, 0.0, 4.0, &mut rng);
        assert_eq!((f.onset_beat, f.length_beats), (5.0, 0.5));
        assert_eq!(f.velocity, accent(12, Meter::FOUR_FOUR));
    }

    #[test]
    fn humanize_moves_notes_a_little_and_never_onto_the_previous_one() {
        let mut rng = fastrand::Rng::with_seed(7);
        let (mut moved, mut loudness) = (0, Vec::new());
        for _ in 0..200 {
            let f = apply(3, Meter::FOUR_FOUR, 5.0, 0.25, 0.0, 1.0, 4.99, &mut rng);
            assert!(f.onset_beat >= 4.99 && (f.onset_beat - 5.0).abs() <= MAX_SHIFT_BEATS);
            assert!((f.onset_beat + f.length_beats - 5.25).abs() < 1e-9);
            moved += usize::from(f.onset_beat != 5.0);
            loudness.push(f.velocity);
        }
        assert!(moved > 150, "{moved}");
        loudness.sort_by(f32::total_cmp);
        assert!(loudness[199] - loudness[0] > 0.1);
    }
}
