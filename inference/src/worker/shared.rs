//! What the audio thread, the worker and the GUI share: the bridge (block snapshot, telemetry,
//! render handshake; see [`crate::bridge`]), the model's status and the planned notes the editor
//! shows, and the worker's lifecycle flags.
//!
//! Guarantees: the audio thread touches only the bridge here (wait-free); the two mutexes are
//! taken by the worker and the GUI only.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use parking_lot::Mutex;

use crate::bridge::{BlockCell, RenderSync, Telemetry};
use crate::events::GeneratedNote;
use crate::music::critic::Scores;

use super::choice::Pick;
use super::planner::{Veto, VetoOutcome};

/// Planned notes the GUI can see at once.
pub(super) const PLAN_VIEW_NOTES: usize = 128;
/// Vetoes waiting, and outcomes shown, at most.
pub const VETOES_SHOWN: usize = 16;

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
        /// The file it came from; `None` for a built-in model.
        path: Option<PathBuf>,
        /// The built-in model's id ([`crate::BuiltinModel::id`]); `None` for a file.
        builtin: Option<&'static str>,
    },
    /// Loading or running failed; MIDI still passes through.
    Error(String),
}

/// State shared by the audio thread, the worker and the GUI.
#[derive(Debug)]
pub struct WorkerShared {
    /// The audio thread's latest block (playhead, tempo, loop range, meter, epoch). Published by
    /// audio once per block, read by the worker and the GUI.
    pub block: BlockCell,
    /// Figures for the GUI and the log (see [`Telemetry`] for who writes each).
    pub telemetry: Telemetry,
    /// The offline render handshake between audio and worker.
    pub render: RenderSync,
    /// Model status. Written by the worker, read by the GUI; never touched by the audio thread.
    pub status: Mutex<ModelStatus>,
    /// Descant's latest planned notes, oldest first, for the editor's piano roll. Written by the
    /// worker, read by the GUI; never touched by the audio thread.
    pub planned: Mutex<VecDeque<GeneratedNote>>,
    /// The latest answer the critic chose: the winner's scores and how many candidates it was
    /// chosen from. Written by the worker, read by the GUI; never touched by the audio thread.
    pub answer: Mutex<Option<(Scores, u32)>>,
    /// The model the musician picked in the editor, until the worker takes it. Written by the GUI,
    /// taken by the worker; never touched by the audio thread.
    pub pick: Mutex<Option<Pick>>,
    /// What the musician should know about the latest pick or the project's choice (a refusal
    /// and its reason, a fallback); `None` after a pick succeeds. Written by the worker, read by
    /// the GUI, cleared by the GUI when it asks for a new pick; never touched by the audio thread.
    pub notice: Mutex<Option<String>>,
    /// The planned notes the musician vetoed in the roll, until the worker takes them (at most
    /// [`VETOES_SHOWN`] wait). Written by the GUI, taken by the worker; never touched by the
    /// audio thread.
    vetoes: Mutex<Vec<Veto>>,
    /// What became of the latest vetoes, oldest first (the roll marks them, the editor says
    /// the latest). Written by the worker, read by the GUI; never touched by the audio thread.
    pub vetoed: Mutex<VecDeque<VetoOutcome>>,
    /// Where the phrase the musician kept last was saved (or why it could not be). Written by
    /// the worker, read by the GUI; never touched by the audio thread.
    pub kept: Mutex<Option<String>>,
    /// Bumped to ask the worker to load its model again. Written by the GUI (or the main
    /// thread), read by the worker.
    pub(super) reload_request: AtomicU32,
    /// Cleared to ask the worker to exit. Written by the main thread, read by the worker.
    pub(super) running: AtomicBool,
}

impl WorkerShared {
    /// Asks the worker to play `pick` instead of its model, once it has checked it: a refusal
    /// keeps the model playing and says why in [`WorkerShared::notice`]. GUI thread.
    pub fn request_pick(&self, pick: Pick) {
        *self.pick.lock() = Some(pick);
    }

    /// Asks the worker to veto a planned note (the roll's click). GUI thread; a burst beyond
    /// [`VETOES_SHOWN`] waiting is refused.
    pub fn request_veto(&self, veto: Veto) {
        let mut vetoes = self.vetoes.lock();
        if vetoes.len() < VETOES_SHOWN {
            vetoes.push(veto);
        }
    }

    /// The vetoes waiting for the worker, taken. Worker thread (and the editor's tests).
    pub fn take_vetoes(&self) -> Vec<Veto> {
        std::mem::take(&mut *self.vetoes.lock())
    }

    /// Asks the worker to drop its model and load it again (after the user fixed a file, or
    /// after it gave up on repeated internal errors). Any thread; never blocks.
    pub fn request_reload(&self) {
        self.reload_request.fetch_add(1, Ordering::Release);
    }
}

impl Default for WorkerShared {
    fn default() -> Self {
        WorkerShared {
            block: BlockCell::default(),
            telemetry: Telemetry::default(),
            render: RenderSync::default(),
            status: Mutex::new(ModelStatus::Loading),
            planned: Mutex::new(VecDeque::with_capacity(PLAN_VIEW_NOTES)),
            answer: Mutex::new(None),
            pick: Mutex::new(None),
            notice: Mutex::new(None),
            vetoes: Mutex::new(Vec::with_capacity(VETOES_SHOWN)),
            vetoed: Mutex::new(VecDeque::with_capacity(VETOES_SHOWN)),
            kept: Mutex::new(None),
            reload_request: AtomicU32::new(0),
            running: AtomicBool::new(true),
        }
    }
}
