//! The inference worker: the thread that owns the ONNX Runtime session, listens to what the
//! player does and plans Descant's notes ahead of the playhead.
//!
//! One file per part:
//! - [`thread`]: the thread and its turn loop (spawn, stop, load on request, catch panics);
//! - `outlet`: where the planner's notes, retractions and figures go (the worker's `PlanSink`);
//! - [`load`]: loading the runtime, the model and its originality index; watching their files;
//! - `planner/`: the decisions, as plain synchronous code over [`crate::model::step::StepModel`]: one
//!   planner per mode (Answer, Continue, Loop) and what they share, unit-tested on a fake model;
//! - [`choice`]: which model plays (the editor's pick, the project's choice);
//! - [`config`]: how a worker is started and the live settings it reads;
//! - [`shared`]: what the audio thread, the worker and the GUI share.
//!
//! Threads: the audio thread talks to the worker only through the two SPSC queues and the atomics
//! in [`WorkerShared`]; the GUI reads [`WorkerShared::status`] and the figures there.

pub mod choice;
pub mod config;
pub mod load;
pub mod lookahead;
mod outlet;
pub(crate) mod planner;
pub mod shared;
pub mod thread;

pub use choice::ModelSource;
pub use choice::{ModelChoice, Pick};
pub use config::{AnswerLength, Hearing, SettingsSource, WorkerConfig, WorkerSettings};
#[cfg(debug_assertions)]
pub use load::FAULT_ENV;
pub use load::{load_model, load_ngrams};
pub use planner::{
    Action, PlanSink, PlanTime, Planner, Veto, VetoOutcome, MATCH_CAP_BARS, START_GRID_TICKS,
};
pub use shared::{ModelStatus, WorkerShared};
pub use thread::{InferenceWorker, MAX_PANICS, OFFLINE_LOOKAHEAD_BEATS, PANIC_WINDOW};
