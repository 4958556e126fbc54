//! Host tests of the play modes (Answer, Continue, Loop with Keep and Again) and of feel:
//! the built debug `Descant.clap` through `clack-host`, paced against the wall clock so the
//! inference thread plans live, as in a DAW. Run by `cargo xtask test`.

use anyhow::Result;
use descant_host_tests::{
    cycle_notes, phrase_script, test_plugin_path, unmatched, Input, OutNote, Pacer, PluginHost,
};

/// Wall-clock speed of the tests relative to real time.
const SPEED: f64 = 3.0;
/// Block size.
const BLOCK: u32 = 256;

/// A host with pass-through off (every note out is Descant's) in `mode`.
fn host(mode: &str, tempo: f64) -> Result<PluginHost> {
    let mut h = PluginHost::load(&test_plugin_path(), 48_000.0, 4096)?;
    h.transport.tempo = tempo;
    h.set_text("Pass through", "Off")?;
    h.set_text("Mode", mode)?;
    Ok(h)
}

/// Eighth notes from `start_beat`: the script and the beat the last one ends on.
fn phrase(h: &PluginHost, start_beat: f64, keys: &[u8]) -> (Vec<(u64, Input)>, f64) {
    phrase_script(h.samples_per_beat(), start_beat, keys)
}

fn ons(sent: &[OutNote]) -> Vec<OutNote> {
    sent.iter().filter(|n| n.on).copied().collect()
}

/// Stops the transport and checks every note Descant started has ended.
fn stop_and_check_released(h: &mut PluginHost, mut sent: Vec<OutNote>) -> Result<()> {
    h.transport.playing = false;
    sent.extend(h.process(BLOCK, &[])?.1);
    assert_eq!(unmatched(&sent), (vec![], vec![]));
    Ok(())
}

#[test]
fn answer_mode_answers_for_answer_length_bars_then_waits_for_the_player() -> Result<()> {
    let mut h = host("Answer", 120.0)?;
    h.set_text("Answer length", "1 bars")?;
    h.set_text("Answer after", "1.00 beats")?;
    h.set_text("Density", "2.0")?;
    let mut pace = Pacer::new(SPEED);
    let (mut script, last_off) = phrase(&h, 1.0, &[60, 62, 64, 65, 67]);
    let end = (24.0 * h.samples_per_beat()) as u64;
    let sent = h.run_script(end, BLOCK, &mut script, &mut pace)?;
    let answer = ons(&sent);
    assert!(!answer.is_empty(), "Descant answered");
    // After a beat of silence the answer starts no later than the next bar line, and lasts at
    // most a pickup plus one bar (4 beats) from there.
    let earliest = ((last_off + 1.0) * 4.0).ceil() / 4.0;
    let bar_line = (earliest / 4.0).ceil() * 4.0;
    assert!(answer[0].beat <= bar_line + 1e-6, "{answer:?}");
    for n in &answer {
        assert!(
            n.beat >= earliest - 1e-6 && n.beat < bar_line + 4.0,
            "note at beat {:.3} outside the answer from {earliest}: {answer:?}",
            n.beat
        );
    }
    stop_and_check_released(&mut h, sent)
}

#[test]
fn continue_mode_plays_along_and_stays_on_the_grid_across_tempo_changes() -> Result<()> {
    let mut h = host("Continue", 120.0)?;
    h.set_text("Density", "2.0")?;
    let mut pace = Pacer::new(SPEED);
    let mut sent = h.run_beats(8.0, BLOCK, &mut pace)?;
    // The player plays while Descant plays: it does not stop.
    let (mut script, _) = phrase(&h, h.beat.ceil(), &[60, 64, 67, 72, 67, 64]);
    let until = h.sample_pos + (8.0 * h.samples_per_beat()) as u64;
    let during = h.run_script(until, BLOCK, &mut script, &mut pace)?;
    assert!(
        ons(&during).len() >= 4,
        "Descant kept playing while the player played: {during:?}"
    );
    sent.extend(during);
    for tempo in [150.0, 93.0] {
        h.transport.tempo = tempo;
        sent.extend(h.run_beats(8.0, BLOCK, &mut pace)?);
    }
    let notes = ons(&sent);
    assert!(
        notes.len() >= 16,
        "a continuous line: {} notes",
        notes.len()
    );
    // The line starts at the first bar line after time starts (beat 4), and every onset is on
    // the sixteenth grid to the sample (a sample is at most 1/19,200 beat at these tempos), also
    // after the tempo changes.
    assert!(notes[0].beat >= 4.0 - 1e-6, "{:?}", notes[0]);
    for n in &notes {
        let sixteenths = n.beat * 4.0;
        assert!(
            (sixteenths - sixteenths.round()).abs() / 4.0 <= 1.0 / 19_200.0 + 1e-9,
            "off the grid: {n:?}"
        );
    }
    // Metric accents: notes on the beat are louder than notes off it.
    let mean = |on_beat: bool| {
        let v: Vec<f64> = notes
            .iter()
            .filter(|n| ((n.beat - n.beat.round()).abs() < 1e-3) == on_beat)
            .map(|n| n.velocity)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    assert!(
        mean(true) > mean(false) + 0.03,
        "{} vs {}",
        mean(true),
        mean(false)
    );
    stop_and_check_released(&mut h, sent)
}

#[test]
fn continue_mode_goes_on_across_a_meter_change_on_the_grid() -> Result<()> {
    let mut h = host("Continue", 132.0)?;
    h.set_text("Density", "2.0")?;
    let mut pace = Pacer::new(SPEED);
    let mut sent = h.run_beats(10.0, BLOCK, &mut pace)?;
    let change = h.beat;
    h.transport.time_sig = (3, 4);
    sent.extend(h.run_beats(12.0, BLOCK, &mut pace)?);
    let notes = ons(&sent);
    let after: Vec<_> = notes.iter().filter(|n| n.beat > change + 3.0).collect();
    assert!(after.len() >= 6, "Descant plays on in 3/4: {notes:?}");
    // Every onset on the sixteenth grid to the sample (a sample is 132/60/48,000 beat).
    let one_sample = 132.0 / 60.0 / 48_000.0;
    for n in &notes {
        let sixteenths = n.beat * 4.0;
        assert!(
            (sixteenths - sixteenths.round()).abs() / 4.0 <= one_sample + 1e-9,
            "off the grid: {n:?}"
        );
    }
    stop_and_check_released(&mut h, sent)
}

#[test]
fn loop_mode_with_keep_repeats_its_take_note_for_note_and_again_replaces_it() -> Result<()> {
    let mut h = host("Loop", 120.0)?;
    // A key set: the loop enters at once (on Auto, with nothing heard, it would listen for a
    // bar first and the take would be cycle 1).
    h.set_text("Key", "C major")?;
    h.set_text("Keep", "On")?;
    h.set_text("Humanize", "40%")?;
    h.set_text("Density", "2.0")?;
    h.transport.loop_beats = Some((0.0, 8.0));
    h.seek(0.0);
    let base = h.sample_pos;
    let len = (8.0 * h.samples_per_beat()) as u64;
    // The first cycle at real time: only a cycle the worker began from its start becomes the
    // take (a late one is played but not kept, and the next whole cycle is), so at three times
    // real time on two busy cores the take could be cycle 1 and the comparison below would not
    // be about the first cycle at all.
    let mut first = Pacer::new(1.0);
    let mut sent = h.run_beats(8.0, BLOCK, &mut first)?;
    let mut pace = Pacer::new(SPEED);
    sent.extend(h.run_beats(16.0, BLOCK, &mut pace)?);
    let c: Vec<_> = (0..3).map(|k| cycle_notes(&sent, base, k, len)).collect();
    assert!(c[0].len() >= 4, "a phrase in the first cycle: {:?}", c[0]);
    assert_eq!(c[1], c[2], "the kept take repeats exactly");
    let after_start =
        |c: &[(u8, u64, u32)]| c.iter().filter(|n| n.1 > 0).copied().collect::<Vec<_>>();
    assert_eq!(
        after_start(&c[0]),
        after_start(&c[1]),
        "the take is the first cycle as it was played"
    );
    // Again in the middle of cycle 3: a new take from cycle 4 on, kept again.
    sent.extend(h.run_beats(4.0, BLOCK, &mut pace)?);
    let flip = h.text_to_value("Again", "On")?;
    let regenerate = Input::Param {
        offset: 0,
        name: "Again",
        normalized: flip,
    };
    sent.extend(h.process(BLOCK, &[regenerate])?.1);
    let end = base + 7 * len;
    sent.extend(h.run_script(end, BLOCK, &mut Vec::new(), &mut pace)?);
    let c: Vec<_> = (0..7).map(|k| cycle_notes(&sent, base, k, len)).collect();
    assert_eq!(c[3], c[1], "Again waits for the next cycle");
    // (Cycle 4 is where the new take is made; its first notes may come too late to play on a
    // busy machine, so the comparison is between the cycles that replay it.)
    assert_ne!(c[5], c[1], "Again replaced the take");
    assert!(!c[5].is_empty());
    assert_eq!(c[5], c[6], "the new take is kept: {c:?}");
    stop_and_check_released(&mut h, sent)
}

#[test]
fn loop_mode_without_keep_plays_a_new_phrase_each_cycle_of_loop_length_bars() -> Result<()> {
    let mut h = host("Loop", 140.0)?;
    h.set_text("Loop length", "1 bars")?;
    h.set_text("Density", "2.0")?;
    h.seek(0.0);
    let base = h.sample_pos;
    let len = (4.0 * h.samples_per_beat()).round() as u64;
    let mut pace = Pacer::new(SPEED);
    let sent = h.run_beats(20.0, BLOCK, &mut pace)?;
    let cycles: Vec<_> = (1..5).map(|k| cycle_notes(&sent, base, k, len)).collect();
    assert!(cycles.iter().all(|c| !c.is_empty()), "{cycles:?}");
    assert!(
        cycles.windows(2).any(|w| w[0] != w[1]),
        "without Keep each cycle is a new phrase: {cycles:?}"
    );
    stop_and_check_released(&mut h, sent)
}
