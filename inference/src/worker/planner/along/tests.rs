//! Continue mode's tests: the planner driven with a fake model and hand-made events.
use super::super::fake::{
    beats, note_off, note_on, plan_until, transport, FakeModel, Recorder, Rig,
};
use crate::decode::steering::{KeySetting, Steering};
use crate::events::{ContextEvent, GeneratedNote};
use crate::files::take::PlayMode;
use crate::model::step::StepModel;
use crate::model::tokenizer::{kind, TokenKind, OWN};
use crate::music::key::{Key, Mode};
use crate::music::phrasing::{self, Phrasing};
use crate::music::time::Meter;

mod actions;
mod correction;

fn along_settings() -> super::WorkerSettings {
    super::WorkerSettings {
        mode: PlayMode::Continue,
        ..Default::default()
    }
}

/// Continue mode in `key`, with `seed`.
fn along_in_key(key: Key, seed: u64) -> super::WorkerSettings {
    super::WorkerSettings {
        seed,
        steering: Steering {
            key: KeySetting::Fixed(key),
            ..Steering::default()
        },
        ..along_settings()
    }
}

#[test]
fn the_line_starts_on_the_next_bar_line_and_plays_in_its_first_bar() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((3, 4), true, 0));
    let mut out = Recorder::default();
    // Playhead at beat 1 of a 3/4 bar: the line starts at beat 3.
    plan_until(
        &mut rig,
        &along_settings(),
        beats(1.0),
        beats(9.0),
        &mut out,
    );
    let first = out.notes.first().expect("Continue plays");
    assert!(first.onset_beat >= 3.0 - 1e-9, "{first:?}");
    assert!(
        first.onset_beat < 6.0,
        "the first bar is not empty: {first:?}"
    );
    out.assert_monophonic();
}

#[test]
fn the_line_rereads_the_player_only_at_a_bar_line_after_they_played() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let settings = along_settings();
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(0.5), beats(8.0), &mut out);
    assert_eq!(out.lines_started, 1);
    // Planning on without the player: the same line.
    plan_until(&mut rig, &settings, beats(4.0), beats(16.0), &mut out);
    assert_eq!(out.lines_started, 1);
    // The player plays (Continue plays along: the epoch stays); at the next bar line the
    // line starts again over the new context.
    rig.planner.hear(note_on(60, 9.0, 0));
    rig.planner.hear(note_off(60, 10.0, 0));
    // (far enough ahead that the line surely crosses a bar line after beat 10)
    plan_until(&mut rig, &settings, beats(10.0), beats(40.0), &mut out);
    assert_eq!(out.lines_started, 2);
    out.assert_monophonic();
}

#[test]
fn a_restarted_line_resumes_after_what_the_old_line_planned() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let settings = along_settings();
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(0.5), beats(8.0), &mut out);
    // A mode round trip drops the line; the next one resumes where the old one had planned
    // to, at its next bar line.
    let cursor = out
        .notes
        .iter()
        .map(|n| n.onset_beat + n.length_beats)
        .fold(0.0, f64::max);
    let answer = super::WorkerSettings {
        mode: PlayMode::Answer,
        ..settings
    };
    rig.plan(&answer, beats(1.0), beats(8.0), &mut out);
    let before = out.notes.len();
    // (two bars past the old cursor's next bar line at most: the new line has room to play)
    plan_until(&mut rig, &settings, beats(1.0), beats(24.0), &mut out);
    let resumed = &out.notes[before..];
    assert!(!resumed.is_empty());
    assert!(resumed[0].onset_beat >= cursor - 1e-9, "{resumed:?}");
    assert!(resumed[0].onset_beat >= 8.0 - 1e-9, "{resumed:?}");
    out.assert_monophonic();
}

/// The keys of the heard-note tokens among `fed`, in order.
fn heard_keys(fed: &[u32]) -> Vec<u8> {
    fed.iter()
        .filter_map(|&t| match kind(t) {
            TokenKind::Heard(k) => Some(k),
            _ => None,
        })
        .collect()
}

#[test]
fn a_two_voice_model_is_told_what_the_player_plays_bar_by_bar() {
    let mut rig = Rig::new();
    assert!(rig.model.contract().two_voice(), "the shipped model hears");
    rig.planner.hear(transport((4, 4), true, 0));
    let settings = along_settings();
    let mut out = Recorder::default();
    for (i, key) in [60u8, 64, 67, 72].into_iter().enumerate() {
        rig.planner.hear(note_on(key, i as f64, 0));
        rig.planner.hear(note_off(key, i as f64 + 1.0, 0));
    }
    plan_until(&mut rig, &settings, beats(4.0), beats(12.0), &mut out);
    let heard = heard_keys(&rig.model.fed);
    for key in [60u8, 64, 67, 72] {
        assert!(heard.contains(&key), "{key} told: {heard:?}");
    }
    let bars = rig
        .model
        .fed
        .iter()
        .filter(|&&t| t == crate::model::tokenizer::BAR)
        .count();
    let owns = rig.model.fed.iter().filter(|&&t| t == OWN).count();
    assert_eq!(bars, owns, "every bar closes its heard notes");
    out.assert_monophonic();
}

#[test]
fn a_v1_model_still_gets_one_merged_line_and_no_new_tokens() {
    let mut rig = Rig::with_model(FakeModel::v1());
    rig.planner.hear(transport((4, 4), true, 0));
    rig.planner.hear(note_on(60, 0.0, 0));
    rig.planner.hear(note_off(60, 1.0, 0));
    let mut out = Recorder::default();
    plan_until(
        &mut rig,
        &along_settings(),
        beats(1.0),
        beats(12.0),
        &mut out,
    );
    assert!(!out.notes.is_empty());
    assert!(rig
        .model
        .fed
        .iter()
        .all(|&t| (t as usize) < crate::model::tokenizer::VOCAB_SIZE_V1));
}

#[test]
fn after_a_loop_back_the_bar_is_told_before_the_player_plays_it_again() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let settings = along_settings();
    let mut out = Recorder::default();
    // Bar 1 (beats 4-8) holds a phrase; the host then loops back to beat 0.
    for (i, key) in [62u8, 65, 69, 74].into_iter().enumerate() {
        rig.planner.hear(note_on(key, 4.0 + i as f64, 0));
        rig.planner.hear(note_off(key, 5.0 + i as f64, 0));
    }
    rig.planner.hear(transport((4, 4), true, 1));
    rig.model.fed.clear();
    plan_until(&mut rig, &settings, beats(0.5), beats(7.0), &mut out);
    let heard = heard_keys(&rig.model.fed);
    assert_eq!(
        heard,
        [62, 65, 69, 74],
        "bar 1 expected from the track memory"
    );
}

#[test]
fn with_the_player_playing_a_two_voice_model_expects_them_in_a_bar_nothing_is_known_of() {
    let heard_tokens = |expect: bool| {
        let mut rig = Rig::new();
        rig.planner.hear(transport((4, 4), true, 0));
        for (i, key) in [60u8, 62, 64, 65].into_iter().enumerate() {
            rig.planner.hear(note_on(key, i as f64, 0));
            rig.planner.hear(note_off(key, i as f64 + 1.0, 0));
        }
        let settings = super::WorkerSettings {
            hearing: super::super::super::config::Hearing {
                expect,
                ..Default::default()
            },
            ..along_settings()
        };
        let mut out = Recorder::default();
        plan_until(&mut rig, &settings, beats(4.5), beats(16.0), &mut out);
        out.assert_monophonic();
        heard_keys(&rig.model.fed).len()
    };
    let (told, with_expectation) = (heard_tokens(false), heard_tokens(true));
    assert_eq!(told, 4, "only the four notes played are told");
    assert!(with_expectation > told, "{with_expectation} heard tokens");
}

#[test]
fn on_beat_notes_carry_alternates_near_them_and_other_notes_none() {
    let notes = |choose: bool| {
        let mut rig = Rig::new();
        rig.planner.hear(transport((4, 4), true, 0));
        let settings = super::WorkerSettings {
            hearing: super::super::super::config::Hearing {
                choose,
                ..Default::default()
            },
            ..along_settings()
        };
        let mut out = Recorder::default();
        plan_until(&mut rig, &settings, beats(0.5), beats(48.0), &mut out);
        out.notes
    };
    let with = notes(true);
    let on_beat = |n: &&GeneratedNote| n.onset_beat.fract() == 0.0;
    assert!(with
        .iter()
        .filter(on_beat)
        .any(|n| !n.alternates.is_empty()));
    for n in &with {
        if !on_beat(&n) {
            assert!(n.alternates.is_empty(), "{n:?}");
        }
        for k in n.alternates.keys() {
            assert!(k != n.key && k.abs_diff(n.key) <= 7, "{n:?}");
        }
    }
    assert!(notes(false).iter().all(|n| n.alternates.is_empty()));
}

/// The last note of a line `notes` that starts before `end` (beats), in ticks.
fn last_before(notes: &[GeneratedNote], end: i64) -> Option<(i64, i64, u8)> {
    notes
        .iter()
        .map(|n| {
            (
                super::to_tick(n.onset_beat),
                super::to_tick(n.length_beats),
                n.key,
            )
        })
        .rfind(|&(onset, _, _)| onset < end)
}

#[test]
fn every_phrase_ends_on_its_close_with_a_breath_and_a_note_of_the_tonic_or_dominant_triad() {
    let d_major = Key {
        tonic: 2,
        mode: Mode::Major,
    };
    for (meter, seed) in [((4, 4), 1), ((3, 4), 2), ((6, 8), 3), ((4, 4), 4)] {
        let mut rig = Rig::new();
        rig.planner.hear(transport(meter, true, 0));
        let settings = along_in_key(d_major, seed);
        let m = Meter {
            numerator: meter.0,
            denominator: meter.1,
        };
        let phrase = 4 * m.bar_ticks();
        let mut out = Recorder::default();
        plan_until(&mut rig, &settings, 1, 6 * phrase, &mut out);
        out.assert_monophonic();
        let triad = phrasing::triad_keys(d_major);
        let cadence = triad | phrasing::dominant_keys(d_major);
        let p = Phrasing {
            origin: 0,
            len: phrase,
            last_keys: triad,
            half_keys: phrasing::dominant_keys(d_major),
            lead_keys: 0,
        };
        for k in 1..6 {
            let end = k * phrase;
            let close = p.close(m, 0, end);
            let (onset, length, key) =
                last_before(&out.notes, end).expect("the line plays in every phrase");
            assert!(
                onset + length <= end,
                "{meter:?} phrase {k}: across its end"
            );
            assert!(
                phrasing::breathes(m, onset, length, end),
                "{meter:?} phrase {k}: no breath ({onset}, {length})"
            );
            assert!(
                (close.from..close.until).contains(&onset),
                "{meter:?} phrase {k}: the last note is on the close ({onset}, {close:?})"
            );
            // (The fake model writes heard notes it expects: the close may be a half
            // cadence over them.)
            assert!(
                cadence & (1u128 << key) != 0,
                "{meter:?} phrase {k}: key {key}"
            );
        }
    }
}

#[test]
fn a_phrases_last_note_is_reached_by_a_step_where_its_close_allows() {
    let d_major = Key {
        tonic: 2,
        mode: Mode::Major,
    };
    let phrase = 4 * Meter::FOUR_FOUR.bar_ticks();
    let (mut ends, mut by_step) = (0, 0);
    for seed in 1..=12 {
        let mut rig = Rig::new();
        rig.planner.hear(transport((4, 4), true, 0));
        let settings = along_in_key(d_major, seed);
        let mut out = Recorder::default();
        plan_until(&mut rig, &settings, 1, 6 * phrase, &mut out);
        for k in 1..6 {
            let end = k * phrase;
            let at = out
                .notes
                .iter()
                .rposition(|n| super::to_tick(n.onset_beat) < end)
                .expect("the line plays in every phrase");
            let Some(before) = at.checked_sub(1).map(|i| out.notes[i].key) else {
                continue;
            };
            ends += 1;
            by_step += usize::from(out.notes[at].key.abs_diff(before) <= 2);
        }
    }
    // The tonic and dominant triads of D hold a key a step or less from any key: a close can
    // always be reached by step. With the fake model, drawn only by it and the close's mask 13
    // of 60 were; drawn towards the keys near the note before, 57.
    assert!(
        4 * by_step >= 3 * ends,
        "{by_step} of {ends} phrase ends reached by a repeat or a step"
    );
}

#[test]
fn at_full_scale_lock_a_close_with_no_cadence_key_in_the_register_stays_in_the_scale() {
    // G major pentatonic (G A B D E), a register of E4-F4: no note of the tonic triad (G B D)
    // or the dominant's (D F# A) fits; the line's only key in the scale is E4 (the
    // randomized host sessions caught an F here).
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let settings = super::WorkerSettings {
        steering: Steering {
            key: KeySetting::Fixed(Key {
                tonic: 7,
                mode: Mode::MajorPentatonic,
            }),
            scale_lock: 1.0,
            register_low: 64,
            register_high: 65,
            ..Steering::default()
        },
        ..along_settings()
    };
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, 1, beats(40.0), &mut out);
    assert!(out.notes.len() >= 4, "{:?}", out.notes);
    for n in &out.notes {
        assert_eq!(n.key, 64, "{n:?}");
    }
}

#[test]
fn with_phrase_length_off_the_line_runs_on_without_closes() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let settings = super::WorkerSettings {
        phrase_bars: 0,
        ..along_settings()
    };
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, 1, beats(64.0), &mut out);
    assert!(!out.notes.is_empty());
    assert!(
        !rig.model
            .fed
            .iter()
            .any(|&t| matches!(kind(t), TokenKind::Phrase(_))),
        "no phrase marks told"
    );
    // With phrases on, the model is told how far each phrase end is.
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    plan_until(
        &mut rig,
        &along_settings(),
        1,
        beats(64.0),
        &mut Recorder::default(),
    );
    let marks = rig
        .model
        .fed
        .iter()
        .filter(|&&t| matches!(kind(t), TokenKind::Phrase(_)))
        .count();
    assert!(marks >= 8, "{marks} phrase marks");
}

#[test]
fn a_key_chosen_at_the_onset_becomes_the_lines_own_note() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let settings = along_settings();
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(0.5), beats(8.0), &mut out);
    let n = *out.notes.iter().find(|n| n.onset_beat >= 4.0).unwrap();
    rig.planner.hear(ContextEvent::Chose {
        beat: n.onset_beat,
        planned: n.key,
        played: n.key + 3,
        epoch: 0,
    });
    let tick = super::to_tick(n.onset_beat);
    let own = rig
        .planner
        .along
        .own
        .iter()
        .find(|o| o.onset == tick)
        .unwrap();
    assert_eq!(own.key, n.key + 3);
    let sent = rig
        .planner
        .cx
        .sent
        .notes
        .iter()
        .find(|s| s.onset_beat == n.onset_beat);
    assert_eq!(sent.unwrap().key, n.key + 3);
    assert!(
        rig.planner.along.refresh,
        "the line re-reads at its next bar line"
    );
    // ... where the model is told the key played.
    rig.model.fed.clear();
    plan_until(&mut rig, &settings, beats(6.0), beats(16.0), &mut out);
    assert!(out.lines_started >= 2);
    assert!(rig
        .model
        .fed
        .contains(&crate::model::tokenizer::pitch_token(n.key + 3)));
}

#[test]
fn the_continue_planner_alone_plays_one_line_from_the_next_bar_line() {
    // No `Planner` around it: the mode's planner over a bare context, as any mode can be tested.
    let mut model = FakeModel::new();
    let mut cx = super::PlanContext::<FakeModel>::new();
    cx.line.control = vec![0.0; model.contract().control.size];
    let mut along = super::AlongPlanner::default();
    let mut out = Recorder::default();
    let time = super::PlanTime {
        playhead: beats(0.5),
        horizon: beats(12.0),
        host_loop: None,
    };
    let settings = along_settings();
    let mut steps = 0;
    while super::ModePlanner::plan(&mut along, &mut cx, &mut model, &settings, time, &mut out)
        .expect("the fake model never fails")
    {
        steps += 1;
        assert!(steps < 10_000, "the planner never went idle");
    }
    assert_eq!(out.lines_started, 1);
    assert!(!out.notes.is_empty(), "a line was played");
    assert!(
        out.notes.iter().all(|n| n.onset_beat >= 4.0 - 1e-9),
        "from the next bar line: {:?}",
        out.notes
    );
    out.assert_monophonic();
}

#[test]
fn before_the_key_is_heard_a_line_waits_until_a_bar_after_the_first_note() {
    // The first note Descant plays when the player played `heard` (key, onset, length: beats)
    // and the plan is made at beat 1.5, far ahead.
    let first = |settings: &super::WorkerSettings, heard: &[(u8, f64, f64)]| {
        let mut rig = Rig::new();
        rig.planner.hear(transport((4, 4), true, 0));
        for &(key, onset, length) in heard {
            rig.planner.hear(note_on(key, onset, 0));
            rig.planner.hear(note_off(key, onset + length, 0));
        }
        let mut out = Recorder::default();
        plan_until(&mut rig, settings, beats(1.5), beats(16.0), &mut out);
        out.notes.first().expect("Continue plays").onset_beat
    };
    let one = [(62, 1.0, 0.5)];
    // On Auto, one note heard at beat 1: not at the bar line of beat 4, but of beat 8.
    let waited = first(&along_settings(), &one);
    assert!((8.0..12.0).contains(&waited), "{waited}");
    // With a key set, or once the key is heard (four notes of D major), at beat 4's.
    let d_major = Key {
        tonic: 2,
        mode: Mode::Major,
    };
    let set = first(&along_in_key(d_major, 0), &one);
    assert!((4.0..8.0).contains(&set), "{set}");
    let scale = [
        (62, 0.0, 0.25),
        (64, 0.25, 0.25),
        (66, 0.5, 0.25),
        (67, 0.75, 0.5),
    ];
    let heard = first(&along_settings(), &scale);
    assert!((4.0..8.0).contains(&heard), "{heard}");
}

#[test]
fn the_key_heard_stays_over_a_loop_wrap_and_a_reset_forgets_it() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    // A bar and a half of D major.
    for (i, key) in [62u8, 64, 66, 67, 69, 71, 73, 74].into_iter().enumerate() {
        let onset = i as f64 * 0.75;
        rig.planner.hear(note_on(key, onset, 0));
        rig.planner.hear(note_off(key, onset + 0.5, 0));
    }
    let d_major = rig.planner.cx.player.collection.expect("a key heard");
    assert!(d_major.contains_key(66) && !d_major.contains_key(65));
    // The host loops back to beat 0; the player's first note there is a B.
    rig.planner.hear(transport((4, 4), true, 0));
    rig.planner.hear(note_on(71, 0.0, 0));
    rig.planner.hear(note_off(71, 0.5, 0));
    assert_eq!(rig.planner.cx.player.collection, Some(d_major));
    assert!(
        rig.planner.cx.player.phrase.len() == 1,
        "the phrase is the new pass's"
    );
    // Continue enters at once: the key is known.
    let mut out = Recorder::default();
    plan_until(
        &mut rig,
        &along_settings(),
        beats(0.5),
        beats(8.0),
        &mut out,
    );
    assert!(out.notes.first().is_some_and(|n| n.onset_beat < 8.0));
    // A reset (Descant bypassed and back) forgets it.
    rig.planner.hear(ContextEvent::Reset { epoch: 0 });
    assert_eq!(rig.planner.cx.player.collection, None);
}
