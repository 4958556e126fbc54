//! How a line fits a harmony: the chord measures users hear when Descant plays beside a melody and
//! its chords. Pure functions over notes in beats; used by `descant heldout` and the host tests.
//!
//! Guarantees: every count is over the notes given and nothing is sampled: the random chord tone
//! reference is the exact expectation over the sounding chord's pitch classes, so the same notes
//! give the same figures. A beat is the meter's pulse ([`pulse`]): a dotted quarter in 6/8, 9/8
//! and 12/8, a half note in 2/2, the denominator's note otherwise.

use crate::duet::{class, placed, strong_beat, Note, Scale, CONSONANT, ON_BEAT, SLACK, STRICT};

/// The meter's pulse in quarter-note beats: what a player counts (two in 6/8, three in 9/8, two
/// in 2/2, one per bar in 3/8).
pub fn pulse(meter: (u8, u8)) -> f64 {
    let (n, d) = meter;
    if d == 8 && n % 3 == 0 {
        1.5
    } else {
        4.0 / f64::from(d.max(1))
    }
}

/// The chord figures of a line against a melody and a chord part. Counts, so takes add up.
/// (One field per count the held-out tables print; summed field by field.)
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ChordStats {
    /// The line's on-beat notes while a chord sounds.
    pub beats: u32,
    /// Of those, a tone of the sounding chord.
    pub tones: u32,
    /// The line's notes on strong beats while a chord sounds.
    pub strong: u32,
    /// Of those, a tone of the sounding chord.
    pub strong_tones: u32,
    /// The line's on-beat notes while a chord and a melody note sound.
    pub with_melody: u32,
    /// Of those, consonant with the melody note (the 4th counted consonant).
    pub consonant: u32,
    /// Of those, consonant with the 4th counted a dissonance.
    pub strict: u32,
    /// A random tone of the sounding chord at the same moments, in the octave of the line's note
    /// ([`crate::duet::placed`]): expected consonant count.
    pub random_consonant: f64,
    /// The same, strict.
    pub random_strict: f64,
    /// A random note of the key at the on-beat moments with a chord: expected chord tones.
    pub random_key_tones: f64,
}

impl ChordStats {
    /// Adds another take's counts.
    pub fn add(&mut self, o: &ChordStats) {
        self.beats += o.beats;
        self.tones += o.tones;
        self.strong += o.strong;
        self.strong_tones += o.strong_tones;
        self.with_melody += o.with_melody;
        self.consonant += o.consonant;
        self.strict += o.strict;
        self.random_consonant += o.random_consonant;
        self.random_strict += o.random_strict;
        self.random_key_tones += o.random_key_tones;
    }
}

/// Whether `n` sounds at `t` (onset at or before, end after).
fn sounds(n: &Note, t: f64) -> bool {
    n.beat <= t + SLACK && n.beat + n.length > t + SLACK
}

/// The pitch classes of `chords` sounding at `t`, as bits.
pub fn chord_at(chords: &[Note], t: f64) -> u16 {
    chords
        .iter()
        .filter(|n| sounds(n, t))
        .fold(0, |set, n| set | 1 << (n.key % 12))
}

/// Chord shapes a voice may complete, as intervals above the root: the major, minor and
/// diminished triads and the dominant seventh.
const SHAPES: [u16; 4] = [
    1 | 1 << 4 | 1 << 7,
    1 | 1 << 3 | 1 << 7,
    1 | 1 << 3 | 1 << 6,
    1 | 1 << 4 | 1 << 7 | 1 << 10,
];

/// What counts as a tone of the chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToneRule {
    /// The pitch class sounds in the chord part: a line beside a chord (Descant).
    Sounding,
    /// The pitch class sounds in the other voices, or completes a triad or a dominant seventh
    /// with them: a voice that is itself part of the harmony (a chorale's alto).
    Completes,
}

/// Whether pitch class `pc` is a tone of `chord` (pitch classes as bits) under `rule`.
pub fn is_tone(chord: u16, pc: u8, rule: ToneRule) -> bool {
    let pc = pc % 12;
    if chord >> pc & 1 == 1 {
        return true;
    }
    rule == ToneRule::Completes && {
        let with = chord | 1 << pc;
        (0..12).any(|root| {
            SHAPES.iter().any(|&shape| {
                let rotated = ((shape << root) | (shape >> (12 - root))) & 0xfff;
                with & !rotated == 0
            })
        })
    }
}

/// Measures `line` against `melody` and `chords` for notes starting in `from..to` beats, in
/// `scale` and `meter`, with chord tones under `rule` (see [`ChordStats`]).
pub fn measure_chords(
    melody: &[Note],
    chords: &[Note],
    line: &[Note],
    scale: Scale,
    meter: (u8, u8),
    (from, to): (f64, f64),
    rule: ToneRule,
) -> ChordStats {
    let mut s = ChordStats::default();
    let beat = pulse(meter);
    let scale_pcs: Vec<u8> = (0..12u8).filter(|&pc| scale.contains(pc + 60)).collect();
    for n in line
        .iter()
        .filter(|n| n.beat >= from - 1e-9 && n.beat < to - 1e-9)
    {
        let nearest = (n.beat / beat).round() * beat;
        if (n.beat - nearest).abs() > ON_BEAT {
            continue;
        }
        let chord = chord_at(chords, nearest);
        if chord == 0 {
            continue;
        }
        let tone = is_tone(chord, n.key, rule);
        s.beats += 1;
        s.tones += u32::from(tone);
        if strong_beat(meter, nearest) {
            s.strong += 1;
            s.strong_tones += u32::from(tone);
        }
        s.random_key_tones += scale_pcs.iter().filter(|&&pc| chord >> pc & 1 == 1).count() as f64
            / scale_pcs.len().max(1) as f64;
        let Some(m) = melody
            .iter()
            .filter(|m| sounds(m, nearest))
            .map(|m| m.key)
            .max()
        else {
            continue;
        };
        s.with_melody += 1;
        let ic = class(n.key, m);
        s.consonant += u32::from(CONSONANT.contains(&ic));
        s.strict += u32::from(STRICT.contains(&ic));
        let tones: Vec<u8> = (0..12u8).filter(|pc| chord >> pc & 1 == 1).collect();
        let share = |set: &[u8]| {
            tones
                .iter()
                .filter(|&&pc| set.contains(&class(placed(pc, n.key), m)))
                .count() as f64
                / tones.len() as f64
        };
        s.random_consonant += share(&CONSONANT);
        s.random_strict += share(&STRICT);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(beat: f64, length: f64, key: u8) -> Note {
        Note { beat, length, key }
    }

    fn c_major_then_g(len: f64) -> Vec<Note> {
        let mut v: Vec<Note> = [48, 52, 55].iter().map(|&k| n(0.0, len, k)).collect();
        v.extend([43, 47, 50].iter().map(|&k| n(len, len, k)));
        v
    }

    #[test]
    fn pulses_follow_the_meter() {
        assert_eq!(pulse((4, 4)), 1.0);
        assert_eq!(pulse((2, 2)), 2.0);
        assert_eq!(pulse((6, 8)), 1.5);
        assert_eq!(pulse((9, 8)), 1.5);
        assert_eq!(pulse((3, 8)), 1.5);
        assert_eq!(pulse((3, 4)), 1.0);
    }

    #[test]
    fn chord_tones_are_counted_on_the_beat_and_the_strong_beat() {
        let chords = c_major_then_g(4.0);
        let melody = [n(0.0, 4.0, 72), n(4.0, 4.0, 74)];
        // E on beat 1 (tone, strong), F on beat 2 (not a tone), D at bar 2 (tone of G, strong),
        // an off-beat A (not counted).
        let line = [
            n(0.0, 1.0, 64),
            n(1.0, 1.0, 65),
            n(1.5, 0.5, 69),
            n(4.0, 2.0, 62),
        ];
        let s = measure_chords(
            &melody,
            &chords,
            &line,
            Scale::major(0),
            (4, 4),
            (0.0, 8.0),
            ToneRule::Sounding,
        );
        assert_eq!((s.beats, s.tones, s.strong, s.strong_tones), (3, 2, 2, 2));
        // E under C: a minor 6th below; F under C: a 5th below (class 7: strict, though F is a
        // 4th above C's pitch class); D under D: unison.
        assert_eq!((s.with_melody, s.consonant, s.strict), (3, 3, 3));
    }

    #[test]
    fn the_random_chord_tone_is_the_exact_expectation() {
        let chords = c_major_then_g(4.0);
        // Each random tone sounds in the octave of the line's note. Over C major, against melody
        // C5, near E4: C4 (octave), E4 (6th below), G4 (a 4th below): all consonant, 2 of 3
        // strict. Over G major against C5, near G4: G4 (a 4th below), B4 (a 2nd), D4 (a 7th).
        let melody = [n(0.0, 8.0, 72)];
        let line = [n(0.0, 1.0, 64), n(4.0, 1.0, 67)];
        let s = measure_chords(
            &melody,
            &chords,
            &line,
            Scale::major(0),
            (4, 4),
            (0.0, 8.0),
            ToneRule::Sounding,
        );
        assert!((s.random_consonant - (1.0 + 1.0 / 3.0)).abs() < 1e-9);
        assert!((s.random_strict - 2.0 / 3.0).abs() < 1e-9);
        // A random C major scale note is a tone of C major 3/7 of the time, of G major 3/7.
        assert!((s.random_key_tones - 6.0 / 7.0).abs() < 1e-9);
    }

    #[test]
    fn a_voice_completes_a_chord_only_with_the_rule_that_allows_it() {
        let c_and_e = 1 | 1 << 4;
        assert!(!is_tone(c_and_e, 7, ToneRule::Sounding));
        assert!(is_tone(c_and_e, 7, ToneRule::Completes));
        // B♭ over C-E-G makes C7; B over it is no chord of the shapes.
        let c_major = c_and_e | 1 << 7;
        assert!(is_tone(c_major, 10, ToneRule::Completes));
        assert!(!is_tone(c_major, 11, ToneRule::Completes));
        assert!(!is_tone(c_major, 2, ToneRule::Completes));
    }

    #[test]
    fn no_chord_no_count() {
        let s = measure_chords(
            &[n(0.0, 4.0, 72)],
            &[],
            &[n(0.0, 1.0, 64)],
            Scale::major(0),
            (4, 4),
            (0.0, 4.0),
            ToneRule::Sounding,
        );
        assert_eq!(s, ChordStats::default());
    }
}
