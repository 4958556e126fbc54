//! Descant's engine, independent of any plugin framework: the token grammar, the ONNX step model
//! and its contract, the sampler, the beat-time generator and the inference worker thread.
//!
//! Threads: everything here runs on the inference worker (or in tests and tools) except what the
//! audio thread also uses: the `Copy` events of [`events`] (the SPSC queues), the onset choice of
//! [`onset`], the block snapshot, telemetry and render handshake of [`bridge`], and the pure time
//! arithmetic of [`time`]; none of them allocates or blocks.
//!
//! ```
//! use descant_inference::tokenizer::{decode, encode, Meter, TickNote};
//! let notes = [TickNote { onset: 0, duration: 12, key: 60 }, TickNote { onset: 12, duration: 6, key: 64 }];
//! let tokens = encode(&notes, Meter::FOUR_FOUR, None);
//! assert_eq!(decode(&tokens).0, notes);
//! ```

pub mod batch;
pub mod bridge;
pub mod catalog;
pub mod contract;
pub mod critic;
pub mod error;
pub mod events;
pub mod feel;
pub mod generator;
pub mod key;
pub mod lookahead;
pub mod melody_lines;
pub mod midi_file;
pub mod model;
pub mod onset;
pub mod originality;
/// The ONNX Runtime release Descant loads and its library's file names (shared with `xtask`).
pub mod ort_version;
pub mod phrasing;
pub mod presets;
pub mod runtime;
pub mod sampler;
pub mod shaping;
pub mod steering;
pub mod step;
pub mod take;
pub mod time;
pub mod tokenizer;
pub mod vetting;
pub mod worker;

pub use error::ModelError;

/// The shipped model (the `.onnx` bytes), compiled in so one install is complete.
pub const SHIPPED_MODEL: &[u8] = include_bytes!("../../assets/descant.onnx");
/// The shipped model's sidecar.
pub const SHIPPED_SIDECAR: &str = include_str!("../../assets/descant.json");
/// The shipped model's originality index (see [`originality`]).
pub const SHIPPED_NGRAMS: &[u8] = include_bytes!("../../assets/descant.ngrams");
