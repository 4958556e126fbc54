//! The onset choice: Descant's last word on an on-beat note, taken on the audio thread at the
//! sample the note starts, against what sounds there then. Pure functions and `Copy` types; called
//! by the audio thread (and by tests); never allocates or blocks.
//!
//! Why it exists: Descant plans ahead of the playhead, and a player's note (or a chord) usually
//! begins on the same beat as Descant's, so when music is heard once nothing before that sample
//! can know it. The worker therefore sends each on-beat note with a few [`Alternates`]: other keys
//! near it that the model also found likely at that moment (in the key, in the register), and
//! whether the beat is a strong one. At the note's onset the audio thread knows the keys sounding,
//! the player's (the melody) and the chord channel's apart, including those starting at that very
//! sample, and [`choose`]s the planned key or an alternate that fits them better.
//!
//! Guarantees: [`choose`] returns the planned key when nothing sounds, when it has no alternates,
//! or when no alternate ranks strictly higher; otherwise, of the alternates of the highest rank,
//! the one nearest the line's last key (the planned key when nothing met before; the first in the
//! model's order among as near). Against the melody a key fits, best first: every interval a
//! third, fifth or sixth (or a unison or octave the model planned), without moving into parallel
//! fifths or octaves with the nearest melody key; then an alternate that doubles a melody key;
//! then nothing worse than a fourth (or such a parallel); then anything else ([`Fit`]). With a
//! chord sounding, a key is a chord tone or not; on a strong beat the chord comes first wherever
//! the melody allows it (a chord tone that fits the melody strictly, then a key that does, then a
//! chord tone that fits it fairly, then other fair fits), elsewhere the melody comes first and
//! the chord decides among equal fits ([`rank`]).

/// Most alternates one note carries.
pub const MAX_ALTERNATES: usize = 7;

/// Other keys the worker would also accept for a note, best first, and whether the note starts on
/// a strong beat (where the chord comes first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Alternates {
    /// The keys, best first; `0` marks an empty slot (never a key Descant plays: its lowest is
    /// 21).
    pub keys: [u8; MAX_ALTERNATES],
    /// Whether the note starts on a strong beat of its bar.
    pub strong: bool,
}

impl Alternates {
    /// Alternates `keys` (best first; fewer than [`MAX_ALTERNATES`] leave empty slots) for a note
    /// on a strong beat or not.
    pub fn new(keys: &[u8], strong: bool) -> Alternates {
        let mut a = Alternates {
            keys: [0; MAX_ALTERNATES],
            strong,
        };
        for (slot, &k) in a.keys.iter_mut().zip(keys) {
            *slot = k;
        }
        a
    }

    /// The alternates, best first.
    pub fn keys(&self) -> impl Iterator<Item = u8> + '_ {
        self.keys.iter().copied().filter(|&k| k != 0)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.iter().all(|&k| k == 0)
    }
}

/// What sounds beside Descant at an onset: the player's keys (the melody) and the chord
/// channel's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sounding {
    /// The player's keys.
    pub melody: KeySet,
    /// The chord channel's keys.
    pub chord: KeySet,
}

impl Sounding {
    /// Whether nothing sounds.
    pub fn is_empty(self) -> bool {
        self.melody.is_empty() && self.chord.is_empty()
    }

    /// The keys a line meets: the melody's, or the chord's when no melody key sounds.
    pub fn voice(self) -> KeySet {
        if self.melody.is_empty() {
            self.chord
        } else {
            self.melody
        }
    }

    /// Whether `key`'s pitch class sounds in the chord.
    pub fn chord_tone(self, key: u8) -> bool {
        self.chord.keys().any(|k| k % 12 == key % 12)
    }
}

/// A set of MIDI keys, bit `k` set when key `k` sounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeySet(pub u128);

impl KeySet {
    /// Adds `key` (its low 7 bits).
    pub fn insert(&mut self, key: u8) {
        self.0 |= 1 << (key & 127);
    }

    /// Removes `key` (its low 7 bits).
    pub fn remove(&mut self, key: u8) {
        self.0 &= !(1 << (key & 127));
    }

    /// Whether nothing is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The keys, lowest first (one step per key in the set).
    pub fn keys(self) -> impl Iterator<Item = u8> {
        let mut rest = self.0;
        std::iter::from_fn(move || {
            (rest != 0).then(|| {
                let k = rest.trailing_zeros() as u8;
                rest &= rest - 1;
                k
            })
        })
    }

    /// The key in the set nearest `key` (the lower one on a tie), if any.
    pub fn nearest(self, key: u8) -> Option<u8> {
        self.keys()
            .min_by_key(|&k| (i16::from(k) - i16::from(key)).unsigned_abs())
    }
}

/// The previous on-beat meeting of the two voices: Descant's key and the sounding key nearest it
/// (what a parallel fifth or octave is judged against).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meeting {
    /// Descant's key.
    pub own: u8,
    /// The sounding key nearest it.
    pub heard: u8,
}

impl Meeting {
    /// Where `key` meets `sounding`, if anything sounds.
    pub fn of(key: u8, sounding: KeySet) -> Option<Meeting> {
        sounding
            .nearest(key)
            .map(|heard| Meeting { own: key, heard })
    }
}

/// How well a key fits what sounds, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fit {
    /// A second, a seventh or a tritone against some sounding key.
    Clash,
    /// A fourth at worst, or a parallel fifth or octave with the nearest sounding key.
    Fair,
    /// A unison or an octave with some sounding key, the rest strict: consonant, but the line
    /// doubles what it hears. The planned key keeps its place here; an alternate ranks below a
    /// strict one.
    Doubling,
    /// Thirds, fifths and sixths (unisons and octaves too, if the planned key makes them), and no
    /// parallels.
    Strict,
}

/// The interval class between two keys, from the lower up (a 4th is 5 whichever voice is
/// higher; a 5th, 7).
pub fn interval_class(a: u8, b: u8) -> u8 {
    ((i16::from(a.max(b)) - i16::from(a.min(b))).rem_euclid(12)) as u8
}

/// How well `key` fits `sounding`, after the meeting `last` (see [`Fit`]).
pub fn fit(key: u8, sounding: KeySet, last: Option<Meeting>) -> Fit {
    let mut worst = Fit::Strict;
    for s in sounding.keys() {
        match interval_class(key, s) {
            3 | 4 | 7 | 8 | 9 => {}
            0 => worst = worst.min(Fit::Doubling),
            5 => worst = worst.min(Fit::Fair),
            _ => return Fit::Clash,
        }
    }
    if let (Some(last), Some(now)) = (last, Meeting::of(key, sounding)) {
        let perfect = |m: Meeting| matches!(interval_class(m.own, m.heard), 0 | 7);
        let same = interval_class(last.own, last.heard) == interval_class(now.own, now.heard);
        let both_move = now.own != last.own && now.heard != last.heard;
        let together = (now.own > last.own) == (now.heard > last.heard);
        if perfect(now) && same && both_move && together {
            worst = worst.min(Fit::Fair);
        }
    }
    worst
}

/// The rank of `key` at an onset (higher is better; see the module's guarantees): its [`Fit`]
/// against the melody (the chord's keys when no melody sounds), and, with a chord sounding,
/// whether it is a chord tone: on a `strong` beat a chord tone ranks a step above the same fit
/// with the melody (a strict chord tone first, a strict other key above a fair chord tone).
/// `planned` promotes a doubling to strict (the model's own choice stands).
pub fn rank(key: u8, sounding: Sounding, last: Option<Meeting>, strong: bool, planned: bool) -> u8 {
    let f = fit(key, sounding.voice(), last);
    let f = if planned && f == Fit::Doubling {
        Fit::Strict
    } else {
        f
    };
    let melody = f as u8;
    if sounding.chord.is_empty() || sounding.melody.is_empty() {
        return 2 * melody;
    }
    let tone = u8::from(sounding.chord_tone(key));
    if strong && f >= Fit::Fair {
        // Chord tones first where the melody allows, but a strict fit with the melody above a
        // chord tone a fourth from it.
        match (tone, f) {
            (1, Fit::Strict) => 15,
            (1, Fit::Doubling) => 14,
            (0, Fit::Strict) => 13,
            (1, _) => 12,
            (_, Fit::Doubling) => 11,
            _ => 10,
        }
    } else {
        2 * melody + tone
    }
}

/// The key to play: `planned`, or of the `alternates` that rank strictly higher against
/// `sounding` the highest-ranked, the nearest the line's last key among equals (see the module's
/// guarantees). `last` is the previous meeting of the voices, if any.
pub fn choose(
    planned: u8,
    alternates: &Alternates,
    sounding: Sounding,
    last: Option<Meeting>,
) -> u8 {
    if sounding.is_empty() || alternates.is_empty() {
        return planned;
    }
    let strong = alternates.strong;
    let mut best = (rank(planned, sounding, last, strong, true), planned);
    let mut moved = false;
    for key in alternates.keys() {
        let r = rank(key, sounding, last, strong, false);
        // Among the alternates of the highest rank, the nearest the line's last key: the line
        // moves on by the smallest step that fits (taking the model's likeliest fit instead, a
        // chorale voice below leapt twice as often as Bach's altos; `docs/MEASUREMENTS.md`,
        // "Idiom").
        let from = last.map_or(planned, |m| m.own);
        let nearer = moved && r == best.0 && key.abs_diff(from) < best.1.abs_diff(from);
        if r > best.0 || nearer {
            best = (r, key);
            moved = true;
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(keys: &[u8]) -> KeySet {
        let mut s = KeySet::default();
        for &k in keys {
            s.insert(k);
        }
        s
    }

    fn melody(keys: &[u8]) -> Sounding {
        Sounding {
            melody: set(keys),
            chord: KeySet::default(),
        }
    }

    fn alts(keys: &[u8]) -> Alternates {
        Alternates::new(keys, false)
    }

    fn strong(keys: &[u8]) -> Alternates {
        Alternates::new(keys, true)
    }

    #[test]
    fn nothing_sounding_or_no_alternates_keeps_the_planned_key() {
        let alts = alts(&[64, 67]);
        assert_eq!(choose(62, &alts, Sounding::default(), None), 62);
        assert_eq!(choose(62, &Alternates::default(), melody(&[60]), None), 62);
    }

    #[test]
    fn a_clash_gives_way_to_the_nearest_alternate_that_fits() {
        // D against C is a second; E (a third) and G (a fifth) fit strictly, E nearer the D.
        assert_eq!(choose(62, &alts(&[67, 65, 64]), melody(&[60]), None), 64);
        // F is a fourth: better than the second when nothing fits strictly.
        assert_eq!(choose(62, &alts(&[65, 61]), melody(&[60]), None), 65);
    }

    #[test]
    fn among_equal_fits_the_one_nearest_the_lines_last_key_wins() {
        // The line was on A over F: from there G (a fifth over C) is a step, E a fourth away.
        let last = Some(Meeting { own: 69, heard: 65 });
        assert_eq!(choose(62, &alts(&[64, 67]), melody(&[60]), last), 67);
        // Nothing met before: the nearest the planned D.
        assert_eq!(choose(62, &alts(&[67, 64]), melody(&[60]), None), 64);
        // A better fit still comes first, however far: G is a fifth, F a fourth over C.
        assert_eq!(
            choose(
                62,
                &alts(&[65, 67]),
                melody(&[60]),
                Some(Meeting { own: 65, heard: 62 })
            ),
            67
        );
    }

    #[test]
    fn a_fitting_planned_key_stands() {
        assert_eq!(choose(64, &alts(&[67, 69]), melody(&[60]), None), 64);
        // Among equals the planned key wins: a fourth stays when only fourths and clashes are on offer.
        assert_eq!(choose(65, &alts(&[66, 65]), melody(&[60]), None), 65);
    }

    #[test]
    fn an_alternate_that_doubles_the_melody_ranks_below_one_that_does_not() {
        // D clashes with C; C (an octave) is the model's first alternate, E (a third) its second.
        assert_eq!(choose(62, &alts(&[48, 64]), melody(&[60]), None), 64);
        // A planned octave stands: it is the model's own choice, and consonant.
        assert_eq!(choose(48, &alts(&[52]), melody(&[60]), None), 48);
    }

    #[test]
    fn every_sounding_key_counts() {
        // E fits C but clashes with F; A fits both (a sixth above C, a third above F).
        assert_eq!(choose(64, &alts(&[69]), melody(&[60, 65]), None), 69);
    }

    #[test]
    fn parallel_fifths_and_octaves_rank_below_a_strict_fit() {
        // The voices met a fifth apart (G over C); both move up a step into another fifth (A over D).
        let last = Some(Meeting { own: 67, heard: 60 });
        assert_eq!(fit(69, set(&[62]), last), Fit::Fair);
        // F over D (a third) fits strictly, so it is chosen over the parallel fifth.
        assert_eq!(choose(69, &alts(&[65]), melody(&[62]), last), 65);
        // Oblique motion into a fifth is no parallel.
        assert_eq!(fit(67, set(&[60]), last), Fit::Strict);
        // Contrary motion into an octave is no parallel.
        assert_eq!(
            fit(60, set(&[72]), Some(Meeting { own: 64, heard: 64 })),
            Fit::Doubling
        );
    }

    #[test]
    fn on_a_strong_beat_a_chord_tone_that_fits_the_melody_comes_first() {
        // An A major chord, the melody's E5 on the downbeat; Descant planned D5 (a second).
        let sounding = Sounding {
            melody: set(&[76]),
            chord: set(&[57, 61, 64]),
        };
        // C#5 (a sixth below E, a chord tone) over B4 (a fourth below E, no chord tone).
        assert_eq!(choose(74, &strong(&[71, 73]), sounding, None), 73);
        // G4 (a sixth below E, no chord tone) and A4 (a chord tone, a fifth below E) both fit
        // the melody strictly: the chord tone wins, on the beat or off it. (Before the interval
        // knew the order of the voices, A4 counted as a fourth and G4 won.)
        assert_eq!(choose(74, &strong(&[69, 67]), sounding, None), 69);
        assert_eq!(choose(74, &alts(&[69, 67]), sounding, None), 69);
        // A chord tone that fits fairly replaces the planned clash.
        assert_eq!(choose(74, &strong(&[69]), sounding, None), 69);
        // A chord tone that clashes with the melody never beats a key that fits it: over the
        // melody's passing F5, E5 (a chord tone, a seventh) gives way to D5 (a sixth below).
        let passing = Sounding {
            melody: set(&[77]),
            ..sounding
        };
        assert_eq!(choose(79, &strong(&[76, 74]), passing, None), 74);
    }

    #[test]
    fn off_the_strong_beat_the_chord_decides_among_equal_fits() {
        let sounding = Sounding {
            melody: set(&[72]),
            chord: set(&[53, 57, 60]),
        };
        // Against C5 both E4 and A4 fit strictly; A4 is a tone of F major.
        assert_eq!(choose(74, &alts(&[64, 69]), sounding, None), 69);
    }

    #[test]
    fn a_chord_alone_is_met_like_a_melody() {
        let sounding = Sounding {
            melody: KeySet::default(),
            chord: set(&[60, 64, 67]),
        };
        // F clashes with E, E doubles the chord and fits the rest.
        assert_eq!(choose(62, &alts(&[65, 64]), sounding, None), 64);
    }

    #[test]
    fn the_nearest_key_wins_ties_low() {
        assert_eq!(set(&[60, 64]).nearest(62), Some(60));
        assert_eq!(set(&[60, 64]).nearest(63), Some(64));
        assert_eq!(KeySet::default().nearest(60), None);
    }
}
