//! The critic: scores a candidate answer against the call it answers, so Answer mode can play the
//! best of several. Plain functions on notes; called on the inference worker (and in tests);
//! allocates a little per call.
//!
//! Guarantees: every score is a plain, documented number, and the total is their weighted sum
//! ([`Scores::total`]); the same candidate, call and settings always score the same. The parts:
//! - **likelihood**: the model's mean log-probability per token of the candidate (≤ 0);
//! - **ending** (0..=1): how the last note ends the phrase, by the [`Ending`] asked for: the tonic
//!   (Home) or the dominant (Open) on a strong beat of the last bar scores 1, on another beat 0.5,
//!   another note of that chord on a strong beat 0.3; Free scores every ending 1;
//! - **density** (≤ 0): minus the distance, in octaves of ratio (`|log2|`), of the candidate's
//!   notes per beat from the call's (or from the target, when the musician set one); with no
//!   target set, a candidate with fewer than half the call's notes also loses [`TOO_FEW_NOTES`]
//!   (a floor, not a taste: such an answer wins only when every candidate is as sparse);
//! - **kinship** (0..=1): how alike the two rhythms are: the overlap of their note-length
//!   histograms and of their onset-in-the-beat histograms, averaged; the Echo ↔ Contrast control
//!   rewards it (echo) or its absence (contrast);
//! - **contour** (0..=1): how alike the two melodies move: the overlap of their histograms of
//!   interval sizes between consecutive notes (repeat, step, third, fourth or fifth, wider) and
//!   of their directions (up, down, same); Echo ↔ Contrast weighs it as it weighs kinship;
//! - **in key** (0..=1): the share of the candidate's notes in the key's scale (1 with no key);
//! - **tonality** (0..=1): how alike the notes the two use are: the overlap of their pitch-class
//!   histograms (the answer stays in the call's notes, with the call's weight on each; a tune's
//!   consequent shares more of them with its first phrase than a model's line does). Echo ↔
//!   Contrast leaves it alone: a contrasting answer is still in the call's tonality;
//! - **shape** (≤ 0): minus the range beyond a twelfth in octaves, minus the share of repeated
//!   keys beyond a third of the notes;
//! - **taste**: what the session's taste adds (`music::taste`), added by Answer mode after
//!   [`score`]: 0 until the musician has kept or asked again for an answer.

use crate::music::key::Key;
use crate::music::time::Meter;
use crate::music::time::TickNote;

/// How an answer should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ending {
    /// On the tonic, on a strong beat of the last bar.
    #[default]
    Home,
    /// On the dominant (a half cadence): a question rather than an answer.
    Open,
    /// Anywhere.
    Free,
}

/// Weights of the critic's parts in the total.
pub const LIKELIHOOD_WEIGHT: f32 = 1.0;
/// Weight of the ending (Free: unused).
pub const ENDING_WEIGHT: f32 = 3.0;
/// Weight of the density distance.
pub const DENSITY_WEIGHT: f32 = 2.0;
/// What a candidate with fewer than half the call's notes loses from its density (no target set).
pub const TOO_FEW_NOTES: f32 = 4.0;
/// Weight of rhythmic kinship at full echo (full contrast: its negative).
pub const KINSHIP_WEIGHT: f32 = 2.0;
/// Weight of the share of notes in the key.
pub const IN_KEY_WEIGHT: f32 = 3.0;
/// Weight of tonal kinship with the call.
pub const TONALITY_WEIGHT: f32 = 6.0;
/// Weight of the shape penalty.
pub const SHAPE_WEIGHT: f32 = 1.0;

/// What the critic knows besides the candidate.
#[derive(Debug, Clone, Copy)]
pub struct Brief<'a> {
    /// The call (absolute ticks).
    pub call: &'a [TickNote],
    /// The key in use, if any (no key: the ending scores as Free).
    pub key: Option<Key>,
    /// The meter of the bars.
    pub meter: Meter,
    /// Absolute tick of a bar line.
    pub anchor: i64,
    /// Where the answer's phrase ends (absolute tick): its last bar is the one before.
    pub end: i64,
    /// The ending asked for.
    pub ending: Ending,
    /// Echo (+1) ↔ Contrast (−1): how much kinship with the call's rhythm is wanted.
    pub echo: f32,
    /// Notes per beat the musician asked for (the Density control), if set; else the call's.
    pub density_target: Option<f32>,
}

/// One candidate's scores (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    /// Mean log-probability per token.
    pub likelihood: f32,
    /// How the last note ends the phrase, 0..=1.
    pub ending: f32,
    /// Minus the density distance, in octaves of ratio.
    pub density: f32,
    /// Rhythmic kinship with the call, 0..=1.
    pub kinship: f32,
    /// Melodic kinship with the call (interval sizes and directions), 0..=1.
    pub contour: f32,
    /// Share of the notes in the key, 0..=1.
    pub in_key: f32,
    /// Tonal kinship with the call (pitch classes), 0..=1.
    pub tonality: f32,
    /// Minus the range and repetition penalties.
    pub shape: f32,
    /// What the session's taste adds ([`crate::music::taste`]; 0 before it learns).
    pub taste: f32,
    /// The weighted sum (the taste included).
    pub total: f32,
}

impl Scores {
    /// One line for the editor: `total 1.2 · ending 1.0 · density −0.1 · …`.
    pub fn line(&self) -> String {
        format!(
            "score {:.2}: ending {:.1}, density {:+.2}, kinship {:.2}, contour {:.2}, in key {:.2}, \
             tonality {:.2}, shape {:+.2}, taste {:+.2}, likelihood {:.2}",
            self.total,
            self.ending,
            self.density,
            self.kinship,
            self.contour,
            self.in_key,
            self.tonality,
            self.shape,
            self.taste,
            self.likelihood
        )
    }
}

/// Whether `tick` falls on a strong beat of its bar: the downbeat, or the middle of a bar of 4, 6
/// or 12 beats.
pub fn strong_beat(meter: Meter, anchor: i64, tick: i64) -> bool {
    let bar = meter.bar_ticks();
    let pos = (tick - anchor).rem_euclid(bar);
    pos == 0 || (matches!(meter.numerator, 4 | 6 | 12) && pos * 2 == bar)
}

/// Notes per quarter-note beat over the span from the first onset to the last note's end.
pub fn notes_per_beat(notes: &[TickNote]) -> Option<f32> {
    let first = notes.first()?.onset;
    let last = notes.iter().map(|n| n.onset + n.duration).max()?;
    let beats = (last - first) as f32 / crate::music::time::TICKS_PER_BEAT as f32;
    (beats > 0.0).then(|| notes.len() as f32 / beats)
}

/// The overlap (0..=1) of two normalised histograms of `BINS` bins built by `bin` over the
/// notes (a bin past the last counts in the last); 0 when either has no note.
fn overlap<const BINS: usize>(
    a: &[TickNote],
    b: &[TickNote],
    bin: impl Fn(&TickNote) -> usize,
) -> f32 {
    let hist = |notes: &[TickNote]| {
        let mut h = [0f32; BINS];
        for n in notes {
            h[bin(n).min(BINS - 1)] += 1.0;
        }
        let total: f32 = h.iter().sum();
        h.map(|x| x / total.max(1.0))
    };
    let (ha, hb) = (hist(a), hist(b));
    ha.iter().zip(&hb).map(|(x, y)| x.min(*y)).sum()
}

/// The overlap (0..=1) of two normalised histograms built by `bin` over the intervals between
/// consecutive notes (in semitones, signed); 0 when either has no interval.
fn interval_overlap(a: &[TickNote], b: &[TickNote], bin: impl Fn(i32) -> usize) -> f32 {
    const BINS: usize = 5;
    let hist = |notes: &[TickNote]| {
        let mut h = [0f32; BINS];
        for w in notes.windows(2) {
            h[bin(i32::from(w[1].key) - i32::from(w[0].key)).min(BINS - 1)] += 1.0;
        }
        let total: f32 = h.iter().sum();
        (total > 0.0).then(|| h.map(|x| x / total))
    };
    match (hist(a), hist(b)) {
        (Some(ha), Some(hb)) => ha.iter().zip(&hb).map(|(x, y)| x.min(*y)).sum(),
        _ => 0.0,
    }
}

/// The size class of an interval: repeat, step, third, fourth or fifth, wider.
fn interval_class(semitones: i32) -> usize {
    match semitones.abs() {
        0 => 0,
        1 | 2 => 1,
        3 | 4 => 2,
        5..=7 => 3,
        _ => 4,
    }
}

/// The direction of an interval: same, up, down.
fn direction(semitones: i32) -> usize {
    match semitones.signum() {
        0 => 0,
        1 => 1,
        _ => 2,
    }
}

/// The length class of a note: sixteenth or less, eighth, dotted eighth, quarter, dotted
/// quarter, half, longer.
fn length_class(n: &TickNote) -> usize {
    match n.duration {
        d if d <= 3 => 0,
        d if d <= 6 => 1,
        d if d <= 9 => 2,
        d if d <= 12 => 3,
        d if d <= 18 => 4,
        d if d <= 24 => 5,
        _ => 6,
    }
}

/// The ending's score: 1 for the cadence's class on a strong beat of the last bar (or any ending
/// when it is free or no key is known), 0.5 off the strong beat, 0.3 for another note of the
/// cadence's chord on one, else 0.
fn ending_score(last: &TickNote, brief: &Brief) -> f32 {
    match (brief.ending, brief.key) {
        (Ending::Free, _) | (_, None) => 1.0,
        (ending, Some(key)) => {
            let target = match ending {
                Ending::Open => (key.tonic + 7) % 12,
                _ => key.tonic,
            };
            let pc = last.key % 12;
            let bar = brief.meter.bar_ticks();
            let in_last_bar = last.onset >= brief.end - bar;
            let strong = strong_beat(brief.meter, brief.anchor, last.onset) && in_last_bar;
            let chord = [
                target,
                (target + 7) % 12,
                (target + 3) % 12,
                (target + 4) % 12,
            ];
            match (pc == target, strong) {
                (true, true) => 1.0,
                (true, false) => 0.5,
                (false, true) if chord.contains(&pc) => 0.3,
                _ => 0.0,
            }
        }
    }
}

/// The density's score: minus the octaves between the candidate's notes per beat and the target's
/// (the `Density` setting, else the call's), less [`TOO_FEW_NOTES`] for under half the call's
/// notes when the density follows the call.
fn density_score(notes: &[TickNote], brief: &Brief) -> f32 {
    let target = brief
        .density_target
        .or_else(|| notes_per_beat(brief.call))
        .unwrap_or(1.0);
    let mine = notes_per_beat(notes).unwrap_or(0.0);
    let mut density = if mine > 0.0 && target > 0.0 {
        -(mine / target).log2().abs()
    } else {
        -4.0
    };
    if brief.density_target.is_none() && notes.len() * 2 < brief.call.len() {
        density -= TOO_FEW_NOTES;
    }
    density
}

/// The shape's score: minus the octaves of range past 19 semitones, minus the share of repeated
/// notes past a third.
fn shape_score(notes: &[TickNote]) -> f32 {
    let lo = notes.iter().map(|n| n.key).min().unwrap_or(0);
    let hi = notes.iter().map(|n| n.key).max().unwrap_or(0);
    let over = f32::from(hi - lo).max(19.0) - 19.0;
    let repeats = notes.windows(2).filter(|w| w[0].key == w[1].key).count() as f32;
    let repeat_share = repeats / notes.len() as f32;
    -(over / 12.0) - (repeat_share - 1.0 / 3.0).max(0.0)
}

/// Scores a candidate answer (`notes`, absolute ticks, in order) with the model's mean
/// log-probability per token `likelihood`.
pub fn score(notes: &[TickNote], likelihood: f32, brief: &Brief) -> Scores {
    let mut s = Scores {
        likelihood,
        ..Scores::default()
    };
    let Some(last) = notes.last() else {
        s.ending = 0.0;
        s.density = -4.0;
        s.total = -1e3;
        return s;
    };
    s.ending = ending_score(last, brief);
    s.density = density_score(notes, brief);
    // Rhythmic kinship.
    s.kinship = if brief.call.is_empty() {
        0.0
    } else {
        let beat = brief.meter.beat_ticks();
        let in_beat =
            |n: &TickNote| ((n.onset - brief.anchor).rem_euclid(beat) * 4 / beat) as usize;
        (overlap::<8>(notes, brief.call, length_class) + overlap::<8>(notes, brief.call, in_beat))
            / 2.0
    };
    // Melodic kinship.
    s.contour = (interval_overlap(notes, brief.call, interval_class)
        + interval_overlap(notes, brief.call, direction))
        / 2.0;
    // In key.
    s.in_key = brief.key.map_or(1.0, |k| {
        let scale = k.scale();
        notes.iter().filter(|n| scale.contains_key(n.key)).count() as f32 / notes.len() as f32
    });
    // Tonal kinship.
    s.tonality = overlap::<12>(notes, brief.call, |n| usize::from(n.key % 12));
    s.shape = shape_score(notes);
    let ending_weight = if brief.ending == Ending::Free {
        0.0
    } else {
        ENDING_WEIGHT
    };
    s.total = LIKELIHOOD_WEIGHT * s.likelihood
        + ending_weight * s.ending
        + DENSITY_WEIGHT * s.density
        + KINSHIP_WEIGHT * brief.echo.clamp(-1.0, 1.0) * (s.kinship + s.contour)
        + IN_KEY_WEIGHT * s.in_key
        + TONALITY_WEIGHT * s.tonality
        + SHAPE_WEIGHT * s.shape;
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::music::key::Mode;

    const C_MAJOR: Key = Key {
        tonic: 0,
        mode: Mode::Major,
    };

    fn n(onset: i64, duration: i64, key: u8) -> TickNote {
        TickNote {
            onset,
            duration,
            key,
        }
    }

    /// A one-bar call of four quarter notes in 4/4 (ticks 0..48).
    fn call() -> Vec<TickNote> {
        vec![n(0, 12, 60), n(12, 12, 62), n(24, 12, 64), n(36, 12, 65)]
    }

    fn brief(call: &[TickNote], ending: Ending) -> Brief<'_> {
        Brief {
            call,
            key: Some(C_MAJOR),
            meter: Meter::FOUR_FOUR,
            anchor: 0,
            end: 96,
            ending,
            echo: 0.0,
            density_target: None,
        }
    }

    #[test]
    fn home_rewards_the_tonic_on_a_strong_beat_of_the_last_bar() {
        let call = call();
        let b = brief(&call, Ending::Home);
        let on = |tick, key| score(&[n(48, 12, 67), n(tick, 12, key)], 0.0, &b).ending;
        assert_eq!(on(72, 60), 1.0, "beat 3 of the last bar");
        assert_eq!(on(48 + 12, 72), 0.5, "the tonic on a weak beat");
        assert_eq!(on(72, 67), 0.3, "the fifth on a strong beat");
        assert_eq!(on(84, 62), 0.0);
    }

    #[test]
    fn open_rewards_the_dominant_and_free_anything() {
        let call = call();
        let last_g = [n(48, 12, 64), n(72, 24, 67)];
        assert_eq!(score(&last_g, 0.0, &brief(&call, Ending::Open)).ending, 1.0);
        assert!(score(&last_g, 0.0, &brief(&call, Ending::Home)).ending < 1.0);
        assert_eq!(score(&last_g, 0.0, &brief(&call, Ending::Free)).ending, 1.0);
    }

    #[test]
    fn density_is_best_at_the_calls_rate() {
        let call = call();
        let b = brief(&call, Ending::Free);
        let quarters: Vec<_> = (0..4).map(|i| n(48 + 12 * i, 12, 60)).collect();
        let halves: Vec<_> = (0..2).map(|i| n(48 + 24 * i, 24, 60)).collect();
        assert_eq!(score(&quarters, 0.0, &b).density, 0.0);
        assert!(
            (score(&halves, 0.0, &b).density + 1.0).abs() < 1e-6,
            "half the rate: one octave"
        );
        // One long note against the call's four: under half its notes, whatever its rate.
        let one = [n(48, 12, 60)];
        let d = score(&one, 0.0, &b).density;
        assert!((d + TOO_FEW_NOTES).abs() < 1e-6, "{d}");
        // Unless the musician asked for that density.
        let sparse = Brief {
            density_target: Some(1.0),
            ..b
        };
        assert_eq!(score(&one, 0.0, &sparse).density, 0.0);
    }

    #[test]
    fn echo_rewards_the_calls_rhythm_and_contrast_its_absence() {
        let call = call();
        // The same melody in the call's rhythm and in a dotted one.
        let same = [n(48, 12, 64), n(60, 12, 65), n(72, 12, 67), n(84, 12, 69)];
        let dotted = [n(48, 18, 64), n(66, 6, 65), n(72, 18, 67), n(90, 6, 69)];
        let mut b = brief(&call, Ending::Free);
        let k = |notes: &[TickNote], b: &Brief| score(notes, 0.0, b);
        assert!(k(&same, &b).kinship > k(&dotted, &b).kinship);
        b.echo = 1.0;
        assert!(k(&same, &b).total > k(&dotted, &b).total);
        b.echo = -1.0;
        assert!(k(&same, &b).total < k(&dotted, &b).total);
    }

    #[test]
    fn echo_rewards_the_calls_leaps_and_contrast_their_absence() {
        // A call that leaps by thirds and fourths, up and down.
        let call = [n(0, 12, 60), n(12, 12, 64), n(24, 12, 67), n(36, 12, 62)];
        let leaps = [n(48, 12, 62), n(60, 12, 65), n(72, 12, 69), n(84, 12, 64)];
        let steps = [n(48, 12, 62), n(60, 12, 64), n(72, 12, 65), n(84, 12, 64)];
        let mut b = brief(&call, Ending::Free);
        let k = |notes: &[TickNote], b: &Brief| score(notes, 0.0, b);
        assert_eq!(k(&leaps, &b).contour, 1.0);
        assert!(k(&steps, &b).contour < 0.6, "{:?}", k(&steps, &b));
        assert_eq!(
            k(&leaps, &b).kinship,
            k(&steps, &b).kinship,
            "the same rhythm"
        );
        b.echo = 1.0;
        assert!(k(&leaps, &b).total > k(&steps, &b).total);
        b.echo = -1.0;
        assert!(k(&leaps, &b).total < k(&steps, &b).total);
    }

    #[test]
    fn notes_out_of_the_key_cost_the_total() {
        let call = call();
        let b = brief(&call, Ending::Free);
        let diatonic = [n(48, 12, 64), n(60, 12, 65), n(72, 12, 67), n(84, 12, 64)];
        let chromatic = [n(48, 12, 64), n(60, 12, 66), n(72, 12, 68), n(84, 12, 64)];
        assert_eq!(score(&diatonic, 0.0, &b).in_key, 1.0);
        assert_eq!(score(&chromatic, 0.0, &b).in_key, 0.5);
        assert!(score(&diatonic, 0.0, &b).total > score(&chromatic, 0.0, &b).total);
    }

    #[test]
    fn an_answer_in_the_calls_notes_wins_over_one_in_other_notes_of_the_key() {
        // The call: C D E F. Both answers are in C major, same rhythm, same contour.
        let call = call();
        let b = brief(&call, Ending::Free);
        let its_notes = [n(48, 12, 65), n(60, 12, 64), n(72, 12, 62), n(84, 12, 60)];
        let others = [n(48, 12, 71), n(60, 12, 69), n(72, 12, 67), n(84, 12, 65)];
        let (mine, theirs) = (score(&its_notes, 0.0, &b), score(&others, 0.0, &b));
        assert_eq!((mine.tonality, theirs.tonality), (1.0, 0.25));
        assert_eq!((mine.in_key, mine.contour), (theirs.in_key, theirs.contour));
        assert!(mine.total > theirs.total);
        // The call's weight on each note counts, not only which notes: C C C D against C D D D.
        let heavy_c = [n(0, 12, 60), n(12, 12, 60), n(24, 12, 60), n(36, 12, 62)];
        let b = brief(&heavy_c, Ending::Free);
        let like = [n(48, 12, 60), n(60, 12, 62), n(72, 12, 60), n(84, 12, 60)];
        let unlike = [n(48, 12, 62), n(60, 12, 60), n(72, 12, 62), n(84, 12, 62)];
        assert!(score(&like, 0.0, &b).tonality > score(&unlike, 0.0, &b).tonality);
    }

    #[test]
    fn a_wide_or_stuck_line_loses_shape() {
        let call = call();
        let b = brief(&call, Ending::Free);
        let fine = [n(48, 12, 64), n(60, 12, 67), n(72, 12, 65), n(84, 12, 64)];
        let wide = [n(48, 12, 48), n(60, 12, 79), n(72, 12, 65), n(84, 12, 64)];
        let stuck = [n(48, 12, 64), n(60, 12, 64), n(72, 12, 64), n(84, 12, 64)];
        assert_eq!(score(&fine, 0.0, &b).shape, 0.0);
        assert!(score(&wide, 0.0, &b).shape < 0.0);
        assert!(score(&stuck, 0.0, &b).shape < 0.0);
    }

    #[test]
    fn strong_beats_follow_the_meter() {
        let m = |a, b| Meter::new(a, b).unwrap();
        assert!(strong_beat(m(4, 4), 0, 24));
        assert!(!strong_beat(m(3, 4), 0, 12));
        assert!(strong_beat(m(6, 8), 0, 18));
        assert!(!strong_beat(m(6, 8), 0, 12));
    }
}
