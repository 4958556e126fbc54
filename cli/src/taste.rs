//! `descant taste`: whether the session's taste learns what a musician likes. For each seed a
//! simulated musician (`descant_host::musician`) who keeps the answers that leap at least as
//! often as those before and asks again for the others plays calls to the built plugin (offline,
//! Answer mode) beside one who presses nothing; then the taste is reset and both go on. Prints
//! the leap share of the answers, five at a time, for each, pooled over the seeds, and what the
//! taste learned. The same seeds give the same table.

use std::path::PathBuf;

use anyhow::Result;
use descant_host::musician::{self, mean, reset_taste, saved_taste, session, Musician};

/// `descant taste`'s arguments.
#[derive(Debug, clap::Args)]
pub struct TasteArgs {
    /// The seeds, one session each.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5")]
    seeds: Vec<u32>,
    /// Answers judged while the taste learns.
    #[arg(long, default_value_t = 20)]
    answers: usize,
    /// Answers after `Reset taste`.
    #[arg(long, default_value_t = 10)]
    after_reset: usize,
    /// The `.clap` to measure (default: as `descant render` finds it).
    #[arg(long, value_name = "PATH")]
    plugin: Option<PathBuf>,
}

/// Means of `shares` five at a time, as `0.12 0.20 …`.
fn blocks(shares: &[f64]) -> String {
    shares
        .chunks(5)
        .map(|c| format!("{:.3}", mean(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(args: TasteArgs) -> Result<()> {
    let plugin = args
        .plugin
        .clone()
        .unwrap_or_else(crate::render::default_plugin);
    // The musician's Keeps save takes: into a folder of its own, not the musician's.
    let takes = std::env::temp_dir().join(format!("descant-taste-{}", std::process::id()));
    std::env::set_var("DESCANT_TAKES_DIR", &takes);
    let (n, r) = (args.answers, args.after_reset);
    println!("leap share of the answers (intervals of a 4th or more), five answers at a time:");
    println!(
        "{:<6} {:<10} {:<32} {:<20} taste learned",
        "seed", "musician", "while learning", "after reset"
    );
    let mut pooled: [Vec<Vec<f64>>; 2] = [Vec::new(), Vec::new()];
    let mut home = [(0usize, 0usize); 2];
    let mut after: [Vec<Vec<f64>>; 2] = [Vec::new(), Vec::new()];
    for &seed in &args.seeds {
        for (i, who) in [Musician::Silent, Musician::LovesLeaps]
            .into_iter()
            .enumerate()
        {
            let mut h = musician::answer_host(&plugin, seed)?;
            let played = session(&mut h, who, n, 0)?;
            home[i].0 += played.home.iter().filter(|&&h| h).count();
            home[i].1 += played.home.len();
            let learning = played.shares;
            let (choices, leaps) = saved_taste(&mut h)?;
            reset_taste(&mut h)?;
            let reset = session(&mut h, Musician::Silent, r, n)?.shares;
            println!(
                "{seed:<6} {:<10} {:<32} {:<20} {choices} choices, leaps weight {leaps:+.2}",
                match who {
                    Musician::Silent => "silent",
                    Musician::LovesLeaps => "leaps",
                },
                blocks(&learning),
                blocks(&reset)
            );
            pooled[i].push(learning);
            after[i].push(reset);
        }
    }
    println!();
    println!(
        "pooled over {} seeds (mean of each block):",
        args.seeds.len()
    );
    for (i, who) in ["silent", "leaps"].iter().enumerate() {
        let at = |runs: &[Vec<f64>], k: usize| {
            mean(
                &runs
                    .iter()
                    .filter_map(|s| s.get(k).copied())
                    .collect::<Vec<_>>(),
            )
        };
        let learning: Vec<f64> = (0..n).map(|k| at(&pooled[i], k)).collect();
        let reset: Vec<f64> = (0..r).map(|k| at(&after[i], k)).collect();
        println!(
            "{who:<10} while learning {}; after reset {}; answers ending on the tonic while \
             learning {:.1} %",
            blocks(&learning),
            blocks(&reset),
            100.0 * home[i].0 as f64 / home[i].1.max(1) as f64
        );
    }
    let _ = std::fs::remove_dir_all(&takes);
    Ok(())
}
