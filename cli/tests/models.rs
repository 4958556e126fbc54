//! `descant models`, and the terms every place a musician looks says for each built-in model:
//! read once from the model's sidecar (`terms`), then found, in the same words, in `descant
//! models`, the model cards, the installer's licence page and the README. The editor's Model list
//! shows the same `Terms::says` (a unit test of `plugin/src/picker.rs`).

use std::path::Path;
use std::process::Command;

use descant_inference::files::catalog::{self, Terms};

/// A file of the repository, as text.
fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The model card of a built-in model.
fn card_of(id: &str) -> String {
    match id {
        "descant-open" => repo_file("assets/MODEL_CARD-open.md"),
        "descant" => repo_file("assets/MODEL_CARD.md"),
        other => panic!("no card for built-in model '{other}'"),
    }
}

#[test]
fn every_place_says_the_terms_the_sidecar_states() {
    let models = std::env::temp_dir().join(format!("descant-models-none-{}", std::process::id()));
    let listed = Command::new(env!("CARGO_BIN_EXE_descant"))
        .arg("models")
        .env("DESCANT_MODELS_DIR", &models)
        .output()
        .expect("descant runs");
    assert!(listed.status.success(), "{listed:?}");
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    let licence_page = repo_file("installer/windows/LICENCE.txt");
    let readme = repo_file("README.md");
    let builtins = catalog::builtins();
    assert_eq!(builtins.len(), 2);
    for (i, model) in builtins.iter().enumerate() {
        let id = model.builtin.expect("a built-in model has an id");
        let says = model.terms.says();
        assert_ne!(model.terms, Terms::Unstated, "{id} states its terms");
        let line = listed
            .lines()
            .find(|l| l.contains(&format!("(built-in '{id}')")))
            .unwrap_or_else(|| panic!("descant models lists {id}:\n{listed}"));
        assert!(line.contains(says), "descant models: {line}");
        assert_eq!(
            line.starts_with('*'),
            i == 0,
            "the default is marked: {line}"
        );
        assert!(
            card_of(id).contains(says),
            "{id}'s model card says '{says}'"
        );
        // The model's name (`descant-open-v1`, `descant-duet-v3`: neither is part of the other)
        // and its terms, in one paragraph.
        for (place, text) in [
            ("the installer's licence page", &licence_page),
            ("the README", &readme),
        ] {
            let near = text
                .split("\n\n")
                .any(|para| para.contains(&model.name) && para.contains(says));
            assert!(near, "{place} says '{says}' of {}", model.name);
        }
    }
    assert_eq!(
        builtins[0].terms,
        Terms::Open,
        "the default model is the open one"
    );
}
