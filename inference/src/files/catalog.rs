//! The models a musician can pick: the built-in ones and every model in the models folder
//! (`~/Descant/models/NAME/`, where `descant learn` writes), each described by its sidecar alone.
//! Runs on the GUI thread (the picker's list) and in tools; reads small files, never a model.
//!
//! Guarantees: listing never loads a model, never panics on a damaged folder or file, and reads
//! at most [`MAX_DESCRIBE_BYTES`] of any file: a model whose sidecar is missing or bad is listed
//! with the reason (and cannot be picked), so the musician sees why it is not offered. Describing a
//! model is not vetting it: the worker checks the contract and the graph before it switches.

use std::path::{Path, PathBuf};

use crate::model::contract::ModelContract;
use crate::model::sidecar_path;

/// Environment variable naming the models folder instead of `~/Descant/models` (tests, and
/// musicians who keep their models elsewhere).
pub const MODELS_DIR_ENV: &str = "DESCANT_MODELS_DIR";
/// Most models the list shows (a folder with more is not read further).
pub const MAX_LISTED: usize = 200;
/// Largest sidecar or model card read to describe a model.
pub const MAX_DESCRIBE_BYTES: u64 = 1024 * 1024;
/// Said when a model states no licence.
pub const NO_LICENCE: &str = "no licence stated";

/// What a musician may do with what a model plays: the sidecar's `terms`, else read from its
/// licence line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terms {
    /// It learned only from sources whose terms allow it (`docs/DATA.md`): use what it plays in
    /// released music.
    Open,
    /// It learned from a source licensed for non-commercial use only.
    NonCommercial,
    /// Its sidecar and model card say neither.
    Unstated,
}

impl Terms {
    /// The terms a sidecar states (`"terms"`), else those its licence line implies.
    pub fn read(terms: Option<&str>, licence: &str) -> Terms {
        match terms {
            Some("open") => Terms::Open,
            Some("non-commercial") => Terms::NonCommercial,
            _ if licence.to_lowercase().contains("non-commercial") => Terms::NonCommercial,
            _ => Terms::Unstated,
        }
    }

    /// What the musician reads beside the model's name (the editor, the Model list, `descant
    /// models`, the model cards and the installer say the same words).
    pub fn says(self) -> &'static str {
        match self {
            Terms::Open => "You may use what it plays in released music",
            Terms::NonCommercial => "Non-commercial use only",
            Terms::Unstated => "Terms not stated: ask whoever made it",
        }
    }

    /// The sidecar's word for them (`descant learn` writes it into a learned model's sidecar).
    pub fn word(self) -> &'static str {
        match self {
            Terms::Open => "open",
            Terms::NonCommercial => "non-commercial",
            Terms::Unstated => "unstated",
        }
    }
}

/// What the picker shows of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The `.onnx` file; `None` for a built-in model.
    pub path: Option<PathBuf>,
    /// The built-in model's id; `None` for a file.
    pub builtin: Option<&'static str>,
    /// The sidecar's name (or the file's name when the sidecar cannot be read).
    pub name: String,
    /// The styles it declares, as the musician reads them (see [`style_name`]), in control order.
    pub styles: Vec<String>,
    /// Its licence line: the sidecar's `licence`, else its model card's line about the licence.
    pub licence: String,
    /// What a musician may do with what it plays.
    pub terms: Terms,
    /// Why it cannot be picked, when its sidecar is missing or does not meet the contract.
    pub problem: Option<String>,
}

impl ModelInfo {
    /// Its styles as a musician reads them in a line: "none", or their names, comma-separated.
    pub fn styles_text(&self) -> String {
        if self.styles.is_empty() {
            "none".to_owned()
        } else {
            self.styles.join(", ")
        }
    }
}

/// Descant's folder in the user's home (`~/Descant`: models, takes, learning tools); `None`
/// when neither `HOME` nor `USERPROFILE` is set.
pub fn descant_home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(|home| Path::new(&home).join("Descant"))
}

/// The folder learned and downloaded models live in: [`MODELS_DIR_ENV`], else `~/Descant/models`.
pub fn models_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(MODELS_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    descant_home().map(|d| d.join("models"))
}

/// The name a musician reads for a style id of a sidecar: the built-in styles' names, "Yours" for
/// the style `descant learn` adds, and any other id as it is written.
pub fn style_name(id: &str) -> String {
    match id {
        "folk-european" => "European folk",
        "folk-chinese" => "Chinese folk",
        "irish-scottish" => "Irish & Scottish",
        "chorale" => "Chorale",
        "renaissance" => "Renaissance",
        "yours" => "Yours",
        other => other,
    }
    .to_owned()
}

/// The built-in models, described from their compiled-in sidecars, the default first.
pub fn builtins() -> Vec<ModelInfo> {
    crate::BUILTIN_MODELS.into_iter().map(builtin).collect()
}

/// A built-in model, described from its compiled-in sidecar.
pub fn builtin(model: crate::BuiltinModel) -> ModelInfo {
    ModelInfo {
        builtin: Some(model.id),
        ..describe_sidecar(model.sidecar, None, None)
    }
}

/// The model that plays, as the worker reports it (`ModelStatus::Ready`'s file or built-in id):
/// the file's description, else the built-in model's (the default one where the id is unknown).
pub fn playing(path: Option<&Path>, builtin_id: Option<&str>) -> ModelInfo {
    match path {
        Some(path) => describe(path),
        None => builtin(
            builtin_id
                .and_then(crate::builtin_model)
                .unwrap_or(crate::DEFAULT_BUILTIN),
        ),
    }
}

/// Every model in `dir`, sorted by name: each `*.onnx` in `dir` itself and in its folders one
/// level down (`NAME/descant.onnx`). A missing folder lists nothing.
pub fn scan(dir: &Path) -> Vec<ModelInfo> {
    let mut found = Vec::new();
    let look = |folder: &Path, found: &mut Vec<PathBuf>| {
        let Ok(entries) = std::fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten().take(4 * MAX_LISTED) {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "onnx") && path.is_file() {
                found.push(path);
            }
        }
    };
    look(dir, &mut found);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten().take(4 * MAX_LISTED) {
            let path = entry.path();
            // Half-written output of an interrupted `descant learn` is never offered.
            let partial = path.extension().is_some_and(|e| e == "partial");
            if path.is_dir() && !partial {
                look(&path, &mut found);
            }
        }
    }
    found.sort();
    found.truncate(MAX_LISTED);
    let mut models: Vec<ModelInfo> = found.iter().map(|p| describe(p)).collect();
    models.sort_by_key(|m| m.name.to_lowercase());
    models
}

/// Describes the model `path` (an `.onnx` file) from its sidecar and model card, without loading
/// it.
pub fn describe(path: &Path) -> ModelInfo {
    let card = read_small(&path.with_file_name("MODEL_CARD.md")).ok();
    match read_small(&sidecar_path(path)) {
        Ok(text) => describe_sidecar(&text, Some(path), card.as_deref()),
        Err(reason) => ModelInfo {
            path: Some(path.to_owned()),
            builtin: None,
            name: file_name(path),
            styles: Vec::new(),
            licence: NO_LICENCE.to_owned(),
            terms: Terms::Unstated,
            problem: Some(format!(
                "its sidecar {}: {reason}",
                sidecar_path(path).display()
            )),
        },
    }
}

fn describe_sidecar(text: &str, path: Option<&Path>, card: Option<&str>) -> ModelInfo {
    let json = serde_json::from_str::<serde_json::Value>(text).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|v| v.get(name).and_then(|l| l.as_str()).map(str::to_owned))
    };
    let licence = field("licence")
        .or_else(|| card.and_then(licence_line))
        .unwrap_or_else(|| NO_LICENCE.to_owned());
    let terms = Terms::read(field("terms").as_deref(), &licence);
    match ModelContract::parse(text) {
        Ok(c) => ModelInfo {
            path: path.map(Path::to_owned),
            builtin: None,
            name: c.name,
            styles: c.control.styles.iter().map(|s| style_name(s)).collect(),
            licence,
            terms,
            problem: None,
        },
        Err(e) => ModelInfo {
            path: path.map(Path::to_owned),
            builtin: None,
            name: path.map_or_else(|| "built-in".to_owned(), file_name),
            styles: Vec::new(),
            licence,
            terms,
            problem: Some(e.to_string()),
        },
    }
}

/// The first line of a model card that speaks of the licence, without its markdown emphasis.
fn licence_line(card: &str) -> Option<String> {
    let line = card
        .lines()
        .map(str::trim)
        .find(|l| l.to_lowercase().contains("licen") && !l.starts_with('|'))?;
    let plain: String = line.chars().filter(|c| *c != '*' && *c != '#').collect();
    let plain = plain.trim();
    (!plain.is_empty()).then(|| plain.chars().take(200).collect())
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Reads a small text file, refusing one over [`MAX_DESCRIBE_BYTES`].
pub(crate) fn read_small(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_DESCRIBE_BYTES {
        return Err(format!("larger than {MAX_DESCRIBE_BYTES} bytes"));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("descant-catalog-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_builtin_models_declare_their_styles_and_terms_the_open_one_first() {
        let [open, nc] = <[ModelInfo; 2]>::try_from(builtins()).unwrap();
        assert_eq!(
            (open.builtin, open.path.as_ref()),
            (Some("descant-open"), None)
        );
        assert_eq!((open.problem.as_ref(), open.terms), (None, Terms::Open));
        assert_eq!(open.styles, ["Irish & Scottish"]);
        assert_eq!((nc.builtin, nc.problem.as_ref()), (Some("descant"), None));
        assert_eq!(
            nc.styles,
            [
                "European folk",
                "Chinese folk",
                "Irish & Scottish",
                "Chorale",
                "Renaissance"
            ]
        );
        assert_eq!(nc.terms, Terms::NonCommercial);
        assert!(nc.licence.contains("non-commercial"), "{}", nc.licence);
    }

    #[test]
    fn terms_are_the_sidecars_word_else_what_the_licence_says() {
        assert_eq!(Terms::read(Some("open"), "whatever"), Terms::Open);
        assert_eq!(
            Terms::read(None, "Non-commercial use only: Essen"),
            Terms::NonCommercial
        );
        assert_eq!(Terms::read(None, NO_LICENCE), Terms::Unstated);
        assert_eq!(Terms::read(Some("cc-by"), "free"), Terms::Unstated);
    }

    #[test]
    fn a_learned_model_is_listed_with_its_name_styles_and_card_licence() {
        let dir = folder("learned");
        let model = dir.join("mine").join("descant.onnx");
        std::fs::create_dir_all(model.parent().unwrap()).unwrap();
        std::fs::write(&model, b"not read").unwrap();
        let mut sidecar: serde_json::Value =
            serde_json::from_str(crate::NON_COMMERCIAL_SIDECAR).unwrap();
        sidecar["name"] = "my-reels".into();
        sidecar.as_object_mut().unwrap().remove("licence");
        sidecar["control"]["styles"]
            .as_array_mut()
            .unwrap()
            .push("yours".into());
        sidecar["control"]["size"] = 10.into();
        std::fs::write(sidecar_path(&model), sidecar.to_string()).unwrap();
        std::fs::write(
            model.with_file_name("MODEL_CARD.md"),
            "# my-reels\n\n| a | licence |\nThe shipped model's licence holds: **non-commercial use only**.\n",
        )
        .unwrap();
        // A broken one beside it, and an interrupted run's leftovers.
        std::fs::create_dir_all(dir.join("broken")).unwrap();
        std::fs::write(dir.join("broken").join("x.onnx"), b"").unwrap();
        std::fs::create_dir_all(dir.join("half.partial")).unwrap();
        std::fs::write(dir.join("half.partial").join("descant.onnx"), b"").unwrap();
        let models = scan(&dir);
        assert_eq!(models.len(), 2, "{models:?}");
        let mine = models.iter().find(|m| m.name == "my-reels").unwrap();
        assert_eq!(mine.problem, None);
        assert_eq!(mine.styles.last().map(String::as_str), Some("Yours"));
        assert_eq!(
            mine.licence,
            "The shipped model's licence holds: non-commercial use only."
        );
        let broken = models.iter().find(|m| m.name == "x.onnx").unwrap();
        assert!(broken.problem.as_deref().unwrap().contains("sidecar"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_sidecar_that_breaks_the_contract_is_listed_with_the_reason() {
        let dir = folder("contract");
        let model = dir.join("old.onnx");
        std::fs::write(&model, b"").unwrap();
        std::fs::write(
            sidecar_path(&model),
            r#"{"contract": "other", "contract_version": 9}"#,
        )
        .unwrap();
        let info = describe(&model);
        assert!(info.problem.is_some());
        assert_eq!(info.licence, NO_LICENCE);
        assert!(scan(&dir.join("absent")).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn style_ids_read_as_names() {
        assert_eq!(style_name("irish-scottish"), "Irish & Scottish");
        assert_eq!(style_name("yours"), "Yours");
        assert_eq!(style_name("klezmer"), "klezmer");
    }
}
