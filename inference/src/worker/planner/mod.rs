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
//! One file per mode: [`answer`] (call and response, its candidates in [`candidate`]), [`along`]
//! (Continue), [`looping`] (Loop);
//! [`line`] has what they share (starting a line, stepping it, giving a note its feel, telling a
//! two-voice model what it hears); [`memory`] keeps what was heard by where it sounded.

mod along;
mod answer;
mod candidate;
#[cfg(test)]
mod fake;
mod line;
mod looping;
mod memory;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use crate::critic::Scores;
use crate::error::ModelError;
use crate::events::{ContextEvent, GeneratedNote};
use crate::generator::{Approach, Continuation};
use crate::key::{self, Key};
use crate::model::Model;
use crate::originality::NgramIndex;
use crate::step::StepModel;
use crate::take::{KeptTake, PlayMode};
use crate::time::Meter;
use crate::tokenizer::TickNote;

use super::config::WorkerSettings;
use along::AlongState;
use answer::AnswerState;
pub use answer::MATCH_CAP_BARS;
use looping::LoopState;
use memory::TrackMemory;

/// Grid an answer starts on: a sixteenth note, in ticks.
pub const START_GRID_TICKS: i64 = 3;
/// Player notes (and, in Continue mode, Descant's own) kept as context.
const MAX_PHRASE_NOTES: usize = 256;
/// Player notes the automatic key looks at: as many as Answer mode's automatic home
/// ([`key::HOME_NOTES`]), so the two follow a change of key as soon.
const KEY_NOTES: usize = key::HOME_NOTES;
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
}

/// Everything the worker decides with: what it heard, the line it plays and each mode's memory.
/// Touched by the worker thread only (the kept-take store is shared with the plugin's state).
pub struct Planner<M: StepModel = Model> {
    /// Latest plan epoch seen from the audio thread; notes are sent with it.
    epoch: u32,
    /// Player keys held down: onset tick per key.
    held: [Option<i64>; 128],
    /// Keys held on the chord channel: onset tick per key.
    chord_held: [Option<i64>; 128],
    /// The key detected from the player's phrase (updated on every note-off).
    detected_key: Option<Key>,
    /// The player's recent notes (absolute ticks), oldest first.
    phrase: Vec<TickNote>,
    /// Continue mode: Descant's own recent notes (absolute ticks), context beside the player's.
    own: Vec<TickNote>,
    /// Tick of the player's latest note-off.
    last_off_tick: i64,
    /// Everything heard (player and chord channel), by where it sounded: survives loop wraps.
    memory: TrackMemory,
    /// What a two-voice model is told it hears: rebuilt before every step (reused buffer).
    heard: Vec<TickNote>,
    /// The playhead of the plan being made.
    now: i64,
    /// Where the current line's phrase ends (an answer's end, a loop cycle's), if known.
    phrase_end: Option<i64>,
    /// The approach to the cadence of the answer candidate being written, if any (set and
    /// cleared around each candidate; see [`crate::generator::Approach`]).
    approach: Option<Approach>,
    /// Meter of the host's bars.
    meter: Meter,
    /// Absolute tick of a bar line.
    anchor: i64,
    /// The control vector, rebuilt from the steering before every note (model's control size).
    control: Vec<f32>,
    /// The model's originality index, if it has one.
    ngrams: Option<NgramIndex>,
    /// The loaded model's name (recorded in a kept take).
    model_name: String,
    /// The line being played, if any.
    continuation: Option<Continuation<M>>,
    /// The mode planned in last (a change drops the line).
    mode: PlayMode,
    /// Which of an answer's candidates the next line is (mixed into its seed; 0 otherwise).
    candidate: u64,
    /// Answer mode: the prefilled line every candidate of the answer being chosen forks from.
    answer_base: Option<Continuation<M>>,
    /// Humanize's random numbers; reseeded with every line, so a seed gives the same feel.
    feel_rng: fastrand::Rng,
    /// End in beats of the latest note sent (nothing starts before it; humanize never moves a
    /// note onto it).
    last_end_beat: f64,
    /// The latest notes sent, oldest first (what a last-moment correction may withdraw).
    sent: Vec<GeneratedNote>,
    /// Player notes that began since the last plan, `(onset tick, key)`: checked against the
    /// notes already sent (Continue mode's last-moment correction).
    arrived: Vec<(i64, u8)>,
    /// Answer mode's memory.
    answer: AnswerState,
    /// Continue mode's memory.
    along: AlongState,
    /// Loop mode's memory.
    looping: LoopState,
    /// The kept loop take, shared with the plugin's persisted state: written when a take is kept,
    /// adopted (after a project loads) when the planner has none of its own.
    kept_take: Arc<RwLock<Option<KeptTake>>>,
}

impl<M: StepModel> Planner<M> {
    /// A planner with nothing heard, sharing the persisted kept take `kept_take`.
    pub fn new(kept_take: Arc<RwLock<Option<KeptTake>>>) -> Planner<M> {
        Planner {
            epoch: 0,
            held: [None; 128],
            chord_held: [None; 128],
            detected_key: None,
            phrase: Vec::with_capacity(MAX_PHRASE_NOTES),
            own: Vec::with_capacity(MAX_PHRASE_NOTES),
            last_off_tick: 0,
            memory: TrackMemory::default(),
            heard: Vec::with_capacity(MAX_PHRASE_NOTES),
            now: 0,
            phrase_end: None,
            approach: None,
            meter: Meter::FOUR_FOUR,
            anchor: 0,
            control: Vec::new(),
            ngrams: None,
            model_name: String::new(),
            continuation: None,
            mode: PlayMode::Answer,
            candidate: 0,
            answer_base: None,
            feel_rng: fastrand::Rng::with_seed(0),
            last_end_beat: f64::MIN,
            sent: Vec::with_capacity(MAX_SENT),
            arrived: Vec::with_capacity(16),
            answer: AnswerState::default(),
            along: AlongState::default(),
            looping: LoopState::default(),
            kept_take,
        }
    }

    /// A new model is in use: its line is dropped, its control size and originality index taken.
    pub fn use_model(&mut self, model: &M, ngrams: Option<NgramIndex>) {
        self.drop_line();
        self.control = vec![0.0; model.contract().control.size];
        self.model_name = model.contract().name.clone();
        self.ngrams = ngrams;
    }

    /// The model is gone: forget its line and its index.
    pub fn drop_model(&mut self) {
        self.drop_line();
        self.ngrams = None;
    }

    /// Whether an originality index is in use.
    pub fn has_originality_index(&self) -> bool {
        self.ngrams.is_some()
    }

    /// After an internal error: forget everything heard and planned, keep the loop take.
    pub fn recover(&mut self) {
        self.forget_history();
        self.looping.forget_all_but_the_take();
    }

    /// Takes in one event from the audio thread.
    pub fn hear(&mut self, event: ContextEvent) {
        if event.epoch() != self.epoch {
            // The audio thread dropped every plan of the old epoch: start afresh.
            self.epoch = event.epoch();
            self.drop_line();
            self.along.resume_from = i64::MIN;
            self.last_end_beat = f64::MIN;
            self.sent.clear();
        }
        match event {
            ContextEvent::PlayerNoteOn { key, beat, .. } => {
                self.held[usize::from(key & 127)] = Some(to_tick(beat));
                if self.arrived.len() < self.arrived.capacity() {
                    self.arrived.push((to_tick(beat), key & 127));
                }
            }
            ContextEvent::PlayerNoteOff { key, beat, .. } => {
                let off = to_tick(beat);
                if let Some(onset) = self.held[usize::from(key & 127)].take() {
                    let note = TickNote {
                        onset,
                        duration: (off - onset).max(1),
                        key,
                    };
                    push_bounded(&mut self.phrase, note);
                    self.memory.record(note);
                    self.last_off_tick = off;
                    self.answer.pending = true;
                    self.along.refresh = true;
                    let from = self.phrase.len().saturating_sub(KEY_NOTES);
                    self.detected_key = key::detect(&self.phrase[from..]).or(self.detected_key);
                }
            }
            ContextEvent::ChordNoteOn { key, beat, .. } => {
                self.chord_held[usize::from(key & 127)] = Some(to_tick(beat));
            }
            ContextEvent::ChordNoteOff { key, beat, .. } => {
                if let Some(onset) = self.chord_held[usize::from(key & 127)].take() {
                    self.memory.record(TickNote {
                        onset,
                        duration: (to_tick(beat) - onset).max(1),
                        key,
                    });
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
                if meter != self.meter {
                    // The line goes on from its next bar line in the new meter.
                    self.drop_line();
                }
                self.meter = meter;
                self.anchor = to_tick(bar_start_beat);
                if jumped || !playing {
                    // What was heard stays in the track memory: a new pass over the same bars.
                    self.memory.new_pass();
                    self.forget_history();
                }
            }
            ContextEvent::Chose {
                beat,
                planned,
                played,
                ..
            } => self.adopt_choice(beat, planned, played),
            ContextEvent::Reset { .. } => {
                self.memory.clear();
                self.forget_history();
            }
        }
    }

    /// Takes in the live settings before a plan; returns whether to plan at all (Descant is
    /// enabled and time runs). A mode change drops the line; a flip of `Regenerate` asks for a
    /// new loop take.
    pub fn ready(&mut self, settings: &WorkerSettings, playing: bool) -> bool {
        if settings.mode != self.mode {
            self.mode = settings.mode;
            self.drop_line();
        }
        let regenerate = settings.regenerate;
        if self.looping.regenerate_seen.replace(regenerate) == Some(!regenerate) {
            self.looping.regenerate_pending = true;
        }
        if !settings.enabled || !playing {
            self.drop_line();
            return false;
        }
        true
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
        let PlanTime {
            playhead, horizon, ..
        } = time;
        self.now = playhead;
        if settings.mode != PlayMode::Continue {
            self.arrived.clear();
        }
        match settings.mode {
            PlayMode::Answer => self.plan_answer(model, settings, playhead, horizon, sink),
            PlayMode::Continue => self.plan_along(model, settings, playhead, horizon, sink),
            PlayMode::Loop => {
                self.plan_loop(model, settings, (playhead, horizon), time.host_loop, sink)
            }
        }
    }

    /// Forgets what was heard (keys, phrase, key) and the line.
    fn forget_history(&mut self) {
        self.held = [None; 128];
        self.chord_held = [None; 128];
        self.phrase.clear();
        self.own.clear();
        self.detected_key = None;
        self.arrived.clear();
        self.drop_line();
        self.answer.pending = false;
    }

    /// Drops the line being played (its planned notes stay valid unless the epoch changed).
    pub fn drop_line(&mut self) {
        if let Some(c) = &self.continuation {
            self.along.resume_from = c.cursor();
        }
        self.continuation = None;
        self.approach = None;
        self.answer.drop_answer();
        self.answer_base = None;
        self.looping.cycle = None;
        self.looping.recording.clear();
    }
}

use crate::time::ceil_to_grid as ceil_to;
pub(crate) use crate::time::{beats_to_ticks as to_tick, ticks_to_beats as to_beat};

/// Appends `note`, dropping the oldest note when `notes` is full.
fn push_bounded(notes: &mut Vec<TickNote>, note: TickNote) {
    if notes.len() == MAX_PHRASE_NOTES {
        notes.remove(0);
    }
    notes.push(note);
}
