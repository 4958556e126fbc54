//! `descant answers`: how Descant answers a call. The first bars of each of the twelve
//! hand-written melodies of `descant-host` are played to the built plugin in offline render,
//! Answer mode, then silence; each answer is measured against its call: how it ends (the tonic or
//! the dominant, on a strong beat), its notes per beat against the call's, notes in key, and
//! whether it starts by the first bar line after `Answer after`. With `--turns`, the melody's
//! next bars follow as further calls, each after the answer before, so the plugin hears the
//! calls before it as a player's would be heard. The same seed gives the same table.

use std::path::PathBuf;

use anyhow::Result;
use descant_host::answers::{key_name, notes_per_beat, AnswerStats};
use descant_host::duet::Note;
use descant_host::melodies::MELODIES;
use descant_inference::model::tokenizer::TickNote;
use descant_inference::music::critic::{self, Brief, Ending};
use descant_inference::music::key::{self, Mode};
use descant_inference::music::time::{beats_to_ticks, Meter};

/// `descant answers`' arguments.
#[derive(Debug, clap::Args)]
pub struct AnswersArgs {
    /// The take's seed.
    #[arg(long, default_value_t = 3)]
    seed: u32,
    /// Lengths of the calls, in bars (each melody is called with each).
    #[arg(long, value_delimiter = ',', default_value = "2,4")]
    bars: Vec<u32>,
    /// Sets a parameter by its name and text; repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Sets `Key` to each melody's own key (default: Auto, found from the calls heard).
    #[arg(long)]
    tell_key: bool,
    /// Calls per melody, played in turn (the melody's next bars each time, after the silence
    /// of the answer before); each answer is measured, and the summary is given per call.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=8))]
    turns: u32,
    /// The `.clap` to measure (default: as `descant render` finds it).
    #[arg(long, value_name = "PATH")]
    plugin: Option<PathBuf>,
    /// Also prints each call and its answer note by note (`key/onset+length`, in beats), to read
    /// the takes behind the figures.
    #[arg(long)]
    notes: bool,
}

const NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

/// `notes` in the engine's ticks.
fn ticks(notes: &[Note]) -> Vec<TickNote> {
    notes
        .iter()
        .map(|n| TickNote {
            onset: beats_to_ticks(n.beat),
            duration: beats_to_ticks(n.length).max(1),
            key: n.key,
        })
        .collect()
}

/// The home the plugin's key finder hears with the key on Auto after the player played `played`
/// (`key::home_of` over the last call, `call_notes` long, and the notes before it, up to
/// `key::HOME_NOTES` in all; bars from the render's start, as the plugin counts them): "F", "Dm",
/// or "-" for a call too short.
fn finder_home(played: &[Note], call_notes: usize, meter: (u8, u8)) -> String {
    let meter = Meter::nearest(i32::from(meter.0), i32::from(meter.1));
    let heard = &played[played.len() - call_notes.max(key::HOME_NOTES).min(played.len())..];
    key::home_of(&ticks(heard), meter, 0).map_or("-".to_owned(), |k| {
        let minor = if k.mode == Mode::Minor { "m" } else { "" };
        format!("{}{minor}", NAMES[usize::from(k.tonic)])
    })
}

/// The critic's rhythmic and melodic kinship (0..=1 each) of `answer` with `call` (see
/// `descant_inference::music::critic`).
fn kinship(call: &[Note], answer: &[Note], meter: (u8, u8)) -> (f64, f64) {
    let call = ticks(call);
    let brief = Brief {
        call: &call,
        key: None,
        meter: Meter::nearest(i32::from(meter.0), i32::from(meter.1)),
        anchor: 0,
        end: 0,
        ending: Ending::Free,
        echo: 0.0,
        density_target: None,
    };
    let s = critic::score(&ticks(answer), 0.0, &brief);
    (f64::from(s.kinship), f64::from(s.contour))
}

/// Runs `descant answers`.
pub fn run(args: AnswersArgs) -> Result<()> {
    let plugin = args
        .plugin
        .clone()
        .unwrap_or_else(crate::render::default_plugin);
    let settings = crate::render::measurement_settings("answer", args.seed, &args.set)?;
    let after: f64 = settings
        .iter()
        .rev()
        .find(|(n, _)| n == "Answer after")
        .and_then(|(_, v)| v.trim_end_matches("beats").trim().parse().ok())
        .unwrap_or(2.0);
    // `home`: the key finder's home for the call (what Auto answers in), or "set" with --tell-key.
    println!(
        "{:<34} {:>5} {:>6} {:>6} {:>6} {:>5} {:>7} {:>4}  ends",
        "call", "notes", "answer", "ratio", "inkey", "time", "first", "home"
    );
    let mut all = AnswerStats::default();
    let mut per_turn = vec![AnswerStats::default(); args.turns as usize];
    let (mut rhythm, mut contour) = (0.0, 0.0);
    for m in MELODIES {
        for &bars in &args.bars {
            let mut settings = settings.clone();
            if args.tell_key {
                settings.push(("Key".to_owned(), key_name(m.scale)));
            }
            let exchanges = m.answers_in_turn(&plugin, &settings, bars, args.turns)?;
            // What the player played up to each call's end (the key finder on Auto hears it).
            let mut played: Vec<Note> = Vec::new();
            for (turn, x) in exchanges.iter().enumerate() {
                let s = descant_host::answers::measure(&x.call, &x.answer, m.scale, m.meter, after);
                all.add(&s);
                per_turn[turn].add(&s);
                let (r, c) = kinship(&x.call, &x.answer, m.meter);
                rhythm += r;
                contour += c;
                let ratio = notes_per_beat(&x.answer) / notes_per_beat(&x.call).max(1e-9);
                let ends = ending_text(&x.answer, m.bar_beats(), &s);
                played.extend_from_slice(&x.call);
                let home = if args.tell_key {
                    "set".to_owned()
                } else {
                    finder_home(&played, x.call.len(), m.meter)
                };
                let name = if args.turns > 1 {
                    format!("{} ({bars} bars, call {})", m.name, turn + 1)
                } else {
                    format!("{} ({bars} bars)", m.name)
                };
                println!(
                    "{:<34} {:>5} {:>6} {:>6.2} {:>5.0}% {:>5} {:>7.2} {home:>4}  {ends}",
                    name,
                    x.call.len(),
                    x.answer.len(),
                    ratio,
                    AnswerStats::pct(s.in_key, s.notes),
                    if s.on_time == 1 { "ok" } else { "late" },
                    x.answer.first().map_or(f64::NAN, |n| n.beat),
                );
                if args.notes {
                    println!("    call:   {}", note_list(&x.call));
                    println!("    answer: {}", note_list(&x.answer));
                }
            }
        }
    }
    print_summary(&per_turn, &all, (rhythm, contour));
    Ok(())
}

/// `notes` as `D4/2+1` (key, onset and length in beats), one after another.
fn note_list(notes: &[Note]) -> String {
    let name = |key: u8| {
        format!(
            "{}{}",
            NAMES[usize::from(key % 12)],
            i32::from(key / 12) - 1
        )
    };
    // Beats to a hundredth (the plugin's onsets are ticks at the host's sample rate).
    let beats = |b: f64| (b * 100.0).round() / 100.0;
    let list: Vec<String> = notes
        .iter()
        .map(|n| format!("{}/{}+{}", name(n.key), beats(n.beat), beats(n.length)))
        .collect();
    list.join(" ")
}

/// Where an answer ends: its last note's name, bar and beat, and whether that is home or open.
fn ending_text(answer: &[Note], bar: f64, s: &AnswerStats) -> String {
    answer.last().map_or("-".to_owned(), |n| {
        format!(
            "{} at bar {} beat {:.2}{}",
            NAMES[usize::from(n.key % 12)],
            ((n.beat + 1e-6) / bar).floor() as i64 + 1,
            (n.beat + 1e-6).rem_euclid(bar) + 1.0 - 1e-6,
            if s.tonic_strong == 1 {
                " (home)"
            } else if s.dominant_strong == 1 {
                " (open)"
            } else {
                ""
            }
        )
    })
}

/// Prints the figures of each turn (when there are several) and of all calls, with the mean
/// `(rhythm, contour)` kinship sums over all calls.
fn print_summary(per_turn: &[AnswerStats], all: &AnswerStats, (rhythm, contour): (f64, f64)) {
    if per_turn.len() > 1 {
        for (turn, t) in per_turn.iter().enumerate() {
            let p = |c| AnswerStats::pct(c, t.answered);
            println!(
                "call {}: {} calls, {} answered; ending on the tonic on a strong beat {:.0} %; \
                 notes in key {:.1} %",
                turn + 1,
                t.calls,
                t.answered,
                p(t.tonic_strong),
                AnswerStats::pct(t.in_key, t.notes),
            );
        }
    }
    let p = |c| AnswerStats::pct(c, all.answered);
    println!(
        "all: {} calls, {} answered; ending on the tonic on a strong beat {:.0} % (anywhere {:.0} \
         %), on the dominant on a strong beat {:.0} %; notes per beat 0.6-1.6x the call's {:.0} \
         %; at least half the call's notes {:.0} %; notes in key {:.1} %; on time {:.0} %; \
         kinship with the call (the critic's measures, 0-1): rhythm {:.2}, contour {:.2}",
        all.calls,
        all.answered,
        p(all.tonic_strong),
        p(all.tonic),
        p(all.dominant_strong),
        p(all.density_in_range),
        p(all.half_the_notes),
        AnswerStats::pct(all.in_key, all.notes),
        p(all.on_time),
        rhythm / f64::from(all.calls.max(1)),
        contour / f64::from(all.calls.max(1)),
    );
}
