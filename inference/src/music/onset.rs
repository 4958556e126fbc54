//! The onset choice: Descant's last word on an on-beat note, taken on the audio thread at the
//! sample the note starts, against what sounds there then. Pure functions and `Copy` types; called
//! by the audio thread (and by tests); never allocates or blocks.
//!
//! Why it exists: Descant plans ahead of the playhead, and a player's note usually begins on the
//! same beat as Descant's, so when a line is heard once nothing before that sample can know it.
//! The worker therefore sends each on-beat note with a few [`Alternates`]: other keys near it that
//! the model also found likely at that moment (in the key, in the register). At the note's onset
//! the audio thread knows the keys sounding (the player's and the chord channel's, including those
//! starting at that very sample) and [`choose`]s the planned key or the first alternate that fits
//! them better.
//!
//! Guarantees: [`choose`] returns the planned key when nothing sounds, when it has no alternates,
//! or when no alternate fits strictly better; otherwise the first alternate (in the model's order)
//! of the best fit. Fit ranks, best first: every interval to the sounding keys a third, fifth or
//! sixth (or a unison or octave the model planned), without moving into parallel fifths or octaves
//! with the nearest sounding key; then an alternate that doubles a sounding key at the unison or
//! octave; then nothing worse than a fourth (or such a parallel); then anything else.

/// Most alternates one note carries.
pub const MAX_ALTERNATES: usize = 3;

/// Other keys the worker would also accept for a note, best first; `0` marks an empty slot (never
/// a key Descant plays: its lowest is 21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Alternates(pub [u8; MAX_ALTERNATES]);

impl Alternates {
    /// The alternates, best first.
    pub fn keys(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.iter().copied().filter(|&k| k != 0)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&k| k == 0)
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

fn interval_class(a: u8, b: u8) -> u8 {
    ((i16::from(a) - i16::from(b)).rem_euclid(12)) as u8
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

/// The key to play: `planned`, or the first of `alternates` that fits `sounding` strictly better
/// (see the module's guarantees). `last` is the previous meeting of the voices, if any.
pub fn choose(planned: u8, alternates: &Alternates, sounding: KeySet, last: Option<Meeting>) -> u8 {
    if sounding.is_empty() || alternates.is_empty() {
        return planned;
    }
    let promote = |f: Fit| if f == Fit::Doubling { Fit::Strict } else { f };
    let mut best = (promote(fit(planned, sounding, last)), planned);
    for key in alternates.keys() {
        let f = fit(key, sounding, last);
        if f > best.0 {
            best = (f, key);
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

    #[test]
    fn nothing_sounding_or_no_alternates_keeps_the_planned_key() {
        let alts = Alternates([64, 67, 0]);
        assert_eq!(choose(62, &alts, KeySet::default(), None), 62);
        assert_eq!(choose(62, &Alternates::default(), set(&[60]), None), 62);
    }

    #[test]
    fn a_clash_gives_way_to_the_first_alternate_that_fits() {
        // D against C is a second; E (a third) is the first alternate that fits strictly.
        assert_eq!(choose(62, &Alternates([65, 64, 67]), set(&[60]), None), 64);
        // F is a fourth: better than the second when nothing fits strictly.
        assert_eq!(choose(62, &Alternates([65, 61, 0]), set(&[60]), None), 65);
    }

    #[test]
    fn a_fitting_planned_key_stands() {
        assert_eq!(choose(64, &Alternates([67, 69, 0]), set(&[60]), None), 64);
        // Among equals the planned key wins: a fourth stays when only fourths and clashes are on offer.
        assert_eq!(choose(65, &Alternates([66, 65, 0]), set(&[60]), None), 65);
    }

    #[test]
    fn an_alternate_that_doubles_the_melody_ranks_below_one_that_does_not() {
        // D clashes with C; C (an octave) is the model's first alternate, E (a third) its second.
        assert_eq!(choose(62, &Alternates([48, 64, 0]), set(&[60]), None), 64);
        // A planned octave stands: it is the model's own choice, and consonant.
        assert_eq!(choose(48, &Alternates([52, 0, 0]), set(&[60]), None), 48);
    }

    #[test]
    fn every_sounding_key_counts() {
        // E fits C but clashes with F; A fits both (a sixth above C, a third above F).
        assert_eq!(
            choose(64, &Alternates([69, 0, 0]), set(&[60, 65]), None),
            69
        );
    }

    #[test]
    fn parallel_fifths_and_octaves_rank_below_a_strict_fit() {
        // The voices met a fifth apart (G over C); both move up a step into another fifth (A over D).
        let last = Some(Meeting { own: 67, heard: 60 });
        assert_eq!(fit(69, set(&[62]), last), Fit::Fair);
        // F over D (a third) fits strictly, so it is chosen over the parallel fifth.
        assert_eq!(choose(69, &Alternates([65, 0, 0]), set(&[62]), last), 65);
        // Oblique motion into a fifth is no parallel.
        assert_eq!(fit(67, set(&[60]), last), Fit::Strict);
        // Contrary motion into an octave is no parallel.
        assert_eq!(
            fit(60, set(&[72]), Some(Meeting { own: 64, heard: 64 })),
            Fit::Doubling
        );
    }

    #[test]
    fn the_nearest_key_wins_ties_low() {
        assert_eq!(set(&[60, 64]).nearest(62), Some(60));
        assert_eq!(set(&[60, 64]).nearest(63), Some(64));
        assert_eq!(KeySet::default().nearest(60), None);
    }
}
