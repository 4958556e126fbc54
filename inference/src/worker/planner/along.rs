//! Continue mode: one line while time runs, from a bar line; at each bar line after the player
//! played, the line re-reads the context (the player's notes and its own). Worker thread (or
//! tests); allocates.
//!
//! Guarantees: a line starts only on a bar line after the playhead, never before where the
//! previous line had planned to (no stretch is planned twice); a re-read happens only at a bar
//! line.

use crate::error::ModelError;
use crate::step::StepModel;

use super::super::config::WorkerSettings;
use super::line::{merge_monophonic, note_timer, Step};
use super::{ceil_to, push_bounded, PlanSink, Planner};

/// Continue mode's memory.
#[derive(Debug)]
pub(super) struct AlongState {
    /// The player played since the line last took in context: re-read at the next bar line.
    pub(super) refresh: bool,
    /// No restarted line starts before this tick (the old line's cursor).
    pub(super) resume_from: i64,
}

impl Default for AlongState {
    fn default() -> Self {
        AlongState {
            refresh: false,
            resume_from: i64::MIN,
        }
    }
}

impl<M: StepModel> Planner<M> {
    /// Continue mode: one note (or bar line) more of the line, starting one at the next bar line.
    pub(super) fn plan_along(
        &mut self,
        model: &mut M,
        settings: &WorkerSettings,
        playhead: i64,
        horizon: i64,
        sink: &mut impl PlanSink,
    ) -> Result<bool, ModelError> {
        if self.continuation.is_none() {
            let bar = self.meter.bar_ticks();
            let from = (playhead + 1).max(self.along.resume_from);
            let start = self.anchor + ceil_to(from - self.anchor, bar);
            if start >= horizon {
                return Ok(false);
            }
            let history = merge_monophonic(&self.phrase, &self.own);
            self.start_line(model, settings, &history, start, sink)?;
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
                let history = merge_monophonic(&self.phrase, &self.own);
                self.start_line(model, settings, &history, t, sink)?;
                self.along.refresh = false;
            }
            Step::Bar(_) => {}
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{beats, note_off, note_on, plan_until, transport, Recorder, Rig};
    use crate::take::PlayMode;

    fn along_settings() -> super::WorkerSettings {
        super::WorkerSettings {
            mode: PlayMode::Continue,
            ..Default::default()
        }
    }

    #[test]
    fn the_line_starts_on_the_next_bar_line_and_plays_in_its_first_bar() {
        let mut rig = Rig::new();
        rig.planner.hear(transport((3, 4), true, 0));
        let mut out = Recorder::default();
        // Playhead at beat 1 of a 3/4 bar: the line starts at beat 3.
        plan_until(
            &mut rig,
            &along_settings(),
            beats(1.0),
            beats(9.0),
            &mut out,
        );
        let first = out.notes.first().expect("Continue plays");
        assert!(first.onset_beat >= 3.0 - 1e-9, "{first:?}");
        assert!(
            first.onset_beat < 6.0,
            "the first bar is not empty: {first:?}"
        );
        out.assert_monophonic();
    }

    #[test]
    fn the_line_rereads_the_player_only_at_a_bar_line_after_they_played() {
        let mut rig = Rig::new();
        rig.planner.hear(transport((4, 4), true, 0));
        let settings = along_settings();
        let mut out = Recorder::default();
        plan_until(&mut rig, &settings, beats(0.5), beats(8.0), &mut out);
        assert_eq!(out.lines_started, 1);
        // Planning on without the player: the same line.
        plan_until(&mut rig, &settings, beats(4.0), beats(16.0), &mut out);
        assert_eq!(out.lines_started, 1);
        // The player plays (Continue plays along: the epoch stays); at the next bar line the
        // line starts again over the new context.
        rig.planner.hear(note_on(60, 9.0, 0));
        rig.planner.hear(note_off(60, 10.0, 0));
        plan_until(&mut rig, &settings, beats(10.0), beats(24.0), &mut out);
        assert_eq!(out.lines_started, 2);
        out.assert_monophonic();
    }

    #[test]
    fn a_restarted_line_resumes_after_what_the_old_line_planned() {
        let mut rig = Rig::new();
        rig.planner.hear(transport((4, 4), true, 0));
        let settings = along_settings();
        let mut out = Recorder::default();
        plan_until(&mut rig, &settings, beats(0.5), beats(8.0), &mut out);
        // A mode round trip drops the line; the next one resumes where the old one had planned
        // to, at its next bar line.
        let cursor = out
            .notes
            .iter()
            .map(|n| n.onset_beat + n.length_beats)
            .fold(0.0, f64::max);
        let answer = super::WorkerSettings {
            mode: PlayMode::Answer,
            ..settings
        };
        rig.plan(&answer, beats(1.0), beats(8.0), &mut out);
        let before = out.notes.len();
        plan_until(&mut rig, &settings, beats(1.0), beats(16.0), &mut out);
        let resumed = &out.notes[before..];
        assert!(!resumed.is_empty());
        assert!(resumed[0].onset_beat >= cursor - 1e-9, "{resumed:?}");
        assert!(resumed[0].onset_beat >= 8.0 - 1e-9, "{resumed:?}");
        out.assert_monophonic();
    }
}
