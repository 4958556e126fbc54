//! Errors of the engine. Built on the inference worker or in tests, never on the audio thread.

use std::path::PathBuf;

/// Why a model could not be loaded or run. The `Display` text is what the GUI and the log show.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The ONNX Runtime shared library could not be found or loaded.
    #[error("ONNX Runtime library not loaded ({path}): {reason}")]
    Runtime {
        /// Where it was looked for.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A model or sidecar file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The sidecar JSON is not valid.
    #[error("model sidecar is malformed: {0}")]
    Sidecar(String),
    /// The sidecar or graph does not match contract v1.
    #[error("model does not fit Descant's contract: {0}")]
    Contract(String),
    /// The model file was refused before ONNX Runtime saw it (see [`crate::model::vetting`]).
    #[error("model refused: {0}")]
    Untrusted(String),
    /// ONNX Runtime refused the model or failed to run it.
    #[error("ONNX Runtime: {0}")]
    Ort(String),
}

impl From<ort::Error> for ModelError {
    fn from(e: ort::Error) -> Self {
        ModelError::Ort(e.to_string())
    }
}
