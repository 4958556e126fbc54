//! How a line ends its phrases: at every phrase end of a grid of `phrase_bars` bars (from the
//! host's first bar line), whether the line **breathes** there and how its last note lands. Pure
//! functions over notes in beats; used by `descant duet` and the host tests, for Descant's line
//! and, as the reference, for the melody it plays beside. The definitions are in `docs/MODEL.md`.
//!
//! Guarantees: nothing is sampled (the random-note reference is the exact share of the tonic
//! triad in the key's scale), so the same notes give the same figures.

use crate::duet::{strong_beat, Note, Scale};

/// The shortest rest that counts as a breath before a phrase end, in beats (an eighth note).
pub const REST_BEATS: f64 = 0.5;

/// The figures of a line's phrase ends. Counts, so lines add up.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PhraseEnds {
    /// Phrase ends where the line sounded in the phrase's last bar.
    pub ends: u32,
    /// Of those, with a breath: the last note before the end does not sound across it, and it
    /// is long (a half note; a dotted quarter in x/8) or ends [`REST_BEATS`] or more before it.
    pub breaths: u32,
    /// Of those, the last note is a note of the key's tonic triad (a cadence).
    pub triad: u32,
    /// Of those, the last note starts on a strong beat (the downbeat, or the middle of a bar of
    /// 4, 6 or 12 beats).
    pub strong: u32,
    /// A random note of the key at the same ends: the expected count on the tonic triad.
    pub random_triad: f64,
}

impl PhraseEnds {
    /// Adds another line's counts.
    pub fn add(&mut self, o: &PhraseEnds) {
        self.ends += o.ends;
        self.breaths += o.breaths;
        self.triad += o.triad;
        self.strong += o.strong;
        self.random_triad += o.random_triad;
    }

    /// One line of figures: breaths, cadences, strong beats (percent of the ends).
    pub fn line(&self) -> String {
        let pct = |c: f64| {
            if self.ends == 0 {
                0.0
            } else {
                100.0 * c / f64::from(self.ends)
            }
        };
        format!(
            "{} ends: breath {:.1} %, last note on the tonic triad {:.1} % (a random note of the \
             key {:.1} %), on a strong beat {:.1} %",
            self.ends,
            pct(f64::from(self.breaths)),
            pct(f64::from(self.triad)),
            pct(self.random_triad),
            pct(f64::from(self.strong)),
        )
    }
}

/// Measures `line`'s phrase ends every `phrase_bars` bars of `meter` that lie in `(from, to]`
/// beats, in `scale`.
pub fn phrase_ends(
    line: &[Note],
    scale: Scale,
    meter: (u8, u8),
    phrase_bars: u32,
    (from, to): (f64, f64),
) -> PhraseEnds {
    let bar = f64::from(meter.0) * 4.0 / f64::from(meter.1.max(1));
    let compound = meter.1 == 8 && meter.0.is_multiple_of(3);
    let long = if compound { 1.5 } else { 2.0 };
    let phrase = bar * f64::from(phrase_bars.max(1));
    let third = if scale.contains(scale.tonic + 4) {
        4
    } else {
        3
    };
    let triad = [0u8, third, 7];
    let in_triad = |key: u8| triad.contains(&((key + 12 - scale.tonic % 12) % 12));
    let scale_size = (0..12u8).filter(|&pc| scale.contains(pc)).count();
    let triad_share = triad
        .iter()
        .filter(|&&d| scale.contains(scale.tonic + d))
        .count() as f64
        / scale_size.max(1) as f64;
    let mut s = PhraseEnds::default();
    let mut end = (from / phrase).floor() * phrase + phrase;
    while end <= to + 1e-9 {
        let last = line
            .iter()
            .filter(|n| n.beat < end - 1e-9)
            .max_by(|a, b| a.beat.total_cmp(&b.beat));
        if let Some(n) = last.filter(|n| n.beat + n.length > end - bar + 1e-9) {
            s.ends += 1;
            let stop = n.beat + n.length;
            let breath =
                stop <= end + 1e-9 && (n.length >= long - 1e-9 || stop <= end - REST_BEATS + 1e-9);
            s.breaths += u32::from(breath);
            s.triad += u32::from(in_triad(n.key));
            s.strong += u32::from(strong_beat(meter, n.beat));
            s.random_triad += triad_share;
        }
        end += phrase;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(beat: f64, length: f64, key: u8) -> Note {
        Note { beat, length, key }
    }

    #[test]
    fn a_long_last_note_or_a_rest_is_a_breath_and_a_note_across_the_end_is_not() {
        let c = Scale::major(0);
        // Phrase ends at beats 16, 32, 48 (4/4, four bars).
        let line = [
            n(14.0, 2.0, 60), // a half note on beat 3 of bar 4, on C: breath, triad, strong
            n(30.0, 1.0, 62), // a quarter then a rest of a beat: breath, D not in the triad
            n(46.5, 2.0, 64), // held across the end: no breath
        ];
        let s = phrase_ends(&line, c, (4, 4), 4, (0.0, 48.0));
        assert_eq!((s.ends, s.breaths, s.triad, s.strong), (3, 2, 2, 2));
        assert!((s.random_triad - 3.0 * 3.0 / 7.0).abs() < 1e-9);
    }

    #[test]
    fn a_short_note_right_up_to_the_end_is_no_breath_and_silence_is_not_counted() {
        let line = [n(15.5, 0.5, 67), n(20.0, 1.0, 67)];
        let s = phrase_ends(&line, Scale::major(0), (4, 4), 4, (0.0, 48.0));
        // Beat 16: an eighth up to the end; beats 32 and 48: silent in the last bar.
        assert_eq!((s.ends, s.breaths, s.triad, s.strong), (1, 0, 1, 0));
    }

    #[test]
    fn compound_meters_count_a_dotted_quarter_as_long_and_minor_keys_their_minor_third() {
        // 6/8: a bar is 3 beats; four bars end at beat 12.
        let line = [n(10.5, 1.5, 69 + 3)];
        let s = phrase_ends(&line, Scale::minor(9), (6, 8), 4, (0.0, 12.0));
        assert_eq!((s.ends, s.breaths, s.triad, s.strong), (1, 1, 1, 1));
    }
}
