//! How two voices sound together: the measures users hear when Descant plays beside a melody.
//! Pure functions over notes in beats; used by `descant duet`, the host tests and (with the same
//! definitions, in Python) `training/evaluate.py`. The definitions are in `docs/MODEL.md`.
//!
//! Guarantees: every count is over the notes given, nothing is sampled (the random-note reference
//! is the exact expectation over the key's scale, not a draw), so the same notes give the same
//! figures.

/// A note in beats (quarter notes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    /// Onset in beats.
    pub beat: f64,
    /// Length in beats.
    pub length: f64,
    /// MIDI key.
    pub key: u8,
}

/// A key: tonic pitch class and the scale's pitch classes (relative to the tonic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    /// Tonic pitch class, 0 = C.
    pub tonic: u8,
    /// Pitch classes of the scale, relative to the tonic (bit `i` set: degree `i` semitones up).
    pub degrees: u16,
}

impl Scale {
    /// Major: 0 2 4 5 7 9 11.
    pub const fn major(tonic: u8) -> Scale {
        Scale {
            tonic,
            degrees: 0b1010_1011_0101,
        }
    }

    /// Natural minor: 0 2 3 5 7 8 10.
    pub const fn minor(tonic: u8) -> Scale {
        Scale {
            tonic,
            degrees: 0b0101_1010_1101,
        }
    }

    /// Dorian: 0 2 3 5 7 9 10.
    pub const fn dorian(tonic: u8) -> Scale {
        Scale {
            tonic,
            degrees: 0b0110_1010_1101,
        }
    }

    /// Whether `key` is in the scale (for minor, the raised 7th counts too: the leading tone).
    pub fn contains(&self, key: u8) -> bool {
        let degree = (i32::from(key) - i32::from(self.tonic)).rem_euclid(12);
        let minor_leading = self == &Scale::minor(self.tonic) && degree == 11;
        self.degrees & (1 << degree) != 0 || minor_leading
    }

    /// The scale's pitch classes (absolute).
    fn pitch_classes(&self) -> impl Iterator<Item = u8> + '_ {
        (0..12u8)
            .filter(|d| self.degrees & (1 << d) != 0)
            .map(|d| (d + self.tonic) % 12)
    }
}

/// Interval classes counted consonant: unison/octave, 3rds, 4th, 5th, 6ths.
pub(crate) const CONSONANT: [u8; 7] = [0, 3, 4, 5, 7, 8, 9];
/// The same without the 4th (the strict, two-voice counterpoint reading).
pub(crate) const STRICT: [u8; 6] = [0, 3, 4, 7, 8, 9];

/// The key with pitch class `pc` nearest `near` (from 5 below it to 6 above): where a random
/// note of that pitch class would sound had it been played in the line's place.
pub(crate) fn placed(pc: u8, near: u8) -> u8 {
    let up = (i32::from(pc) - i32::from(near)).rem_euclid(12);
    let offset = if up > 6 { up - 12 } else { up };
    (i32::from(near) + offset).clamp(0, 127) as u8
}

/// A note that starts or ends this close after a moment counts as starting or ending at it
/// (beats). Descant's notes come back from a render rounded to samples, up to a few
/// 100,000ths of a beat late; read exactly, a note begun on the beat would not yet sound there,
/// and the note before it would (the motion between the voices read a beat late).
pub const SLACK: f64 = 1.0 / 1000.0;

/// Onsets this close to a beat count as on it (beats).
pub const ON_BEAT: f64 = 1.0 / 16.0;

/// The figures of one duet (Descant against the player). Counts, so duets add up. (One field per
/// count `descant duet` prints and the host tests judge; they are summed field by field.)
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DuetStats {
    /// Descant notes that start on a beat while a player note sounds.
    pub on_beat: u32,
    /// Of those, consonant with the (highest) sounding player note, the 4th counted consonant.
    pub consonant: u32,
    /// Of those, consonant with the 4th counted a dissonance.
    pub strict: u32,
    /// A random note of the key at the same moments: expected consonant count.
    pub random_consonant: f64,
    /// A random note of the key at the same moments: expected strict count.
    pub random_strict: f64,
    /// Beats where both voices sound.
    pub duet_beats: u32,
    /// Moves from one such beat to the next where at least one voice moves.
    pub moves: u32,
    /// Of the moves: same direction, same interval class.
    pub parallel: u32,
    /// Of the moves: same direction, another interval class.
    pub similar: u32,
    /// Of the moves: opposite directions.
    pub contrary: u32,
    /// Of the moves: one voice stays.
    pub oblique: u32,
    /// Parallel fifths and octaves (both voices move the same way into the same perfect interval).
    pub parallel_perfect: u32,
    /// Moves where Descant crossed from one side of the player to the other.
    pub crossings: u32,
    /// Descant's notes.
    pub notes: u32,
    /// Of those, in the key.
    pub in_key: u32,
    /// Descant's onsets on the beat grid's 16ths or 8th-note triplets.
    pub on_grid: u32,
    /// Descant's repeated keys (a note on the same key as the previous one).
    pub repeats: u32,
    /// Descant's lowest and highest key (0, 0 with no notes).
    pub range: (u8, u8),
    /// Player notes in the measured span.
    pub player_notes: u32,
}

impl DuetStats {
    /// Adds another duet's counts.
    pub fn add(&mut self, o: &DuetStats) {
        self.on_beat += o.on_beat;
        self.consonant += o.consonant;
        self.strict += o.strict;
        self.random_consonant += o.random_consonant;
        self.random_strict += o.random_strict;
        self.duet_beats += o.duet_beats;
        self.moves += o.moves;
        self.parallel += o.parallel;
        self.similar += o.similar;
        self.contrary += o.contrary;
        self.oblique += o.oblique;
        self.parallel_perfect += o.parallel_perfect;
        self.crossings += o.crossings;
        self.notes += o.notes;
        self.in_key += o.in_key;
        self.on_grid += o.on_grid;
        self.repeats += o.repeats;
        self.player_notes += o.player_notes;
        self.range = match (self.range, o.range) {
            ((0, 0), r) | (r, (0, 0)) => r,
            ((a, b), (c, d)) => (a.min(c), b.max(d)),
        };
    }

    /// Share of a count, in percent of `of` (0 when `of` is 0).
    pub fn pct(count: f64, of: u32) -> f64 {
        if of == 0 {
            0.0
        } else {
            100.0 * count / f64::from(of)
        }
    }
}

/// The highest key of `notes` sounding at `t` (onset at or before, end after).
fn sounding(notes: &[Note], t: f64) -> Option<u8> {
    notes
        .iter()
        .filter(|n| n.beat <= t + SLACK && n.beat + n.length > t + SLACK)
        .map(|n| n.key)
        .max()
}

/// Interval class of two keys, 0..12, from the lower key up: a 4th is 5 and a 5th is 7 whichever
/// of the two is the higher voice. ([`STRICT`] leaves out 5 but keeps 7, so the order matters:
/// a 5th below the melody is the 4th's inversion, and consonant strictly.)
pub fn class(a: u8, b: u8) -> u8 {
    (i32::from(a.max(b)) - i32::from(a.min(b))).rem_euclid(12) as u8
}

/// Interval class buckets for "the same interval": 2nds, 3rds, 6ths and 7ths by size.
fn bucket(ic: u8) -> u8 {
    match ic {
        1 | 2 => 1,
        3 | 4 => 3,
        8 | 9 => 8,
        10 | 11 => 10,
        other => other,
    }
}

/// Measures `descant` against `player` from `from` to `to` beats (notes starting there), in
/// `scale`, on a grid of `beat` quarter notes (1 for x/4, 1.5 for compound x/8).
pub fn measure(
    player: &[Note],
    descant: &[Note],
    scale: Scale,
    beat: f64,
    (from, to): (f64, f64),
) -> DuetStats {
    let mut s = DuetStats::default();
    count_notes(&mut s, player, descant, scale, beat, (from, to));
    count_motion(&mut s, player, descant, beat, (from, to));
    s
}

/// Counts Descant's notes in `from..to` into `s`: in key, range, repeats, on the grid, and on the
/// beat against the player's sounding note (consonant, strict, and a random note of the key's
/// chances at the same beats, each placed in the octave of Descant's note: [`placed`]).
fn count_notes(
    s: &mut DuetStats,
    player: &[Note],
    descant: &[Note],
    scale: Scale,
    beat: f64,
    (from, to): (f64, f64),
) {
    let inside = |n: &&Note| n.beat >= from - 1e-9 && n.beat < to - 1e-9;
    s.player_notes = player.iter().filter(inside).count() as u32;
    let mut previous: Option<u8> = None;
    for n in descant.iter().filter(inside) {
        s.notes += 1;
        s.in_key += u32::from(scale.contains(n.key));
        s.range = if s.range == (0, 0) {
            (n.key, n.key)
        } else {
            (s.range.0.min(n.key), s.range.1.max(n.key))
        };
        s.repeats += u32::from(previous == Some(n.key));
        previous = Some(n.key);
        let ticks = n.beat * 12.0;
        s.on_grid += u32::from(
            (ticks / 3.0 - (ticks / 3.0).round()).abs() < 0.05
                || (ticks / 4.0 - (ticks / 4.0).round()).abs() < 0.05,
        );
        let nearest = (n.beat / beat).round() * beat;
        if (n.beat - nearest).abs() > ON_BEAT {
            continue;
        }
        let Some(p) = sounding(player, nearest) else {
            continue;
        };
        s.on_beat += 1;
        let ic = class(n.key, p);
        s.consonant += u32::from(CONSONANT.contains(&ic));
        s.strict += u32::from(STRICT.contains(&ic));
        let pcs: Vec<u8> = scale.pitch_classes().collect();
        let share = |set: &[u8]| {
            pcs.iter()
                .filter(|&&pc| set.contains(&class(placed(pc, n.key), p)))
                .count() as f64
                / pcs.len() as f64
        };
        s.random_consonant += share(&CONSONANT);
        s.random_strict += share(&STRICT);
    }
}

/// Counts the motion between the two voices from beat to beat in `from..to` into `s`: oblique,
/// contrary, parallel (fifths and octaves apart), similar, crossings.
fn count_motion(
    s: &mut DuetStats,
    player: &[Note],
    descant: &[Note],
    beat: f64,
    (from, to): (f64, f64),
) {
    let first = (from / beat).ceil() as i64;
    let last = (to / beat).floor() as i64;
    let mut prev: Option<(u8, u8)> = None;
    for b in first..last {
        let t = b as f64 * beat;
        let now = match (sounding(player, t), sounding(descant, t)) {
            (Some(p), Some(d)) => (p, d),
            _ => {
                prev = None;
                continue;
            }
        };
        s.duet_beats += 1;
        if let Some((p0, d0)) = prev {
            let (dp, dd) = (
                i32::from(now.0) - i32::from(p0),
                i32::from(now.1) - i32::from(d0),
            );
            if dp != 0 || dd != 0 {
                s.moves += 1;
                if dp == 0 || dd == 0 {
                    s.oblique += 1;
                } else if dp.signum() != dd.signum() {
                    s.contrary += 1;
                } else if bucket(class(now.1, now.0)) == bucket(class(d0, p0)) {
                    s.parallel += 1;
                    let ic = class(now.1, now.0);
                    s.parallel_perfect += u32::from(ic == 0 || ic == 7);
                } else {
                    s.similar += 1;
                }
                let side = |p: u8, d: u8| (i32::from(d) - i32::from(p)).signum();
                let (a, z) = (side(p0, d0), side(now.0, now.1));
                s.crossings += u32::from(a != 0 && z != 0 && a != z);
            }
        }
        prev = Some(now);
    }
}

/// Whether `beat` is a strong beat of a bar of `meter` starting at beat 0: the downbeat, or the
/// middle of a bar of 4, 6 or 12 beats.
pub fn strong_beat(meter: (u8, u8), beat: f64) -> bool {
    let bar = f64::from(meter.0) * 4.0 / f64::from(meter.1);
    let pos = beat.rem_euclid(bar);
    let near = |x: f64| (pos - x).abs() < 1e-3 || (pos - x - bar).abs() < 1e-3;
    near(0.0) || (matches!(meter.0, 4 | 6 | 12) && near(bar / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(beat: f64, length: f64, key: u8) -> Note {
        Note { beat, length, key }
    }

    #[test]
    fn a_third_below_is_consonant_and_parallel() {
        let player = [n(0.0, 1.0, 64), n(1.0, 1.0, 65), n(2.0, 1.0, 67)];
        let descant = [n(0.0, 1.0, 60), n(1.0, 1.0, 62), n(2.0, 1.0, 64)];
        let s = measure(&player, &descant, Scale::major(0), 1.0, (0.0, 3.0));
        assert_eq!((s.on_beat, s.consonant, s.strict), (3, 3, 3));
        assert_eq!(
            (s.duet_beats, s.moves, s.parallel, s.parallel_perfect),
            (3, 2, 2, 0)
        );
        assert_eq!(s.in_key, 3);
    }

    #[test]
    fn fourths_count_only_in_the_loose_measure_and_fifths_in_parallel_are_flagged() {
        let player = [n(0.0, 1.0, 60), n(1.0, 1.0, 62)];
        let descant = [n(0.0, 1.0, 65), n(1.0, 1.0, 69)];
        let s = measure(&player, &descant, Scale::major(0), 1.0, (0.0, 2.0));
        // F over C is a 4th; A over D is a 5th.
        assert_eq!((s.consonant, s.strict), (2, 1));
        assert_eq!((s.parallel, s.similar), (0, 1));
        let parallel_fifths = [n(0.0, 1.0, 67), n(1.0, 1.0, 69)];
        let s = measure(&player, &parallel_fifths, Scale::major(0), 1.0, (0.0, 2.0));
        assert_eq!((s.parallel, s.parallel_perfect), (1, 1));
    }

    #[test]
    fn contrary_oblique_and_crossing_moves() {
        let player = [n(0.0, 2.0, 64), n(2.0, 1.0, 62)];
        let descant = [n(0.0, 1.0, 67), n(1.0, 1.0, 69), n(2.0, 1.0, 60)];
        let s = measure(&player, &descant, Scale::major(0), 1.0, (0.0, 3.0));
        // beat 0->1: the player holds (oblique); 1->2: the player falls, Descant falls below it.
        assert_eq!((s.moves, s.oblique, s.similar, s.crossings), (2, 1, 1, 1));
    }

    #[test]
    fn the_random_reference_is_the_scale_average() {
        // Against a sounding C in C major: C E F G A consonant (5 of 7), strict without F (4 of 7).
        let player = [n(0.0, 4.0, 60)];
        let descant = [n(0.0, 1.0, 61)];
        let s = measure(&player, &descant, Scale::major(0), 1.0, (0.0, 4.0));
        assert_eq!((s.on_beat, s.consonant), (1, 0));
        assert!((s.random_consonant - 5.0 / 7.0).abs() < 1e-9);
        assert!((s.random_strict - 4.0 / 7.0).abs() < 1e-9);
        assert_eq!(s.in_key, 0);
    }

    #[test]
    fn the_interval_is_read_from_the_lower_voice_up() {
        // Under C5: F4 is a 5th below (strict), G4 a 4th below (not); over C4, G4 is a 5th above.
        let player = [n(0.0, 2.0, 72), n(2.0, 2.0, 60)];
        let descant = [n(0.0, 1.0, 65), n(1.0, 1.0, 67), n(2.0, 1.0, 67)];
        let s = measure(&player, &descant, Scale::major(0), 1.0, (0.0, 4.0));
        assert_eq!((s.on_beat, s.consonant, s.strict), (3, 3, 2));
        assert_eq!((class(65, 72), class(72, 65)), (7, 7));
        assert_eq!(placed(0, 65), 60, "C nearest F4 is C4, 5 below");
        assert_eq!(placed(11, 65), 71, "B nearest F4 is B4, 6 above");
    }

    #[test]
    fn a_note_rounded_to_a_sample_after_the_beat_sounds_on_it() {
        // As a render gives them back: each of Descant's notes 2/100,000ths of a beat late. A 5th
        // below C5, then a 5th below D5: parallel fifths, read on the beats where they meet.
        let player = [n(0.0, 1.0, 72), n(1.0, 1.0, 74)];
        let descant = [n(0.00002, 1.0, 65), n(1.00002, 1.0, 67)];
        let s = measure(&player, &descant, Scale::major(0), 1.0, (0.0, 2.0));
        assert_eq!((s.duet_beats, s.moves, s.parallel_perfect), (2, 1, 1));
    }

    #[test]
    fn the_python_twin_gives_the_same_figures() {
        let golden: serde_json::Value =
            serde_json::from_str(include_str!("../../training/golden/duet_cases.json")).unwrap();
        let notes = |v: &serde_json::Value| -> Vec<Note> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|n| Note {
                    beat: n[0].as_f64().unwrap(),
                    length: n[1].as_f64().unwrap(),
                    key: n[2].as_u64().unwrap() as u8,
                })
                .collect()
        };
        for case in golden["cases"].as_array().unwrap() {
            let tonic = case["scale"][0].as_u64().unwrap() as u8;
            let scale = match case["scale"][1].as_str().unwrap() {
                "major" => Scale::major(tonic),
                "minor" => Scale::minor(tonic),
                _ => Scale::dorian(tonic),
            };
            let span = (
                case["span"][0].as_f64().unwrap(),
                case["span"][1].as_f64().unwrap(),
            );
            let s = measure(
                &notes(&case["player"]),
                &notes(&case["descant"]),
                scale,
                case["beat"].as_f64().unwrap(),
                span,
            );
            let e = &case["expected"];
            let name = case["name"].as_str().unwrap();
            let count = |k: &str| e[k].as_u64().unwrap() as u32;
            let got = [
                s.on_beat,
                s.consonant,
                s.strict,
                s.duet_beats,
                s.moves,
                s.parallel,
                s.similar,
                s.contrary,
                s.oblique,
                s.parallel_perfect,
                s.crossings,
                s.notes,
                s.in_key,
                s.on_grid,
                s.repeats,
                s.player_notes,
            ];
            let want = [
                "on_beat",
                "consonant",
                "strict",
                "duet_beats",
                "moves",
                "parallel",
                "similar",
                "contrary",
                "oblique",
                "parallel_perfect",
                "crossings",
                "notes",
                "in_key",
                "on_grid",
                "repeats",
                "player_notes",
            ]
            .map(count);
            assert_eq!(got, want, "{name}");
            assert!((s.random_consonant - e["random_consonant"].as_f64().unwrap()).abs() < 1e-9);
            assert!((s.random_strict - e["random_strict"].as_f64().unwrap()).abs() < 1e-9);
        }
    }

    #[test]
    fn off_beat_notes_and_silence_are_not_counted() {
        let player = [n(0.0, 1.0, 60)];
        let descant = [n(0.5, 0.5, 61), n(2.0, 1.0, 61)];
        let s = measure(&player, &descant, Scale::major(0), 1.0, (0.0, 4.0));
        assert_eq!((s.notes, s.on_beat, s.duet_beats), (2, 0, 0));
    }

    #[test]
    fn strong_beats_follow_the_meter() {
        assert!(strong_beat((4, 4), 6.0));
        assert!(!strong_beat((3, 4), 4.0));
        assert!(strong_beat((6, 8), 4.5));
        assert!(!strong_beat((6, 8), 4.0));
    }
}
