//! Melodic lines from a musician's own MIDI files: what `descant lines` reads out of a folder,
//! and what learning from them starts with. Tools only (the `descant` program);
//! reads files and allocates.
//!
//! Guarantees:
//! - every file is reported once, as read (with its lines) or skipped (with the reason);
//! - nothing here panics on any file;
//! - a file larger than [`crate::files::midi_file::MAX_FILE_BYTES`] is skipped unread;
//! - links are not followed, and the walk goes at most [`MAX_DEPTH`] folders deep and reads at
//!   most [`MAX_FILES`] files;
//! - a line is one channel's notes, a single voice on the token grammar's grid: where a channel
//!   plays several notes at once, the highest is kept and each note ends where the next begins;
//! - drums (channel 10) are never a line;
//! - a file's meter is one the grammar has (the nearest bar length otherwise), and its tempo map
//!   is kept.

use std::path::{Path, PathBuf};

use crate::files::midi_file::{self, Song, MAX_FILE_BYTES};
use crate::model::tokenizer::{TickNote, TICKS_PER_BEAT};
use crate::music::time::Meter;

/// Fewest notes a line must have to be learned from (shorter ones say little about a style).
pub const MIN_LINE_NOTES: usize = 16;
/// Fewest notes, all lines together, that learning needs (about 30 short melodies).
pub const MIN_NOTES_TO_LEARN: usize = 600;
/// Most files one walk reads.
pub const MAX_FILES: usize = 5_000;
/// Deepest folder one walk enters below the one it was given.
pub const MAX_DEPTH: usize = 16;
/// MIDI's drum channel (channel 10, counted from 1).
pub const DRUM_CHANNEL: u8 = 9;

/// One melodic line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The file, relative to the folder walked.
    pub file: PathBuf,
    /// The channel it was played on (0-based).
    pub channel: u8,
    /// The file's meter, as the grammar writes it.
    pub meter: Meter,
    /// The file's tempo changes `(beat, BPM)`.
    pub tempos: Vec<(f64, f64)>,
    /// Its notes on the grammar's grid, from the file's start, one at a time.
    pub notes: Vec<TickNote>,
    /// Notes under the top line that were left out.
    pub dropped: usize,
}

/// What a walk found in one file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReport {
    /// The file, relative to the folder walked.
    pub file: PathBuf,
    /// Lines read from it.
    pub lines: usize,
    /// Why it, or a channel of it, gave no line, e.g. "channel 10: drums".
    pub skipped: Vec<String>,
}

/// Everything a walk found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extraction {
    /// The lines, by file and channel.
    pub lines: Vec<Line>,
    /// One report per MIDI file (and per file or folder skipped as a whole).
    pub files: Vec<FileReport>,
}

impl Extraction {
    /// All notes of all lines.
    pub fn notes(&self) -> usize {
        self.lines.iter().map(|l| l.notes.len()).sum()
    }

    /// Why these lines are not enough to learn from, if they are not.
    pub fn too_little(&self) -> Option<String> {
        let notes = self.notes();
        let midi = self.files.iter().filter(|f| is_midi(&f.file)).count();
        if midi == 0 {
            return Some("it holds no MIDI files (.mid or .midi)".into());
        }
        if self.lines.is_empty() {
            return Some(format!(
                "none of its {midi} MIDI files has a melodic line of {MIN_LINE_NOTES} notes or more"
            ));
        }
        if notes < MIN_NOTES_TO_LEARN {
            let per_line = notes / self.lines.len();
            let more = (MIN_NOTES_TO_LEARN - notes).div_ceil(per_line.max(1));
            return Some(format!(
                "its {} lines hold {notes} notes; learning needs at least {MIN_NOTES_TO_LEARN}: \
                 add about {more} more melodies like these",
                self.lines.len()
            ));
        }
        None
    }
}

fn is_midi(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
}

/// The lines of one song (see the module's guarantees), and why each channel that gave none was
/// skipped.
pub fn lines_of(song: &Song, file: &Path) -> (Vec<Line>, Vec<String>) {
    let meter = Meter::nearest(i32::from(song.meter.0), i32::from(song.meter.1));
    let mut lines = Vec::new();
    let mut skipped = Vec::new();
    for channel in 0..16u8 {
        let played: Vec<_> = song.notes.iter().filter(|n| n.channel == channel).collect();
        if played.is_empty() {
            continue;
        }
        if channel == DRUM_CHANNEL {
            skipped.push("channel 10: drums".to_string());
            continue;
        }
        let tick = |beat: f64| (beat * TICKS_PER_BEAT as f64).round() as i64;
        let mut notes: Vec<TickNote> = played
            .iter()
            .map(|n| {
                let onset = tick(n.beat);
                TickNote {
                    onset,
                    duration: (tick(n.beat + n.length) - onset).max(1),
                    key: n.key,
                }
            })
            .collect();
        // Highest first at each onset, then one note per onset: the top line.
        notes.sort_by_key(|n| (n.onset, std::cmp::Reverse(n.key)));
        notes.dedup_by_key(|n| n.onset);
        for i in 1..notes.len() {
            let next = notes[i].onset;
            let prev = &mut notes[i - 1];
            prev.duration = prev.duration.min(next - prev.onset);
        }
        let dropped = played.len() - notes.len();
        if notes.len() < MIN_LINE_NOTES {
            skipped.push(format!(
                "channel {}: {} notes (a line needs {MIN_LINE_NOTES})",
                channel + 1,
                notes.len()
            ));
            continue;
        }
        lines.push(Line {
            file: file.to_path_buf(),
            channel,
            meter,
            tempos: song.tempos.clone(),
            notes,
            dropped,
        });
    }
    (lines, skipped)
}

/// Walks `dir` (recursively, see the module's guarantees) and reads the lines of every MIDI file
/// in it. An error only when `dir` itself cannot be read.
pub fn extract(dir: &Path) -> std::io::Result<Extraction> {
    let mut out = Extraction::default();
    let mut files = 0usize;
    walk(dir, dir, 0, &mut files, &mut out)?;
    Ok(out)
}

/// Reads the folder `dir` (`depth` below `root`) into `out`: its MIDI files in name order and its
/// folders in turn, up to [`MAX_DEPTH`] deep and [`MAX_FILES`] files (`files` counts them);
/// links are not followed.
fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    files: &mut usize,
    out: &mut Extraction,
) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let report = |path: &Path, why: String| FileReport {
        file: path.strip_prefix(root).unwrap_or(path).to_path_buf(),
        lines: 0,
        skipped: vec![why],
    };
    for path in entries {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            if is_midi(&path) {
                out.files
                    .push(report(&path, "a link (links are not followed)".into()));
            }
            continue;
        }
        if meta.is_dir() {
            if depth >= MAX_DEPTH {
                out.files.push(report(
                    &path,
                    format!("a folder more than {MAX_DEPTH} deep (not read)"),
                ));
            } else if walk(root, &path, depth + 1, files, out).is_err() {
                out.files
                    .push(report(&path, "a folder that cannot be read".into()));
            }
            continue;
        }
        if !is_midi(&path) {
            continue;
        }
        *files += 1;
        if *files > MAX_FILES {
            out.files.push(report(
                &path,
                format!("past the first {MAX_FILES} MIDI files (not read)"),
            ));
            continue;
        }
        if meta.len() > MAX_FILE_BYTES as u64 {
            out.files.push(report(
                &path,
                format!(
                    "{} bytes, more than the {MAX_FILE_BYTES} a MIDI file may have (not read)",
                    meta.len()
                ),
            ));
            continue;
        }
        read_file(root, &path, out);
    }
    Ok(())
}

/// Reads the MIDI file at `path` into `out`: its lines, and what it skipped and why (a file that
/// cannot be read or is not a MIDI file is reported with the reason).
fn read_file(root: &Path, path: &Path, out: &mut Extraction) {
    let song = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| midi_file::read(&bytes).map_err(|e| e.to_string()));
    let rel = path.strip_prefix(root).unwrap_or(path).to_path_buf();
    match song {
        Err(why) => out.files.push(FileReport {
            file: rel,
            lines: 0,
            skipped: vec![why],
        }),
        Ok(song) => {
            let (lines, skipped) = lines_of(&song, &rel);
            let skipped = if lines.is_empty() && skipped.is_empty() {
                vec!["no notes".to_string()]
            } else {
                skipped
            };
            out.files.push(FileReport {
                file: rel,
                lines: lines.len(),
                skipped,
            });
            out.lines.extend(lines);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::midi_file::BeatNote;

    fn n(beat: f64, length: f64, key: u8, channel: u8) -> BeatNote {
        BeatNote {
            beat,
            length,
            key,
            channel,
            velocity: 0.8,
        }
    }

    fn song(notes: Vec<BeatNote>, meter: (u8, u8)) -> Song {
        Song {
            notes,
            tempos: vec![(0.0, 96.0), (8.0, 120.0)],
            meter,
            end_beat: 64.0,
        }
    }

    #[test]
    fn a_chord_part_gives_its_top_line_and_drums_none() {
        let mut notes = Vec::new();
        for i in 0..20 {
            let beat = f64::from(i);
            // A triad held two beats at every beat: the top note is the line.
            for key in [60, 64, 67 + (i % 3) as u8] {
                notes.push(n(beat, 2.0, key, 0));
            }
            notes.push(n(beat, 0.1, 36, DRUM_CHANNEL));
        }
        let (lines, skipped) = lines_of(&song(notes, (4, 4)), Path::new("a.mid"));
        assert_eq!(skipped, vec!["channel 10: drums".to_string()]);
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line.notes.len(), 20);
        assert_eq!(line.dropped, 40);
        for (i, note) in line.notes.iter().enumerate() {
            assert_eq!(note.key, 67 + (i % 3) as u8);
            assert_eq!(note.onset, i as i64 * 12);
            // Held two beats, each ends where the next begins (the last keeps its length).
            let want = if i == 19 { 24 } else { 12 };
            assert_eq!(note.duration, want);
        }
        assert_eq!(
            line.tempos,
            vec![(0.0, 96.0), (8.0, 120.0)],
            "tempo map kept"
        );
    }

    #[test]
    fn short_channels_are_skipped_with_their_count_and_meters_fit_the_grammar() {
        let mut notes: Vec<BeatNote> = (0..5).map(|i| n(f64::from(i), 1.0, 50, 1)).collect();
        notes.extend((0..16).map(|i| n(f64::from(i) * 0.5, 0.5, 70 + (i % 5) as u8, 2)));
        let (lines, skipped) = lines_of(&song(notes, (7, 8)), Path::new("b.mid"));
        assert_eq!(
            skipped,
            vec![format!(
                "channel 2: 5 notes (a line needs {MIN_LINE_NOTES})"
            )]
        );
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].channel, 2);
        assert_eq!(lines[0].meter, Meter::nearest(7, 8));
        // Onsets on the grid: half beats are 6 ticks apart.
        assert_eq!(lines[0].notes[1].onset, 6);
    }

    #[test]
    fn too_little_says_how_much_more_is_needed() {
        let line = |notes: usize| Line {
            file: "x.mid".into(),
            channel: 0,
            meter: Meter::FOUR_FOUR,
            tempos: vec![(0.0, 120.0)],
            notes: vec![
                TickNote {
                    onset: 0,
                    duration: 12,
                    key: 60
                };
                notes
            ],
            dropped: 0,
        };
        let report = |file: &str| FileReport {
            file: file.into(),
            lines: 1,
            skipped: vec![],
        };
        let empty = Extraction::default();
        assert!(empty.too_little().unwrap().contains("no MIDI files"));
        let none = Extraction {
            lines: vec![],
            files: vec![report("a.mid")],
        };
        assert!(none
            .too_little()
            .unwrap()
            .contains("none of its 1 MIDI files"));
        let few = Extraction {
            lines: vec![line(50), line(50)],
            files: vec![report("a.mid")],
        };
        let why = few.too_little().unwrap();
        assert!(
            why.contains("100 notes") && why.contains("add about 10 more"),
            "{why}"
        );
        let enough = Extraction {
            lines: vec![line(MIN_NOTES_TO_LEARN)],
            files: vec![report("a.mid")],
        };
        assert_eq!(enough.too_little(), None);
    }
}
