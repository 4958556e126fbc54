//! Answer mode's home key with the key on Auto: a conditional logit the corpus fitted, over where
//! a call's notes fall (its first note and downbeats, its longest and lowest notes) as much as
//! over its pitch classes, and the mode that fits the call at that tonic. Pure functions; called
//! on the inference worker.
//!
//! Guarantees: [`home_of`] returns `None` for fewer than [`MIN_NOTES_TO_DETECT`] notes, is
//! deterministic (ties go to the lower tonic), and its weights are the ones
//! `training/home_key.py` wrote to `training/golden/home_key.json` (a unit test checks).

use super::key::{
    correlation, Key, Mode, AARDEN_MAJOR, AARDEN_MINOR, KK_MAJOR, KK_MINOR, MIN_NOTES_TO_DETECT,
};
use crate::music::time::{Meter, TickNote};

/// Weights of [`home_of`]'s learned key finder, per feature and scale degree (tonic first), as
/// `training/home_key.py` fitted them on the corpus's train split (the tunes whose two readings of
/// home agree, see [`home_of`]) and wrote them to
/// `training/golden/home_key.json` (a unit test checks the two agree). Features, in order:
/// duration share, onset share, duration share on downbeats, the first note, the last note, the
/// lowest note, the first downbeat's note, the longest note.
const HOME_WEIGHTS: [[f32; 12]; HOME_FEATURES] = [
    // duration
    [
        6.8304, -1.8712, 0.0716, 0.7928, 2.6967, -1.4222, -4.8906, 4.1842, -2.4142, -0.9782,
        -2.0564, -0.9428,
    ],
    // onsets
    [
        2.7376, -2.1886, 1.5498, 1.2497, 2.4866, 1.6565, -5.6222, 2.007, -1.7131, 0.4189, -2.8599,
        0.2775,
    ],
    // downbeat_duration
    [
        -1.5232, 0.1088, -0.4318, 0.8426, -1.5488, 1.2552, -0.806, -0.892, 1.0988, 0.4202, 2.3919,
        -0.9156,
    ],
    // first
    [
        0.3897, -0.7009, -0.6596, 0.7242, 0.2313, 0.0312, -0.1978, 0.6855, 0.783, -0.2494, -0.1621,
        -0.8751,
    ],
    // last
    [
        -0.0529, 0.0504, 0.1567, 0.2304, -0.1593, 0.3721, -0.9021, 0.1094, -0.1367, 0.003, 0.1699,
        0.1591,
    ],
    // lowest
    [
        0.2803, -0.6838, -0.0247, -0.0144, 0.1366, -0.4773, 0.0294, 0.3663, 0.4193, -0.6094,
        0.0707, 0.5069,
    ],
    // first_downbeat
    [
        0.7648, -0.6149, -0.4779, 0.4086, 0.6454, -0.5464, -0.6591, 0.5245, 1.0382, -0.0946,
        -0.2354, -0.7532,
    ],
    // longest
    [
        0.3813, -0.2227, 0.13, 0.3497, 0.1811, 0.105, -0.9657, 0.4152, -0.0808, -0.1421, 0.0157,
        -0.1666,
    ],
];
/// Features [`HOME_WEIGHTS`] weighs per scale degree.
const HOME_FEATURES: usize = 8;

/// The call's features by absolute pitch class (see [`HOME_WEIGHTS`]); downbeats are the bar
/// lines of `meter` counted from `anchor`.
fn home_features(call: &[TickNote], meter: Meter, anchor: i64) -> [[f32; 12]; HOME_FEATURES] {
    let mut f = [[0.0f32; 12]; HOME_FEATURES];
    let bar = meter.bar_ticks().max(1);
    let downbeat = |n: &TickNote| (n.onset - anchor).rem_euclid(bar) == 0;
    let pc = |n: &TickNote| usize::from(n.key % 12);
    let total: f32 = call.iter().map(|n| n.duration.max(1) as f32).sum();
    for n in call {
        let share = n.duration.max(1) as f32 / total;
        f[0][pc(n)] += share;
        f[1][pc(n)] += 1.0 / call.len() as f32;
        if downbeat(n) {
            f[2][pc(n)] += share;
        }
    }
    let firsts = [
        call.first(),
        call.last(),
        call.iter().min_by_key(|n| n.key),
        call.iter().find(|n| downbeat(n)),
        // The first of the longest notes.
        call.iter().rev().max_by_key(|n| n.duration),
    ];
    for (row, note) in f[3..].iter_mut().zip(firsts) {
        if let Some(n) = note {
            row[pc(n)] = 1.0;
        }
    }
    f
}

/// Most of the player's latest notes Answer mode's automatic home is heard from: the call and
/// the notes before it (as many as the planner's automatic key looks at, so that a change of key
/// is followed as soon). More would help a little on the corpus's tunes, which rarely change key
/// (`docs/MEASUREMENTS.md`, "Tuned constants").
pub const HOME_NOTES: usize = 64;

/// The key an answer to `call` comes home to, with the key on Auto. The tonic is the one a
/// conditional logit learned from the corpus scores highest (see [`HOME_WEIGHTS`]): a short call
/// says where home is less by its pitch-class histogram than by where its notes fall (its first
/// note and first downbeat, its longest and lowest notes). The mode is the one that fits the
/// call's duration-weighted pitch classes best at that tonic, summed under two published profile
/// sets (Krumhansl–Kessler's and Aarden's from the Essen folk songs). `None` with fewer than
/// [`MIN_NOTES_TO_DETECT`] notes.
///
/// The corpus does not say where a tune's home is; the weights are fitted where its two readings
/// agree (the Krumhansl–Schmuckler tonic of all its notes is also its last note's pitch class).
/// How often it finds that home is in `docs/MEASUREMENTS.md` ("The key finder").
pub fn home_of(call: &[TickNote], meter: Meter, anchor: i64) -> Option<Key> {
    if call.len() < MIN_NOTES_TO_DETECT {
        return None;
    }
    let f = home_features(call, meter, anchor);
    let score = |tonic: usize| -> f32 {
        HOME_WEIGHTS
            .iter()
            .zip(&f)
            .map(|(w, x)| (0..12).map(|d| w[d] * x[(tonic + d) % 12]).sum::<f32>())
            .sum()
    };
    // Ties go to the lower tonic.
    let tonic = (0..12usize).fold(0, |best, t| if score(t) > score(best) { t } else { best });
    let mut hist = [0.0f32; 12];
    for n in call {
        hist[usize::from(n.key % 12)] += n.duration.max(1) as f32;
    }
    let fit = |profile: &[f32; 12]| {
        let mut r = [0.0f32; 12];
        for (pc, x) in r.iter_mut().enumerate() {
            *x = profile[(pc + 12 - tonic) % 12];
        }
        correlation(&hist, &r)
    };
    let mode = if fit(&KK_MAJOR) + fit(&AARDEN_MAJOR) >= fit(&KK_MINOR) + fit(&AARDEN_MINOR) {
        Mode::Major
    } else {
        Mode::Minor
    };
    Some(Key {
        tonic: tonic as u8,
        mode,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::music::key::tests::line;

    #[test]
    fn a_call_comes_home_to_its_tonic() {
        // Twinkle, Twinkle's first four bars (C major), and a call in A minor.
        let twinkle = line(&[60, 60, 67, 67, 69, 69, 67, 65, 65, 64, 64, 62, 62, 60]);
        let c_major = Key {
            tonic: 0,
            mode: Mode::Major,
        };
        let home = |call: &[TickNote]| home_of(call, Meter::FOUR_FOUR, 0);
        assert_eq!(home(&twinkle), Some(c_major));
        let a_minor = line(&[69, 72, 71, 69, 64, 69, 72, 76, 74, 72, 71, 69]);
        assert_eq!(home(&a_minor).map(|k| k.tonic), Some(9));
        assert_eq!(home(&line(&[60, 62, 64])), None, "too little to go on");
    }

    #[test]
    fn where_a_calls_notes_fall_moves_its_home() {
        // The same four pitch classes, G A B D: as G B D A (first note, downbeats and the longest
        // note on G) the call is in G; moved so that D starts it, falls on the downbeats and is
        // held, it is in D.
        let note = |onset: i64, duration: i64, key: u8| TickNote {
            onset,
            duration,
            key,
        };
        let on_g = [
            note(0, 24, 67),
            note(24, 12, 71),
            note(36, 12, 74),
            note(48, 24, 67),
            note(72, 12, 69),
            note(84, 12, 71),
        ];
        let on_d = [
            note(0, 24, 62),
            note(24, 12, 67),
            note(36, 12, 69),
            note(48, 24, 62),
            note(72, 12, 71),
            note(84, 12, 69),
        ];
        assert_eq!(
            home_of(&on_g, Meter::FOUR_FOUR, 0).map(|k| k.tonic),
            Some(7)
        );
        assert_eq!(
            home_of(&on_d, Meter::FOUR_FOUR, 0).map(|k| k.tonic),
            Some(2)
        );
        // Shifting the bar lines under the same notes changes which notes are downbeats and
        // nothing else; the features say so.
        let shifted = home_features(&on_g, Meter::FOUR_FOUR, 24);
        let straight = home_features(&on_g, Meter::FOUR_FOUR, 0);
        assert_eq!(shifted[0], straight[0]);
        assert_ne!(shifted[2], straight[2]);
    }

    #[test]
    fn the_home_weights_match_the_golden_file_the_fit_wrote() {
        #[derive(serde::Deserialize)]
        struct Golden {
            features: Vec<String>,
            weights: std::collections::HashMap<String, [f32; 12]>,
        }
        let golden: Golden =
            serde_json::from_str(include_str!("../../../training/golden/home_key.json"))
                .expect("golden home weights");
        assert_eq!(golden.features.len(), HOME_FEATURES);
        for (i, name) in golden.features.iter().enumerate() {
            assert_eq!(golden.weights[name], HOME_WEIGHTS[i], "{name}");
        }
    }

    #[test]
    fn the_home_features_match_the_ones_the_fit_computed() {
        #[derive(serde::Deserialize)]
        struct Case {
            meter: [i32; 2],
            notes: Vec<[i64; 3]>,
            features: Vec<[f32; 12]>,
        }
        #[derive(serde::Deserialize)]
        struct Golden {
            cases: Vec<Case>,
        }
        let golden: Golden =
            serde_json::from_str(include_str!("../../../training/golden/home_key.json"))
                .expect("golden home cases");
        assert!(!golden.cases.is_empty());
        for case in &golden.cases {
            let call: Vec<TickNote> = case
                .notes
                .iter()
                .map(|&[onset, duration, key]| TickNote {
                    onset,
                    duration,
                    key: key as u8,
                })
                .collect();
            let meter = Meter::nearest(case.meter[0], case.meter[1]);
            let f = home_features(&call, meter, 0);
            assert_eq!(case.features.len(), HOME_FEATURES);
            for (row, (ours, theirs)) in f.iter().zip(&case.features).enumerate() {
                for d in 0..12 {
                    assert!(
                        (ours[d] - theirs[d]).abs() < 1e-4,
                        "feature {row}, pitch class {d}: {} here, {} in the fit",
                        ours[d],
                        theirs[d]
                    );
                }
            }
        }
    }
}
