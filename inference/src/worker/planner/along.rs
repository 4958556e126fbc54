//! Continue mode: one line while time runs, from a bar line; at each bar line after the player
//! played, the line re-reads the context (the player's notes and its own). Worker thread (or
//! tests); allocates.
//!
//! Guarantees: a line starts on a bar line after the playhead, never before where the previous
//! line had planned to (no stretch is planned twice), except after a last-moment correction,
//! which starts it where the withdrawn notes began; a re-read happens only at a bar line; while
//! the player plays, every bar the line enters gets a note of Descant's.
//!
//! Last-moment correction: when a player note arrives before a note Descant has already planned
//! and sent, and that note would start on a beat within two beats while the player's key is
//! still down, a clash (a second, a seventh or a tritone against it) withdraws that note and the
//! rest of the line after it, and the line is planned again from there, hearing the new note.

use crate::error::ModelError;
use crate::step::StepModel;
use crate::tokenizer::TickNote;

use super::super::config::WorkerSettings;
use super::line::{merge_monophonic, note_timer, Step};
use super::{ceil_to, push_bounded, to_tick, PlanSink, Planner};

/// Interval classes a correction will not let stand on a beat: seconds, sevenths, the tritone.
const DISSONANT: [i32; 5] = [1, 2, 6, 10, 11];

/// Continue mode's memory.
#[derive(Debug)]
pub(super) struct AlongState {
    /// The player played since the line last took in context: re-read at the next bar line.
    pub(super) refresh: bool,
    /// No restarted line starts before this tick (the old line's cursor).
    pub(super) resume_from: i64,
    /// A correction withdrew the line from this tick: the next line starts exactly here.
    pub(super) restart_at: Option<i64>,
}

impl Default for AlongState {
    fn default() -> Self {
        AlongState {
            refresh: false,
            resume_from: i64::MIN,
            restart_at: None,
        }
    }
}

impl<M: StepModel> Planner<M> {
    /// The line's own past: Descant's notes for a two-voice model (the player's are heard beside
    /// them); one merged line for a v1 model, which knows only one voice.
    fn along_history(&self, model: &M) -> Vec<TickNote> {
        if model.contract().two_voice() {
            self.own.clone()
        } else {
            merge_monophonic(&self.phrase, &self.own)
        }
    }

    /// The last-moment correction (see the module doc); returns whether notes were withdrawn.
    fn correct(&mut self, sink: &mut impl PlanSink) -> bool {
        let beat = self.meter.beat_ticks();
        let mut first: Option<f64> = None;
        for &(onset, key) in &self.arrived {
            if self.held[usize::from(key)].is_none() {
                continue; // already released: nothing sounds against the planned note
            }
            let clash = self.sent.iter().find(|n| {
                let t = to_tick(n.onset_beat);
                let interval = (i32::from(n.key) - i32::from(key)).rem_euclid(12);
                t > onset
                    && t > self.now
                    && t <= onset + 2 * beat
                    && (t - self.anchor).rem_euclid(beat) == 0
                    && DISSONANT.contains(&interval)
            });
            if let Some(n) = clash {
                first = Some(first.map_or(n.onset_beat, |f: f64| f.min(n.onset_beat)));
            }
        }
        self.arrived.clear();
        let Some(from) = first else {
            return false;
        };
        sink.retract_from(from, self.epoch);
        self.sent.retain(|n| n.onset_beat < from - 1e-9);
        self.last_end_beat = self
            .sent
            .last()
            .map_or(f64::MIN, |n| n.onset_beat + n.length_beats);
        let tick = to_tick(from);
        self.own.retain(|n| n.onset < tick);
        self.continuation = None;
        self.along.restart_at = Some(tick);
        self.along.resume_from = i64::MIN;
        true
    }

    /// Continue mode: one note (or bar line) more of the line, starting one at the next bar line.
    pub(super) fn plan_along(
        &mut self,
        model: &mut M,
        settings: &WorkerSettings,
        playhead: i64,
        horizon: i64,
        sink: &mut impl PlanSink,
    ) -> Result<bool, ModelError> {
        if settings.hearing.correct {
            self.correct(sink);
        } else {
            self.arrived.clear();
        }
        if self.continuation.is_none() {
            let bar = self.meter.bar_ticks();
            let from = (playhead + 1).max(self.along.resume_from);
            let restart = self.along.restart_at.take().filter(|&t| t > playhead);
            let start = restart.unwrap_or_else(|| self.anchor + ceil_to(from - self.anchor, bar));
            if start >= horizon {
                self.along.restart_at = restart;
                return Ok(false);
            }
            let history = self.along_history(model);
            self.start_line(model, settings, &history, None, start, sink)?;
            self.along.refresh = false;
        }
        let Some((step, t0)) = self.step_before(model, settings, horizon, sink)? else {
            return Ok(false);
        };
        match step {
            Step::Note(n) => {
                push_bounded(&mut self.own, n);
                note_timer(t0, sink);
                self.emit(n, settings, f64::MIN, t0.elapsed(), sink);
            }
            Step::Bar(t) if self.along.refresh => {
                let history = self.along_history(model);
                self.start_line(model, settings, &history, None, t, sink)?;
                self.along.refresh = false;
            }
            Step::Bar(_) => {
                // Beside a player who is playing, the line plays in every bar: a whole bar of
                // silence from Descant then sounds like a dropped cue, not a breath.
                if self.player_active() {
                    if let Some(c) = self.continuation.as_mut() {
                        c.play_first_bar();
                    }
                }
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
