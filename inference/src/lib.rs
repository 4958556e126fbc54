//! Descant's engine, independent of any plugin framework: the token grammar, the ONNX step model
//! and its contract, the sampler, the beat-time generator and the inference worker thread.
//!
//! The folders say what they hold: [`model`] (the model contract and its vetting, the token
//! grammar, ONNX Runtime and the step model), [`decode`] (the generator, the sampler, steering and
//! logit shaping), [`music`] (key, time, phrasing, the critic, the onset choice, feel,
//! originality), [`files`] (MIDI files, takes, presets, the model catalog, melody lines) and
//! [`worker`] (the inference thread and its planners); [`events`] and [`bridge`] are what crosses
//! between the threads.
//!
//! Threads: everything here runs on the inference worker (or in tests and tools) except what the
//! audio thread also uses: the `Copy` events of [`events`] (the SPSC queues), the onset choice of
//! [`music::onset`], the block snapshot, telemetry and render handshake of [`bridge`], and the
//! pure time arithmetic of [`music::time`]; none of them allocates or blocks.
//!
//! ```
//! use descant_inference::model::tokenizer::{decode, encode, Meter, TickNote};
//! let notes = [TickNote { onset: 0, duration: 12, key: 60 }, TickNote { onset: 12, duration: 6, key: 64 }];
//! let tokens = encode(&notes, Meter::FOUR_FOUR, None);
//! assert_eq!(decode(&tokens).0, notes);
//! ```

pub mod bridge;
pub mod decode;
pub mod error;
pub mod events;
pub mod files;
pub mod model;
pub mod music;
pub mod worker;

pub use error::ModelError;

/// A model compiled into the plugin, so one install is complete: the `.onnx` bytes, the sidecar
/// and the originality index. The built-in models are `static`s, not `const`s: a `const` is
/// copied where it is used, and so would be its megabytes.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinModel {
    /// How a project names it when it chooses it (`ModelChoice::builtin`); never changed once
    /// shipped.
    pub id: &'static str,
    /// The `.onnx` bytes.
    pub onnx: &'static [u8],
    /// The sidecar JSON (its `licence` and `terms` say what a musician may do with what it plays).
    pub sidecar: &'static str,
    /// The originality index (see [`music::originality`]).
    pub ngrams: &'static [u8],
}

/// `descant-open`: learned only from collections whose terms allow released music (`docs/DATA.md`).
/// The default model of a new project.
pub static OPEN: BuiltinModel = BuiltinModel {
    id: "descant-open",
    onnx: include_bytes!("../../assets/descant-open.onnx"),
    sidecar: include_str!("../../assets/descant-open.json"),
    ngrams: include_bytes!("../../assets/descant-open.ngrams"),
};

/// The non-commercial model: learned from the whole corpus, the Essen collection included, so
/// what it plays is for non-commercial use only. Five styles and voice pairs; what every project
/// saved before `descant-open` played.
pub static NON_COMMERCIAL: BuiltinModel = BuiltinModel {
    id: "descant",
    onnx: NON_COMMERCIAL_MODEL,
    sidecar: NON_COMMERCIAL_SIDECAR,
    ngrams: NON_COMMERCIAL_NGRAMS,
};

/// The built-in models, the default first (the editor's Model list shows them in this order).
pub static BUILTIN_MODELS: [BuiltinModel; 2] = [OPEN, NON_COMMERCIAL];

/// The built-in model a new project plays.
pub static DEFAULT_BUILTIN: BuiltinModel = BUILTIN_MODELS[0];

/// The built-in model of `id`, if there is one.
pub fn builtin_model(id: &str) -> Option<BuiltinModel> {
    BUILTIN_MODELS.iter().copied().find(|m| m.id == id)
}

/// The non-commercial model's `.onnx` bytes (the five-style model the engine's tests play).
pub static NON_COMMERCIAL_MODEL: &[u8] = include_bytes!("../../assets/descant.onnx");
/// The non-commercial model's sidecar.
pub static NON_COMMERCIAL_SIDECAR: &str = include_str!("../../assets/descant.json");
/// The non-commercial model's originality index (see [`music::originality`]).
pub static NON_COMMERCIAL_NGRAMS: &[u8] = include_bytes!("../../assets/descant.ngrams");
