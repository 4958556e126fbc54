//! Loop mode: over the host's loop range (or `Loop length` bars) Descant plays a phrase per cycle;
//! with `Keep` on the latest whole take repeats note for note; a flip of `Regenerate` replaces it
//! at the next cycle. Worker thread (or tests); allocates.
//!
//! Guarantees: cycle numbers stay the same when the host's loop start moves on by a loop length
//! at each wrap; a grid that moves under a cycle whose line just ended begins that cycle afresh
//! (it never stops the model); a replayed take is the kept one, note for note; only a cycle
//! recorded from its start becomes the take. With the key on Auto, a planned note the key heard
//! since leaves out is withdrawn before it sounds, and the cycle's line planned again from it
//! (the first cycle, mostly, planned before the key was heard). With the key on Auto and not
//! yet heard (no key detected, no chord), the loop enters at a bar line: the next one, or the
//! one a bar after the player's first note. A cycle entered late is not whole, so the take is a
//! cycle planned hearing the key. With a key set, or once it is known, it enters at once.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;

use crate::decode::steering::KeySetting;
use crate::error::ModelError;
use crate::events::GeneratedNote;
use crate::files::take::{KeptTake, TakeNote};
use crate::model::step::StepModel;
use crate::model::tokenizer::{TickNote, TICKS_PER_BEAT};
use crate::music::onset::Alternates;
use crate::music::time::Meter;

use super::super::config::WorkerSettings;
use super::context::{Clock, PlanContext};
use super::line::{merge_monophonic, note_timer, Frame, Step};
use super::{
    ceil_to, to_beat, to_tick, ModeEvents, ModePlanner, PlanSink, PlanTime, START_GRID_TICKS,
};

/// Loop mode's planner: its memory, and the store of the kept take it shares with the project.
pub(super) struct LoopPlanner {
    /// The cycle being planned and the take being recorded or replayed.
    state: LoopState,
    /// The kept loop take, shared with the plugin's persisted state: written when a take is kept,
    /// adopted (after a project loads) when the planner has none of its own.
    kept_take: Arc<RwLock<Option<KeptTake>>>,
}

/// Loop mode's memory: the cycle being planned, the take being recorded or replayed. (Thirteen
/// fields: the cycle's place and cursor, the recording, the take and the two switches are read
/// together at every cycle's turn; split, each step would pass them all around.)
#[derive(Debug, Default)]
struct LoopState {
    /// Index of the cycle being planned (cycles tile time from the loop's start), if any.
    cycle: Option<i64>,
    /// Absolute tick of that cycle's start.
    start: i64,
    /// Cycle length in ticks.
    len: i64,
    /// Whether this cycle replays `take` (else it is generated and recorded).
    replaying: bool,
    /// Replay: the index of the next note of `take` to plan.
    next_note: usize,
    /// The notes generated in this cycle so far (relative to its start).
    recording: Vec<TakeNote>,
    /// Whether the recording began at the cycle's start (only a whole cycle becomes the take).
    whole: bool,
    /// The latest whole take: what repeats while `Keep` is on.
    take: Option<KeptTake>,
    /// Absolute tick where the cycle that became `take` started (the onset choice may amend the
    /// take's last notes after the cycle was planned).
    take_start: i64,
    /// Absolute tick up to which this cycle is planned.
    cursor: i64,
    /// A new take was asked for (`Again`); honoured at the next cycle.
    regenerate_pending: bool,
}

impl LoopState {
    /// What the cycle tells the line it plays in.
    fn frame(&self) -> Frame {
        Frame {
            phrase_end: None,
            cycle_len: self.cycle.is_some().then_some(self.len),
            span: (self.cycle.is_some() && !self.replaying && self.len > 0)
                .then_some((self.start, self.len)),
            first_key: self
                .recording
                .first()
                .or(self.take.as_ref().and_then(|t| t.notes.first()))
                .map(|n| n.key),
        }
    }

    /// The audio thread played `played` for the note planned as `planned` at `beat` (the onset
    /// choice): the recording, or the take it just became, keeps what was played.
    fn amend(&mut self, beat: f64, planned: u8, played: u8) {
        let amend = |notes: &mut [TakeNote], start: i64| {
            let at = |n: &&mut TakeNote| (to_beat(start) + n.onset - beat).abs() < 1e-6;
            if let Some(n) = notes.iter_mut().filter(|n| n.key == planned).find(at) {
                n.key = played;
            }
        };
        if self.cycle.is_some() && !self.replaying {
            amend(&mut self.recording, self.start);
        }
        if let Some(take) = self.take.as_mut() {
            amend(&mut take.notes, self.take_start);
        }
    }

    /// The note `key` at `beat` was vetoed and dropped: the recording, or the take being
    /// replayed or just made, loses it (the kept take keeps the key out of that place).
    fn remove(&mut self, beat: f64, key: u8) {
        let found = |notes: &[TakeNote], start: i64| {
            notes
                .iter()
                .position(|n| n.key == key && (to_beat(start) + n.onset - beat).abs() < 1e-6)
        };
        if self.cycle.is_some() && !self.replaying {
            if let Some(i) = found(&self.recording, self.start) {
                self.recording.remove(i);
            }
        }
        // A note of the cycle that became the take, or of a cycle replaying it.
        let starts = [Some(self.take_start), self.replaying.then_some(self.start)];
        let replaying = self.replaying;
        if let Some(take) = self.take.as_mut() {
            let at = starts.iter().flatten().find_map(|&s| found(&take.notes, s));
            if let Some(i) = at {
                take.notes.remove(i);
                if replaying && i < self.next_note {
                    self.next_note -= 1;
                }
            }
        }
    }
}

impl LoopPlanner {
    /// Loop mode with nothing planned, sharing the project's kept-take store.
    pub(super) fn new(kept_take: Arc<RwLock<Option<KeptTake>>>) -> LoopPlanner {
        LoopPlanner {
            state: LoopState::default(),
            kept_take,
        }
    }

    /// Forgets the cycle, the recording and the switches; keeps the take.
    pub(super) fn forget_all_but_the_take(&mut self) {
        let take = self.state.take.take();
        self.state = LoopState {
            take,
            ..LoopState::default()
        };
    }

    /// `Again`: a new take at the next cycle.
    pub(super) fn regenerate(&mut self) {
        self.state.regenerate_pending = true;
    }

    /// Whether a take is kept (tests).
    #[cfg(test)]
    pub(super) fn has_take(&self) -> bool {
        self.state.take.is_some()
    }
}

impl ModeEvents for LoopPlanner {
    fn line_dropped(&mut self, _cursor: Option<i64>) {
        self.state.cycle = None;
        self.state.recording.clear();
    }

    fn adopt_choice(&mut self, _meter: Meter, beat: f64, planned: u8, played: u8) {
        self.state.amend(beat, planned, played);
    }

    fn drop_note(&mut self, beat: f64, key: u8) {
        self.state.remove(beat, key);
    }
}

impl<M: StepModel> ModePlanner<M> for LoopPlanner {
    /// Loop mode: one note (or bar line) more of the cycle, beginning cycles as they come.
    fn plan(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        time: PlanTime,
        sink: &mut impl PlanSink,
    ) -> Result<bool, ModelError> {
        self.plan_loop(
            cx,
            model,
            settings,
            (time.playhead, time.horizon),
            time.host_loop,
            sink,
        )
    }
}

/// The loop's cycle grid now: `(anchor tick, length in ticks)`, the anchor reduced to
/// `0..length` so that cycle numbers stay the same when the host's loop start moves on by a
/// loop length at each wrap (see the plugin's clock). `host_loop` is the host's loop range
/// (start, length in beats), if it loops.
fn loop_grid(
    clock: &Clock,
    settings: &WorkerSettings,
    host_loop: Option<(f64, f64)>,
) -> (i64, i64) {
    let (anchor, len) = match host_loop {
        Some((start, len)) if len > 0.0 => (to_tick(start), to_tick(len)),
        _ => (
            clock.anchor,
            i64::from(settings.loop_bars.max(1)) * clock.meter.bar_ticks(),
        ),
    };
    (anchor.rem_euclid(len.max(1)), len)
}

impl LoopPlanner {
    /// One step more of Loop mode (see [`ModePlanner::plan`]).
    pub(super) fn plan_loop<M: StepModel>(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        (playhead, horizon): (i64, i64),
        host_loop: Option<(f64, f64)>,
        sink: &mut impl PlanSink,
    ) -> Result<bool, ModelError> {
        let (anchor, len) = loop_grid(&cx.clock, settings, host_loop);
        if len <= 0 {
            return Ok(false);
        }
        let lp = &mut self.state;
        if lp.cycle.is_some() && lp.len != len {
            // The loop changed length: plan again from the playhead.
            lp.cycle = None;
            cx.line.continuation = None;
        }
        if lp.replaying && lp.cursor <= playhead {
            // A replay that fell behind skips what it can no longer play in time.
            lp.cursor = playhead + 1;
        }
        let by_key = settings.steering.key == KeySetting::Auto;
        let cursor = if lp.cycle.is_some() {
            lp.cursor
        } else if cx.key_known(by_key) {
            ceil_to(playhead + 1, START_GRID_TICKS)
        } else {
            // The key is still to be heard: enter at a bar line, listening first (as Continue
            // does). The first plan comes before the notes sounding with the transport's start
            // are heard, so nothing heard yet is no sign of playing alone.
            let bar = cx.clock.meter.bar_ticks();
            cx.entry(
                by_key,
                cx.clock.anchor + ceil_to(playhead + 1 - cx.clock.anchor, bar),
            )
        };
        if cursor >= horizon {
            return Ok(false);
        }
        let cycle = (cursor - anchor).div_euclid(len);
        // A grid that moved (the host's loop range appeared or shifted) can put a cursor whose
        // line just ended back inside the same cycle number: begin it afresh from there.
        let line_ended = lp.cycle == Some(cycle) && !lp.replaying && cx.line.continuation.is_none();
        if lp.cycle != Some(cycle) || line_ended {
            if lp.cycle.is_some() && !lp.replaying && cx.line.continuation.is_some() {
                // The line reached the cycle's end exactly with its last note.
                let end = lp.start + lp.len;
                self.end_cycle(cx, end);
            }
            let start = anchor + cycle * len;
            self.begin_cycle(cx, model, settings, (cycle, start, len), cursor, sink)?;
        }
        let t0 = Instant::now();
        let (start, end) = (self.state.start, self.state.start + len);
        if self.state.replaying {
            return Ok(self.replay(cx, start, end, horizon, t0, sink));
        }
        if settings.hearing.correct && cx.line.continuation.is_some() {
            // The key heard so far changed: this cycle's planned notes it leaves out go, with
            // what follows, and the line is planned again from the first of them.
            if let Some(from) = cx.first_out_of_key(by_key, to_beat(start)) {
                self.replan_from(cx, model, settings, from, sink)?;
            }
        }
        let frame = self.state.frame();
        let Some(step) = cx.step(model, settings, frame, sink)? else {
            return Ok(false);
        };
        match step {
            Step::Note(n) if n.onset >= end => self.end_cycle(cx, end),
            Step::Bar(t) if t >= end => self.end_cycle(cx, end),
            Step::Note(mut n) => {
                n.duration = n.duration.min(end - n.onset);
                note_timer(t0, sink);
                let sent = cx.emit(n, settings, to_beat(start), t0.elapsed(), sink);
                let lp = &mut self.state;
                // The note was cut at the cycle's end: the line's own cursor may lie beyond it,
                // but the next cycle is free from its start.
                lp.cursor = cx
                    .line
                    .continuation
                    .as_ref()
                    .map_or(end, |c| c.cursor().min(end));
                let onset = sent.onset_beat - to_beat(start);
                lp.recording.push(TakeNote {
                    onset,
                    length: sent.length_beats.min(to_beat(len) - onset),
                    key: sent.key,
                    velocity: sent.velocity,
                });
            }
            Step::Bar(t) => self.state.cursor = t,
        }
        Ok(true)
    }

    /// Replays the kept take's next note of the cycle `start..end`, if it is due before
    /// `horizon`. Returns whether it did any work.
    fn replay<M: StepModel>(
        &mut self,
        cx: &mut PlanContext<M>,
        start: i64,
        end: i64,
        horizon: i64,
        t0: Instant,
        sink: &mut impl PlanSink,
    ) -> bool {
        let take = self
            .state
            .take
            .as_ref()
            .map(|t| &t.notes[..])
            .unwrap_or(&[]);
        let next = take
            .iter()
            .enumerate()
            .skip(self.state.next_note)
            .find(|(_, n)| to_tick(n.onset) + start >= self.state.cursor)
            .map(|(i, n)| (i, *n));
        match next {
            None => self.state.cursor = end,
            Some((_, n)) if to_tick(n.onset) + start >= horizon => return false,
            Some((i, n)) => {
                self.state.next_note = i + 1;
                self.state.cursor = to_tick(n.onset) + start + 1;
                let note = GeneratedNote {
                    key: n.key,
                    velocity: n.velocity,
                    onset_beat: to_beat(start) + n.onset,
                    length_beats: n.length,
                    epoch: cx.clock.epoch,
                    // A kept take repeats exactly: no onset choice.
                    alternates: Alternates::default(),
                };
                cx.send(note, t0.elapsed(), sink);
            }
        }
        true
    }

    /// Loop mode: the cycle's line reached its end; a whole recording becomes the take.
    fn end_cycle<M: StepModel>(&mut self, cx: &mut PlanContext<M>, end: i64) {
        cx.line.continuation = None;
        let lp = &mut self.state;
        lp.cursor = end;
        if lp.whole {
            let take = KeptTake {
                cycle_beats: to_beat(lp.len),
                model: cx.model_name.clone(),
                notes: std::mem::take(&mut lp.recording),
            };
            if take.validate().is_ok() {
                lp.take = Some(take);
                lp.take_start = lp.start;
            }
        }
        lp.whole = false;
    }

    /// Loop mode: decides how cycle `cycle` (from tick `start`, `len` ticks long) is played, from
    /// `cursor`.
    fn begin_cycle<M: StepModel>(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        (cycle, start, len): (i64, i64, i64),
        cursor: i64,
        sink: &mut impl PlanSink,
    ) -> Result<(), ModelError> {
        let fits = |t: &KeptTake| (to_tick(t.cycle_beats) - len).abs() == 0;
        if settings.keep && self.state.take.as_ref().is_none_or(|t| !fits(t)) {
            // A project loaded with a kept take: adopt it when it fits this loop.
            if let Some(t) = self.kept_take.read().as_ref().filter(|t| fits(t)) {
                self.state.take = Some(t.clone());
            }
        }
        let lp = &mut self.state;
        lp.cycle = Some(cycle);
        lp.start = start;
        lp.len = len;
        lp.cursor = cursor;
        lp.next_note = 0;
        lp.recording.clear();
        let kept = lp.take.as_ref().filter(|t| fits(t));
        lp.replaying = settings.keep && kept.is_some() && !lp.regenerate_pending;
        if lp.replaying {
            if let Some(take) = kept {
                sink.kept_take_beats(take.cycle_beats);
                let mut store = self.kept_take.write();
                if store.as_ref() != Some(take) {
                    *store = Some(take.clone());
                }
            }
            cx.line.continuation = None;
            return Ok(());
        }
        if !settings.keep {
            // Nothing is kept: the project no longer stores a take.
            sink.kept_take_beats(0.0);
            let mut store = self.kept_take.write();
            if store.is_some() {
                *store = None;
            }
        }
        lp.regenerate_pending = false;
        // A phrase that began within the cycle's first beat counts as the cycle's (the worker
        // may start a little after the transport does).
        lp.whole = cursor - start < TICKS_PER_BEAT;
        self.start_cycle_line(cx, model, settings, cursor, sink)
    }

    /// Loop mode: starts the cycle's line at `cursor`. It hears the previous take (placed in the
    /// previous cycle) and what this cycle recorded before `cursor`.
    fn start_cycle_line<M: StepModel>(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        cursor: i64,
        sink: &mut impl PlanSink,
    ) -> Result<(), ModelError> {
        let lp = &self.state;
        let (start, len) = (lp.start, lp.len);
        let previous = lp.take.iter().flat_map(|t| &t.notes).map(|n| TickNote {
            onset: start - len + to_tick(n.onset),
            duration: to_tick(n.length).max(1),
            key: n.key,
        });
        let recorded = lp.recording.iter().map(|n| TickNote {
            onset: start + to_tick(n.onset),
            duration: to_tick(n.length).max(1),
            key: n.key,
        });
        let own: Vec<TickNote> = previous.chain(recorded).collect();
        // A two-voice model hears the player (and the previous cycle's material, from the track
        // memory) beside its own previous take; a v1 model gets one merged line.
        let history = if model.contract().two_voice() {
            own
        } else {
            merge_monophonic(&cx.player.phrase, &own)
        };
        // A cycle of two bars or more is a phrase that ends where the cycle does.
        let phrase_end = (len >= 2 * cx.clock.meter.bar_ticks()).then_some(start + len);
        let frame = Frame {
            phrase_end,
            ..self.state.frame()
        };
        cx.start_line(model, settings, &history, cursor, frame, sink)
    }

    /// Loop mode: withdraws the cycle's notes from `from` (beats) on and plans the line again
    /// from there. The recording keeps what came before, so a whole cycle still becomes the take.
    fn replan_from<M: StepModel>(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        from: f64,
        sink: &mut impl PlanSink,
    ) -> Result<(), ModelError> {
        cx.withdraw_from(from, sink);
        let lp = &mut self.state;
        let onset = from - to_beat(lp.start);
        lp.recording.retain(|n| n.onset < onset - 1e-9);
        let tick = to_tick(from);
        lp.cursor = tick;
        self.start_cycle_line(cx, model, settings, tick, sink)
    }
}

#[cfg(test)]
mod tests;
