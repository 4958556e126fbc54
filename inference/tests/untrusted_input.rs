//! Property tests of the engine's readers of untrusted input: MIDI files given to
//! `descant render`, and token sequences (what a model, trained or foreign, may generate).
//! Whatever comes in, they return a value or an error, never panic, and what they return keeps
//! its documented bounds.

use descant_inference::files::midi_file::{self, BeatNote};
use descant_inference::model::tokenizer::{self, Meter, VOCAB_SIZE_V2};
use proptest::prelude::*;

/// A small valid file, the seed that mutations start from.
fn valid_file() -> Vec<u8> {
    let notes: Vec<BeatNote> = (0..12)
        .map(|i| BeatNote {
            beat: f64::from(i) * 0.5,
            length: 0.4,
            key: 60 + (i % 7) as u8,
            channel: (i % 3) as u8,
            velocity: 0.7,
        })
        .collect();
    midi_file::write(&notes, &[(0.0, 120.0), (3.0, 90.0)], (3, 4), "t", "fuzz")
}

/// What a song read from any bytes must satisfy.
fn check_song(song: &midi_file::Song) -> Result<(), TestCaseError> {
    for n in &song.notes {
        prop_assert!(n.beat.is_finite() && n.beat >= 0.0, "{n:?}");
        prop_assert!(n.length.is_finite() && n.length >= 0.0, "{n:?}");
        prop_assert!(n.key <= 127 && n.channel <= 15, "{n:?}");
        prop_assert!((0.0..=1.0).contains(&n.velocity), "{n:?}");
    }
    for &(beat, bpm) in &song.tempos {
        prop_assert!(
            beat.is_finite() && bpm.is_finite() && bpm > 0.0,
            "{beat} {bpm}"
        );
    }
    prop_assert!(song.end_beat.is_finite());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Random bytes are refused or read into a song within bounds.
    #[test]
    fn any_bytes_read_as_midi_are_refused_or_bounded(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(song) = midi_file::read(&bytes) {
            check_song(&song)?;
        }
    }

    /// A valid file with bytes overwritten, cut or inserted: refused or read within bounds.
    #[test]
    fn a_damaged_midi_file_is_refused_or_bounded(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..16)
    ) {
        let mut bytes = valid_file();
        for (at, byte, how) in edits {
            let i = at.index(bytes.len().max(1)).min(bytes.len().saturating_sub(1));
            match how {
                0 if !bytes.is_empty() => bytes[i] = byte,
                1 => bytes.truncate(i),
                _ => bytes.insert(i.min(bytes.len()), byte),
            }
        }
        if let Ok(song) = midi_file::read(&bytes) {
            check_song(&song)?;
        }
    }

    /// Any token sequence decodes to notes inside the vocabulary's ranges.
    #[test]
    fn any_tokens_decode_to_notes_in_range(tokens in proptest::collection::vec(0u32..VOCAB_SIZE_V2 as u32 + 8, 0..512)) {
        let (notes, meter) = tokenizer::decode(&tokens);
        prop_assert!(tokenizer::METERS.iter().any(|&(n, d)| Meter::new(n, d) == Some(meter)));
        for n in &notes {
            prop_assert!(n.onset >= 0, "{n:?}");
            prop_assert!(n.duration > 0 && n.duration <= tokenizer::MAX_DUR_TICKS, "{n:?}");
            prop_assert!((tokenizer::PITCH_LOW..=tokenizer::PITCH_HIGH).contains(&n.key), "{n:?}");
        }
    }
}
