//! The idiom benchmark's situations (see [`crate::idiom`] for the measures): where each held-out
//! piece's lines are judged and how Descant is played there. A folk tune is answered: Answer
//! mode, its first phrase the call, its own next phrase the reference. A chorale or Renaissance
//! piece gets a voice below: Continue mode with `Voice = Below` under its upper voice, its
//! composer's voice below the reference, in windows of up to 4 bars. Each style plays with its
//! own `Style`. Used by `descant idiom` and the host tests.
//!
//! Guarantees: the places of a piece depend on the piece alone; [`play_all`] returns the takes
//! in the order of the jobs, whatever the number of renders at once, and fails when a render
//! fails or the plugin played no note at all.

use anyhow::{bail, Context, Result};
use std::path::Path;

use crate::duet::Note;
use crate::heldout::{Heard, Mode, Piece};
use crate::idiom::{bar_span, Situation, CADENCE, FEATURES, TWO_VOICE};

/// What Descant plays in a style, and the parameter text of the style.
pub fn role(style: &str) -> Option<(Role, &'static str)> {
    match style {
        "irish-scottish" => Some((Role::Answer, "Irish & Scottish")),
        "folk-european" => Some((Role::Answer, "European folk")),
        "folk-chinese" => Some((Role::Answer, "Chinese folk")),
        "chorale" => Some((Role::Counter, "Chorale")),
        "renaissance" => Some((Role::Counter, "Renaissance")),
        _ => None,
    }
}

/// The two situations measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Answering the first phrase; the reference is the tune's own next phrase.
    Answer,
    /// Sounding under the upper voice; the reference is the composer's lower voice.
    Counter,
}

/// Bars of a counter-voice window.
pub const WINDOW_BARS: f64 = 4.0;

/// One place a line is judged: the situation and the corpus's own line there.
#[derive(Debug, Clone)]
pub struct Place {
    /// The heard notes, the key and the meter.
    pub situation: Situation,
    /// Where the lines are measured (beats).
    pub span: (f64, f64),
    /// The corpus's own line.
    pub real: Vec<Note>,
}

/// The places of `p`: its answer, or its counter-voice windows.
pub fn places(p: &Piece) -> Vec<Place> {
    let Some((kind, _)) = role(&p.style) else {
        return Vec::new();
    };
    let within = |notes: &[Note], (a, b): (f64, f64)| -> Vec<Note> {
        notes
            .iter()
            .filter(|n| n.beat >= a - 1e-6 && n.beat < b - 1e-6)
            .copied()
            .collect()
    };
    match kind {
        Role::Answer => {
            // The consequent: as many bars after the call as the call has (within the excerpt).
            let call = within(&p.melody, (0.0, p.call_end));
            let Some(first) = call.first() else {
                return Vec::new();
            };
            let bars = ((p.call_end - first.beat) / p.bar_beats()).round().max(1.0);
            let until = (p.call_end + bars * p.bar_beats()).min(p.end);
            let real = within(&p.melody, (p.call_end, until));
            let span = (p.call_end, until);
            if real.len() < 4 || call.len() < 4 {
                return Vec::new();
            }
            vec![Place {
                situation: Situation {
                    heard_span: (first.beat, p.call_end),
                    heard: call,
                    scale: p.scale,
                    meter: p.meter,
                    together: false,
                },
                span,
                real,
            }]
        }
        Role::Counter => {
            // From the second bar: with the key on Auto, Continue listens a bar before it joins
            // (a partner's entry, not its idiom). The last window may be shorter, down to 2 bars.
            let bar = p.bar_beats();
            let mut out = Vec::new();
            let mut from = bar;
            while from + 2.0 * bar <= p.end + 1e-6 {
                let span = (from, (from + WINDOW_BARS * bar).min(p.end));
                let (heard, real) = (within(&p.melody, span), within(&p.voice, span));
                if heard.len() >= 4 && real.len() >= 4 {
                    out.push(Place {
                        situation: Situation {
                            heard,
                            heard_span: span,
                            scale: p.scale,
                            meter: p.meter,
                            together: true,
                        },
                        span,
                        real,
                    });
                }
                from += WINDOW_BARS * bar;
            }
            out
        }
    }
}

/// An answer's span: from its first onset to the bar line at or after its end.
pub fn line_span(notes: &[Note], meter: (u8, u8)) -> Option<(f64, f64)> {
    let first = notes.iter().map(|n| n.beat).reduce(f64::min)?;
    Some((first, bar_span(notes, meter)?.1))
}

/// The features a situation's discriminator uses.
pub fn used(kind: Role) -> Vec<usize> {
    match kind {
        Role::Answer => (0..TWO_VOICE).collect(),
        Role::Counter => (0..CADENCE).chain(TWO_VOICE..FEATURES.len()).collect(),
    }
}

/// The next piece of the same style with places, the same meter first: its real lines are the
/// "another piece" reference.
pub fn other_piece(pieces: &[Piece], placed: &[Vec<Place>], i: usize) -> Option<usize> {
    let p = &pieces[i];
    let n = pieces.len();
    let candidates = (1..n).map(|k| (i + k) % n).filter(|&j| {
        pieces[j].style == p.style
            && !placed[j].is_empty()
            && pieces[j].scale.degrees == p.scale.degrees
    });
    let mut any = None;
    for j in candidates {
        if pieces[j].meter == p.meter {
            return Some(j);
        }
        any.get_or_insert(j);
    }
    any
}

/// The take of each (piece, seed) job: Descant's notes.
pub type Takes = Vec<((usize, u32), Vec<Note>)>;

/// Plays each job's piece in its style's situation, `jobs_at_once` at a time.
pub fn play_all(
    plugin: &Path,
    pieces: &[Piece],
    jobs: &[(usize, u32)],
    extra: &[(String, String)],
    jobs_at_once: usize,
    progress: impl Fn(usize, usize) + Sync,
) -> Result<Takes> {
    let takes = crate::jobs::run(
        jobs,
        jobs_at_once,
        |&(i, seed)| Ok(((i, seed), play(plugin, &pieces[i], seed, extra)?)),
        progress,
    )?;
    if !takes.is_empty() && takes.iter().all(|(_, n)| n.is_empty()) {
        bail!(
            "the plugin at {} played no note in {} takes: did its model load?",
            plugin.display(),
            takes.len()
        );
    }
    Ok(takes)
}

/// Plays `p` in its style's situation: Answer mode to its call, or Continue under its upper voice
/// with `Voice = Below`; the style's `Style`, then `extra`.
pub fn play(plugin: &Path, p: &Piece, seed: u32, extra: &[(String, String)]) -> Result<Vec<Note>> {
    let (kind, style) = role(&p.style).context("a style the benchmark measures")?;
    let mut settings = vec![("Style".to_owned(), style.to_owned())];
    let mode = match kind {
        Role::Answer => Mode::Answer,
        Role::Counter => {
            settings.push(("Voice".to_owned(), "Below".to_owned()));
            Mode::Continue
        }
    };
    settings.extend_from_slice(extra);
    Ok(p.play(plugin, mode, Heard::Melody, seed, &settings)?
        .descant)
}
