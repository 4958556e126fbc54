//! Keys and scales: the scale a key implies, and key detection from played notes by the
//! Krumhansl–Schmuckler method (correlation of a duration-weighted pitch-class histogram with the
//! Krumhansl–Kessler major and minor profiles). Pure functions; called on the inference worker.
//!
//! Guarantees: [`Key::scale`] contains the tonic; [`detect`] returns `None` for fewer than
//! [`MIN_NOTES_TO_DETECT`] notes or a flat histogram, and is deterministic (ties go to the lower
//! tonic, major before minor).

use crate::music::time::TickNote;

pub use super::home::{home_of, HOME_NOTES};

/// Fewest notes [`detect`] decides a key from.
pub const MIN_NOTES_TO_DETECT: usize = 4;

/// Krumhansl–Kessler major profile, tonic first.
pub(super) const KK_MAJOR: [f32; 12] = [
    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
];
/// Krumhansl–Kessler minor profile, tonic first.
pub(super) const KK_MINOR: [f32; 12] = [
    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
];
/// Note names for display.
const NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

/// The scale a key uses. Detection only ever finds [`Mode::Major`] or [`Mode::Minor`]; the others
/// are for a key the musician sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Ionian.
    Major,
    /// Aeolian with the raised seventh (harmonic minor's leading tone) allowed.
    Minor,
    /// Minor with a major sixth.
    Dorian,
    /// Major with a minor seventh.
    Mixolydian,
    /// Five notes: 1 2 3 5 6.
    MajorPentatonic,
    /// Five notes: 1 b3 4 5 b7.
    MinorPentatonic,
}

/// Modes in parameter order.
pub const MODES: [Mode; 6] = [
    Mode::Major,
    Mode::Minor,
    Mode::Dorian,
    Mode::Mixolydian,
    Mode::MajorPentatonic,
    Mode::MinorPentatonic,
];
/// Number of keys [`Key::from_index`] knows (12 tonics × [`MODES`]).
pub const KEY_COUNT: usize = 12 * MODES.len();

/// A key: tonic pitch class and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// Pitch class of the tonic, 0 = C.
    pub tonic: u8,
    /// Major or minor.
    pub mode: Mode,
}

/// A set of pitch classes, bit `pc` set when `pc` belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PitchClassSet(pub u16);

impl PitchClassSet {
    /// Whether MIDI key `key` belongs to the set.
    pub fn contains_key(self, key: u8) -> bool {
        self.0 & (1 << (key % 12)) != 0
    }
}

impl Key {
    /// The key's scale (minor: natural minor plus the leading tone).
    pub fn scale(self) -> PitchClassSet {
        let steps: &[u8] = match self.mode {
            Mode::Major => &[0, 2, 4, 5, 7, 9, 11],
            Mode::Minor => &[0, 2, 3, 5, 7, 8, 10, 11],
            Mode::Dorian => &[0, 2, 3, 5, 7, 9, 10],
            Mode::Mixolydian => &[0, 2, 4, 5, 7, 9, 10],
            Mode::MajorPentatonic => &[0, 2, 4, 7, 9],
            Mode::MinorPentatonic => &[0, 3, 5, 7, 10],
        };
        PitchClassSet(
            steps
                .iter()
                .fold(0u16, |set, s| set | 1 << ((self.tonic + s) % 12)),
        )
    }

    /// "E minor", "Bb major".
    pub fn name(self) -> String {
        let mode = match self.mode {
            Mode::Major => "major",
            Mode::Minor => "minor",
            Mode::Dorian => "dorian",
            Mode::Mixolydian => "mixolydian",
            Mode::MajorPentatonic => "major pentatonic",
            Mode::MinorPentatonic => "minor pentatonic",
        };
        format!("{} {mode}", NAMES[usize::from(self.tonic % 12)])
    }

    /// The key's place in parameter order (see [`Key::from_index`]).
    pub fn index(self) -> usize {
        let mode = MODES.iter().position(|&m| m == self.mode).unwrap_or(0);
        usize::from(self.tonic % 12) * MODES.len() + mode
    }

    /// Keys in parameter order: C major, C minor, C dorian, … C minor pentatonic, C# major, …
    /// ([`KEY_COUNT`] in all; larger indices wrap).
    pub fn from_index(index: usize) -> Key {
        let index = index % KEY_COUNT;
        Key {
            tonic: (index / MODES.len()) as u8,
            mode: MODES[index % MODES.len()],
        }
    }
}

pub(super) fn correlation(a: &[f32; 12], b: &[f32; 12]) -> f32 {
    let ma = a.iter().sum::<f32>() / 12.0;
    let mb = b.iter().sum::<f32>() / 12.0;
    let (mut num, mut da, mut db) = (0.0, 0.0, 0.0);
    for i in 0..12 {
        num += (a[i] - ma) * (b[i] - mb);
        da += (a[i] - ma) * (a[i] - ma);
        db += (b[i] - mb) * (b[i] - mb);
    }
    if da <= 0.0 || db <= 0.0 {
        0.0
    } else {
        num / (da * db).sqrt()
    }
}

/// Correlations of a duration-weighted pitch-class histogram with every major and minor key
/// profile, `(r, key)`.
fn correlations(hist: &[f32; 12]) -> Vec<(f32, Key)> {
    let mut all = Vec::with_capacity(24);
    for tonic in 0..12u8 {
        for (mode, profile) in [(Mode::Major, &KK_MAJOR), (Mode::Minor, &KK_MINOR)] {
            let mut rotated = [0.0f32; 12];
            for (pc, r) in rotated.iter_mut().enumerate() {
                *r = profile[(pc + 12 - usize::from(tonic)) % 12];
            }
            all.push((correlation(hist, &rotated), Key { tonic, mode }));
        }
    }
    all
}

/// Aarden's major-key profile from the Essen folk song collection (Aarden 2003, as published
/// with the Humdrum toolkit's key finder): how often each scale degree occurs in major folk
/// melodies. Beside Krumhansl–Kessler's (listeners' ratings) it favours the tonic triad, as
/// melodies do.
pub(super) const AARDEN_MAJOR: [f32; 12] = [
    17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624, 8.15494,
    0.232998, 4.95122,
];
/// Aarden's minor-key profile (see [`AARDEN_MAJOR`]).
pub(super) const AARDEN_MINOR: [f32; 12] = [
    18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621, 1.93186,
    7.37619, 1.75623,
];

/// How far below the best key's correlation another key still counts as one the notes cannot rule
/// out (see [`collection`]).
pub const AMBIGUITY: f32 = 0.1;

/// The duration-weighted pitch-class histogram of `notes` (the newest note weighs 1, one 32 notes
/// back about 0.37), or `None` for fewer than `min` notes.
fn histogram(notes: &[TickNote], min: usize) -> Option<[f32; 12]> {
    if notes.len() < min.max(1) {
        return None;
    }
    let mut hist = [0.0f32; 12];
    let n = notes.len();
    for (i, note) in notes.iter().enumerate() {
        let age = (n - 1 - i) as f32;
        hist[usize::from(note.key % 12)] += note.duration.max(1) as f32 * (-age / 32.0).exp();
    }
    Some(hist)
}

/// The pitch classes `notes` establish as the key's: those of every key whose correlation is
/// within [`AMBIGUITY`] of the best (a tune with no B or B♭ is not told from C major or F major,
/// so neither is its), plus every pitch class the notes played. `None` when [`detect`] finds no
/// key (fewer than [`MIN_NOTES_TO_DETECT`] notes, or a flat histogram).
pub fn collection(notes: &[TickNote]) -> Option<PitchClassSet> {
    let hist = histogram(notes, MIN_NOTES_TO_DETECT)?;
    let all = correlations(&hist);
    let best = all
        .iter()
        .map(|(r, _)| *r)
        .fold(f32::NEG_INFINITY, f32::max);
    if best <= 0.0 {
        return None;
    }
    let common = all
        .iter()
        .filter(|(r, _)| *r >= best - AMBIGUITY)
        .fold(0xfffu16, |set, (_, k)| set & k.scale().0);
    let played = notes.iter().fold(0u16, |set, n| set | 1 << (n.key % 12));
    Some(PitchClassSet(common | played))
}

/// How likely a pitch class must be to lie in the key for [`early_collection`] to count it,
/// from a melody heard alone: only what nearly every key the first notes suggest holds (with one
/// C heard: C, F and G; with D, E and D: D, E, G, A). Before the key is known a partner keeps to
/// what it is sure of; measured on the validation split beside 0.5 and 0.7 (see
/// `docs/MEASUREMENTS.md`).
pub const EARLY_IN_KEY: f32 = 0.85;
/// [`EARLY_IN_KEY`] with a chord channel heard: the chords tell the key, and the narrower set
/// would keep the next chord's tones out of the onset choice's alternates.
pub const EARLY_IN_KEY_WITH_CHORDS: f32 = 0.5;

/// The pitch classes the first few notes of a tune make likely to be in its key, before
/// [`collection`] has enough to go on (1 to [`MIN_NOTES_TO_DETECT`]` - 1` notes; `None` for none
/// or more). Each of the 24 major and minor keys is weighed by how likely it makes the notes
/// heard, each note's pitch class drawn from Aarden's scale-degree frequencies of the Essen folk
/// songs (Temperley's probabilistic key finding, uniform prior); a pitch class counts when the
/// keys whose scales hold it weigh at least `threshold` of the whole ([`EARLY_IN_KEY`] or
/// [`EARLY_IN_KEY_WITH_CHORDS`]). Every pitch class heard counts.
pub fn early_collection(keys: &[u8], threshold: f32) -> Option<PitchClassSet> {
    if keys.is_empty() || keys.len() >= MIN_NOTES_TO_DETECT {
        return None;
    }
    let log_likelihood = |profile: &[f32; 12], tonic: usize| -> f32 {
        let total: f32 = profile.iter().sum();
        keys.iter()
            .map(|k| (profile[(usize::from(k % 12) + 12 - tonic) % 12] / total).ln())
            .sum()
    };
    let mut weighed = [(0.0f32, PitchClassSet(0)); 24];
    for tonic in 0..12u8 {
        for (m, (mode, profile)) in [(Mode::Major, &AARDEN_MAJOR), (Mode::Minor, &AARDEN_MINOR)]
            .into_iter()
            .enumerate()
        {
            let key = Key { tonic, mode };
            weighed[usize::from(tonic) * 2 + m] =
                (log_likelihood(profile, usize::from(tonic)), key.scale());
        }
    }
    let best = weighed
        .iter()
        .map(|(l, _)| *l)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut in_key = [0.0f32; 12];
    let mut total = 0.0f32;
    for (l, scale) in weighed {
        let w = (l - best).exp();
        total += w;
        for (pc, p) in in_key.iter_mut().enumerate() {
            if scale.0 & 1 << pc != 0 {
                *p += w;
            }
        }
    }
    let likely = (0..12).filter(|&pc| in_key[pc] >= threshold * total);
    let played = keys.iter().fold(0u16, |set, k| set | 1 << (k % 12));
    Some(PitchClassSet(likely.fold(played, |set, pc| set | 1 << pc)))
}

/// The key of `notes` (duration-weighted; later notes weigh more, so the answer follows a
/// modulation), or `None` when there is too little to go on.
pub fn detect(notes: &[TickNote]) -> Option<Key> {
    let hist = histogram(notes, MIN_NOTES_TO_DETECT)?;
    let mut best: Option<(f32, Key)> = None;
    for (r, key) in correlations(&hist) {
        if best.is_none_or(|(b, _)| r > b) {
            best = Some((r, key));
        }
    }
    best.filter(|(r, _)| *r > 0.0).map(|(_, k)| k)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn a_tune_that_never_decides_between_two_keys_keeps_to_what_they_share() {
        // F G A C D only: F major or C major (or D minor); neither B nor B♭ is established.
        let tune = line(&[
            65, 67, 69, 67, 65, 67, 69, 72, 74, 72, 69, 67, 65, 62, 60, 65,
        ]);
        let set = collection(&tune).unwrap();
        assert!(
            !set.contains_key(70) && !set.contains_key(71),
            "{:012b}",
            set.0
        );
        for k in [60, 62, 65, 67, 69] {
            assert!(set.contains_key(k));
        }
        // Once B♭ is played, F major is the key, and its scale the collection.
        let mut with_b_flat = tune.clone();
        with_b_flat.extend(
            line(&[70, 69, 70, 72, 70, 69, 65])
                .into_iter()
                .map(|n| TickNote {
                    onset: n.onset + 1000,
                    ..n
                }),
        );
        let set = collection(&with_b_flat).unwrap();
        assert!(set.contains_key(70) && !set.contains_key(71));
        assert!(collection(&tune[..3]).is_none());
    }

    #[test]
    fn the_first_notes_of_a_tune_already_rule_out_what_no_key_they_suggest_holds() {
        let with_chords = |keys: &[u8]| early_collection(keys, EARLY_IN_KEY_WITH_CHORDS).unwrap();
        // D, then B♭ and A: G minor, B♭ major, D minor, F major are likely; C♯ and F♯ are not.
        let set = with_chords(&[62, 70, 69]);
        for k in [62, 70, 69, 67, 65, 60] {
            assert!(set.contains_key(k), "{k}: {:012b}", set.0);
        }
        for k in [61, 66, 71, 68] {
            assert!(!set.contains_key(k), "{k}: {:012b}", set.0);
        }
        // One C: C major's and its neighbours' tones; not F♯ nor C♯.
        let set = with_chords(&[60]);
        assert!(set.contains_key(67) && set.contains_key(64));
        assert!(!set.contains_key(66) && !set.contains_key(61));
        // Nothing heard, or enough for the correlation: no early set.
        assert!(early_collection(&[], EARLY_IN_KEY).is_none());
        assert!(early_collection(&[60, 62, 64, 65], EARLY_IN_KEY).is_none());
    }

    #[test]
    fn a_melody_heard_alone_keeps_to_what_nearly_every_likely_key_holds() {
        let alone = |keys: &[u8]| early_collection(keys, EARLY_IN_KEY).unwrap();
        let pitch_classes = |set: PitchClassSet| (0..12u8).filter(move |&pc| set.contains_key(pc));
        // One C: C, F and G (C major, F major, C minor and G major all hold them); not E nor B♭,
        // which half of those keys leave out.
        assert!(pitch_classes(alone(&[60])).eq([0, 5, 7]));
        // D, E, D: D, E, G and A; B and F♯ (D major, G major) and C (C major, A minor) are open.
        assert!(pitch_classes(alone(&[74, 76, 74])).eq([2, 4, 7, 9]));
        // A D major triad: its own tones, E and B; not G, which A major leaves out.
        assert!(pitch_classes(alone(&[62, 66, 69])).eq([2, 4, 6, 9, 11]));
        // Always narrower than the set with chords heard.
        for keys in [[60u8, 64, 67], [62, 70, 69], [67, 67, 67]] {
            let (a, c) = (
                alone(&keys),
                early_collection(&keys, EARLY_IN_KEY_WITH_CHORDS).unwrap(),
            );
            assert_eq!(a.0 & !c.0, 0, "{keys:?}");
        }
    }

    #[test]
    fn the_profiles_match_the_golden_file_the_python_side_reads() {
        #[derive(serde::Deserialize)]
        struct Profiles {
            major: [f32; 12],
            minor: [f32; 12],
        }
        let golden: Profiles =
            serde_json::from_str(include_str!("../../../training/golden/key_profiles.json"))
                .expect("golden key profiles");
        assert_eq!(golden.major, KK_MAJOR);
        assert_eq!(golden.minor, KK_MINOR);
    }

    /// `keys` one after the other, a beat each, from tick 0 (also for the home finder's tests).
    pub(in crate::music) fn line(keys: &[u8]) -> Vec<TickNote> {
        keys.iter()
            .enumerate()
            .map(|(i, &key)| TickNote {
                onset: i as i64 * 12,
                duration: 12,
                key,
            })
            .collect()
    }

    #[test]
    fn a_c_major_scale_is_c_major() {
        let k = detect(&line(&[60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60])).unwrap();
        assert_eq!(
            k,
            Key {
                tonic: 0,
                mode: Mode::Major
            }
        );
    }

    #[test]
    fn an_a_minor_line_is_a_minor() {
        let k = detect(&line(&[57, 60, 64, 69, 68, 69, 71, 72, 64, 57, 60, 57])).unwrap();
        assert_eq!(
            k,
            Key {
                tonic: 9,
                mode: Mode::Minor
            }
        );
    }

    #[test]
    fn detection_follows_a_modulation() {
        let mut keys = vec![60, 64, 67, 65, 62, 71, 72, 60];
        // Then a long stretch in E major.
        keys.extend([64, 68, 71, 66, 63, 69, 64, 68, 71, 73, 75, 76].repeat(4));
        let k = detect(&line(&keys)).unwrap();
        assert_eq!(k.tonic, 4);
    }

    #[test]
    fn too_few_notes_give_no_key() {
        assert_eq!(detect(&line(&[60, 64, 67])), None);
    }

    #[test]
    fn scales_hold_their_notes() {
        let e_minor = Key {
            tonic: 4,
            mode: Mode::Minor,
        }
        .scale();
        for k in [64u8, 66, 67, 69, 71, 72, 74, 75] {
            assert!(e_minor.contains_key(k), "{k}");
        }
        assert!(!e_minor.contains_key(65));
        assert_eq!(Key::from_index(KEY_COUNT - 1).name(), "B minor pentatonic");
        assert_eq!(Key::from_index(0).name(), "C major");
        assert_eq!(Key::from_index(7).name(), "C# minor");
        let a_minor_pentatonic = Key {
            tonic: 9,
            mode: Mode::MinorPentatonic,
        }
        .scale();
        assert_eq!(a_minor_pentatonic.0.count_ones(), 5);
        assert!(a_minor_pentatonic.contains_key(60) && !a_minor_pentatonic.contains_key(59));
        for i in 0..KEY_COUNT {
            assert_eq!(Key::from_index(i).index(), i);
        }
    }
}
