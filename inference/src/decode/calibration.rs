//! The style's own lines: a per-style correction of the duration and pitch logits, so that a line
//! beside the player has the lengths, the intervals and the distance from the voice it hears that
//! its style's own lines have in the same place. Pure functions and constants; called on the
//! inference worker before a duration or a pitch is drawn (and by tests); never allocates.
//!
//! Why it exists: the model's most probable line is not the style's typical one. Under the upper
//! voices of Renaissance pieces (Continue, `Voice = Below`) it held half its notes four beats or
//! more, where the composers' lower voices hold a fifth of theirs so long; it moved by step 38 %
//! of the time where they move by step 68 %; and it sat an octave or more below the voice it heard
//! on 21 % of the beats, where theirs do on 2.5 % (`docs/MEASUREMENTS.md`, "Idiom"). The
//! correction of each class is the log of the ratio of the corpus's share of it to Descant's,
//! measured through the built plugin on the training split (`descant idiom` prints it), summed
//! over rounds of measuring with the correction so far: a sampler calibrated to the style, not a
//! range picked by hand.
//!
//! Guarantees: [`for_style`] is all zeros for "any" and for a style the table lacks, and a blend
//! of two styles weighs their corrections as the blend weighs the styles; [`weigh_lengths`] adds to
//! each duration token's logit the correction of its length's class, [`weigh_intervals`] and
//! [`weigh_against`] to each pitch token's logit that of its interval's class from the line's
//! last key, or of its distance's class from the heard key the `Voice` control keeps it below or
//! above; none touches another token. The corrections are finite: a key or a length is weighed, never
//! forbidden, and the hard rules (register, key, voice) stay the shaper's.

use crate::decode::steering::Steering;
use crate::model::contract::ModelContract;
use crate::model::tokenizer::{self, TICKS_PER_BEAT};

/// How many length classes there are (see [`length_class`]).
pub const LENGTH_CLASSES: usize = 8;

/// How many interval classes there are (see [`interval_class`]).
pub const INTERVAL_CLASSES: usize = 5;

/// How many distance classes there are (see [`distance_class`]).
pub const DISTANCE_CLASSES: usize = 4;

/// A style's correction of the model's logits: added to a duration token's logit by its length's
/// class, and to a pitch token's by the class of its interval from the line's last key.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Calibration {
    /// By [`length_class`]: ≤ ¼ beat, triplets, ½, ¾, 1, 1½, 2–3, 4 and more.
    pub lengths: [f32; LENGTH_CLASSES],
    /// By [`interval_class`]: repeat, step, third, fourth to fifth, wider.
    pub intervals: [f32; INTERVAL_CLASSES],
    /// By [`distance_class`] from the heard key the `Voice` control keeps the line below or
    /// above: a third or less, a fourth to a fifth, a sixth to an octave, wider.
    pub distances: [f32; DISTANCE_CLASSES],
}

/// Per style id, its [`Calibration`]: `ln(corpus share / Descant's share)` of each class,
/// Descant measured through the built plugin, Continue mode with `Voice = Below` under the upper
/// voice, on the training split (`training/heldout.py --split train`), summed over rounds of
/// measuring with the correction so far (`docs/MEASUREMENTS.md`, "Idiom"). Styles whose lines
/// Descant plays with the corpus's lengths and intervals have none.
pub const STYLE_CALIBRATION: [(&str, Calibration); 2] = [
    (
        "renaissance",
        Calibration {
            lengths: [0.0, 0.0, 0.95, 0.0, 1.25, -1.80, 0.93, -1.14],
            intervals: [-1.09, 1.08, -1.02, -1.86, -2.20],
            distances: [1.37, 0.23, -0.76, -3.92],
        },
    ),
    (
        "chorale",
        Calibration {
            lengths: [0.0; LENGTH_CLASSES],
            intervals: [-0.35, 0.62, -1.40, -0.87, -1.08],
            distances: [0.89, 1.40, -0.60, -4.0],
        },
    ),
];

/// The class of a note `ticks` long, as `descant idiom` counts lengths: 0 a quarter of a beat or
/// less, 1 a triplet (⅓ or ⅔), 2 half a beat (or between ¼ and ½), 3 ¾, 4 a beat (or between ½
/// and 1), 5 1½ (or between 1 and 2), 6 2 to 4 beats, 7 4 beats or more.
pub fn length_class(ticks: i64) -> usize {
    const QUARTER: i64 = TICKS_PER_BEAT / 4;
    const THIRD: i64 = TICKS_PER_BEAT / 3;
    const HALF: i64 = TICKS_PER_BEAT / 2;
    match ticks {
        t if t <= QUARTER => 0,
        t if t == THIRD || t == 2 * THIRD => 1,
        t if t == 3 * QUARTER => 3,
        t if t >= 4 * TICKS_PER_BEAT => 7,
        t if t >= 2 * TICKS_PER_BEAT => 6,
        t if t <= HALF => 2,
        t if t <= TICKS_PER_BEAT => 4,
        _ => 5,
    }
}

/// The class of the interval from key `from` to `to`, as `descant idiom` counts intervals: 0 a
/// repeat, 1 a step (1–2 semitones), 2 a third (3–4), 3 a fourth to a fifth (5–7), 4 wider.
pub fn interval_class(from: u8, to: u8) -> usize {
    match from.abs_diff(to) {
        0 => 0,
        1..=2 => 1,
        3..=4 => 2,
        5..=7 => 3,
        _ => 4,
    }
}

/// The class of two voices `apart` semitones, as `descant idiom` counts their distance: 0 a
/// third or less, 1 a fourth to a fifth, 2 a sixth to an octave, 3 wider.
pub fn distance_class(apart: u8) -> usize {
    match apart {
        0..=4 => 0,
        5..=7 => 1,
        8..=12 => 2,
        _ => 3,
    }
}

/// The correction for `steering`'s styles: one style's, the blend of two, none (zeros) for "any"
/// or a style without one.
pub fn for_style(contract: &ModelContract, steering: &Steering) -> Calibration {
    let row = |id: Option<&str>| {
        STYLE_CALIBRATION
            .iter()
            .find(|(name, _)| Some(*name) == id)
            .map_or(Calibration::default(), |(_, c)| *c)
    };
    let blend = steering.blend_weight();
    let [a, b] = steering.style_ids(contract).map(row);
    let mix = |x: f32, y: f32| x * (1.0 - blend) + y * blend;
    Calibration {
        lengths: std::array::from_fn(|c| mix(a.lengths[c], b.lengths[c])),
        intervals: std::array::from_fn(|c| mix(a.intervals[c], b.intervals[c])),
        distances: std::array::from_fn(|c| mix(a.distances[c], b.distances[c])),
    }
}

/// Adds to each duration token's logit in `out` the correction of its length's class.
pub fn weigh_lengths(out: &mut [f32], calibration: &Calibration) {
    for ticks in 1..=tokenizer::MAX_DUR_TICKS {
        if let Some(l) = out.get_mut(tokenizer::dur_token(ticks) as usize) {
            *l += calibration.lengths[length_class(ticks)];
        }
    }
}

/// Adds to each pitch token's logit in `out` the correction of the class of its distance from
/// `heard`, the heard key the line keeps below or above.
pub fn weigh_against(out: &mut [f32], heard: u8, calibration: &Calibration) {
    for key in tokenizer::PITCH_LOW..=tokenizer::PITCH_HIGH {
        if let Some(l) = out.get_mut(tokenizer::pitch_token(key) as usize) {
            *l += calibration.distances[distance_class(heard.abs_diff(key))];
        }
    }
}

/// Adds to each pitch token's logit in `out` the correction of the class of its interval from
/// `last`, the line's last key.
pub fn weigh_intervals(out: &mut [f32], last: u8, calibration: &Calibration) {
    for key in tokenizer::PITCH_LOW..=tokenizer::PITCH_HIGH {
        if let Some(l) = out.get_mut(tokenizer::pitch_token(key) as usize) {
            *l += calibration.intervals[interval_class(last, key)];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tokenizer::VOCAB_SIZE_V2;

    #[test]
    fn lengths_fall_in_the_classes_the_idiom_benchmark_counts() {
        let class = |beats: f64| length_class((beats * TICKS_PER_BEAT as f64).round() as i64);
        let cases = [
            (0.25, 0),
            (1.0 / 3.0, 1),
            (2.0 / 3.0, 1),
            (0.5, 2),
            (0.75, 3),
            (1.0, 4),
            (1.5, 5),
            (2.0, 6),
            (3.0, 6),
            (4.0, 7),
            (8.0, 7),
        ];
        for (beats, want) in cases {
            assert_eq!(class(beats), want, "{beats} beats");
        }
    }

    #[test]
    fn the_correction_touches_the_duration_tokens_of_its_classes_only() {
        let mut out = vec![0.0; VOCAB_SIZE_V2];
        let mut correction = Calibration::default();
        correction.lengths[7] = -1.0;
        correction.lengths[6] = 0.5;
        weigh_lengths(&mut out, &correction);
        let at = |ticks: i64| out[tokenizer::dur_token(ticks) as usize];
        assert_eq!((at(48), at(96), at(24), at(36)), (-1.0, -1.0, 0.5, 0.5));
        assert_eq!((at(12), at(6)), (0.0, 0.0));
        let touched = out.iter().filter(|&&l| l != 0.0).count();
        assert_eq!(
            touched,
            (24..=96).count(),
            "duration tokens of 2 beats and more only"
        );
    }

    #[test]
    fn the_interval_correction_is_by_the_distance_from_the_last_key() {
        let mut out = vec![0.0; VOCAB_SIZE_V2];
        let c = Calibration {
            intervals: [-1.0, 1.0, 2.0, 3.0, 4.0],
            ..Calibration::default()
        };
        weigh_intervals(&mut out, 60, &c);
        let at = |key: u8| out[tokenizer::pitch_token(key) as usize];
        let got = [60, 58, 62, 63, 56, 65, 53, 67, 68, 48].map(at);
        assert_eq!(got, [-1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 4.0]);
        assert_eq!(at(tokenizer::PITCH_LOW), 4.0);
        let durations =
            (1..=tokenizer::MAX_DUR_TICKS).map(|t| out[tokenizer::dur_token(t) as usize]);
        assert!(durations.into_iter().all(|l| l == 0.0), "pitch tokens only");
    }

    #[test]
    fn the_correction_against_the_heard_key_is_by_the_distance_from_it() {
        let mut out = vec![0.0; VOCAB_SIZE_V2];
        let c = Calibration {
            distances: [1.0, 2.0, 3.0, 4.0],
            ..Calibration::default()
        };
        weigh_against(&mut out, 72, &c);
        let at = |key: u8| out[tokenizer::pitch_token(key) as usize];
        let got = [71, 68, 67, 65, 64, 60, 59, 84].map(at);
        assert_eq!(got, [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 3.0]);
    }

    #[test]
    fn every_correction_is_finite() {
        for (name, c) in STYLE_CALIBRATION {
            let all = c.lengths.iter().chain(&c.intervals).chain(&c.distances);
            assert!(all.copied().all(f32::is_finite), "{name}");
        }
    }

    #[test]
    fn a_style_has_its_row_a_blend_weighs_two_and_any_has_none() {
        let contract = ModelContract::parse(include_str!("../../../assets/descant.json")).unwrap();
        let style = |id: &str| contract.control.styles.iter().position(|s| s == id);
        let (renaissance, row) = STYLE_CALIBRATION[0];
        let one = Steering {
            style_a: style(renaissance),
            ..Steering::default()
        };
        assert_eq!(for_style(&contract, &one), row);
        assert_eq!(
            for_style(&contract, &Steering::default()),
            Calibration::default()
        );
        // Half way to a style without a row: half the correction.
        let irish = Steering {
            style_b: style("irish-scottish"),
            blend: 0.5,
            ..one
        };
        let half = for_style(&contract, &irish);
        assert_eq!(half.lengths[7], row.lengths[7] * 0.5);
        assert_eq!(half.intervals[1], row.intervals[1] * 0.5);
        for (name, _) in STYLE_CALIBRATION {
            assert!(
                style(name).is_some(),
                "{name} is a style of the shipped model"
            );
        }
    }
}
