//! Continue mode's last-moment correction on the fake model: a clash with a note just pressed,
//! and a planned note the key heard since leaves out.
use super::super::super::fake::{beats, note_off, note_on, plan_until, transport, Recorder, Rig};
use super::super::WorkerSettings;
use super::{along_in_key, along_settings};
use crate::music::key::{Key, Mode};

/// Continue mode with the key set (C major), so that only the clash rule of the last-moment
/// correction acts, not the key heard.
fn clash_settings() -> WorkerSettings {
    along_in_key(
        Key {
            tonic: 0,
            mode: Mode::Major,
        },
        WorkerSettings::default().seed,
    )
}

/// Plans a Continue line to beat 8, then the player presses a key `interval` semitones above a
/// planned on-beat note, one beat before it (and holds it). Returns the rig, the recorder and
/// that note's onset.
fn clash_setup(interval: i32) -> (Rig, Recorder, f64) {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let settings = clash_settings();
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(0.5), beats(32.0), &mut out);
    let target = *out
        .notes
        .iter()
        .find(|n| n.onset_beat >= 3.0 && n.onset_beat.fract() == 0.0)
        .expect("an on-beat note after beat 3");
    let key = (i32::from(target.key) + interval) as u8;
    rig.planner.hear(note_on(key, target.onset_beat - 1.0, 0));
    (rig, out, target.onset_beat)
}

/// Plans on with [`clash_settings`] from `from` to 6 beats past `at` (beats).
fn plan_on(rig: &mut Rig, out: &mut Recorder, from: f64, at: f64) {
    plan_until(rig, &clash_settings(), beats(from), beats(at + 6.0), out);
}

#[test]
fn a_planned_note_that_would_clash_is_withdrawn_and_the_line_replanned_from_it() {
    let (mut rig, mut out, at) = clash_setup(1);
    plan_on(&mut rig, &mut out, at - 1.0, at);
    assert_eq!(out.retractions, [(at, 0)]);
    assert!(
        out.notes.iter().any(|n| n.onset_beat >= at - 1e-9),
        "the line goes on from the withdrawn note: {:?}",
        out.notes
    );
    out.assert_monophonic();
}

#[test]
fn a_consonant_or_released_player_note_changes_nothing() {
    let (mut rig, mut out, at) = clash_setup(4);
    plan_on(&mut rig, &mut out, at - 1.0, at);
    assert!(out.retractions.is_empty());
    let (mut rig, mut out, at) = clash_setup(1);
    let key = out
        .notes
        .iter()
        .find(|n| n.onset_beat == at)
        .map(|n| n.key + 1)
        .unwrap();
    rig.planner.hear(note_off(key, at - 0.5, 0));
    plan_on(&mut rig, &mut out, at - 0.5, at);
    assert!(
        out.retractions.is_empty(),
        "released before the planned note"
    );
}

#[test]
fn a_planned_note_the_key_heard_since_leaves_out_is_withdrawn() {
    // Planned with nothing heard, to beat 16; then the player plays D F♯ A, which makes D major
    // (or its neighbours) the likely key before the planned notes sound.
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let settings = along_settings();
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(0.5), beats(16.0), &mut out);
    let planned = out.notes.clone();
    for (i, key) in [62u8, 66, 69].into_iter().enumerate() {
        rig.planner.hear(note_on(key, 1.0 + i as f64 * 0.5, 0));
        rig.planner.hear(note_off(key, 1.5 + i as f64 * 0.5, 0));
    }
    let collection =
        crate::music::key::early_collection(&[62, 66, 69], crate::music::key::EARLY_IN_KEY)
            .unwrap();
    let first_out = planned
        .iter()
        .find(|n| n.onset_beat > 2.5 && !collection.contains_key(n.key));
    // (The fake model's line wanders through every key.)
    let first_out = first_out.unwrap_or_else(|| {
        panic!(
            "a planned note outside the key: {planned:?} {:012b}",
            collection.0
        )
    });
    plan_until(&mut rig, &settings, beats(2.5), beats(18.0), &mut out);
    // The first planned note outside the key, and all after it, are withdrawn, and the line goes
    // on from there.
    assert_eq!(out.retractions, [(first_out.onset_beat, 0)], "{planned:?}");
    assert!(out
        .notes
        .iter()
        .any(|m| m.onset_beat >= first_out.onset_beat - 1e-9));
    out.assert_monophonic();
    // With the key set, what is heard withdraws nothing.
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let settings = clash_settings();
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(0.5), beats(16.0), &mut out);
    for (i, key) in [61u8, 66, 68].into_iter().enumerate() {
        rig.planner.hear(note_on(key, 1.0 + i as f64 * 0.5, 0));
        rig.planner.hear(note_off(key, 1.5 + i as f64 * 0.5, 0));
    }
    plan_until(&mut rig, &settings, beats(2.5), beats(18.0), &mut out);
    assert!(out.retractions.is_empty());
}
