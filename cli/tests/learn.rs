//! `descant learn`: bad input is refused with the reason before anything is installed or
//! written. The learning itself needs torch and is measured by
//! `training/test_learn.py` and the closing notes; this file runs without it.

use std::path::Path;
use std::process::{Command, Output};

use descant_inference::files::midi_file::{self, BeatNote};

/// Runs `descant learn ARGS` with HOME (where the tools and models would go) set to `home`.
fn learn(home: &Path, args: &[&str]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_descant"))
        .arg("learn")
        .args(args)
        .env("HOME", home)
        .env_remove("DESCANT_MODELS_DIR")
        .output()
        .expect("descant runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

/// A melody of 20 notes in C.
fn write_melody(path: &Path) {
    let notes: Vec<BeatNote> = (0..20)
        .map(|i| BeatNote {
            beat: f64::from(i) * 0.5,
            length: 0.45,
            key: [60, 62, 64, 65, 67][i as usize % 5],
            channel: 0,
            velocity: 0.8,
        })
        .collect();
    let bytes = midi_file::write(&notes, &[(0.0, 120.0)], (4, 4), "melody", "test");
    std::fs::write(path, bytes).unwrap();
}

/// Asserts the run failed with exit 1, said `why`, and left nothing under `home`.
fn refused(home: &Path, out: &Output, text: &str, why: &str) {
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(why), "expected '{why}' in: {text}");
    assert!(
        !home.join("Descant").exists(),
        "a refused run wrote to {}: {text}",
        home.display()
    );
}

#[test]
fn bad_names_minutes_and_folders_are_refused_before_anything_is_written() {
    let home = tempfile::tempdir().unwrap();
    let songs = tempfile::tempdir().unwrap();
    write_melody(&songs.path().join("a.mid"));
    let dir = songs.path().to_str().unwrap();
    let (out, text) = learn(home.path(), &[dir, "--name", "../escape"]);
    refused(home.path(), &out, &text, "--name takes");
    let (out, text) = learn(home.path(), &[dir, "--name", "mine", "--minutes", "0"]);
    refused(home.path(), &out, &text, "--minutes takes 0.5 to 120");
    let missing = songs.path().join("nowhere");
    let (out, text) = learn(home.path(), &[missing.to_str().unwrap(), "--name", "mine"]);
    refused(home.path(), &out, &text, "is not a folder");
    // No name at all: a usage error.
    let (out, text) = learn(home.path(), &[dir]);
    assert_eq!(out.status.code(), Some(2), "{text}");
}

#[test]
fn an_empty_folder_or_too_little_music_is_refused_saying_what_is_missing() {
    let home = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.txt"), "not MIDI").unwrap();
    let (out, text) = learn(
        home.path(),
        &[empty.path().to_str().unwrap(), "--name", "mine"],
    );
    refused(home.path(), &out, &text, "is not enough to learn from");
    let few = tempfile::tempdir().unwrap();
    for i in 0..3 {
        write_melody(&few.path().join(format!("m{i}.mid")));
    }
    let (out, text) = learn(
        home.path(),
        &[few.path().to_str().unwrap(), "--name", "mine"],
    );
    refused(home.path(), &out, &text, "is not enough to learn from");
    assert!(text.contains("3 MIDI files, 3 lines, 60 notes"), "{text}");
}
