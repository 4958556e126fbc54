//! Answer mode's actions: `Again` (the latest answer redrawn from the next bar line), `Keep` (the
//! taste learns the answer was wanted; the phrase to save), `Answer now`, and a veto of one of
//! the answer's notes as a taste choice. Part of Answer mode ([`super`]); worker thread (or
//! tests); allocates.

use std::time::Duration;

use crate::files::kept_phrase::KeptPhrase;
use crate::model::step::StepModel;
use crate::model::tokenizer::TickNote;
use crate::music::taste::{Feature, Features};
use crate::music::time::Meter;

use super::super::super::config::WorkerSettings;
use super::super::context::{Clock, PlanContext};
use super::super::{ceil_to, to_beat, to_tick, PlanSink};
use super::{AnswerPlanner, Redo};

impl<M: StepModel> AnswerPlanner<M> {
    /// `Again`: the taste learns that the latest answer was not wanted (once), and it is redrawn
    /// whole from the next bar line after `playhead`; it plays on to that bar line, and what of
    /// it comes after is withdrawn. Nothing happens before a first answer.
    pub(in crate::worker::planner) fn again(
        &mut self,
        cx: &mut PlanContext<M>,
        settings: &WorkerSettings,
        playhead: i64,
        sink: &mut impl PlanSink,
    ) {
        let Some(last) = self.last.as_mut() else {
            return;
        };
        if !last.judged {
            last.judged = true;
            let mut store = self.taste.write();
            store.taste.reject(&last.played, &last.others);
            store.refused = None;
        }
        let bar = cx.clock.meter.bar_ticks();
        let start = cx.clock.anchor + ceil_to(playhead + 1 - cx.clock.anchor, bar);
        let redo = Redo {
            call: last.call.clone(),
            span: (start, start + last.len),
        };
        cx.withdraw_from(to_beat(start), sink);
        cx.drop_line();
        self.choosing = None;
        self.play_out_to(cx, settings, start, sink);
        self.base = None;
        cx.line.draw = cx.line.draw.wrapping_add(1);
        self.redo = Some(redo);
    }

    /// A veto of the latest answer's note `key` at `beat`, replaced by `by` (or dropped): the
    /// taste learns that the answer as it now is was preferred to the answer as it was (one
    /// choice). Called before the answer's notes take the change.
    pub(in crate::worker::planner) fn learn_veto(
        &mut self,
        meter: Meter,
        beat: f64,
        key: u8,
        by: Option<u8>,
    ) {
        let Some(last) = self.last.as_ref() else {
            return;
        };
        let tick = to_tick(beat);
        let near = meter.beat_ticks() / 2;
        let Some(i) = last
            .notes
            .iter()
            .rposition(|n| n.key == key && (n.onset - tick).abs() <= near)
        else {
            return;
        };
        let mut after = last.notes.clone();
        match by {
            Some(k) => after[i].key = k,
            None => {
                after.remove(i);
            }
        }
        // (A key changed or a note dropped leaves the rhythm's kinship with the call as it was.)
        let kinship = last.played.get(Feature::Echo);
        let was = Features::of(&last.notes, &last.call, kinship);
        let now = Features::of(&after, &last.call, kinship);
        let mut store = self.taste.write();
        store.taste.prefer(&now, &[was]);
        store.refused = None;
    }

    /// The latest answer's note `key` near `beat` (humanize may have moved the onset sent).
    pub(super) fn last_note(&mut self, meter: Meter, beat: f64, key: u8) -> Option<&mut TickNote> {
        let tick = to_tick(beat);
        let near = meter.beat_ticks() / 2;
        self.last
            .as_mut()?
            .notes
            .iter_mut()
            .rev()
            .filter(|n| n.key == key)
            .find(|n| (n.onset - tick).abs() <= near)
    }

    /// The chosen answer plays on to `tick`: its notes before it are sent now (ending by it),
    /// the rest are dropped.
    fn play_out_to(
        &mut self,
        cx: &mut PlanContext<M>,
        settings: &WorkerSettings,
        tick: i64,
        sink: &mut impl PlanSink,
    ) {
        for (mut n, alternates) in std::mem::take(&mut self.chosen) {
            if n.onset < tick {
                n.duration = n.duration.min(tick - n.onset);
                cx.emit_with(n, alternates, settings, f64::MIN, Duration::ZERO, sink);
            }
        }
    }

    /// `Keep`: the taste learns that the latest answer was wanted, and the call and the answer
    /// are the phrase to save (once per answer: a second press finds it kept).
    pub(in crate::worker::planner) fn keep(&mut self, clock: &Clock) -> Option<KeptPhrase> {
        let last = self.last.as_mut().filter(|l| !l.judged)?;
        last.judged = true;
        let mut store = self.taste.write();
        store.taste.prefer(&last.played, &last.others);
        store.refused = None;
        Some(KeptPhrase {
            heard: last.call.clone(),
            line: last.notes.clone(),
            meter: clock.meter,
            anchor: clock.anchor,
        })
    }

    /// `Answer now`: the phrase played so far is answered at the next bar line after
    /// `playhead`; an answer chosen for later (the planner chooses as soon as the player stops)
    /// or playing is withdrawn from there.
    pub(in crate::worker::planner) fn answer_now(
        &mut self,
        cx: &mut PlanContext<M>,
        settings: &WorkerSettings,
        playhead: i64,
        sink: &mut impl PlanSink,
    ) {
        if cx.player.phrase.is_empty() {
            return;
        }
        let bar = cx.clock.meter.bar_ticks();
        let next_bar = cx.clock.anchor + ceil_to(playhead + 1 - cx.clock.anchor, bar);
        cx.withdraw_from(to_beat(next_bar), sink);
        cx.drop_line();
        self.play_out_to(cx, settings, next_bar, sink);
        self.choosing = None;
        self.base = None;
        self.redo = None;
        self.pending = true;
        self.hurry = true;
    }
}
