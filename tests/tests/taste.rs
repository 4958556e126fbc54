//! Host tests of playing *with* Descant: `Again`, `Keep` and `Answer now` pressed as host
//! parameters, and the session's taste they teach, saved with the project. The built debug
//! `Descant.clap` through `clack-host`, offline (so every run plays the same). Run by
//! `cargo xtask test`.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::Result;
use descant_host::melodies::MELODIES;
use descant_host::musician::{
    self, call_script, mean, press, reset_taste, run_to, saved_taste, session, Musician,
};
use descant_host_tests::{test_plugin_path, Input, OutNote, PluginHost};

/// Block size.
const BLOCK: u32 = 256;
/// Answers the simulated musician judges.
const ANSWERS: usize = 20;

/// The folder kept phrases go to in these tests (`DESCANT_TAKES_DIR`), set before any plugin
/// loads: every test asks for it first.
fn takes_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("descant-kept-")
            .tempdir()
            .expect("a temporary folder");
        std::env::set_var("DESCANT_TAKES_DIR", dir.path());
        dir
    })
    .path()
}

/// An offline host in Answer mode (see [`musician::answer_host`]), seed 1, with the takes folder
/// set.
fn answer_host() -> Result<PluginHost> {
    takes_dir();
    musician::answer_host(&test_plugin_path(), 1)
}

#[test]
fn a_musician_who_keeps_leaping_answers_gets_more_leaps_and_the_project_keeps_that_taste(
) -> Result<()> {
    let mut silent = answer_host()?;
    let plain = session(&mut silent, Musician::Silent, ANSWERS, 0)?.shares;
    assert_eq!(saved_taste(&mut silent)?.0, 0, "no press, nothing learned");
    let mut h = answer_host()?;
    let taught = session(&mut h, Musician::LovesLeaps, ANSWERS, 0)?;
    let (leapy, notes) = (taught.shares, taught.notes);
    let curve = |s: &[f64]| {
        s.chunks(5)
            .map(|c| format!("{:.2}", mean(c)))
            .collect::<Vec<_>>()
            .join(" → ")
    };
    eprintln!(
        "leap share per 5 answers: silent {}; loves leaps {}",
        curve(&plain),
        curve(&leapy)
    );
    let (choices, leaps) = saved_taste(&mut h)?;
    eprintln!("taste: {choices} choices, leaps weight {leaps:.2}");
    assert_eq!(choices, ANSWERS as u64, "one choice per answer");
    assert!(leaps > 0.5, "it learned to like leaps: {leaps}");
    let (late_plain, late_leapy) = (mean(&plain[10..]), mean(&leapy[10..]));
    assert!(
        late_leapy > late_plain,
        "answers 11-20 leap more for the musician who keeps leaps: {late_leapy:.3} vs {late_plain:.3}"
    );
    // Every note it started has ended.
    assert_eq!(descant_host_tests::unmatched(&notes), (vec![], vec![]));
    // Saved and reopened, the taste is the project's.
    let blob = h.save_state()?;
    let mut reopened = answer_host()?;
    reopened.load_state(&blob)?;
    assert_eq!(saved_taste(&mut reopened)?, (choices, leaps));
    // `Reset taste`: nothing learned, and the next answers are judged without it.
    reset_taste(&mut h)?;
    assert_eq!(saved_taste(&mut h)?, (0, 0.0));
    session(&mut h, Musician::Silent, 2, ANSWERS)?;
    assert_eq!(
        saved_taste(&mut h)?,
        (0, 0.0),
        "a silent musician teaches nothing"
    );
    Ok(())
}

#[test]
fn a_damaged_taste_is_refused_and_the_rest_of_the_project_loads() -> Result<()> {
    let mut h = answer_host()?;
    let damaged = serde_json::json!({
        "version": "0.3.0",
        "params": { "seed": { "i32": 9 } },
        "fields": {
            "taste": r#"{"version":1,"choices":3,"weights":{"leaps":1e9}}"#,
        }
    })
    .to_string();
    let mut blob = (damaged.len() as u64).to_le_bytes().to_vec();
    blob.extend_from_slice(damaged.as_bytes());
    h.load_state(&blob)?;
    assert_eq!(h.param_text("Seed")?, "9", "the rest loads");
    assert_eq!(saved_taste(&mut h)?, (0, 0.0), "the taste starts afresh");
    Ok(())
}

#[test]
fn again_from_a_controller_redraws_the_answer_from_the_next_bar_line() -> Result<()> {
    let mut h = answer_host()?;
    let mut script = call_script(&h, 0, 0.0);
    run_to(&mut h, 8.0, &mut script)?;
    // The answer from the bar line at 12; at 13 the controller flips `Again`.
    let first = run_to(&mut h, 13.0, &mut Vec::new())?;
    let mut sent = press(&mut h, "Again")?;
    sent.extend(run_to(&mut h, 28.0, &mut Vec::new())?);
    let ons = |notes: &[OutNote], from: f64, to: f64| -> Vec<(u8, i64)> {
        notes
            .iter()
            .filter(|n| n.on && n.beat >= from - 1e-6 && n.beat < to)
            .map(|n| (n.key, ((n.beat - from) * 4.0).round() as i64))
            .collect()
    };
    let mut h2 = answer_host()?;
    let mut script = call_script(&h2, 0, 0.0);
    run_to(&mut h2, 8.0, &mut script)?;
    let unpressed = run_to(&mut h2, 28.0, &mut Vec::new())?;
    assert!(
        !ons(&first, 12.0, 13.0).is_empty(),
        "the first answer began: {first:?}"
    );
    // The answer plays on to the next bar line as it was; from there it is answered again,
    // whole (two bars, as the call), and not with the first answer's notes.
    assert_eq!(ons(&sent, 13.0, 16.0), ons(&unpressed, 13.0, 16.0));
    let redrawn = ons(&sent, 16.0, 24.0);
    assert!(!redrawn.is_empty(), "redrawn: {sent:?}");
    assert_eq!(redrawn[0].1, 0, "it starts on the bar line: {redrawn:?}");
    assert!(ons(&sent, 24.0, 28.0).is_empty(), "two bars, as the call");
    let first_answer = ons(&unpressed, 12.0, 20.0);
    assert!(ons(&unpressed, 20.0, 28.0).is_empty());
    assert_ne!(
        first_answer.iter().map(|n| n.0).collect::<Vec<_>>(),
        redrawn.iter().map(|n| n.0).collect::<Vec<_>>(),
        "a fresh draw"
    );
    let mut all = first;
    all.extend(sent);
    assert_eq!(descant_host_tests::unmatched(&all), (vec![], vec![]));
    Ok(())
}

#[test]
fn answer_now_answers_at_the_next_bar_line_without_waiting_for_answer_after() -> Result<()> {
    let mut h = answer_host()?;
    h.set_text("Answer after", "8.00 beats")?;
    let mut script = call_script(&h, 0, 0.0);
    run_to(&mut h, 8.5, &mut script)?;
    let mut sent = press(&mut h, "Answer now")?;
    sent.extend(run_to(&mut h, 16.0, &mut Vec::new())?);
    let first = sent
        .iter()
        .find(|n| n.on)
        .expect("answered before Answer after ran out");
    assert!(
        (first.beat - 12.0).abs() < 1e-6,
        "at the next bar line: {first:?}"
    );
    Ok(())
}

#[test]
fn a_learned_footswitch_asks_again_and_its_binding_is_saved_with_the_project() -> Result<()> {
    let mut h = answer_host()?;
    // A project whose `Again` was learned on controller 64 (a sustain pedal), channel 1.
    let mut json: serde_json::Value = serde_json::from_slice(&h.save_state()?[8..])?;
    json["fields"]["midi-learn"] = serde_json::Value::String(
        r#"{"again":{"control":"cc","channel":0,"number":64},"keep":null,"answer_now":null}"#
            .to_owned(),
    );
    let text = json.to_string();
    let mut blob = (text.len() as u64).to_le_bytes().to_vec();
    blob.extend_from_slice(text.as_bytes());
    h.load_state(&blob)?;
    h.set_text("Pass through", "On")?;
    let mut script = call_script(&h, 0, 0.0);
    let mut sent = run_to(&mut h, 13.0, &mut script)?;
    // The pedal goes down and up: one press.
    let pedal = |value| Input::Cc {
        offset: 0,
        channel: 0,
        cc: 64,
        value,
    };
    sent.extend(h.process(BLOCK, &[pedal(127)])?.1);
    assert!(
        h.midi_out().is_empty(),
        "the learned pedal is Again's alone"
    );
    sent.extend(h.process(BLOCK, &[pedal(0)])?.1);
    // The mod wheel, not learned, passes through to the instrument.
    let wheel = Input::Cc {
        offset: 0,
        channel: 0,
        cc: 1,
        value: 90,
    };
    sent.extend(h.process(BLOCK, &[wheel])?.1);
    assert_eq!(h.midi_out(), [[0xB0, 1, 90]]);
    sent.extend(run_to(&mut h, 28.0, &mut Vec::new())?);
    let descants: Vec<_> = sent
        .iter()
        .filter(|n| n.on && n.beat >= 12.0 - 1e-6)
        .map(|n| n.beat)
        .collect();
    // Answered from 12, and again, whole, from the bar line at 16 to 24.
    assert!(
        descants.iter().any(|&b| (b - 16.0).abs() < 1e-6),
        "{descants:?}"
    );
    assert!(
        descants.iter().any(|&b| b > 20.0 && b < 24.0),
        "{descants:?}"
    );
    assert!(descants.iter().all(|&b| b < 24.0), "{descants:?}");
    assert_eq!(descant_host_tests::unmatched(&sent), (vec![], vec![]));
    // Saved, the binding is the project's.
    let saved: serde_json::Value = serde_json::from_slice(&h.save_state()?[8..])?;
    let learned: serde_json::Value =
        serde_json::from_str(saved["fields"]["midi-learn"].as_str().unwrap_or("null"))?;
    assert_eq!(learned["again"]["number"], 64);
    Ok(())
}

#[test]
fn keep_saves_the_call_and_the_answer_as_a_take_once_per_answer() -> Result<()> {
    let mut h = answer_host()?;
    h.set_text("Seed", "11")?;
    let kept_before = std::fs::read_dir(takes_dir())?.count();
    let mut script = call_script(&h, 1, 0.0);
    run_to(&mut h, 8.0, &mut script)?;
    let answer = run_to(&mut h, 21.0, &mut Vec::new())?;
    // Keep, pressed by a momentary pad: on, then off (one press; the second finds it kept).
    press(&mut h, "Keep")?;
    press(&mut h, "Keep")?;
    run_to(&mut h, 22.0, &mut Vec::new())?;
    let mut kept = Vec::new();
    for _ in 0..100 {
        kept = std::fs::read_dir(takes_dir())?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("descant-kept-"))
            })
            .collect();
        if kept.len() > kept_before {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // (Other tests here keep answers into the same folder: find this one by its notes.)
    let played: Vec<u8> = answer.iter().filter(|n| n.on).map(|n| n.key).collect();
    let four_four: Vec<_> = MELODIES.iter().filter(|m| m.meter == (4, 4)).collect();
    let (call, _) = four_four[1].notes();
    let call: Vec<u8> = call
        .iter()
        .filter(|n| n.beat < 8.0)
        .map(|n| n.key)
        .collect();
    let mut found = 0;
    for path in &kept {
        let song = descant_inference::files::midi_file::read(&std::fs::read(path)?)?;
        let voice = |ch: u8| -> Vec<u8> {
            song.notes
                .iter()
                .filter(|n| n.channel == ch)
                .map(|n| n.key)
                .collect()
        };
        if voice(0) == call && voice(1) == played {
            found += 1;
        }
    }
    assert_eq!(found, 1, "one take of this call and answer in {kept:?}");
    Ok(())
}
