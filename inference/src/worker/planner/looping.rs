//! Loop mode: over the host's loop range (or `Loop length` bars) Descant plays a phrase per cycle;
//! with `Keep` on the latest whole take repeats note for note; a flip of `Regenerate` replaces it
//! at the next cycle. Worker thread (or tests); allocates.
//!
//! Guarantees: cycle numbers stay the same when the host's loop start moves on by a loop length
//! at each wrap; a grid that moves under a cycle whose line just ended begins that cycle afresh
//! (it never stops the model); a replayed take is the kept one, note for note; only a cycle
//! recorded from its start becomes the take.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;

use crate::error::ModelError;
use crate::events::GeneratedNote;
use crate::onset::Alternates;
use crate::step::StepModel;
use crate::take::{KeptTake, TakeNote};
use crate::time::Meter;
use crate::tokenizer::{TickNote, TICKS_PER_BEAT};

use super::super::config::WorkerSettings;
use super::context::{Clock, PlanContext};
use super::line::{merge_monophonic, note_timer, LoopView, Step};
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
    /// The `Regenerate` switch as last seen (any change asks for a new take).
    regenerate_seen: Option<bool>,
    /// A new take was asked for; honoured at the next cycle.
    regenerate_pending: bool,
}

impl LoopState {
    /// What the cycle tells the line it plays in.
    fn view(&self) -> LoopView {
        LoopView {
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

    /// The `Regenerate` switch as the settings have it now: a flip asks for a new take.
    pub(super) fn saw_regenerate(&mut self, regenerate: bool) {
        if self.state.regenerate_seen.replace(regenerate) == Some(!regenerate) {
            self.state.regenerate_pending = true;
        }
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
        let cursor = if lp.cycle.is_some() {
            lp.cursor
        } else {
            ceil_to(playhead + 1, START_GRID_TICKS)
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
        let view = self.state.view();
        let Some(step) = cx.step(model, settings, view, sink)? else {
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
        // The new phrase hears the player and the previous take (placed in the previous cycle).
        let previous: Vec<TickNote> = lp
            .take
            .iter()
            .flat_map(|t| &t.notes)
            .map(|n| TickNote {
                onset: start - len + to_tick(n.onset),
                duration: to_tick(n.length).max(1),
                key: n.key,
            })
            .collect();
        // A two-voice model hears the player (and the previous cycle's material, from the track
        // memory) beside its own previous take; a v1 model gets one merged line.
        let history = if model.contract().two_voice() {
            previous
        } else {
            merge_monophonic(&cx.player.phrase, &previous)
        };
        // A cycle of two bars or more is a phrase that ends where the cycle does.
        let phrase_end = (len >= 2 * cx.clock.meter.bar_ticks()).then_some(start + len);
        let view = self.state.view();
        cx.start_line(model, settings, &history, phrase_end, cursor, view, sink)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::{beats, transport, Recorder, Rig};
    use super::to_tick;
    use crate::events::{ContextEvent, GeneratedNote};
    use crate::take::PlayMode;

    fn loop_settings(keep: bool) -> super::WorkerSettings {
        super::WorkerSettings {
            mode: PlayMode::Loop,
            loop_bars: 1,
            keep,
            ..Default::default()
        }
    }

    /// Plans the loop with the host's loop range `host_loop` while the playhead walks from
    /// `from` to `to` beats in quarter-beat steps, 2 beats ahead.
    fn walk(
        rig: &mut Rig,
        settings: &super::WorkerSettings,
        host_loop: Option<(f64, f64)>,
        (from, to): (f64, f64),
        out: &mut Recorder,
    ) {
        let mut beat = from;
        while beat < to {
            assert!(rig.planner.ready(settings, true));
            for _ in 0..1000 {
                let busy = rig
                    .planner
                    .plan_loop(
                        &mut rig.model,
                        settings,
                        (beats(beat), beats(beat + 2.0)),
                        host_loop,
                        out,
                    )
                    .expect("a loop planner never stops the model");
                if !busy {
                    break;
                }
            }
            beat += 0.25;
        }
    }

    /// The notes of the cycle `start..start + len` (beats): key, onset in the cycle and length,
    /// both in ticks (a replay adds the cycle's start to each onset in floating point).
    fn in_cycle(notes: &[GeneratedNote], start: f64, len: f64) -> Vec<(u8, i64, i64)> {
        notes
            .iter()
            .filter(|n| n.onset_beat >= start - 1e-9 && n.onset_beat < start + len - 1e-9)
            .map(|n| {
                (
                    n.key,
                    to_tick(n.onset_beat - start),
                    to_tick(n.length_beats),
                )
            })
            .collect()
    }

    #[test]
    fn a_kept_take_repeats_note_for_note_and_is_stored_for_the_project() {
        let mut rig = Rig::new();
        rig.planner.hear(transport((4, 4), true, 0));
        let mut out = Recorder::default();
        // Cycle 0 is generated and recorded whole; Keep is switched on during it. (Its last note
        // is held over the cycle end by the fake model and cut there: the replay must still start
        // at cycle 1's start. Before the planner was unit-tested it started where the cut note
        // would have ended, and cycle 1 lost its notes.)
        walk(&mut rig, &loop_settings(false), None, (0.0, 1.0), &mut out);
        walk(&mut rig, &loop_settings(true), None, (1.0, 12.0), &mut out);
        let first = in_cycle(&out.notes, 0.0, 4.0);
        assert!(!first.is_empty());
        assert_eq!(in_cycle(&out.notes, 4.0, 4.0), first);
        assert_eq!(in_cycle(&out.notes, 8.0, 4.0), first);
        let stored = rig.kept_take.read().clone().expect("the take is stored");
        assert_eq!(stored.cycle_beats, 4.0);
        assert_eq!(stored.notes.len(), first.len());
        assert_eq!(out.kept_take_beats, Some(4.0));
    }

    #[test]
    fn a_key_chosen_at_the_onset_is_what_the_kept_take_repeats() {
        let mut rig = Rig::new();
        rig.planner.hear(transport((4, 4), true, 0));
        let mut out = Recorder::default();
        let chose = |n: &GeneratedNote| ContextEvent::Chose {
            beat: n.onset_beat,
            planned: n.key,
            played: n.key + 2,
            epoch: 0,
        };
        // One choice while cycle 0 is still recorded, one after it became the take.
        walk(&mut rig, &loop_settings(false), None, (0.0, 1.0), &mut out);
        let early = out.notes[0];
        rig.planner.hear(chose(&early));
        walk(&mut rig, &loop_settings(true), None, (1.0, 3.75), &mut out);
        let late = *out.notes.iter().rfind(|n| n.onset_beat < 4.0).unwrap();
        assert!(late.onset_beat > early.onset_beat, "{late:?}");
        assert!(rig.planner.looping.has_take(), "cycle 0 became the take");
        rig.planner.hear(chose(&late));
        walk(&mut rig, &loop_settings(true), None, (3.75, 12.0), &mut out);
        // (Cycle 1's start was replayed before the late choice was heard; cycle 2 is all after.)
        let replay = in_cycle(&out.notes, 8.0, 4.0);
        let mut first = in_cycle(&out.notes, 0.0, 4.0);
        for n in first.iter_mut() {
            if n.1 == to_tick(early.onset_beat) || n.1 == to_tick(late.onset_beat) {
                n.0 += 2;
            }
        }
        assert_eq!(replay, first, "the take repeats the keys played");
    }

    #[test]
    fn each_take_ends_with_a_breath_on_a_note_that_leads_back_by_step_into_its_first() {
        for (loop_bars, seed) in [(1, 1), (2, 2), (2, 3), (4, 4)] {
            let mut rig = Rig::new();
            rig.planner.hear(transport((4, 4), true, 0));
            // Nothing heard (the fake model's expectation of a player is noise): a step that
            // would clash with what sounds gives way to a cadence, see `Close::keys_over`.
            let settings = super::WorkerSettings {
                loop_bars,
                seed,
                hearing: super::super::super::config::Hearing {
                    expect: false,
                    ..Default::default()
                },
                ..loop_settings(false)
            };
            let mut out = Recorder::default();
            let len = 4.0 * f64::from(loop_bars);
            walk(&mut rig, &settings, None, (0.0, 4.0 * len), &mut out);
            for cycle in 0..3 {
                let notes = in_cycle(&out.notes, cycle as f64 * len, len);
                let (Some(first), Some(last)) = (notes.first(), notes.last()) else {
                    panic!("{loop_bars} bars, cycle {cycle}: the loop plays");
                };
                let end = to_tick(len);
                assert!(
                    crate::phrasing::breathes(crate::time::Meter::FOUR_FOUR, last.1, last.2, end),
                    "{loop_bars} bars, cycle {cycle}: {notes:?}"
                );
                let step = first.0.abs_diff(last.0);
                assert!(
                    notes.len() == 1 || (1..=2).contains(&step),
                    "{loop_bars} bars, cycle {cycle}: {notes:?} does not lead back by step"
                );
            }
        }
    }

    #[test]
    fn regenerate_replaces_the_kept_take_at_the_next_cycle() {
        let mut rig = Rig::new();
        rig.planner.hear(transport((4, 4), true, 0));
        let mut out = Recorder::default();
        let keep = loop_settings(true);
        walk(&mut rig, &keep, None, (0.0, 6.0), &mut out);
        let flipped = super::WorkerSettings {
            regenerate: true,
            ..keep
        };
        walk(&mut rig, &flipped, None, (6.0, 16.0), &mut out);
        let take = in_cycle(&out.notes, 0.0, 4.0);
        assert_eq!(in_cycle(&out.notes, 4.0, 4.0), take);
        let new = in_cycle(&out.notes, 8.0, 4.0);
        assert_ne!(new, take, "cycle 2 is a new take");
        assert_eq!(
            in_cycle(&out.notes, 12.0, 4.0),
            new,
            "and the new take is kept"
        );
    }

    #[test]
    fn a_loop_grid_that_moves_under_a_finished_cycle_begins_it_afresh() {
        // Found by the 10,000-session run: the host's loop range appears just as a cycle's line
        // has ended, so the cursor is still in "the same" cycle on the new grid, with no line.
        let mut rig = Rig::new();
        rig.planner.hear(transport((4, 4), true, 0));
        let settings = super::WorkerSettings {
            loop_bars: 2,
            ..loop_settings(false)
        };
        let mut out = Recorder::default();
        // The first cycle (8 beats) planned to its end: the last horizon is beat 8.
        walk(&mut rig, &settings, None, (0.0, 6.25), &mut out);
        // Now the host loops beats 2-10: same length, the grid 2 beats later.
        walk(
            &mut rig,
            &settings,
            Some((2.0, 8.0)),
            (6.25, 16.0),
            &mut out,
        );
        assert!(
            out.notes.iter().any(|n| n.onset_beat >= 8.0),
            "Descant fell silent on the new grid: {:?}",
            out.notes
        );
        out.assert_monophonic();
    }

    #[test]
    fn a_loop_that_changes_length_never_plans_a_stretch_twice() {
        let mut rig = Rig::new();
        rig.planner.hear(transport((4, 4), true, 0));
        let mut out = Recorder::default();
        walk(&mut rig, &loop_settings(false), None, (0.0, 1.0), &mut out);
        // Two bars instead of one while the first cycle's notes are planned 2 beats ahead: the
        // loop is planned again from the playhead over notes already sent.
        let longer = super::WorkerSettings {
            loop_bars: 2,
            ..loop_settings(false)
        };
        walk(&mut rig, &longer, None, (1.0, 12.0), &mut out);
        assert!(out.lines_started >= 2);
        out.assert_monophonic();
    }
}
