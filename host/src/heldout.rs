//! The held-out benchmark's pieces and how each is played to the built plugin: folk tunes,
//! chorales and Renaissance pairs that no model, weight or threshold of Descant was fitted on
//! (`tests/fixtures/heldout.txt`, written by `training/heldout.py` from the corpus's test split).
//! Used by `descant heldout` and the held-out host test.
//!
//! Guarantees: [`parse`] reads the file's format exactly (a malformed line is an error naming its
//! number, never a piece silently dropped); [`Piece::play`] renders in offline mode, so the same
//! plugin, piece, mode, condition and seed give the same take.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::duet::{Note, Scale};
use crate::render::{paired, render_offline, Track, TrackNote};

/// Ticks per quarter note in the fixture (the token grammar's).
const TICKS: f64 = 12.0;

/// One held-out piece.
#[derive(Debug, Clone)]
pub struct Piece {
    /// The corpus id.
    pub id: String,
    /// The style (`irish-scottish`, `folk-european`, `folk-chinese`, `chorale`, `renaissance`).
    pub style: String,
    /// The collection it comes from.
    pub source: String,
    /// The time signature.
    pub meter: (u8, u8),
    /// Quarter notes per minute.
    pub tempo: f64,
    /// The key (the extraction's Krumhansl-Schmuckler key of the whole tune).
    pub scale: Scale,
    /// Where the first phrase ends (beats): Answer mode's call.
    pub call_end: f64,
    /// The melody (the player's part).
    pub melody: Vec<Note>,
    /// The chords (the chord channel's part): written for folk tunes, the lower voices of a
    /// chorale, none for a Renaissance pair.
    pub chords: Vec<Note>,
    /// The corpus's own counter-voice, if the piece has one (the reference).
    pub voice: Vec<Note>,
    /// The excerpt's end (beats, a bar line).
    pub end: f64,
}

/// How Descant plays a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// Along with the whole excerpt.
    Continue,
    /// Answering the first phrase.
    Answer,
    /// Looping a take over the first bars, played twice.
    Loop,
}

impl Mode {
    /// The `Mode` parameter's text.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Continue => "Continue",
            Mode::Answer => "Answer",
            Mode::Loop => "Loop",
        }
    }
}

/// What Descant hears of a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Heard {
    /// The melody alone.
    Melody,
    /// The melody and its chords on `Chord channel` 2.
    WithChords,
}

/// What was played to Descant and what it played, in beats.
#[derive(Debug, Clone)]
pub struct Take {
    /// The melody as played (a loop's passes one after the other; an answer's call).
    pub melody: Vec<Note>,
    /// The chords as played (empty for melody only).
    pub chords: Vec<Note>,
    /// What Descant played.
    pub descant: Vec<Note>,
    /// The span measured (beats): Descant's notes starting there count.
    pub span: (f64, f64),
}

/// `Answer after`'s default, in beats.
pub const ANSWER_AFTER: f64 = 2.0;

/// Cycles a Loop take is played: the first is heard once, the second again.
pub const LOOP_PASSES: u32 = 2;
/// Bars of a Loop cycle (at most).
pub const LOOP_BARS: u32 = 4;

/// The notes of a `melody`/`chords`/`voice` line's numbers.
fn notes(words: &[&str], line: usize) -> Result<Vec<Note>> {
    if !words.len().is_multiple_of(3) {
        bail!("line {line}: notes come in threes (onset, length, key)");
    }
    words
        .chunks(3)
        .map(|w| {
            let num = |s: &str| {
                s.parse::<u32>()
                    .with_context(|| format!("line {line}: '{s}' is not a number"))
            };
            let key = num(w[2])?;
            if key > 127 {
                bail!("line {line}: key {key} is not a MIDI key");
            }
            Ok(Note {
                beat: f64::from(num(w[0])?) / TICKS,
                length: f64::from(num(w[1])?.max(1)) / TICKS,
                key: key as u8,
            })
        })
        .collect()
}

/// Reads the fixture's text (see `training/heldout.py` for the format).
pub fn parse(text: &str) -> Result<Vec<Piece>> {
    let mut pieces: Vec<Piece> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let words: Vec<&str> = raw.split_whitespace().collect();
        let Some((&tag, rest)) = words.split_first() else {
            continue;
        };
        match tag {
            "piece" => pieces.push(piece_header(rest, line)?),
            "melody" | "chords" | "voice" => {
                let Some(p) = pieces.last_mut() else {
                    bail!("line {line}: '{tag}' before any piece");
                };
                let n = notes(rest, line)?;
                match tag {
                    "melody" => p.melody = n,
                    "chords" => p.chords = n,
                    _ => p.voice = n,
                }
            }
            t if t.starts_with('#') => {}
            other => bail!("line {line}: unknown record '{other}'"),
        }
    }
    if let Some(p) = pieces.iter().find(|p| p.melody.is_empty()) {
        bail!("piece {} has no melody", p.id);
    }
    for p in &mut pieces {
        p.finish();
    }
    Ok(pieces)
}

/// A `piece` line's fields: `ID STYLE SOURCE N/D TEMPO TONIC MODE CALL_END`.
fn piece_header(rest: &[&str], line: usize) -> Result<Piece> {
    let [id, style, source, meter, tempo, tonic, mode, call_end] = rest else {
        bail!("line {line}: a piece has 8 fields");
    };
    let (n, d) = meter
        .split_once('/')
        .with_context(|| format!("line {line}: meter '{meter}'"))?;
    let meter: (u8, u8) = (n.parse()?, d.parse()?);
    let tonic: u8 = tonic.parse::<u8>()? % 12;
    let scale = match *mode {
        "major" => Scale::major(tonic),
        "minor" => Scale::minor(tonic),
        other => bail!("line {line}: mode '{other}'"),
    };
    let call_end = call_end.parse::<f64>()? / TICKS;
    Ok(Piece {
        id: id.to_string(),
        style: style.to_string(),
        source: source.to_string(),
        meter,
        tempo: tempo.parse()?,
        scale,
        call_end,
        melody: Vec::new(),
        chords: Vec::new(),
        voice: Vec::new(),
        end: 0.0,
    })
}

/// Reads the fixture at `path`.
pub fn load(path: &Path) -> Result<Vec<Piece>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text).with_context(|| format!("in {}", path.display()))
}

/// `notes` from `from` to `to` beats, moved by `shift` (a note crossing `to` is cut there).
fn window(notes: &[Note], (from, to): (f64, f64), shift: f64) -> Vec<Note> {
    notes
        .iter()
        .filter(|n| n.beat >= from - 1e-9 && n.beat < to - 1e-9)
        .map(|n| Note {
            beat: n.beat + shift,
            length: n.length.min(to - n.beat),
            key: n.key,
        })
        .collect()
}

impl Piece {
    /// Beats in one bar.
    pub fn bar_beats(&self) -> f64 {
        f64::from(self.meter.0) * 4.0 / f64::from(self.meter.1)
    }

    /// Sets the excerpt's end: the bar line after its last note.
    fn finish(&mut self) {
        let last = self
            .melody
            .iter()
            .map(|n| n.beat + n.length)
            .fold(0.0, f64::max);
        let bar = self.bar_beats();
        self.end = ((last / bar) - 1e-9).ceil().max(1.0) * bar;
    }

    /// The piece's group in the tables: style and meter.
    pub fn group(&self) -> String {
        format!("{} {}/{}", self.style, self.meter.0, self.meter.1)
    }

    /// Bars of a Loop cycle: up to [`LOOP_BARS`], within the excerpt.
    pub fn loop_bars(&self) -> u32 {
        ((self.end / self.bar_beats()).round() as u32).clamp(1, LOOP_BARS)
    }

    /// What is played in `mode` hearing `heard`: melody, chords, the beat the render ends, and
    /// the span measured.
    fn arrangement(&self, mode: Mode, heard: Heard) -> (Vec<Note>, Vec<Note>, f64, (f64, f64)) {
        let chords = |span| match heard {
            Heard::Melody => Vec::new(),
            Heard::WithChords => window(&self.chords, span, 0.0),
        };
        match mode {
            Mode::Continue => (
                self.melody.clone(),
                chords((0.0, self.end)),
                self.end,
                (0.0, self.end),
            ),
            Mode::Answer => {
                // The call, then the chords of the rest of the excerpt under Descant's answer,
                // and time for an answer as long as the call after `Answer after` and a bar line.
                let call = window(&self.melody, (0.0, self.call_end), 0.0);
                let bar = self.bar_beats();
                let room = ((2.0 * self.call_end + ANSWER_AFTER) / bar).ceil() * bar + bar;
                let end = self.end.max(room);
                (call, chords((0.0, self.end)), end, (self.call_end, end))
            }
            Mode::Loop => {
                let cycle = f64::from(self.loop_bars()) * self.bar_beats();
                let (mut melody, mut chord_part) = (Vec::new(), Vec::new());
                for k in 0..LOOP_PASSES {
                    let shift = f64::from(k) * cycle;
                    melody.extend(window(&self.melody, (0.0, cycle), shift));
                    chord_part.extend(window(&chords((0.0, cycle)), (0.0, cycle), shift));
                }
                let end = f64::from(LOOP_PASSES) * cycle;
                (melody, chord_part, end, (0.0, end))
            }
        }
    }

    /// Plays the piece to the plugin at `plugin` in `mode` hearing `heard`, with the take's
    /// `seed` and parameter `extra` settings (name, text; after the benchmark's own), in offline
    /// render at the piece's tempo and meter.
    pub fn play(
        &self,
        plugin: &Path,
        mode: Mode,
        heard: Heard,
        seed: u32,
        extra: &[(String, String)],
    ) -> Result<Take> {
        let (melody, chords, end, span) = self.arrangement(mode, heard);
        let mut settings = vec![
            ("Pass through".to_owned(), "Off".to_owned()),
            ("Mode".to_owned(), mode.name().to_owned()),
            ("Seed".to_owned(), seed.to_string()),
        ];
        if heard == Heard::WithChords {
            settings.push(("Chord channel".to_owned(), "2".to_owned()));
        }
        if mode == Mode::Loop {
            settings.push((
                "Loop length".to_owned(),
                format!("{} bars", self.loop_bars()),
            ));
        }
        settings.extend_from_slice(extra);
        let track_note = |channel: u8| {
            move |n: &Note| TrackNote {
                beat: n.beat,
                length: n.length,
                key: n.key,
                channel,
                velocity: 0.8,
            }
        };
        let mut notes: Vec<TrackNote> = melody.iter().map(track_note(0)).collect();
        notes.extend(chords.iter().map(track_note(1)));
        let tempos = [(0.0, self.tempo)];
        let track = Track {
            notes: &notes,
            tempos: &tempos,
            meter: self.meter,
            end_beat: end,
        };
        let (sent, _) = render_offline(plugin, &track, &settings, 0.0, |_| {})
            .with_context(|| format!("playing {} in {} mode", self.id, mode.name()))?;
        let descant = paired(&sent)
            .into_iter()
            .map(|(beat, length, key, _, _)| Note { beat, length, key })
            .collect();
        Ok(Take {
            melody,
            chords,
            descant,
            span,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "# a comment\n\
        piece t1 irish-scottish oneill 6/8 165 2 major 36\n\
        melody 0 6 62 6 6 66 12 6 69 18 18 74 36 36 73 72 18 71\n\
        chords 0 36 50 0 36 54 0 36 57\n\
        piece c1 chorale bach 4/4 80 7 minor 48\n\
        melody 0 12 67 12 12 70\n\
        voice 0 24 62\n";

    #[test]
    fn pieces_parse_with_their_parts_and_ends() {
        let pieces = parse(TWO).unwrap();
        assert_eq!(pieces.len(), 2);
        let jig = &pieces[0];
        assert_eq!((jig.meter, jig.tempo, jig.call_end), ((6, 8), 165.0, 3.0));
        assert_eq!(jig.scale, Scale::major(2));
        assert_eq!((jig.melody.len(), jig.chords.len()), (6, 3));
        assert_eq!(jig.melody[1].beat, 0.5);
        // The last note ends at tick 90 = 7.5 beats: the excerpt ends at bar 3's line (9 beats).
        assert_eq!(jig.end, 9.0);
        assert_eq!(jig.group(), "irish-scottish 6/8");
        let chorale = &pieces[1];
        assert_eq!(chorale.scale, Scale::minor(7));
        assert_eq!((chorale.voice.len(), chorale.end), (1, 4.0));
    }

    #[test]
    fn a_malformed_line_is_named() {
        let err = parse("piece a b c 4/4 100 0 major 0\nmelody 0 12\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = parse("melody 0 12 60\n").unwrap_err();
        assert!(err.to_string().contains("before any piece"), "{err}");
        let err = parse("piece a b c 4/4 100 0 lydian 0\nmelody 0 12 60\n").unwrap_err();
        assert!(err.to_string().contains("lydian"), "{err}");
    }

    #[test]
    fn each_mode_plays_its_part_of_the_piece() {
        let pieces = parse(TWO).unwrap();
        let jig = &pieces[0];
        let (m, c, end, span) = jig.arrangement(Mode::Answer, Heard::WithChords);
        // The call ends at beat 3: an answer as long after 2 beats ends by beat 8, so the render
        // runs to the bar line after it and a bar more (beat 12).
        assert_eq!((m.len(), c.len(), end, span), (4, 3, 12.0, (3.0, 12.0)));
        let (m, c, _, _) = jig.arrangement(Mode::Continue, Heard::Melody);
        assert_eq!((m.len(), c.len()), (6, 0));
        // Three bars of 6/8 loop twice.
        let (m, c, end, span) = jig.arrangement(Mode::Loop, Heard::WithChords);
        assert_eq!((m.len(), c.len(), end), (12, 6, 18.0));
        assert_eq!(span, (0.0, 18.0));
        assert_eq!(m[6].beat, 9.0);
    }
}
