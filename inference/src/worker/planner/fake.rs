//! Test-only: a deterministic fake step model and a rig that drives a [`Planner`] with hand-made
//! events, so every mode is tested without a thread, ONNX Runtime or the wall clock.
//!
//! The fake speaks the shipped model's contract (vocabulary, control size, context), or the v1
//! fixture's (Descant 0.2's single-line model) with [`FakeModel::v1`]. It logs every token fed. Its logits
//! depend on the position and the previous token through a fixed hash, with a lean towards
//! sixteenth-grid onsets, short notes and the middle of the keyboard, so lines look like lines and
//! a different history gives a different line.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use crate::error::ModelError;
use crate::events::{ContextEvent, GeneratedNote};
use crate::files::take::KeptTake;
use crate::model::contract::ModelContract;
use crate::model::step::{StepModel, StepState};
use crate::model::tokenizer::{kind, TokenKind, TICKS_PER_BEAT};
use crate::music::critic::Scores;
use crate::music::key::Key;
use crate::music::taste::TasteStore;

use super::super::config::WorkerSettings;
use super::{PlanSink, Planner, VetoOutcome};

/// The fake model: the shipped contract and a count of the steps it ran.
pub(crate) struct FakeModel {
    /// The shipped model's sidecar, parsed.
    contract: ModelContract,
    /// Tokens fed so far, over all states (a test can see that prefills happened).
    pub(crate) steps: u64,
    /// Every token fed, in order, over all states.
    pub(crate) fed: Vec<u32>,
}

/// The fake's state: the position, the previous token and the logits.
#[derive(Debug, Clone)]
pub(crate) struct FakeState {
    /// Tokens fed so far.
    position: usize,
    /// Logits for the next token.
    logits: Vec<f32>,
}

impl StepState for FakeState {
    fn position(&self) -> usize {
        self.position
    }

    fn logits(&self) -> &[f32] {
        &self.logits
    }
}

impl FakeModel {
    pub(crate) fn new() -> FakeModel {
        FakeModel::with_sidecar(crate::NON_COMMERCIAL_SIDECAR)
    }

    /// The fake with the contract of Descant 0.2's single-line model (contract v1).
    pub(crate) fn v1() -> FakeModel {
        FakeModel::with_sidecar(include_str!(
            "../../../../tests/fixtures/descant-melody-v2.json"
        ))
    }

    fn with_sidecar(json: &str) -> FakeModel {
        let contract = ModelContract::parse(json).expect("a valid sidecar");
        FakeModel {
            contract,
            steps: 0,
            fed: Vec::new(),
        }
    }
}

/// A fixed hash of three numbers into 0..1.
fn hash01(a: u64, b: u64, c: u64) -> f32 {
    let mut z = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(c.wrapping_mul(0x94D0_49BB_1331_11EB));
    z ^= z >> 31;
    z = z.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^= z >> 29;
    (z >> 40) as f32 / (1u64 << 24) as f32
}

impl StepModel for FakeModel {
    type State = FakeState;

    fn contract(&self) -> &ModelContract {
        &self.contract
    }

    fn fork_state(&self, state: &FakeState) -> Result<FakeState, ModelError> {
        Ok(state.clone())
    }

    fn new_state(&self) -> FakeState {
        FakeState {
            position: 0,
            logits: Vec::new(),
        }
    }

    fn step<'s>(
        &mut self,
        state: &'s mut FakeState,
        token: u32,
        _control: &[f32],
    ) -> Result<&'s [f32], ModelError> {
        let c = &self.contract;
        if state.position >= c.max_context {
            return Err(ModelError::Contract("context full".into()));
        }
        if token as usize >= c.vocab_size {
            return Err(ModelError::Contract(format!("token {token} out of range")));
        }
        self.steps += 1;
        self.fed.push(token);
        state.position += 1;
        state.logits.clear();
        state.logits.extend((0..c.vocab_size as u32).map(|t| {
            let lean = match kind(t) {
                TokenKind::Pos(p) if p % 3 == 0 => 2.0,
                TokenKind::Pitch(k) if (55..=79).contains(&k) => 2.0,
                TokenKind::Dur(d) if [3, 6, 12].contains(&d) => 3.0,
                _ => 0.0,
            };
            lean + 2.0 * hash01(state.position as u64, u64::from(token), u64::from(t))
        }));
        Ok(&state.logits)
    }
}

/// A sink that records what the planner decided.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    /// The notes sent, in order.
    pub(crate) notes: Vec<GeneratedNote>,
    /// Lines started.
    pub(crate) lines_started: usize,
    /// The latest key reported in use.
    pub(crate) key: Option<Key>,
    /// The latest kept-take length reported.
    pub(crate) kept_take_beats: Option<f64>,
    /// Retractions received, `(from beat, epoch)`.
    pub(crate) retractions: Vec<(f64, u32)>,
    /// Answers chosen: the winner's scores and the candidates written.
    pub(crate) answers: Vec<(Scores, u32)>,
    /// Vetoes carried out.
    pub(crate) vetoes: Vec<VetoOutcome>,
}

impl PlanSink for Recorder {
    fn note(&mut self, note: GeneratedNote, _work: Duration) {
        self.notes.push(note);
    }

    fn retract_from(&mut self, from_beat: f64, epoch: u32) {
        // As the audio thread does: the withdrawn notes are not played.
        self.notes
            .retain(|n| n.epoch != epoch || n.onset_beat < from_beat - 1e-9);
        self.retractions.push((from_beat, epoch));
    }

    fn line_started(&mut self, _cost: Duration) {
        self.lines_started += 1;
    }

    fn token_micros(&mut self, _micros: u32) {}

    fn key_in_use(&mut self, key: Option<Key>) {
        self.key = key;
    }

    fn originality_interventions(&mut self, _added: u64) {}

    fn kept_take_beats(&mut self, beats: f64) {
        self.kept_take_beats = Some(beats);
    }

    fn answer_chosen(&mut self, scores: Scores, candidates: u32) {
        self.answers.push((scores, candidates));
    }

    fn vetoed(&mut self, outcome: VetoOutcome) {
        self.vetoes.push(outcome);
    }
}

impl Recorder {
    /// Fails when two recorded notes overlap.
    pub(crate) fn assert_monophonic(&self) {
        for w in self.notes.windows(2) {
            assert!(
                w[1].onset_beat >= w[0].onset_beat + w[0].length_beats - 1e-9,
                "overlapping notes: {:?} then {:?}",
                w[0],
                w[1]
            );
        }
    }
}

/// A planner on the fake model, with its kept-take store.
pub(crate) struct Rig {
    pub(crate) model: FakeModel,
    pub(crate) planner: Planner<FakeModel>,
    pub(crate) kept_take: Arc<RwLock<Option<KeptTake>>>,
    /// The session's taste the planner learns into.
    pub(crate) taste: Arc<RwLock<TasteStore>>,
}

impl Rig {
    pub(crate) fn new() -> Rig {
        Rig::with_model(FakeModel::new())
    }

    /// A rig on a given fake (e.g. [`FakeModel::v1`]).
    pub(crate) fn with_model(model: FakeModel) -> Rig {
        let kept_take = Arc::new(RwLock::new(None));
        let taste = Arc::new(RwLock::new(TasteStore::default()));
        let mut planner = Planner::new(kept_take.clone(), taste.clone());
        planner.use_model(&model, None);
        Rig {
            model,
            planner,
            kept_take,
            taste,
        }
    }

    /// One planning turn with time running, as the worker does it.
    pub(crate) fn plan(
        &mut self,
        settings: &WorkerSettings,
        playhead: i64,
        horizon: i64,
        out: &mut Recorder,
    ) -> bool {
        if !self.planner.ready(settings, true) {
            return false;
        }
        let time = super::PlanTime {
            playhead,
            horizon,
            host_loop: None,
        };
        self.planner
            .plan(&mut self.model, settings, time, out)
            .expect("the fake model never fails")
    }
}

/// Plans until the planner has nothing more to do for this playhead and horizon.
pub(crate) fn plan_until(
    rig: &mut Rig,
    settings: &WorkerSettings,
    playhead: i64,
    horizon: i64,
    out: &mut Recorder,
) {
    for _ in 0..10_000 {
        if !rig.plan(settings, playhead, horizon, out) {
            return;
        }
    }
    panic!("the planner never went idle");
}

/// Beats to ticks.
pub(crate) fn beats(b: f64) -> i64 {
    (b * TICKS_PER_BEAT as f64).round() as i64
}

/// A player note-on at `beat` in `epoch`.
pub(crate) fn note_on(key: u8, beat: f64, epoch: u32) -> ContextEvent {
    ContextEvent::PlayerNoteOn {
        key,
        velocity: 0.8,
        beat,
        epoch,
    }
}

/// A player note-off at `beat` in `epoch`.
pub(crate) fn note_off(key: u8, beat: f64, epoch: u32) -> ContextEvent {
    ContextEvent::PlayerNoteOff { key, beat, epoch }
}

/// The transport in 4/4 (or `meter`), playing, bar lines on beat 0.
pub(crate) fn transport(meter: (u8, u8), jumped: bool, epoch: u32) -> ContextEvent {
    ContextEvent::Transport {
        playing: true,
        jumped,
        beat: 0.0,
        bar_start_beat: 0.0,
        numerator: meter.0,
        denominator: meter.1,
        epoch,
    }
}
