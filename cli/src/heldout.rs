//! `descant heldout`: the held-out benchmark (see `descant_host::benchmark`). Plays hundreds of
//! pieces no part of Descant was fitted on through the built plugin, in each mode, hearing the
//! melody alone and with its chords, for each seed, and prints the tables of
//! `docs/MEASUREMENTS.md`: per style, per meter and per style and meter, with the spread over
//! seeds, beside the references. `--piece ID` instead reads one piece's takes note by note.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use descant_host::benchmark::{self, Cell, Plan, Tally};
use descant_host::duet::{class, DuetStats, Note};
use descant_host::harmony::{chord_at, pulse};
use descant_host::heldout::{self, Heard, Mode, Piece};
use descant_inference::files::midi_file;

use crate::duet::beat_notes;

/// `descant heldout`'s arguments.
#[derive(Debug, clap::Args)]
pub struct HeldoutArgs {
    /// The pieces (written by `training/heldout.py`).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "tests/fixtures/heldout.txt"
    )]
    fixture: PathBuf,
    /// The modes, comma-separated: continue, answer, loop.
    #[arg(long, default_value = "continue,answer,loop")]
    modes: String,
    /// The seeds of Continue and Answer, comma-separated (every take is played once per seed).
    #[arg(long, default_value = "1,2")]
    seeds: String,
    /// The seeds of Loop (its takes are the longest).
    #[arg(long, default_value = "1")]
    loop_seeds: String,
    /// Only every Nth piece (1: all).
    #[arg(long, default_value_t = 1)]
    every: usize,
    /// Renders at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Sets a parameter by its name and text; repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Reads this piece's takes note by note (and writes them as MIDI files with `--out`).
    #[arg(long, value_name = "ID")]
    piece: Vec<String>,
    /// Also lists the N takes with the most on-beat dissonances and notes out of key (to read
    /// with `--piece`).
    #[arg(long, value_name = "N", default_value_t = 0)]
    worst: usize,
    /// Where `--piece` writes its MIDI files.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The `.clap` to measure (default: as `descant render` finds it).
    #[arg(long, value_name = "PATH")]
    plugin: Option<PathBuf>,
}

fn modes(text: &str) -> Result<Vec<Mode>> {
    text.split(',')
        .map(|m| match m.trim().to_lowercase().as_str() {
            "continue" => Ok(Mode::Continue),
            "answer" => Ok(Mode::Answer),
            "loop" => Ok(Mode::Loop),
            other => bail!("unknown mode '{other}' (continue, answer, loop)"),
        })
        .collect()
}

/// Runs `descant heldout`.
pub fn run(args: HeldoutArgs) -> Result<()> {
    let plugin = args
        .plugin
        .clone()
        .unwrap_or_else(crate::render::default_plugin);
    let pieces = heldout::load(&args.fixture)?;
    let numbers = |text: &str| -> Result<Vec<u32>> {
        text.split(',')
            .map(|s| s.trim().parse().context("--seeds takes numbers"))
            .collect()
    };
    let extra: Vec<(String, String)> =
        crate::render::measurement_settings("continue", 1, &args.set)?.split_off(3);
    let plan = Plan {
        modes: modes(&args.modes)?,
        seeds: numbers(&args.seeds)?,
        loop_seeds: numbers(&args.loop_seeds)?,
        extra,
        jobs: args.jobs,
    };
    if !args.piece.is_empty() {
        return read_pieces(&plugin, &pieces, &plan, &args);
    }
    let chosen: Vec<Piece> = pieces.into_iter().step_by(args.every.max(1)).collect();
    let started = std::time::Instant::now();
    let (cells, takes) = benchmark::run(&plugin, &chosen, &plan, |done, all| {
        if done % 50 == 0 || done == all {
            eprintln!(
                "{done}/{all} takes, {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    })?;
    print!("{}", tables(&cells, &plan));
    if args.worst > 0 {
        let misses = |t: &Tally| {
            (t.duet.on_beat - t.duet.consonant)
                + (t.duet.notes - t.duet.in_key)
                + (t.answers.notes - t.answers.in_key)
                + (t.chords.strong - t.chords.strong_tones)
        };
        let mut worst: Vec<&benchmark::TakeTally> = takes.iter().collect();
        worst.sort_by_key(|(_, _, t)| std::cmp::Reverse(misses(t)));
        println!("\nThe {} takes with the most misses (dissonant on the beat, out of key, no chord tone on a strong beat):", args.worst);
        for (i, c, t) in worst.into_iter().take(args.worst) {
            println!(
                "  {} {} {:?} seed {}: {} dissonant of {} on the beat, {} of {} notes out of key, {} of {} strong beats off the chord",
                chosen[*i].id,
                c.mode.name(),
                c.heard,
                c.seed,
                t.duet.on_beat - t.duet.consonant,
                t.duet.on_beat,
                t.duet.notes - t.duet.in_key + t.answers.notes - t.answers.in_key,
                t.duet.notes + t.answers.notes,
                t.chords.strong - t.chords.strong_tones,
                t.chords.strong
            );
        }
    }
    println!(
        "{} pieces, {} takes in {:.0} s",
        chosen.len(),
        cells.values().map(|t| t.pieces).sum::<u32>(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `count` of `of` in percent, or a dash.
fn pct(count: f64, of: u32) -> String {
    if of == 0 {
        "    –".to_owned()
    } else {
        format!("{:>5.1}", 100.0 * count / f64::from(of))
    }
}

/// The lowest and highest of a figure over seeds, as "a" or "a–b".
fn spread(per_seed: &BTreeMap<u32, Tally>, figure: impl Fn(&Tally) -> Option<f64>) -> String {
    let values: Vec<f64> = per_seed.values().filter_map(figure).collect();
    if values.is_empty() {
        return "–".to_owned();
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if (hi - lo).abs() < 0.05 {
        format!("{lo:.1}")
    } else {
        format!("{lo:.1}–{hi:.1}")
    }
}

fn share(count: f64, of: u32) -> Option<f64> {
    (of > 0).then(|| 100.0 * count / f64::from(of))
}

/// A row of a table: its name, and which cells it sums.
type Group = (String, Box<dyn Fn(&Cell) -> bool>);

/// The rows' groups: everything, each style, each meter, each style and meter.
fn groups(cells: &BTreeMap<Cell, Tally>) -> Vec<Group> {
    let mut out: Vec<Group> = vec![("all".to_owned(), Box::new(|_: &Cell| true))];
    let styles: std::collections::BTreeSet<String> =
        cells.keys().map(|c| c.style.clone()).collect();
    let meters: std::collections::BTreeSet<(u8, u8)> = cells.keys().map(|c| c.meter).collect();
    for s in styles.clone() {
        let name = s.clone();
        out.push((name, Box::new(move |c: &Cell| c.style == s)));
    }
    for m in meters.clone() {
        out.push((
            format!("{}/{}", m.0, m.1),
            Box::new(move |c: &Cell| c.meter == m),
        ));
    }
    for s in &styles {
        for &m in &meters {
            if cells.keys().any(|c| &c.style == s && c.meter == m) {
                let s2 = s.clone();
                out.push((
                    format!("  {s} {}/{}", m.0, m.1),
                    Box::new(move |c: &Cell| c.style == s2 && c.meter == m),
                ));
            }
        }
    }
    out
}

/// The tables of a run.
fn tables(cells: &BTreeMap<Cell, Tally>, plan: &Plan) -> String {
    let mut out = String::new();
    let groups = groups(cells);
    for &mode in &plan.modes {
        for heard in [Heard::Melody, Heard::WithChords] {
            let here = |c: &Cell| c.mode == mode && c.heard == heard;
            if !cells.keys().any(here) {
                continue;
            }
            let _ = writeln!(
                out,
                "\n## {} mode, {}\n",
                mode.name(),
                match heard {
                    Heard::Melody => "melody only",
                    Heard::WithChords => "melody + chords on Chord channel 2",
                }
            );
            match mode {
                Mode::Answer => answer_table(&mut out, cells, &groups, &here),
                Mode::Continue | Mode::Loop => {
                    duet_table(&mut out, cells, &groups, &here);
                    heard_line(&mut out, cells, &here);
                }
            }
        }
    }
    out
}

/// A table's rows: each group's name, its counts per seed, the first seed's (the references do
/// not depend on the seed) and all seeds' together; groups with no take are left out.
fn rows<'a>(
    cells: &'a BTreeMap<Cell, Tally>,
    groups: &'a [Group],
    here: &'a dyn Fn(&Cell) -> bool,
) -> impl Iterator<Item = (&'a str, BTreeMap<u32, Tally>, Tally, Tally)> + 'a {
    groups.iter().filter_map(move |(name, keep)| {
        let per_seed = benchmark::per_seed(cells, |c| here(c) && keep(c));
        let first = *per_seed.values().next()?;
        let mut all = Tally::default();
        per_seed.values().for_each(|t| all.add(t));
        Some((name.as_str(), per_seed, first, all))
    })
}

fn duet_table(
    out: &mut String,
    cells: &BTreeMap<Cell, Tally>,
    groups: &[Group],
    here: &dyn Fn(&Cell) -> bool,
) {
    let _ = writeln!(
        out,
        "| group | pieces | beats | consonant | strict | chord tone, strong beats | in key | //5 8 per 100 | contrary | notes per melody note || the tune in key | random key: cons, strict, chord tone | random chord tone: cons, strict | corpus voice: cons, strict, chord tone, //5 8, contrary |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---|---|---|---|---|---|---||---|---|---|---|"
    );
    for (name, per_seed, first, all) in rows(cells, groups, here) {
        let d = &all.duet;
        let c = &all.chords;
        let v = &first.voice;
        let vc = &first.voice_chords;
        let voice = if v.on_beat == 0 {
            "–".to_owned()
        } else {
            format!(
                "{} {} {} {:.1} {}",
                pct(f64::from(v.consonant), v.on_beat),
                pct(f64::from(v.strict), v.on_beat),
                pct(f64::from(vc.strong_tones), vc.strong),
                per100(v),
                pct(f64::from(v.contrary), v.moves)
            )
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {:.1} | {} | {:.2} || {} | {} {} {} | {} {} | {voice} |",
            first.pieces,
            d.on_beat / per_seed.len() as u32,
            spread(&per_seed, |t| share(f64::from(t.duet.consonant), t.duet.on_beat)),
            spread(&per_seed, |t| share(f64::from(t.duet.strict), t.duet.on_beat)),
            spread(&per_seed, |t| share(f64::from(t.chords.strong_tones), t.chords.strong)),
            spread(&per_seed, |t| share(f64::from(t.duet.in_key), t.duet.notes)),
            per100(d),
            pct(f64::from(d.contrary), d.moves),
            f64::from(d.notes) / f64::from(d.player_notes.max(1)),
            pct(f64::from(first.tune_in_key.0), first.tune_in_key.1),
            pct(d.random_consonant, d.on_beat),
            pct(d.random_strict, d.on_beat),
            pct(c.random_key_tones, c.beats),
            pct(c.random_consonant, c.with_melody),
            pct(c.random_strict, c.with_melody),
        );
    }
}

/// The "all" row's notes in key by how many melody notes had begun before Descant's note, over
/// every seed: where a shortfall in key lies.
fn heard_line(out: &mut String, cells: &BTreeMap<Cell, Tally>, here: &dyn Fn(&Cell) -> bool) {
    let mut all = Tally::default();
    cells
        .iter()
        .filter(|(c, _)| here(c))
        .for_each(|(_, t)| all.add(t));
    let names = ["0", "1–3", "4–7", "8–15", "16+"];
    let parts: Vec<String> = names
        .iter()
        .zip(all.in_key_heard)
        .map(|(name, (k, n))| format!("{name}: {} of {n}", pct(f64::from(k), n).trim()))
        .collect();
    let _ = writeln!(
        out,
        "\nIn key by melody notes begun before Descant's note (all seeds): {}",
        parts.join(" · ")
    );
}

fn per100(d: &DuetStats) -> f64 {
    if d.duet_beats == 0 {
        0.0
    } else {
        100.0 * f64::from(d.parallel_perfect) / f64::from(d.duet_beats)
    }
}

fn answer_table(
    out: &mut String,
    cells: &BTreeMap<Cell, Tally>,
    groups: &[Group],
    here: &dyn Fn(&Cell) -> bool,
) {
    let _ = writeln!(
        out,
        "| group | pieces | answered | ends on the tonic, strong beat | on the dominant, strong beat | in key | chord tone, strong beats | notes per beat 0.6–1.6× the call || the tune's own consequent: tonic, dominant, in key, chord tone | random key: chord tone |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---||---|---|");
    for (name, per_seed, first, all) in rows(cells, groups, here) {
        let a = |t: &Tally| t.answers;
        let q = &first.consequent;
        let qc = &first.consequent_chords;
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {} || {} {} {} {} | {} |",
            first.pieces,
            spread(&per_seed, |t| share(f64::from(a(t).answered), a(t).calls)),
            spread(&per_seed, |t| share(
                f64::from(a(t).tonic_strong),
                a(t).answered
            )),
            spread(&per_seed, |t| share(
                f64::from(a(t).dominant_strong),
                a(t).answered
            )),
            spread(&per_seed, |t| share(f64::from(a(t).in_key), a(t).notes)),
            spread(&per_seed, |t| share(
                f64::from(t.chords.strong_tones),
                t.chords.strong
            )),
            spread(&per_seed, |t| share(
                f64::from(a(t).density_in_range),
                a(t).answered
            )),
            pct(f64::from(q.tonic_strong), q.answered),
            pct(f64::from(q.dominant_strong), q.answered),
            pct(f64::from(q.in_key), q.notes),
            pct(f64::from(qc.strong_tones), qc.strong),
            pct(all.chords.random_key_tones, all.chords.beats),
        );
    }
}

/// Note names for reading a take.
fn name(key: u8) -> String {
    const NAMES: [&str; 12] = [
        "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
    ];
    format!(
        "{}{}",
        NAMES[usize::from(key % 12)],
        i32::from(key / 12) - 1
    )
}

/// `--piece`: each chosen piece's takes, beat by beat: the melody, the chord, Descant.
fn read_pieces(
    plugin: &std::path::Path,
    pieces: &[Piece],
    plan: &Plan,
    args: &HeldoutArgs,
) -> Result<()> {
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    for id in &args.piece {
        let p = pieces
            .iter()
            .find(|p| &p.id == id)
            .with_context(|| format!("no piece '{id}' in {}", args.fixture.display()))?;
        for &mode in &plan.modes {
            for heard in [Heard::Melody, Heard::WithChords] {
                for &seed in &plan.seeds {
                    let take = p.play(plugin, mode, heard, seed, &plan.extra)?;
                    println!(
                        "\n{} ({} {}/{}, {} qpm), {} mode, {:?}, seed {seed}",
                        p.id,
                        p.style,
                        p.meter.0,
                        p.meter.1,
                        p.tempo,
                        mode.name(),
                        heard
                    );
                    print!(
                        "{}",
                        note_by_note(p, &take.melody, &take.chords, &take.descant)
                    );
                    if let Some(dir) = &args.out {
                        let stem = format!("{}-{}-{heard:?}-{seed}", p.id, mode.name())
                            .replace(['/', ' '], "_");
                        let mut track = beat_notes(&take.melody, 0);
                        track.extend(beat_notes(&take.chords, 1));
                        track.extend(beat_notes(&take.descant, 2));
                        std::fs::write(
                            dir.join(format!("{stem}.mid")),
                            midi_file::write(
                                &track,
                                &[(0.0, p.tempo)],
                                p.meter,
                                &p.id,
                                "descant heldout: melody, chords, Descant",
                            ),
                        )?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// One line per beat of the meter's pulse: bar.beat, the melody's key, the chord's pitch classes,
/// Descant's note starting there (and its interval class over the melody).
fn note_by_note(p: &Piece, melody: &[Note], chords: &[Note], descant: &[Note]) -> String {
    let mut out = String::new();
    let beat = pulse(p.meter);
    let end = descant
        .iter()
        .chain(melody)
        .map(|n| n.beat + n.length)
        .fold(0.0, f64::max);
    let sounding = |notes: &[Note], t: f64| {
        notes
            .iter()
            .filter(|n| n.beat <= t + 1e-6 && n.beat + n.length > t + 1e-6)
            .map(|n| n.key)
            .max()
    };
    let mut t = 0.0;
    while t < end {
        let bar = (t / p.bar_beats()).floor();
        let pos = (t - bar * p.bar_beats()) / beat + 1.0;
        let chord = chord_at(chords, t);
        let chord_text: String = (0..12u8)
            .filter(|pc| chord >> pc & 1 == 1)
            .map(|pc| name(pc + 12).trim_end_matches('0').to_owned())
            .collect::<Vec<_>>()
            .join("-");
        let starts: Vec<String> = descant
            .iter()
            .filter(|n| n.beat >= t - 1e-6 && n.beat < t + beat - 1e-6)
            .map(|n| format!("{}@{:+.2}", name(n.key), n.beat - t))
            .collect();
        let on = descant
            .iter()
            .find(|n| (n.beat - t).abs() < 1.0 / 16.0)
            .map(|n| n.key);
        let interval = match (on, sounding(melody, t)) {
            (Some(d), Some(m)) => format!("{}", class(d, m)),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "bar {:>2} beat {:<4} melody {:<5} chord {:<10} descant {:<24} ic {}",
            bar as u32 + 1,
            format!("{pos:.0}"),
            sounding(melody, t).map(name).unwrap_or_default(),
            chord_text,
            starts.join(" "),
            interval
        );
        t += beat;
    }
    out
}
