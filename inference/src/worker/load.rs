//! Loading the runtime, the model and its originality index; noticing when their files change;
//! the debug-only injected faults. Runs on the worker thread (and in tools); allocates and reads
//! files.
//!
//! Guarantees: nothing here panics on a missing, damaged or oversized file: each gives a
//! [`ModelError`] that names the file or the reason.

use std::path::Path;

use crate::error::ModelError;
use crate::model::runtime;
use crate::model::Model;
use crate::music::originality::NgramIndex;

use super::choice::ModelSource;
use super::config::WorkerConfig;

/// Debug builds only: the environment variable that injects a fault into the worker, for the
/// fault tests (`panic-once`, `panic-always`). Release builds do not read it.
#[cfg(debug_assertions)]
pub const FAULT_ENV: &str = "DESCANT_FAULT";

/// Loads the runtime and the model described by `config`.
pub fn load_model(config: &WorkerConfig) -> Result<Model, ModelError> {
    runtime::ensure_runtime(&config.ort_library)?;
    match &config.model {
        ModelSource::Embedded { onnx, sidecar, .. } => Model::from_bytes(onnx, sidecar),
        ModelSource::File(path) => Model::from_file(path),
    }
}

/// Largest originality index file read from disk.
const MAX_NGRAMS_FILE: u64 = 64 * 1024 * 1024;

/// Loads the model's originality index: `None` when it has none, an error when it is broken.
pub fn load_ngrams(source: &ModelSource) -> Result<Option<NgramIndex>, ModelError> {
    match source {
        ModelSource::Embedded { ngrams, .. } => ngrams.map(NgramIndex::from_bytes).transpose(),
        ModelSource::File(path) => {
            let path = path.with_extension("ngrams");
            match std::fs::metadata(&path) {
                Err(_) => Ok(None),
                Ok(m) if m.len() > MAX_NGRAMS_FILE => Err(ModelError::Contract(format!(
                    "originality index {} is larger than {MAX_NGRAMS_FILE} bytes",
                    path.display()
                ))),
                Ok(_) => {
                    let bytes = std::fs::read(&path).map_err(|source| ModelError::Io {
                        path: path.clone(),
                        source,
                    })?;
                    NgramIndex::from_bytes(&bytes).map(Some)
                }
            }
        }
    }
}

/// Size and modification time of each file a load reads, to notice when one is replaced.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct FilesSeen(Vec<Option<(u64, std::time::SystemTime)>>);

impl FilesSeen {
    /// The files `config` loads from, as they are now.
    pub(super) fn of(config: &WorkerConfig) -> FilesSeen {
        let stat = |p: &Path| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.len(), m.modified().unwrap_or(std::time::UNIX_EPOCH)))
        };
        let mut files = vec![stat(&config.ort_library)];
        if let ModelSource::File(model) = &config.model {
            files.push(stat(model));
            files.push(stat(&crate::model::sidecar_path(model)));
        }
        FilesSeen(files)
    }
}

/// Debug builds: a fault the tests inject into the worker through [`FAULT_ENV`].
#[cfg(debug_assertions)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Fault {
    /// None.
    None,
    /// Panic once, after the first note is planned.
    PanicOnce,
    /// Panic in every turn once a note has been planned (restarts included).
    PanicAlways,
}

#[cfg(debug_assertions)]
impl Fault {
    pub(super) fn from_env() -> Fault {
        let text = std::env::var(FAULT_ENV).unwrap_or_default();
        match text.as_str() {
            "panic-once" => Fault::PanicOnce,
            "panic-always" => Fault::PanicAlways,
            _ => Fault::None,
        }
    }
}

/// The text of a caught panic's payload.
pub(super) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}
