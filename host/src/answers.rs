//! How Descant answers a call: the measures users hear in Answer mode. A call is the
//! start of one of the hand-written melodies (its first bars), then silence; the built plugin
//! answers it in offline render, and the answer is measured against the call. Pure measures over
//! notes in beats plus the render; used by `descant answers` and the host tests.
//!
//! Guarantees: the measures count the notes given and nothing else, so the same notes give the
//! same figures; the definitions are in `docs/MODEL.md` ("Answer measures").

use std::path::Path;

use anyhow::Result;

use crate::duet::{strong_beat, Note, Scale};
use crate::melodies::Melody;

/// Bars of silence after a call: room for the longest answer measured.
pub const SILENCE_BARS: u32 = 8;

/// One call and Descant's answer to it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The call (the melody's first bars).
    pub call: Vec<Note>,
    /// What Descant played after it.
    pub answer: Vec<Note>,
}

/// The answer measures of one or more exchanges (counts; see [`AnswerStats::add`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AnswerStats {
    /// Calls.
    pub calls: u32,
    /// Calls answered at all.
    pub answered: u32,
    /// Answers whose last note is the tonic, starting on a strong beat.
    pub tonic_strong: u32,
    /// Answers whose last note is the tonic, anywhere.
    pub tonic: u32,
    /// Answers whose last note is the dominant, starting on a strong beat.
    pub dominant_strong: u32,
    /// Answers whose notes per beat are 0.6–1.6 times the call's.
    pub density_in_range: u32,
    /// Answers with at least half as many notes as the call.
    pub half_the_notes: u32,
    /// Answer notes in the melody's key, and all answer notes.
    pub in_key: u32,
    /// All answer notes.
    pub notes: u32,
    /// Answers whose first note comes no later than the first bar line after the call's end
    /// plus `Answer after`.
    pub on_time: u32,
}

impl AnswerStats {
    /// Adds another's counts.
    pub fn add(&mut self, o: &AnswerStats) {
        self.calls += o.calls;
        self.answered += o.answered;
        self.tonic_strong += o.tonic_strong;
        self.tonic += o.tonic;
        self.dominant_strong += o.dominant_strong;
        self.density_in_range += o.density_in_range;
        self.half_the_notes += o.half_the_notes;
        self.in_key += o.in_key;
        self.notes += o.notes;
        self.on_time += o.on_time;
    }

    /// `count` of `of` in percent (0 when `of` is 0).
    pub fn pct(count: u32, of: u32) -> f64 {
        if of == 0 {
            0.0
        } else {
            100.0 * f64::from(count) / f64::from(of)
        }
    }
}

/// Notes per beat from the first onset to the last note's end.
pub fn notes_per_beat(notes: &[Note]) -> f64 {
    let (Some(first), Some(end)) = (
        notes.first().map(|n| n.beat),
        notes.iter().map(|n| n.beat + n.length).reduce(f64::max),
    ) else {
        return 0.0;
    };
    if end > first {
        notes.len() as f64 / (end - first)
    } else {
        0.0
    }
}

/// Measures one answer to `call` in `scale` and `meter`, with `Answer after` of `after` beats.
pub fn measure(
    call: &[Note],
    answer: &[Note],
    scale: Scale,
    meter: (u8, u8),
    after: f64,
) -> AnswerStats {
    let mut s = AnswerStats {
        calls: 1,
        ..AnswerStats::default()
    };
    let Some(last) = answer.last() else {
        return s;
    };
    s.answered = 1;
    let pc = last.key % 12;
    let strong = strong_beat(meter, last.beat);
    s.tonic = u32::from(pc == scale.tonic);
    s.tonic_strong = u32::from(pc == scale.tonic && strong);
    s.dominant_strong = u32::from(pc == (scale.tonic + 7) % 12 && strong);
    let ratio = notes_per_beat(answer) / notes_per_beat(call).max(1e-9);
    s.density_in_range = u32::from((0.6..=1.6).contains(&ratio));
    s.half_the_notes = u32::from(2 * answer.len() >= call.len());
    s.notes = answer.len() as u32;
    s.in_key = answer.iter().filter(|n| scale.contains(n.key)).count() as u32;
    let bar = f64::from(meter.0) * 4.0 / f64::from(meter.1);
    let call_end = call.iter().map(|n| n.beat + n.length).fold(0.0, f64::max);
    let deadline = ((call_end + after) / bar - 1e-9).ceil() * bar;
    s.on_time = u32::from(answer[0].beat <= deadline + 1e-6);
    s
}

/// The `Key` parameter's text for a melody's scale ("D major", "A minor", "D dorian"; the
/// plugin's spelling).
pub fn key_name(scale: Scale) -> String {
    const NAMES: [&str; 12] = [
        "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
    ];
    let mode = if scale == Scale::major(scale.tonic) {
        "major"
    } else if scale == Scale::dorian(scale.tonic) {
        "dorian"
    } else {
        "minor"
    };
    format!("{} {mode}", NAMES[usize::from(scale.tonic % 12)])
}

impl Melody {
    /// The melody's first `bars` bars as a call (a note crossing the cut is cut there).
    pub fn call(&self, bars: u32) -> Vec<Note> {
        let cut = f64::from(bars) * self.bar_beats();
        self.notes()
            .0
            .into_iter()
            .filter(|n| n.beat < cut)
            .map(|n| Note {
                length: n.length.min(cut - n.beat),
                ..n
            })
            .collect()
    }

    /// Plays the first `bars` bars, then [`SILENCE_BARS`] of silence, to the plugin at `plugin`
    /// in offline render at [`TEMPO`] with parameter `settings`; returns the exchange.
    pub fn answer(
        &self,
        plugin: &Path,
        settings: &[(String, String)],
        bars: u32,
    ) -> Result<Exchange> {
        let mut x = self.answers_in_turn(plugin, settings, bars, 1)?;
        Ok(x.remove(0))
    }

    /// Plays the melody as `turns` calls of `bars` bars in turn, each followed by
    /// [`SILENCE_BARS`] of silence (call `k` is the melody's bars `k * bars..(k + 1) * bars`, in
    /// place after the silences before it, so on the same beats of the bar), to the plugin at
    /// `plugin` in one offline render at [`TEMPO`] with parameter `settings`; returns an exchange
    /// per call, each answer what Descant played from its call's end to the next call. A call
    /// past the melody's end is left out.
    pub fn answers_in_turn(
        &self,
        plugin: &Path,
        settings: &[(String, String)],
        bars: u32,
        turns: u32,
    ) -> Result<Vec<Exchange>> {
        let bar = self.bar_beats();
        let turn_beats = f64::from(bars + SILENCE_BARS) * bar;
        let mut calls = Vec::new();
        for k in 0..turns {
            let (from, to) = (f64::from(k * bars) * bar, f64::from((k + 1) * bars) * bar);
            let call: Vec<Note> = self
                .notes()
                .0
                .into_iter()
                .filter(|n| (from..to).contains(&n.beat))
                .map(|n| Note {
                    beat: n.beat - from + f64::from(k) * turn_beats,
                    length: n.length.min(to - n.beat),
                    ..n
                })
                .collect();
            if call.is_empty() {
                break;
            }
            calls.push(call);
        }
        let track: Vec<Note> = calls.iter().flatten().copied().collect();
        let end = calls.len() as f64 * turn_beats;
        let played = self.render(plugin, settings, &track, end, "calls in turn")?;
        Ok(calls
            .into_iter()
            .enumerate()
            .map(|(k, call)| {
                let call_end = call.iter().map(|n| n.beat + n.length).fold(0.0, f64::max);
                let next = (k + 1) as f64 * turn_beats;
                let answer = played
                    .iter()
                    .filter(|n| n.beat >= call_end - 1e-9 && n.beat < next - 1e-9)
                    .copied()
                    .collect();
                Exchange { call, answer }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(beat: f64, length: f64, key: u8) -> Note {
        Note { beat, length, key }
    }

    #[test]
    fn an_answer_home_on_a_strong_beat_at_the_calls_pace_counts_everywhere() {
        let call = [
            n(0.0, 1.0, 60),
            n(1.0, 1.0, 62),
            n(2.0, 1.0, 64),
            n(3.0, 1.0, 65),
        ];
        let answer = [
            n(8.0, 1.0, 67),
            n(9.0, 1.0, 65),
            n(10.0, 1.0, 64),
            n(11.0, 1.0, 60),
        ];
        let s = measure(&call, &answer, Scale::major(0), (4, 4), 2.0);
        assert_eq!((s.tonic, s.tonic_strong), (1, 0), "beat 4 is weak");
        let answer = [n(8.0, 1.0, 67), n(9.0, 1.0, 64), n(10.0, 2.0, 60)];
        let s = measure(&call, &answer, Scale::major(0), (4, 4), 2.0);
        assert_eq!(
            (s.tonic_strong, s.density_in_range, s.half_the_notes),
            (1, 1, 1)
        );
        assert_eq!((s.in_key, s.notes, s.on_time), (3, 3, 1));
    }

    #[test]
    fn a_late_sparse_or_open_answer_is_counted_as_such() {
        let call = [
            n(0.0, 0.5, 60),
            n(0.5, 0.5, 62),
            n(1.0, 0.5, 64),
            n(1.5, 0.5, 65),
        ];
        // Two notes, starting in the bar after the deadline (beat 4), ending on G on beat 1.
        let answer = [n(5.0, 2.0, 64), n(8.0, 4.0, 67)];
        let s = measure(&call, &answer, Scale::major(0), (4, 4), 2.0);
        assert_eq!(s.on_time, 0);
        assert_eq!(s.density_in_range, 0);
        assert_eq!(s.dominant_strong, 1);
        assert_eq!(s.half_the_notes, 1);
    }
}
