//! `descant idiom`: the style-fidelity benchmark (see `descant_host::idiom`). Plays the held-out
//! pieces through the built plugin with each style's own settings and compares Descant's lines
//! with the corpus's own in the same situations: the answer to a folk tune's first phrase beside
//! the tune's own next phrase (Answer mode), and the voice under a chorale's or Renaissance
//! piece's upper voice beside the composer's (Continue, `Voice = Below`), in 4-bar windows. Beside
//! Descant, two references: a random note of the key in the real line's rhythm, and another piece
//! of the same style's line placed in this one's situation (what a line of the style that was not
//! written for this place scores). Prints each statistic's mean and a discriminator's accuracy
//! (5 folds by piece; 50 % is chance).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use descant_host::discriminator::discriminate;
use descant_host::duet::Note;
use descant_host::heldout::{self, Piece};
use descant_host::idiom::{self, features, Features, FEATURES};
use descant_host::situations::{
    line_span, other_piece, places, play, play_all, role, used, Place, Role,
};

/// `descant idiom`'s arguments.
#[derive(Debug, clap::Args)]
pub struct IdiomArgs {
    /// The pieces (written by `training/heldout.py`).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "tests/fixtures/heldout.txt"
    )]
    fixture: PathBuf,
    /// The seeds of the answers, comma-separated.
    #[arg(long, default_value = "1,2")]
    answer_seeds: String,
    /// The seeds of the counter-voices (fewer pieces, so more seeds).
    #[arg(long, default_value = "1,2,3,4,5,6")]
    counter_seeds: String,
    /// Only these styles, comma-separated (default: all).
    #[arg(long)]
    styles: Option<String>,
    /// Only every Nth piece (1: all).
    #[arg(long, default_value_t = 1)]
    every: usize,
    /// Renders at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Sets a parameter by its name and text, after the style's own; repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Reads this piece's lines note by note: Descant's, the corpus's and the heard part.
    #[arg(long, value_name = "ID")]
    piece: Vec<String>,
    /// The `.clap` to measure (default: as `descant render` finds it).
    #[arg(long, value_name = "PATH")]
    plugin: Option<PathBuf>,
}

/// The lines judged in one style: (piece, features) for each source.
#[derive(Debug, Default)]
struct Lines {
    /// The corpus's own lines, once per seed (so each set is as large as Descant's).
    real: Vec<(usize, Features)>,
    /// Descant's, with their seed.
    descant: Vec<(usize, u32, Features)>,
    /// Random keys of the key in the real line's rhythm.
    random: Vec<(usize, Features)>,
    /// Another piece's real line, placed here.
    other: Vec<(usize, Features)>,
    /// The real lines, once each (for the per-seed discriminators).
    real_once: Vec<(usize, Features)>,
}

fn numbers(text: &str) -> Result<Vec<u32>> {
    text.split(',')
        .map(|s| s.trim().parse().context("seeds are numbers"))
        .collect()
}

/// Runs `descant idiom`.
pub fn run(args: IdiomArgs) -> Result<()> {
    let plugin = args
        .plugin
        .clone()
        .unwrap_or_else(crate::render::default_plugin);
    let styles: Option<Vec<String>> = args
        .styles
        .as_ref()
        .map(|s| s.split(',').map(|x| x.trim().to_owned()).collect());
    let pieces: Vec<Piece> = heldout::load(&args.fixture)?
        .into_iter()
        .filter(|p| role(&p.style).is_some())
        .filter(|p| styles.as_ref().is_none_or(|s| s.contains(&p.style)))
        .step_by(args.every.max(1))
        .collect();
    let extra = crate::render::measurement_settings("continue", 1, &args.set)?.split_off(3);
    let (answer_seeds, counter_seeds) =
        (numbers(&args.answer_seeds)?, numbers(&args.counter_seeds)?);
    let placed: Vec<Vec<Place>> = pieces.iter().map(places).collect();
    if !args.piece.is_empty() {
        return read_pieces(
            &plugin,
            &pieces,
            &placed,
            &args,
            &extra,
            &answer_seeds,
            &counter_seeds,
        );
    }
    let mut jobs = Vec::new();
    for (i, p) in pieces.iter().enumerate() {
        let Some((kind, _)) = role(&p.style) else {
            continue;
        };
        if placed[i].is_empty() {
            continue;
        }
        let seeds = match kind {
            Role::Answer => &answer_seeds,
            Role::Counter => &counter_seeds,
        };
        jobs.extend(seeds.iter().map(|&s| (i, s)));
    }
    let started = std::time::Instant::now();
    let takes = play_all(&plugin, &pieces, &jobs, &extra, args.jobs, |done, all| {
        if done % 100 == 0 || done == all {
            eprintln!(
                "{done}/{all} takes, {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    })?;
    let mut by_style: BTreeMap<String, Lines> = BTreeMap::new();
    for (i, p) in pieces.iter().enumerate() {
        let lines = by_style.entry(p.style.clone()).or_default();
        let other = other_piece(&pieces, &placed, i);
        for (w, place) in placed[i].iter().enumerate() {
            let f_real = features(&place.real, place.span, &place.situation);
            lines.real_once.push((i, f_real));
            let seed = (i * 100 + w) as u64;
            let random = idiom::random_keys(&place.real, place.situation.scale, seed);
            lines
                .random
                .push((i, features(&random, place.span, &place.situation)));
            if let Some(j) = other {
                let theirs = &placed[j][w.min(placed[j].len() - 1)];
                let up = i32::from(place.situation.scale.tonic) - i32::from(pieces[j].scale.tonic);
                let up = (up + 6).rem_euclid(12) - 6;
                let line = idiom::placed(&theirs.real, place.span.0 - theirs.span.0, up);
                let span = (place.span.0, place.span.0 + (theirs.span.1 - theirs.span.0));
                lines
                    .other
                    .push((i, features(&line, span, &place.situation)));
            }
        }
    }
    for ((i, seed), descant) in &takes {
        let lines = by_style
            .get_mut(&pieces[*i].style)
            .expect("every piece's style");
        for place in &placed[*i] {
            let span = match role(&pieces[*i].style) {
                Some((Role::Answer, _)) => {
                    let answer: Vec<Note> = descant
                        .iter()
                        .filter(|n| n.beat >= pieces[*i].call_end - 1e-6)
                        .copied()
                        .collect();
                    line_span(&answer, pieces[*i].meter).unwrap_or(place.span)
                }
                _ => place.span,
            };
            lines
                .descant
                .push((*i, *seed, features(descant, span, &place.situation)));
            lines
                .real
                .push((*i, features(&place.real, place.span, &place.situation)));
        }
    }
    for (style, lines) in &by_style {
        print!("{}", style_report(style, lines)?);
    }
    println!(
        "{} pieces, {} takes in {:.0} s",
        pieces.len(),
        takes.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The statistics shown, by feature name, with how they print (x100 for shares).
const SHOWN: [(&str, bool); 38] = [
    ("repeats", true),
    ("steps (1-2)", true),
    ("thirds (3-4)", true),
    ("4ths-5ths (5-7)", true),
    ("wider (8+)", true),
    ("leaps (5+)", true),
    ("mean interval", false),
    ("range", false),
    ("turns", true),
    ("length <= 1/4", true),
    ("length 1/3, 2/3", true),
    ("length 1/2", true),
    ("length 3/4 (dotted)", true),
    ("length 1", true),
    ("length 3/2", true),
    ("length 2-3", true),
    ("length 4+", true),
    ("on the pulse", true),
    ("notes per note heard", false),
    ("out of key", true),
    ("ends on tonic", true),
    ("ends on fifth", true),
    ("ending length", false),
    ("ends on the downbeat", true),
    ("v: unison/8ve", true),
    ("v: 3rd", true),
    ("v: 4th", true),
    ("v: 5th", true),
    ("v: 6th", true),
    ("v: dissonant", true),
    ("m: contrary", true),
    ("m: parallel", true),
    ("m: oblique", true),
    ("distance", false),
    ("apart: 3rd or less", true),
    ("apart: 4th-5th", true),
    ("apart: 6th-8ve", true),
    ("apart: wider", true),
];

/// The correction a round of calibrating adds to a style's row of
/// `decode::calibration::STYLE_CALIBRATION`: per class of lengths, intervals and distances,
/// `ln(corpus share / Descant's share)` (shares floored at 0.1 %, the log bounded by ±3), so that
/// the lines Descant draws next have the corpus's shares (`docs/MEASUREMENTS.md`, "Idiom").
fn calibration(lines: &Lines) -> String {
    let row = |first: &str, last: &str| {
        let (a, b) = (idiom::slot(first), idiom::slot(last));
        let shares = (a..=b).map(|i| {
            let real = mean(lines.real_once.iter().map(|r| r.1[i])).max(1e-3);
            let descant = mean(lines.descant.iter().map(|r| r.2[i])).max(1e-3);
            format!("{:.2}", (real / descant).ln().clamp(-3.0, 3.0))
        });
        format!("[{}]", shares.collect::<Vec<_>>().join(", "))
    };
    format!(
        "Calibration, ln(corpus / Descant) per class: lengths {}, intervals {}, distances {}",
        row("length <= 1/4", "length 4+"),
        row("repeats", "wider (8+)"),
        row("apart: 3rd or less", "apart: wider"),
    )
}

fn mean(rows: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for x in rows {
        sum += x;
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// One style's tables: the statistics beside the references, and the discriminators.
fn style_report(style: &str, lines: &Lines) -> Result<String> {
    let kind = role(style).map(|r| r.0).context("a measured style")?;
    let feats = used(kind);
    let mut out = String::new();
    let seeds: Vec<u32> = {
        let mut s: Vec<u32> = lines.descant.iter().map(|d| d.1).collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    writeln!(
        out,
        "\n## {style}: {} ({} lines of the corpus, {} of Descant over seeds {:?})\n",
        match kind {
            Role::Answer => "answers to the first phrase, beside the tune's next phrase",
            Role::Counter => "windows of up to 4 bars of the voice below from its second bar, beside the composer's",
        },
        lines.real_once.len(),
        lines.descant.len(),
        seeds
    )?;
    writeln!(
        out,
        "| statistic | corpus | Descant | another piece | random key | Descant within 15 % or nearer than another piece |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    for (name, percent) in SHOWN {
        let Some(i) = idiom::feature_index(name) else {
            continue;
        };
        if !feats.contains(&i) {
            continue;
        }
        let real = mean(lines.real_once.iter().map(|r| r.1[i]));
        let descant = mean(lines.descant.iter().map(|r| r.2[i]));
        let other = mean(lines.other.iter().map(|r| r.1[i]));
        let random = mean(lines.random.iter().map(|r| r.1[i]));
        let show = |x: f64| {
            if percent {
                format!("{:.1}", 100.0 * x)
            } else {
                format!("{x:.2}")
            }
        };
        let near = (descant - real).abs() <= 0.15 * real.abs().max(1e-9)
            || (descant - real).abs() <= (other - real).abs();
        writeln!(
            out,
            "| {name}{} | {} | {} | {} | {} | {} |",
            if percent { " %" } else { "" },
            show(real),
            show(descant),
            show(other),
            show(random),
            if near { "yes" } else { "**no**" }
        )?;
    }
    if kind == Role::Counter {
        writeln!(out, "\n{}", calibration(lines))?;
    }
    let descant: Vec<(usize, Features)> = lines.descant.iter().map(|d| (d.0, d.2)).collect();
    let judge = |set: &[(usize, Features)], real: &[(usize, Features)]| -> Result<String> {
        let v = match discriminate(real, set, &feats) {
            Ok(v) => v,
            Err(e) => return Ok(e.to_string()),
        };
        let tells: Vec<String> = v
            .tells
            .iter()
            .map(|(n, w)| {
                format!(
                    "{n} {}",
                    if *w > 0.0 {
                        "(corpus more)"
                    } else {
                        "(corpus less)"
                    }
                )
            })
            .collect();
        Ok(format!(
            "{:.1} % of {} lines; tells: {}",
            100.0 * v.accuracy,
            v.lines,
            tells.join(", ")
        ))
    };
    writeln!(out, "\nDiscriminator (5 folds by piece, 50 % is chance):")?;
    writeln!(
        out,
        "- Descant, seeds pooled: {}",
        judge(&descant, &lines.real)?
    )?;
    let mut per_seed = Vec::new();
    for &s in &seeds {
        let one: Vec<(usize, Features)> = lines
            .descant
            .iter()
            .filter(|d| d.1 == s)
            .map(|d| (d.0, d.2))
            .collect();
        if let Ok(v) = discriminate(&lines.real_once, &one, &feats) {
            per_seed.push(format!("{:.1}", 100.0 * v.accuracy));
        }
    }
    writeln!(
        out,
        "- Descant, each seed alone: {} %",
        per_seed.join(" / ")
    )?;
    if kind == Role::Answer {
        // `Ending = Home` (the default) asks for the tonic: the same without the ending's degree.
        let asked: Vec<usize> = feats
            .iter()
            .copied()
            .filter(|&i| !matches!(FEATURES[i], "ends on tonic" | "ends on fifth"))
            .collect();
        let line = match discriminate(&lines.real, &descant, &asked) {
            Ok(v) => format!("{:.1} % of {} lines", 100.0 * v.accuracy, v.lines),
            Err(e) => e.to_string(),
        };
        writeln!(
            out,
            "- Descant, without the ending's degree (Ending = Home asks for the tonic): {line}"
        )?;
    }
    writeln!(
        out,
        "- another piece of the style: {}",
        judge(&lines.other, &lines.real_once)?
    )?;
    writeln!(
        out,
        "- random key: {}",
        judge(&lines.random, &lines.real_once)?
    )?;
    Ok(out)
}

/// `--piece`: each chosen piece's lines, note by note.
fn read_pieces(
    plugin: &Path,
    pieces: &[Piece],
    placed: &[Vec<Place>],
    args: &IdiomArgs,
    extra: &[(String, String)],
    answer_seeds: &[u32],
    counter_seeds: &[u32],
) -> Result<()> {
    for id in &args.piece {
        let i = pieces
            .iter()
            .position(|p| &p.id == id)
            .with_context(|| format!("no measured piece '{id}' in {}", args.fixture.display()))?;
        let p = &pieces[i];
        let kind = role(&p.style).map(|r| r.0).context("a measured style")?;
        let seeds = match kind {
            Role::Answer => answer_seeds,
            Role::Counter => counter_seeds,
        };
        println!(
            "\n{} ({} {}/{}, {} qpm)",
            p.id, p.style, p.meter.0, p.meter.1, p.tempo
        );
        let heard: Vec<Note> = placed[i]
            .iter()
            .flat_map(|pl| pl.situation.heard.clone())
            .collect();
        let real: Vec<Note> = placed[i].iter().flat_map(|pl| pl.real.clone()).collect();
        println!("heard:   {}", listing(&heard, p.bar_beats()));
        println!("corpus:  {}", listing(&real, p.bar_beats()));
        for &seed in seeds.iter().take(3) {
            let mut line = play(plugin, p, seed, extra)?;
            if kind == Role::Answer {
                line.retain(|n| n.beat >= p.call_end - 1e-6);
            }
            println!("seed {seed}:  {}", listing(&line, p.bar_beats()));
        }
    }
    Ok(())
}

/// Notes as `bar.beat key/length`, a bar line between bars.
fn listing(notes: &[Note], bar: f64) -> String {
    const NAMES: [&str; 12] = [
        "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
    ];
    let mut out = String::new();
    let mut last_bar = None;
    for n in notes {
        let b = (n.beat / bar + 1e-6).floor();
        if last_bar.is_some_and(|l| l != b) {
            out.push_str("| ");
        }
        last_bar = Some(b);
        let _ = write!(
            out,
            "{}{}/{} ",
            NAMES[usize::from(n.key % 12)],
            i32::from(n.key / 12) - 1,
            fraction(n.length)
        );
    }
    out
}

/// A length in beats as a short fraction (`1/2`, `3/4`, `1.5`).
fn fraction(x: f64) -> String {
    for d in [1u32, 2, 3, 4, 6, 8, 12] {
        let n = x * f64::from(d);
        if (n - n.round()).abs() < 0.02 {
            let n = n.round() as u32;
            return if d == 1 {
                n.to_string()
            } else {
                format!("{n}/{d}")
            };
        }
    }
    format!("{x:.2}")
}
