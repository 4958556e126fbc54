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

/// The shipped model (the `.onnx` bytes), compiled in so one install is complete.
pub const SHIPPED_MODEL: &[u8] = include_bytes!("../../assets/descant.onnx");
/// The shipped model's sidecar.
pub const SHIPPED_SIDECAR: &str = include_str!("../../assets/descant.json");
/// The shipped model's originality index (see [`music::originality`]).
pub const SHIPPED_NGRAMS: &[u8] = include_bytes!("../../assets/descant.ngrams");
