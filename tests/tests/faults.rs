//! Fault injection: the built debug `Descant.clap` meets a missing, foreign or old ONNX
//! Runtime library; a model that is missing, truncated, random bytes, of another contract or
//! absurdly large; a worker thread that panics; a flood of events that fills its queues; and a
//! host that calls it out of order.
//!
//! Each case checks three things: the reason is reported in words (the log line is the same text
//! the editor shows), the player's MIDI still passes through with nothing left hanging, and
//! Descant recovers once the cause is fixed (the file replaced while it runs, as an installer
//! would), without the host restarting it.
//!
//! Runtime and model faults run in a child `descant-host` process each, because the runtime is
//! loaded once per process and the model is chosen by environment variable.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{ensure, Context, Result};
use descant_host_tests::{
    phrase_script, test_plugin_path, unmatched, Input, OutNote, Pacer, PluginHost,
};
use descant_inference::model::runtime::ORT_LIBRARY_FILE;
use descant_inference::model::MAX_MODEL_BYTES;
use sha2::{Digest, Sha256};

/// The shipped model and its sidecar.
const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/descant.onnx");
const SIDECAR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/descant.json");

/// A fresh scratch directory for one case, removed when dropped (also when the case fails).
fn scratch(case: &str) -> Result<tempfile::TempDir> {
    Ok(tempfile::Builder::new()
        .prefix(&format!("descant-faults-{case}-"))
        .tempdir()?)
}

/// The ONNX Runtime library the test plugin loads.
fn real_runtime() -> PathBuf {
    test_plugin_path()
        .parent()
        .expect("the plugin is in a directory")
        .join(ORT_LIBRARY_FILE)
}

/// What a `descant-host phrases` run showed.
struct Run {
    /// Whether it exited 0 (every phrase passed through, nothing hung).
    passed: bool,
    /// Descant's notes after each phrase.
    answers: Vec<usize>,
    /// Its stdout and stderr.
    log: String,
}

/// Plays `count` phrases in a child host with `env`; after the first, copies each `(src, dst)`
/// over `dst` while the plugin runs.
fn phrases(count: usize, env: &[(&str, &Path)], replace: &[(&Path, &Path)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_descant-host"));
    cmd.arg("phrases").arg(count.to_string());
    for (src, dst) in replace {
        cmd.arg("--replace").arg(src).arg(dst);
    }
    cmd.arg("--plugin").arg(test_plugin_path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("descant-host runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let answers = stdout
        .lines()
        .filter_map(|l| l.split("descant ").nth(1)?.trim().parse().ok())
        .collect();
    Run {
        passed: out.status.success(),
        answers,
        log: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// The common shape: broken at first (MIDI passes, Descant silent, `reason` logged), then, once
/// the files are replaced, loaded again and answering, without a restart.
fn broken_then_repaired(
    env: &[(&str, &Path)],
    replace: &[(&Path, &Path)],
    reasons: &[&str],
) -> Result<()> {
    let run = phrases(3, env, replace);
    let log = &run.log;
    ensure!(run.passed, "MIDI did not pass cleanly:\n{log}");
    ensure!(run.answers.len() == 3, "three phrases ran:\n{log}");
    ensure!(run.answers[0] == 0, "Descant played with the fault:\n{log}");
    for reason in reasons {
        ensure!(
            log.contains(reason),
            "the log does not say '{reason}':\n{log}"
        );
    }
    ensure!(log.contains("passing MIDI through"), "{log}");
    ensure!(
        log.contains("loading again") && log.contains("ready in"),
        "the plugin did not load again once the files were fixed:\n{log}"
    );
    ensure!(
        run.answers[2] > 0,
        "Descant did not answer after the repair:\n{log}"
    );
    Ok(())
}

/// A sidecar for `model` bytes: the shipped one with `edit` applied and the hash of the bytes.
fn sidecar_for(model: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Result<String> {
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(SIDECAR)?)?;
    let hex: String = Sha256::digest(model)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    json["sha256"] = serde_json::Value::String(hex);
    edit(&mut json);
    Ok(serde_json::to_string_pretty(&json)?)
}

/// Bytes no one would mistake for anything (seeded, so a failure reproduces).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

#[test]
fn a_missing_runtime_is_reported_and_loaded_once_installed() -> Result<()> {
    let tmp = scratch("runtime-missing")?;
    let dir = tmp.path();
    let lib = dir.join(ORT_LIBRARY_FILE);
    broken_then_repaired(
        &[("DESCANT_ORT_LIB", &lib)],
        &[(&real_runtime(), &lib)],
        &["ONNX Runtime library not loaded", "file not found"],
    )?;
    Ok(())
}

#[test]
fn an_old_runtime_version_is_refused_by_name_and_replaced() -> Result<()> {
    let tmp = scratch("runtime-old")?;
    let dir = tmp.path();
    let lib = dir.join(ORT_LIBRARY_FILE);
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/old-onnxruntime.c"
        ))
        .status()
        .context("running cc (the C compiler)")?;
    ensure!(
        built.success(),
        "cc could not build the old-runtime stand-in"
    );
    broken_then_repaired(
        &[("DESCANT_ORT_LIB", &lib)],
        &[(&real_runtime(), &lib)],
        &["ONNX Runtime library not loaded", "but got '1.16.3'"],
    )?;
    Ok(())
}

#[test]
fn a_runtime_file_of_random_bytes_is_refused_and_replaced() -> Result<()> {
    let tmp = scratch("runtime-noise")?;
    let dir = tmp.path();
    let lib = dir.join(ORT_LIBRARY_FILE);
    std::fs::write(&lib, noise(64 * 1024, 1))?;
    broken_then_repaired(
        &[("DESCANT_ORT_LIB", &lib)],
        &[(&real_runtime(), &lib)],
        &["ONNX Runtime library not loaded", "failed to load from"],
    )?;
    Ok(())
}

#[test]
fn a_missing_model_is_reported_and_loaded_once_placed() -> Result<()> {
    let tmp = scratch("model-missing")?;
    let dir = tmp.path();
    let model = dir.join("custom.onnx");
    let sidecar = dir.join("custom.json");
    broken_then_repaired(
        &[("DESCANT_MODEL", &model)],
        &[(Path::new(SIDECAR), &sidecar), (Path::new(MODEL), &model)],
        &["cannot read", "custom.json"],
    )?;
    Ok(())
}

#[test]
fn a_truncated_model_is_refused_before_a_session_and_replaced() -> Result<()> {
    let tmp = scratch("model-truncated")?;
    let dir = tmp.path();
    let model = dir.join("custom.onnx");
    let shipped = std::fs::read(MODEL)?;
    std::fs::write(&model, &shipped[..shipped.len() / 3])?;
    std::fs::copy(SIDECAR, dir.join("custom.json"))?;
    broken_then_repaired(
        &[("DESCANT_MODEL", &model)],
        &[(Path::new(MODEL), &model)],
        &["does not match its sidecar"],
    )?;
    Ok(())
}

/// A model file of `bytes` whose sidecar vouches for them (its hash matches), so they reach the
/// vetting: refused with `reason`, then replaced by the shipped model and sidecar.
fn vouched_model_refused_then_repaired(case: &str, bytes: &[u8], reason: &str) -> Result<()> {
    let tmp = scratch(case)?;
    let dir = tmp.path();
    let model = dir.join("custom.onnx");
    std::fs::write(&model, bytes)?;
    std::fs::write(dir.join("custom.json"), sidecar_for(bytes, |_| {})?)?;
    broken_then_repaired(
        &[("DESCANT_MODEL", &model)],
        &[
            (Path::new(SIDECAR), &dir.join("custom.json")),
            (Path::new(MODEL), &model),
        ],
        &[reason],
    )
}

#[test]
fn a_model_of_random_bytes_is_refused_before_onnx_runtime_and_replaced() -> Result<()> {
    // The vetting finds no ONNX model in them: ONNX Runtime never sees them.
    vouched_model_refused_then_repaired(
        "model-noise",
        &noise(256 * 1024, 2),
        "model refused: the file is not a well-formed ONNX model",
    )
}

#[test]
fn a_model_that_asks_for_custom_operators_is_refused_and_replaced() -> Result<()> {
    // The shipped graph with one more operator-set import, from a domain of its own (a model that
    // would have ONNX Runtime load custom operators).
    let mut bytes = std::fs::read(MODEL)?;
    let domain = b"com.example.custom";
    let mut opset = vec![0x0a, domain.len() as u8];
    opset.extend_from_slice(domain);
    opset.extend_from_slice(&[0x10, 0x01]); // version 1
    bytes.extend_from_slice(&[0x42, opset.len() as u8]); // ModelProto.opset_import (field 8)
    bytes.extend_from_slice(&opset);
    vouched_model_refused_then_repaired(
        "model-custom-domain",
        &bytes,
        "model refused: it imports operators from the domain 'com.example.custom'",
    )
}

#[test]
fn a_model_of_another_contract_version_is_refused_and_replaced() -> Result<()> {
    let tmp = scratch("model-contract")?;
    let dir = tmp.path();
    let model = dir.join("custom.onnx");
    let sidecar = dir.join("custom.json");
    std::fs::copy(MODEL, &model)?;
    let shipped = std::fs::read(MODEL)?;
    std::fs::write(
        &sidecar,
        sidecar_for(&shipped, |j| j["contract_version"] = 3.into())?,
    )?;
    broken_then_repaired(
        &[("DESCANT_MODEL", &model)],
        &[(Path::new(SIDECAR), &sidecar)],
        &["model speaks contract 'descant-step' v3"],
    )?;
    Ok(())
}

#[test]
fn a_graph_that_does_not_fit_its_sidecar_is_refused_and_replaced() -> Result<()> {
    // The sidecar claims 8 layers; the graph's cache inputs have 4.
    let tmp = scratch("model-graph")?;
    let dir = tmp.path();
    let model = dir.join("custom.onnx");
    let sidecar = dir.join("custom.json");
    std::fs::copy(MODEL, &model)?;
    let shipped = std::fs::read(MODEL)?;
    std::fs::write(&sidecar, sidecar_for(&shipped, |j| j["layers"] = 8.into())?)?;
    broken_then_repaired(
        &[("DESCANT_MODEL", &model)],
        &[(Path::new(SIDECAR), &sidecar)],
        &["input 'past_key'", "contract v1 wants"],
    )?;
    Ok(())
}

#[test]
fn an_absurdly_large_model_is_refused_unread_and_replaced() -> Result<()> {
    // 600 MiB, sparse: refused from its size before a byte is read.
    let tmp = scratch("model-huge")?;
    let dir = tmp.path();
    let model = dir.join("custom.onnx");
    std::fs::File::create(&model)?.set_len(600 * 1024 * 1024)?;
    std::fs::copy(SIDECAR, dir.join("custom.json"))?;
    broken_then_repaired(
        &[("DESCANT_MODEL", &model)],
        &[(Path::new(MODEL), &model)],
        &[&format!("more than the {MAX_MODEL_BYTES} Descant accepts")],
    )?;
    Ok(())
}

#[test]
fn a_malformed_sidecar_is_refused_and_replaced() -> Result<()> {
    let tmp = scratch("sidecar-malformed")?;
    let dir = tmp.path();
    let model = dir.join("custom.onnx");
    let sidecar = dir.join("custom.json");
    std::fs::copy(MODEL, &model)?;
    std::fs::File::create(&sidecar)?.write_all(b"{\"contract\": \"descant-step\", ")?;
    broken_then_repaired(
        &[("DESCANT_MODEL", &model)],
        &[(Path::new(SIDECAR), &sidecar)],
        &["model sidecar is malformed"],
    )?;
    Ok(())
}

#[test]
fn a_worker_panic_is_caught_and_the_worker_goes_on() -> Result<()> {
    let run = phrases(3, &[("DESCANT_FAULT", Path::new("panic-once"))], &[]);
    let log = &run.log;
    ensure!(run.passed, "MIDI did not pass cleanly:\n{log}");
    ensure!(log.contains("injected fault: worker panic"), "{log}");
    ensure!(
        log.contains("recovered from an internal error"),
        "the worker did not recover:\n{log}"
    );
    ensure!(
        run.answers.len() == 3 && run.answers[2] > 0,
        "Descant did not answer after the panic:\n{log}"
    );
    Ok(())
}

#[test]
fn a_worker_that_keeps_panicking_stops_and_midi_still_passes() -> Result<()> {
    let run = phrases(3, &[("DESCANT_FAULT", Path::new("panic-always"))], &[]);
    let log = &run.log;
    ensure!(run.passed, "MIDI did not pass cleanly:\n{log}");
    ensure!(
        log.contains("failed 4 times within a minute"),
        "the worker did not give up:\n{log}"
    );
    ensure!(
        run.answers.len() == 3 && run.answers[1..].iter().all(|&n| n == 0),
        "Descant played after giving up:\n{log}"
    );
    Ok(())
}

/// Keys (with channels) whose last event in `notes` is a note-on: what a synth would still play.
fn still_on(notes: &[OutNote]) -> Vec<(u8, u8)> {
    let mut last = std::collections::BTreeMap::new();
    for n in notes {
        last.insert((n.key, n.channel), n.on);
    }
    last.into_iter()
        .filter(|&(_, on)| on)
        .map(|(k, _)| k)
        .collect()
}

/// The `i`th of every key on every channel.
fn key_channel(i: usize) -> (u8, u8) {
    ((i % 128) as u8, ((i / 128) % 16) as u8)
}

/// Runs until Descant answers a phrase (pass-through off, so every note out is Descant's).
fn answers(h: &mut PluginHost, pace: &mut Pacer) -> Result<Vec<OutNote>> {
    h.set_text("Pass through", "Off")?;
    let spb = h.samples_per_beat();
    let (mut script, _) = phrase_script(spb, (h.sample_pos as f64 / spb).ceil(), &[60, 62, 64]);
    let end = script.iter().map(|(at, _)| at + 1).max().unwrap_or(0);
    let mut out = h.run_script(end, 512, &mut script, pace)?;
    out.extend(h.run_beats(8.0, 512, pace)?);
    h.transport.playing = false;
    out.extend(h.process(512, &[])?.1);
    h.transport.playing = true;
    Ok(out)
}

#[test]
fn a_flood_of_player_events_never_costs_a_note_off() -> Result<()> {
    let mut h = PluginHost::load(&test_plugin_path(), 48_000.0, 4096)?;
    h.set_offline()?;
    // One block: every key on every channel pressed (2,048), 1,000 of them pressed again, then
    // all released. 5,096 events: more than nice-plug's input buffer (1,024), the worker's queue
    // (1,024) and the block's budget of starts (2,048). Before the budget, the presses filled the
    // outbox and 1,000 releases were lost: hanging notes downstream.
    let mut flood = Vec::new();
    for i in 0..2048 + 1000 {
        let (key, channel) = key_channel(i);
        flood.push(Input::NoteOn {
            offset: (i / 2) as u32,
            key,
            channel,
            velocity: 0.5,
        });
    }
    for i in 0..2048 {
        let (key, channel) = key_channel(i);
        flood.push(Input::NoteOff {
            offset: 2048 + (i / 2) as u32,
            key,
            channel,
        });
    }
    let (_, out) = h.process(4096, &flood)?;
    let ons = out.iter().filter(|n| n.on).count();
    ensure!(ons >= 1024, "only {ons} presses passed");
    let hanging = still_on(&out);
    ensure!(hanging.is_empty(), "{} keys left sounding", hanging.len());
    // Keys held across blocks: all pressed in one block, more presses than fit, released in
    // the next.
    let held: Vec<Input> = (0..2048 + 500)
        .map(|i| {
            let (key, channel) = key_channel(i);
            Input::NoteOn {
                offset: (i / 8) as u32,
                key,
                channel,
                velocity: 0.5,
            }
        })
        .collect();
    let (_, mut both) = h.process(4096, &held)?;
    let released: Vec<Input> = (0..2048)
        .map(|i| {
            let (key, channel) = key_channel(i);
            Input::NoteOff {
                offset: (i / 8) as u32,
                key,
                channel,
            }
        })
        .collect();
    both.extend(h.process(4096, &released)?.1);
    let hanging = still_on(&both);
    ensure!(hanging.is_empty(), "{} keys left sounding", hanging.len());
    // The worker lost events to its full queue; it forgot the phrase and still answers.
    let mut pace = Pacer::new(f64::INFINITY);
    let answer = answers(&mut h, &mut pace)?;
    ensure!(
        answer.iter().any(|n| n.on),
        "Descant did not answer after the flood"
    );
    let (hanging, _) = unmatched(&answer);
    ensure!(hanging.is_empty(), "hanging after stop: {hanging:?}");
    Ok(())
}

/// Plays a phrase until Descant sounds (offline, pass-through off); returns what it sent.
fn sounding(h: &mut PluginHost, pace: &mut Pacer) -> Result<Vec<OutNote>> {
    h.set_text("Pass through", "Off")?;
    let spb = h.samples_per_beat();
    let (mut script, _) = phrase_script(spb, (h.sample_pos as f64 / spb).ceil(), &[60, 64, 67]);
    let end = script.iter().map(|(at, _)| at + 1).max().unwrap_or(0);
    let mut out = h.run_script(end, 512, &mut script, pace)?;
    for _ in 0..64 {
        out.extend(h.run_beats(0.25, 512, pace)?);
        if !unmatched(&out).0.is_empty() {
            return Ok(out);
        }
    }
    anyhow::bail!("Descant never sounded")
}

#[test]
fn host_calls_out_of_order_leave_nothing_hanging() -> Result<()> {
    let mut pace = Pacer::new(f64::INFINITY);
    // Activations with no processing in between, twice over, then deactivation while inactive.
    let mut h = PluginHost::load_inactive(&test_plugin_path(), 44_100.0, 1024)?;
    h.deactivate();
    for _ in 0..3 {
        h.activate()?;
        h.deactivate();
    }
    h.activate()?;
    h.set_offline()?;
    let state = h.save_state()?;
    type Disruption = fn(&mut PluginHost, &[u8]) -> Result<()>;
    let disruptions: [(&str, Disruption); 6] = [
        ("reset", |h, _| h.reset()),
        ("stop and restart processing", |h, _| h.restart_processing()),
        ("state load while active", |h, s| {
            h.load_state_while_active(s)
        }),
        ("state load (deactivated around it)", |h, s| h.load_state(s)),
        ("deactivate and reactivate", |h, _| {
            h.deactivate();
            h.activate()
        }),
        ("blocks with no transport", |h, _| {
            h.send_transport = false;
            h.process(700, &[])?;
            h.process(1, &[])?;
            h.send_transport = true;
            Ok(())
        }),
    ];
    for (what, disrupt) in disruptions {
        let mut sent = sounding(&mut h, &mut pace)?;
        disrupt(&mut h, &state)?;
        sent.extend(h.run_beats(2.0, 333, &mut pace)?);
        h.transport.playing = false;
        sent.extend(h.process(64, &[])?.1);
        h.transport.playing = true;
        let (hanging, orphans) = unmatched(&sent);
        ensure!(hanging.is_empty(), "after {what}: hanging {hanging:?}");
        ensure!(orphans.is_empty(), "after {what}: orphaned {orphans:?}");
        h.process(512, &[])?;
    }
    // And it still plays.
    ensure!(sounding(&mut h, &mut pace)?.iter().any(|n| n.on));
    Ok(())
}

#[test]
fn scan_and_construction_start_nothing_and_activation_loads_off_the_main_thread() {
    let out = Command::new(env!("CARGO_BIN_EXE_descant-host"))
        .arg("scan")
        .arg("--plugin")
        .arg(test_plugin_path())
        .output()
        .expect("descant-host runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    assert!(log.contains("deactivation joined the worker"), "{log}");
}
