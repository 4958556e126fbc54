//! Continue mode's actions on the fake model: `Again` redraws the line from the next bar line,
//! and a vetoed note is planned again without its key, or dropped.
use super::super::super::fake::{beats, plan_until, transport, Recorder, Rig};
use super::along_in_key;
use crate::music::key::{Key, Mode};

/// Continue in C major with `seed` from beat 0, planned to beat 16 with the playhead at
/// `playhead`.
fn planned_line(playhead: f64, seed: u64) -> (Rig, super::super::WorkerSettings, Recorder) {
    let mut rig = Rig::new();
    rig.planner.hear(transport((4, 4), true, 0));
    let settings = along_in_key(
        Key {
            tonic: 0,
            mode: Mode::Major,
        },
        seed,
    );
    let mut out = Recorder::default();
    plan_until(&mut rig, &settings, beats(playhead), beats(16.0), &mut out);
    (rig, settings, out)
}

#[test]
fn a_vetoed_note_a_beat_or_more_ahead_is_planned_again_without_its_key() {
    let (mut rig, settings, mut out) = planned_line(0.0, 5);
    let target = *out
        .notes
        .iter()
        .find(|n| n.onset_beat >= 6.0)
        .expect("a note two beats ahead");
    let before: Vec<_> = out
        .notes
        .iter()
        .filter(|n| n.onset_beat < target.onset_beat)
        .copied()
        .collect();
    rig.planner.veto(super::super::super::Veto {
        key: target.key,
        beat: target.onset_beat,
    });
    plan_until(&mut rig, &settings, beats(4.5), beats(16.0), &mut out);
    assert!(matches!(
        out.vetoes.as_slice(),
        [super::super::super::super::VetoOutcome::Replanned(_)]
    ));
    assert!(out
        .retractions
        .iter()
        .any(|&(from, _)| from == target.onset_beat));
    let kept: Vec<_> = out
        .notes
        .iter()
        .filter(|n| n.onset_beat < target.onset_beat)
        .copied()
        .collect();
    assert_eq!(kept, before, "what comes before stays");
    assert!(
        !out.notes
            .iter()
            .any(|n| n.key == target.key && (n.onset_beat - target.onset_beat).abs() < 1e-9),
        "the vetoed key is not there: {:?}",
        out.notes
    );
    assert!(
        out.notes.iter().any(|n| n.onset_beat > target.onset_beat),
        "the line goes on"
    );
    out.assert_monophonic();
}

#[test]
fn a_vetoed_note_under_a_beat_ahead_is_dropped_and_one_already_sounding_stays() {
    let (mut rig, settings, mut out) = planned_line(0.0, 5);
    // The line's second note, with the first already sounding.
    let close = *out.notes.get(1).expect("a second note");
    // The playhead half a beat before it.
    let playhead = close.onset_beat - 0.5;
    let sounding = *out
        .notes
        .iter()
        .rev()
        .find(|n| n.onset_beat <= playhead)
        .unwrap_or_else(|| panic!("a note already started: {:?}", out.notes));
    let after: Vec<_> = out
        .notes
        .iter()
        .filter(|n| n.onset_beat > close.onset_beat)
        .copied()
        .collect();
    for n in [close, sounding] {
        rig.planner.veto(super::super::super::Veto {
            key: n.key,
            beat: n.onset_beat,
        });
    }
    plan_until(&mut rig, &settings, beats(playhead), beats(16.0), &mut out);
    use super::super::super::super::VetoOutcome::{Dropped, TooLate};
    assert!(
        matches!(out.vetoes.as_slice(), [Dropped(_), TooLate(_)]),
        "{:?}",
        out.vetoes
    );
    assert!(!out.notes.iter().any(|n| n.onset_beat == close.onset_beat));
    assert!(out.notes.contains(&sounding));
    let now_after: Vec<_> = out
        .notes
        .iter()
        .filter(|n| n.onset_beat > close.onset_beat)
        .copied()
        .collect();
    assert_eq!(now_after, after, "the rest plays as planned");
}

#[test]
fn again_redraws_the_line_from_the_next_bar_line() {
    let (mut rig, settings, mut out) = planned_line(0.0, 3);
    let before: Vec<_> = out.notes.clone();
    assert!(before.iter().any(|n| n.onset_beat >= 8.0));
    let again = super::super::WorkerSettings {
        again: true,
        ..settings
    };
    plan_until(&mut rig, &again, beats(5.0), beats(16.0), &mut out);
    // Withdrawn from the bar line at 8, kept before it, and planned afresh from there.
    assert!(out.retractions.iter().any(|&(from, _)| from == 8.0));
    let kept: Vec<_> = out.notes.iter().filter(|n| n.onset_beat < 8.0).collect();
    let was: Vec<_> = before.iter().filter(|n| n.onset_beat < 8.0).collect();
    assert_eq!(kept, was);
    let new: Vec<_> = out
        .notes
        .iter()
        .filter(|n| n.onset_beat >= 8.0)
        .map(|n| (n.key, n.onset_beat, n.length_beats))
        .collect();
    let old: Vec<_> = before
        .iter()
        .filter(|n| n.onset_beat >= 8.0)
        .map(|n| (n.key, n.onset_beat, n.length_beats))
        .collect();
    assert!(!new.is_empty());
    assert_ne!(new, old, "a fresh draw");
    out.assert_monophonic();
}
