//! Steering on the shipped model through the real ONNX Runtime, seeded: each control moves the
//! statistic it is meant to move, in the right direction, averaged over a few takes so one unlucky
//! seed does not decide. (`cargo xtask fetch-ort` provides the library.)

use descant_inference::decode::generator::MAX_ORIGINALITY_RESAMPLES;
use descant_inference::decode::steering::{KeySetting, Steering};
use descant_inference::model::tokenizer::{TickNote, TICKS_PER_BEAT};
use descant_inference::model::Model;
use descant_inference::music::key::{self, Key, Mode, PitchClassSet};
use descant_inference::music::originality::NgramIndex;

mod common;
use common::{phrase, shipped_model, take, take_guarded, take_with_chord};

/// Seeds per measurement.
const SEEDS: u64 = 6;
/// Notes per take.
const NOTES: usize = 48;

/// Notes per beat from the first onset to the last note's end.
fn density(notes: &[TickNote]) -> f64 {
    let (first, last) = (notes[0], notes[notes.len() - 1]);
    let span = (last.onset + last.duration - first.onset) as f64 / TICKS_PER_BEAT as f64;
    notes.len() as f64 / span
}

fn mean_key(notes: &[TickNote]) -> f64 {
    notes.iter().map(|n| f64::from(n.key)).sum::<f64>() / notes.len() as f64
}

/// `stat` averaged over [`SEEDS`] takes under `s`.
fn measure(
    model: &mut Model,
    s: &Steering,
    key: Option<Key>,
    stat: impl Fn(&[TickNote]) -> f64,
) -> f64 {
    (0..SEEDS)
        .map(|seed| stat(&take(model, s, key, 100 + seed, NOTES)))
        .sum::<f64>()
        / SEEDS as f64
}

#[test]
fn density_moves_the_notes_per_beat() {
    let mut model = shipped_model();
    let at = |model: &mut Model, d: f32| {
        let s = Steering {
            density: Some(d),
            ..Steering::default()
        };
        measure(model, &s, None, density)
    };
    let (sparse, mid, dense) = (
        at(&mut model, 0.5),
        at(&mut model, 1.0),
        at(&mut model, 3.0),
    );
    println!("density 0.5 / 1 / 3 -> {sparse:.2} / {mid:.2} / {dense:.2} notes per beat");
    assert!(sparse < mid && mid < dense, "{sparse} {mid} {dense}");
}

#[test]
fn register_moves_the_line_and_bounds_every_note() {
    let mut model = shipped_model();
    let mut at = |lo: u8, hi: u8| {
        let s = Steering {
            register_low: lo,
            register_high: hi,
            ..Steering::default()
        };
        let mut all = Vec::new();
        for seed in 0..SEEDS {
            all.extend(take(&mut model, &s, None, 200 + seed, NOTES));
        }
        assert!(
            all.iter().all(|n| (lo..=hi).contains(&n.key)),
            "a note left {lo}..={hi}"
        );
        mean_key(&all)
    };
    let (low, mid, high) = (at(40, 58), at(55, 76), at(74, 94));
    println!("register low / mid / high -> mean key {low:.1} / {mid:.1} / {high:.1}");
    assert!(low < mid && mid < high, "{low} {mid} {high}");
}

#[test]
fn a_narrow_register_folds_instead_of_going_silent() {
    let mut model = shipped_model();
    // Five semitones far above the prompt: every pitch class the model wants that fits, by octave.
    let s = Steering {
        register_low: 84,
        register_high: 88,
        ..Steering::default()
    };
    let notes = take(&mut model, &s, None, 7, NOTES);
    assert_eq!(notes.len(), NOTES);
    assert!(notes.iter().all(|n| (84..=88).contains(&n.key)));
}

#[test]
fn full_scale_lock_keeps_every_note_in_the_scale() {
    let mut model = shipped_model();
    // F# major against a C major prompt: the model on its own would play many C-major notes.
    let key = Key {
        tonic: 6,
        mode: Mode::Major,
    };
    let scale = key.scale();
    let free = Steering::default();
    let locked = Steering {
        key: KeySetting::Fixed(key),
        scale_lock: 1.0,
        ..Steering::default()
    };
    let in_scale = |notes: &[TickNote]| {
        notes.iter().filter(|n| scale.contains_key(n.key)).count() as f64 / notes.len() as f64
    };
    let before = measure(&mut model, &free, Some(key), in_scale);
    let after = measure(&mut model, &locked, Some(key), in_scale);
    println!("in F# major: unlocked {before:.3}, locked {after:.3}");
    assert_eq!(after, 1.0);
    assert!(before < 1.0);
    // Half a lock lands in between.
    let half = Steering {
        scale_lock: 0.5,
        ..locked
    };
    let between = measure(&mut model, &half, Some(key), in_scale);
    assert!(before < between && between < 1.0, "{before} {between}");
}

#[test]
fn mood_leans_major_or_minor() {
    let mut model = shipped_model();
    let c_major = Key::from_index(0);
    // Among thirds, sixths and sevenths above C, the share of the minor ones (E flat, A flat,
    // B flat).
    let minor_share = |model: &mut Model, mood: f32| {
        let s = Steering {
            mood,
            ..Steering::default()
        };
        measure(model, &s, Some(c_major), |notes| {
            let degree = |n: &&TickNote| n.key % 12;
            let minor = notes
                .iter()
                .filter(|n| matches!(degree(n), 3 | 8 | 10))
                .count();
            let major = notes
                .iter()
                .filter(|n| matches!(degree(n), 4 | 9 | 11))
                .count();
            minor as f64 / (minor + major).max(1) as f64
        })
    };
    let (minor, neutral, major) = (
        minor_share(&mut model, -1.0),
        minor_share(&mut model, 0.0),
        minor_share(&mut model, 1.0),
    );
    println!("minor-degree share: mood -1 / 0 / +1 -> {minor:.2} / {neutral:.2} / {major:.2}");
    assert!(
        minor > neutral && neutral >= major,
        "{minor} {neutral} {major}"
    );
    // With nothing known of the key, the detected key of a minor-leaning take is not forced.
    assert!(key::detect(&take(&mut model, &Steering::default(), None, 1, NOTES)).is_some());
}

#[test]
fn held_chord_tones_come_more_often_on_the_beat() {
    let mut model = shipped_model();
    // An A minor triad held under a C major prompt.
    let chord = PitchClassSet(1 << 9 | 1 << 0 | 1 << 4);
    let on_beat_chord_share = |model: &mut Model, s: &Steering| {
        let mut hits = 0usize;
        let mut beats = 0usize;
        for seed in 0..SEEDS {
            for n in take_with_chord(model, s, None, chord, 300 + seed, NOTES) {
                if n.onset % TICKS_PER_BEAT == 0 {
                    beats += 1;
                    hits += usize::from(chord.contains_key(n.key));
                }
            }
        }
        hits as f64 / beats.max(1) as f64
    };
    let with = on_beat_chord_share(&mut model, &Steering::default());
    let without = on_beat_chord_share(
        &mut model,
        &Steering {
            chord_bias: false,
            ..Steering::default()
        },
    );
    println!("chord tones on the beat: bias on {with:.2}, off {without:.2}");
    assert!(with > without, "{with} {without}");
}

#[test]
fn styles_blend_from_one_to_the_other() {
    let mut model = shipped_model();
    // Chorale soprano lines move in quarter notes; Irish dance tunes in running eighths.
    let (chorale, irish) = (3, 2);
    let at = |model: &mut Model, blend: f32| {
        let s = Steering {
            style_a: Some(chorale),
            style_b: Some(irish),
            blend,
            ..Steering::default()
        };
        measure(model, &s, None, density)
    };
    let (a, half, b) = (
        at(&mut model, 0.0),
        at(&mut model, 0.5),
        at(&mut model, 1.0),
    );
    println!("chorale -> irish blend 0 / 0.5 / 1 -> {a:.2} / {half:.2} / {b:.2} notes per beat");
    assert!(a < b, "{a} {b}");
}

#[test]
fn the_repetition_guard_breaks_runs_of_one_key() {
    let mut model = shipped_model();
    let runs = |notes: &[TickNote]| {
        notes
            .windows(4)
            .filter(|w| w.iter().all(|n| n.key == w[0].key))
            .count() as f64
    };
    // A low temperature makes the model repeat itself; the guard should break that.
    let guarded = Steering {
        register_low: 60,
        register_high: 67,
        ..Steering::default()
    };
    let unguarded = Steering {
        repetition_guard: false,
        ..guarded
    };
    let with = measure(&mut model, &guarded, None, runs);
    let without = measure(&mut model, &unguarded, None, runs);
    println!("runs of 4 equal keys per take: guard on {with:.2}, off {without:.2}");
    assert!(with < without, "{with} {without}");
}

/// Every `n`-interval window of the prompt followed by `notes`.
fn windows(notes: &[TickNote], n: usize) -> Vec<Vec<i8>> {
    let line: Vec<u8> = phrase().iter().chain(notes).map(|n| n.key).collect();
    line.windows(n + 1)
        .map(|w| {
            w.windows(2)
                .map(|p| (i16::from(p[1]) - i16::from(p[0])) as i8)
                .collect()
        })
        .collect()
}

#[test]
fn the_originality_guard_resamples_a_planted_training_phrase() {
    let mut model = shipped_model();
    let s = Steering::default();
    // Plant what the model plays unguarded with this seed as "the training set", then ask again.
    let free = take(&mut model, &s, None, 9, NOTES);
    let planted = windows(&free, 7);
    let index = NgramIndex::build(7, &planted);
    let (guarded, interventions) = take_guarded(&mut model, &s, &index, 9, NOTES);
    println!(
        "planted {} n-grams; the guard resampled {interventions} notes",
        planted.len()
    );
    assert!(interventions > 0, "the guard never fired");
    assert_ne!(guarded, free);
    // The first window of the planted take lies in the prompt's own notes and may recur; past it,
    // no window of the guarded line is in the index unless the guard gave up on that note.
    let copied = windows(&guarded, 7)
        .iter()
        .skip(1)
        .filter(|w| index.contains(w))
        .count();
    // Each copy left means the guard gave up on that note after its full resample budget.
    assert!(
        (copied * MAX_ORIGINALITY_RESAMPLES) as u64 <= interventions,
        "{copied} copies left after {interventions} resamples"
    );
}
