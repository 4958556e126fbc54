//! `descant-host`: runs the built Descant `.clap` in a minimal CLAP host.
//!
//! - `descant-host selfcheck [--plugin PATH]`: plays a phrase, waits for Descant's answer, prints
//!   it, stops the transport, and checks every note was released. Exit 0 when all holds.
//! - `descant-host passthrough [--plugin PATH]`: plays a few notes and checks they come out
//!   unchanged (used by the fault tests, with a broken runtime or model). Exit 0 when they do.

use std::path::PathBuf;

use anyhow::{bail, ensure, Context, Result};
use descant_host_tests::{test_plugin_path, unmatched, Input, Pacer, PluginHost};

const SAMPLE_RATE: f64 = 48_000.0;
const BLOCK: u32 = 256;

fn phrase_blocks(
    host: &mut PluginHost,
    pace: &mut Pacer,
) -> Result<Vec<descant_host_tests::OutNote>> {
    let mut out = Vec::new();
    let eighth = (host.samples_per_beat() / 2.0) as u64;
    for key in [60u8, 62, 64, 67] {
        let start = host.sample_pos;
        out.extend(
            host.process(
                BLOCK,
                &[Input::NoteOn {
                    offset: 0,
                    key,
                    channel: 0,
                    velocity: 0.8,
                }],
            )?
            .1,
        );
        while host.sample_pos + u64::from(BLOCK) < start + eighth {
            out.extend(host.process(BLOCK, &[])?.1);
            pace.wait(u64::from(BLOCK), SAMPLE_RATE);
        }
        out.extend(
            host.process(
                BLOCK,
                &[Input::NoteOff {
                    offset: 0,
                    key,
                    channel: 0,
                }],
            )?
            .1,
        );
    }
    Ok(out)
}

fn selfcheck(plugin: PathBuf) -> Result<()> {
    let mut host = PluginHost::load(&plugin, SAMPLE_RATE, 1024)?;
    let mut pace = Pacer::new(2.0);
    println!("loaded {}", plugin.display());
    let played = phrase_blocks(&mut host, &mut pace)?;
    ensure!(
        played.iter().filter(|n| n.on).count() == 4,
        "the phrase did not pass through"
    );
    // Default `Answer after` is 2 beats; listen for 6 beats.
    let answer = host.run_beats(6.0, BLOCK, &mut pace)?;
    host.transport.playing = false;
    let released = host.process(BLOCK, &[])?.1;
    let ons: Vec<_> = answer.iter().filter(|n| n.on).collect();
    let spb = host.samples_per_beat();
    for n in &ons {
        println!(
            "  Descant: key {:3} at beat {:7.3} (sample {}), velocity {:.2}",
            n.key,
            n.sample as f64 / spb,
            n.sample,
            n.velocity
        );
    }
    let mut all = answer.clone();
    all.extend(released);
    let (hanging, orphans) = unmatched(&all);
    ensure!(
        !ons.is_empty(),
        "Descant did not answer (is the model loaded? see the log above)"
    );
    ensure!(
        hanging.is_empty(),
        "notes left hanging after stop: {hanging:?}"
    );
    ensure!(
        orphans.is_empty(),
        "note-offs without note-ons: {orphans:?}"
    );
    println!(
        "self-check passed: {} answer notes, all released on stop",
        ons.len()
    );
    Ok(())
}

fn passthrough(plugin: PathBuf) -> Result<()> {
    let mut host = PluginHost::load(&plugin, SAMPLE_RATE, 1024)?;
    let mut pace = Pacer::new(8.0);
    let played = phrase_blocks(&mut host, &mut pace)?;
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

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let mut plugin = test_plugin_path();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--plugin" => plugin = PathBuf::from(args.next().context("--plugin needs a path")?),
            other => bail!("unknown argument {other}"),
        }
    }
    match command.as_str() {
        "selfcheck" => selfcheck(plugin),
        "passthrough" => passthrough(plugin),
        _ => bail!("usage: descant-host selfcheck|passthrough [--plugin PATH]"),
    }
}
