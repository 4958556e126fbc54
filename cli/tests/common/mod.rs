//! What the `descant` program's tests share: the track they render.

use std::path::{Path, PathBuf};

use descant_inference::files::midi_file::{self, BeatNote};

/// The track: two 2-bar phrases in C major with 2 bars of rest after each, at 100 BPM, then 132
/// BPM from beat 16.
pub fn fixture(dir: &Path) -> PathBuf {
    let mut notes = Vec::new();
    for phrase_start in [0.0, 16.0] {
        for (i, key) in [
            60u8, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 67, 64, 62, 60,
        ]
        .into_iter()
        .enumerate()
        {
            notes.push(BeatNote {
                beat: phrase_start + i as f64 * 0.5,
                length: 0.45,
                key,
                channel: 0,
                velocity: 0.8,
            });
        }
    }
    let path = dir.join("track.mid");
    let bytes = midi_file::write(
        &notes,
        &[(0.0, 100.0), (16.0, 132.0)],
        (4, 4),
        "track",
        "fixture",
    );
    std::fs::write(&path, bytes).expect("fixture written");
    path
}
