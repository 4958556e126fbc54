//! Runs the held-out benchmark: every piece played to the built plugin in each mode, hearing the
//! melody alone and with its chords, for each seed, and measured (the duet measures against the
//! melody, the chord measures against the chords, the answer measures in Answer mode), beside the
//! references: the corpus's own counter-voice, the tune's own consequent phrase, a random note of
//! the key and a random tone of the chord at the same moments. Used by `descant heldout` and the
//! held-out host test.
//!
//! Guarantees: the figures do not depend on how many jobs ran them or in which order (each take is
//! an offline render, and the counts are summed per [`Cell`] in a sorted map); a take that fails
//! fails the run, with the piece named.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Result};

use crate::answers::{self, AnswerStats};
use crate::duet::{measure, DuetStats, Note};
use crate::harmony::{measure_chords, pulse, ChordStats, ToneRule};
use crate::heldout::{Heard, Mode, Piece, Take, ANSWER_AFTER};

/// The counts of one or more takes (summed field by field). (One field per kind of figure the
/// tables print: Descant's, and each reference's.)
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// Pieces played.
    pub pieces: u32,
    /// Descant against the melody.
    pub duet: DuetStats,
    /// Descant against the piece's chords (heard or not).
    pub chords: ChordStats,
    /// Answer mode: Descant's answers to the calls.
    pub answers: AnswerStats,
    /// The corpus's own counter-voice against the melody (pieces that have one).
    pub voice: DuetStats,
    /// The corpus's own counter-voice against the other voices' chord.
    pub voice_chords: ChordStats,
    /// Answer mode: the tune's own consequent phrase, measured as an answer.
    pub consequent: AnswerStats,
    /// Answer mode: the consequent against the chords.
    pub consequent_chords: ChordStats,
    /// Continue mode: the melody's own notes in the piece's key, and all its notes (what "in
    /// key" means for the tune itself: the key is the whole tune's profile key).
    pub tune_in_key: (u32, u32),
    /// Continue and Loop: Descant's notes in key, and all its notes, by how many melody notes had
    /// begun before the note did ([`HEARD_BUCKETS`]): where the key was still to be heard.
    pub in_key_heard: [(u32, u32); HEARD_BUCKETS.len()],
}

/// The buckets of [`Tally::in_key_heard`]: the fewest melody notes begun before Descant's note
/// that each counts (0, 1–3, 4–7, 8–15, 16 or more).
pub const HEARD_BUCKETS: [usize; 5] = [0, 1, 4, 8, 16];

/// Counts `descant`'s notes in `span` into `to`, in key by [`HEARD_BUCKETS`] of `melody` notes
/// begun before each.
fn count_in_key_heard(
    to: &mut [(u32, u32); HEARD_BUCKETS.len()],
    melody: &[Note],
    descant: &[Note],
    scale: crate::duet::Scale,
    (from, until): (f64, f64),
) {
    for n in descant
        .iter()
        .filter(|n| n.beat >= from - 1e-9 && n.beat < until - 1e-9)
    {
        let heard = melody.iter().filter(|m| m.beat < n.beat - 1e-9).count();
        let bucket = HEARD_BUCKETS.iter().rposition(|&b| heard >= b).unwrap_or(0);
        to[bucket].0 += u32::from(scale.contains(n.key));
        to[bucket].1 += 1;
    }
}

impl Tally {
    /// Adds another's counts.
    pub fn add(&mut self, o: &Tally) {
        self.pieces += o.pieces;
        self.duet.add(&o.duet);
        self.chords.add(&o.chords);
        self.answers.add(&o.answers);
        self.voice.add(&o.voice);
        self.voice_chords.add(&o.voice_chords);
        self.consequent.add(&o.consequent);
        self.consequent_chords.add(&o.consequent_chords);
        self.tune_in_key.0 += o.tune_in_key.0;
        self.tune_in_key.1 += o.tune_in_key.1;
        for (a, b) in self.in_key_heard.iter_mut().zip(o.in_key_heard) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }
}

/// Where a take's counts go: mode, what Descant heard, the piece's group (style and meter), seed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    /// The mode.
    pub mode: Mode,
    /// Melody alone or with chords.
    pub heard: Heard,
    /// The piece's style.
    pub style: String,
    /// The piece's meter.
    pub meter: (u8, u8),
    /// The take's seed.
    pub seed: u32,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The modes.
    pub modes: Vec<Mode>,
    /// The seeds of Continue and Answer (each take is played once per seed).
    pub seeds: Vec<u32>,
    /// The seeds of Loop (its takes are the longest: fewer keep the whole run short).
    pub loop_seeds: Vec<u32>,
    /// Parameter settings after the benchmark's own (name, text).
    pub extra: Vec<(String, String)>,
    /// Renders at once.
    pub jobs: usize,
}

/// `chords` without the notes of `voice` (same onset and key): the harmony the voice hears.
fn without(chords: &[Note], voice: &[Note]) -> Vec<Note> {
    chords
        .iter()
        .filter(|c| {
            !voice
                .iter()
                .any(|v| v.key == c.key && (v.beat - c.beat).abs() < 1e-6)
        })
        .copied()
        .collect()
}

/// `phrase` up to its ending, the last note that starts on a strong beat (notes after it lead on
/// into the next phrase, as a tune's pickups do; the definition `training/phrases.py` uses).
fn to_ending(phrase: &[Note], meter: (u8, u8)) -> Vec<Note> {
    let last = phrase
        .iter()
        .rposition(|n| crate::duet::strong_beat(meter, n.beat))
        .map_or(phrase.len(), |i| i + 1);
    phrase[..last].to_vec()
}

/// Measures one take of `piece` (see [`Tally`]).
pub fn score(piece: &Piece, mode: Mode, heard: Heard, take: &Take) -> Tally {
    let beat = pulse(piece.meter);
    let mut t = Tally {
        pieces: 1,
        ..Tally::default()
    };
    // The chords of the piece over the span, heard or not (a loop's are its passes').
    let chords = match (mode, heard) {
        (_, Heard::WithChords) => take.chords.clone(),
        (Mode::Loop, Heard::Melody) => Vec::new(),
        _ => piece.chords.clone(),
    };
    t.chords = measure_chords(
        &take.melody,
        &chords,
        &take.descant,
        piece.scale,
        piece.meter,
        take.span,
        ToneRule::Sounding,
    );
    match mode {
        Mode::Answer => {
            let answer: Vec<Note> = take
                .descant
                .iter()
                .filter(|n| n.beat >= take.span.0 - 1e-9)
                .copied()
                .collect();
            let answer = to_ending(&answer, piece.meter);
            t.answers = answers::measure(
                &take.melody,
                &answer,
                piece.scale,
                piece.meter,
                ANSWER_AFTER,
            );
            // The tune's own next phrase: as long as the call, to its ending.
            let call_len = take.span.0 - take.melody.first().map_or(0.0, |n| n.beat);
            let consequent: Vec<Note> = piece
                .melody
                .iter()
                .filter(|n| n.beat >= take.span.0 - 1e-9 && n.beat < take.span.0 + call_len - 1e-9)
                .copied()
                .collect();
            let consequent = to_ending(&consequent, piece.meter);
            t.consequent = answers::measure(
                &take.melody,
                &consequent,
                piece.scale,
                piece.meter,
                ANSWER_AFTER,
            );
            t.consequent_chords = measure_chords(
                &[],
                &piece.chords,
                &consequent,
                piece.scale,
                piece.meter,
                take.span,
                ToneRule::Completes,
            );
        }
        Mode::Continue | Mode::Loop => {
            t.duet = measure(&take.melody, &take.descant, piece.scale, beat, take.span);
            count_in_key_heard(
                &mut t.in_key_heard,
                &take.melody,
                &take.descant,
                piece.scale,
                take.span,
            );
            if mode == Mode::Continue {
                let in_key = piece.melody.iter().filter(|n| piece.scale.contains(n.key));
                t.tune_in_key = (in_key.count() as u32, piece.melody.len() as u32);
            }
            if mode == Mode::Continue && !piece.voice.is_empty() {
                let span = (0.0, piece.end);
                t.voice = measure(&piece.melody, &piece.voice, piece.scale, beat, span);
                let mut others = without(&piece.chords, &piece.voice);
                others.extend_from_slice(&piece.melody);
                t.voice_chords = measure_chords(
                    &piece.melody,
                    &others,
                    &piece.voice,
                    piece.scale,
                    piece.meter,
                    span,
                    ToneRule::Completes,
                );
            }
        }
    }
    t
}

/// One take's counts: the piece's index, its cell and its tally.
pub type TakeTally = (usize, Cell, Tally);

/// Plays and measures every piece under `plan` with the plugin at `plugin`; `progress` is told
/// each take done (and how many there are). Returns the counts per cell, and per take (in the
/// order of pieces, modes, what is heard, seeds).
pub fn run(
    plugin: &Path,
    pieces: &[Piece],
    plan: &Plan,
    progress: impl Fn(usize, usize) + Sync,
) -> Result<(BTreeMap<Cell, Tally>, Vec<TakeTally>)> {
    let mut jobs = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        for &mode in &plan.modes {
            for heard in [Heard::Melody, Heard::WithChords] {
                if heard == Heard::WithChords && p.chords.is_empty() {
                    continue;
                }
                let seeds = if mode == Mode::Loop {
                    &plan.loop_seeds
                } else {
                    &plan.seeds
                };
                for &seed in seeds {
                    jobs.push((i, mode, heard, seed));
                }
            }
        }
    }
    // Descant's notes in all takes: none at all means the plugin never had a model.
    let played = AtomicUsize::new(0);
    let takes: Vec<TakeTally> = crate::jobs::run(
        &jobs,
        plan.jobs,
        |&(i, mode, heard, seed)| {
            let p = &pieces[i];
            let take = p.play(plugin, mode, heard, seed, &plan.extra)?;
            played.fetch_add(take.descant.len(), Ordering::Relaxed);
            let cell = Cell {
                mode,
                heard,
                style: p.style.clone(),
                meter: p.meter,
                seed,
            };
            Ok((i, cell, score(p, mode, heard, &take)))
        },
        progress,
    )?;
    if !jobs.is_empty() && played.into_inner() == 0 {
        bail!(
            "the plugin at {} played no note in {} takes: did its model load (ONNX Runtime \
             beside it; its log says)?",
            plugin.display(),
            jobs.len()
        );
    }
    let mut cells: BTreeMap<Cell, Tally> = BTreeMap::new();
    for (_, cell, t) in &takes {
        cells.entry(cell.clone()).or_default().add(t);
    }
    Ok((cells, takes))
}

/// The sum of the cells that `keep` selects, per seed (seeds in order).
pub fn per_seed(
    cells: &BTreeMap<Cell, Tally>,
    keep: impl Fn(&Cell) -> bool,
) -> BTreeMap<u32, Tally> {
    let mut out: BTreeMap<u32, Tally> = BTreeMap::new();
    for (c, t) in cells.iter().filter(|(c, _)| keep(c)) {
        out.entry(c.seed).or_default().add(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duet::Scale;

    fn n(beat: f64, length: f64, key: u8) -> Note {
        Note { beat, length, key }
    }

    fn chorale() -> Piece {
        Piece {
            id: "c".into(),
            style: "chorale".into(),
            source: "bach".into(),
            meter: (4, 4),
            tempo: 80.0,
            scale: Scale::major(0),
            call_end: 4.0,
            melody: vec![n(0.0, 4.0, 72), n(4.0, 4.0, 74)],
            chords: vec![
                n(0.0, 4.0, 67),
                n(0.0, 4.0, 64),
                n(0.0, 4.0, 48),
                n(4.0, 4.0, 67),
                n(4.0, 4.0, 62),
                n(4.0, 4.0, 43),
            ],
            voice: vec![n(0.0, 4.0, 67), n(4.0, 4.0, 67)],
            end: 8.0,
        }
    }

    #[test]
    fn the_corpus_voice_is_judged_against_the_other_voices() {
        let p = chorale();
        let take = Take {
            melody: p.melody.clone(),
            chords: p.chords.clone(),
            descant: vec![n(0.0, 4.0, 76), n(4.0, 4.0, 79)],
            span: (0.0, 8.0),
        };
        let t = score(&p, Mode::Continue, Heard::WithChords, &take);
        // Descant: E over C and G over D on the two downbeats: both chord tones.
        assert_eq!((t.chords.strong, t.chords.strong_tones), (2, 2));
        // The alto's G completes C-E(-C) to C major, and sounds in the bass under D.
        assert_eq!((t.voice_chords.strong, t.voice_chords.strong_tones), (2, 2));
        assert_eq!(t.voice.on_beat, 2);
    }

    #[test]
    fn an_answer_is_measured_beside_the_tunes_own_consequent() {
        let p = chorale();
        let take = Take {
            melody: vec![n(0.0, 4.0, 72)],
            chords: Vec::new(),
            descant: vec![n(4.0, 4.0, 72)],
            span: (4.0, 8.0),
        };
        let t = score(&p, Mode::Answer, Heard::Melody, &take);
        assert_eq!((t.answers.answered, t.answers.tonic_strong), (1, 1));
        // The consequent ends on D, a strong beat: neither tonic nor dominant.
        assert_eq!((t.consequent.answered, t.consequent.tonic_strong), (1, 0));
        assert_eq!(t.consequent_chords.strong_tones, 1);
    }
}
