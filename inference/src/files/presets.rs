//! Presets: named starting points, each a set of parameter values by the names and texts the
//! plugin shows ("Mode": "Answer", "Humanize": "20%"), so a preset file reads like the editor.
//! The factory presets are compiled in (`assets/presets/*.json`); the musician's own live in
//! `~/Descant/presets/` ([`PRESETS_DIR_ENV`] to look elsewhere). Plain file and text work: called
//! on the GUI thread, by the `descant` program and in tests; never on the audio thread.
//!
//! Guarantees:
//! - [`parse`] accepts only a preset of [`PRESET_VERSION`], no larger than [`MAX_PRESET_BYTES`],
//!   with a usable name ([`check_name`]), at least one value and no field it does not know; a
//!   refusal says why and nothing is half-read. Whether each value fits its parameter is for the
//!   one who applies it (the plugin and the host know the parameters): they check every value
//!   before they set any.
//! - [`save`] writes a readable file through a temporary file and a rename, so an interrupted save
//!   never leaves half a preset; it refuses a factory preset's name.
//! - [`list`] gives the factory presets first, in their order, then the folder's files sorted by
//!   name; a file that does not parse is listed with its reason, not skipped silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::files::catalog::descant_home;

/// The preset format's version; a file of another version is refused.
pub const PRESET_VERSION: u32 = 1;
/// Largest preset file read (a preset is a few hundred bytes).
pub const MAX_PRESET_BYTES: u64 = 64 * 1024;
/// Longest preset name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Overrides the user presets' folder (tests, portable set-ups).
pub const PRESETS_DIR_ENV: &str = "DESCANT_PRESETS_DIR";

/// The factory presets' files, in menu order.
const FACTORY: [&str; 8] = [
    include_str!("../../../assets/presets/folk-answer.json"),
    include_str!("../../../assets/presets/question-and-answer.json"),
    include_str!("../../../assets/presets/chorale-descant.json"),
    include_str!("../../../assets/presets/jig-loop.json"),
    include_str!("../../../assets/presets/two-styles-blended.json"),
    include_str!("../../../assets/presets/renaissance-line.json"),
    include_str!("../../../assets/presets/sparse-and-safe.json"),
    include_str!("../../../assets/presets/wild.json"),
];

/// One preset, as its file holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// The format's version ([`PRESET_VERSION`]); first, so a reader sees it before anything else.
    pub descant_preset: u32,
    /// The name the menu shows.
    pub name: String,
    /// One line on what it is for (may be empty).
    #[serde(default)]
    pub description: String,
    /// Parameter name → its text, as the plugin shows them. The plugin sets the parameters a
    /// preset leaves out to their defaults, but for those of the session (routing and clock).
    pub params: BTreeMap<String, String>,
    /// The built-in model it plays, by id ([`crate::BUILTIN_MODELS`]), where it needs a style
    /// only that model has; `None`: it plays whatever model plays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// Where a listed preset comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into Descant.
    Factory,
    /// A file in the user presets' folder.
    User(PathBuf),
}

/// Why a preset was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresetError {
    /// The file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The file is larger than any preset.
    #[error("the file is {0} bytes; a preset is at most {MAX_PRESET_BYTES}")]
    TooLarge(u64),
    /// Not a preset file: not JSON, a field missing or unknown.
    #[error("not a Descant preset: {0}")]
    Malformed(String),
    /// Made by a Descant with another preset format.
    #[error("preset format {0}; this Descant reads format {PRESET_VERSION}")]
    Version(u32),
    /// The name is empty, too long or has control characters.
    #[error(
        "the name {0:?} is not usable: 1 to {MAX_NAME_CHARS} characters, no control characters"
    )]
    BadName(String),
    /// It sets nothing.
    #[error("the preset sets no parameter")]
    Empty,
    /// A factory preset has this name.
    #[error("\"{0}\" is a factory preset's name; choose another")]
    FactoryName(String),
    /// No preset has this name.
    #[error("no preset is called \"{0}\" (`descant presets` lists them)")]
    NotFound(String),
    /// It names a built-in model this Descant does not have.
    #[error("the preset plays the built-in model '{0}', which this Descant does not have")]
    UnknownModel(String),
}

/// Whether `name` can name a preset: 1 to [`MAX_NAME_CHARS`] characters, not only spaces, no
/// control characters.
pub fn check_name(name: &str) -> Result<(), PresetError> {
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS || name.trim().is_empty() || name.chars().any(char::is_control)
    {
        return Err(PresetError::BadName(name.to_owned()));
    }
    Ok(())
}

/// A preset from its file's text (see the module doc).
pub fn parse(text: &str) -> Result<Preset, PresetError> {
    if text.len() as u64 > MAX_PRESET_BYTES {
        return Err(PresetError::TooLarge(text.len() as u64));
    }
    // The version first, so a newer file is refused for its version, not its fields.
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| PresetError::Malformed(e.to_string()))?;
    match value
        .get("descant_preset")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(PRESET_VERSION) => {}
        Some(v) => return Err(PresetError::Version(v.min(u64::from(u32::MAX)) as u32)),
        None => {
            return Err(PresetError::Malformed(
                "no \"descant_preset\" version number".to_owned(),
            ))
        }
    }
    let preset: Preset =
        serde_json::from_value(value).map_err(|e| PresetError::Malformed(e.to_string()))?;
    check_name(&preset.name)?;
    if preset.params.is_empty() {
        return Err(PresetError::Empty);
    }
    if let Some(id) = preset
        .model
        .as_ref()
        .filter(|id| crate::builtin_model(id).is_none())
    {
        return Err(PresetError::UnknownModel(id.clone()));
    }
    Ok(preset)
}

/// A preset's file text: indented JSON, one value per line, ending in a newline.
pub fn to_text(preset: &Preset) -> String {
    let mut text = serde_json::to_string_pretty(preset).unwrap_or_default();
    text.push('\n');
    text
}

/// The factory presets, in menu order.
pub fn factory() -> Vec<Preset> {
    // A factory file that does not parse fails the unit test below; here it is left out.
    FACTORY.iter().filter_map(|t| parse(t).ok()).collect()
}

/// The user presets' folder: [`PRESETS_DIR_ENV`], else `~/Descant/presets`.
pub fn presets_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(PRESETS_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    descant_home().map(|d| d.join("presets"))
}

/// Reads one preset file.
pub fn read(path: &Path) -> Result<Preset, PresetError> {
    let size = std::fs::metadata(path)
        .map_err(|e| PresetError::Io(format!("{}: {e}", path.display())))?
        .len();
    if size > MAX_PRESET_BYTES {
        return Err(PresetError::TooLarge(size));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| PresetError::Io(format!("{}: {e}", path.display())))?;
    parse(&text)
}

/// Every preset: the factory's, then each `*.json` file of `dir` by file name, with its reason
/// where it does not parse.
pub fn list(dir: Option<&Path>) -> Vec<(Origin, Result<Preset, PresetError>)> {
    let mut all: Vec<_> = factory()
        .into_iter()
        .map(|p| (Origin::Factory, Ok(p)))
        .collect();
    let mut files: Vec<PathBuf> = dir
        .and_then(|d| std::fs::read_dir(d).ok())
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    files.sort();
    all.extend(files.into_iter().map(|p| {
        let preset = read(&p);
        (Origin::User(p), preset)
    }));
    all
}

/// The preset called `name` (case and surrounding spaces aside): a factory preset, else one in
/// `dir`.
pub fn find(name: &str, dir: Option<&Path>) -> Result<Preset, PresetError> {
    let wanted = name.trim().to_lowercase();
    list(dir)
        .into_iter()
        .filter_map(|(_, p)| p.ok())
        .find(|p| p.name.trim().to_lowercase() == wanted)
        .ok_or_else(|| PresetError::NotFound(name.to_owned()))
}

/// The file name a preset called `name` is saved under: its letters and digits, lower case,
/// runs of anything else as one `-`.
pub fn file_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let stem = out.trim_end_matches('-');
    format!("{}.json", if stem.is_empty() { "preset" } else { stem })
}

/// Saves `preset` in `dir` (made if missing) as [`file_name`] of its name, replacing a file of
/// that name; returns the path.
pub fn save(dir: &Path, preset: &Preset) -> Result<PathBuf, PresetError> {
    check_name(&preset.name)?;
    if preset.params.is_empty() {
        return Err(PresetError::Empty);
    }
    let lower = preset.name.trim().to_lowercase();
    if factory().iter().any(|f| f.name.to_lowercase() == lower) {
        return Err(PresetError::FactoryName(preset.name.clone()));
    }
    let io = |e: std::io::Error| PresetError::Io(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join(file_name(&preset.name));
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, to_text(preset)).map_err(io)?;
    std::fs::rename(&partial, &path).map_err(io)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset(name: &str) -> Preset {
        Preset {
            descant_preset: PRESET_VERSION,
            name: name.to_owned(),
            description: "a test".to_owned(),
            params: [("Mode".to_owned(), "Loop".to_owned())].into(),
            model: None,
        }
    }

    #[test]
    fn a_factory_preset_of_a_style_the_default_model_lacks_plays_a_model_that_has_it() {
        let default = crate::files::catalog::builtin(crate::DEFAULT_BUILTIN).styles;
        for preset in factory() {
            let styles: Vec<&String> = ["Style", "Style B"]
                .iter()
                .filter_map(|k| preset.params.get(*k))
                .filter(|s| *s != "Any")
                .collect();
            let model = match &preset.model {
                Some(id) => crate::files::catalog::builtin(crate::builtin_model(id).unwrap()),
                None => crate::files::catalog::builtin(crate::DEFAULT_BUILTIN),
            };
            for style in styles {
                assert!(
                    model.styles.contains(style),
                    "{}: {style} is not in {} (the default has {default:?})",
                    preset.name,
                    model.name
                );
            }
        }
        let mut text = to_text(&preset("m"));
        text = text.replace("\"params\"", "\"model\": \"descant-9\",\n  \"params\"");
        assert!(matches!(parse(&text), Err(PresetError::UnknownModel(m)) if m == "descant-9"));
    }

    #[test]
    fn every_factory_file_parses_and_the_names_are_distinct() {
        assert_eq!(factory().len(), FACTORY.len());
        let mut names: Vec<String> = factory().iter().map(|p| p.name.to_lowercase()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FACTORY.len());
    }

    #[test]
    fn a_saved_preset_reads_back_the_same_and_is_listed_after_the_factory() {
        let dir = tempfile::tempdir().unwrap();
        let mine = preset("My Jig: 2");
        let path = save(dir.path(), &mine).unwrap();
        assert_eq!(path.file_name().unwrap(), "my-jig-2.json");
        assert_eq!(read(&path).unwrap(), mine);
        let listed = list(Some(dir.path()));
        assert_eq!(listed.len(), FACTORY.len() + 1);
        assert_eq!(
            listed.last().unwrap(),
            &(Origin::User(path), Ok(mine.clone()))
        );
        assert_eq!(find("  my jig: 2 ", Some(dir.path())).unwrap(), mine);
        assert!(!dir.path().join("my-jig-2.json.partial").exists());
    }

    #[test]
    fn bad_files_are_refused_with_their_reason() {
        let ok = to_text(&preset("x"));
        assert!(parse(&ok).is_ok());
        assert!(matches!(parse("{"), Err(PresetError::Malformed(_))));
        assert!(matches!(
            parse(&ok.replace("\"descant_preset\": 1", "\"descant_preset\": 2")),
            Err(PresetError::Version(2))
        ));
        assert!(matches!(
            parse(&ok.replace("\"descant_preset\": 1,", "")),
            Err(PresetError::Malformed(_))
        ));
        assert!(matches!(
            parse(&ok.replace("\"name\"", "\"colour\": \"red\", \"name\"")),
            Err(PresetError::Malformed(_))
        ));
        assert!(matches!(
            parse(&ok.replace("\"x\"", "\"\\u0007\"")),
            Err(PresetError::BadName(_))
        ));
        assert!(matches!(
            parse(&ok.replace("\"Mode\": \"Loop\"", "")),
            Err(PresetError::Empty)
        ));
        let huge = format!("{ok}{}", " ".repeat(MAX_PRESET_BYTES as usize));
        assert!(matches!(parse(&huge), Err(PresetError::TooLarge(_))));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.json"), "not json").unwrap();
        let listed = list(Some(dir.path()));
        assert!(matches!(
            listed.last(),
            Some((Origin::User(_), Err(PresetError::Malformed(_))))
        ));
    }

    #[test]
    fn a_factory_name_cannot_be_saved_over() {
        let dir = tempfile::tempdir().unwrap();
        let name = factory()[0].name.to_uppercase();
        assert!(matches!(
            save(dir.path(), &preset(&name)),
            Err(PresetError::FactoryName(_))
        ));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(matches!(
            find("no such preset", None),
            Err(PresetError::NotFound(_))
        ));
    }
}
