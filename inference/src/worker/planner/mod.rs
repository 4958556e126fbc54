//! The mode planners: what Descant plays next, as plain synchronous code. The worker thread hands
//! every event it reads to [`Planner::hear`] and asks [`Planner::plan`] for one more note at a
//! time; a unit test does the same with a fake model and hand-made events. Runs on the inference
//! worker (or in tests); allocates.
//!
//! Guarantees: no decision here reads the wall clock or a shared atomic: time comes in as the
//! playhead and the horizon (ticks), the controls as [`WorkerSettings`], and everything the
//! planner decides goes out through a [`PlanSink`]. (The wall clock is read only to measure the
//! cost of planning, which the sink passes on to the look-ahead.) Notes it sends never overlap:
//! Descant's line is monophonic, also when a stretch is planned twice.
//!
//! The [`Planner`] holds the shared [`context`] (the clock, what was heard, the line, what was
//! sent) and one planner per mode, each in its own file with its own state: [`answer`] (call and
//! response, its candidates in `answer/candidate.rs`), [`along`] (Continue), [`looping`] (Loop). It asks
//! the active mode's planner for each step. [`line`] has what the modes share (starting a line,
//! stepping it, giving a note its feel, telling a two-voice model what it hears); [`memory`]
//! keeps what was heard by where it sounded.

mod along;
mod answer;
mod context;
#[cfg(test)]
pub(crate) mod fake;
mod line;
mod looping;
mod memory;
mod veto;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use crate::error::ModelError;
pub use crate::events::Action;
use crate::events::{ContextEvent, GeneratedNote};
use crate::files::kept_phrase::KeptPhrase;
use crate::files::take::{KeptTake, PlayMode};
use crate::model::step::StepModel;
use crate::model::tokenizer::TickNote;
use crate::model::Model;
use crate::music::critic::Scores;
use crate::music::key::Key;
use crate::music::originality::NgramIndex;
use crate::music::taste::TasteStore;
use crate::music::time::Meter;

use super::config::WorkerSettings;
use along::AlongPlanner;
use answer::AnswerPlanner;
pub use answer::MATCH_CAP_BARS;
use context::PlanContext;
use looping::LoopPlanner;
use veto::MAX_VETOES;
pub use veto::{Veto, VetoOutcome};

/// Grid an answer starts on: a sixteenth note, in ticks.
pub const START_GRID_TICKS: i64 = 3;
/// Player notes (and, in Continue mode, Descant's own) kept as context.
const MAX_PHRASE_NOTES: usize = 256;
/// Notes sent that a correction may still withdraw.
const MAX_SENT: usize = 64;

/// When a plan is made: the playhead, how far ahead to plan and the host's loop range. Given by
/// the worker thread from the audio thread's latest block; made by hand in tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanTime {
    /// Tick at the start of the audio thread's latest block.
    pub playhead: i64,
    /// Plan notes that start before this tick (the playhead plus the look-ahead).
    pub horizon: i64,
    /// The host's loop range on Descant's timeline, `(start, length)` in beats, if it loops.
    pub host_loop: Option<(f64, f64)>,
}

/// Where the planner's decisions go. The worker thread's sink sends notes to the audio thread and
/// figures to the GUI; a test's sink records them.
pub trait PlanSink {
    /// A note to play (never overlapping the previous one), with the time spent planning it.
    fn note(&mut self, note: GeneratedNote, work: Duration);
    /// The notes of `epoch` sent before, starting at or after `from_beat`, are withdrawn (a
    /// last-moment correction re-plans them).
    fn retract_from(&mut self, from_beat: f64, epoch: u32);
    /// A line started; `cost` is how long starting it took (prefilling the model).
    fn line_started(&mut self, cost: Duration);
    /// Per-token model time of the latest note, in microseconds.
    fn token_micros(&mut self, micros: u32);
    /// The key the scale lock and Mood use now, if any.
    fn key_in_use(&mut self, key: Option<Key>);
    /// Notes the originality guard resampled since the previous call.
    fn originality_interventions(&mut self, added: u64);
    /// The kept take's cycle length in beats (0: none kept).
    fn kept_take_beats(&mut self, beats: f64);
    /// Answer mode chose an answer among `candidates`: the winner's scores.
    fn answer_chosen(&mut self, scores: Scores, candidates: u32);
    /// A veto was carried out (or came too late).
    fn vetoed(&mut self, outcome: VetoOutcome);
}

/// One mode's planner: its own state, and one step of planning in the shared context. The
/// [`Planner`] asks the active mode's planner for each step.
trait ModePlanner<M: StepModel>: ModeEvents {
    /// Plans at most one more note (or bar line) at `time`; returns whether it did any work.
    fn plan(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        time: PlanTime,
        sink: &mut impl PlanSink,
    ) -> Result<bool, ModelError>;
}

/// The events a mode's planner hears whichever mode plays: the [`Planner`] tells every mode's
/// planner, so each keeps its memory while another mode plays (a kept loop take waits for Loop
/// mode) and forgets it when the history goes.
trait ModeEvents {
    /// The line was dropped (it had reached `cursor`, if there was one).
    fn line_dropped(&mut self, _cursor: Option<i64>) {}

    /// A new plan epoch: everything sent before was dropped by the audio thread.
    fn new_epoch(&mut self) {}

    /// The player finished a note.
    fn player_note_finished(&mut self) {}

    /// What was heard was forgotten (a stop, a jump, a reset).
    fn forget(&mut self) {}

    /// The audio thread played `played` for the note planned as `planned` at `beat` (the onset
    /// choice).
    fn adopt_choice(&mut self, _meter: Meter, _beat: f64, _planned: u8, _played: u8) {}

    /// The note `key` at `beat` was vetoed and dropped: it will not play.
    fn drop_note(&mut self, _beat: f64, _key: u8) {}
}

/// The action switches as last seen (a flip is one action; the first look only takes note).
#[derive(Debug, Default)]
struct Switches {
    /// `Again` (the `regen` parameter).
    again: Option<bool>,
    /// `Keep`.
    keep: Option<bool>,
    /// `Answer now`.
    answer_now: Option<bool>,
}

/// Whether `now` flips the switch last seen in `seen` (and remembers it).
fn flipped(seen: &mut Option<bool>, now: bool) -> bool {
    seen.replace(now) == Some(!now)
}

/// Everything the worker decides with: the shared context and each mode's planner. Touched by
/// the worker thread only (the kept-take and taste stores are shared with the plugin's state).
pub struct Planner<M: StepModel = Model> {
    /// What every mode plans with: the clock, what was heard, the line, what was sent.
    cx: PlanContext<M>,
    /// The mode planned in last (a change drops the line).
    mode: PlayMode,
    /// Answer mode.
    answer: AnswerPlanner<M>,
    /// Continue mode.
    along: AlongPlanner,
    /// Loop mode.
    looping: LoopPlanner,
    /// The action switches as last seen.
    switches: Switches,
    /// Actions asked and not yet carried out (they need the playhead; kept while time runs).
    asked: Vec<Action>,
    /// Vetoes not yet carried out (they need the playhead and the sink).
    vetoes: Vec<Veto>,
    /// The phrase the musician kept, for the worker to save as a take.
    kept: Option<KeptPhrase>,
    /// Continue's `Keep` saves this many bars: the `Phrase length` (4 when Off), as last read.
    keep_bars: u32,
}

impl<M: StepModel> Planner<M> {
    /// A planner with nothing heard, sharing the persisted kept take `kept_take` and the
    /// session's `taste`.
    pub fn new(
        kept_take: Arc<RwLock<Option<KeptTake>>>,
        taste: Arc<RwLock<TasteStore>>,
    ) -> Planner<M> {
        Planner {
            cx: PlanContext::new(),
            mode: PlayMode::Answer,
            answer: AnswerPlanner::new(taste),
            along: AlongPlanner::default(),
            looping: LoopPlanner::new(kept_take),
            switches: Switches::default(),
            asked: Vec::with_capacity(4),
            vetoes: Vec::with_capacity(MAX_VETOES),
            kept: None,
            keep_bars: 4,
        }
    }

    /// The phrase the musician kept since the last call, to save as a take (worker thread).
    pub fn take_kept(&mut self) -> Option<KeptPhrase> {
        self.kept.take()
    }

    /// The musician vetoed a planned note in the roll; carried out at the next plan.
    pub fn veto(&mut self, veto: Veto) {
        if self.vetoes.len() < MAX_VETOES {
            self.vetoes.push(veto);
        }
    }

    /// The musician asks `action` of the take (see [`Action`]). `Keep` is taken at once; the
    /// others when time runs, in the mode playing then.
    pub fn act(&mut self, action: Action) {
        match action {
            Action::Keep => match self.mode {
                PlayMode::Answer => {
                    self.kept = self.answer.keep(&self.cx.clock).or(self.kept.take())
                }
                PlayMode::Continue => {
                    self.kept = self
                        .along
                        .kept(&self.cx, self.keep_bars)
                        .or(self.kept.take());
                }
                PlayMode::Loop => {}
            },
            Action::Again if self.mode == PlayMode::Loop => self.looping.regenerate(),
            _ => {
                if !self.asked.contains(&action) {
                    self.asked.push(action);
                }
            }
        }
    }

    /// A new model is in use: its line is dropped, its control size and originality index taken.
    pub fn use_model(&mut self, model: &M, ngrams: Option<NgramIndex>) {
        self.drop_line();
        self.cx.line.control = vec![0.0; model.contract().control.size];
        self.cx.model_name = model.contract().name.clone();
        self.cx.ngrams = ngrams;
    }

    /// The model is gone: forget its line and its index.
    pub fn drop_model(&mut self) {
        self.drop_line();
        self.cx.ngrams = None;
    }

    /// Whether an originality index is in use.
    pub fn has_originality_index(&self) -> bool {
        self.cx.ngrams.is_some()
    }

    /// After an internal error: forget everything heard and planned, keep the loop take.
    pub fn recover(&mut self) {
        self.forget_history();
        self.cx.forget_key();
        self.looping.forget_all_but_the_take();
    }

    /// Takes in one event from the audio thread.
    pub fn hear(&mut self, event: ContextEvent) {
        if event.epoch() != self.cx.clock.epoch {
            // The audio thread dropped every plan of the old epoch: start afresh.
            self.drop_line();
            self.cx.new_epoch(event.epoch());
            self.each(|p| p.new_epoch());
        }
        match event {
            ContextEvent::PlayerNoteOn { .. }
            | ContextEvent::PlayerNoteOff { .. }
            | ContextEvent::ChordNoteOn { .. }
            | ContextEvent::ChordNoteOff { .. } => {
                if self.cx.hear_note(event) {
                    self.each(|p| p.player_note_finished());
                }
            }
            ContextEvent::Transport {
                playing,
                jumped,
                bar_start_beat,
                numerator,
                denominator,
                ..
            } => {
                let meter = Meter::nearest(i32::from(numerator), i32::from(denominator));
                if meter != self.cx.clock.meter {
                    // The line goes on from its next bar line in the new meter.
                    self.drop_line();
                }
                self.cx.clock.meter = meter;
                self.cx.clock.anchor = to_tick(bar_start_beat);
                if jumped || !playing {
                    // What was heard stays in the track memory: a new pass over the same bars.
                    self.cx.player.memory.new_pass();
                    self.forget_history();
                }
            }
            ContextEvent::Chose {
                beat,
                planned,
                played,
                ..
            } => {
                self.cx.adopt_choice(beat, planned, played);
                let meter = self.cx.clock.meter;
                self.each(|p| p.adopt_choice(meter, beat, planned, played));
            }
            ContextEvent::Act { action, .. } => self.act(action),
            ContextEvent::Reset { .. } => {
                self.cx.player.memory.clear();
                self.forget_history();
                self.cx.forget_key();
            }
        }
    }

    /// Takes in the live settings before a plan; returns whether to plan at all (Descant is
    /// enabled and time runs). A mode change drops the line; a flip of `Again`, `Keep` (outside
    /// Loop mode, where it is a switch) or `Answer now` is that [`Action`]. Actions that need
    /// time are forgotten while it stands still.
    pub fn ready(&mut self, settings: &WorkerSettings, playing: bool) -> bool {
        if settings.mode != self.mode {
            self.mode = settings.mode;
            self.drop_line();
            self.asked.clear();
        }
        self.keep_bars = match settings.phrase_bars {
            0 => 4,
            n => n,
        };
        if flipped(&mut self.switches.again, settings.again) {
            self.act(Action::Again);
        }
        if flipped(&mut self.switches.keep, settings.keep) && self.mode != PlayMode::Loop {
            self.act(Action::Keep);
        }
        if flipped(&mut self.switches.answer_now, settings.answer_now) {
            self.act(Action::AnswerNow);
        }
        if !settings.enabled || !playing {
            self.drop_line();
            self.asked.clear();
            return false;
        }
        true
    }

    /// Carries out the actions asked, at `playhead`.
    fn carry_out(&mut self, settings: &WorkerSettings, playhead: i64, sink: &mut impl PlanSink) {
        for action in std::mem::take(&mut self.asked) {
            match (action, self.mode) {
                (Action::Again, PlayMode::Answer) => {
                    self.answer.again(&mut self.cx, settings, playhead, sink);
                }
                (Action::Again, PlayMode::Continue) => {
                    self.along.again(&mut self.cx, playhead, sink);
                }
                (Action::AnswerNow, PlayMode::Answer) => {
                    self.answer
                        .answer_now(&mut self.cx, settings, playhead, sink);
                }
                _ => {}
            }
        }
    }

    /// Plans at most one more note (or bar line) of the mode in `settings` at `time`. Returns
    /// whether it did any work. Call [`Planner::ready`] first.
    pub fn plan(
        &mut self,
        model: &mut M,
        settings: &WorkerSettings,
        time: PlanTime,
        sink: &mut impl PlanSink,
    ) -> Result<bool, ModelError> {
        self.cx.clock.now = time.playhead;
        if !self.asked.is_empty() {
            self.carry_out(settings, time.playhead, sink);
        }
        for veto in std::mem::take(&mut self.vetoes) {
            let outcome = self.carry_out_veto(veto, time.playhead, sink);
            sink.vetoed(outcome);
        }
        if settings.mode != PlayMode::Continue {
            self.cx.player.arrived.clear();
        }
        let cx = &mut self.cx;
        match settings.mode {
            PlayMode::Answer => self.answer.plan(cx, model, settings, time, sink),
            PlayMode::Continue => self.along.plan(cx, model, settings, time, sink),
            PlayMode::Loop => self.looping.plan(cx, model, settings, time, sink),
        }
    }

    /// Loop mode's step alone, with the playhead and horizon given and the clock left as it is
    /// (the loop tests walk the playhead themselves).
    #[cfg(test)]
    fn plan_loop(
        &mut self,
        model: &mut M,
        settings: &WorkerSettings,
        (playhead, horizon): (i64, i64),
        host_loop: Option<(f64, f64)>,
        sink: &mut impl PlanSink,
    ) -> Result<bool, ModelError> {
        let cx = &mut self.cx;
        self.looping
            .plan_loop(cx, model, settings, (playhead, horizon), host_loop, sink)
    }

    /// Tells each mode's planner of an event.
    fn each(&mut self, mut tell: impl FnMut(&mut dyn ModeEvents)) {
        tell(&mut self.answer);
        tell(&mut self.along);
        tell(&mut self.looping);
    }

    /// Forgets what was heard where it sounded (keys, phrase) and the line; the key heard stays.
    fn forget_history(&mut self) {
        self.cx.forget_heard();
        self.each(|p| p.forget());
        self.drop_line();
    }

    /// Drops the line being played (its planned notes stay valid unless the epoch changed).
    pub fn drop_line(&mut self) {
        let cursor = self.cx.drop_line();
        self.each(|p| p.line_dropped(cursor));
    }
}

use crate::music::time::ceil_to_grid as ceil_to;
pub(crate) use crate::music::time::{beats_to_ticks as to_tick, ticks_to_beats as to_beat};

/// Appends `note`, dropping the oldest note when `notes` is full.
fn push_bounded(notes: &mut Vec<TickNote>, note: TickNote) {
    if notes.len() == MAX_PHRASE_NOTES {
        notes.remove(0);
    }
    notes.push(note);
}
