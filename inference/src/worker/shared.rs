//! State shared by the audio thread (atomics only), the worker and the GUI, and the model's status
//! as the GUI shows it. Every field says who writes it and who reads it.
//!
//! Guarantees: the audio thread touches only the atomics here (wait-free loads and stores); the
//! two mutexes are taken by the worker and the GUI only.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::events::{AtomicF64, GeneratedNote};

/// Planned notes the GUI can see at once.
pub(super) const PLAN_VIEW_NOTES: usize = 128;

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
    pub(super) reload_request: AtomicU32,
    /// Panics the worker caught and recovered from (or gave up after). Written by the worker,
    /// read by the GUI and the log.
    pub worker_panics: AtomicU32,
    /// Cleared to ask the worker to exit. Written by the main thread, read by the worker.
    pub(super) running: AtomicBool,
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
