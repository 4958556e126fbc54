//! The audio side's handle to the inference worker: the two SPSC queue ends and the worker's
//! lifetime. Created and dropped on the main thread (activate/deactivate); its queue ends are used
//! by the audio thread, wait-free.
//!
//! Guarantees: [`InferenceHandle::send`] and [`InferenceHandle::receive`] never block or allocate;
//! dropping the handle stops and joins the worker (on the main thread, never in `process()`).

use std::path::PathBuf;
use std::sync::Arc;

use descant_inference::events::{ContextEvent, Plan};
use descant_inference::model::runtime;
use descant_inference::worker::{InferenceWorker, ModelSource, WorkerConfig, WorkerShared};

use crate::params::DescantParams;
use crate::settings::LiveSettings;

/// Environment variable naming a `.onnx` model (with its `.json` sidecar) to use instead of the
/// one compiled in.
pub const MODEL_PATH_ENV: &str = "DESCANT_MODEL";
/// Capacity of the audio → worker queue (player notes and transport changes).
const CONTEXT_QUEUE: usize = 1024;
/// Capacity of the worker → audio queue (planned notes).
const NOTE_QUEUE: usize = 256;

/// The plugin's end of the worker.
pub struct InferenceHandle {
    /// Audio → worker. Pushed by the audio thread only.
    events: rtrb::Producer<ContextEvent>,
    /// Worker → audio. Popped by the audio thread only.
    notes: rtrb::Consumer<Plan>,
    /// Wakes the worker from its idle sleep: used only when rendering offline, where the audio
    /// thread may make system calls and wait.
    waker: Option<std::thread::Thread>,
    /// The thread; stopped and joined when the handle drops (main thread).
    _worker: InferenceWorker,
}

/// Directory of the binary this code was loaded from (the `.clap` or the VST3's `.so`).
pub fn plugin_dir() -> Option<PathBuf> {
    process_path::get_dylib_path()
        .or_else(process_path::get_executable_path)
        .and_then(|p| p.parent().map(PathBuf::from))
}

impl InferenceHandle {
    /// Starts a worker that reads its settings from `params` (see [`LiveSettings`]). Main thread.
    pub fn start(
        params: Arc<DescantParams>,
        shared: Arc<WorkerShared>,
    ) -> std::io::Result<InferenceHandle> {
        let (events, worker_events) = rtrb::RingBuffer::new(CONTEXT_QUEUE);
        let (worker_notes, notes) = rtrb::RingBuffer::new(NOTE_QUEUE);
        let model = match std::env::var_os(MODEL_PATH_ENV) {
            Some(p) if !p.is_empty() => ModelSource::File(PathBuf::from(p)),
            _ => ModelSource::builtin(descant_inference::DEFAULT_BUILTIN),
        };
        let config = WorkerConfig {
            ort_library: runtime::library_path(plugin_dir().as_deref()),
            model,
            kept_take: params.kept_take.clone(),
            taste: params.taste.clone(),
            chosen: params.chosen_model.clone(),
            style_names: params.style_names.clone(),
        };
        let settings = LiveSettings::new(params);
        let worker = InferenceWorker::spawn(config, settings, worker_events, worker_notes, shared)?;
        Ok(InferenceHandle {
            events,
            notes,
            waker: worker.waker(),
            _worker: worker,
        })
    }

    /// Sends an event to the worker; false (event lost) when the queue is full. Wait-free.
    pub fn send(&mut self, event: ContextEvent) -> bool {
        self.events.push(event).is_ok()
    }

    /// Wakes the worker (a system call: offline rendering only, never in real time).
    pub fn wake(&self) {
        if let Some(t) = &self.waker {
            t.unpark();
        }
    }

    /// Takes the worker's next decision (a note, a retraction), if any. Wait-free.
    pub fn receive(&mut self) -> Option<Plan> {
        self.notes.pop().ok()
    }
}
