//! `descant duet`: how Descant sounds beside a melody. Each of the twelve hand-written melodies of
//! `descant-host` is played twice with rests between (the tune, `--rest-bars` of rest, the tune
//! again) to the built plugin in offline render, and Descant's line is measured against it: on
//! the first pass (a line heard once) and on the second (the material repeats, so the track memory
//! knows it), beside a random note of the key at the same moments. The same seed gives the same
//! table.

use std::path::PathBuf;

use anyhow::{Context, Result};
use descant_host::duet::{DuetStats, Note};
use descant_host::melodies::{MELODIES, PHRASE_BARS, TEMPO};
use descant_host::phrase_ends::PhraseEnds;
use descant_inference::files::midi_file::{self, BeatNote};

/// `descant duet`'s arguments.
#[derive(Debug, clap::Args)]
pub struct DuetArgs {
    /// How Descant plays: answer, continue or loop.
    #[arg(long, default_value = "continue")]
    mode: String,
    /// The take's seed.
    #[arg(long, default_value_t = 3)]
    seed: u32,
    /// Bars of rest between the two passes.
    #[arg(long, default_value_t = 4)]
    rest_bars: u32,
    /// Sets a parameter by its name and text; repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Writes each track and Descant's part as MIDI files here, to read note by note.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The `.clap` to measure (default: as `descant render` finds it).
    #[arg(long, value_name = "PATH")]
    plugin: Option<PathBuf>,
}

/// `notes` as MIDI file notes on `channel` (velocity 0.8).
pub(crate) fn beat_notes(notes: &[Note], channel: u8) -> Vec<BeatNote> {
    notes
        .iter()
        .map(|n| BeatNote {
            beat: n.beat,
            length: n.length,
            key: n.key,
            channel,
            velocity: 0.8,
        })
        .collect()
}

/// One line of the table: the share figures of `s`.
fn row(name: &str, s: &DuetStats) -> String {
    let on = s.on_beat;
    let per100 = |c: u32| DuetStats::pct(f64::from(c), s.duet_beats);
    format!(
        "{name:<30} {:>5.1} {:>5.1} {:>4} | {:>5.1} {:>5.1} | {:>4.1} | {:>4.1} {:>4.1} {:>4.1} {:>4.1} | {:>5.1} | {:>4.2}",
        DuetStats::pct(f64::from(s.consonant), on),
        DuetStats::pct(f64::from(s.strict), on),
        on,
        DuetStats::pct(s.random_consonant, on),
        DuetStats::pct(s.random_strict, on),
        per100(s.parallel_perfect),
        DuetStats::pct(f64::from(s.parallel), s.moves),
        DuetStats::pct(f64::from(s.similar), s.moves),
        DuetStats::pct(f64::from(s.contrary), s.moves),
        DuetStats::pct(f64::from(s.oblique), s.moves),
        DuetStats::pct(f64::from(s.in_key), s.notes),
        if s.player_notes == 0 {
            0.0
        } else {
            f64::from(s.notes) / f64::from(s.player_notes)
        },
    )
}

/// Runs `descant duet`.
pub fn run(args: DuetArgs) -> Result<()> {
    let plugin = args
        .plugin
        .clone()
        .unwrap_or_else(crate::render::default_plugin);
    let settings = crate::render::measurement_settings(&args.mode, args.seed, &args.set)?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let header = format!(
        "{:<30} {:>5} {:>5} {:>4} | {:>11} | {:>4} | {:>19} | {:>5} | {:>4}",
        "pass", "cons%", "strct", "n", "random key", "//58", "par sim con obl %", "inkey", "n/pl"
    );
    println!("{header}");
    let (mut once, mut again) = (DuetStats::default(), DuetStats::default());
    let (mut phrases, mut melody_phrases) = (PhraseEnds::default(), PhraseEnds::default());
    for m in MELODIES {
        let d = m.duet(&plugin, &settings, args.rest_bars)?;
        let (first, repeat) = (d.once, d.again);
        println!("{}", row(&format!("{} (once)", m.name), &first));
        println!("{}", row(&format!("{} (again)", m.name), &repeat));
        once.add(&first);
        again.add(&repeat);
        phrases.add(&d.phrases);
        melody_phrases.add(&d.melody_phrases);
        if let Some(dir) = &args.out {
            let stem = m.name.to_lowercase().replace([' ', ',', '\''], "-");
            let text = format!("{} played twice for descant duet", m.name);
            let tempos = [(0.0, TEMPO)];
            std::fs::write(
                dir.join(format!("{stem}.track.mid")),
                midi_file::write(&beat_notes(&d.track, 0), &tempos, m.meter, m.name, &text),
            )?;
            std::fs::write(
                dir.join(format!("{stem}.descant.mid")),
                midi_file::write(
                    &beat_notes(&d.descant, 0),
                    &tempos,
                    m.meter,
                    "Descant",
                    &text,
                ),
            )?;
        }
    }
    println!("{}", "-".repeat(header.len()));
    println!("{}", row("all, heard once", &once));
    println!("{}", row("all, played again", &again));
    let mut all = once;
    all.add(&again);
    println!("{}", row("all", &all));
    println!(
        "cons%/strct: on-beat Descant notes consonant with the sounding melody note (4th counted / \
         not); random key: a random note of the key at the same moments; //58: parallel 5ths and \
         8ves per 100 beats where both sound; par sim con obl: motion between those beats; inkey: \
         Descant's notes in the key; n/pl: Descant's notes per melody note. Range {}-{}, {} notes, \
         {} voice crossings, {} repeated keys.",
        all.range.0, all.range.1, all.notes, all.crossings, all.repeats
    );
    println!("Phrase ends every {PHRASE_BARS} bars (both passes):");
    println!("  Descant:    {}", phrases.line());
    println!("  the melody: {}", melody_phrases.line());
    println!(
        "(breath: the last note before the end does not sound across it and is a half note or \
         longer (a dotted quarter in x/8) or is followed by a rest of an eighth or more)"
    );
    Ok(())
}
