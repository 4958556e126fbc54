//! Lifecycle stress: 1,000 create → activate → process → deactivate → destroy cycles of
//! the built debug `Descant.clap` in one process, through `clack-host`. Each cycle loads the
//! `.clap`, starts the inference thread (which loads the model) and joins it again. Measured from
//! `/proc/self` after a warm-up of 100 cycles and at the end: open file descriptors and threads
//! must not grow, and resident memory may grow by less than 32 MiB (allocator noise), so a leak of
//! a session, a thread or a model per cycle fails. `DESCANT_LIFECYCLE_CYCLES` changes the count.

use anyhow::{ensure, Context, Result};
use descant_host_tests::{env_number, test_plugin_path, Input, PluginHost};

/// Cycles before the baseline is taken (allocator pools and the runtime's one-time state settle).
const WARM_UP: usize = 100;

/// Resident memory (kB), open file descriptors and threads of this process.
fn usage() -> Result<(u64, usize, usize)> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("VmRSS in /proc/self/status")?;
    let fds = std::fs::read_dir("/proc/self/fd")?.count();
    let threads = std::fs::read_dir("/proc/self/task")?.count();
    Ok((rss, fds, threads))
}

#[test]
fn a_thousand_lifecycles_leak_no_memory_threads_or_files() -> Result<()> {
    let cycles: usize = env_number("DESCANT_LIFECYCLE_CYCLES", 1_000);
    let started = std::time::Instant::now();
    let mut baseline = None;
    for i in 0..cycles {
        // Offline, the first block waits for the worker, which loads the model first: every
        // cycle creates and destroys an ONNX Runtime session.
        let mut h = PluginHost::load_inactive(&test_plugin_path(), 48_000.0, 512)?;
        h.set_offline()?;
        for b in 0..20 {
            let inputs = match b % 5 {
                0 => vec![Input::NoteOn {
                    offset: 3,
                    key: 60 + (b % 12) as u8,
                    channel: 0,
                    velocity: 0.7,
                }],
                2 => vec![Input::NoteOff {
                    offset: 100,
                    key: 60 + (b % 12) as u8,
                    channel: 0,
                }],
                _ => Vec::new(),
            };
            h.process(512, &inputs)?;
        }
        h.deactivate();
        drop(h);
        if i + 1 == WARM_UP.min(cycles) {
            baseline = Some(usage()?);
        }
    }
    let (rss0, fds0, threads0) = baseline.context("no baseline")?;
    let (rss, fds, threads) = usage()?;
    println!(
        "{cycles} lifecycles in {:.1} s; after {WARM_UP}: {rss0} kB resident, {fds0} files, \
         {threads0} threads; at the end: {rss} kB, {fds} files, {threads} threads",
        started.elapsed().as_secs_f64()
    );
    ensure!(fds <= fds0, "file descriptors grew from {fds0} to {fds}");
    ensure!(
        threads <= threads0,
        "threads grew from {threads0} to {threads}"
    );
    ensure!(
        rss < rss0 + 32 * 1024,
        "resident memory grew from {rss0} kB to {rss} kB"
    );
    Ok(())
}
