//! `descant-host`: runs the built Descant `.clap` in a minimal CLAP host.
//!
//! - `descant-host selfcheck [--plugin PATH]`: plays a phrase, waits for Descant's answer, prints
//!   it, stops the transport, and checks every note was released. Exit 0 when all holds.
//! - `descant-host passthrough [--plugin PATH]`: plays a few notes and checks they come out
//!   unchanged (used by the fault tests, with a broken runtime or model). Exit 0 when they do.
//! - `descant-host phrases N [--replace SRC DST]... [--plugin PATH]`: plays N phrases, listening 6
//!   beats after each, and prints `phrase I: passed P, descant D` for each. After the first phrase
//!   it copies each SRC over DST (write beside, then rename, as an installer would), so a fault
//!   test can repair a file while the plugin runs. Exit 0 when every phrase passed through and
//!   nothing hangs after the final stop.
//! - `descant-host scan [--plugin PATH]`: loads and instantiates the plugin as a host's scan does
//!   and checks that this started no thread and loaded no ONNX Runtime; then that activation
//!   starts the worker, which loads the runtime, and deactivation joins it. Run in its own process
//!   because it reads the whole process' threads and mappings.

use std::path::PathBuf;

use anyhow::{bail, ensure, Context, Result};
use descant_host_tests::{play_phrase, selfcheck, test_plugin_path, unmatched, Pacer, PluginHost};

const SAMPLE_RATE: f64 = 48_000.0;
const BLOCK: u32 = 256;

fn passthrough(plugin: PathBuf) -> Result<()> {
    let mut host = PluginHost::load(&plugin, SAMPLE_RATE, 1024)?;
    let mut pace = Pacer::new(8.0);
    let played = play_phrase(&mut host, &mut pace)?;
    let ons: Vec<u8> = played.iter().filter(|n| n.on).map(|n| n.key).collect();
    let offs: Vec<u8> = played.iter().filter(|n| !n.on).map(|n| n.key).collect();
    ensure!(
        ons == [60, 62, 64, 67] && offs == ons,
        "pass-through broken: {played:?}"
    );
    // Give the worker time to fail or load; nothing else may come out.
    let rest = host.run_beats(4.0, BLOCK, &mut pace)?;
    println!("passthrough ok; {} notes after the phrase", rest.len());
    Ok(())
}

/// Copies `src` over `dst` the way an installer replaces a file: beside it, then renamed.
fn replace_file(src: &str, dst: &str) -> Result<()> {
    let tmp = format!("{dst}.part");
    std::fs::copy(src, &tmp).with_context(|| format!("copying {src}"))?;
    std::fs::rename(&tmp, dst).with_context(|| format!("renaming onto {dst}"))?;
    Ok(())
}

fn phrases(plugin: PathBuf, count: usize, replace: &[(String, String)]) -> Result<()> {
    let mut host = PluginHost::load(&plugin, SAMPLE_RATE, 1024)?;
    let mut pace = Pacer::new(2.0);
    let mut all = Vec::new();
    for i in 1..=count {
        let played = play_phrase(&mut host, &mut pace)?;
        let passed = played.iter().filter(|n| n.on).count();
        ensure!(passed == 4, "phrase {i} did not pass through: {played:?}");
        let answer = host.run_beats(6.0, BLOCK, &mut pace)?;
        let descant = answer.iter().filter(|n| n.on).count();
        println!("phrase {i}: passed {passed}, descant {descant}");
        all.extend(played);
        all.extend(answer);
        if i == 1 {
            for (src, dst) in replace {
                replace_file(src, dst)?;
                println!("replaced {dst}");
            }
        }
    }
    host.transport.playing = false;
    all.extend(host.process(BLOCK, &[])?.1);
    let (hanging, orphans) = unmatched(&all);
    ensure!(hanging.is_empty(), "notes left hanging: {hanging:?}");
    ensure!(
        orphans.is_empty(),
        "note-offs without note-ons: {orphans:?}"
    );
    Ok(())
}

/// Threads of this process named as Descant's worker (`comm` keeps 15 bytes of the name).
fn worker_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| t.ok())
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.starts_with("descant-inferen"))
                })
                .count()
        })
        .unwrap_or(0)
}

/// Whether an ONNX Runtime library is mapped into this process.
fn runtime_mapped() -> bool {
    std::fs::read_to_string("/proc/self/maps").is_ok_and(|m| m.contains("libonnxruntime"))
}

fn scan(plugin: PathBuf) -> Result<()> {
    let started = std::time::Instant::now();
    let mut host = PluginHost::load_inactive(&plugin, SAMPLE_RATE, 1024)?;
    let took = started.elapsed();
    ensure!(!runtime_mapped(), "ONNX Runtime was loaded at scan");
    ensure!(worker_threads() == 0, "a worker thread started at scan");
    println!("scan and construction: {took:?}; no worker thread, no ONNX Runtime");
    host.activate()?;
    // The thread names itself once it runs: give it a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while worker_threads() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    ensure!(worker_threads() == 1, "activation did not start one worker");
    while !runtime_mapped() {
        ensure!(
            std::time::Instant::now() < deadline,
            "the worker never loaded ONNX Runtime"
        );
        host.process(BLOCK, &[])?;
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    println!("activation: the worker loaded ONNX Runtime while the host kept processing");
    let mut pace = Pacer::new(4.0);
    play_phrase(&mut host, &mut pace)?;
    let answer = host.run_beats(6.0, BLOCK, &mut pace)?;
    ensure!(answer.iter().any(|n| n.on), "Descant did not answer");
    // Threads ONNX Runtime starts from the worker inherit its name and live as long as the
    // process' runtime: count the worker as the one that goes away.
    let active = worker_threads();
    for cycle in 1..=2 {
        host.deactivate();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while worker_threads() >= active && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let left = worker_threads();
        ensure!(
            left == active - 1,
            "deactivation {cycle}: {left} threads named for the worker left of {active}"
        );
        host.activate()?;
    }
    println!(
        "deactivation joined the worker, twice ({} thread(s) ONNX Runtime started stay)",
        active - 1
    );
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let mut plugin = test_plugin_path();
    let mut count = 0;
    let mut replace = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--plugin" => plugin = PathBuf::from(args.next().context("--plugin needs a path")?),
            "--replace" => {
                let src = args.next().context("--replace needs SRC and DST")?;
                let dst = args.next().context("--replace needs SRC and DST")?;
                replace.push((src, dst));
            }
            n if command == "phrases" && count == 0 => {
                count = n.parse().context("phrases needs a count")?
            }
            other => bail!("unknown argument {other}"),
        }
    }
    match command.as_str() {
        "selfcheck" => selfcheck(&plugin),
        "passthrough" => passthrough(plugin),
        "phrases" => phrases(plugin, count.max(1), &replace),
        "scan" => scan(plugin),
        _ => bail!(
            "usage: descant-host selfcheck|passthrough|scan|phrases N [--replace SRC DST]... \
             [--plugin PATH]"
        ),
    }
}
