//! Continue mode: one line while time runs, from a bar line; at each bar line after the player
//! played, the line re-reads the context (the player's notes and its own). Worker thread (or
//! tests); allocates.
//!
//! Guarantees: a line starts on a bar line after the playhead, never before where the previous
//! line had planned to (no stretch is planned twice), except after a last-moment correction,
//! which starts it where the withdrawn notes began; a re-read happens only at a bar line; while
//! the player plays, every bar the line enters gets a note of Descant's. With the key on Auto and
//! not yet heard (no key detected, no chord), the first line waits for the bar line a bar after
//! the player's first note (a partner listens before it joins; see `PlanContext::entry`).
//!
//! Last-moment correction: when a player note arrives before a note Descant has already planned
//! and sent, and that note would start on a beat within two beats while the player's key is
//! still down, a clash (a second, a seventh or a tritone against it) withdraws that note and the
//! rest of the line after it, and the line is planned again from there, hearing the new note.
//! So does a planned note, not yet sounding, whose pitch class the key heard so far leaves out,
//! once that key has changed since the note was planned (the first notes of a tune, mostly), when
//! the key is on Auto.
//!
//! `Again` redraws the line from the next bar line: what was sent from there is withdrawn, and
//! the new line is seeded afresh.

use crate::decode::steering::KeySetting;
use crate::error::ModelError;
use crate::files::kept_phrase::KeptPhrase;
use crate::model::step::StepModel;
use crate::model::tokenizer::TickNote;
use crate::music::time::Meter;

use super::super::config::WorkerSettings;
use super::context::PlanContext;
use super::line::{merge_monophonic, note_timer, Frame, Step};
use super::{
    ceil_to, push_bounded, to_beat, to_tick, ModeEvents, ModePlanner, PlanSink, PlanTime,
    MAX_PHRASE_NOTES,
};

/// Interval classes a correction will not let stand on a beat: seconds, sevenths, the tritone.
const DISSONANT: [i32; 5] = [1, 2, 6, 10, 11];

/// Continue mode's planner: its own recent notes and when its line re-reads or restarts.
#[derive(Debug)]
pub(super) struct AlongPlanner {
    /// The player played since the line last took in context: re-read at the next bar line.
    refresh: bool,
    /// No restarted line starts before this tick (the old line's cursor).
    resume_from: i64,
    /// A correction withdrew the line from this tick: the next line starts exactly here.
    restart_at: Option<i64>,
    /// Descant's own recent notes (absolute ticks), context beside the player's.
    own: Vec<TickNote>,
}

impl Default for AlongPlanner {
    fn default() -> Self {
        AlongPlanner {
            refresh: false,
            resume_from: i64::MIN,
            restart_at: None,
            own: Vec::with_capacity(MAX_PHRASE_NOTES),
        }
    }
}

impl ModeEvents for AlongPlanner {
    fn line_dropped(&mut self, cursor: Option<i64>) {
        if let Some(cursor) = cursor {
            self.resume_from = cursor;
        }
    }

    fn new_epoch(&mut self) {
        self.resume_from = i64::MIN;
    }

    fn player_note_finished(&mut self) {
        self.refresh = true;
    }

    fn forget(&mut self) {
        self.own.clear();
    }

    /// A vetoed note dropped: the line re-reads its own past without it at the next bar line.
    fn drop_note(&mut self, beat: f64, key: u8) {
        let tick = to_tick(beat);
        if let Some(i) = self
            .own
            .iter()
            .rposition(|n| n.key == key && (n.onset - tick).abs() <= 1)
        {
            self.own.remove(i);
            self.refresh = true;
        }
    }

    /// The line is what was played: it re-reads it at the next bar line.
    fn adopt_choice(&mut self, meter: Meter, beat: f64, planned: u8, played: u8) {
        let tick = to_tick(beat);
        let near = meter.beat_ticks() / 2;
        // (Humanize may have moved the onset as sent off the line's grid tick.)
        let mut own = self.own.iter_mut().rev().filter(|n| n.key == planned);
        if let Some(n) = own.find(|n| (n.onset - tick).abs() <= near) {
            n.key = played;
        }
        self.refresh = true;
    }
}

impl<M: StepModel> ModePlanner<M> for AlongPlanner {
    /// Continue mode: one note (or bar line) more of the line, starting one at the next bar line.
    fn plan(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        time: PlanTime,
        sink: &mut impl PlanSink,
    ) -> Result<bool, ModelError> {
        let PlanTime {
            playhead, horizon, ..
        } = time;
        let by_key = settings.steering.key == KeySetting::Auto;
        if settings.hearing.correct {
            self.correct(cx, by_key, sink);
        } else {
            cx.player.arrived.clear();
        }
        if cx.line.continuation.is_none() {
            let bar = cx.clock.meter.bar_ticks();
            let from = (playhead + 1).max(self.resume_from);
            let restart = self.restart_at.take().filter(|&t| t > playhead);
            let start = restart.unwrap_or_else(|| {
                cx.entry(
                    by_key,
                    cx.clock.anchor + ceil_to(from - cx.clock.anchor, bar),
                )
            });
            if start >= horizon {
                self.restart_at = restart;
                return Ok(false);
            }
            let history = self.history(model, &cx.player.phrase);
            cx.start_line(model, settings, &history, start, Frame::NONE, sink)?;
            self.refresh = false;
        }
        let Some((step, t0)) = cx.step_before(model, settings, horizon, sink)? else {
            return Ok(false);
        };
        match step {
            Step::Note(n) => {
                push_bounded(&mut self.own, n);
                note_timer(t0, sink);
                cx.emit(n, settings, f64::MIN, t0.elapsed(), sink);
            }
            Step::Bar(t) if self.refresh => {
                let history = self.history(model, &cx.player.phrase);
                cx.start_line(model, settings, &history, t, Frame::NONE, sink)?;
                self.refresh = false;
            }
            Step::Bar(_) => {
                // Beside a player who is playing, the line plays in every bar: a whole bar of
                // silence from Descant then sounds like a dropped cue, not a breath.
                if cx.player_active() {
                    if let Some(c) = cx.line.continuation.as_mut() {
                        c.play_first_bar();
                    }
                }
            }
        }
        Ok(true)
    }
}

impl AlongPlanner {
    /// `Again`: the line is redrawn from the next bar line after `playhead` (what was sent from
    /// there on is withdrawn).
    pub(super) fn again<M: StepModel>(
        &mut self,
        cx: &mut PlanContext<M>,
        playhead: i64,
        sink: &mut impl PlanSink,
    ) {
        let bar = cx.clock.meter.bar_ticks();
        let start = cx.clock.anchor + ceil_to(playhead + 1 - cx.clock.anchor, bar);
        cx.line.draw = cx.line.draw.wrapping_add(1);
        self.restart_from(cx, start, sink);
    }

    /// `Keep`: the last `bars` bars before `now` (from a bar line), the player's notes and the
    /// line's, as the phrase to save; `None` when the line played nothing there.
    pub(super) fn kept<M: StepModel>(&self, cx: &PlanContext<M>, bars: u32) -> Option<KeptPhrase> {
        let bar = cx.clock.meter.bar_ticks();
        let now = cx.clock.now;
        let this_bar = cx.clock.anchor + (now - cx.clock.anchor).div_euclid(bar) * bar;
        let from = this_bar - i64::from(bars.max(1)) * bar;
        let within = |n: &&TickNote| n.onset >= from && n.onset < now;
        let line: Vec<TickNote> = self.own.iter().filter(within).copied().collect();
        (!line.is_empty()).then(|| KeptPhrase {
            heard: cx.player.phrase.iter().filter(within).copied().collect(),
            line,
            meter: cx.clock.meter,
            anchor: cx.clock.anchor,
        })
    }

    /// The line is withdrawn from `tick` and planned again from there (`Again`, a veto).
    pub(super) fn restart_from<M: StepModel>(
        &mut self,
        cx: &mut PlanContext<M>,
        tick: i64,
        sink: &mut impl PlanSink,
    ) {
        cx.withdraw_from(to_beat(tick), sink);
        self.own.retain(|n| n.onset < tick);
        cx.line.continuation = None;
        self.restart_at = Some(tick);
        self.resume_from = i64::MIN;
    }

    /// The line's own past: Descant's notes for a two-voice model (the player's `phrase` is
    /// heard beside them); one merged line for a v1 model, which knows only one voice.
    fn history<M: StepModel>(&self, model: &M, phrase: &[TickNote]) -> Vec<TickNote> {
        if model.contract().two_voice() {
            self.own.clone()
        } else {
            merge_monophonic(phrase, &self.own)
        }
    }

    /// The last-moment correction (see the module doc); `by_key`: also for the key heard (the
    /// key is on Auto). Returns whether notes were withdrawn.
    fn correct<M: StepModel>(
        &mut self,
        cx: &mut PlanContext<M>,
        by_key: bool,
        sink: &mut impl PlanSink,
    ) -> bool {
        let beat = cx.clock.meter.beat_ticks();
        let mut first: Option<f64> = None;
        for &(onset, key) in &cx.player.arrived {
            if cx.player.held[usize::from(key)].is_none() {
                continue; // already released: nothing sounds against the planned note
            }
            let clash = cx.sent.notes.iter().find(|n| {
                let t = to_tick(n.onset_beat);
                let interval = (i32::from(n.key) - i32::from(key)).rem_euclid(12);
                t > onset
                    && t > cx.clock.now
                    && t <= onset + 2 * beat
                    && (t - cx.clock.anchor).rem_euclid(beat) == 0
                    && DISSONANT.contains(&interval)
            });
            if let Some(n) = clash {
                first = Some(first.map_or(n.onset_beat, |f: f64| f.min(n.onset_beat)));
            }
        }
        cx.player.arrived.clear();
        // The key heard so far changed: a planned note it leaves out goes, with what follows.
        if let Some(out) = cx.first_out_of_key(by_key, f64::MIN) {
            first = Some(first.map_or(out, |f: f64| f.min(out)));
        }
        let Some(from) = first else {
            return false;
        };
        cx.withdraw_from(from, sink);
        let tick = to_tick(from);
        self.own.retain(|n| n.onset < tick);
        cx.line.continuation = None;
        self.restart_at = Some(tick);
        self.resume_from = i64::MIN;
        true
    }
}

#[cfg(test)]
mod tests;
