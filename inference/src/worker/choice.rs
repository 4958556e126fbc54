//! Which model plays: the musician's pick in the editor and the choice a project keeps. Plain
//! data and pure decisions; the worker acts on them (see `thread`).
//!
//! Guarantees: a pick is tried before the playing model is let go, so a refused pick changes
//! nothing; a project's choice is kept as the project saved it (path and SHA-256 of the model's
//! bytes), and a missing or changed file plays the default model with a notice saying why, without
//! rewriting the choice (the file may come back: a disk not mounted yet).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::contract::ModelContract;
use crate::model::sidecar_path;

/// Where the model comes from. [`WorkerConfig::model`](super::config::WorkerConfig::model) is the default one: what plays when no
/// model is chosen, and what a missing chosen file falls back to.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// Bytes compiled into the plugin.
    Embedded {
        /// The `.onnx` bytes.
        onnx: &'static [u8],
        /// The sidecar JSON.
        sidecar: &'static str,
        /// The originality index, if the model has one.
        ngrams: Option<&'static [u8]>,
    },
    /// A `.onnx` file with its `.json` sidecar beside it (and optionally its `.ngrams` index).
    File(PathBuf),
}

/// The model a project plays when it is not the default one: the `.onnx` file and the SHA-256 of
/// its bytes when it was chosen (the sidecar's digest, which loading checks against the bytes).
/// Persisted with the project; untrusted on the way in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelChoice {
    /// The `.onnx` file.
    pub path: PathBuf,
    /// Lowercase hex SHA-256 of its bytes.
    pub sha256: String,
}

/// Longest path a persisted choice may name (a project file is untrusted input).
const MAX_CHOICE_PATH: usize = 4096;

impl ModelChoice {
    /// Whether a persisted choice is well formed: a path of sane length and a 64-digit digest.
    pub fn is_well_formed(&self) -> bool {
        let path_len = self.path.as_os_str().len();
        (1..=MAX_CHOICE_PATH).contains(&path_len)
            && self.sha256.len() == 64
            && self.sha256.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// What the musician asked the editor for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// The default model: the built-in one, or `DESCANT_MODEL`'s when that is set.
    Default,
    /// A model file (an `.onnx` with its sidecar beside it).
    File(PathBuf),
}

/// What a project's choice means now: the source to load, and a notice for the musician when the
/// choice cannot be honoured.
pub fn source_for_choice(
    choice: Option<&ModelChoice>,
    default: &ModelSource,
) -> (ModelSource, Option<String>) {
    let Some(choice) = choice else {
        return (default.clone(), None);
    };
    let fallback = |why: String| {
        (
            default.clone(),
            Some(format!(
                "This project's model {} {why}: playing the default model instead. The project \
                 keeps its choice; pick a model to change it.",
                choice.path.display()
            )),
        )
    };
    if !choice.is_well_formed() {
        return fallback("is not a well-formed choice".to_owned());
    }
    if !choice.path.is_file() {
        return fallback("is missing".to_owned());
    }
    match sidecar_digest(&choice.path) {
        Ok(digest) if digest.eq_ignore_ascii_case(&choice.sha256) => {
            (ModelSource::File(choice.path.clone()), None)
        }
        Ok(_) => fallback("has changed since the project chose it".to_owned()),
        Err(reason) => fallback(format!("cannot be read ({reason})")),
    }
}

/// The SHA-256 the sidecar of `model` states for its bytes (loading checks the bytes against it).
pub fn sidecar_digest(model: &Path) -> Result<String, String> {
    let path = sidecar_path(model);
    let text =
        crate::files::catalog::read_small(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let contract = ModelContract::parse(&text).map_err(|e| e.to_string())?;
    Ok(contract.sha256.trim().to_lowercase())
}

/// How the musician reads a source in a notice.
pub fn source_name(source: &ModelSource) -> String {
    match source {
        ModelSource::Embedded { .. } => "the built-in model".to_owned(),
        ModelSource::File(path) => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: ModelSource = ModelSource::Embedded {
        onnx: crate::SHIPPED_MODEL,
        sidecar: crate::SHIPPED_SIDECAR,
        ngrams: None,
    };

    fn shipped_sha() -> String {
        ModelContract::parse(crate::SHIPPED_SIDECAR).unwrap().sha256
    }

    /// A folder holding a copy of the shipped sidecar as `m.json` beside an `m.onnx`.
    fn model_file(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("descant-choice-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let model = dir.join("m.onnx");
        std::fs::write(&model, b"bytes the worker checks").unwrap();
        std::fs::write(sidecar_path(&model), crate::SHIPPED_SIDECAR).unwrap();
        model
    }

    fn is_default(source: &ModelSource) -> bool {
        matches!(source, ModelSource::Embedded { .. })
    }

    #[test]
    fn no_choice_plays_the_default_without_a_notice() {
        let (source, notice) = source_for_choice(None, &DEFAULT);
        assert!(is_default(&source));
        assert_eq!(notice, None);
    }

    #[test]
    fn an_unchanged_file_is_played() {
        let path = model_file("same");
        let choice = ModelChoice {
            path: path.clone(),
            sha256: shipped_sha().to_uppercase(),
        };
        let (source, notice) = source_for_choice(Some(&choice), &DEFAULT);
        assert!(matches!(source, ModelSource::File(p) if p == path));
        assert_eq!(notice, None);
    }

    #[test]
    fn a_missing_file_falls_back_with_a_notice() {
        let choice = ModelChoice {
            path: PathBuf::from("/nonexistent/descant/m.onnx"),
            sha256: shipped_sha(),
        };
        let (source, notice) = source_for_choice(Some(&choice), &DEFAULT);
        assert!(is_default(&source));
        let notice = notice.unwrap();
        assert!(notice.contains("is missing") && notice.contains("/nonexistent/descant/m.onnx"));
    }

    #[test]
    fn a_changed_file_falls_back_with_a_notice() {
        let path = model_file("changed");
        let choice = ModelChoice {
            path,
            sha256: "0".repeat(64),
        };
        let (source, notice) = source_for_choice(Some(&choice), &DEFAULT);
        assert!(is_default(&source));
        assert!(notice.unwrap().contains("has changed"));
    }

    #[test]
    fn a_malformed_choice_falls_back_with_a_notice() {
        for choice in [
            ModelChoice {
                path: PathBuf::new(),
                sha256: shipped_sha(),
            },
            ModelChoice {
                path: model_file("short"),
                sha256: "abc".into(),
            },
        ] {
            let (source, notice) = source_for_choice(Some(&choice), &DEFAULT);
            assert!(is_default(&source));
            assert!(notice.unwrap().contains("not a well-formed choice"));
        }
    }

    #[test]
    fn a_file_with_a_broken_sidecar_falls_back_with_the_reason() {
        let path = model_file("broken");
        std::fs::write(sidecar_path(&path), "{").unwrap();
        let choice = ModelChoice {
            path,
            sha256: shipped_sha(),
        };
        let (source, notice) = source_for_choice(Some(&choice), &DEFAULT);
        assert!(is_default(&source));
        assert!(notice.unwrap().contains("cannot be read"));
    }
}
