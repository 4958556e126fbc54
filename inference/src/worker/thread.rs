//! The inference worker thread: a loop that loads the model when asked, reads the audio thread's
//! events, asks the [`Planner`] for one note at a time and publishes what it decided. Runs on its
//! own thread; allocates freely.
//!
//! Guarantees: the worker never waits on the audio thread (a full note queue drops the note and
//! counts it); it sleeps with exponential backoff when idle (no busy spin); [`InferenceWorker::stop`]
//! wakes and joins it, and dropping an [`InferenceWorker`] does the same. A model that fails to
//! load leaves the worker draining its queue and the status showing the reason; it loads again
//! when [`WorkerShared::request_reload`] is called, or by itself once the runtime or model files it
//! failed on change on disk. A panic inside the worker is caught: the worker forgets its line,
//! reloads the model and goes on; after [`MAX_PANICS`] panics within [`PANIC_WINDOW`] it stays in
//! pass-through until a reload is asked for.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::ModelError;
use crate::events::{ContextEvent, Plan};
use crate::files::catalog;
use crate::files::kept_phrase::{self, KeptPhrase};
use crate::model::Model;
use crate::worker::lookahead::Lookahead;

use super::choice::ModelSource;
use super::choice::{source_for_choice, source_name, ModelChoice, Pick};
#[cfg(debug_assertions)]
use super::load::Fault;
use super::load::{load_model, load_ngrams, panic_text, FilesSeen};
use super::outlet::Outlet;
use super::planner::{to_tick, PlanTime, Planner};
use super::shared::{ModelStatus, WorkerShared};
use super::{SettingsSource, WorkerConfig};

/// How far ahead of the playhead the worker plans when rendering offline, in beats (live, the
/// look-ahead adapts; see [`crate::worker::lookahead`]).
pub const OFFLINE_LOOKAHEAD_BEATS: f64 = 2.0;
/// Shortest idle sleep.
const MIN_BACKOFF: Duration = Duration::from_micros(500);
/// Longest idle sleep (bounds how late the worker notices a new phrase).
const MAX_BACKOFF: Duration = Duration::from_millis(8);
/// Panics within [`PANIC_WINDOW`] after which the worker stops restarting itself.
pub const MAX_PANICS: usize = 3;
/// The window [`MAX_PANICS`] counts in.
pub const PANIC_WINDOW: Duration = Duration::from_secs(60);
/// How often a worker whose model failed to load looks whether its files changed.
const RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// Handle to a running worker thread. Owned by the plugin on the main thread.
pub struct InferenceWorker {
    /// The thread; `None` once joined.
    thread: Option<JoinHandle<()>>,
    /// Shared with the thread (to ask it to stop).
    shared: Arc<WorkerShared>,
}

impl InferenceWorker {
    /// Starts the worker thread. It loads the runtime and model first, off the caller's thread;
    /// it reads `settings` before each note it plans.
    pub fn spawn(
        config: WorkerConfig,
        settings: impl SettingsSource + 'static,
        events: rtrb::Consumer<ContextEvent>,
        notes: rtrb::Producer<Plan>,
        shared: Arc<WorkerShared>,
    ) -> std::io::Result<InferenceWorker> {
        shared.running.store(true, Ordering::Release);
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("descant-inference".into())
            .spawn(move || {
                let mut w = Worker::new(config, Box::new(settings), events, notes, thread_shared);
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

/// Which model the worker loads and when, and how it recovers from failures. Worker thread only.
struct Loading {
    /// The default model (the config's as started): played when no model is chosen, and when a
    /// project's choice cannot be honoured.
    default_model: ModelSource,
    /// The project's choice as last acted on; `None` before the first turn.
    chosen_seen: Option<Option<ModelChoice>>,
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
    /// Debug builds: the fault to inject (see [`super::FAULT_ENV`]).
    #[cfg(debug_assertions)]
    fault: Fault,
}

/// The thread's own state. Every field is touched by the worker thread only, except through the
/// shared handles named below.
struct Worker {
    /// Where the runtime and the model come from; its `model` is the one playing (or to load).
    config: WorkerConfig,
    /// Reads the live settings (the plugin's parameters: atomics written by the host and the GUI).
    settings: Box<dyn SettingsSource>,
    /// Audio → worker: the player's notes and the transport.
    events: rtrb::Consumer<ContextEvent>,
    /// Worker → audio: planned notes.
    notes: rtrb::Producer<Plan>,
    /// Atomics shared with the audio thread, and the status and plan the GUI shows.
    shared: Arc<WorkerShared>,
    /// The loaded model; `None` before loading or after a failure.
    model: Option<Model>,
    /// The decisions: what was heard, the line, each mode's memory.
    planner: Planner,
    /// The adaptive look-ahead.
    lookahead: Lookahead,
    /// `late_notes` as last seen (an increase grows the look-ahead).
    late_seen: u64,
    /// Which model to load and when, and the recovery from failures.
    loading: Loading,
}

impl Worker {
    fn new(
        config: WorkerConfig,
        settings: Box<dyn SettingsSource>,
        events: rtrb::Consumer<ContextEvent>,
        notes: rtrb::Producer<Plan>,
        shared: Arc<WorkerShared>,
    ) -> Worker {
        let planner = Planner::new(config.kept_take.clone(), config.taste.clone());
        let loading = Loading {
            default_model: config.model.clone(),
            chosen_seen: None,
            load_pending: true,
            reload_seen: 0,
            files_seen: FilesSeen::default(),
            next_retry: Instant::now(),
            panics: VecDeque::new(),
            #[cfg(debug_assertions)]
            fault: Fault::from_env(),
        };
        Worker {
            config,
            settings,
            events,
            notes,
            shared,
            model: None,
            planner,
            lookahead: Lookahead::default(),
            late_seen: 0,
            loading,
        }
    }

    fn run(&mut self) {
        self.loading.reload_seen = self.shared.reload_request.load(Ordering::Acquire);
        let mut backoff = MIN_BACKOFF;
        while self.shared.running.load(Ordering::Acquire) {
            // Read before draining: every event sent before this request is in the queue now.
            let request = self.shared.render.pending_request();
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
                self.shared.render.caught_up(request);
                std::thread::park_timeout(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    /// One round of the worker's loop: load if asked, read the queue, plan a note. Returns
    /// whether it did any work.
    fn turn(&mut self) -> bool {
        let pick = self.shared.pick.lock().take();
        if let Some(pick) = pick {
            self.switch(pick);
            return true;
        }
        self.follow_the_projects_choice();
        let reload = self.shared.reload_request.load(Ordering::Acquire);
        if reload != self.loading.reload_seen {
            self.loading.reload_seen = reload;
            self.loading.panics.clear();
            log::info!("reloading the model");
            self.loading.load_pending = true;
        } else if self.model.is_none() && Instant::now() >= self.loading.next_retry {
            self.loading.next_retry = Instant::now() + RETRY_INTERVAL;
            if !self.loading.load_pending && FilesSeen::of(&self.config) != self.loading.files_seen
            {
                log::info!("the runtime or model files changed; loading again");
                self.loading.load_pending = true;
            }
        }
        if self.loading.load_pending {
            self.loading.load_pending = false;
            self.load();
            return true;
        }
        let mut busy = false;
        for veto in self.shared.take_vetoes() {
            self.planner.veto(veto);
        }
        while let Ok(event) = self.events.pop() {
            busy = true;
            self.planner.hear(event);
        }
        busy |= self.plan();
        if let Some(phrase) = self.planner.take_kept() {
            self.save_kept(&phrase);
        }
        #[cfg(debug_assertions)]
        self.inject_fault();
        busy
    }

    /// Saves a phrase the musician kept as a take in the takes folder, and says where (or why
    /// not) to the GUI and the log. The file says which model played it and on what terms: a
    /// take is what a musician releases.
    fn save_kept(&self, phrase: &KeptPhrase) {
        let tempo = self.shared.block.read().tempo.clamp(1.0, 1000.0);
        let model = match &*self.shared.status.lock() {
            ModelStatus::Ready {
                name,
                path,
                builtin,
                ..
            } => format!(
                "{name} ({})",
                catalog::playing(path.as_deref(), *builtin).terms.says()
            ),
            _ => "no model".to_owned(),
        };
        let text = format!(
            "Generated by Descant {} with the model {model}; kept by the musician; the player's \
             notes on channel 1, Descant's on channel 2",
            env!("CARGO_PKG_VERSION")
        );
        let bytes = phrase.file(tempo, &text);
        let said = match kept_phrase::save(&kept_phrase::takes_dir(), "descant-kept", &bytes) {
            Ok(path) => {
                log::info!("kept phrase saved to {}", path.display());
                format!("Kept: {}", path.display())
            }
            Err(e) => {
                log::warn!("could not save the kept phrase: {e}");
                format!("Could not save the kept phrase: {e}")
            }
        };
        *self.shared.kept.lock() = Some(said);
    }

    /// Debug builds: acts out [`super::FAULT_ENV`]'s fault.
    #[cfg(debug_assertions)]
    fn inject_fault(&mut self) {
        // A fault in planning: only with a model loaded.
        let planned = self.model.is_some()
            && self
                .shared
                .telemetry
                .generated_notes
                .load(Ordering::Relaxed)
                > 0;
        match self.loading.fault {
            Fault::PanicOnce if planned => {
                self.loading.fault = Fault::None;
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
        self.loading
            .panics
            .retain(|t| now.duration_since(*t) < PANIC_WINDOW);
        self.loading.panics.push_back(now);
        self.shared
            .telemetry
            .worker_panics
            .fetch_add(1, Ordering::Relaxed);
        self.model = None;
        self.planner.recover();
        if self.loading.panics.len() > MAX_PANICS {
            log::error!(
                "the inference worker failed {} times within a minute ({reason}); passing MIDI \
                 through until the model is reloaded",
                self.loading.panics.len()
            );
            *self.shared.status.lock() = ModelStatus::Error(format!(
                "Descant stopped after repeated internal errors ({reason}). MIDI passes through; \
                 reload the model to try again."
            ));
            // A reload request brings it back, or a change of its files (a new runtime).
            self.loading.files_seen = FilesSeen::of(&self.config);
        } else {
            log::warn!(
                "the inference worker recovered from an internal error ({reason}); reloading \
                 the model"
            );
            self.loading.load_pending = true;
        }
    }

    /// Loads the runtime and the model, replacing any model loaded before.
    fn load(&mut self) {
        self.model = None;
        self.planner.drop_model();
        *self.shared.status.lock() = ModelStatus::Loading;
        self.loading.files_seen = FilesSeen::of(&self.config);
        let started = Instant::now();
        match load_model(&self.config) {
            Ok(model) => self.install(model, started),
            Err(e) => {
                log::error!("model not loaded, passing MIDI through: {e}");
                *self.shared.status.lock() = ModelStatus::Error(e.to_string());
            }
        }
    }

    /// Plays `model`, loaded from `config.model`: its index, status and style names follow it.
    /// Notes already sent to the audio thread play out, with their note-offs.
    fn install(&mut self, model: Model, started: Instant) {
        self.loading.files_seen = FilesSeen::of(&self.config);
        let c = model.contract();
        *self.shared.status.lock() = ModelStatus::Ready {
            name: c.name.clone(),
            trained: c.trained,
            load_ms: started.elapsed().as_millis() as u32,
            path: match &self.config.model {
                ModelSource::Embedded { .. } => None,
                ModelSource::File(path) => Some(path.clone()),
            },
            builtin: match &self.config.model {
                ModelSource::Embedded { id, .. } => Some(*id),
                ModelSource::File(_) => None,
            },
        };
        *self.config.style_names.write() = c
            .control
            .styles
            .iter()
            .map(|s| crate::files::catalog::style_name(s))
            .collect();
        log::info!(
            "model '{}' ready in {} ms",
            c.name,
            started.elapsed().as_millis()
        );
        let ngrams = load_ngrams(&self.config.model).unwrap_or_else(|e| {
            log::warn!("originality guard unavailable: {e}");
            None
        });
        self.planner.drop_model();
        self.planner.use_model(&model, ngrams);
        self.model = Some(model);
        self.shared
            .telemetry
            .originality_available
            .store(self.planner.has_originality_index(), Ordering::Relaxed);
    }

    /// The musician's pick: load it beside the playing model and switch only once it loaded, so
    /// a refusal (contract, vetting, size, a missing file) keeps the model playing and says why.
    fn switch(&mut self, pick: Pick) {
        let source = match &pick {
            Pick::Default => self.loading.default_model.clone(),
            Pick::Builtin(id) => match crate::builtin_model(id) {
                Some(model) => ModelSource::builtin(model),
                None => {
                    *self.shared.notice.lock() =
                        Some(format!("Did not switch: no built-in model '{id}'."));
                    return;
                }
            },
            Pick::File(path) => ModelSource::File(path.clone()),
        };
        let started = Instant::now();
        let mut trial = self.config.clone();
        trial.model = source.clone();
        match load_model(&trial) {
            Ok(model) => {
                let choice = Some(match pick {
                    Pick::Default => ModelChoice::default_model(),
                    Pick::Builtin(id) => ModelChoice::of_builtin(&id),
                    Pick::File(path) => {
                        ModelChoice::of_file(path, model.contract().sha256.trim().to_lowercase())
                    }
                });
                *self.config.chosen.write() = choice.clone();
                self.loading.chosen_seen = Some(choice);
                self.config.model = source;
                self.loading.panics.clear();
                *self.shared.notice.lock() = None;
                self.loading.load_pending = false;
                self.install(model, started);
            }
            Err(e) => {
                let playing = match &*self.shared.status.lock() {
                    ModelStatus::Ready { name, .. } => format!("still playing '{name}'"),
                    _ => "nothing changed".to_owned(),
                };
                let text = format!(
                    "Did not switch to {}: {e}; {playing}.",
                    source_name(&source)
                );
                log::warn!("{text}");
                *self.shared.notice.lock() = Some(text);
            }
        }
    }

    /// Follows the project's choice when it changed (a project loaded): the chosen file if it is
    /// there unchanged, else the default model with a notice (see [`source_for_choice`]).
    fn follow_the_projects_choice(&mut self) {
        let chosen = self.config.chosen.read().clone();
        if self.loading.chosen_seen.as_ref() == Some(&chosen) {
            return;
        }
        let first = self.loading.chosen_seen.is_none();
        self.loading.chosen_seen = Some(chosen.clone());
        let (source, notice) = source_for_choice(chosen.as_ref(), &self.loading.default_model);
        if let Some(text) = &notice {
            log::warn!("{text}");
        }
        *self.shared.notice.lock() = notice;
        let same = source.same_as(&self.config.model);
        if !same || (first && self.model.is_none()) {
            self.config.model = source;
            self.loading.load_pending = true;
        }
    }

    /// The tick up to which notes should be planned now, at tempo `tempo`.
    fn horizon(&mut self, playhead: i64, tempo: f64) -> i64 {
        let beats = if self.shared.render.offline() {
            OFFLINE_LOOKAHEAD_BEATS
        } else {
            let late = self.shared.telemetry.late_notes.load(Ordering::Relaxed);
            if late > self.late_seen {
                self.late_seen = late;
                self.lookahead.on_late();
            }
            self.lookahead.beats(tempo)
        };
        self.shared.telemetry.lookahead_beats.store(beats);
        playhead + to_tick(beats)
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

    fn try_plan(&mut self, model: &mut Model) -> Result<bool, ModelError> {
        let settings = self.settings.read();
        let block = self.shared.block.read();
        if !self.planner.ready(&settings, block.playing) {
            return Ok(false);
        }
        let playhead = to_tick(block.playhead_beat);
        let time = PlanTime {
            playhead,
            horizon: self.horizon(playhead, block.tempo),
            host_loop: block.loop_range,
        };
        let mut outlet = Outlet {
            notes: &mut self.notes,
            shared: &self.shared,
            lookahead: &mut self.lookahead,
        };
        self.planner.plan(model, &settings, time, &mut outlet)
    }

    fn fail(&mut self, e: ModelError) {
        log::error!("model stopped: {e}");
        self.planner.drop_line();
        *self.shared.status.lock() = ModelStatus::Error(e.to_string());
        self.model = None;
        // Loaded again on a reload request or once its files change.
        self.loading.files_seen = FilesSeen::of(&self.config);
    }
}
