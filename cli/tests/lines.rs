//! `descant lines`: the melodic lines in a folder of a musician's own MIDI files, and what is
//! skipped and why. The fixture folder is written here: short melodies with an
//! unmistakable idiom (E Phrygian, dotted rhythms), in nested folders, beside a drum file, a chord
//! part, a damaged file, an oversized file and a text file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use descant_inference::files::midi_file::{self, BeatNote};

/// E Phrygian's pitch classes: E F G A B C D.
const PHRYGIAN: [u8; 7] = [4, 5, 7, 9, 11, 0, 2];

/// Melody `index`: four bars of 4/4 in E Phrygian, 30 notes: fourteen beats of a dotted eighth
/// and a sixteenth moving by step and third (seeded by `index`, so every melody differs), then F
/// and E, a beat each.
fn phrygian_melody(index: u64) -> Vec<BeatNote> {
    let mut state = index
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let scale = |degree: i64| {
        let octave = degree.div_euclid(7);
        let pc = PHRYGIAN[degree.rem_euclid(7) as usize];
        // E4 = 64 is degree 0; C and D sit above B.
        let base = if degree.rem_euclid(7) >= 5 {
            60 + 12
        } else {
            60
        };
        (base + i64::from(pc) + 12 * octave) as u8
    };
    let mut degree: i64 = 0;
    let mut notes = Vec::new();
    for beat in 0..14 {
        for (offset, length) in [(0.0, 0.75), (0.75, 0.25)] {
            notes.push(BeatNote {
                beat: f64::from(beat) + offset,
                length,
                key: scale(degree),
                channel: 0,
                velocity: 0.8,
            });
            degree = (degree + [-1, 1, 1, -1, 2, -2][next(6) as usize]).clamp(-2, 8);
        }
    }
    // Home: the half-step fall F -> E that makes Phrygian Phrygian, then E held.
    for (beat, length, key) in [(14.0, 1.0, 65), (15.0, 1.0, 64)] {
        notes.push(BeatNote {
            beat,
            length,
            key,
            channel: 0,
            velocity: 0.8,
        });
    }
    notes
}

fn write_midi(path: &Path, notes: &[BeatNote]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        midi_file::write(notes, &[(0.0, 100.0)], (4, 4), "melody", "fixture"),
    )
    .unwrap();
}

/// `melodies` Phrygian melodies, a third of them in a subfolder, plus the files that must be
/// skipped.
fn fixture(dir: &Path, melodies: u64) {
    for i in 0..melodies {
        let sub = if i % 3 == 0 { "sub/deeper" } else { "" };
        write_midi(
            &dir.join(sub).join(format!("melody-{i:02}.mid")),
            &phrygian_melody(i),
        );
    }
}

fn extras(dir: &Path) {
    let drums: Vec<BeatNote> = (0..32)
        .map(|i| BeatNote {
            beat: f64::from(i) * 0.5,
            length: 0.1,
            key: 36 + (i % 3) as u8,
            channel: 9,
            velocity: 0.9,
        })
        .collect();
    write_midi(&dir.join("drums.mid"), &drums);
    let chords: Vec<BeatNote> = (0..16)
        .flat_map(|i| {
            [52u8, 55, 59].map(|key| BeatNote {
                beat: f64::from(i),
                length: 1.0,
                key: key + [0, 1, 3, 1][i as usize % 4],
                channel: 1,
                velocity: 0.6,
            })
        })
        .collect();
    write_midi(&dir.join("chords.MID"), &chords);
    std::fs::write(dir.join("damaged.mid"), b"MThd\x00\x00\x00\x06 not really").unwrap();
    // Over 16 MB (sparse: no disk is used); refused unread.
    let huge = std::fs::File::create(dir.join("huge.midi")).unwrap();
    huge.set_len(17 * 1024 * 1024).unwrap();
    std::fs::write(dir.join("notes.txt"), b"not music").unwrap();
}

fn lines(args: &[&Path]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_descant"))
        .arg("lines")
        .args(args)
        .output()
        .expect("descant runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, said)
}

#[test]
fn a_folder_of_melodies_gives_its_lines_and_says_what_it_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("my midi");
    fixture(&dir, 30);
    extras(&dir);
    let out_file: PathBuf = tmp.path().join("lines.jsonl");
    let (out, said) = lines(&[&dir, Path::new("--out"), &out_file]);
    assert!(out.status.success(), "{said}");
    for want in [
        "drums.mid: no line; skipped channel 10: drums",
        "chords.MID: 1 line",
        "damaged.mid: no line; skipped not a valid standard MIDI file",
        "huge.midi: no line; skipped 17825792 bytes, more than the 16777216",
        "sub/deeper/melody-00.mid: 1 line",
        "34 MIDI files, 31 lines",
        "32 notes under the top lines left out",
    ] {
        assert!(said.contains(want), "'{want}' missing from:\n{said}");
    }
    assert!(!said.contains("notes.txt"), "{said}");
    let written = std::fs::read_to_string(&out_file).unwrap();
    assert!(!out_file.with_extension("partial").exists());
    let objects: Vec<serde_json::Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 31);
    let melodies: Vec<_> = objects
        .iter()
        .filter(|o| o["file"].as_str().unwrap().contains("melody"))
        .collect();
    assert_eq!(melodies.len(), 30);
    for m in &melodies {
        assert_eq!(m["meter"], serde_json::json!([4, 4]));
        assert_eq!(m["tempos"], serde_json::json!([[0.0, 100.0]]));
        let notes = m["notes"].as_array().unwrap();
        assert_eq!(notes.len(), 30);
        // Dotted rhythm on the grid (12 ticks a beat): 9 + 3.
        assert_eq!(
            (notes[0][1].as_i64(), notes[1][0].as_i64()),
            (Some(9), Some(9))
        );
        for n in notes {
            let pc = (n[2].as_i64().unwrap() % 12) as u8;
            assert!(PHRYGIAN.contains(&pc), "{n} is not in E Phrygian");
        }
    }
    // The chord part's line is its top voice.
    let chords = objects.iter().find(|o| o["file"] == "chords.MID").unwrap();
    assert_eq!(chords["channel"], 2);
    assert_eq!(chords["notes"][0][2], 59);
}

#[test]
fn an_empty_folder_or_one_without_melodies_is_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, said) = lines(&[tmp.path()]);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("holds no MIDI files"), "{said}");
    extras(tmp.path());
    std::fs::remove_file(tmp.path().join("chords.MID")).unwrap();
    let (out, said) = lines(&[tmp.path()]);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("none of its 3 MIDI files has a melodic line of 16 notes or more"),
        "{said}"
    );
    let (out, said) = lines(&[&tmp.path().join("not here")]);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("is not a folder"), "{said}");
}

#[test]
fn too_few_melodies_are_refused_saying_how_many_more_are_needed() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path(), 5);
    let (out, said) = lines(&[tmp.path()]);
    assert_eq!(out.status.code(), Some(1), "{said}");
    // 5 lines of 30 notes: 150 of the 600 needed, 15 more melodies of 30.
    assert!(
        said.contains("its 5 lines hold 150 notes; learning needs at least 600: add about 15 more"),
        "{said}"
    );
}
