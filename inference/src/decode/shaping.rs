//! Logit shaping: the hard and soft sampling constraints that back up the model's control
//! vector. Applied by the generator to a copy of the logits just before sampling a pitch or a
//! duration; called on the inference worker; never allocates (it writes into a caller's buffer).
//!
//! Guarantees, for pitch tokens after [`shape_pitches`]:
//! - no key outside the register is left with a finite logit; an out-of-range key's probability
//!   moves to the same pitch class by octaves inside the register (folding), so a narrow register
//!   changes the octave, not the silence;
//! - at scale lock 1, no out-of-scale key is left with a finite logit; below 1 an out-of-scale
//!   key's weight is multiplied by `1 - scale_lock`;
//! - with the key's collection known, a key outside it is weighed down by `e^-KEY_PULL` (the
//!   key pull; it never forbids a key), less a degree the mood leans to, in proportion to the
//!   mood (at mood ±1 the borrowed third, sixth and seventh are not pulled);
//! - with a key known, `mood` < 0 favours the minor third, sixth and seventh over the major ones
//!   (and > 0 the reverse) by up to a factor of `e^MOOD_WEIGHT`;
//! - a key a second, seventh or tritone from a heard pitch class sounding at the onset is weighed
//!   down by `e^-CLASH_PENALTY_STRONG` on a beat (`e^-CLASH_PENALTY_WEAK` off it): the harmony
//!   guard, which never forbids a key; a key that would move into a fifth or an octave with a
//!   moving heard voice, from a fifth or an octave with it, is weighed down by
//!   `e^-PARALLEL_PENALTY`.

use crate::decode::steering::Steering;
use crate::model::tokenizer::{self, TICKS_PER_BEAT};
use crate::music::key::{Key, PitchClassSet};

/// Logit bonus of a chord tone on a strong beat (a factor of about 4.5).
pub const CHORD_BONUS_STRONG: f32 = 1.5;
/// Logit bonus of a chord tone elsewhere.
pub const CHORD_BONUS_WEAK: f32 = 0.4;
/// Logit penalty of a key that clashes with what sounds, on a beat (a factor of about 1/20).
pub const CLASH_PENALTY_STRONG: f32 = 3.0;
/// Logit penalty of a key that clashes with what sounds, off the beat.
pub const CLASH_PENALTY_WEAK: f32 = 0.75;
/// Logit penalty of a key that makes parallel fifths or octaves with the heard voice.
pub const PARALLEL_PENALTY: f32 = 2.0;
/// Interval classes the harmony guard weighs down: seconds, sevenths, the tritone.
const CLASHES: [u8; 5] = [1, 2, 6, 10, 11];
/// Logit penalty of a key outside the key's collection (a factor of about 1/20): the key pull,
/// a lean towards the notes of the key the music establishes, whatever the scale lock. At 3,
/// Descant's notes are in the key about as often as the tunes' own (97.5 against 97.7 % on the
/// validation split; 2 gave 97.1, with `EARLY_IN_KEY` 0.85; see `docs/MEASUREMENTS.md`).
pub const KEY_PULL: f32 = 3.0;
/// Logit penalty of a key the line has just played three times running.
pub const REPEAT_PENALTY: f32 = 3.0;
/// Notes the repetition guard looks back.
pub const REPEAT_RUN: usize = 3;
/// Largest logit shift of the mood lean (at mood ±1).
pub const MOOD_WEIGHT: f32 = 1.5;
/// Spread, in natural-log units of the note length, of the density backstop's prior.
const DENSITY_SIGMA: f32 = 0.8;

/// What the pitch shaper knows about the moment besides the steering.
#[derive(Debug, Clone, Copy)]
pub struct PitchContext<'a> {
    /// The key set or detected, if any: the scale lock's scale and the mood's tonic.
    pub key: Option<Key>,
    /// Pitch classes of the held chord (empty set: no chord).
    pub chord: PitchClassSet,
    /// Pitch classes the music establishes as the key's (empty set: none known).
    pub collection: PitchClassSet,
    /// Whether the note starts on a beat.
    pub strong_beat: bool,
    /// Descant's latest keys, oldest first.
    pub recent_keys: &'a [u8],
    /// Pitch classes heard (or expected) sounding at the note's onset (empty: none, or the
    /// harmony guard is off).
    pub sounding: PitchClassSet,
    /// Pitch classes that would make parallel fifths or octaves with the heard voice.
    pub parallel: PitchClassSet,
}

fn log_add_exp(a: f32, b: f32) -> f32 {
    if a == f32::NEG_INFINITY {
        return b;
    }
    if b == f32::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// The key an out-of-register key folds to, if its pitch class fits in the register.
fn fold_into(key: u8, lo: u8, hi: u8) -> Option<u8> {
    let k = i32::from(key);
    let (lo, hi) = (i32::from(lo), i32::from(hi));
    let folded = if k < lo {
        k + 12 * ((lo - k + 11) / 12)
    } else if k > hi {
        k - 12 * ((k - hi + 11) / 12)
    } else {
        k
    };
    (lo..=hi).contains(&folded).then_some(folded as u8)
}

/// Copies `logits` into `out` and shapes the pitch tokens (see the module guarantees).
pub fn shape_pitches(logits: &[f32], out: &mut [f32], steering: &Steering, ctx: PitchContext) {
    out.copy_from_slice(logits);
    let (lo, hi) = steering.register();
    let idx = |key: u8| tokenizer::pitch_token(key) as usize;
    for key in tokenizer::PITCH_LOW..=tokenizer::PITCH_HIGH {
        if (lo..=hi).contains(&key) || idx(key) >= out.len() {
            continue;
        }
        if let Some(target) = fold_into(key, lo, hi) {
            out[idx(target)] = log_add_exp(out[idx(target)], logits[idx(key)]);
        }
        out[idx(key)] = f32::NEG_INFINITY;
    }
    let lock = if steering.scale_lock.is_finite() {
        steering.scale_lock.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let scale_penalty = if lock >= 1.0 {
        f32::NEG_INFINITY
    } else {
        (1.0 - lock).ln()
    };
    let chord_bonus = if ctx.strong_beat {
        CHORD_BONUS_STRONG
    } else {
        CHORD_BONUS_WEAK
    };
    let scale = ctx.key.map(Key::scale);
    let mood = if steering.mood.is_finite() {
        steering.mood.clamp(-1.0, 1.0) * MOOD_WEIGHT
    } else {
        0.0
    };
    let last = ctx.recent_keys.last().copied();
    let run = ctx.recent_keys.len() >= REPEAT_RUN
        && ctx.recent_keys[ctx.recent_keys.len() - REPEAT_RUN..]
            .iter()
            .all(|&k| Some(k) == last);
    for key in lo..=hi {
        let Some(l) = out.get_mut(idx(key)) else {
            continue;
        };
        if let Some(scale) = scale {
            if lock > 0.0 && !scale.contains_key(key) {
                *l += scale_penalty;
            }
        }
        // How far the mood asks for this key: a degree of the mode it leans to (0 to 1).
        let mut asked = 0.0;
        if let Some(k) = ctx.key {
            // Degrees that tell major from minor: the third, sixth and seventh.
            match (key + 12 - k.tonic % 12) % 12 {
                3 | 8 | 10 => {
                    *l -= mood;
                    asked = (-mood / MOOD_WEIGHT).max(0.0);
                }
                4 | 9 | 11 => {
                    *l += mood;
                    asked = (mood / MOOD_WEIGHT).max(0.0);
                }
                _ => {}
            }
        }
        if ctx.collection.0 != 0 && !ctx.collection.contains_key(key) {
            // A degree the mood borrows from the other mode is the musician's choice, not a
            // guess against the key: the pull gives way in proportion.
            *l -= KEY_PULL * (1.0 - asked);
        }
        if steering.chord_bias && ctx.chord.contains_key(key) {
            *l += chord_bonus;
        }
        if steering.repetition_guard && run && Some(key) == last {
            *l -= REPEAT_PENALTY;
        }
        let clashes = (0..12u8)
            .any(|pc| ctx.sounding.contains_key(pc) && CLASHES.contains(&((key + 12 - pc) % 12)));
        if clashes {
            *l -= if ctx.strong_beat {
                CLASH_PENALTY_STRONG
            } else {
                CLASH_PENALTY_WEAK
            };
        }
        if ctx.parallel.contains_key(key) {
            *l -= PARALLEL_PENALTY;
        }
    }
}

/// Copies `logits` into `out`; with a density target, adds a log-normal prior on note length
/// centred on one note per `1 / density` beats (the backstop for the density control).
pub fn shape_durations(logits: &[f32], out: &mut [f32], density: Option<f32>) {
    out.copy_from_slice(logits);
    if let Some(d) = density {
        weigh_lengths(out, d, |z| z / DENSITY_SIGMA);
    }
}

/// Spread, in natural-log units of the note length, of the pace prior on long notes. On the
/// validation split's Renaissance voices below (`descant idiom`), 0.5 took the notes per note of
/// the voice above from 0.57 to 0.65 and 0.35 to 0.68 (the composers' 0.96), while 0.35 moved
/// the Chinese folk answers' rhythm away from the tunes'; see `docs/MEASUREMENTS.md`, "Idiom".
const PACE_SIGMA: f32 = 0.5;

/// Copies `logits` into `out` and weighs down note lengths longer than one note per `1 / pace`
/// beats by a half-normal prior on the log length ([`PACE_SIGMA`]); shorter notes are left to the
/// model. The line keeps the player's pace without its rhythm being flattened.
pub fn shape_long_durations(logits: &[f32], out: &mut [f32], pace: f32) {
    out.copy_from_slice(logits);
    weigh_lengths(out, pace, |z| (z / PACE_SIGMA).max(0.0));
}

/// Copies `logits` into `out` and weighs down note lengths shorter than one note per `1 / pace`
/// beats by the half-normal prior of [`shape_long_durations`], mirrored; longer notes are left to
/// the model. An answer keeps the call's pace and may still hold its cadence.
pub fn shape_short_durations(logits: &[f32], out: &mut [f32], pace: f32) {
    out.copy_from_slice(logits);
    weigh_lengths(out, pace, |z| (z / PACE_SIGMA).min(0.0));
}

/// Subtracts `z²/2` from each duration token's logit in `out`, `z` being `spread` of the log of
/// its length over the length of one note per `1 / notes_per_beat` beats. Nothing for a rate that
/// is not a positive number.
fn weigh_lengths(out: &mut [f32], notes_per_beat: f32, spread: impl Fn(f32) -> f32) {
    if !(notes_per_beat.is_finite() && notes_per_beat > 0.0) {
        return;
    }
    let centre = (1.0 / notes_per_beat).ln();
    for ticks in 1..=tokenizer::MAX_DUR_TICKS {
        let Some(l) = out.get_mut(tokenizer::dur_token(ticks) as usize) else {
            continue;
        };
        let beats = ticks as f32 / TICKS_PER_BEAT as f32;
        let z = spread(beats.ln() - centre);
        *l -= 0.5 * z * z;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tokenizer::VOCAB_SIZE_V2 as VOCAB_SIZE;
    use crate::music::key::{Key, Mode};

    fn flat() -> Vec<f32> {
        vec![0.0; VOCAB_SIZE]
    }

    fn no_context() -> PitchContext<'static> {
        PitchContext {
            key: None,
            chord: PitchClassSet(0),
            collection: PitchClassSet(0),
            strong_beat: true,
            recent_keys: &[],
            sounding: PitchClassSet(0),
            parallel: PitchClassSet(0),
        }
    }

    #[test]
    fn the_harmony_guard_weighs_down_what_clashes_with_what_sounds() {
        let s = Steering::default();
        let mut out = flat();
        // A sounding E: F and D# (seconds), A# (tritone) go down on the beat; G and C do not.
        let ctx = PitchContext {
            sounding: PitchClassSet(1 << 4),
            ..no_context()
        };
        shape_pitches(&flat(), &mut out, &s, ctx);
        let l = |key: u8| out[tokenizer::pitch_token(key) as usize];
        assert_eq!(l(65), -CLASH_PENALTY_STRONG);
        assert_eq!(l(63), -CLASH_PENALTY_STRONG);
        assert_eq!(l(70), -CLASH_PENALTY_STRONG);
        assert_eq!((l(67), l(60), l(64)), (0.0, 0.0, 0.0));
        let off_beat = PitchContext {
            strong_beat: false,
            ..ctx
        };
        shape_pitches(&flat(), &mut out, &s, off_beat);
        assert_eq!(
            out[tokenizer::pitch_token(65) as usize],
            -CLASH_PENALTY_WEAK
        );
    }

    fn prob(out: &[f32], key: u8) -> f32 {
        let pitches = tokenizer::pitch_token(tokenizer::PITCH_LOW) as usize
            ..=tokenizer::pitch_token(tokenizer::PITCH_HIGH) as usize;
        let total: f32 = out[pitches].iter().map(|l| l.exp()).sum();
        out[tokenizer::pitch_token(key) as usize].exp() / total
    }

    #[test]
    fn out_of_register_keys_fold_by_octaves() {
        let mut logits = flat();
        for l in logits.iter_mut() {
            *l = -20.0;
        }
        logits[tokenizer::pitch_token(40) as usize] = 0.0; // E2, far below
        let mut out = flat();
        let s = Steering {
            register_low: 60,
            register_high: 72,
            ..Steering::default()
        };
        shape_pitches(&logits, &mut out, &s, no_context());
        assert!(prob(&out, 64) > 0.9, "E2's weight went to E4");
        for key in (21..60).chain(73..=108) {
            assert_eq!(out[tokenizer::pitch_token(key) as usize], f32::NEG_INFINITY);
        }
    }

    #[test]
    fn a_full_scale_lock_removes_every_out_of_scale_key() {
        let mut out = flat();
        let s = Steering {
            scale_lock: 1.0,
            ..Steering::default()
        };
        let d = Key {
            tonic: 2,
            mode: Mode::Major,
        };
        let d_major = d.scale();
        let ctx = PitchContext {
            key: Some(d),
            ..no_context()
        };
        shape_pitches(&flat(), &mut out, &s, ctx);
        let (lo, hi) = s.register();
        for key in lo..=hi {
            let l = out[tokenizer::pitch_token(key) as usize];
            assert_eq!(l.is_finite(), d_major.contains_key(key), "{key}");
        }
    }

    #[test]
    fn a_half_lock_halves_out_of_scale_weight() {
        let mut out = flat();
        let s = Steering {
            scale_lock: 0.5,
            ..Steering::default()
        };
        let ctx = PitchContext {
            key: Some(Key {
                tonic: 0,
                mode: Mode::Major,
            }),
            ..no_context()
        };
        shape_pitches(&flat(), &mut out, &s, ctx);
        assert!((prob(&out, 61) / prob(&out, 60) - 0.5).abs() < 1e-4);
    }

    #[test]
    fn chord_tones_gain_most_on_strong_beats() {
        let s = Steering::default();
        let chord = PitchClassSet(1 << 0 | 1 << 4 | 1 << 7);
        let mut strong = flat();
        let mut weak = flat();
        let ctx = PitchContext {
            chord,
            ..no_context()
        };
        shape_pitches(&flat(), &mut strong, &s, ctx);
        shape_pitches(
            &flat(),
            &mut weak,
            &s,
            PitchContext {
                strong_beat: false,
                ..ctx
            },
        );
        assert!(prob(&strong, 64) > prob(&weak, 64));
        assert!(prob(&weak, 64) > prob(&weak, 65));
        let off = Steering {
            chord_bias: false,
            ..s
        };
        let mut plain = flat();
        shape_pitches(&flat(), &mut plain, &off, ctx);
        assert_eq!(prob(&plain, 64), prob(&plain, 65));
    }

    #[test]
    fn a_key_played_three_times_is_discouraged() {
        let s = Steering::default();
        let mut out = flat();
        let ctx = PitchContext {
            recent_keys: &[67, 67, 67],
            ..no_context()
        };
        shape_pitches(&flat(), &mut out, &s, ctx);
        assert!(prob(&out, 67) < prob(&out, 66) / 10.0);
        let twice = PitchContext {
            recent_keys: &[65, 67, 67],
            ..no_context()
        };
        shape_pitches(&flat(), &mut out, &s, twice);
        assert_eq!(prob(&out, 67), prob(&out, 66));
    }

    #[test]
    fn mood_leans_toward_the_minor_or_major_degrees() {
        let c = Key {
            tonic: 0,
            mode: Mode::Major,
        };
        let ctx = PitchContext {
            key: Some(c),
            ..no_context()
        };
        // E flat over E at `mood` in `ctx`.
        let lean = |ctx: PitchContext, mood| {
            let mut out = flat();
            let s = Steering {
                mood,
                ..Steering::default()
            };
            shape_pitches(&flat(), &mut out, &s, ctx);
            prob(&out, 63) / prob(&out, 64)
        };
        assert!(lean(ctx, -1.0) > 1.0 && lean(ctx, 1.0) < 1.0);
        assert!((lean(ctx, 0.0) - 1.0).abs() < 1e-6);
        assert_eq!(lean(no_context(), -1.0), 1.0, "no key, no lean");
        // With the key's collection pulling (a set C major), the mood still leans: the pull
        // gives way for the degrees the mood borrows, and holds at mood 0.
        let pulled = PitchContext {
            collection: c.scale(),
            ..ctx
        };
        assert!(lean(pulled, -1.0) > 1.0, "{}", lean(pulled, -1.0));
        assert!(lean(pulled, 0.0) < 0.1 && lean(pulled, 1.0) < lean(pulled, 0.0));
    }

    #[test]
    fn the_density_prior_prefers_the_target_length() {
        let shaped = |density| {
            let mut out = flat();
            shape_durations(&flat(), &mut out, density);
            move |ticks| out[tokenizer::dur_token(ticks) as usize]
        };
        let at = shaped(Some(2.0));
        assert!(
            at(6) > at(24),
            "an eighth beats a half note at 2 notes per beat"
        );
        let at = shaped(Some(0.5));
        assert!(at(24) > at(6));
        let at = shaped(None);
        assert_eq!(at(6), at(24));
    }

    #[test]
    fn the_pace_prior_weighs_down_long_notes_and_leaves_short_ones_to_the_model() {
        let mut out = flat();
        // Half a note per beat: a note every 2 beats (24 ticks).
        shape_long_durations(&flat(), &mut out, 0.5);
        let at = |ticks| out[tokenizer::dur_token(ticks) as usize];
        assert_eq!((at(6), at(12), at(24)), (0.0, 0.0, 0.0));
        assert!(at(48) < at(24) && at(96) < at(48), "{} {}", at(48), at(96));
        // A breve at a half note's pace: ln 4 / 0.5 = 2.8 spreads, about 4 logits down.
        assert!((at(96) + 0.5 * (4f32.ln() / PACE_SIGMA).powi(2)).abs() < 1e-4);
        let mut out = flat();
        shape_long_durations(&flat(), &mut out, f32::NAN);
        assert!(out.iter().all(|&l| l == 0.0));
    }

    #[test]
    fn the_answers_pace_prior_weighs_down_short_notes_and_leaves_long_ones_to_the_model() {
        let mut out = flat();
        // A hymn's call, a note per beat (12 ticks): quarters and longer are the model's.
        shape_short_durations(&flat(), &mut out, 1.0);
        let at = |ticks| out[tokenizer::dur_token(ticks) as usize];
        assert_eq!((at(12), at(24), at(48)), (0.0, 0.0, 0.0));
        assert!(at(6) < at(12) && at(3) < at(6), "{} {}", at(6), at(3));
        // An eighth at a quarter's pace: ln 2 / 0.5 = 1.4 spreads, about 1 logit down.
        assert!((at(6) + 0.5 * (2f32.ln() / PACE_SIGMA).powi(2)).abs() < 1e-4);
        let mut out = flat();
        shape_short_durations(&flat(), &mut out, 0.0);
        assert!(out.iter().all(|&l| l == 0.0));
    }
}
