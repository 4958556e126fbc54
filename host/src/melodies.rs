//! Twelve well-known public-domain melodies, written out by hand for measuring how Descant plays
//! with a tune (`descant duet`, the host tests). None is taken from the training corpus's files;
//! a folk tune this famous may still have a variant in it, which is why the figures are also
//! reported per melody.
//!
//! Notation: `KEY/BEATS` per note (`F#4/1.5`, `Bb4/0.5`), `r/BEATS` for a rest, `|` bar lines
//! (ignored, for the reader). A pickup is written as a rest that fills the bar before it.

use std::path::Path;

use anyhow::{Context, Result};

use crate::duet::{measure, DuetStats, Note, Scale};
use crate::phrase_ends::{phrase_ends, PhraseEnds};
use crate::render::{paired, render_offline, Track, TrackNote};

/// Tempo of the measurement, BPM.
pub const TEMPO: f64 = 100.0;

/// One melody played twice to the plugin, and what Descant played with it.
#[derive(Debug, Clone)]
pub struct Duet {
    /// The track: the melody, the rest, the melody again.
    pub track: Vec<Note>,
    /// What Descant played.
    pub descant: Vec<Note>,
    /// The first pass measured (a melody heard once).
    pub once: DuetStats,
    /// The second pass measured (the material repeats).
    pub again: DuetStats,
    /// How Descant's line ends its phrases (every [`PHRASE_BARS`] bars, both passes).
    pub phrases: PhraseEnds,
    /// How the melody ends its phrases at the same places (the reference).
    pub melody_phrases: PhraseEnds,
}

/// The phrase grid the duet measures phrase ends on, in bars (Descant's default `Phrase length`).
pub const PHRASE_BARS: u32 = 4;

/// One melody.
#[derive(Debug, Clone, Copy)]
pub struct Melody {
    /// Its name.
    pub name: &'static str,
    /// Time signature.
    pub meter: (u8, u8),
    /// Its key.
    pub scale: Scale,
    /// The notes, in the notation of the module doc.
    pub notes: &'static str,
}

/// The melodies: 4/4 and 3/4; major, minor and dorian.
pub const MELODIES: [Melody; 12] = [
    Melody {
        name: "Ode to Joy",
        meter: (4, 4),
        scale: Scale::major(2),
        notes: "F#4/1 F#4/1 G4/1 A4/1 | A4/1 G4/1 F#4/1 E4/1 | D4/1 D4/1 E4/1 F#4/1 | \
                F#4/1.5 E4/0.5 E4/2 | F#4/1 F#4/1 G4/1 A4/1 | A4/1 G4/1 F#4/1 E4/1 | \
                D4/1 D4/1 E4/1 F#4/1 | E4/1.5 D4/0.5 D4/2",
    },
    Melody {
        name: "Twinkle, Twinkle",
        meter: (4, 4),
        scale: Scale::major(0),
        notes: "C4/1 C4/1 G4/1 G4/1 | A4/1 A4/1 G4/2 | F4/1 F4/1 E4/1 E4/1 | D4/1 D4/1 C4/2 | \
                G4/1 G4/1 F4/1 F4/1 | E4/1 E4/1 D4/2 | G4/1 G4/1 F4/1 F4/1 | E4/1 E4/1 D4/2",
    },
    Melody {
        name: "Frère Jacques",
        meter: (4, 4),
        scale: Scale::major(5),
        notes: "F4/1 G4/1 A4/1 F4/1 | F4/1 G4/1 A4/1 F4/1 | A4/1 Bb4/1 C5/2 | A4/1 Bb4/1 C5/2 | \
                C5/0.5 D5/0.5 C5/0.5 Bb4/0.5 A4/1 F4/1 | C5/0.5 D5/0.5 C5/0.5 Bb4/0.5 A4/1 F4/1 | \
                F4/1 C4/1 F4/2 | F4/1 C4/1 F4/2",
    },
    Melody {
        name: "Amazing Grace",
        meter: (3, 4),
        scale: Scale::major(7),
        notes: "r/2 D4/1 | G4/2 B4/0.5 G4/0.5 | B4/2 A4/1 | G4/2 E4/1 | D4/2 D4/1 | \
                G4/2 B4/0.5 G4/0.5 | B4/2 A4/1 | D5/3 | D5/2 B4/1 | D5/2 B4/0.5 G4/0.5 | \
                B4/2 A4/1 | G4/2 E4/1 | D4/2 D4/1 | G4/2 B4/0.5 G4/0.5 | B4/2 A4/1 | G4/3",
    },
    Melody {
        name: "Scarborough Fair",
        meter: (3, 4),
        scale: Scale::dorian(2),
        notes: "D4/2 D4/1 | A4/2 A4/1 | E4/1.5 F4/0.5 E4/1 | D4/3 | r/1 A4/1 C5/1 | D5/2 C5/1 | \
                A4/1 B4/1 G4/1 | A4/3 | r/1 D5/1 D5/1 | D5/2 C5/1 | A4/2 A4/1 | G4/1 F4/1 E4/1 | \
                C4/3 | D4/2 A4/1 | G4/2 F4/1 | E4/1 D4/1 C4/1 | D4/3",
    },
    Melody {
        name: "Drunken Sailor",
        meter: (4, 4),
        scale: Scale::dorian(2),
        notes: "A4/1 A4/0.5 A4/0.5 A4/1 A4/0.5 A4/0.5 | A4/1 D4/1 F4/1 A4/1 | \
                G4/1 G4/0.5 G4/0.5 G4/1 G4/0.5 G4/0.5 | G4/1 C4/1 E4/1 G4/1 | \
                A4/1 A4/0.5 A4/0.5 A4/1 A4/0.5 A4/0.5 | A4/1 B4/1 C5/1 D5/1 | \
                C5/1 A4/1 G4/1 E4/1 | D4/2 D4/2",
    },
    Melody {
        name: "Greensleeves",
        meter: (3, 4),
        scale: Scale::minor(9),
        notes: "r/2 A4/1 | C5/2 D5/1 | E5/1.5 F5/0.5 E5/1 | D5/2 B4/1 | G4/1.5 A4/0.5 B4/1 | \
                C5/2 A4/1 | A4/1.5 G#4/0.5 A4/1 | B4/2 G#4/1 | E4/2 A4/1 | C5/2 D5/1 | \
                E5/1.5 F5/0.5 E5/1 | D5/2 B4/1 | G4/1.5 A4/0.5 B4/1 | C5/1.5 B4/0.5 A4/1 | \
                G#4/1.5 F#4/0.5 G#4/1 | A4/3",
    },
    Melody {
        name: "When the Saints",
        meter: (4, 4),
        scale: Scale::major(0),
        notes: "r/1 C4/1 E4/1 F4/1 | G4/4 | r/1 C4/1 E4/1 F4/1 | G4/4 | r/1 C4/1 E4/1 F4/1 | \
                G4/2 E4/2 | C4/2 E4/2 | D4/4 | r/1 E4/1 E4/1 D4/1 | C4/3 C4/1 | E4/2 G4/2 | \
                G4/1 F4/3 | r/1 E4/1 F4/1 G4/1 | E4/2 C4/2 | D4/2 D4/2 | C4/4",
    },
    Melody {
        name: "Auld Lang Syne",
        meter: (4, 4),
        scale: Scale::major(5),
        notes: "r/3 C4/1 | F4/1.5 F4/0.5 F4/1 A4/1 | G4/1.5 F4/0.5 G4/1 A4/0.5 G4/0.5 | \
                F4/1.5 F4/0.5 A4/1 C5/1 | D5/3 D5/1 | C5/1.5 A4/0.5 A4/1 F4/1 | \
                G4/1.5 F4/0.5 G4/1 A4/0.5 G4/0.5 | F4/1.5 D4/0.5 D4/1 C4/1 | F4/4",
    },
    Melody {
        name: "God Rest Ye Merry, Gentlemen",
        meter: (4, 4),
        scale: Scale::minor(4),
        notes: "r/3 E4/1 | E4/1 B4/1 B4/1 A4/1 | G4/1 F#4/1 E4/1 D4/1 | E4/1 F#4/1 G4/1 A4/1 | \
                B4/3 E4/1 | E4/1 B4/1 B4/1 A4/1 | G4/1 F#4/1 E4/1 D4/1 | E4/1 F#4/1 G4/1 A4/1 | \
                B4/3 B4/1 | C5/1 A4/1 B4/1 C5/1 | D5/1 E5/1 B4/1 A4/1 | G4/1 E4/1 F#4/1 G4/1 | \
                A4/2 G4/1 A4/1 | B4/2 C5/1 B4/1 | B4/1 A4/1 G4/1 F#4/1 | E4/4",
    },
    Melody {
        name: "Happy Birthday",
        meter: (3, 4),
        scale: Scale::major(5),
        notes: "r/2 C4/0.75 C4/0.25 | D4/1 C4/1 F4/1 | E4/2 C4/0.75 C4/0.25 | D4/1 C4/1 G4/1 | \
                F4/2 C4/0.75 C4/0.25 | C5/1 A4/1 F4/1 | E4/1 D4/1 Bb4/0.75 Bb4/0.25 | \
                A4/1 F4/1 G4/1 | F4/3",
    },
    Melody {
        name: "Jingle Bells",
        meter: (4, 4),
        scale: Scale::major(0),
        notes: "E4/1 E4/1 E4/2 | E4/1 E4/1 E4/2 | E4/1 G4/1 C4/1.5 D4/0.5 | E4/4 | \
                F4/1 F4/1 F4/1.5 F4/0.5 | F4/1 E4/1 E4/1 E4/0.5 E4/0.5 | E4/1 D4/1 D4/1 E4/1 | \
                D4/2 G4/2 | E4/1 E4/1 E4/2 | E4/1 E4/1 E4/2 | E4/1 G4/1 C4/1.5 D4/0.5 | E4/4 | \
                F4/1 F4/1 F4/1 F4/1 | F4/1 E4/1 E4/1 E4/0.5 E4/0.5 | G4/1 G4/1 F4/1 D4/1 | C4/4",
    },
];

impl Melody {
    /// Beats in one bar.
    pub fn bar_beats(&self) -> f64 {
        f64::from(self.meter.0) * 4.0 / f64::from(self.meter.1)
    }

    /// The melody's notes from beat 0, and its length in beats (whole bars).
    pub fn notes(&self) -> (Vec<Note>, f64) {
        let mut at = 0.0;
        let mut notes = Vec::new();
        for word in self.notes.split_whitespace().filter(|w| *w != "|") {
            let (pitch, beats) = word.split_once('/').expect("KEY/BEATS");
            let beats: f64 = beats.parse().expect("a number of beats");
            if pitch != "r" {
                notes.push(Note {
                    beat: at,
                    length: beats,
                    key: key_of(pitch),
                });
            }
            at += beats;
        }
        let bars = (at / self.bar_beats()).ceil();
        (notes, bars * self.bar_beats())
    }

    /// The track of the measurement: the melody, `rest_bars` bars of rest, the melody again.
    /// Returns the notes and where the second pass starts (beats).
    pub fn played_twice(&self, rest_bars: u32) -> (Vec<Note>, f64) {
        let (once, len) = self.notes();
        let again = len + f64::from(rest_bars) * self.bar_beats();
        let mut notes = once.clone();
        notes.extend(once.iter().map(|n| Note {
            beat: n.beat + again,
            ..*n
        }));
        (notes, again)
    }
}

impl Melody {
    /// Renders `track` (notes in beats, channel 0) to the plugin at `plugin` in offline render at
    /// [`TEMPO`] in the melody's meter up to `end_beat`, with parameter `settings`; returns what
    /// Descant played. `what` names the render in an error.
    pub fn render(
        &self,
        plugin: &Path,
        settings: &[(String, String)],
        track: &[Note],
        end_beat: f64,
        what: &str,
    ) -> Result<Vec<Note>> {
        let notes: Vec<TrackNote> = track
            .iter()
            .map(|n| TrackNote {
                beat: n.beat,
                length: n.length,
                key: n.key,
                channel: 0,
                velocity: 0.8,
            })
            .collect();
        let t = Track {
            notes: &notes,
            tempos: &[(0.0, TEMPO)],
            meter: self.meter,
            end_beat,
        };
        let (sent, _) = render_offline(plugin, &t, settings, 1.0, |_| {})
            .with_context(|| format!("rendering {what} of {}", self.name))?;
        Ok(paired(&sent)
            .into_iter()
            .map(|(beat, length, key, _, _)| Note { beat, length, key })
            .collect())
    }

    /// Plays the melody twice (`rest_bars` of rest between) to the plugin at `plugin` in offline
    /// render at [`TEMPO`] with parameter `settings`, and measures each pass.
    pub fn duet(
        &self,
        plugin: &Path,
        settings: &[(String, String)],
        rest_bars: u32,
    ) -> Result<Duet> {
        let (track, second) = self.played_twice(rest_bars);
        let (_, len) = self.notes();
        let descant = self.render(plugin, settings, &track, second + len, "a duet")?;
        let beat = if self.meter.1 == 8 { 1.5 } else { 1.0 };
        let ends = |line: &[Note]| {
            phrase_ends(
                line,
                self.scale,
                self.meter,
                PHRASE_BARS,
                (0.0, second + len),
            )
        };
        Ok(Duet {
            once: measure(&track, &descant, self.scale, beat, (0.0, second)),
            again: measure(&track, &descant, self.scale, beat, (second, second + len)),
            phrases: ends(&descant),
            melody_phrases: ends(&track),
            track,
            descant,
        })
    }
}

/// MIDI key of a name like `C4`, `F#4`, `Bb3` (C4 = 60).
fn key_of(name: &str) -> u8 {
    let (letter, rest) = name.split_at(1);
    let base = match letter {
        "C" => 0,
        "D" => 2,
        "E" => 4,
        "F" => 5,
        "G" => 7,
        "A" => 9,
        "B" => 11,
        _ => panic!("not a note name: {name}"),
    };
    let (shift, octave) = match rest.strip_prefix('#') {
        Some(o) => (1, o),
        None => match rest.strip_prefix('b') {
            Some(o) => (-1, o),
            None => (0, rest),
        },
    };
    let octave: i32 = octave.parse().expect("an octave");
    (12 * (octave + 1) + base + shift) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_melody_parses_into_whole_bars_in_its_key() {
        for m in MELODIES {
            let (notes, len) = m.notes();
            assert!(notes.len() >= 20, "{}", m.name);
            assert_eq!(len % m.bar_beats(), 0.0, "{}", m.name);
            let in_key = notes.iter().filter(|n| m.scale.contains(n.key)).count();
            assert!(in_key as f64 >= 0.9 * notes.len() as f64, "{}", m.name);
        }
    }

    #[test]
    fn note_names() {
        assert_eq!(key_of("C4"), 60);
        assert_eq!(key_of("F#4"), 66);
        assert_eq!(key_of("Bb4"), 70);
        assert_eq!(key_of("G#4"), 68);
    }
}
