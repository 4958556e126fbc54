//! The inference worker thread: owns the ONNX Runtime session, listens to what the player does
//! and plans Descant's answer ahead of the playhead. Runs on its own thread; allocates freely.
//! The audio thread talks to it only through the two SPSC queues and the atomics in
//! [`WorkerShared`]; the GUI reads [`WorkerShared::status`].
//!
//! Guarantees: the worker never waits on the audio thread (a full note queue drops the note and
//! counts it); it sleeps with exponential backoff when idle (no busy spin); [`InferenceWorker::stop`]
//! wakes and joins it, and dropping an [`InferenceWorker`] does the same. A model that fails to load
//! leaves the worker draining its queue and the status showing the reason.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::ModelError;
use crate::events::{AtomicF64, ContextEvent, GeneratedNote};
use crate::generator::{Continuation, Generated, Guide};
use crate::key::{self, Key, PitchClassSet};
use crate::model::Model;
use crate::originality::NgramIndex;
use crate::runtime;
use crate::sampler::SamplingSettings;
use crate::steering::{self, KeySetting, Steering};
use crate::tokenizer::{Meter, TickNote, TICKS_PER_BEAT};

/// How far ahead of the playhead the worker plans, in beats.
pub const LOOKAHEAD_BEATS: f64 = 2.0;
/// Grid an answer starts on: a sixteenth note, in ticks.
pub const START_GRID_TICKS: i64 = 3;
/// Shortest idle sleep.
const MIN_BACKOFF: Duration = Duration::from_micros(500);
/// Longest idle sleep (bounds how late the worker notices a new phrase).
const MAX_BACKOFF: Duration = Duration::from_millis(8);
/// Player notes kept as context.
const MAX_PHRASE_NOTES: usize = 256;
/// Player notes the automatic density looks at.
const DENSITY_NOTES: usize = 16;
/// Player notes the automatic key looks at.
const KEY_NOTES: usize = 64;

/// The model's state as the GUI shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelStatus {
    /// The worker is loading the runtime and the model.
    Loading,
    /// The model is loaded and playing.
    Ready {
        /// The model's name from its sidecar.
        name: String,
        /// False for the random-weight placeholder.
        trained: bool,
        /// How long loading took (runtime + session), in milliseconds.
        load_ms: u32,
    },
    /// Loading or running failed; MIDI still passes through.
    Error(String),
}

/// State shared by the audio thread (atomics only), the worker and the GUI.
#[derive(Debug)]
pub struct WorkerShared {
    /// Beat position at the start of the latest audio block. Written by audio, read by worker.
    pub playhead_beat: AtomicF64,
    /// Whether time runs (host playing or free run). Written by audio, read by worker.
    pub playing: AtomicBool,
    /// Notes that arrived too late to play, dropped. Written by audio, read by GUI and tests.
    pub late_notes: AtomicU64,
    /// Notes the worker generated. Written by worker, read by GUI.
    pub generated_notes: AtomicU64,
    /// Notes dropped because the note queue was full. Written by worker, read by GUI.
    pub queue_full_drops: AtomicU64,
    /// Notes the originality guard resampled (they would have copied a training melody).
    /// Written by worker, read by GUI.
    pub originality_interventions: AtomicU64,
    /// Whether the model has an originality index (false: the guard cannot act). Written by
    /// worker, read by GUI.
    pub originality_available: AtomicBool,
    /// Median-ish recent per-token step time in microseconds. Written by worker, read by GUI.
    pub step_micros: AtomicU32,
    /// The key in use for the scale lock: 0 none, else 1 + its index in parameter order
    /// ([`Key::from_index`]). Written by worker, read by GUI.
    pub key_in_use: AtomicU32,
    /// Model status. Written by the worker, read by the GUI; never touched by the audio thread.
    pub status: Mutex<ModelStatus>,
    /// Cleared to ask the worker to exit. Written by the main thread, read by the worker.
    running: AtomicBool,
}

impl Default for WorkerShared {
    fn default() -> Self {
        WorkerShared {
            playhead_beat: AtomicF64::new(0.0),
            playing: AtomicBool::new(false),
            late_notes: AtomicU64::new(0),
            generated_notes: AtomicU64::new(0),
            queue_full_drops: AtomicU64::new(0),
            originality_interventions: AtomicU64::new(0),
            originality_available: AtomicBool::new(false),
            step_micros: AtomicU32::new(0),
            key_in_use: AtomicU32::new(0),
            status: Mutex::new(ModelStatus::Loading),
            running: AtomicBool::new(true),
        }
    }
}

/// Live settings the worker reads before planning each note.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerSettings {
    /// Whether Descant plays at all.
    pub enabled: bool,
    /// Temperature and top-p.
    pub sampling: SamplingSettings,
    /// Beats of silence after the player's phrase before Descant answers.
    pub answer_after_beats: f64,
    /// Style, density, register, mood, key and the other controls.
    pub steering: Steering,
    /// Seed of the take: the n-th answer since the transport started uses `seed` and `n`, so the
    /// same seed and the same playing give the same notes.
    pub seed: u64,
}

/// Where the model comes from.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// Bytes compiled into the plugin.
    Embedded {
        /// The `.onnx` bytes.
        onnx: &'static [u8],
        /// The sidecar JSON.
        sidecar: &'static str,
        /// The originality index, if the model has one.
        ngrams: Option<&'static [u8]>,
    },
    /// A `.onnx` file with its `.json` sidecar beside it (and optionally its `.ngrams` index).
    File(PathBuf),
}

/// How to start a worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The ONNX Runtime library to load.
    pub ort_library: PathBuf,
    /// The model to load.
    pub model: ModelSource,
}

/// A reader of the live settings, called on the worker thread.
pub type SettingsFn = Box<dyn Fn() -> WorkerSettings + Send>;

/// Handle to a running worker thread. Owned by the plugin on the main thread.
pub struct InferenceWorker {
    /// The thread; `None` once joined.
    thread: Option<JoinHandle<()>>,
    /// Shared with the thread (to ask it to stop).
    shared: Arc<WorkerShared>,
}

impl InferenceWorker {
    /// Starts the worker thread. It loads the runtime and model first, off the caller's thread.
    pub fn spawn(
        config: WorkerConfig,
        settings: SettingsFn,
        events: rtrb::Consumer<ContextEvent>,
        notes: rtrb::Producer<GeneratedNote>,
        shared: Arc<WorkerShared>,
    ) -> std::io::Result<InferenceWorker> {
        shared.running.store(true, Ordering::Release);
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("descant-inference".into())
            .spawn(move || {
                let mut w = Worker::new(config, settings, events, notes, thread_shared);
                w.run();
            })?;
        Ok(InferenceWorker {
            thread: Some(thread),
            shared,
        })
    }

    /// Asks the worker to exit and joins it. Called on the main thread (deactivate), never on the
    /// audio thread.
    pub fn stop(&mut self) {
        self.shared.running.store(false, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for InferenceWorker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Loads the runtime and the model described by `config`.
pub fn load_model(config: &WorkerConfig) -> Result<Model, ModelError> {
    runtime::ensure_runtime(&config.ort_library)?;
    match &config.model {
        ModelSource::Embedded { onnx, sidecar, .. } => Model::from_bytes(onnx, sidecar),
        ModelSource::File(path) => Model::from_file(path),
    }
}

/// Largest originality index file read from disk.
const MAX_NGRAMS_FILE: u64 = 64 * 1024 * 1024;

/// Loads the model's originality index: `None` when it has none, an error when it is broken.
pub fn load_ngrams(source: &ModelSource) -> Result<Option<NgramIndex>, ModelError> {
    match source {
        ModelSource::Embedded { ngrams, .. } => ngrams.map(NgramIndex::from_bytes).transpose(),
        ModelSource::File(path) => {
            let path = path.with_extension("ngrams");
            match std::fs::metadata(&path) {
                Err(_) => Ok(None),
                Ok(m) if m.len() > MAX_NGRAMS_FILE => Err(ModelError::Contract(format!(
                    "originality index {} is larger than {MAX_NGRAMS_FILE} bytes",
                    path.display()
                ))),
                Ok(_) => {
                    let bytes = std::fs::read(&path).map_err(|e| {
                        ModelError::Contract(format!("cannot read {}: {e}", path.display()))
                    })?;
                    NgramIndex::from_bytes(&bytes).map(Some)
                }
            }
        }
    }
}

/// The thread's own state.
struct Worker {
    config: WorkerConfig,
    settings: SettingsFn,
    events: rtrb::Consumer<ContextEvent>,
    notes: rtrb::Producer<GeneratedNote>,
    shared: Arc<WorkerShared>,
    model: Option<Model>,
    /// Latest plan epoch seen from the audio thread.
    epoch: u32,
    /// Player keys held down: onset tick per key.
    held: [Option<i64>; 128],
    /// Keys held on the chord channel.
    chord_held: [bool; 128],
    /// The key detected from the player's phrase (updated on every note-off).
    detected_key: Option<Key>,
    /// The control vector, rebuilt from the steering before every note (model's control size).
    control: Vec<f32>,
    /// The model's originality index, if it has one.
    ngrams: Option<NgramIndex>,
    /// The player's recent notes (absolute ticks).
    phrase: Vec<TickNote>,
    /// Tick of the player's latest note-off.
    last_off_tick: i64,
    /// Meter of the host's bars.
    meter: Meter,
    /// Absolute tick of a bar line.
    anchor: i64,
    /// The answer being played, if any.
    continuation: Option<Continuation>,
    /// Answers started since the transport started (varies the seed within a take).
    answers: u64,
}

fn to_tick(beat: f64) -> i64 {
    (beat * TICKS_PER_BEAT as f64).round() as i64
}

fn ceil_to(tick: i64, grid: i64) -> i64 {
    tick.div_euclid(grid) * grid + if tick.rem_euclid(grid) > 0 { grid } else { 0 }
}

impl Worker {
    fn new(
        config: WorkerConfig,
        settings: SettingsFn,
        events: rtrb::Consumer<ContextEvent>,
        notes: rtrb::Producer<GeneratedNote>,
        shared: Arc<WorkerShared>,
    ) -> Worker {
        Worker {
            config,
            settings,
            events,
            notes,
            shared,
            model: None,
            epoch: 0,
            held: [None; 128],
            chord_held: [false; 128],
            detected_key: None,
            control: Vec::new(),
            ngrams: None,
            phrase: Vec::with_capacity(MAX_PHRASE_NOTES),
            last_off_tick: 0,
            meter: Meter::FOUR_FOUR,
            anchor: 0,
            continuation: None,
            answers: 0,
        }
    }

    fn run(&mut self) {
        let started = Instant::now();
        match load_model(&self.config) {
            Ok(model) => {
                let c = model.contract();
                *self.shared.status.lock() = ModelStatus::Ready {
                    name: c.name.clone(),
                    trained: c.trained,
                    load_ms: started.elapsed().as_millis() as u32,
                };
                eprintln!(
                    "descant: model '{}' ready in {} ms",
                    c.name,
                    started.elapsed().as_millis()
                );
                self.control = vec![0.0; c.control.size];
                self.model = Some(model);
                match load_ngrams(&self.config.model) {
                    Ok(ngrams) => self.ngrams = ngrams,
                    Err(e) => eprintln!("descant: originality guard unavailable: {e}"),
                }
                self.shared
                    .originality_available
                    .store(self.ngrams.is_some(), Ordering::Relaxed);
            }
            Err(e) => {
                eprintln!("descant: model not loaded, passing MIDI through: {e}");
                *self.shared.status.lock() = ModelStatus::Error(e.to_string());
            }
        }
        let mut backoff = MIN_BACKOFF;
        while self.shared.running.load(Ordering::Acquire) {
            let mut busy = self.drain_events();
            busy |= self.plan();
            if busy {
                backoff = MIN_BACKOFF;
            } else {
                std::thread::park_timeout(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    fn forget_history(&mut self) {
        self.held = [None; 128];
        self.chord_held = [false; 128];
        self.phrase.clear();
        self.detected_key = None;
        self.continuation = None;
        self.answers = 0;
    }

    fn drain_events(&mut self) -> bool {
        let mut any = false;
        while let Ok(ev) = self.events.pop() {
            any = true;
            if ev.epoch() != self.epoch {
                self.epoch = ev.epoch();
                self.continuation = None;
            }
            match ev {
                ContextEvent::PlayerNoteOn { key, beat, .. } => {
                    self.held[usize::from(key & 127)] = Some(to_tick(beat));
                }
                ContextEvent::PlayerNoteOff { key, beat, .. } => {
                    let off = to_tick(beat);
                    if let Some(onset) = self.held[usize::from(key & 127)].take() {
                        if self.phrase.len() == MAX_PHRASE_NOTES {
                            self.phrase.remove(0);
                        }
                        self.phrase.push(TickNote {
                            onset,
                            duration: (off - onset).max(1),
                            key,
                        });
                        self.last_off_tick = off;
                        let from = self.phrase.len().saturating_sub(KEY_NOTES);
                        self.detected_key = key::detect(&self.phrase[from..]).or(self.detected_key);
                    }
                }
                ContextEvent::ChordNoteOn { key, .. } => {
                    self.chord_held[usize::from(key & 127)] = true
                }
                ContextEvent::ChordNoteOff { key, .. } => {
                    self.chord_held[usize::from(key & 127)] = false
                }
                ContextEvent::Transport {
                    playing,
                    jumped,
                    bar_start_beat,
                    numerator,
                    denominator,
                    ..
                } => {
                    self.meter = Meter::nearest(i32::from(numerator), i32::from(denominator));
                    self.anchor = to_tick(bar_start_beat);
                    if jumped || !playing {
                        self.forget_history();
                    }
                }
                ContextEvent::Reset { .. } => self.forget_history(),
            }
        }
        any
    }

    /// Plans at most one more note. Returns whether it did any work.
    fn plan(&mut self) -> bool {
        match self.try_plan() {
            Ok(busy) => busy,
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    fn try_plan(&mut self) -> Result<bool, ModelError> {
        let Some(model) = self.model.as_mut() else {
            return Ok(false);
        };
        let settings = (self.settings)();
        if !settings.enabled || !self.shared.playing.load(Ordering::Relaxed) {
            self.continuation = None;
            return Ok(false);
        }
        let playhead = to_tick(self.shared.playhead_beat.load());
        if self.continuation.is_none() {
            if self.phrase.is_empty() || self.held.iter().any(Option::is_some) {
                return Ok(false);
            }
            let wait = to_tick(settings.answer_after_beats.max(0.0));
            let start = ceil_to(self.last_off_tick + wait, START_GRID_TICKS)
                .max(ceil_to(playhead + 1, START_GRID_TICKS));
            let seed = take_seed(settings.seed, self.answers);
            self.answers += 1;
            steering::control_vector(
                model.contract(),
                &settings.steering,
                player_density(&self.phrase),
                &mut self.control,
            );
            self.continuation = Some(Continuation::start(
                model,
                &self.phrase,
                self.meter,
                self.anchor,
                start,
                seed,
                &self.control,
            )?);
        }
        let Some(cont) = self.continuation.as_mut() else {
            return Ok(false);
        };
        if cont.cursor() >= playhead + to_tick(LOOKAHEAD_BEATS) {
            return Ok(false);
        }
        let t0 = Instant::now();
        steering::control_vector(
            model.contract(),
            &settings.steering,
            player_density(&self.phrase),
            &mut self.control,
        );
        let key = match settings.steering.key {
            KeySetting::Fixed(k) => Some(k),
            KeySetting::Auto => self.detected_key,
        };
        self.shared
            .key_in_use
            .store(key.map_or(0, |k| 1 + k.index() as u32), Ordering::Relaxed);
        let chord = self
            .chord_held
            .iter()
            .enumerate()
            .filter(|(_, &down)| down)
            .fold(0u16, |set, (k, _)| set | 1 << (k % 12));
        let guide = Guide {
            steering: settings.steering,
            control: &self.control,
            key,
            chord: PitchClassSet(chord),
            originality: self
                .ngrams
                .as_ref()
                .filter(|_| settings.steering.originality_guard),
        };
        let interventions = cont.interventions();
        let generated = cont.next(model, settings.sampling, &guide)?;
        self.shared
            .originality_interventions
            .fetch_add(cont.interventions() - interventions, Ordering::Relaxed);
        if let Generated::Note(n) = generated {
            let per_token = t0.elapsed().as_micros() as u32 / 3;
            self.shared.step_micros.store(per_token, Ordering::Relaxed);
            let note = GeneratedNote {
                key: n.key,
                velocity: accent(n.onset - cont.anchor(), cont.meter()),
                onset_beat: n.onset as f64 / TICKS_PER_BEAT as f64,
                length_beats: n.duration as f64 / TICKS_PER_BEAT as f64,
                epoch: self.epoch,
            };
            if self.notes.push(note).is_ok() {
                self.shared.generated_notes.fetch_add(1, Ordering::Relaxed);
            } else {
                self.shared.queue_full_drops.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(true)
    }

    fn fail(&mut self, e: ModelError) {
        eprintln!("descant: model stopped: {e}");
        self.continuation = None;
        *self.shared.status.lock() = ModelStatus::Error(e.to_string());
        self.model = None;
    }
}

/// The seed of the `answer`-th answer of a take seeded with `seed` (a SplitMix64 step, so nearby
/// seeds give unrelated takes).
fn take_seed(seed: u64, answer: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(answer.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Notes per beat of the player's latest notes, if there are enough to tell.
fn player_density(phrase: &[TickNote]) -> Option<f32> {
    let recent = &phrase[phrase.len().saturating_sub(DENSITY_NOTES)..];
    let (first, last) = (recent.first()?, recent.last()?);
    let span = (last.onset + last.duration - first.onset) as f32 / TICKS_PER_BEAT as f32;
    (recent.len() >= 4 && span > 0.0).then(|| recent.len() as f32 / span.max(1.0))
}

/// A simple metric accent: strongest on the bar line, then on beats, then off-beats.
fn accent(ticks_from_anchor: i64, meter: Meter) -> f32 {
    let in_bar = ticks_from_anchor.rem_euclid(meter.bar_ticks());
    let beat_ticks = TICKS_PER_BEAT * 4 / i64::from(meter.denominator);
    if in_bar == 0 {
        0.85
    } else if in_bar % beat_ticks == 0 {
        0.72
    } else {
        0.62
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_to_rounds_up_to_the_grid() {
        assert_eq!(ceil_to(0, 3), 0);
        assert_eq!(ceil_to(1, 3), 3);
        assert_eq!(ceil_to(3, 3), 3);
        assert_eq!(ceil_to(-1, 3), 0);
    }

    #[test]
    fn accents_follow_the_meter() {
        let m = Meter::FOUR_FOUR;
        assert!(accent(0, m) > accent(12, m));
        assert!(accent(12, m) > accent(3, m));
        assert_eq!(accent(48, m), accent(0, m));
    }
}
