//! The token grammars of contracts v1 and v2 (see `docs/MODEL.md`). Pure functions; called on the
//! inference worker and in tests, never on the audio thread. `encode` and `encode_two_voice`
//! allocate.
//!
//! Guarantees: [`encode`], [`encode_two_voice`] and [`decode`] agree token for token with
//! `training/descant_tokens.py` (checked by golden vectors on both sides); `decode(encode(notes))`
//! returns every note whose key and duration are in range unchanged, and `decode` of a v2
//! sequence returns Descant's own notes only (never a heard one). Grammar v2 only appends tokens:
//! every v1 id means what it meant.
//!
//! Grammar v2 (the two-voice grammar) writes each bar as
//! `BAR [PHRASE(k)] (POS HEARD DUR)* OWN (POS PITCH DUR)*`: first what Descant hears in the bar
//! (the player's and the track's notes, several at once if need be), then [`OWN`], then Descant's
//! own line. `PHRASE(k)` says the phrase ends `k` bars after this one.

/// Padding (never generated).
pub const PAD: u32 = 0;
/// Start of a sequence.
pub const BOS: u32 = 1;
/// End of a sequence (masked out while playing live).
pub const EOS: u32 = 2;
/// Start of a bar.
pub const BAR: u32 = 3;
/// First meter token.
pub const METER_BASE: u32 = 4;
/// Longest bar in ticks (eight quarter notes).
pub const MAX_BAR_TICKS: i64 = 96;
/// First onset-position token (`POS_BASE + ticks into the bar`).
pub const POS_BASE: u32 = METER_BASE + METERS.len() as u32;
/// Lowest MIDI key in the vocabulary.
pub const PITCH_LOW: u8 = 21;
/// Highest MIDI key in the vocabulary.
pub const PITCH_HIGH: u8 = 108;
/// First pitch token (`PITCH_BASE + key - PITCH_LOW`).
pub const PITCH_BASE: u32 = POS_BASE + MAX_BAR_TICKS as u32;
/// Longest duration token in ticks.
pub const MAX_DUR_TICKS: i64 = 96;
/// First duration token (`DUR_BASE + ticks - 1`).
pub const DUR_BASE: u32 = PITCH_BASE + (PITCH_HIGH - PITCH_LOW) as u32 + 1;
/// Number of tokens of grammar v1.
pub const VOCAB_SIZE_V1: usize = (DUR_BASE as i64 + MAX_DUR_TICKS) as usize;
/// First heard-pitch token of grammar v2 (`HEARD_BASE + key - PITCH_LOW`).
pub const HEARD_BASE: u32 = VOCAB_SIZE_V1 as u32;
/// Grammar v2: the heard notes of the bar are complete; Descant's own notes follow.
pub const OWN: u32 = HEARD_BASE + (PITCH_HIGH - PITCH_LOW) as u32 + 1;
/// First phrase mark of grammar v2 (`PHRASE_BASE + k`: the phrase ends `k` bars on).
pub const PHRASE_BASE: u32 = OWN + 1;
/// Number of phrase marks (`k` in `0..PHRASE_BARS`).
pub const PHRASE_BARS: u32 = 4;
/// Number of tokens of grammar v2.
pub const VOCAB_SIZE_V2: usize = (PHRASE_BASE + PHRASE_BARS) as usize;

pub use crate::music::time::{Meter, TickNote, METERS, TICKS_PER_BEAT};

/// What kind of token an id is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// PAD, BOS or EOS.
    Special,
    /// A bar line.
    Bar,
    /// A meter change.
    Meter(Meter),
    /// An onset position in ticks into the bar.
    Pos(i64),
    /// A MIDI key.
    Pitch(u8),
    /// A duration in ticks.
    Dur(i64),
    /// v2: the key of a heard note.
    Heard(u8),
    /// v2: the end of the heard notes of a bar.
    Own,
    /// v2: the phrase ends this many bars after the current one.
    Phrase(u8),
    /// Outside the vocabulary.
    Invalid,
}

/// Classifies a token id.
pub fn kind(token: u32) -> TokenKind {
    match token {
        PAD | BOS | EOS => TokenKind::Special,
        BAR => TokenKind::Bar,
        t if t < POS_BASE => {
            let (n, d) = METERS[(t - METER_BASE) as usize];
            TokenKind::Meter(Meter {
                numerator: n,
                denominator: d,
            })
        }
        t if t < PITCH_BASE => TokenKind::Pos(i64::from(t - POS_BASE)),
        t if t < DUR_BASE => TokenKind::Pitch((t - PITCH_BASE) as u8 + PITCH_LOW),
        t if t < HEARD_BASE => TokenKind::Dur(i64::from(t - DUR_BASE) + 1),
        t if t < OWN => TokenKind::Heard((t - HEARD_BASE) as u8 + PITCH_LOW),
        OWN => TokenKind::Own,
        t if (t as usize) < VOCAB_SIZE_V2 => TokenKind::Phrase((t - PHRASE_BASE) as u8),
        _ => TokenKind::Invalid,
    }
}

/// The token of `meter` (the first meter's for one the grammar does not name).
pub fn meter_token(meter: Meter) -> u32 {
    let index = METERS
        .iter()
        .position(|&m| m == (meter.numerator, meter.denominator))
        .unwrap_or(0);
    METER_BASE + index as u32
}

/// Token for an onset `ticks` into the bar (must be below [`MAX_BAR_TICKS`]).
pub fn pos_token(ticks: i64) -> u32 {
    POS_BASE + ticks.clamp(0, MAX_BAR_TICKS - 1) as u32
}

/// Token for a key, folded into the vocabulary's range by whole octaves.
pub fn pitch_token(key: u8) -> u32 {
    PITCH_BASE + u32::from(fold_key(key) - PITCH_LOW)
}

/// v2 token for a heard key, folded into the vocabulary's range by whole octaves.
pub fn heard_token(key: u8) -> u32 {
    HEARD_BASE + u32::from(fold_key(key) - PITCH_LOW)
}

/// Token for a duration, clamped to 1..=[`MAX_DUR_TICKS`].
pub fn dur_token(ticks: i64) -> u32 {
    DUR_BASE + (ticks.clamp(1, MAX_DUR_TICKS) - 1) as u32
}

/// Moves a key into `PITCH_LOW..=PITCH_HIGH` by whole octaves.
pub fn fold_key(mut key: u8) -> u8 {
    while key < PITCH_LOW {
        key += 12;
    }
    while key > PITCH_HIGH {
        key -= 12;
    }
    key
}

/// Tokens for `notes` (bar 0 starts at tick 0; onsets must be >= 0), padded with empty bars up to
/// `n_bars` bars. Notes are ordered by onset, then duration, then key, as the Python side does.
pub fn encode(notes: &[TickNote], meter: Meter, n_bars: Option<i64>) -> Vec<u32> {
    let bar_len = meter.bar_ticks();
    let mut ordered: Vec<TickNote> = notes.to_vec();
    ordered.sort_by_key(|n| (n.onset, n.duration, n.key));
    let last_bar = ordered.last().map_or(0, |n| n.onset.div_euclid(bar_len));
    let total_bars = (last_bar + 1).max(n_bars.unwrap_or(0));
    let mut tokens = Vec::with_capacity(2 + total_bars as usize + 3 * ordered.len());
    tokens.extend([BOS, meter_token(meter)]);
    let mut i = 0;
    for bar in 0..total_bars {
        tokens.push(BAR);
        while i < ordered.len() && ordered[i].onset.div_euclid(bar_len) == bar {
            let n = ordered[i];
            tokens.push(pos_token(n.onset - bar * bar_len));
            tokens.push(pitch_token(n.key));
            tokens.push(dur_token(n.duration));
            i += 1;
        }
    }
    tokens
}

/// Appends the v2 tokens of one bar that starts at tick `bar_start`: the heard notes that start in
/// it (in the order given), [`OWN`], and no own notes (those are generated or added after).
/// A heard note that started before the bar line and still sounds enters at position 0 with what
/// is left of it. `phrase` is the bars to the phrase's end, if known and below [`PHRASE_BARS`].
pub fn push_bar_two_voice(
    tokens: &mut Vec<u32>,
    heard: &[TickNote],
    bar_start: i64,
    bar_len: i64,
    phrase: Option<u32>,
) {
    tokens.push(BAR);
    if let Some(k) = phrase.filter(|&k| k < PHRASE_BARS) {
        tokens.push(PHRASE_BASE + k);
    }
    for n in heard {
        let start = n.onset.max(bar_start);
        let end = n.onset + n.duration;
        if start >= bar_start + bar_len || end <= start || (n.onset < bar_start && end <= bar_start)
        {
            continue;
        }
        tokens.push(pos_token(start - bar_start));
        tokens.push(heard_token(n.key));
        tokens.push(dur_token(end - start));
    }
    tokens.push(OWN);
}

/// Grammar v2 tokens of `own` (Descant's line) against `heard` (bar 0 starts at tick 0; onsets
/// must be >= 0), padded with empty bars up to `n_bars`, with phrase marks counting down to each
/// of `phrase_ends` (ticks) if given. Matches `descant_tokens.encode2` for heard notes that start
/// inside the sequence.
pub fn encode_two_voice(
    own: &[TickNote],
    heard: &[TickNote],
    meter: Meter,
    n_bars: Option<i64>,
    phrase_ends: Option<&[i64]>,
) -> Vec<u32> {
    let bar_len = meter.bar_ticks();
    let mut mine: Vec<TickNote> = own.to_vec();
    mine.sort_by_key(|n| (n.onset, n.duration, n.key));
    let mut theirs: Vec<TickNote> = heard.to_vec();
    theirs.sort_by_key(|n| (n.onset, n.duration, n.key));
    let last_bar = mine
        .iter()
        .chain(&theirs)
        .map(|n| n.onset.div_euclid(bar_len))
        .max()
        .unwrap_or(0);
    let total_bars = (last_bar + 1).max(n_bars.unwrap_or(0));
    let mut end_bars: Vec<i64> = phrase_ends
        .unwrap_or(&[])
        .iter()
        .map(|&e| (e - 1).div_euclid(bar_len))
        .collect();
    end_bars.sort_unstable();
    end_bars.dedup();
    let mut tokens =
        Vec::with_capacity(2 + 3 * total_bars as usize + 3 * (mine.len() + theirs.len()));
    tokens.extend([BOS, meter_token(meter)]);
    let (mut i, mut j) = (0, 0);
    for bar in 0..total_bars {
        let bar_start = bar * bar_len;
        let phrase = end_bars
            .iter()
            .find(|&&e| e >= bar)
            .map(|&e| (e - bar) as u32);
        let first = j;
        while j < theirs.len() && theirs[j].onset.div_euclid(bar_len) == bar {
            j += 1;
        }
        push_bar_two_voice(&mut tokens, &theirs[first..j], bar_start, bar_len, phrase);
        while i < mine.len() && mine[i].onset.div_euclid(bar_len) == bar {
            let n = mine[i];
            tokens.extend([
                pos_token(n.onset - bar_start),
                pitch_token(n.key),
                dur_token(n.duration),
            ]);
            i += 1;
        }
    }
    tokens
}

/// Notes and the last meter in a token sequence (v1 or v2: Descant's own notes; heard notes and
/// phrase marks are skipped). Malformed runs are skipped.
pub fn decode(tokens: &[u32]) -> (Vec<TickNote>, Meter) {
    let mut meter = Meter::FOUR_FOUR;
    let mut bar = -1i64;
    let mut bar_start = 0i64;
    let mut pos = None;
    let mut key = None;
    let mut notes = Vec::new();
    for &t in tokens {
        match kind(t) {
            TokenKind::Bar => {
                if bar >= 0 {
                    bar_start += meter.bar_ticks();
                }
                bar += 1;
                pos = None;
                key = None;
            }
            TokenKind::Meter(m) => meter = m,
            TokenKind::Pos(p) => {
                pos = Some(p);
                key = None;
            }
            TokenKind::Pitch(k) => key = pos.map(|_| k),
            TokenKind::Dur(d) => {
                if let (Some(p), Some(k), true) = (pos, key, bar >= 0) {
                    notes.push(TickNote {
                        onset: bar_start + p,
                        duration: d,
                        key: k,
                    });
                }
                pos = None;
                key = None;
            }
            TokenKind::Heard(_)
            | TokenKind::Own
            | TokenKind::Phrase(_)
            | TokenKind::Special
            | TokenKind::Invalid => {
                pos = None;
                key = None;
            }
        }
    }
    (notes, meter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Golden {
        vocab_size: usize,
        ticks_per_beat: i64,
        cases: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        name: String,
        meter: (u8, u8),
        notes: Vec<(i64, i64, i64)>,
        n_bars: Option<i64>,
        tokens: Vec<u32>,
        decoded: Vec<(i64, i64, u8)>,
    }

    fn golden() -> Golden {
        let text = include_str!("../../../training/golden/tokenizer_v1.json");
        serde_json::from_str(text).expect("golden file parses")
    }

    #[test]
    fn vocabulary_matches_the_python_side() {
        let g = golden();
        assert_eq!(VOCAB_SIZE_V1, g.vocab_size);
        assert_eq!(TICKS_PER_BEAT, g.ticks_per_beat);
    }

    #[test]
    fn encode_matches_golden_tokens() {
        for case in golden().cases {
            let meter = Meter::new(case.meter.0, case.meter.1).unwrap();
            let notes: Vec<TickNote> = case
                .notes
                .iter()
                .map(|&(onset, duration, key)| TickNote {
                    onset,
                    duration,
                    key: key.clamp(0, 127) as u8,
                })
                .collect();
            assert_eq!(
                encode(&notes, meter, case.n_bars),
                case.tokens,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn decode_matches_golden_notes() {
        for case in golden().cases {
            let (notes, meter) = decode(&case.tokens);
            let got: Vec<(i64, i64, u8)> =
                notes.iter().map(|n| (n.onset, n.duration, n.key)).collect();
            assert_eq!(got, case.decoded, "{}", case.name);
            assert_eq!((meter.numerator, meter.denominator), case.meter);
        }
    }

    #[test]
    fn round_trip_keeps_in_range_notes() {
        let notes = [
            TickNote {
                onset: 0,
                duration: 3,
                key: 60,
            },
            TickNote {
                onset: 40,
                duration: 8,
                key: 67,
            },
            TickNote {
                onset: 100,
                duration: 96,
                key: 21,
            },
        ];
        let m = Meter::new(3, 4).unwrap();
        assert_eq!(decode(&encode(&notes, m, None)).0, notes);
    }

    #[test]
    fn every_token_has_exactly_one_kind() {
        assert!(matches!(kind(POS_BASE - 1), TokenKind::Meter(_)));
        assert_eq!(kind(POS_BASE), TokenKind::Pos(0));
        assert_eq!(kind(PITCH_BASE), TokenKind::Pitch(PITCH_LOW));
        assert_eq!(kind(DUR_BASE - 1), TokenKind::Pitch(PITCH_HIGH));
        assert_eq!(kind(DUR_BASE), TokenKind::Dur(1));
        assert_eq!(
            kind(VOCAB_SIZE_V1 as u32 - 1),
            TokenKind::Dur(MAX_DUR_TICKS)
        );
        assert_eq!(kind(HEARD_BASE), TokenKind::Heard(PITCH_LOW));
        assert_eq!(kind(OWN - 1), TokenKind::Heard(PITCH_HIGH));
        assert_eq!(kind(OWN), TokenKind::Own);
        assert_eq!(kind(PHRASE_BASE), TokenKind::Phrase(0));
        assert_eq!(kind(VOCAB_SIZE_V2 as u32 - 1), TokenKind::Phrase(3));
        assert_eq!(kind(VOCAB_SIZE_V2 as u32), TokenKind::Invalid);
    }

    #[derive(Deserialize)]
    struct GoldenV2 {
        vocab_size: usize,
        vocab_size_v1: usize,
        own: u32,
        cases: Vec<CaseV2>,
    }

    #[derive(Deserialize)]
    struct CaseV2 {
        name: String,
        meter: (u8, u8),
        own: Vec<(i64, i64, i64)>,
        heard: Vec<(i64, i64, i64)>,
        n_bars: Option<i64>,
        phrase_ends: Option<Vec<i64>>,
        tokens: Vec<u32>,
        decoded_own: Vec<(i64, i64, u8)>,
    }

    fn notes_of(v: &[(i64, i64, i64)]) -> Vec<TickNote> {
        v.iter()
            .map(|&(onset, duration, key)| TickNote {
                onset,
                duration,
                key: key.clamp(0, 127) as u8,
            })
            .collect()
    }

    #[test]
    fn two_voice_grammar_matches_the_python_side() {
        let g: GoldenV2 =
            serde_json::from_str(include_str!("../../../training/golden/tokenizer_v2.json"))
                .expect("golden v2 parses");
        assert_eq!(
            (g.vocab_size, g.vocab_size_v1, g.own),
            (VOCAB_SIZE_V2, VOCAB_SIZE_V1, OWN)
        );
        for case in g.cases {
            let meter = Meter::new(case.meter.0, case.meter.1).unwrap();
            let tokens = encode_two_voice(
                &notes_of(&case.own),
                &notes_of(&case.heard),
                meter,
                case.n_bars,
                case.phrase_ends.as_deref(),
            );
            assert_eq!(tokens, case.tokens, "{}", case.name);
            let own: Vec<(i64, i64, u8)> = decode(&tokens)
                .0
                .iter()
                .map(|n| (n.onset, n.duration, n.key))
                .collect();
            assert_eq!(own, case.decoded_own, "{}", case.name);
        }
    }

    #[test]
    fn a_heard_note_across_the_bar_line_enters_with_what_is_left() {
        let held = TickNote {
            onset: 40,
            duration: 20,
            key: 64,
        };
        let mut tokens = Vec::new();
        push_bar_two_voice(&mut tokens, &[held], 48, 48, Some(9));
        assert_eq!(
            tokens,
            [BAR, pos_token(0), heard_token(64), dur_token(12), OWN],
            "the phrase mark is out of range and left out"
        );
    }

    #[test]
    fn nearest_meter_keeps_the_bar_length() {
        assert!((Meter::nearest(7, 8).bar_ticks() - 42).abs() <= 6);
        assert_eq!(Meter::nearest(4, 4), Meter::FOUR_FOUR);
        assert_eq!(Meter::nearest(6, 4).bar_ticks(), 72);
    }
}
