//! Finding and loading the ONNX Runtime shared library (ort's `load-dynamic`), once per process.
//! Called on the inference worker (or in tests and tools); may do file I/O and allocate.
//!
//! Guarantees: no `ort` API is touched before [`ensure_runtime`] has loaded the library, so a
//! missing library is an error value, never a panic. The environment is built once per process
//! and kept alive for its lifetime; a failed attempt is not cached, so a later one may succeed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use parking_lot::Mutex;

use crate::error::ModelError;

/// Environment variable that overrides where the ONNX Runtime library is loaded from.
pub const ORT_LIBRARY_ENV: &str = "DESCANT_ORT_LIB";

/// The library's file name, as `cargo xtask fetch-ort` places it beside the plugin.
#[cfg(target_os = "linux")]
pub const ORT_LIBRARY_FILE: &str = crate::model::ort_version::ORT_LIBRARY_LINUX;
/// The library's file name, as `cargo xtask fetch-ort` places it beside the plugin.
#[cfg(target_os = "macos")]
pub const ORT_LIBRARY_FILE: &str = crate::model::ort_version::ORT_LIBRARY_MACOS;
/// The library's file name, as `cargo xtask fetch-ort` places it beside the plugin.
#[cfg(target_os = "windows")]
pub const ORT_LIBRARY_FILE: &str = crate::model::ort_version::ORT_LIBRARY_WINDOWS;

/// The process-wide environment, alive for the process' lifetime once built.
static ENVIRONMENT: OnceLock<ort::environment::Environment> = OnceLock::new();
/// Serialises load attempts from several plugin instances.
static LOADING: Mutex<()> = Mutex::new(());

/// Where the library is looked for: `$DESCANT_ORT_LIB` if set, else [`ORT_LIBRARY_FILE`] in
/// `beside` (the directory of the plugin binary).
pub fn library_path(beside: Option<&Path>) -> PathBuf {
    match std::env::var_os(ORT_LIBRARY_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => beside
            .map(|d| d.join(ORT_LIBRARY_FILE))
            .unwrap_or_else(|| PathBuf::from(ORT_LIBRARY_FILE)),
    }
}

/// Loads ONNX Runtime from `path` and builds the process' environment, unless that already
/// happened.
pub fn ensure_runtime(path: &Path) -> Result<(), ModelError> {
    let _guard = LOADING.lock();
    if ENVIRONMENT.get().is_some() {
        return Ok(());
    }
    let fail = |reason: String| ModelError::Runtime {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_file() {
        return Err(fail(
            "file not found (run `cargo xtask fetch-ort`, or set DESCANT_ORT_LIB)".into(),
        ));
    }
    let builder = ort::init_from(path).map_err(|e| fail(e.to_string()))?;
    let env = builder
        .with_name("descant")
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let _ = ENVIRONMENT.set(env);
    Ok(())
}

/// The process' environment, once [`ensure_runtime`] has succeeded.
pub fn environment() -> Option<&'static ort::environment::Environment> {
    ENVIRONMENT.get()
}
