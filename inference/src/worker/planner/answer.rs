//! Answer mode (call and response): after the player's phrase and `Answer after` beats of silence,
//! Descant answers from the next sixteenth note for up to `Answer length` bars. Worker thread (or
//! tests); allocates.
//!
//! Guarantees: no answer starts while a player key is down, before `Answer after` beats after the
//! latest note-off, or before the playhead; no answer note sounds past `Answer length` bars from
//! the answer's start.

use crate::error::ModelError;
use crate::step::StepModel;

use super::super::config::WorkerSettings;
use super::line::{note_timer, Step};
use super::{ceil_to, to_tick, PlanSink, Planner, START_GRID_TICKS};

/// Answer mode's memory.
#[derive(Debug, Default)]
pub(super) struct AnswerState {
    /// The player finished a phrase that has not been answered yet. Set on a player note-off.
    pub(super) pending: bool,
    /// The tick where the current answer ends (`Answer length`), if limited.
    pub(super) end: Option<i64>,
}

impl<M: StepModel> Planner<M> {
    /// Answer mode: one note (or bar line) more of the answer, starting one when it is due.
    pub(super) fn plan_answer(
        &mut self,
        model: &mut M,
        settings: &WorkerSettings,
        playhead: i64,
        horizon: i64,
        sink: &mut impl PlanSink,
    ) -> Result<bool, ModelError> {
        if self.continuation.is_none() {
            if !self.answer.pending || self.held.iter().any(Option::is_some) {
                return Ok(false);
            }
            let wait = to_tick(settings.answer_after_beats.max(0.0));
            let start = ceil_to(self.last_off_tick + wait, START_GRID_TICKS)
                .max(ceil_to(playhead + 1, START_GRID_TICKS));
            if start >= horizon {
                // Not due yet: the player may still go on.
                return Ok(false);
            }
            let end = (settings.answer_bars > 0)
                .then(|| start + i64::from(settings.answer_bars) * self.meter.bar_ticks());
            let phrase = std::mem::take(&mut self.phrase);
            let started = self.start_line(model, settings, &phrase, end, start, sink);
            self.phrase = phrase;
            started?;
            self.answer.pending = false;
            self.last_end_beat = f64::MIN;
            self.answer.end = end;
        }
        let end = self.answer.end.unwrap_or(i64::MAX);
        let Some((step, t0)) = self.step_before(model, settings, horizon, sink)? else {
            return Ok(false);
        };
        match step {
            Step::Note(n) if n.onset >= end => self.drop_line(),
            Step::Bar(t) if t >= end => self.drop_line(),
            Step::Note(mut n) => {
                n.duration = n.duration.min(end - n.onset);
                note_timer(t0, sink);
                self.emit(n, settings, f64::MIN, t0.elapsed(), sink);
            }
            Step::Bar(_) => {}
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{beats, note_off, note_on, plan_until, Recorder, Rig};
    use crate::take::PlayMode;

    fn answer_settings(bars: u32) -> super::WorkerSettings {
        super::WorkerSettings {
            mode: PlayMode::Answer,
            answer_bars: bars,
            answer_after_beats: 2.0,
            ..Default::default()
        }
    }

    /// A four-note call in beats 0..4, released at beat 4.
    fn call(rig: &mut Rig) {
        for (i, key) in [60u8, 62, 64, 65].into_iter().enumerate() {
            rig.planner.hear(note_on(key, i as f64, 0));
            rig.planner.hear(note_off(key, i as f64 + 1.0, 0));
        }
    }

    #[test]
    fn an_answer_starts_after_the_silence_and_stays_within_its_bars() {
        let mut rig = Rig::new();
        let settings = answer_settings(2);
        call(&mut rig);
        let mut out = Recorder::default();
        // The playhead at beat 4 (the call just ended), planning 2 beats ahead: not due yet.
        assert!(!rig.plan(&settings, beats(4.0), beats(6.0), &mut out));
        assert!(out.notes.is_empty());
        plan_until(&mut rig, &settings, beats(4.5), beats(20.0), &mut out);
        let first = out.notes.first().expect("the call is answered");
        // `Answer after` 2 beats after the note-off at beat 4: no earlier than beat 6.
        assert!(first.onset_beat >= 6.0 - 1e-9, "{first:?}");
        for n in &out.notes {
            assert!(
                n.onset_beat + n.length_beats <= 6.0 + 8.0 + 1e-9,
                "a note sounds past the 2-bar answer: {n:?}"
            );
        }
        out.assert_monophonic();
        assert!(out.lines_started == 1);
    }

    #[test]
    fn no_answer_while_the_player_holds_a_key() {
        let mut rig = Rig::new();
        let settings = answer_settings(2);
        call(&mut rig);
        rig.planner.hear(note_on(67, 5.0, 0));
        let mut out = Recorder::default();
        plan_until(&mut rig, &settings, beats(8.0), beats(20.0), &mut out);
        assert!(out.notes.is_empty(), "{:?}", out.notes);
        rig.planner.hear(note_off(67, 9.0, 0));
        plan_until(&mut rig, &settings, beats(9.0), beats(20.0), &mut out);
        let first = out.notes.first().expect("answered once the key is up");
        assert!(first.onset_beat >= 11.0 - 1e-9, "{first:?}");
    }

    #[test]
    fn the_same_seed_and_call_give_the_same_answer_and_another_seed_another() {
        let take = |seed| {
            let mut rig = Rig::new();
            let settings = super::WorkerSettings {
                seed,
                ..answer_settings(2)
            };
            call(&mut rig);
            let mut out = Recorder::default();
            plan_until(&mut rig, &settings, beats(4.5), beats(20.0), &mut out);
            out.notes
        };
        assert_eq!(take(7), take(7));
        assert_ne!(take(7), take(8));
    }

    #[test]
    fn an_answer_cut_short_before_it_sounded_does_not_change_the_next() {
        // Without the cut: the call, then an answer planned from beat 8.
        let settings = answer_settings(1);
        let mut plain = Rig::new();
        call(&mut plain);
        plain.planner.hear(note_on(67, 4.0, 1));
        plain.planner.hear(note_off(67, 6.0, 1));
        let mut expected = Recorder::default();
        plan_until(
            &mut plain,
            &settings,
            beats(6.5),
            beats(20.0),
            &mut expected,
        );

        // With it: an answer to the call starts planning (from beat 6), the player plays on
        // before it sounds (a new epoch), and the answer to the longer phrase starts at beat 8.
        let mut cut = Rig::new();
        call(&mut cut);
        let mut dropped = Recorder::default();
        assert!(cut.plan(&settings, beats(4.5), beats(7.0), &mut dropped));
        assert_eq!(dropped.lines_started, 1);
        cut.planner.hear(note_on(67, 4.0, 1));
        cut.planner.hear(note_off(67, 6.0, 1));
        let mut got = Recorder::default();
        plan_until(&mut cut, &settings, beats(6.5), beats(20.0), &mut got);
        assert!(!got.notes.is_empty());
        let onsets: Vec<_> = got.notes.iter().map(|n| n.onset_beat).collect();
        assert!(onsets[0] >= 8.0 - 1e-9, "{onsets:?}");
        let strip = |r: &Recorder| -> Vec<(u8, f64, f64)> {
            r.notes
                .iter()
                .map(|n| (n.key, n.onset_beat, n.length_beats))
                .collect()
        };
        assert_eq!(strip(&got), strip(&expected));
        assert_eq!(got.notes[0].epoch, 1);
    }
}
