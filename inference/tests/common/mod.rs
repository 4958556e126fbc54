//! Helpers shared by the engine and steering tests: the real ONNX Runtime library, the shipped
//! model, a fixed phrase, and seeded takes under a given steering.
#![allow(dead_code)] // each test file uses its own subset

use std::path::PathBuf;

use descant_inference::decode::generator::{Continuation, Generated, Guide, LineStart};
use descant_inference::decode::sampler::SamplingSettings;
use descant_inference::decode::steering::{self, Steering};
use descant_inference::model::runtime;
use descant_inference::model::tokenizer::{Meter, TickNote};
use descant_inference::model::Model;
use descant_inference::music::key::{Key, PitchClassSet};
use descant_inference::music::originality::NgramIndex;
use descant_inference::{NON_COMMERCIAL_MODEL, NON_COMMERCIAL_SIDECAR};

pub fn ort_library() -> PathBuf {
    runtime::library_path(Some(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/ort"),
    ))
}

pub fn shipped_model() -> Model {
    let lib = ort_library();
    runtime::ensure_runtime(&lib).unwrap_or_else(|e| {
        panic!("{e}\n(run `cargo xtask fetch-ort` first, or set DESCANT_ORT_LIB)")
    });
    Model::from_bytes(NON_COMMERCIAL_MODEL, NON_COMMERCIAL_SIDECAR).expect("shipped model loads")
}

pub fn phrase() -> Vec<TickNote> {
    [60u8, 62, 64, 65, 67, 65, 64, 62]
        .iter()
        .enumerate()
        .map(|(i, &key)| TickNote {
            onset: i as i64 * 6,
            duration: 6,
            key,
        })
        .collect()
}

/// The control vector for `s` (as the worker builds it, with no player density).
pub fn control_for(model: &Model, s: &Steering) -> Vec<f32> {
    let mut control = vec![0.0; model.contract().control.size];
    steering::control_vector(model.contract(), s, None, &mut control);
    control
}

/// Starts a continuation of [`phrase`] at beat 5 under `s`.
pub fn start(model: &mut Model, s: &Steering, seed: u64) -> Continuation {
    let control = control_for(model, s);
    let history = phrase();
    let at = LineStart::over(&history, Meter::FOUR_FOUR, 0, 60, seed);
    Continuation::start(model, at, &control).unwrap()
}

/// Generates `n` notes under `s` with `key` known and no chord held.
pub fn take(
    model: &mut Model,
    s: &Steering,
    key: Option<Key>,
    seed: u64,
    n: usize,
) -> Vec<TickNote> {
    take_with_chord(model, s, key, PitchClassSet(0), seed, n)
}

/// Generates `n` notes under `s` with the originality guard on `index`; returns the notes and
/// how many the guard resampled.
pub fn take_guarded(
    model: &mut Model,
    s: &Steering,
    index: &NgramIndex,
    seed: u64,
    n: usize,
) -> (Vec<TickNote>, u64) {
    let control = control_for(model, s);
    let mut c = start(model, s, seed);
    let guide = Guide {
        steering: *s,
        control: &control,
        key: None,
        chord: PitchClassSet(0),
        collection: PitchClassSet(0),
        originality: Some(index),
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
    };
    let mut out = Vec::new();
    while out.len() < n {
        if let Generated::Note(note) = c.next(model, SamplingSettings::default(), &guide).unwrap() {
            out.push(note);
        }
    }
    (out, c.interventions())
}

/// Generates `n` notes under `s` with `key` known and `chord` held.
pub fn take_with_chord(
    model: &mut Model,
    s: &Steering,
    key: Option<Key>,
    chord: PitchClassSet,
    seed: u64,
    n: usize,
) -> Vec<TickNote> {
    let control = control_for(model, s);
    let mut c = start(model, s, seed);
    let guide = Guide {
        steering: *s,
        control: &control,
        key,
        chord,
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
    };
    let mut out = Vec::new();
    while out.len() < n {
        if let Generated::Note(note) = c.next(model, SamplingSettings::default(), &guide).unwrap() {
            out.push(note);
        }
    }
    out
}
