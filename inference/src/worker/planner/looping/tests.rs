//! Loop mode's tests on the fake model.

use super::super::fake::{beats, note_off, note_on, transport, Recorder, Rig};
use super::to_tick;
use crate::decode::steering::{KeySetting, Steering};
use crate::events::{ContextEvent, GeneratedNote};
use crate::files::take::PlayMode;
use crate::music::key::{Key, Mode};

/// Loop mode over one bar, with a key set (C major): the loop enters at once, as it does on
/// Auto once the key is heard.
fn loop_settings(keep: bool) -> super::WorkerSettings {
    super::WorkerSettings {
        mode: PlayMode::Loop,
        loop_bars: 1,
        keep,
        steering: Steering {
            key: KeySetting::Fixed(Key {
                tonic: 0,
                mode: Mode::Major,
            }),
            ..Steering::default()
        },
        ..Default::default()
    }
}

/// [`loop_settings`] with the key on Auto.
fn loop_on_auto(keep: bool, loop_bars: u32) -> super::WorkerSettings {
    super::WorkerSettings {
        loop_bars,
        steering: Steering::default(),
        ..loop_settings(keep)
    }
}

/// Plans the loop with the host's loop range `host_loop` while the playhead walks from
/// `from` to `to` beats in quarter-beat steps, 2 beats ahead.
fn walk(
    rig: &mut Rig,
    settings: &super::WorkerSettings,
    host_loop: Option<(f64, f64)>,
    (from, to): (f64, f64),
    out: &mut Recorder,
) {
    let mut beat = from;
    while beat < to {
        assert!(rig.planner.ready(settings, true));
        for _ in 0..1000 {
            let busy = rig
                .planner
                .plan_loop(
                    &mut rig.model,
                    settings,
                    (beats(beat), beats(beat + 2.0)),
                    host_loop,
                    out,
                )
                .expect("a loop planner never stops the model");
            if !busy {
                break;
            }
        }
        beat += 0.25;
    }
}

/// The notes of the cycle `start..start + len` (beats): key, onset in the cycle and length,
/// both in ticks (a replay adds the cycle's start to each onset in floating point).
fn in_cycle(notes: &[GeneratedNote], start: f64, len: f64) -> Vec<(u8, i64, i64)> {
    notes
        .iter()
        .filter(|n| n.onset_beat >= start - 1e-9 && n.onset_beat < start + len - 1e-9)
        .map(|n| {
            (
                n.key,
                to_tick(n.onset_beat - start),
                to_tick(n.length_beats),
            )
        })
        .collect()
}

#[test]
fn a_kept_take_repeats_note_for_note_and_is_stored_for_the_project() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let mut out = Recorder::default();
    // Cycle 0 is generated and recorded whole; Keep is switched on during it. (Its last note
    // is held over the cycle end by the fake model and cut there: the replay must still start
    // at cycle 1's start. Before the planner was unit-tested it started where the cut note
    // would have ended, and cycle 1 lost its notes.)
    walk(&mut rig, &loop_settings(false), None, (0.0, 1.0), &mut out);
    walk(&mut rig, &loop_settings(true), None, (1.0, 12.0), &mut out);
    let first = in_cycle(&out.notes, 0.0, 4.0);
    assert!(!first.is_empty());
    assert_eq!(in_cycle(&out.notes, 4.0, 4.0), first);
    assert_eq!(in_cycle(&out.notes, 8.0, 4.0), first);
    let stored = rig.kept_take.read().clone().expect("the take is stored");
    assert_eq!(stored.cycle_beats, 4.0);
    assert_eq!(stored.notes.len(), first.len());
    assert_eq!(out.kept_take_beats, Some(4.0));
}

#[test]
fn a_key_chosen_at_the_onset_is_what_the_kept_take_repeats() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let mut out = Recorder::default();
    let chose = |n: &GeneratedNote| ContextEvent::Chose {
        beat: n.onset_beat,
        planned: n.key,
        played: n.key + 2,
        epoch: 0,
    };
    // One choice while cycle 0 is still recorded, one after it became the take.
    walk(&mut rig, &loop_settings(false), None, (0.0, 1.0), &mut out);
    let early = out.notes[0];
    rig.planner.hear(chose(&early));
    walk(&mut rig, &loop_settings(true), None, (1.0, 3.75), &mut out);
    let late = *out.notes.iter().rfind(|n| n.onset_beat < 4.0).unwrap();
    assert!(late.onset_beat > early.onset_beat, "{late:?}");
    assert!(rig.planner.looping.has_take(), "cycle 0 became the take");
    rig.planner.hear(chose(&late));
    walk(&mut rig, &loop_settings(true), None, (3.75, 12.0), &mut out);
    // (Cycle 1's start was replayed before the late choice was heard; cycle 2 is all after.)
    let replay = in_cycle(&out.notes, 8.0, 4.0);
    let mut first = in_cycle(&out.notes, 0.0, 4.0);
    for n in first.iter_mut() {
        if n.1 == to_tick(early.onset_beat) || n.1 == to_tick(late.onset_beat) {
            n.0 += 2;
        }
    }
    assert_eq!(replay, first, "the take repeats the keys played");
}

#[test]
fn each_take_ends_with_a_breath_on_a_note_that_leads_back_by_step_into_its_first() {
    for (loop_bars, seed) in [(1, 1), (2, 2), (2, 3), (4, 4)] {
        let mut rig = Rig::new();
        rig.planner.hear(transport((4, 4), true, 0));
        // Nothing heard (the fake model's expectation of a player is noise): a step that
        // would clash with what sounds gives way to a cadence, see `Close::keys_over`.
        let settings = super::WorkerSettings {
            loop_bars,
            seed,
            hearing: super::super::super::config::Hearing {
                expect: false,
                ..Default::default()
            },
            ..loop_settings(false)
        };
        let mut out = Recorder::default();
        let len = 4.0 * f64::from(loop_bars);
        walk(&mut rig, &settings, None, (0.0, 4.0 * len), &mut out);
        for cycle in 0..3 {
            let notes = in_cycle(&out.notes, cycle as f64 * len, len);
            let (Some(first), Some(last)) = (notes.first(), notes.last()) else {
                panic!("{loop_bars} bars, cycle {cycle}: the loop plays");
            };
            let end = to_tick(len);
            assert!(
                crate::music::phrasing::breathes(
                    crate::music::time::Meter::FOUR_FOUR,
                    last.1,
                    last.2,
                    end
                ),
                "{loop_bars} bars, cycle {cycle}: {notes:?}"
            );
            let step = first.0.abs_diff(last.0);
            assert!(
                notes.len() == 1 || (1..=2).contains(&step),
                "{loop_bars} bars, cycle {cycle}: {notes:?} does not lead back by step"
            );
        }
    }
}

#[test]
fn regenerate_replaces_the_kept_take_at_the_next_cycle() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let mut out = Recorder::default();
    let keep = loop_settings(true);
    walk(&mut rig, &keep, None, (0.0, 6.0), &mut out);
    let flipped = super::WorkerSettings {
        again: true,
        ..keep
    };
    walk(&mut rig, &flipped, None, (6.0, 16.0), &mut out);
    let take = in_cycle(&out.notes, 0.0, 4.0);
    assert_eq!(in_cycle(&out.notes, 4.0, 4.0), take);
    let new = in_cycle(&out.notes, 8.0, 4.0);
    assert_ne!(new, take, "cycle 2 is a new take");
    assert_eq!(
        in_cycle(&out.notes, 12.0, 4.0),
        new,
        "and the new take is kept"
    );
}

#[test]
fn a_loop_grid_that_moves_under_a_finished_cycle_begins_it_afresh() {
    // Found by the 10,000-session run: the host's loop range appears just as a cycle's line
    // has ended, so the cursor is still in "the same" cycle on the new grid, with no line.
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let settings = super::WorkerSettings {
        loop_bars: 2,
        ..loop_settings(false)
    };
    let mut out = Recorder::default();
    // The first cycle (8 beats) planned to its end: the last horizon is beat 8.
    walk(&mut rig, &settings, None, (0.0, 6.25), &mut out);
    // Now the host loops beats 2-10: same length, the grid 2 beats later.
    walk(
        &mut rig,
        &settings,
        Some((2.0, 8.0)),
        (6.25, 16.0),
        &mut out,
    );
    assert!(
        out.notes.iter().any(|n| n.onset_beat >= 8.0),
        "Descant fell silent on the new grid: {:?}",
        out.notes
    );
    out.assert_monophonic();
}

#[test]
fn a_loop_that_changes_length_never_plans_a_stretch_twice() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let mut out = Recorder::default();
    walk(&mut rig, &loop_settings(false), None, (0.0, 1.0), &mut out);
    // Two bars instead of one while the first cycle's notes are planned 2 beats ahead: the
    // loop is planned again from the playhead over notes already sent.
    let longer = super::WorkerSettings {
        loop_bars: 2,
        ..loop_settings(false)
    };
    walk(&mut rig, &longer, None, (1.0, 12.0), &mut out);
    assert!(out.lines_started >= 2);
    out.assert_monophonic();
}

#[test]
fn a_planned_note_the_key_heard_since_leaves_out_is_withdrawn_and_the_take_is_what_sounded() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let settings = loop_on_auto(true, 2);
    // A chord heard at the start tells the key enough for the loop to enter at once.
    rig.planner.hear(ContextEvent::ChordNoteOn {
        key: 48,
        beat: 0.0,
        epoch: 0,
    });
    let mut out = Recorder::default();
    // Cycle 0 is planned 2 beats ahead before the player is heard.
    walk(&mut rig, &settings, None, (0.0, 0.25), &mut out);
    let planned = out.notes.clone();
    // The player plays a triad whose likely key leaves out one of the planned notes after beat 1.
    let (triad, first_out) = [60u8, 62, 64, 66, 68, 70]
        .into_iter()
        .map(|root| [root, root + 4, root + 7])
        .find_map(|triad| {
            let collection = crate::music::key::early_collection(
                &triad,
                crate::music::key::EARLY_IN_KEY_WITH_CHORDS,
            )
            .unwrap();
            let out = planned
                .iter()
                .find(|n| n.onset_beat >= 1.0 && !collection.contains_key(n.key))?;
            Some((triad, out.onset_beat))
        })
        .unwrap_or_else(|| panic!("a planned note outside some triad's key: {planned:?}"));
    for (i, key) in triad.into_iter().enumerate() {
        rig.planner.hear(note_on(key, 0.25 + i as f64 * 0.2, 0));
        rig.planner.hear(note_off(key, 0.4 + i as f64 * 0.2, 0));
    }
    walk(&mut rig, &settings, None, (0.75, 20.0), &mut out);
    // Withdrawn from the first such note, and the cycle planned on from there.
    assert_eq!(
        out.retractions.first(),
        Some(&(first_out, 0)),
        "{planned:?}"
    );
    let first = in_cycle(&out.notes, 0.0, 8.0);
    assert!(first
        .iter()
        .any(|&(_, onset, _)| onset >= to_tick(first_out)));
    // The whole cycle, as it sounded after the correction, is the kept take.
    assert_eq!(in_cycle(&out.notes, 8.0, 8.0), first);
    let stored = rig.kept_take.read().clone().expect("the take is stored");
    assert_eq!(stored.notes.len(), first.len());
}

#[test]
fn with_the_key_on_auto_the_loop_listens_for_a_bar_before_it_enters() {
    // Returns the playhead (beats) when the first line started, and the first note's onset.
    let entry = |chord: bool, player: bool, settings: &super::WorkerSettings| {
        let mut rig = Rig::new();
        rig.planner.hear(transport((4, 4), true, 0));
        if chord {
            rig.planner.hear(ContextEvent::ChordNoteOn {
                key: 50,
                beat: 0.0,
                epoch: 0,
            });
        }
        let mut out = Recorder::default();
        let (mut beat, mut started) = (0.0, None);
        while beat < 12.0 {
            if player && beat == 0.0 {
                rig.planner.hear(note_on(62, 0.0, 0));
            }
            if player && beat == 0.5 {
                rig.planner.hear(note_off(62, 0.5, 0));
            }
            walk(&mut rig, settings, None, (beat, beat + 0.25), &mut out);
            if out.lines_started > 0 {
                started.get_or_insert(beat);
            }
            beat += 0.25;
        }
        out.assert_monophonic();
        let first = out.notes.first().expect("the loop plays").onset_beat;
        (started.expect("a line started"), first)
    };
    let auto = loop_on_auto(false, 2);
    let in_c = super::WorkerSettings {
        loop_bars: 2,
        ..loop_settings(false)
    };
    // One note heard at beat 0, the key not yet: it enters at the bar line a bar after it, beat
    // 4 (planned 2 beats ahead).
    let (started, first) = entry(false, true, &auto);
    assert!(started >= 2.0 && first >= 4.0, "{started} {first}");
    // Nothing heard (playing alone, or the player's first note still to come): the next bar
    // line, beat 4.
    let (started, first) = entry(false, false, &auto);
    assert!(started >= 2.0 && first >= 4.0, "{started} {first}");
    // A chord tells the key, and so does a key set: it enters at once.
    for (chord, settings) in [(true, auto), (false, in_c)] {
        let (started, _) = entry(chord, true, &settings);
        assert_eq!(started, 0.0, "chord {chord}");
    }
}

#[test]
fn a_note_of_the_kept_take_vetoed_stays_out_of_the_take() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let mut out = Recorder::default();
    walk(&mut rig, &loop_settings(false), None, (0.0, 1.0), &mut out);
    walk(&mut rig, &loop_settings(true), None, (1.0, 4.0), &mut out);
    let first = in_cycle(&out.notes, 0.0, 4.0);
    // Cycle 1 replays the take: the first of its notes sent a beat or more ahead.
    let mut at = 4.0;
    let target = loop {
        if let Some(n) = out
            .notes
            .iter()
            .find(|n| n.onset_beat >= at + 1.0 && n.onset_beat < 8.0)
        {
            break *n;
        }
        assert!(at < 7.0, "cycle 1 replays notes: {first:?}");
        walk(
            &mut rig,
            &loop_settings(true),
            None,
            (at, at + 0.25),
            &mut out,
        );
        at += 0.25;
    };
    let veto = super::super::Veto {
        key: target.key,
        beat: target.onset_beat,
    };
    let outcome = rig.planner.carry_out_veto(veto, beats(at), &mut out);
    // A kept take repeats exactly (no alternates): the note is dropped, here and in the take.
    assert_eq!(outcome, super::super::VetoOutcome::Dropped(veto));
    walk(&mut rig, &loop_settings(true), None, (at, 12.0), &mut out);
    let place = to_tick(target.onset_beat - 4.0);
    let without: Vec<_> = first.iter().filter(|n| n.1 != place).copied().collect();
    assert_eq!(without.len() + 1, first.len());
    assert_eq!(
        in_cycle(&out.notes, 4.0, 4.0),
        without,
        "dropped in this cycle"
    );
    assert_eq!(in_cycle(&out.notes, 8.0, 4.0), without, "and from the take");
}
