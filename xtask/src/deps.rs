//! `cargo xtask deps`: every dependency a workspace crate declares is used by its code.
//!
//! A dependency counts as used when its name (with `-` as `_`) appears as a whole word in a `.rs`
//! file of the crate's folder: a `use`, a path, an `extern crate`. Cheap (it reads the sources,
//! it builds nothing), and strict enough to catch a dependency left behind when its last use
//! went. The workspace-hack crate is exempt: it carries features, not code.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Dependencies declared for what they do to the build, not for code: exempt.
const NO_CODE: [&str; 1] = ["descant-workspace-hack"];
/// Members that are all features and no code (the workspace-hack crate): not checked.
const NO_CODE_MEMBERS: [&str; 1] = ["hack"];

/// The dependency names of the `[dependencies]`, `[dev-dependencies]` and
/// `[build-dependencies]` tables of a `Cargo.toml`.
fn declared(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = matches!(
                line,
                "[dependencies]" | "[dev-dependencies]" | "[build-dependencies]"
            );
            continue;
        }
        if !in_deps || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if !name.is_empty() {
            names.push(name);
        }
    }
    names
}

/// Whether `word` appears in `text` with no identifier character on either side.
fn has_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// The `.rs` files under `dir`, skipping build output.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            sources(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The dependencies of the crate in `dir` that none of its sources names.
pub fn unused_in(dir: &Path) -> Result<Vec<String>> {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
        .with_context(|| format!("reading {}/Cargo.toml", dir.display()))?;
    let mut files = Vec::new();
    sources(dir, &mut files)?;
    let mut text = String::new();
    for f in files {
        text.push_str(&std::fs::read_to_string(&f).with_context(|| f.display().to_string())?);
        text.push('\n');
    }
    Ok(declared(&manifest)
        .into_iter()
        .filter(|d| !NO_CODE.contains(&d.as_str()))
        .filter(|d| !has_word(&text, &d.replace('-', "_")))
        .collect())
}

/// Checks every workspace member (the folders the root `Cargo.toml` lists); fails naming each
/// unused dependency.
pub fn check() -> Result<()> {
    let root = std::fs::read_to_string("Cargo.toml").context("reading the root Cargo.toml")?;
    let members = root
        .lines()
        .find_map(|l| l.trim().strip_prefix("members = "))
        .context("the root Cargo.toml lists no members")?;
    let mut unused = Vec::new();
    for member in members
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty() && !NO_CODE_MEMBERS.contains(m))
    {
        for dep in unused_in(Path::new(member))? {
            unused.push(format!("{member}: {dep}"));
        }
    }
    if !unused.is_empty() {
        bail!(
            "dependencies no code uses (remove them from the crate's Cargo.toml):\n  {}",
            unused.join("\n  ")
        );
    }
    eprintln!("every declared dependency is used");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dependency_tables_are_read_and_other_tables_are_not() {
        let manifest = "[package]\nname = \"x\"\n\n[dependencies]\nserde.workspace = true\n\
                        # a comment\nnice-plug = { workspace = true }\n\n[features]\nstd = []\n\n\
                        [dev-dependencies]\ntempfile = \"3\"\n";
        assert_eq!(declared(manifest), ["serde", "nice-plug", "tempfile"]);
    }

    #[test]
    fn a_name_counts_only_as_a_whole_word() {
        assert!(has_word("use serde::Deserialize;", "serde"));
        assert!(!has_word("use serde_json::Value;", "serde"));
        assert!(!has_word("let myserde = 1;", "serde"));
    }

    #[test]
    fn a_crate_that_never_names_a_dependency_is_told() -> Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[dependencies]\nanyhow = \"1\"\nrtrb = \"0.4\"\ndescant-workspace-hack = { path = \"h\" }\n",
        )?;
        std::fs::create_dir(dir.path().join("src"))?;
        std::fs::write(dir.path().join("src/lib.rs"), "use anyhow::Result;\n")?;
        assert_eq!(unused_in(dir.path())?, ["rtrb"]);
        Ok(())
    }
}
