//! Answer mode's tests: the planner driven with a fake model and hand-made events.
use super::super::fake::{beats, note_off, note_on, plan_until, transport, Recorder, Rig};
use super::{AnswerLength, MIN_CANDIDATES};
use crate::decode::steering::KeySetting;
use crate::files::take::PlayMode;
use crate::music::critic::{self, Ending};
use crate::music::key::{Key, Mode};

fn answer_settings(length: AnswerLength) -> super::WorkerSettings {
    super::WorkerSettings {
        mode: PlayMode::Answer,
        answer_length: length,
        answer_after_beats: 2.0,
        ..Default::default()
    }
}

/// A four-note call in beats `from..from + 4`, released at its end.
fn call_at(rig: &mut Rig, from: f64) {
    for (i, key) in [60u8, 62, 64, 65].into_iter().enumerate() {
        rig.planner.hear(note_on(key, from + i as f64, 0));
        rig.planner.hear(note_off(key, from + i as f64 + 1.0, 0));
    }
}

fn call(rig: &mut Rig) {
    call_at(rig, 0.0);
}

#[test]
fn an_answer_starts_on_the_bar_line_after_the_silence_and_lasts_as_long_as_the_call() {
    let mut rig = Rig::new();
    let settings = answer_settings(AnswerLength::MatchTheCall);
    call(&mut rig);
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(4.5), beats(24.0), &mut out);
    let first = out.notes.first().expect("the call is answered");
    // The call began on a bar line; 2 beats of silence after beat 4: the bar line at 8.
    assert!(first.onset_beat >= 8.0 - 1e-9, "{first:?}");
    assert!(first.onset_beat < 12.0, "{first:?}");
    // A one-bar call, a one-bar answer: every note starts in 8..12.
    for n in &out.notes {
        assert!(n.onset_beat < 12.0 - 1e-9, "{n:?}");
    }
    // Its last note is the cadence, on the last strong beat (beat 3 of the bar), as long as
    // the call's last note (a quarter), ending by the answer's end: planned, never clipped.
    let last = out.notes.last().unwrap();
    assert_eq!(
        (last.onset_beat, last.length_beats),
        (10.0, 1.0),
        "{last:?}"
    );
    out.assert_monophonic();
    let (_, tried) = out.answers.first().copied().expect("the critic chose");
    assert!(tried >= MIN_CANDIDATES);
}

#[test]
fn in_cut_time_the_cadence_is_as_long_as_the_calls_last_note_not_a_half_note_beat() {
    let mut rig = Rig::new();
    rig.planner.hear(transport((2, 2), true, 0));
    let settings = answer_settings(AnswerLength::MatchTheCall);
    // A two-bar call in 2/2 of quarter notes, beats 0..8.
    for (i, key) in [60u8, 62, 64, 65, 67, 65, 64, 62].into_iter().enumerate() {
        rig.planner.hear(note_on(key, i as f64, 0));
        rig.planner.hear(note_off(key, i as f64 + 1.0, 0));
    }
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(8.5), beats(40.0), &mut out);
    // Answered from the bar line at beat 12 (2 beats of silence after beat 8, then the next
    // bar line) for two bars; in 2/2 the last bar's one strong beat is its downbeat (beat
    // 16). The cadence there is a quarter, as the call's last note, not the meter's
    // half-note beat.
    let last = out.notes.last().expect("answered");
    assert_eq!(
        (last.onset_beat, last.length_beats),
        (16.0, 1.0),
        "{last:?}"
    );
    assert!(
        out.notes.len() > 1,
        "a line before the cadence: {:?}",
        out.notes
    );
}

#[test]
fn a_call_ending_on_an_eighth_is_answered_with_a_cadence_of_an_eighth() {
    let mut rig = Rig::new();
    let settings = answer_settings(AnswerLength::MatchTheCall);
    // A one-bar call in 4/4 of eighth notes, beats 0..4, as a reel's phrase ends.
    for (i, key) in [60u8, 62, 64, 65, 67, 65, 64, 62].into_iter().enumerate() {
        let at = i as f64 * 0.5;
        rig.planner.hear(note_on(key, at, 0));
        rig.planner.hear(note_off(key, at + 0.5, 0));
    }
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(4.5), beats(24.0), &mut out);
    // Answered from the bar line at 8; its cadence on the last strong beat (10) is an eighth,
    // as the call's last note, not held to the beat.
    let last = out.notes.last().expect("answered");
    assert_eq!(
        (last.onset_beat, last.length_beats),
        (10.0, 0.5),
        "{last:?}"
    );
}

#[test]
fn a_late_choice_plays_the_best_so_far_in_its_place_instead_of_starting_over() {
    let mut rig = Rig::new();
    let settings = answer_settings(AnswerLength::Bars(2));
    call(&mut rig);
    let mut out = Recorder::default();
    // One candidate written while the answer (from the bar line at beat 8) is ahead...
    assert!(rig.plan(&settings, beats(4.5), beats(6.0), &mut out));
    assert!(out.answers.is_empty() && out.notes.is_empty());
    // ...then the worker fell behind: the playhead is past the answer's start, in its second
    // bar. The answer keeps its place and is chosen from what was written.
    plan_until(&mut rig, &settings, beats(13.0), beats(15.0), &mut out);
    let (_, tried) = out.answers.first().copied().expect("the critic chose");
    assert_eq!(tried, 1, "no candidate more once late");
    let first = out.notes.first().expect("the answer plays");
    assert!(first.onset_beat >= 8.0 - 1e-9, "{first:?}");
    assert!(
        out.notes.iter().all(|n| n.onset_beat < 16.0 - 1e-9),
        "every note in the answer's own two bars: {:?}",
        out.notes
    );
}

#[test]
fn a_pickup_is_answered_with_a_pickup() {
    let mut rig = Rig::new();
    let settings = answer_settings(AnswerLength::Bars(1));
    // The call starts on beat 4 of bar 0 (beat 3) and ends at beat 7.
    call_at(&mut rig, 3.0);
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(7.5), beats(30.0), &mut out);
    let first = out.notes.first().expect("answered");
    // Earliest at beat 9: the answer's bar is the one from beat 12, its pickup at beat 11.
    assert!(
        (11.0..12.0).contains(&first.onset_beat),
        "the first note is the pickup: {first:?}"
    );
    assert!(out.notes.iter().all(|n| n.onset_beat < 16.0 - 1e-9));
}

#[test]
fn home_ends_on_the_tonic_more_often_than_free() {
    let c_major = KeySetting::Fixed(Key {
        tonic: 0,
        mode: Mode::Major,
    });
    let homes = |ending: Ending| {
        (1..=12)
            .filter(|&seed| {
                let mut rig = Rig::new();
                let mut settings = answer_settings(AnswerLength::Bars(2));
                settings.seed = seed;
                settings.ending = ending;
                settings.steering.key = c_major;
                call(&mut rig);
                let mut out = Recorder::default();
                plan_until(&mut rig, &settings, beats(4.5), beats(30.0), &mut out);
                out.notes.last().is_some_and(|n| n.key % 12 == 0)
            })
            .count()
    };
    let (home, free) = (homes(Ending::Home), homes(Ending::Free));
    assert!(home > free, "tonic endings: Home {home}, Free {free} of 12");
}

#[test]
fn on_auto_a_call_that_does_not_say_its_key_comes_home_to_the_key_played_before_it() {
    // A call of E alone (Jingle Bells' first bars) says E; after a line in C major, home is
    // C.
    let settings = super::WorkerSettings {
        ending: Ending::Home,
        ..answer_settings(AnswerLength::Bars(1))
    };
    let call_of_es = |rig: &mut Rig, from: f64| {
        for i in 0..4 {
            rig.planner.hear(note_on(64, from + f64::from(i), 0));
            rig.planner.hear(note_off(64, from + f64::from(i) + 1.0, 0));
        }
    };
    let last = |rig: &mut Rig, from: f64| {
        let mut out = Recorder::default();
        plan_until(
            rig,
            &settings,
            beats(from + 4.5),
            beats(from + 16.0),
            &mut out,
        );
        out.notes.last().expect("answered").key % 12
    };
    let mut alone = Rig::new();
    call_of_es(&mut alone, 16.0);
    assert_eq!(last(&mut alone, 16.0), 4, "the call alone: home is E");
    let mut after_c = Rig::new();
    let c_major = [
        60u8, 64, 67, 65, 64, 62, 60, 62, 64, 65, 67, 72, 67, 64, 62, 60,
    ];
    for (i, key) in c_major.into_iter().enumerate() {
        after_c.planner.hear(note_on(key, i as f64 * 0.5, 0));
        after_c.planner.hear(note_off(key, i as f64 * 0.5 + 0.5, 0));
    }
    call_of_es(&mut after_c, 16.0);
    assert_eq!(
        last(&mut after_c, 16.0),
        0,
        "after a C major line: home is C"
    );
}

#[test]
fn a_note_in_the_beat_before_a_home_cadence_leads_into_it_by_a_repeat_or_a_step() {
    let c_major = KeySetting::Fixed(Key {
        tonic: 0,
        mode: Mode::Major,
    });
    // 2-bar answers from the bar line at beat 8: the cadence on beat 3 of the last bar
    // (beat 14); the beat before it is 13..14.
    let (mut leading, mut by_step) = (0, 0);
    for seed in 1..=160 {
        let mut rig = Rig::new();
        let mut settings = answer_settings(AnswerLength::Bars(2));
        settings.seed = seed;
        settings.ending = Ending::Home;
        settings.steering.key = c_major;
        call(&mut rig);
        let mut out = Recorder::default();
        plan_until(&mut rig, &settings, beats(4.5), beats(30.0), &mut out);
        let [.., before, last] = out.notes.as_slice() else {
            panic!("an answer of two notes or more: {:?}", out.notes);
        };
        assert_eq!((last.key % 12, last.onset_beat), (0, 14.0), "{last:?}");
        assert!(
            last.key.abs_diff(before.key) <= 6,
            "the tonic nearest the note before: {before:?} {last:?}"
        );
        if before.onset_beat >= 13.0 {
            leading += 1;
            by_step += usize::from(last.key.abs_diff(before.key) <= 2);
        }
    }
    assert!(
        leading >= 20,
        "{leading} of 160 answers with a note in the beat before"
    );
    assert!(
        4 * by_step >= 3 * leading,
        "{by_step} of {leading} reach the cadence by a repeat or a step"
    );
}

#[test]
fn no_answer_while_the_player_holds_a_key() {
    let mut rig = Rig::new();
    let settings = answer_settings(AnswerLength::Bars(2));
    call(&mut rig);
    rig.planner.hear(note_on(67, 5.0, 0));
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(8.0), beats(20.0), &mut out);
    assert!(out.notes.is_empty(), "{:?}", out.notes);
    rig.planner.hear(note_off(67, 9.0, 0));
    plan_until(&mut rig, &settings, beats(9.0), beats(24.0), &mut out);
    let first = out.notes.first().expect("answered once the key is up");
    assert!(first.onset_beat >= 12.0 - 1e-9, "{first:?}");
}

#[test]
fn the_same_seed_and_call_give_the_same_answer_and_another_seed_another() {
    let take = |seed| {
        let mut rig = Rig::new();
        let settings = super::WorkerSettings {
            seed,
            ..answer_settings(AnswerLength::Bars(2))
        };
        call(&mut rig);
        let mut out = Recorder::default();
        plan_until(&mut rig, &settings, beats(4.5), beats(20.0), &mut out);
        out.notes
    };
    assert_eq!(take(7), take(7));
    assert_ne!(take(7), take(8));
}

#[test]
fn until_you_play_streams_one_line_past_any_bar_count() {
    let mut rig = Rig::new();
    let settings = answer_settings(AnswerLength::UntilYouPlay);
    call(&mut rig);
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(4.5), beats(60.0), &mut out);
    assert!(out.notes.first().unwrap().onset_beat >= 8.0 - 1e-9);
    assert!(
        out.notes.last().unwrap().onset_beat > 40.0,
        "the line goes on"
    );
    assert!(out.answers.is_empty(), "nothing to choose between");
    out.assert_monophonic();
}

#[test]
fn an_answer_cut_short_before_it_sounded_does_not_change_the_next() {
    // Without the cut: the call, then an answer to the longer phrase.
    let settings = answer_settings(AnswerLength::Bars(1));
    let mut plain = Rig::new();
    call(&mut plain);
    plain.planner.hear(note_on(67, 4.0, 1));
    plain.planner.hear(note_off(67, 6.0, 1));
    let mut expected = Recorder::default();
    plan_until(
        &mut plain,
        &settings,
        beats(6.5),
        beats(24.0),
        &mut expected,
    );

    // With it: candidates for an answer to the call are written (from beat 4.5), the player
    // plays on before it sounds (a new epoch), and the answer to the longer phrase follows.
    let mut cut = Rig::new();
    call(&mut cut);
    let mut dropped = Recorder::default();
    assert!(cut.plan(&settings, beats(4.5), beats(6.5), &mut dropped));
    assert!(dropped.lines_started >= 1);
    cut.planner.hear(note_on(67, 4.0, 1));
    cut.planner.hear(note_off(67, 6.0, 1));
    let mut got = Recorder::default();
    plan_until(&mut cut, &settings, beats(6.5), beats(24.0), &mut got);
    assert!(!got.notes.is_empty());
    let strip = |r: &Recorder| -> Vec<(u8, f64, f64)> {
        r.notes
            .iter()
            .map(|n| (n.key, n.onset_beat, n.length_beats))
            .collect()
    };
    assert_eq!(strip(&got), strip(&expected));
    assert_eq!(got.notes[0].epoch, 1);
}

#[test]
fn a_candidate_forked_from_the_shared_line_is_the_one_a_fresh_line_writes() {
    let settings = answer_settings(AnswerLength::Bars(2));
    let span = (beats(8.0), beats(16.0));
    let write = |index: u32, after_base: bool| {
        let mut rig = Rig::new();
        call(&mut rig);
        let call = rig.planner.cx.player.phrase.clone();
        let mut out = Recorder::default();
        let p = &mut rig.planner;
        let key = p.answer.answer_key(&p.cx, &settings, &call);
        let slot = |index: u32| super::Slot {
            start: span.0,
            end: span.1,
            index,
            key,
            call_pace: critic::notes_per_beat(&call),
        };
        if after_base {
            p.answer
                .write_candidate(&mut p.cx, &mut rig.model, &settings, slot(0), &mut out)
                .unwrap();
            assert!(
                p.answer.base.is_some(),
                "candidate 0 leaves the shared line"
            );
        }
        let lines = out.lines_started;
        let (notes, likelihood) = p
            .answer
            .write_candidate(&mut p.cx, &mut rig.model, &settings, slot(index), &mut out)
            .unwrap();
        let prefilled = out.lines_started > lines;
        (notes, likelihood.to_bits(), prefilled)
    };
    for index in [1, 2, 5] {
        let (fresh, fresh_ll, prefilled) = write(index, false);
        let (forked, forked_ll, forked_prefilled) = write(index, true);
        assert!(
            prefilled && !forked_prefilled,
            "only the fresh line prefills"
        );
        assert!(!fresh.is_empty());
        assert_eq!(forked, fresh, "candidate {index}");
        assert_eq!(forked_ll, fresh_ll, "candidate {index}");
    }
}

#[test]
fn an_answer_brakes_only_when_it_runs_ahead_of_the_calls_pace() {
    use super::candidate::pace_left;
    let beat = crate::model::tokenizer::TICKS_PER_BEAT;
    // A call of a note per beat; an answer of 8 beats to its cadence.
    let span = (0, 8 * beat);
    assert_eq!(pace_left(1.0, span, 0, 0), None, "free from the start");
    assert_eq!(pace_left(1.0, span, 1, beat), None, "at the call's pace");
    // Three notes in the first beat: five left for seven beats.
    let brake = pace_left(1.0, span, 3, beat).unwrap();
    assert!((brake - 5.0 / 7.0).abs() < 1e-6, "{brake}");
    // Ten notes in two beats: one long note for the six left.
    let brake = pace_left(1.0, span, 10, 2 * beat).unwrap();
    assert!((brake - 1.0 / 6.0).abs() < 1e-6, "{brake}");
}

/// The settings with `again`, `keep` or `answer_now` flipped from `settings`.
fn flipped(
    settings: &super::WorkerSettings,
    flip: fn(&mut super::WorkerSettings),
) -> super::WorkerSettings {
    let mut s = *settings;
    flip(&mut s);
    s
}

#[test]
fn again_redraws_the_last_answer_whole_from_the_next_bar_line() {
    let mut rig = Rig::new();
    let settings = answer_settings(AnswerLength::MatchTheCall);
    call(&mut rig);
    let mut out = Recorder::default();
    // The answer, beats 8..12, all sent; the playhead in its second beat.
    plan_until(&mut rig, &settings, beats(4.5), beats(24.0), &mut out);
    let first: Vec<_> = out.notes.clone();
    assert!(!first.is_empty() && first.iter().all(|n| n.onset_beat < 12.0));
    let again = flipped(&settings, |s| s.again = true);
    plan_until(&mut rig, &again, beats(9.0), beats(24.0), &mut out);
    // What of it was not yet played is withdrawn from the next bar line (nothing was there),
    // and it is answered again, whole, in the next bar: the same call, as many bars.
    assert!(out.retractions.iter().any(|&(from, _)| from == 12.0));
    let redrawn: Vec<_> = out.notes.iter().filter(|n| n.onset_beat >= 12.0).collect();
    assert!(!redrawn.is_empty(), "{:?}", out.notes);
    assert!(redrawn
        .iter()
        .all(|n| n.onset_beat < 16.0 && n.onset_beat + n.length_beats <= 16.0 + 1e-9));
    assert_eq!(redrawn[0].onset_beat, 12.0);
    assert_eq!(out.answers.len(), 2, "two choices made");
    // A fresh draw, not the first answer moved a bar on.
    let moved: Vec<_> = first.iter().map(|n| (n.key, n.length_beats)).collect();
    let again_notes: Vec<_> = redrawn.iter().map(|n| (n.key, n.length_beats)).collect();
    assert_ne!(moved, again_notes);
    out.assert_monophonic();
    // The taste learned one choice; a second flip redraws again but learns nothing more.
    assert_eq!(rig.taste.read().taste.choices(), 1);
    plan_until(&mut rig, &settings, beats(13.0), beats(24.0), &mut out);
    assert_eq!(out.answers.len(), 3);
    assert_eq!(
        rig.taste.read().taste.choices(),
        2,
        "the redraw is an answer too"
    );
}

#[test]
fn keep_teaches_the_taste_once_per_answer_and_again_before_any_answer_does_nothing() {
    let mut rig = Rig::new();
    let settings = answer_settings(AnswerLength::MatchTheCall);
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(0.0), beats(8.0), &mut out);
    let again = flipped(&settings, |s| s.again = true);
    plan_until(&mut rig, &again, beats(1.0), beats(8.0), &mut out);
    assert!(out.notes.is_empty() && out.retractions.is_empty());
    call(&mut rig);
    plan_until(&mut rig, &again, beats(4.5), beats(24.0), &mut out);
    assert_eq!(out.answers.len(), 1);
    let keep = flipped(&again, |s| s.keep = true);
    plan_until(&mut rig, &keep, beats(9.0), beats(24.0), &mut out);
    plan_until(&mut rig, &again, beats(9.5), beats(24.0), &mut out);
    let taste = rig.taste.read().taste;
    assert_eq!(
        taste.choices(),
        1,
        "kept once; the second flip found it kept"
    );
    // Kept, it stays: nothing was withdrawn or redrawn.
    assert!(out.retractions.is_empty());
    assert_eq!(out.answers.len(), 1);
}

#[test]
fn answer_now_answers_at_the_next_bar_line_without_waiting() {
    let mut rig = Rig::new();
    let mut settings = answer_settings(AnswerLength::MatchTheCall);
    settings.answer_after_beats = 12.0;
    // The call's last key is still down.
    for (i, key) in [60u8, 62, 64].into_iter().enumerate() {
        rig.planner.hear(note_on(key, i as f64, 0));
        rig.planner.hear(note_off(key, i as f64 + 1.0, 0));
    }
    rig.planner.hear(note_on(65, 3.0, 0));
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(3.5), beats(24.0), &mut out);
    assert!(out.notes.is_empty(), "a key is down: no answer yet");
    let now = flipped(&settings, |s| s.answer_now = true);
    plan_until(&mut rig, &now, beats(3.6), beats(24.0), &mut out);
    let first = out.notes.first().expect("answered now");
    assert_eq!(first.onset_beat, 4.0, "{first:?}");
}

#[test]
fn answer_now_replaces_an_answer_chosen_for_later() {
    let mut rig = Rig::new();
    let mut settings = answer_settings(AnswerLength::MatchTheCall);
    settings.answer_after_beats = 8.0;
    call(&mut rig);
    let mut out = Recorder::default();
    // Chosen at once for the bar line at 12 (4 + 8 beats), not yet sent.
    plan_until(&mut rig, &settings, beats(4.5), beats(6.0), &mut out);
    assert_eq!(out.answers.len(), 1);
    assert!(out.notes.is_empty());
    let now = flipped(&settings, |s| s.answer_now = true);
    plan_until(&mut rig, &now, beats(5.0), beats(24.0), &mut out);
    assert_eq!(out.notes.first().map(|n| n.onset_beat), Some(8.0));
    assert!(
        out.notes.iter().all(|n| n.onset_beat < 12.0),
        "{:?}",
        out.notes
    );
    out.assert_monophonic();
}

#[test]
fn again_lets_the_answer_play_on_to_the_bar_line_even_where_not_yet_sent() {
    let settings = answer_settings(AnswerLength::Bars(2));
    let unpressed = {
        let mut rig = Rig::new();
        call(&mut rig);
        let mut out = Recorder::default();
        plan_until(&mut rig, &settings, beats(4.5), beats(32.0), &mut out);
        out.notes
    };
    let mut rig = Rig::new();
    call(&mut rig);
    let mut out = Recorder::default();
    // The answer from 8 for two bars; only its first beat sent when Again comes at 9.
    plan_until(&mut rig, &settings, beats(4.5), beats(9.0), &mut out);
    let again = flipped(&settings, |s| s.again = true);
    plan_until(&mut rig, &again, beats(9.0), beats(32.0), &mut out);
    let before = |ns: &[crate::events::GeneratedNote]| -> Vec<(u8, f64)> {
        ns.iter()
            .filter(|n| n.onset_beat < 12.0)
            .map(|n| (n.key, n.onset_beat))
            .collect()
    };
    assert_eq!(before(&out.notes), before(&unpressed), "it plays on to 12");
    assert!(out.notes.iter().any(|n| n.onset_beat == 12.0));
    assert!(out.notes.iter().all(|n| n.onset_beat < 20.0));
    out.assert_monophonic();
}

#[test]
fn a_vetoed_answer_note_takes_the_next_likely_key_and_never_the_vetoed_one() {
    let mut rig = Rig::new();
    let settings = answer_settings(AnswerLength::Bars(2));
    call(&mut rig);
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(4.5), beats(24.0), &mut out);
    let target = *out
        .notes
        .iter()
        .find(|n| n.onset_beat >= 9.0 && !n.alternates.is_empty())
        .expect("an on-beat answer note with alternates");
    rig.planner.veto(super::super::Veto {
        key: target.key,
        beat: target.onset_beat,
    });
    plan_until(&mut rig, &settings, beats(5.0), beats(24.0), &mut out);
    let by = target.alternates.keys().find(|&k| k != target.key).unwrap();
    assert_eq!(
        out.vetoes,
        [super::super::VetoOutcome::Replaced(
            super::super::Veto {
                key: target.key,
                beat: target.onset_beat
            },
            by
        )]
    );
    let now = out
        .notes
        .iter()
        .find(|n| n.onset_beat == target.onset_beat)
        .expect("a note in its place");
    assert_eq!(now.key, by);
    assert!(
        now.alternates.keys().all(|k| k != target.key),
        "the onset choice cannot bring it back"
    );
    out.assert_monophonic();
    // A veto is a choice the taste learns from: the answer with `by` over the one with the key.
    assert_eq!(rig.taste.read().taste.choices(), 1);
}
