//! Which model plays: the musician's pick in the editor and the choice a project keeps. Plain
//! data and pure decisions; the worker acts on them (see `thread`).
//!
//! Guarantees: a pick is tried before the playing model is let go, so a refused pick changes
//! nothing; a project's choice is kept as the project saved it (a built-in model by its id, a
//! file by path and SHA-256 of its bytes), and a missing or changed file, or an unknown built-in,
//! plays the default model with a notice saying why, without rewriting the choice (the file may
//! come back: a disk not mounted yet). A project saved before `descant-open` became the default
//! states no choice, and plays the model it played then: the non-commercial one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::contract::ModelContract;
use crate::model::sidecar_path;
use crate::BuiltinModel;

/// Where the model comes from. [`WorkerConfig::model`](super::config::WorkerConfig::model) is the default one: what plays when no
/// model is chosen, and what a missing chosen file falls back to.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// Bytes compiled into the plugin.
    Embedded {
        /// The built-in model's id ([`BuiltinModel::id`]).
        id: &'static str,
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

impl ModelSource {
    /// The source of a built-in model.
    pub fn builtin(model: BuiltinModel) -> ModelSource {
        ModelSource::Embedded {
            id: model.id,
            onnx: model.onnx,
            sidecar: model.sidecar,
            ngrams: Some(model.ngrams),
        }
    }

    /// Whether two sources are the same model (the same built-in, or the same file).
    pub fn same_as(&self, other: &ModelSource) -> bool {
        match (self, other) {
            (ModelSource::Embedded { id: a, .. }, ModelSource::Embedded { id: b, .. }) => a == b,
            (ModelSource::File(a), ModelSource::File(b)) => a == b,
            _ => false,
        }
    }
}

/// The model a project plays: the default model, a built-in one, or an `.onnx` file with the
/// SHA-256 of its bytes when it was chosen (the sidecar's digest, which loading checks against
/// the bytes). Persisted with the project; untrusted on the way in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelChoice {
    /// The `.onnx` file (empty for a built-in model).
    pub path: PathBuf,
    /// Lowercase hex SHA-256 of its bytes (empty for a built-in model).
    pub sha256: String,
    /// A built-in model instead of a file: its id, or [`DEFAULT_CHOICE`] for the default model
    /// (the built-in `descant-open`, or `DESCANT_MODEL`'s file where that is set). Absent in the
    /// choices of projects saved before there was more than one built-in model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<String>,
}

/// [`ModelChoice::builtin`]'s value for "the default model".
pub const DEFAULT_CHOICE: &str = "default";

/// Longest path a persisted choice may name (a project file is untrusted input).
const MAX_CHOICE_PATH: usize = 4096;
/// Longest built-in id a persisted choice may name.
const MAX_BUILTIN_ID: usize = 64;

impl ModelChoice {
    /// The default model: what a new project chooses.
    pub fn default_model() -> ModelChoice {
        ModelChoice::of_builtin(DEFAULT_CHOICE)
    }

    /// The built-in model `id`.
    pub fn of_builtin(id: &str) -> ModelChoice {
        ModelChoice {
            path: PathBuf::new(),
            sha256: String::new(),
            builtin: Some(id.to_owned()),
        }
    }

    /// The model file `path`, whose bytes have the digest `sha256`.
    pub fn of_file(path: PathBuf, sha256: String) -> ModelChoice {
        ModelChoice {
            path,
            sha256,
            builtin: None,
        }
    }

    /// Whether a persisted choice is well formed: a built-in id of sane length and characters,
    /// or a path of sane length and a 64-digit digest.
    pub fn is_well_formed(&self) -> bool {
        if let Some(id) = &self.builtin {
            return (1..=MAX_BUILTIN_ID).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        }
        let path_len = self.path.as_os_str().len();
        (1..=MAX_CHOICE_PATH).contains(&path_len)
            && self.sha256.len() == 64
            && self.sha256.bytes().all(|b| b.is_ascii_hexdigit())
    }

    /// How the musician reads it in a notice.
    fn name(&self) -> String {
        match &self.builtin {
            Some(id) => format!("built-in model '{id}'"),
            None => format!("model {}", self.path.display()),
        }
    }
}

/// What the musician asked the editor for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// The default model: the built-in `descant-open`, or `DESCANT_MODEL`'s when that is set.
    Default,
    /// A built-in model by its id ([`crate::BUILTIN_MODELS`]).
    Builtin(String),
    /// A model file (an `.onnx` with its sidecar beside it).
    File(PathBuf),
}

impl Pick {
    /// The pick of the built-in model `id`: the default model's is [`Pick::Default`] (so that
    /// `DESCANT_MODEL` still stands in for it), any other is [`Pick::Builtin`].
    pub fn of_builtin(id: &str) -> Pick {
        if id == crate::DEFAULT_BUILTIN.id {
            Pick::Default
        } else {
            Pick::Builtin(id.to_owned())
        }
    }
}

/// What a project's choice means now: the source to load, and a notice for the musician when the
/// choice cannot be honoured. `default` is the default model's source. A project with no choice
/// was saved before `descant-open`: it plays the non-commercial model it played then (or
/// `default` where that is a file, `DESCANT_MODEL`'s).
pub fn source_for_choice(
    choice: Option<&ModelChoice>,
    default: &ModelSource,
) -> (ModelSource, Option<String>) {
    let Some(choice) = choice else {
        return match default {
            ModelSource::Embedded { .. } => (ModelSource::builtin(crate::NON_COMMERCIAL), None),
            ModelSource::File(_) => (default.clone(), None),
        };
    };
    let fallback = |why: String| {
        (
            default.clone(),
            Some(format!(
                "This project's {} {why}: playing the default model instead. The project keeps \
                 its choice; pick a model to change it.",
                choice.name()
            )),
        )
    };
    if !choice.is_well_formed() {
        return fallback("is not a well-formed choice".to_owned());
    }
    if let Some(id) = &choice.builtin {
        if id == DEFAULT_CHOICE {
            return (default.clone(), None);
        }
        return match crate::builtin_model(id) {
            Some(model) => (ModelSource::builtin(model), None),
            None => fallback("is not in this version of Descant".to_owned()),
        };
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
        ModelSource::Embedded { id, .. } => format!("the built-in model '{id}'"),
        ModelSource::File(path) => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default model (the built-in `descant-open`), as the plugin's worker has it.
    static DEFAULT: std::sync::LazyLock<ModelSource> =
        std::sync::LazyLock::new(|| ModelSource::builtin(crate::OPEN));

    fn shipped_sha() -> String {
        ModelContract::parse(crate::NON_COMMERCIAL_SIDECAR)
            .unwrap()
            .sha256
    }

    /// A folder holding a copy of the shipped sidecar as `m.json` beside an `m.onnx`.
    fn model_file(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("descant-choice-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let model = dir.join("m.onnx");
        std::fs::write(&model, b"bytes the worker checks").unwrap();
        std::fs::write(sidecar_path(&model), crate::NON_COMMERCIAL_SIDECAR).unwrap();
        model
    }

    fn is_default(source: &ModelSource) -> bool {
        matches!(source, ModelSource::Embedded { id, .. } if *id == crate::OPEN.id)
    }

    #[test]
    fn a_new_projects_choice_plays_the_default_without_a_notice() {
        let (source, notice) = source_for_choice(Some(&ModelChoice::default_model()), &DEFAULT);
        assert!(is_default(&source));
        assert_eq!(notice, None);
    }

    #[test]
    fn a_project_saved_before_the_open_model_plays_the_non_commercial_one() {
        let (source, notice) = source_for_choice(None, &DEFAULT);
        assert!(source.same_as(&ModelSource::builtin(crate::NON_COMMERCIAL)));
        assert_eq!(notice, None);
        // With `DESCANT_MODEL` set, its file is every project's default.
        let file = ModelSource::File(PathBuf::from("/m.onnx"));
        assert!(source_for_choice(None, &file).0.same_as(&file));
    }

    #[test]
    fn a_built_in_model_is_chosen_by_its_id_and_an_unknown_one_falls_back() {
        let choice = ModelChoice::of_builtin("descant");
        let (source, notice) = source_for_choice(Some(&choice), &DEFAULT);
        assert!(source.same_as(&ModelSource::builtin(crate::NON_COMMERCIAL)));
        assert_eq!(notice, None);
        let (source, notice) =
            source_for_choice(Some(&ModelChoice::of_builtin("descant-9")), &DEFAULT);
        assert!(is_default(&source));
        assert!(notice
            .unwrap()
            .contains("built-in model 'descant-9' is not in this version"));
        let bad = ModelChoice::of_builtin("../../etc");
        assert!(source_for_choice(Some(&bad), &DEFAULT)
            .1
            .unwrap()
            .contains("not a well-formed choice"));
    }

    #[test]
    fn a_choice_reads_back_as_it_was_written_and_a_file_choice_of_0_3_still_reads() {
        for choice in [
            ModelChoice::default_model(),
            ModelChoice::of_builtin("descant"),
            ModelChoice::of_file(PathBuf::from("/m.onnx"), "a".repeat(64)),
        ] {
            let json = serde_json::to_string(&choice).unwrap();
            assert_eq!(serde_json::from_str::<ModelChoice>(&json).unwrap(), choice);
        }
        let old: ModelChoice = serde_json::from_str(&format!(
            r#"{{"path":"/m.onnx","sha256":"{}"}}"#,
            "b".repeat(64)
        ))
        .unwrap();
        assert_eq!(old.builtin, None);
        assert!(old.is_well_formed());
    }

    #[test]
    fn an_unchanged_file_is_played() {
        let path = model_file("same");
        let choice = ModelChoice::of_file(path.clone(), shipped_sha().to_uppercase());
        let (source, notice) = source_for_choice(Some(&choice), &DEFAULT);
        assert!(matches!(source, ModelSource::File(p) if p == path));
        assert_eq!(notice, None);
    }

    #[test]
    fn a_missing_file_falls_back_with_a_notice() {
        let choice =
            ModelChoice::of_file(PathBuf::from("/nonexistent/descant/m.onnx"), shipped_sha());
        let (source, notice) = source_for_choice(Some(&choice), &DEFAULT);
        assert!(is_default(&source));
        let notice = notice.unwrap();
        assert!(notice.contains("is missing") && notice.contains("/nonexistent/descant/m.onnx"));
    }

    #[test]
    fn a_changed_file_falls_back_with_a_notice() {
        let path = model_file("changed");
        let choice = ModelChoice::of_file(path, "0".repeat(64));
        let (source, notice) = source_for_choice(Some(&choice), &DEFAULT);
        assert!(is_default(&source));
        assert!(notice.unwrap().contains("has changed"));
    }

    #[test]
    fn a_malformed_choice_falls_back_with_a_notice() {
        for choice in [
            ModelChoice::of_file(PathBuf::new(), shipped_sha()),
            ModelChoice::of_file(model_file("short"), "abc".into()),
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
        let choice = ModelChoice::of_file(path, shipped_sha());
        let (source, notice) = source_for_choice(Some(&choice), &DEFAULT);
        assert!(is_default(&source));
        assert!(notice.unwrap().contains("cannot be read"));
    }
}
