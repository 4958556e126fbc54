//! The self-check `cargo xtask install` runs on the installed plugin (and `descant selfcheck`):
//! a phrase in, Descant's answer out, every note released on stop.

use std::path::Path;

use anyhow::{ensure, Result};

use crate::{unmatched, Input, OutNote, Pacer, PluginHost};

/// Sample rate of the check.
const SAMPLE_RATE: f64 = 48_000.0;
/// Block size of the check.
const BLOCK: u32 = 256;

/// Plays four eighth notes (C D E G) on channel 0 from the host's position, pacing with `pace`;
/// returns what the plugin sent meanwhile.
pub fn play_phrase(host: &mut PluginHost, pace: &mut Pacer) -> Result<Vec<OutNote>> {
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

/// Plays a phrase to `plugin`, waits for Descant's answer, prints it, stops the transport and
/// checks that every note was released. Prints as it goes; an error says what failed.
pub fn selfcheck(plugin: &Path) -> Result<()> {
    let mut host = PluginHost::load(plugin, SAMPLE_RATE, 1024)?;
    let mut pace = Pacer::new(2.0);
    println!("loaded {}", plugin.display());
    let played = play_phrase(&mut host, &mut pace)?;
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
