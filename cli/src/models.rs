//! `descant models`: the models a musician can play, one per line: the built-in ones (the
//! default marked), then the models folder's (`~/Descant/models/`, where `descant learn` writes),
//! each with its styles and what may be done with what it plays. Main thread; reads sidecars
//! only, never a model.

use anyhow::Result;
use descant_inference::files::catalog::{self, ModelInfo};

/// The line of one model: `*` for the default, its name, where it comes from, its terms, its
/// styles, and why it cannot be played when it cannot.
pub fn line(info: &ModelInfo, default: bool) -> String {
    let from = match (&info.path, info.builtin) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(id)) => format!("built-in '{id}'"),
        (None, None) => "built-in".to_owned(),
    };
    let styles = info.styles_text();
    let mut text = format!(
        "{} {} ({from}): {}. Styles: {styles}.",
        if default { "*" } else { " " },
        info.name,
        info.terms.says(),
    );
    if let Some(problem) = &info.problem {
        text.push_str(&format!(" Cannot be played: {problem}."));
    }
    text
}

/// Runs `descant models`.
pub fn run() -> Result<()> {
    for (i, info) in catalog::builtins().iter().enumerate() {
        println!("{}", line(info, i == 0));
    }
    match catalog::models_dir() {
        Some(dir) => {
            let models = catalog::scan(&dir);
            if models.is_empty() {
                println!("  (no models in {} yet: descant learn)", dir.display());
            }
            for info in &models {
                println!("{}", line(info, false));
            }
        }
        None => println!("  (no models folder: HOME is not set)"),
    }
    println!("* the default: what a new project plays");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_model_is_the_default_and_each_line_says_its_terms() {
        let [open, nc] = <[ModelInfo; 2]>::try_from(catalog::builtins()).unwrap();
        let first = line(&open, true);
        assert!(first.starts_with(&format!("* {} (built-in 'descant-open')", open.name)));
        assert!(first
            .contains("You may use what it plays in released music. Styles: Irish & Scottish."));
        let second = line(&nc, false);
        assert!(
            second.starts_with("  descant-duet-v3 (built-in 'descant')"),
            "{second}"
        );
        assert!(second.contains("Non-commercial use only. Styles: European folk, Chinese folk"));
    }
}
