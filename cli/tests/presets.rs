//! `descant presets`, `descant render --preset` and `descant completions`: the factory presets
//! listed and rendered through the built debug plugin, the musician's own from a folder (with a
//! broken one's reason), a bad preset refused with its reason, and the completion scripts. Run by
//! `cargo xtask test`, which builds the plugin first.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::fixture;
use descant_inference::files::midi_file;
use descant_inference::files::presets::{factory, PRESETS_DIR_ENV};

/// Runs `descant` with `args`, the user presets read from `presets`.
fn descant(args: &[&str], presets: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_descant"))
        .args(args)
        .env(PRESETS_DIR_ENV, presets)
        .output()
        .expect("descant runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const MINE: &str = r#"{
  "descant_preset": 1,
  "name": "My hot take",
  "description": "mine",
  "params": { "Mode": "Continue", "Temperature": "1.40" }
}
"#;

#[test]
fn descant_presets_lists_the_factory_then_yours_and_says_why_a_file_is_broken() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("mine.json"), MINE).unwrap();
    std::fs::write(tmp.path().join("zz-broken.json"), "{\"descant_preset\": 7}").unwrap();
    let o = descant(&["presets"], tmp.path());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), factory().len() + 2, "{out}");
    for (line, preset) in lines.iter().zip(factory()) {
        assert!(
            line.starts_with(&preset.name) && line.contains("factory"),
            "{line}"
        );
    }
    assert!(
        lines[8].starts_with("My hot take") && lines[8].contains("mine.json"),
        "{out}"
    );
    assert!(
        lines[9].contains("zz-broken.json") && lines[9].contains("preset format 7"),
        "{out}"
    );
}

#[test]
fn every_factory_preset_renders_and_a_bad_preset_is_refused_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let track = fixture(dir);
    let out = dir.join("out.mid");
    let plugin = descant_host::test_plugin_path();
    let render = |preset: &str| {
        descant(
            &[
                "render",
                track.to_str().unwrap(),
                out.to_str().unwrap(),
                "--preset",
                preset,
                "--plugin",
                plugin.to_str().unwrap(),
            ],
            dir,
        )
    };
    for preset in factory() {
        let _ = std::fs::remove_file(&out);
        let o = render(&preset.name);
        assert!(o.status.success(), "{}: {}", preset.name, text(&o.stderr));
        let song = midi_file::read(&std::fs::read(&out).unwrap()).unwrap();
        assert!(!song.notes.is_empty(), "{}: no notes", preset.name);
        if preset.name == "Chorale descant" {
            // Its register, G4 to G5, is a hard bound: the preset was applied.
            assert!(
                song.notes.iter().all(|n| (67..=79).contains(&n.key)),
                "outside G4-G5: {:?}",
                song.notes
            );
        }
    }
    let o = render("no such preset");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("no preset is called"),
        "{}",
        text(&o.stderr)
    );
    std::fs::write(dir.join("bad.json"), MINE.replace("1.40", "hot")).unwrap();
    let o = render("My hot take");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("hot"), "{}", text(&o.stderr));
}

#[test]
fn completions_are_generated_for_a_shell_and_a_bad_shell_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let o = descant(&["completions", "bash"], tmp.path());
    assert!(o.status.success());
    let script = text(&o.stdout);
    assert!(
        script.contains("render") && script.contains("presets"),
        "{script}"
    );
    let o = descant(&["completions", "nosh"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
}
