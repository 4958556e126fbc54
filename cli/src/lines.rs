//! `descant lines DIR [--out FILE]`: the melodic lines Descant finds in a folder of your own MIDI
//! files, what it skips and why, and whether there is enough to learn from (the first step of
//! learning your style). Reads the folder recursively; writes nothing unless `--out` is
//! given. Exit 1 when the folder cannot be read or holds too little to learn from (the reason is
//! on stderr).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use descant_inference::files::melody_lines::{self, Extraction};

/// `descant lines`' arguments.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Each MIDI channel is a line, drums (channel 10) excepted; where a channel plays \
several notes at once its top note is taken. A line needs 16 notes; learning needs 600 notes in \
all. Files over 16 MB are skipped unread. --out writes one JSON object per line: file, channel, \
meter, tempos and notes as [onset, duration, key] in ticks of 1/12 beat."
)]
pub struct LinesArgs {
    /// The folder of MIDI files (.mid, .midi), read with its subfolders.
    dir: PathBuf,
    /// Write the lines here, one JSON object per line (written beside, then renamed).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs `descant lines`.
pub fn run(args: LinesArgs) -> Result<()> {
    if !args.dir.is_dir() {
        bail!("{} is not a folder", args.dir.display());
    }
    let found = melody_lines::extract(&args.dir)
        .with_context(|| format!("reading {}", args.dir.display()))?;
    print_report(&found);
    if let Some(out) = &args.out {
        write_lines(&found, out)?;
        println!("wrote {} lines to {}", found.lines.len(), out.display());
    }
    if let Some(why) = found.too_little() {
        bail!("{} is not enough to learn from: {why}", args.dir.display());
    }
    Ok(())
}

pub(crate) fn print_report(found: &Extraction) {
    for f in &found.files {
        let lines = match f.lines {
            0 => "no line".to_string(),
            1 => "1 line".to_string(),
            n => format!("{n} lines"),
        };
        if f.skipped.is_empty() {
            println!("{}: {lines}", f.file.display());
        } else {
            println!(
                "{}: {lines}; skipped {}",
                f.file.display(),
                f.skipped.join("; ")
            );
        }
    }
    let dropped: usize = found.lines.iter().map(|l| l.dropped).sum();
    println!(
        "{} MIDI files, {} lines, {} notes ({dropped} notes under the top lines left out)",
        found.files.len(),
        found.lines.len(),
        found.notes()
    );
}

pub(crate) fn write_lines(found: &Extraction, out: &std::path::Path) -> Result<()> {
    let partial = out.with_extension("partial");
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&partial)
            .with_context(|| format!("writing {}", partial.display()))?,
    );
    for line in &found.lines {
        let notes: Vec<[i64; 3]> = line
            .notes
            .iter()
            .map(|n| [n.onset, n.duration, i64::from(n.key)])
            .collect();
        let json = serde_json::json!({
            "file": line.file.to_string_lossy(),
            "channel": line.channel + 1,
            "meter": [line.meter.numerator, line.meter.denominator],
            "tempos": line.tempos,
            "notes": notes,
        });
        writeln!(file, "{json}")?;
    }
    file.flush()?;
    drop(file);
    std::fs::rename(&partial, out).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
