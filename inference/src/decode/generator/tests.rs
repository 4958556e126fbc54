//! The steps of [`Continuation::next`] one at a time, on the fake step model.

use super::*;
use crate::decode::sampler::SamplingSettings;
use crate::decode::steering::Steering;
use crate::model::tokenizer::{dur_token, pitch_token, pos_token, BAR};
use crate::music::key::{Key, Mode, PitchClassSet};
use crate::music::onset::MAX_ALTERNATES;
use crate::worker::planner::fake::FakeModel;

/// A line on the fake model from tick 0 of a 4/4 bar, with nothing before it.
fn line(model: &mut FakeModel) -> (Continuation<FakeModel>, Vec<f32>) {
    let control = vec![0.0; model.contract().control.size];
    let at = LineStart::over(&[], Meter::FOUR_FOUR, 0, 0, 7);
    let c = Continuation::start(model, at, &control).expect("the fake model never fails");
    (c, control)
}

/// A guide with `steering` and `key`, nothing heard, no phrases.
fn guide<'a>(control: &'a [f32], steering: Steering, key: Option<Key>) -> Guide<'a> {
    Guide {
        steering,
        control,
        key,
        chord: PitchClassSet(0),
        collection: PitchClassSet(0),
        originality: None,
        heard: &[],
        phrase_end: None,
        phrasing: None,
        expect_heard: false,
        harmony_guard: false,
        alternates: false,
        grid: None,
        approach: None,
        pace: None,
        calibration: None,
        avoid: &[],
    }
}

const C_MAJOR: Key = Key {
    tonic: 0,
    mode: Mode::Major,
};

#[test]
fn shape_leaves_onsets_to_the_model_and_locks_pitches_to_the_scale() {
    let mut model = FakeModel::new();
    let (mut c, control) = line(&mut model);
    let locked = Steering {
        scale_lock: 1.0,
        ..Steering::default()
    };
    let g = guide(&control, locked, Some(C_MAJOR));
    let mask = c.mask(&g);
    assert!(
        !c.shape(&g, &mask, &locked, g.key),
        "an onset is the model's"
    );
    assert_eq!(c.advance(&mut model, &g, pos_token(0)).unwrap(), None);
    let mask = c.mask(&g);
    assert!(c.shape(&g, &mask, &locked, g.key));
    let logit = |c: &Continuation<FakeModel>, key: u8| c.scratch.shaped[pitch_token(key) as usize];
    assert_eq!(logit(&c, 66), f32::NEG_INFINITY, "F# is out of C major");
    assert!(logit(&c, 67).is_finite(), "G is in it");
}

#[test]
fn choose_plays_in_the_register_unlocked_when_no_scale_key_fits_it() {
    let mut model = FakeModel::new();
    let (mut c, control) = line(&mut model);
    let narrow = Steering {
        scale_lock: 1.0,
        register_low: 61,
        register_high: 61,
        ..Steering::default()
    };
    let g = guide(&control, narrow, Some(C_MAJOR));
    c.advance(&mut model, &g, pos_token(0)).unwrap();
    let mask = c.mask(&g);
    let token = c.choose(SamplingSettings::default(), &g, &mask);
    assert_eq!(token, pitch_token(61), "C# is the only key in the register");
}

#[test]
fn choose_gives_a_bar_line_when_the_bar_has_no_room_left() {
    let mut model = FakeModel::new();
    let (mut c, control) = line(&mut model);
    let g = guide(&control, Steering::default(), None);
    c.at.next_free = c.at.bar_start + Meter::FOUR_FOUR.bar_ticks();
    let mask = c.mask(&g);
    assert_eq!(c.choose(SamplingSettings::default(), &g, &mask), BAR);
}

#[test]
fn advance_finishes_a_note_with_its_length_and_a_bar_line_moves_the_bar() {
    let mut model = FakeModel::new();
    let (mut c, control) = line(&mut model);
    let g = guide(&control, Steering::default(), None);
    assert_eq!(c.advance(&mut model, &g, pos_token(6)).unwrap(), None);
    assert_eq!(c.advance(&mut model, &g, pitch_token(64)).unwrap(), None);
    let note = TickNote {
        onset: 6,
        duration: 12,
        key: 64,
    };
    assert_eq!(
        c.advance(&mut model, &g, dur_token(12)).unwrap(),
        Some(Generated::Note(note))
    );
    assert_eq!(c.cursor(), 18, "the line is free from the note's end");
    let bar = Meter::FOUR_FOUR.bar_ticks();
    assert_eq!(
        c.advance(&mut model, &g, BAR).unwrap(),
        Some(Generated::BarLine(bar))
    );
}

#[test]
fn note_token_counts_the_model_likelihood_of_each_token() {
    let mut model = FakeModel::new();
    let (mut c, control) = line(&mut model);
    let g = guide(&control, Steering::default(), None);
    assert_eq!(c.mean_log_prob(), f32::NEG_INFINITY);
    let mask = c.mask(&g);
    c.note_token(&g, &mask, pos_token(0));
    let once = c.mean_log_prob();
    assert!(once.is_finite() && once < 0.0, "{once}");
}

#[test]
fn the_harmony_guard_avoids_parallel_fifths_above_and_below_the_heard_voice() {
    let heard = [
        TickNote {
            onset: 0,
            duration: 12,
            key: 72,
        },
        TickNote {
            onset: 12,
            duration: 12,
            key: 74,
        },
    ];
    // The line's own first note, `own`, over C5; then where a note at tick 12, over D5, would
    // move with it in parallel.
    let avoided = |own: u8| {
        let mut model = FakeModel::new();
        let (mut c, control) = line(&mut model);
        let mut g = guide(&control, Steering::default(), None);
        g.harmony_guard = true;
        g.heard = &heard;
        c.advance(&mut model, &g, pos_token(0)).unwrap();
        c.advance(&mut model, &g, pitch_token(own)).unwrap();
        c.advance(&mut model, &g, dur_token(12)).unwrap();
        c.parallels_at(&g, 12)
    };
    assert_eq!(
        avoided(79),
        PitchClassSet(1 << 9),
        "G5, a fifth above: A next"
    );
    assert_eq!(
        avoided(65),
        PitchClassSet(1 << 7),
        "F4, a fifth below: G next"
    );
    assert_eq!(
        avoided(60),
        PitchClassSet(1 << 2),
        "C4, octaves below: D next"
    );
    assert_eq!(avoided(67), PitchClassSet(0), "G4, a fourth below: free");
    assert_eq!(avoided(77), PitchClassSet(0), "F5, a fourth above: free");
}

#[test]
fn an_on_beat_note_carries_the_nearest_keys_of_the_key_when_few_are_likely() {
    let mut model = FakeModel::new();
    let (mut c, control) = line(&mut model);
    let g = guide(&control, Steering::default(), Some(C_MAJOR));
    c.advance(&mut model, &g, pos_token(0)).unwrap();
    let mask = c.mask(&g);
    c.shape(&g, &mask, &Steering::default(), g.key);
    // G3 at the foot of the fake model's favoured band (55..=79): below it the model hardly
    // plays, yet F3, E3, D3 and C3 are as near as A3, B3, C4 and D4.
    let alternates = c.alternates_for(&g, 55, true, &|_| true);
    let keys: Vec<u8> = alternates.keys().collect();
    assert_eq!(keys.len(), MAX_ALTERNATES, "{keys:?}");
    for k in &keys {
        assert!(
            C_MAJOR.scale().contains_key(*k) && k.abs_diff(55) <= 7 && *k != 55,
            "{keys:?}"
        );
    }
    assert!(
        keys.contains(&53) && keys.contains(&57),
        "a step each way: {keys:?}"
    );
}

#[test]
fn a_voice_below_stays_under_the_heard_voice_also_between_its_notes() {
    use super::hearing::voice_bounds;
    use crate::decode::steering::Voice;
    let control = vec![0.0; 4];
    let steering = Steering {
        voice: Voice::Below,
        ..Steering::default()
    };
    let heard = [
        TickNote {
            onset: 0,
            duration: 12,
            key: 72,
        },
        TickNote {
            onset: 24,
            duration: 12,
            key: 67,
        },
    ];
    let g = Guide {
        heard: &heard,
        ..guide(&control, steering, None)
    };
    // Under the C sounding at tick 6; between the notes (tick 14), under the C that began last;
    // after the G, under the G.
    assert_eq!(voice_bounds(&g, 6, (48, 86)), (48, 71));
    assert_eq!(voice_bounds(&g, 14, (48, 86)), (48, 71));
    assert_eq!(voice_bounds(&g, 40, (48, 86)), (48, 66));
    // Nothing heard before the onset: the whole register.
    let none = guide(&control, steering, None);
    assert_eq!(voice_bounds(&none, 6, (48, 86)), (48, 86));
}
