//! The inference worker thread: owns the ONNX Runtime session, listens to what the player does
//! and plans Descant's answer ahead of the playhead. Runs on its own thread; allocates freely.
//! The audio thread talks to it only through the two SPSC queues and the atomics in
//! [`WorkerShared`]; the GUI reads [`WorkerShared::status`].
//!
//! Guarantees: the worker never waits on the audio thread (a full note queue drops the note and
//! counts it); it sleeps with exponential backoff when idle (no busy spin); [`InferenceWorker::stop`]
//! wakes and joins it, and dropping an [`InferenceWorker`] does the same. A model that fails to load
//! leaves the worker draining its queue and the status showing the reason; it loads again when
//! [`WorkerShared::request_reload`] is called, or by itself once the runtime or model files it
//! failed on change on disk. A panic inside the worker is caught: the worker forgets its line,
//! reloads the model and goes on; after [`MAX_PANICS`] panics within [`PANIC_WINDOW`] it stays in
//! pass-through until a reload is asked for.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::error::ModelError;
use crate::events::{AtomicF64, ContextEvent, GeneratedNote};
use crate::feel;
use crate::generator::{Continuation, Generated, Guide};
use crate::key::{self, Key, PitchClassSet};
use crate::lookahead::Lookahead;
use crate::model::Model;
use crate::originality::NgramIndex;
use crate::runtime;
use crate::sampler::SamplingSettings;
use crate::steering::{self, KeySetting, Steering};
use crate::take::{KeptTake, PlayMode, TakeNote};
use crate::tokenizer::{Meter, TickNote, TICKS_PER_BEAT};

/// How far ahead of the playhead the worker plans when rendering offline, in beats (live, the
/// look-ahead adapts; see [`crate::lookahead`]).
pub const OFFLINE_LOOKAHEAD_BEATS: f64 = 2.0;
/// Planned notes the GUI can see at once.
const PLAN_VIEW_NOTES: usize = 128;
/// Grid an answer starts on: a sixteenth note, in ticks.
pub const START_GRID_TICKS: i64 = 3;
/// Shortest idle sleep.
const MIN_BACKOFF: Duration = Duration::from_micros(500);
/// Longest idle sleep (bounds how late the worker notices a new phrase).
const MAX_BACKOFF: Duration = Duration::from_millis(8);
/// Player notes (and, in Continue mode, Descant's own) kept as context.
const MAX_PHRASE_NOTES: usize = 256;
/// Player notes the automatic density looks at.
const DENSITY_NOTES: usize = 16;
/// Player notes the automatic key looks at.
const KEY_NOTES: usize = 64;
/// Panics within [`PANIC_WINDOW`] after which the worker stops restarting itself.
pub const MAX_PANICS: usize = 3;
/// The window [`MAX_PANICS`] counts in.
pub const PANIC_WINDOW: Duration = Duration::from_secs(60);
/// How often a worker whose model failed to load looks whether its files changed.
const RETRY_INTERVAL: Duration = Duration::from_millis(500);
/// Debug builds only: the environment variable that injects a fault into the worker, for the
/// fault tests (`panic-once`, `panic-always`). Release builds do not read it.
#[cfg(debug_assertions)]
pub const FAULT_ENV: &str = "DESCANT_FAULT";

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
    /// Tempo of the latest block in BPM (converts the look-ahead to beats). Written by audio,
    /// read by worker.
    pub tempo: AtomicF64,
    /// Start of the host's loop range on Descant's timeline (see the plugin's clock), in beats.
    /// Written by audio, read by worker.
    pub loop_start_beat: AtomicF64,
    /// Length of the host's loop range in beats; 0 when the host is not looping. Written by audio,
    /// read by worker.
    pub loop_len_beats: AtomicF64,
    /// Start of the bar the latest block starts in, in beats. Written by audio, read by GUI.
    pub bar_start_beat: AtomicF64,
    /// Length of a bar in beats. Written by audio, read by GUI.
    pub bar_beats: AtomicF64,
    /// The look-ahead in use, in beats. Written by worker, read by GUI.
    pub lookahead_beats: AtomicF64,
    /// Whether the host renders offline: the audio thread then waits for the worker (see
    /// `sync_request`) and the look-ahead is fixed, so a render is the same on any machine.
    /// Written by the plugin on activation, read by audio and worker.
    pub offline: AtomicBool,
    /// Offline only: the audio thread's latest block number; the worker answers in `sync_done`
    /// once it has read every event sent before it and has nothing left to plan. Written by
    /// audio, read by worker.
    pub sync_request: AtomicU64,
    /// Offline only: the latest `sync_request` the worker has caught up with. Written by worker,
    /// read by audio.
    pub sync_done: AtomicU64,
    /// The audio thread's plan epoch (the GUI hides planned notes of older epochs). Written by
    /// audio, read by GUI.
    pub epoch: AtomicU32,
    /// The cycle length of the kept loop take in beats, 0 when none (for the GUI). Written by
    /// worker, read by GUI.
    pub kept_take_beats: AtomicF64,
    /// Model status. Written by the worker, read by the GUI; never touched by the audio thread.
    pub status: Mutex<ModelStatus>,
    /// Descant's latest planned notes, oldest first, for the editor's piano roll. Written by the
    /// worker, read by the GUI; never touched by the audio thread.
    pub planned: Mutex<VecDeque<GeneratedNote>>,
    /// Bumped to ask the worker to load its model again. Written by the GUI (or the main
    /// thread), read by the worker.
    reload_request: AtomicU32,
    /// Panics the worker caught and recovered from (or gave up after). Written by the worker,
    /// read by the GUI and the log.
    pub worker_panics: AtomicU32,
    /// Cleared to ask the worker to exit. Written by the main thread, read by the worker.
    running: AtomicBool,
}

impl WorkerShared {
    /// Asks the worker to drop its model and load it again (after the user fixed a file, or
    /// after it gave up on repeated internal errors). Any thread; never blocks.
    pub fn request_reload(&self) {
        self.reload_request.fetch_add(1, Ordering::Release);
    }
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
            tempo: AtomicF64::new(120.0),
            loop_start_beat: AtomicF64::new(0.0),
            loop_len_beats: AtomicF64::new(0.0),
            bar_start_beat: AtomicF64::new(0.0),
            bar_beats: AtomicF64::new(4.0),
            lookahead_beats: AtomicF64::new(0.0),
            offline: AtomicBool::new(false),
            sync_request: AtomicU64::new(0),
            sync_done: AtomicU64::new(0),
            epoch: AtomicU32::new(0),
            kept_take_beats: AtomicF64::new(0.0),
            status: Mutex::new(ModelStatus::Loading),
            planned: Mutex::new(VecDeque::with_capacity(PLAN_VIEW_NOTES)),
            reload_request: AtomicU32::new(0),
            worker_panics: AtomicU32::new(0),
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
    /// Seed of the take: a line (an answer, a Continue line, a loop phrase) starting at tick `t`
    /// uses `seed` and `t`, so the same seed and the same playing give the same notes.
    pub seed: u64,
    /// How Descant plays with the track.
    pub mode: PlayMode,
    /// Answer mode: most bars an answer lasts; 0 = until the player plays again.
    pub answer_bars: u32,
    /// Loop mode without a host loop: the cycle length in bars.
    pub loop_bars: u32,
    /// Loop mode: repeat the current take exactly.
    pub keep: bool,
    /// Loop mode: every change of this switch replaces the take at the next cycle.
    pub regenerate: bool,
    /// Timing and velocity variation, 0..=1 (0 keeps notes on the grid).
    pub humanize: f32,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            enabled: true,
            sampling: SamplingSettings::default(),
            answer_after_beats: 2.0,
            steering: Steering::default(),
            seed: 1,
            mode: PlayMode::Answer,
            answer_bars: 0,
            loop_bars: 2,
            keep: false,
            regenerate: false,
            humanize: 0.0,
        }
    }
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
    /// The kept loop take, shared with the plugin's persisted state: the worker writes it when a
    /// take is kept and adopts it (after a project loads) when it has none of its own.
    pub kept_take: Arc<RwLock<Option<KeptTake>>>,
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

    /// A handle that wakes the worker from its idle sleep (the audio thread uses it when rendering
    /// offline, where waiting is allowed).
    pub fn waker(&self) -> Option<std::thread::Thread> {
        self.thread.as_ref().map(|t| t.thread().clone())
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

/// Loop mode's memory: the cycle being planned, the take being recorded or replayed.
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
    /// Absolute tick up to which this cycle is planned.
    cursor: i64,
    /// The `Regenerate` switch as last seen (any change asks for a new take).
    regenerate_seen: Option<bool>,
    /// A new take was asked for; honoured at the next cycle.
    regenerate_pending: bool,
}

/// The thread's own state. Every field is touched by the worker thread only, except through the
/// shared handles named below.
struct Worker {
    /// Where the runtime and the model come from; its `kept_take` is shared with the plugin's
    /// persisted state (the GUI and the main thread read it).
    config: WorkerConfig,
    /// Reads the live parameters (atomics written by the host and the GUI).
    settings: SettingsFn,
    /// Audio → worker: the player's notes and the transport.
    events: rtrb::Consumer<ContextEvent>,
    /// Worker → audio: planned notes.
    notes: rtrb::Producer<GeneratedNote>,
    /// Atomics shared with the audio thread, and the status and plan the GUI shows.
    shared: Arc<WorkerShared>,
    /// The loaded model; `None` before loading or after a failure.
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
    /// Continue mode: Descant's own recent notes (absolute ticks), context beside the player's.
    own: Vec<TickNote>,
    /// Tick of the player's latest note-off.
    last_off_tick: i64,
    /// Meter of the host's bars.
    meter: Meter,
    /// Absolute tick of a bar line.
    anchor: i64,
    /// The line being played, if any.
    continuation: Option<Continuation>,
    /// The mode planned in last (a change drops the line).
    mode: PlayMode,
    /// Answer mode: the player finished a phrase that has not been answered yet.
    answer_pending: bool,
    /// Answer mode: the tick where the current answer ends (`Answer length`), if limited.
    answer_end: Option<i64>,
    /// Continue mode: the player played since the line last took in context; re-prime at the
    /// next bar line.
    refresh: bool,
    /// Continue mode: no restarted line starts before this tick (the old line's cursor).
    resume_from: i64,
    /// Loop mode state.
    looping: LoopState,
    /// The adaptive look-ahead.
    lookahead: Lookahead,
    /// `late_notes` as last seen (an increase grows the look-ahead).
    late_seen: u64,
    /// Humanize's random numbers; reseeded with every line, so a seed gives the same feel.
    feel_rng: fastrand::Rng,
    /// End in beats of the latest note planned (humanize never moves a note onto it).
    last_end_beat: f64,
    /// The model is to be (re)loaded at the start of the next turn.
    load_pending: bool,
    /// `reload_request` as last seen.
    reload_seen: u32,
    /// The runtime and model files as they were at the latest load attempt (a failed load is
    /// retried once they change).
    files_seen: FilesSeen,
    /// When a failed load may next look at its files.
    next_retry: Instant,
    /// When the recent caught panics happened (the last [`PANIC_WINDOW`]).
    panics: VecDeque<Instant>,
    /// Debug builds: the fault to inject (see [`FAULT_ENV`]).
    #[cfg(debug_assertions)]
    fault: Fault,
}

/// Size and modification time of each file a load reads, to notice when one is replaced.
#[derive(Debug, Default, Clone, PartialEq)]
struct FilesSeen(Vec<Option<(u64, std::time::SystemTime)>>);

impl FilesSeen {
    /// The files `config` loads from, as they are now.
    fn of(config: &WorkerConfig) -> FilesSeen {
        let stat = |p: &Path| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.len(), m.modified().unwrap_or(std::time::UNIX_EPOCH)))
        };
        let mut files = vec![stat(&config.ort_library)];
        if let ModelSource::File(model) = &config.model {
            files.push(stat(model));
            files.push(stat(&crate::model::sidecar_path(model)));
        }
        FilesSeen(files)
    }
}

/// Debug builds: a fault the tests inject into the worker through [`FAULT_ENV`].
#[cfg(debug_assertions)]
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// None.
    None,
    /// Panic once, after the first note is planned.
    PanicOnce,
    /// Panic in every turn once a note has been planned (restarts included).
    PanicAlways,
}

#[cfg(debug_assertions)]
impl Fault {
    fn from_env() -> Fault {
        let text = std::env::var(FAULT_ENV).unwrap_or_default();
        match text.as_str() {
            "panic-once" => Fault::PanicOnce,
            "panic-always" => Fault::PanicAlways,
            _ => Fault::None,
        }
    }
}

/// The text of a caught panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

fn to_tick(beat: f64) -> i64 {
    (beat * TICKS_PER_BEAT as f64).round() as i64
}

fn to_beat(tick: i64) -> f64 {
    tick as f64 / TICKS_PER_BEAT as f64
}

fn ceil_to(tick: i64, grid: i64) -> i64 {
    tick.div_euclid(grid) * grid + if tick.rem_euclid(grid) > 0 { grid } else { 0 }
}

/// Appends `note`, dropping the oldest note when `notes` is full.
fn push_bounded(notes: &mut Vec<TickNote>, note: TickNote) {
    if notes.len() == MAX_PHRASE_NOTES {
        notes.remove(0);
    }
    notes.push(note);
}

/// One line from two: by onset; a note that starts while another sounds cuts it short, and of
/// notes starting together the highest stays (the model was trained on single lines).
fn merge_monophonic(a: &[TickNote], b: &[TickNote]) -> Vec<TickNote> {
    let mut all: Vec<TickNote> = a.iter().chain(b).copied().collect();
    all.sort_by_key(|n| (n.onset, std::cmp::Reverse(n.key)));
    let mut line: Vec<TickNote> = Vec::with_capacity(all.len());
    for n in all {
        match line.last_mut() {
            Some(last) if last.onset == n.onset => {}
            Some(last) => {
                last.duration = last.duration.min(n.onset - last.onset).max(1);
                line.push(n);
            }
            None => line.push(n),
        }
    }
    line
}

/// What the planner should do after one generation step.
enum Step {
    /// A note to play.
    Note(TickNote),
    /// The line crossed a bar line at this tick.
    Bar(i64),
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
            own: Vec::with_capacity(MAX_PHRASE_NOTES),
            last_off_tick: 0,
            meter: Meter::FOUR_FOUR,
            anchor: 0,
            continuation: None,
            mode: PlayMode::Answer,
            answer_pending: false,
            answer_end: None,
            refresh: false,
            resume_from: i64::MIN,
            looping: LoopState::default(),
            lookahead: Lookahead::default(),
            late_seen: 0,
            feel_rng: fastrand::Rng::with_seed(0),
            last_end_beat: f64::MIN,
            load_pending: true,
            reload_seen: 0,
            files_seen: FilesSeen::default(),
            next_retry: Instant::now(),
            panics: VecDeque::new(),
            #[cfg(debug_assertions)]
            fault: Fault::from_env(),
        }
    }

    fn run(&mut self) {
        self.reload_seen = self.shared.reload_request.load(Ordering::Acquire);
        let mut backoff = MIN_BACKOFF;
        while self.shared.running.load(Ordering::Acquire) {
            // Read before draining: every event sent before this request is in the queue now.
            let request = self.shared.sync_request.load(Ordering::Acquire);
            // A panic anywhere in a turn (a bug, or a library's) must not end the thread: the
            // audio thread would wait in vain for notes, and an offline render for its sync.
            let busy = match std::panic::catch_unwind(AssertUnwindSafe(|| self.turn())) {
                Ok(busy) => busy,
                Err(payload) => {
                    self.recover(&panic_text(payload.as_ref()));
                    true
                }
            };
            if busy {
                backoff = MIN_BACKOFF;
            } else {
                self.shared.sync_done.store(request, Ordering::Release);
                std::thread::park_timeout(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    /// One round of the worker's loop: load if asked, read the queue, plan a note. Returns
    /// whether it did any work.
    fn turn(&mut self) -> bool {
        let reload = self.shared.reload_request.load(Ordering::Acquire);
        if reload != self.reload_seen {
            self.reload_seen = reload;
            self.panics.clear();
            eprintln!("descant: reloading the model");
            self.load_pending = true;
        } else if self.model.is_none() && Instant::now() >= self.next_retry {
            self.next_retry = Instant::now() + RETRY_INTERVAL;
            if !self.load_pending && FilesSeen::of(&self.config) != self.files_seen {
                eprintln!("descant: the runtime or model files changed; loading again");
                self.load_pending = true;
            }
        }
        if self.load_pending {
            self.load_pending = false;
            self.load();
            return true;
        }
        let mut busy = self.drain_events();
        busy |= self.plan();
        #[cfg(debug_assertions)]
        self.inject_fault();
        busy
    }

    /// Debug builds: acts out [`FAULT_ENV`]'s fault.
    #[cfg(debug_assertions)]
    fn inject_fault(&mut self) {
        // A fault in planning: only with a model loaded.
        let planned =
            self.model.is_some() && self.shared.generated_notes.load(Ordering::Relaxed) > 0;
        match self.fault {
            Fault::PanicOnce if planned => {
                self.fault = Fault::None;
                panic!("injected fault: worker panic");
            }
            Fault::PanicAlways if planned => panic!("injected fault: worker panic"),
            _ => {}
        }
    }

    /// After a caught panic: forget the line and the phrase, then reload the model, unless this
    /// keeps happening.
    fn recover(&mut self, reason: &str) {
        let now = Instant::now();
        self.panics
            .retain(|t| now.duration_since(*t) < PANIC_WINDOW);
        self.panics.push_back(now);
        self.shared.worker_panics.fetch_add(1, Ordering::Relaxed);
        self.model = None;
        self.forget_history();
        let take = self.looping.take.take();
        self.looping = LoopState {
            take,
            ..LoopState::default()
        };
        if self.panics.len() > MAX_PANICS {
            eprintln!(
                "descant: the inference worker failed {} times within a minute ({reason}); passing \
                 MIDI through until the model is reloaded",
                self.panics.len()
            );
            *self.shared.status.lock() = ModelStatus::Error(format!(
                "Descant stopped after repeated internal errors ({reason}). MIDI passes through; \
                 reload the model to try again."
            ));
            // A reload request brings it back, or a change of its files (a new runtime).
            self.files_seen = FilesSeen::of(&self.config);
        } else {
            eprintln!("descant: the inference worker recovered from an internal error ({reason}); reloading the model");
            self.load_pending = true;
        }
    }

    /// Loads the runtime and the model, replacing any model loaded before.
    fn load(&mut self) {
        self.model = None;
        self.drop_line();
        self.ngrams = None;
        *self.shared.status.lock() = ModelStatus::Loading;
        self.files_seen = FilesSeen::of(&self.config);
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
    }

    fn forget_history(&mut self) {
        self.held = [None; 128];
        self.chord_held = [false; 128];
        self.phrase.clear();
        self.own.clear();
        self.detected_key = None;
        self.drop_line();
        self.answer_pending = false;
    }

    /// Drops the line being played (its planned notes stay valid unless the epoch changed).
    fn drop_line(&mut self) {
        if let Some(c) = &self.continuation {
            self.resume_from = c.cursor();
        }
        self.continuation = None;
        self.answer_end = None;
        self.looping.cycle = None;
        self.looping.recording.clear();
    }

    fn drain_events(&mut self) -> bool {
        let mut any = false;
        while let Ok(ev) = self.events.pop() {
            any = true;
            if ev.epoch() != self.epoch {
                // The audio thread dropped every plan of the old epoch: start afresh.
                self.epoch = ev.epoch();
                self.drop_line();
                self.resume_from = i64::MIN;
                self.last_end_beat = f64::MIN;
            }
            match ev {
                ContextEvent::PlayerNoteOn { key, beat, .. } => {
                    self.held[usize::from(key & 127)] = Some(to_tick(beat));
                }
                ContextEvent::PlayerNoteOff { key, beat, .. } => {
                    let off = to_tick(beat);
                    if let Some(onset) = self.held[usize::from(key & 127)].take() {
                        push_bounded(
                            &mut self.phrase,
                            TickNote {
                                onset,
                                duration: (off - onset).max(1),
                                key,
                            },
                        );
                        self.last_off_tick = off;
                        self.answer_pending = true;
                        self.refresh = true;
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
                    let meter = Meter::nearest(i32::from(numerator), i32::from(denominator));
                    if meter != self.meter {
                        // The line goes on from its next bar line in the new meter.
                        self.drop_line();
                    }
                    self.meter = meter;
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
        let Some(mut model) = self.model.take() else {
            return false;
        };
        let result = self.try_plan(&mut model);
        self.model = Some(model);
        match result {
            Ok(busy) => busy,
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    /// The tick up to which notes should be planned now.
    fn horizon(&mut self, playhead: i64) -> i64 {
        let tempo = self.shared.tempo.load();
        let beats = if self.shared.offline.load(Ordering::Relaxed) {
            OFFLINE_LOOKAHEAD_BEATS
        } else {
            let late = self.shared.late_notes.load(Ordering::Relaxed);
            if late > self.late_seen {
                self.late_seen = late;
                self.lookahead.on_late();
            }
            self.lookahead.beats(tempo)
        };
        self.shared.lookahead_beats.store(beats);
        playhead + to_tick(beats)
    }

    fn try_plan(&mut self, model: &mut Model) -> Result<bool, ModelError> {
        let settings = (self.settings)();
        if settings.mode != self.mode {
            self.mode = settings.mode;
            self.drop_line();
        }
        let regenerate = settings.regenerate;
        if self.looping.regenerate_seen.replace(regenerate) == Some(!regenerate) {
            self.looping.regenerate_pending = true;
        }
        if !settings.enabled || !self.shared.playing.load(Ordering::Relaxed) {
            self.drop_line();
            return Ok(false);
        }
        let playhead = to_tick(self.shared.playhead_beat.load());
        let horizon = self.horizon(playhead);
        match settings.mode {
            PlayMode::Answer => self.plan_answer(model, &settings, playhead, horizon),
            PlayMode::Continue => self.plan_continue(model, &settings, playhead, horizon),
            PlayMode::Loop => self.plan_loop(model, &settings, playhead, horizon),
        }
    }

    /// Starts a line at `start` over `history`, with the next seed of the take.
    fn start_line(
        &mut self,
        model: &mut Model,
        settings: &WorkerSettings,
        history: &[TickNote],
        start: i64,
    ) -> Result<(), ModelError> {
        let started = Instant::now();
        // The seed comes from where the line starts, not from how many lines were started (a
        // line the player cut short before it sounded must not change the next one).
        let seed = take_seed(settings.seed, start as u64);
        self.feel_rng = fastrand::Rng::with_seed(seed);
        steering::control_vector(
            model.contract(),
            &settings.steering,
            player_density(&self.phrase),
            &mut self.control,
        );
        let mut line = Continuation::start(
            model,
            history,
            self.meter,
            self.anchor,
            start,
            seed,
            &self.control,
        )?;
        line.play_first_bar();
        self.continuation = Some(line);
        self.lookahead
            .on_line_start(started.elapsed().as_secs_f64());
        Ok(())
    }

    /// Generates the line's next note or bar line under the live controls; `None` when there is
    /// no line (a planner's slip: it plans nothing rather than stopping the model).
    fn step(
        &mut self,
        model: &mut Model,
        settings: &WorkerSettings,
    ) -> Result<Option<Step>, ModelError> {
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
        // In Continue mode the player plays along: the keys held now are harmony too.
        let with_player = settings.mode == PlayMode::Continue;
        let chord = (0..128usize)
            .filter(|&k| self.chord_held[k] || (with_player && self.held[k].is_some()))
            .fold(0u16, |set, k| set | 1 << (k % 12));
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
        let Some(cont) = self.continuation.as_mut() else {
            return Ok(None);
        };
        let interventions = cont.interventions();
        let generated = cont.next(model, settings.sampling, &guide)?;
        self.shared
            .originality_interventions
            .fetch_add(cont.interventions() - interventions, Ordering::Relaxed);
        Ok(Some(match generated {
            Generated::Note(n) => Step::Note(n),
            Generated::BarLine(t) => Step::Bar(t),
        }))
    }

    /// Gives `note` its feel and sends it; `earliest` bounds a humanized onset (beats). Returns
    /// the note as sent.
    fn emit(
        &mut self,
        note: TickNote,
        settings: &WorkerSettings,
        earliest: f64,
        work: Duration,
    ) -> GeneratedNote {
        let (lo, hi) = settings.steering.register();
        let mid = (f32::from(lo) + f32::from(hi)) / 2.0;
        let contour =
            (f32::from(note.key) - mid) / ((f32::from(hi) - f32::from(lo)) / 2.0).max(1.0);
        let felt = feel::apply(
            note.onset - self.anchor,
            self.meter,
            to_beat(note.onset),
            to_beat(note.duration),
            contour,
            settings.humanize,
            earliest.max(self.last_end_beat),
            &mut self.feel_rng,
        );
        let sent = GeneratedNote {
            key: note.key,
            velocity: felt.velocity,
            onset_beat: felt.onset_beat,
            length_beats: felt.length_beats,
            epoch: self.epoch,
        };
        self.send(sent, work);
        sent
    }

    /// Sends a planned note to the audio thread and the GUI, and tunes the look-ahead. A note that
    /// would start before the previous one ends (a stretch planned twice, e.g. after a loop
    /// changed length) is not sent: Descant's line stays monophonic.
    fn send(&mut self, note: GeneratedNote, work: Duration) {
        if note.onset_beat < self.last_end_beat - 1e-9 {
            return;
        }
        let tempo = self.shared.tempo.load().clamp(1.0, 1000.0);
        let margin = (note.onset_beat - self.shared.playhead_beat.load()) * 60.0 / tempo;
        self.lookahead.on_note(margin, work.as_secs_f64());
        self.last_end_beat = note.onset_beat + note.length_beats;
        if self.notes.push(note).is_ok() {
            self.shared.generated_notes.fetch_add(1, Ordering::Relaxed);
            let mut planned = self.shared.planned.lock();
            if planned.len() == PLAN_VIEW_NOTES {
                planned.pop_front();
            }
            planned.push_back(note);
        } else {
            self.shared.queue_full_drops.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Publishes the per-token time of the note generated since `t0` (three tokens a note).
    fn note_timer(&self, t0: Instant) {
        let per_token = t0.elapsed().as_micros() as u32 / 3;
        self.shared.step_micros.store(per_token, Ordering::Relaxed);
    }

    /// Answer mode: after the player's phrase and `Answer after` beats of silence, answer for up
    /// to `Answer length` bars.
    fn plan_answer(
        &mut self,
        model: &mut Model,
        settings: &WorkerSettings,
        playhead: i64,
        horizon: i64,
    ) -> Result<bool, ModelError> {
        if self.continuation.is_none() {
            if !self.answer_pending || self.held.iter().any(Option::is_some) {
                return Ok(false);
            }
            let wait = to_tick(settings.answer_after_beats.max(0.0));
            let start = ceil_to(self.last_off_tick + wait, START_GRID_TICKS)
                .max(ceil_to(playhead + 1, START_GRID_TICKS));
            if start >= horizon {
                // Not due yet: the player may still go on.
                return Ok(false);
            }
            let phrase = std::mem::take(&mut self.phrase);
            let started = self.start_line(model, settings, &phrase, start);
            self.phrase = phrase;
            started?;
            self.answer_pending = false;
            self.last_end_beat = f64::MIN;
            self.answer_end = (settings.answer_bars > 0)
                .then(|| start + i64::from(settings.answer_bars) * self.meter.bar_ticks());
        }
        let Some(cont) = self.continuation.as_ref() else {
            return Ok(false);
        };
        if cont.cursor() >= horizon {
            return Ok(false);
        }
        let t0 = Instant::now();
        let end = self.answer_end.unwrap_or(i64::MAX);
        let Some(step) = self.step(model, settings)? else {
            return Ok(false);
        };
        match step {
            Step::Note(n) if n.onset >= end => self.drop_line(),
            Step::Bar(t) if t >= end => self.drop_line(),
            Step::Note(mut n) => {
                n.duration = n.duration.min(end - n.onset);
                self.note_timer(t0);
                self.emit(n, settings, f64::MIN, t0.elapsed());
            }
            Step::Bar(_) => {}
        }
        Ok(true)
    }

    /// Continue mode: one line while time runs, from a bar line; at each bar line after the player
    /// played, the line re-reads the context (the player's notes and its own).
    fn plan_continue(
        &mut self,
        model: &mut Model,
        settings: &WorkerSettings,
        playhead: i64,
        horizon: i64,
    ) -> Result<bool, ModelError> {
        if self.continuation.is_none() {
            let bar = self.meter.bar_ticks();
            let from = (playhead + 1).max(self.resume_from);
            let start = self.anchor + ceil_to(from - self.anchor, bar);
            if start >= horizon {
                return Ok(false);
            }
            let history = merge_monophonic(&self.phrase, &self.own);
            self.start_line(model, settings, &history, start)?;
            self.refresh = false;
        }
        let Some(cont) = self.continuation.as_ref() else {
            return Ok(false);
        };
        if cont.cursor() >= horizon {
            return Ok(false);
        }
        let t0 = Instant::now();
        let Some(step) = self.step(model, settings)? else {
            return Ok(false);
        };
        match step {
            Step::Note(n) => {
                push_bounded(&mut self.own, n);
                self.note_timer(t0);
                self.emit(n, settings, f64::MIN, t0.elapsed());
            }
            Step::Bar(t) if self.refresh => {
                let history = merge_monophonic(&self.phrase, &self.own);
                self.start_line(model, settings, &history, t)?;
                self.refresh = false;
            }
            Step::Bar(_) => {}
        }
        Ok(true)
    }

    /// The loop's cycle grid now: `(anchor tick, length in ticks)`, the anchor reduced to
    /// `0..length` so that cycle numbers stay the same when the host's loop start moves on by a
    /// loop length at each wrap (see the plugin's clock).
    fn loop_grid(&self, settings: &WorkerSettings) -> (i64, i64) {
        let host_len = self.shared.loop_len_beats.load();
        let (anchor, len) = if host_len > 0.0 {
            (
                to_tick(self.shared.loop_start_beat.load()),
                to_tick(host_len),
            )
        } else {
            (
                self.anchor,
                i64::from(settings.loop_bars.max(1)) * self.meter.bar_ticks(),
            )
        };
        (anchor.rem_euclid(len.max(1)), len)
    }

    /// Loop mode: a phrase per cycle; a kept take repeats; `Regenerate` replaces it at the next
    /// cycle.
    fn plan_loop(
        &mut self,
        model: &mut Model,
        settings: &WorkerSettings,
        playhead: i64,
        horizon: i64,
    ) -> Result<bool, ModelError> {
        let (anchor, len) = self.loop_grid(settings);
        if len <= 0 {
            return Ok(false);
        }
        let lp = &mut self.looping;
        if lp.cycle.is_some() && lp.len != len {
            // The loop changed length: plan again from the playhead.
            lp.cycle = None;
            self.continuation = None;
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
        let line_ended = lp.cycle == Some(cycle) && !lp.replaying && self.continuation.is_none();
        if lp.cycle != Some(cycle) || line_ended {
            if lp.cycle.is_some() && !lp.replaying && self.continuation.is_some() {
                // The line reached the cycle's end exactly with its last note.
                let end = lp.start + lp.len;
                self.end_cycle(end);
            }
            self.begin_cycle(model, settings, cycle, anchor + cycle * len, len, cursor)?;
        }
        let t0 = Instant::now();
        let (start, end) = (self.looping.start, self.looping.start + len);
        if self.looping.replaying {
            let take = self
                .looping
                .take
                .as_ref()
                .map(|t| &t.notes[..])
                .unwrap_or(&[]);
            let next = take
                .iter()
                .enumerate()
                .skip(self.looping.next_note)
                .find(|(_, n)| to_tick(n.onset) + start >= self.looping.cursor)
                .map(|(i, n)| (i, *n));
            match next {
                None => self.looping.cursor = end,
                Some((_, n)) if to_tick(n.onset) + start >= horizon => return Ok(false),
                Some((i, n)) => {
                    self.looping.next_note = i + 1;
                    self.looping.cursor = to_tick(n.onset) + start + 1;
                    let note = GeneratedNote {
                        key: n.key,
                        velocity: n.velocity,
                        onset_beat: to_beat(start) + n.onset,
                        length_beats: n.length,
                        epoch: self.epoch,
                    };
                    self.send(note, t0.elapsed());
                }
            }
            return Ok(true);
        }
        let Some(step) = self.step(model, settings)? else {
            return Ok(false);
        };
        match step {
            Step::Note(n) if n.onset >= end => self.end_cycle(end),
            Step::Bar(t) if t >= end => self.end_cycle(end),
            Step::Note(mut n) => {
                n.duration = n.duration.min(end - n.onset);
                self.note_timer(t0);
                let sent = self.emit(n, settings, to_beat(start), t0.elapsed());
                let lp = &mut self.looping;
                lp.cursor = self.continuation.as_ref().map_or(end, Continuation::cursor);
                let onset = sent.onset_beat - to_beat(start);
                lp.recording.push(TakeNote {
                    onset,
                    length: sent.length_beats.min(to_beat(len) - onset),
                    key: sent.key,
                    velocity: sent.velocity,
                });
            }
            Step::Bar(t) => self.looping.cursor = t,
        }
        Ok(true)
    }

    /// Loop mode: the cycle's line reached its end; a whole recording becomes the take.
    fn end_cycle(&mut self, end: i64) {
        self.continuation = None;
        let lp = &mut self.looping;
        lp.cursor = end;
        if lp.whole {
            let model = match &*self.shared.status.lock() {
                ModelStatus::Ready { name, .. } => name.clone(),
                _ => String::new(),
            };
            let take = KeptTake {
                cycle_beats: to_beat(lp.len),
                model,
                notes: std::mem::take(&mut lp.recording),
            };
            if take.validate().is_ok() {
                lp.take = Some(take);
            }
        }
        lp.whole = false;
    }

    /// Loop mode: decides how cycle `cycle` (from `start`, `len` ticks) is played, from `cursor`.
    fn begin_cycle(
        &mut self,
        model: &mut Model,
        settings: &WorkerSettings,
        cycle: i64,
        start: i64,
        len: i64,
        cursor: i64,
    ) -> Result<(), ModelError> {
        let fits = |t: &KeptTake| (to_tick(t.cycle_beats) - len).abs() == 0;
        if settings.keep && self.looping.take.as_ref().is_none_or(|t| !fits(t)) {
            // A project loaded with a kept take: adopt it when it fits this loop.
            if let Some(t) = self.config.kept_take.read().as_ref().filter(|t| fits(t)) {
                self.looping.take = Some(t.clone());
            }
        }
        let lp = &mut self.looping;
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
                self.shared.kept_take_beats.store(take.cycle_beats);
                let mut store = self.config.kept_take.write();
                if store.as_ref() != Some(take) {
                    *store = Some(take.clone());
                }
            }
            self.continuation = None;
            return Ok(());
        }
        if !settings.keep {
            // Nothing is kept: the project no longer stores a take.
            self.shared.kept_take_beats.store(0.0);
            let mut store = self.config.kept_take.write();
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
        let history = merge_monophonic(&self.phrase, &previous);
        self.start_line(model, settings, &history, cursor)?;
        Ok(())
    }

    fn fail(&mut self, e: ModelError) {
        eprintln!("descant: model stopped: {e}");
        self.drop_line();
        *self.shared.status.lock() = ModelStatus::Error(e.to_string());
        self.model = None;
        // Loaded again on a reload request or once its files change.
        self.files_seen = FilesSeen::of(&self.config);
    }
}

/// The seed of a line of a take seeded with `seed` that starts at tick `start` (a SplitMix64 step,
/// so nearby seeds and starts give unrelated lines).
fn take_seed(seed: u64, start: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(start.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
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
    fn two_lines_merge_into_one_monophonic_line() {
        let n = |onset, duration, key| TickNote {
            onset,
            duration,
            key,
        };
        let player = [n(0, 12, 60), n(12, 12, 62)];
        let own = [n(6, 12, 67), n(12, 6, 64), n(30, 6, 65)];
        let line = merge_monophonic(&player, &own);
        assert_eq!(line, [n(0, 6, 60), n(6, 6, 67), n(12, 6, 64), n(30, 6, 65)]);
        for w in line.windows(2) {
            assert!(w[0].onset + w[0].duration <= w[1].onset);
        }
    }
}
