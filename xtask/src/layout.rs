//! `cargo xtask layout`: `docs/ARCHITECTURE.md` names every source file of the workspace.
//!
//! Every `.rs` file under a crate's `src/` must appear in the page by its path from the
//! repository's root (`inference/src/music/key.rs`), so the map cannot fall behind the code
//! without CI saying so. Tests outside `src/` are named by their folders on the page.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// The page that maps the code.
const ARCHITECTURE: &str = "docs/ARCHITECTURE.md";

/// The `.rs` files under `dir`, as paths from `root` with `/` separators.
fn rust_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.strip_prefix(root).unwrap_or(&path);
            out.push(name.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// The files of `files` that `page` does not name.
pub fn unnamed<'a>(page: &str, files: &'a [String]) -> Vec<&'a str> {
    files
        .iter()
        .map(String::as_str)
        .filter(|f| !page.contains(&format!("`{f}`")))
        .collect()
}

/// Checks the page against the source files of every crate in the repository at `root`.
pub fn check_in(root: &Path) -> Result<()> {
    let page = std::fs::read_to_string(root.join(ARCHITECTURE))
        .with_context(|| ARCHITECTURE.to_owned())?;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let src = entry?.path().join("src");
        if src.is_dir() && src.parent().is_some_and(|c| c.join("Cargo.toml").is_file()) {
            rust_files(root, &src, &mut files)?;
        }
    }
    files.sort();
    let missing = unnamed(&page, &files);
    if !missing.is_empty() {
        bail!(
            "{ARCHITECTURE} does not name these source files (add a row for each):\n  {}",
            missing.join("\n  ")
        );
    }
    eprintln!("{ARCHITECTURE} names all {} source files", files.len());
    Ok(())
}

/// [`check_in`] the repository `cargo xtask` runs in.
pub fn check() -> Result<()> {
    check_in(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_counts_as_named_only_by_its_whole_path_in_code_quotes() {
        let files = [
            "plugin/src/lib.rs".to_owned(),
            "plugin/src/clock.rs".to_owned(),
        ];
        let page = "| `plugin/src/lib.rs` | the plugin |\nthe clock.rs file";
        assert_eq!(unnamed(page, &files), ["plugin/src/clock.rs"]);
    }

    #[test]
    fn the_workspace_page_names_every_source_file() -> Result<()> {
        check_in(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")))
    }
}
