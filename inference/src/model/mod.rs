//! The model: its contract (the sidecar) and the vetting of a model file before ONNX Runtime reads
//! it, the token grammar it speaks, ONNX Runtime loaded at run time, and the step model with its
//! KV cache (one line, or a batch of candidate lines). Worker thread (or tests and tools).

pub mod batch;
pub mod contract;
mod onnx;
/// The ONNX Runtime release Descant loads and its library's file names (shared with `xtask`).
pub mod ort_version;
pub mod runtime;
pub mod step;
pub mod tokenizer;
pub mod vetting;

pub use onnx::{sidecar_path, Model, State, MAX_MODEL_BYTES, MAX_SIDECAR_BYTES};
