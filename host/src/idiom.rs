//! Idiom: how typical of its style a line is, judged against the corpus's own line in the same
//! situation (the answer to the same call, the voice under the same upper voice). Pure functions
//! over notes in beats; used by `descant idiom`. The measures are those of the issue "Idiom":
//! intervals, rhythm, range, notes per note heard, scale degrees, how a phrase ends and, for two
//! voices, the vertical intervals and the motion between them. The discriminator that judges them
//! is [`crate::discriminator`].
//!
//! Guarantees: every feature is a plain share, mean or count over the notes given, defined for
//! any line (an empty or one-note line gives zeros, never NaN); the random-key reference is drawn
//! from the seed given, so the same inputs give the same figures; the discriminator's folds keep
//! a piece's lines together (a line is never judged by a model that saw its piece's real line),
//! and its accuracy is over the held-out folds only.

use crate::duet::{class, strong_beat, Note, Scale, SLACK};
use crate::harmony::pulse;

/// Where a line is heard: what it answers or sounds against, its key and meter, and the span it
/// is measured over.
#[derive(Debug, Clone)]
pub struct Situation {
    /// What is heard: the call an answer answers, or the upper voice a counter-voice sounds
    /// under (only the notes in `heard_span`).
    pub heard: Vec<Note>,
    /// The span of the heard notes (beats): their notes per beat are over it.
    pub heard_span: (f64, f64),
    /// The key.
    pub scale: Scale,
    /// The time signature (the pulse and the strong beats).
    pub meter: (u8, u8),
    /// Whether the line sounds with the heard notes (a counter-voice: the vertical and motion
    /// features apply) or after them (an answer: the cadence features apply).
    pub together: bool,
}

/// The features' names, in [`features`]' order.
pub const FEATURES: [&str; 43] = [
    "repeats",
    "steps (1-2)",
    "thirds (3-4)",
    "4ths-5ths (5-7)",
    "wider (8+)",
    "leaps (5+)",
    "mean interval",
    "range",
    "turns",
    "up",
    "length <= 1/4",
    "length 1/3, 2/3",
    "length 1/2",
    "length 3/4 (dotted)",
    "length 1",
    "length 3/2",
    "length 2-3",
    "length 4+",
    "on the pulse",
    "notes per note heard",
    "tonic",
    "third",
    "fifth",
    "other in key",
    "out of key",
    "ends on tonic",
    "ends on fifth",
    "ending length",
    "ends on the downbeat",
    "v: unison/8ve",
    "v: 3rd",
    "v: 4th",
    "v: 5th",
    "v: 6th",
    "v: dissonant",
    "m: contrary",
    "m: parallel",
    "m: oblique",
    "distance",
    "apart: 3rd or less",
    "apart: 4th-5th",
    "apart: 6th-8ve",
    "apart: wider",
];

/// Where the feature `name` is in [`FEATURES`]; a name that is not there fails to compile where
/// this is evaluated in a `const` (as [`features`] does for every slot it writes).
pub const fn slot(name: &str) -> usize {
    let (name, mut i) = (name.as_bytes(), 0);
    while i < FEATURES.len() {
        let f = FEATURES[i].as_bytes();
        if f.len() == name.len() {
            let mut k = 0;
            while k < f.len() && f[k] == name[k] {
                k += 1;
            }
            if k == f.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("no such feature")
}

/// Where the feature `name` is in [`FEATURES`], if it is there (for names read at run time).
pub fn feature_index(name: &str) -> Option<usize> {
    FEATURES.iter().position(|&f| f == name)
}

/// Index of the first cadence feature (answers only).
pub const CADENCE: usize = slot("ends on tonic");
/// Index of the first two-voice feature (voices only).
pub const TWO_VOICE: usize = slot("v: unison/8ve");

/// A line's features, in [`FEATURES`]' order.
pub type Features = [f64; FEATURES.len()];

/// The bar lines around `notes`: from the bar line at or before the first onset to the one at or
/// after the last note's end (`None` for no notes).
pub fn bar_span(notes: &[Note], meter: (u8, u8)) -> Option<(f64, f64)> {
    let bar = f64::from(meter.0) * 4.0 / f64::from(meter.1);
    let first = notes.iter().map(|n| n.beat).reduce(f64::min)?;
    let last = notes.iter().map(|n| n.beat + n.length).reduce(f64::max)?;
    let from = ((first + SLACK) / bar).floor() * bar;
    let to = ((last - SLACK) / bar).ceil().max(from / bar + 1.0) * bar;
    Some((from, to))
}

/// The key sounding in `notes` at `t` (the one begun last), if any.
fn sounding(notes: &[Note], t: f64) -> Option<u8> {
    notes
        .iter()
        .filter(|n| n.beat <= t + SLACK && n.beat + n.length > t + SLACK)
        .max_by(|a, b| a.beat.total_cmp(&b.beat))
        .map(|n| n.key)
}

/// `part` of `whole`, or 0 when there is nothing to share.
fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The length class of `t` beats: index into the seven length features.
fn length_class(t: f64) -> usize {
    let near = |x: f64| (t - x).abs() < 0.04;
    if t <= 0.25 + 0.04 {
        0
    } else if near(1.0 / 3.0) || near(2.0 / 3.0) {
        1
    } else if near(0.5) {
        2
    } else if near(0.75) {
        3
    } else if near(1.0) {
        4
    } else if near(1.5) {
        5
    } else if t >= 4.0 - 0.04 {
        7
    } else if t >= 2.0 - 0.04 {
        6
    } else if t < 0.5 {
        2
    } else if t < 1.0 {
        4
    } else {
        5
    }
}

/// The features of `line` (its notes starting in `span`, beats) in `situation`. Lengths are from
/// onset to the next onset (a rest belongs to the note before it); the last note's is its own
/// length. An answer (`situation.together` false) is measured as a phrase: up to its ending, the
/// last note on a strong beat, and its notes per beat from its first onset to that note's end.
pub fn features(line: &[Note], span: (f64, f64), situation: &Situation) -> Features {
    let mut f = [0.0; FEATURES.len()];
    let mut notes: Vec<Note> = line
        .iter()
        .filter(|n| n.beat >= span.0 - SLACK && n.beat < span.1 - SLACK)
        .copied()
        .collect();
    notes.sort_by(|a, b| a.beat.total_cmp(&b.beat));
    let mut span = span;
    if !situation.together {
        // A phrase ends on its last note on a strong beat: the notes after it lead on into the
        // next phrase, as a tune's pickups do (`training/phrases.py` reads a phrase's end so).
        // The phrase is measured up to that note's end.
        let ending = notes
            .iter()
            .rposition(|n| strong_beat(situation.meter, n.beat))
            .or(notes.len().checked_sub(1));
        if let Some(k) = ending {
            notes.truncate(k + 1);
            span = (notes[0].beat, notes[k].beat + notes[k].length);
        }
    }
    let keys: Vec<i32> = notes.iter().map(|n| i32::from(n.key)).collect();
    let intervals: Vec<i32> = keys.windows(2).map(|w| w[1] - w[0]).collect();
    let n_iv = intervals.len();
    let count = |p: &dyn Fn(i32) -> bool| intervals.iter().filter(|&&i| p(i.abs())).count();
    f[const { slot("repeats") }] = share(count(&|i| i == 0), n_iv);
    f[const { slot("steps (1-2)") }] = share(count(&|i| (1..=2).contains(&i)), n_iv);
    f[const { slot("thirds (3-4)") }] = share(count(&|i| (3..=4).contains(&i)), n_iv);
    f[const { slot("4ths-5ths (5-7)") }] = share(count(&|i| (5..=7).contains(&i)), n_iv);
    f[const { slot("wider (8+)") }] = share(count(&|i| i >= 8), n_iv);
    f[const { slot("leaps (5+)") }] = share(count(&|i| i >= 5), n_iv);
    f[const { slot("mean interval") }] = if n_iv == 0 {
        0.0
    } else {
        intervals.iter().map(|i| f64::from(i.abs())).sum::<f64>() / n_iv as f64
    };
    f[const { slot("range") }] = match (keys.iter().max(), keys.iter().min()) {
        (Some(hi), Some(lo)) => f64::from(hi - lo),
        _ => 0.0,
    };
    let moves: Vec<i32> = intervals.iter().copied().filter(|&i| i != 0).collect();
    let turns = moves.windows(2).filter(|w| w[0].signum() != w[1].signum());
    f[const { slot("turns") }] = share(turns.count(), moves.len().saturating_sub(1));
    f[const { slot("up") }] = share(moves.iter().filter(|&&i| i > 0).count(), moves.len());
    for (k, n) in notes.iter().enumerate() {
        let t = notes.get(k + 1).map_or(n.length, |next| next.beat - n.beat);
        f[const { slot("length <= 1/4") } + length_class(t)] += 1.0;
    }
    let pulse_len = pulse(situation.meter);
    let on_pulse = notes
        .iter()
        .filter(|n| {
            let x = n.beat / pulse_len;
            (x - x.round()).abs() * pulse_len < 0.02
        })
        .count();
    f[const { slot("on the pulse") }] = share(on_pulse, notes.len());
    let per_beat = |count: usize, (a, b): (f64, f64)| count as f64 / (b - a).max(1e-9);
    let heard_rate = per_beat(situation.heard.len(), situation.heard_span);
    f[const { slot("notes per note heard") }] = if heard_rate > 0.0 {
        per_beat(notes.len(), span) / heard_rate
    } else {
        0.0
    };
    let scale = situation.scale;
    let degree = |key: u8| (i32::from(key) - i32::from(scale.tonic)).rem_euclid(12);
    for n in &notes {
        let d = degree(n.key);
        let slot = match d {
            0 => const { slot("tonic") },
            3 | 4 if scale.contains(n.key) => const { slot("third") },
            7 => const { slot("fifth") },
            _ if scale.contains(n.key) => const { slot("other in key") },
            _ => const { slot("out of key") },
        };
        f[slot] += 1.0;
    }
    let lengths = const { slot("length <= 1/4")..slot("length 4+") + 1 };
    let degrees = const { slot("tonic")..slot("out of key") + 1 };
    for i in lengths.chain(degrees) {
        f[i] = share(f[i] as usize, notes.len());
    }
    if !situation.together {
        if let Some(end) = notes.last() {
            let bar = f64::from(situation.meter.0) * 4.0 / f64::from(situation.meter.1);
            let place = end.beat.rem_euclid(bar);
            f[const { slot("ends on tonic") }] = f64::from(u8::from(degree(end.key) == 0));
            f[const { slot("ends on fifth") }] = f64::from(u8::from(degree(end.key) == 7));
            f[const { slot("ending length") }] = end.length.max(1.0 / 12.0).log2();
            f[const { slot("ends on the downbeat") }] =
                f64::from(u8::from(place < SLACK || bar - place < SLACK));
        }
    } else {
        two_voices(&notes, span, situation, &mut f);
    }
    f
}

/// The vertical and motion features of `notes` against the heard voice, on each pulse of `span`
/// where both sound.
fn two_voices(notes: &[Note], span: (f64, f64), situation: &Situation, f: &mut Features) {
    let pulse_len = pulse(situation.meter);
    let mut t = (span.0 / pulse_len).ceil() * pulse_len;
    let (mut met, mut moved) = (0usize, 0usize);
    let (mut distance, mut motion) = (0.0, [0usize; 3]);
    let mut prev: Option<(u8, u8)> = None;
    while t < span.1 - SLACK {
        let now = sounding(&situation.heard, t).zip(sounding(notes, t));
        if let Some((h, d)) = now {
            met += 1;
            let vertical = match class(h, d) {
                0 => const { slot("v: unison/8ve") },
                3 | 4 => const { slot("v: 3rd") },
                5 => const { slot("v: 4th") },
                7 => const { slot("v: 5th") },
                8 | 9 => const { slot("v: 6th") },
                _ => const { slot("v: dissonant") },
            };
            f[vertical] += 1.0;
            let apart = h.abs_diff(d);
            distance += f64::from(apart);
            let near = const { slot("apart: 3rd or less") };
            f[near + distance_class(apart)] += 1.0;
            if let Some((h0, d0)) = prev {
                let (dh, dd) = (i32::from(h) - i32::from(h0), i32::from(d) - i32::from(d0));
                if dh != 0 || dd != 0 {
                    moved += 1;
                    if dh == 0 || dd == 0 {
                        motion[2] += 1;
                    } else if dh.signum() != dd.signum() {
                        motion[0] += 1;
                    } else if class(h, d) == class(h0, d0) {
                        motion[1] += 1;
                    }
                }
            }
        }
        prev = now;
        t += pulse_len;
    }
    for x in f[const { slot("v: unison/8ve")..slot("v: dissonant") + 1 }].iter_mut() {
        *x = share(*x as usize, met);
    }
    for (k, m) in motion.iter().enumerate() {
        f[const { slot("m: contrary") } + k] = share(*m, moved);
    }
    f[const { slot("distance") }] = if met == 0 { 0.0 } else { distance / met as f64 };
    for x in f[const { slot("apart: 3rd or less")..slot("apart: wider") + 1 }].iter_mut() {
        *x = share(*x as usize, met);
    }
}

/// The class of two voices `apart` semitones: 0 a third or less, 1 a fourth to a fifth, 2 a
/// sixth to an octave, 3 wider (as `decode::calibration` weighs a key's distance from the voice
/// it hears).
fn distance_class(apart: u8) -> usize {
    match apart {
        0..=4 => 0,
        5..=7 => 1,
        8..=12 => 2,
        _ => 3,
    }
}

/// A line of random keys of `scale` with `line`'s rhythm, within its range (the reference "a
/// random note of the key at the same moments"), drawn from `seed`.
pub fn random_keys(line: &[Note], scale: Scale, seed: u64) -> Vec<Note> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let lo = line.iter().map(|n| n.key).min().unwrap_or(60);
    let hi = line.iter().map(|n| n.key).max().unwrap_or(72).max(lo + 4);
    let keys: Vec<u8> = (lo..=hi).filter(|&k| scale.contains(k)).collect();
    line.iter()
        .map(|n| Note {
            key: keys[rng.usize(..keys.len())],
            ..*n
        })
        .collect()
}

/// `line` moved by `shift` beats and `transpose` semitones (another piece's line placed in this
/// one's situation: the reference "another piece of the same style").
pub fn placed(line: &[Note], shift: f64, transpose: i32) -> Vec<Note> {
    line.iter()
        .filter_map(|n| {
            let key = u8::try_from(i32::from(n.key) + transpose).ok()?;
            (key <= 127).then_some(Note {
                beat: n.beat + shift,
                length: n.length,
                key,
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A note at `beat`, `length` beats long.
    pub(crate) fn n(beat: f64, length: f64, key: u8) -> Note {
        Note { beat, length, key }
    }

    /// An answer's situation: a call of four quarter notes (C D E F) in C major, 4/4.
    pub(crate) fn alone() -> Situation {
        Situation {
            heard: vec![
                n(0.0, 1.0, 60),
                n(1.0, 1.0, 62),
                n(2.0, 1.0, 64),
                n(3.0, 1.0, 65),
            ],
            heard_span: (0.0, 4.0),
            scale: Scale::major(0),
            meter: (4, 4),
            together: false,
        }
    }

    #[test]
    fn a_line_is_described_by_its_intervals_lengths_degrees_and_ending() {
        // C D G (a leap of a 5th) G (a repeat), then E leading on.
        let line = [
            n(4.0, 0.5, 60),
            n(4.5, 0.5, 62),
            n(5.0, 1.0, 67),
            n(6.0, 0.75, 67),
            n(6.75, 1.25, 64),
        ];
        let f = features(&line, (4.0, 8.0), &alone());
        let at = |name: &str| f[slot(name)];
        // The phrase ends on its last note on a strong beat, the G on beat 3 (6.0); the E after
        // it leads on into the next phrase and is not part of this one.
        assert_eq!((at("ends on tonic"), at("ends on fifth")), (0.0, 1.0));
        assert_eq!(at("ending length"), 0.75f64.log2());
        assert_eq!(at("ends on the downbeat"), 0.0);
        // Up a step, up a 5th, a repeat.
        let third = 1.0 / 3.0;
        assert_eq!((at("repeats"), at("steps (1-2)")), (third, third));
        assert_eq!((at("4ths-5ths (5-7)"), at("leaps (5+)")), (third, third));
        assert_eq!(at("mean interval"), 7.0 / 3.0);
        assert_eq!(at("range"), 7.0);
        assert_eq!((at("turns"), at("up")), (0.0, 1.0));
        assert_eq!(
            (at("length 1/2"), at("length 3/4 (dotted)"), at("length 1")),
            (0.5, 0.25, 0.25)
        );
        // 4 notes from beat 4 to the G's end (6.75) against the call's 4 in 4 beats.
        assert!((at("notes per note heard") - 4.0 / 2.75).abs() < 1e-12);
        assert_eq!((at("tonic"), at("third"), at("fifth")), (0.25, 0.0, 0.5));
        assert_eq!(at("on the pulse"), 0.75);
    }

    #[test]
    fn a_counter_voice_is_described_by_its_intervals_and_motion_with_the_heard_voice() {
        let upper = vec![
            n(0.0, 1.0, 72),
            n(1.0, 1.0, 74),
            n(2.0, 1.0, 76),
            n(3.0, 1.0, 77),
        ];
        let situation = Situation {
            heard: upper,
            together: true,
            ..alone()
        };
        // A 5th, a 5th by parallel motion, a 6th against a held note (oblique), a 3rd and an
        // octave lower by contrary motion.
        let lower = [n(0.0, 1.0, 65), n(1.0, 2.0, 67), n(3.0, 1.0, 62)];
        let f = features(&lower, (0.0, 4.0), &situation);
        let at = |name: &str| f[slot(name)];
        assert_eq!(
            (at("v: 5th"), at("v: 6th"), at("v: 3rd")),
            (0.5, 0.25, 0.25)
        );
        assert_eq!((at("v: 4th"), at("v: dissonant")), (0.0, 0.0));
        let third = 1.0 / 3.0;
        assert_eq!(
            (at("m: contrary"), at("m: parallel"), at("m: oblique")),
            (third, third, third)
        );
        assert_eq!(at("distance"), (7.0 + 7.0 + 9.0 + 15.0) / 4.0);
        assert_eq!((at("apart: 3rd or less"), at("apart: 4th-5th")), (0.0, 0.5));
        assert_eq!((at("apart: 6th-8ve"), at("apart: wider")), (0.25, 0.25));
        // The vertical features are read from the lower voice up: a 4th below is a 4th.
        let f = features(&[n(0.0, 4.0, 67)], (0.0, 4.0), &situation);
        assert_eq!(f[slot("v: 4th")], 0.25);
    }

    #[test]
    fn an_empty_line_gives_zeros_not_nan() {
        let f = features(&[], (0.0, 4.0), &alone());
        assert!(f.iter().all(|x| *x == 0.0), "{f:?}");
    }
}
