//! Headless engine tests on the shipped model through the real ONNX Runtime library
//! (`cargo xtask fetch-ort` puts it in `target/ort/`; `DESCANT_ORT_LIB` overrides).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use descant_inference::bridge::BlockSnapshot;
use descant_inference::decode::generator::{Continuation, Generated, Guide, LineStart};
use descant_inference::decode::sampler::SamplingSettings;
use descant_inference::decode::steering::Steering;
use descant_inference::events::{ContextEvent, Plan};
use descant_inference::model::tokenizer::{self, Meter};
use descant_inference::model::Model;
use descant_inference::music::key::{Key, PitchClassSet};
use descant_inference::worker::{
    InferenceWorker, ModelChoice, ModelSource, ModelStatus, Pick, Veto, VetoOutcome, WorkerConfig,
    WorkerSettings, WorkerShared,
};
use descant_inference::{ModelError, NON_COMMERCIAL_MODEL, NON_COMMERCIAL_SIDECAR};

mod common;
use common::{control_for, ort_library, phrase, shipped_model, take};

#[test]
fn a_step_returns_logits_and_grows_the_kv_cache() {
    let mut model = shipped_model();
    let mut state = model.new_state();
    let v = model.contract().vocab_size;
    let control = vec![0.0; model.contract().control.size];
    for (i, t) in [
        tokenizer::BOS,
        tokenizer::METERS.len() as u32,
        tokenizer::BAR,
    ]
    .into_iter()
    .enumerate()
    {
        let logits = model.step(&mut state, t, &control).unwrap();
        assert_eq!(logits.len(), v);
        assert!(logits.iter().all(|x| x.is_finite()));
        assert_eq!(state.position(), i + 1);
    }
}

#[test]
fn the_kv_cache_carries_history() {
    let mut model = shipped_model();
    let control = vec![0.0; model.contract().control.size];
    let run = |model: &mut Model, first: u32| {
        let mut s = model.new_state();
        model.step(&mut s, first, &control).unwrap();
        model
            .step(&mut s, tokenizer::BAR, &control)
            .unwrap()
            .to_vec()
    };
    let a = run(&mut model, tokenizer::BOS);
    let b = run(&mut model, tokenizer::pitch_token(60));
    let a2 = run(&mut model, tokenizer::BOS);
    assert_eq!(a, a2, "same history, same logits");
    assert_ne!(a, b, "different history, different logits");
}

#[test]
fn the_context_limit_is_an_error_not_a_crash() {
    let mut model = shipped_model();
    let max = model.contract().max_context;
    let control = vec![0.0; model.contract().control.size];
    let mut s = model.new_state();
    for _ in 0..max {
        model.step(&mut s, tokenizer::BAR, &control).unwrap();
    }
    assert!(matches!(
        model.step(&mut s, tokenizer::BAR, &control),
        Err(ModelError::Contract(_))
    ));
}

#[test]
fn a_continuation_plays_a_monophonic_line_on_the_grid_after_the_start() {
    let mut model = shipped_model();
    let start = 60; // beat 5
    let s = Steering::default();
    let control = control_for(&model, &s);
    let guide = Guide {
        steering: s,
        control: &control,
        key: None,
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
    };
    let history = phrase();
    let at = LineStart::over(&history, Meter::FOUR_FOUR, 0, start, 11);
    let mut c = Continuation::start(&mut model, at, &control).unwrap();
    let mut notes = Vec::new();
    let mut bars = 0;
    // Long enough to slide the context window several times (max_context 256).
    while notes.len() < 300 {
        match c
            .next(&mut model, SamplingSettings::default(), &guide)
            .unwrap()
        {
            Generated::Note(n) => notes.push(n),
            Generated::BarLine(tick) => {
                assert_eq!(tick % 48, 0, "bar lines stay on the bar grid");
                bars += 1;
            }
        }
    }
    assert!(bars > 0);
    assert!(notes[0].onset >= start);
    for w in notes.windows(2) {
        assert!(w[1].onset >= w[0].onset + w[0].duration, "overlap: {w:?}");
    }
    for n in &notes {
        let (lo, hi) = s.register();
        assert!((lo..=hi).contains(&n.key));
        assert!(n.duration >= 1);
    }
}

#[test]
fn the_same_seed_gives_the_same_continuation() {
    let mut model = shipped_model();
    let s = Steering {
        style_a: Some(2),
        density: Some(2.0),
        scale_lock: 0.5,
        ..Steering::default()
    };
    let c_major = Some(Key::from_index(0));
    let mut take = |seed| take(&mut model, &s, c_major, seed, 24);
    let (a, b, other) = (take(5), take(5), take(6));
    assert_eq!(a, b);
    assert_ne!(a, other);
}

#[test]
fn a_corrupt_model_is_refused_with_a_reason() {
    let _ = shipped_model();
    let mut bytes = NON_COMMERCIAL_MODEL.to_vec();
    bytes.truncate(bytes.len() / 2);
    let err = Model::from_bytes(&bytes, NON_COMMERCIAL_SIDECAR)
        .err()
        .unwrap();
    assert!(err.to_string().contains("sha256"), "{err}");
    // A sidecar that matches the bytes gets them past the hash. Garbage is refused by the
    // vetting, before ONNX Runtime; a well-formed model of allowed operators that is no working
    // graph (an Add without inputs) reaches ONNX Runtime, which refuses it.
    let vouched = |bytes: &[u8]| {
        let hex: String = {
            use sha2::{Digest, Sha256};
            Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        NON_COMMERCIAL_SIDECAR.replace(
            &NON_COMMERCIAL_SIDECAR[NON_COMMERCIAL_SIDECAR.find("\"sha256\": \"").unwrap() + 11..]
                [..64],
            &hex,
        )
    };
    let garbage = vec![7u8; 4096];
    assert!(matches!(
        Model::from_bytes(&garbage, &vouched(&garbage)),
        Err(ModelError::Untrusted(_))
    ));
    // ir_version 8; opset_import { version 17 }; graph { node { op_type "Add" } }.
    let hollow = [
        0x08, 0x08, 0x42, 0x02, 0x10, 0x11, 0x3a, 0x07, 0x0a, 0x05, 0x22, 0x03, b'A', b'd', b'd',
    ];
    assert!(descant_inference::model::vetting::vet(&hollow).is_ok());
    assert!(matches!(
        Model::from_bytes(&hollow, &vouched(&hollow)),
        Err(ModelError::Ort(_))
    ));
}

/// Publishes the audio thread's block as the plugin does: time running at 120 BPM in 4/4 with
/// the playhead at `beat`, and the host's loop range `host_loop` (start, length in beats).
fn at_beat(shared: &WorkerShared, beat: f64, host_loop: Option<(f64, f64)>) {
    shared.block.publish(BlockSnapshot {
        playhead_beat: beat,
        playing: true,
        tempo: 120.0,
        loop_range: host_loop,
        ..BlockSnapshot::default()
    });
}

/// The transport starting at beat 0 in 4/4.
fn time_starts(epoch: u32) -> ContextEvent {
    ContextEvent::Transport {
        playing: true,
        jumped: true,
        beat: 0.0,
        bar_start_beat: 0.0,
        numerator: 4,
        denominator: 4,
        epoch,
    }
}

/// A worker on the compiled-in model, without its originality index.
fn shipped_worker_config() -> WorkerConfig {
    WorkerConfig {
        ort_library: ort_library(),
        model: ModelSource::Embedded {
            id: descant_inference::NON_COMMERCIAL.id,
            onnx: NON_COMMERCIAL_MODEL,
            sidecar: NON_COMMERCIAL_SIDECAR,
            ngrams: None,
        },
        kept_take: Default::default(),
        taste: Default::default(),
        chosen: Default::default(),
        style_names: Default::default(),
    }
}

#[test]
fn the_worker_answers_a_phrase_after_the_pause_and_stops_on_request() {
    let _ = shipped_model();
    let (mut ev_tx, ev_rx) = rtrb::RingBuffer::<ContextEvent>::new(256);
    let (notes_tx, mut notes_rx) = rtrb::RingBuffer::<Plan>::new(256);
    let shared = Arc::new(WorkerShared::default());
    let config = shipped_worker_config();
    let settings = WorkerSettings {
        enabled: true,
        sampling: SamplingSettings::default(),
        answer_after_beats: 1.0,
        steering: Steering::default(),
        seed: 1,
        ..WorkerSettings::default()
    };
    let mut worker =
        InferenceWorker::spawn(config, settings, ev_rx, notes_tx, shared.clone()).unwrap();
    at_beat(&shared, 0.0, None);
    ev_tx.push(time_starts(1)).unwrap();
    for (i, key) in [60u8, 64, 67].into_iter().enumerate() {
        let beat = i as f64 * 0.5;
        ev_tx
            .push(ContextEvent::PlayerNoteOn {
                key,
                velocity: 0.8,
                beat,
                epoch: 1,
            })
            .unwrap();
        ev_tx
            .push(ContextEvent::PlayerNoteOff {
                key,
                beat: beat + 0.5,
                epoch: 1,
            })
            .unwrap();
    }
    // The last note ends at beat 1.5; with a 1-beat pause the answer starts at beat 2.5. The
    // playhead moves on as in a host (fast), and each note is checked against where it was then.
    let mut playhead = 1.5;
    at_beat(&shared, playhead, None);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while got.len() < 4 && Instant::now() < deadline {
        while let Ok(plan) = notes_rx.pop() {
            if let Plan::Note(n) = plan {
                got.push((n, playhead));
            }
        }
        std::thread::sleep(Duration::from_millis(5));
        playhead += 0.05;
        at_beat(&shared, playhead, None);
    }
    match &*shared.status.lock() {
        ModelStatus::Ready { name, trained, .. } => {
            let shipped =
                descant_inference::model::contract::ModelContract::parse(NON_COMMERCIAL_SIDECAR)
                    .unwrap();
            assert_eq!((name, *trained), (&shipped.name, shipped.trained));
        }
        other => panic!("worker not ready: {other:?}"),
    }
    assert!(!got.is_empty(), "no answer within the deadline");
    assert!(got.iter().all(|(n, _)| n.epoch == 1));
    assert!(got[0].0.onset_beat >= 2.5, "answer too early: {:?}", got[0]);
    // Planned up to the look-ahead: a note is only started while the line's cursor is inside it,
    // so nothing lies further than one bar (4 beats) beyond the playhead + look-ahead.
    for (n, at) in &got {
        assert!(
            n.onset_beat < at + 2.0 + 4.0,
            "{n:?} planned too far ahead of {at}"
        );
    }
    worker.stop();
}

#[test]
fn a_vetoed_note_is_withdrawn_and_its_key_never_comes_back_to_that_onset() {
    use descant_inference::decode::steering::KeySetting;
    use descant_inference::files::take::PlayMode;
    use descant_inference::music::key::Mode;
    let _ = shipped_model();
    let (mut ev_tx, ev_rx) = rtrb::RingBuffer::<ContextEvent>::new(256);
    let (notes_tx, mut notes_rx) = rtrb::RingBuffer::<Plan>::new(256);
    let shared = Arc::new(WorkerShared::default());
    let settings = WorkerSettings {
        mode: PlayMode::Continue,
        steering: Steering {
            key: KeySetting::Fixed(Key {
                tonic: 0,
                mode: Mode::Major,
            }),
            ..Steering::default()
        },
        ..WorkerSettings::default()
    };
    let mut worker = InferenceWorker::spawn(
        shipped_worker_config(),
        settings,
        ev_rx,
        notes_tx,
        shared.clone(),
    )
    .unwrap();
    // The line starts at the bar line at 4; the playhead waits at 3.
    at_beat(&shared, 3.0, None);
    ev_tx.push(time_starts(1)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut plans = Vec::new();
    let first = loop {
        assert!(Instant::now() < deadline, "no note planned: {plans:?}");
        while let Ok(plan) = notes_rx.pop() {
            plans.push(plan);
        }
        if let Some(Plan::Note(n)) = plans.iter().find(|p| matches!(p, Plan::Note(_))) {
            break *n;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let veto = Veto {
        key: first.key,
        beat: first.onset_beat,
    };
    shared.request_veto(veto);
    let outcome = loop {
        assert!(Instant::now() < deadline, "the veto was not carried out");
        if let Some(o) = shared.vetoed.lock().back().copied() {
            break o;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Then the line goes on to beat 8.
    let mut playhead = 3.0;
    while playhead < 8.0 {
        std::thread::sleep(Duration::from_millis(5));
        playhead += 0.02;
        at_beat(&shared, playhead, None);
    }
    std::thread::sleep(Duration::from_millis(200));
    while let Ok(plan) = notes_rx.pop() {
        plans.push(plan);
    }
    worker.stop();
    // A beat ahead or more, the line is planned again; under a beat, the note is dropped.
    let expected = if first.onset_beat - 3.0 >= 1.0 {
        VetoOutcome::Replanned(veto)
    } else {
        VetoOutcome::Dropped(veto)
    };
    assert_eq!(outcome, expected);
    let at = plans
        .iter()
        .position(
            |p| matches!(p, Plan::Retract { from_beat, .. } if *from_beat == first.onset_beat),
        )
        .expect("the note was withdrawn");
    assert!(
        !plans[at..].iter().any(|p| matches!(
            p,
            Plan::Note(n) if n.key == first.key && (n.onset_beat - first.onset_beat).abs() < 1e-6
        )),
        "the vetoed key came back: {plans:?}"
    );
    assert!(
        plans[at..].iter().any(|p| matches!(p, Plan::Note(_))),
        "the line went on: {plans:?}"
    );
}

#[test]
fn a_graph_that_does_not_match_its_sidecar_is_refused() {
    let _ = shipped_model();
    // The hash still matches the bytes, but the sidecar promises a control size the graph lacks.
    let sidecar = NON_COMMERCIAL_SIDECAR.replace("\"size\": 9", "\"size\": 10");
    assert_ne!(sidecar, NON_COMMERCIAL_SIDECAR);
    let err = Model::from_bytes(NON_COMMERCIAL_MODEL, &sidecar)
        .err()
        .unwrap();
    assert!(matches!(err, ModelError::Contract(_)), "{err}");
    assert!(err.to_string().contains("control"), "{err}");
}

#[test]
fn a_cloned_state_continues_exactly_like_the_original() {
    let mut model = shipped_model();
    let control = vec![0.0; model.contract().control.size];
    let mut a = model.new_state();
    for t in [tokenizer::BOS, tokenizer::METER_BASE, tokenizer::BAR] {
        model.step(&mut a, t, &control).unwrap();
    }
    let mut b = a.try_clone().unwrap();
    assert_eq!(b.position(), 3);
    let next = tokenizer::pitch_token(64);
    let la = model.step(&mut a, next, &control).unwrap().to_vec();
    let lb = model.step(&mut b, next, &control).unwrap().to_vec();
    assert_eq!(la, lb);
}

#[test]
fn a_batch_steps_each_row_as_that_line_stepped_alone() {
    let mut model = shipped_model();
    assert!(model.batches(), "the shipped graph's batch axis is free");
    let control = vec![0.0; model.contract().control.size];
    let mut base = model.new_state();
    for t in [tokenizer::BOS, tokenizer::METER_BASE, tokenizer::BAR] {
        model.step(&mut base, t, &control).unwrap();
    }
    let rows = 3;
    let mut batch = model.batch_of(&base, rows).unwrap();
    let mut alone: Vec<_> = (0..rows).map(|_| base.try_clone().unwrap()).collect();
    assert_eq!(
        batch.logits(1),
        base.logits(),
        "each row starts from the line it forks"
    );
    assert!(
        model.batch_of(&base, 0).is_err(),
        "a batch of no rows is refused"
    );
    let mut worst = 0.0f32;
    for step in 0..12u32 {
        // Every row its own line: a different key per row and step.
        let tokens: Vec<u32> = (0..rows as u32)
            .map(|r| tokenizer::pitch_token(55 + ((r * 5 + step * 3) % 20) as u8))
            .collect();
        model.step_batch(&mut batch, &tokens, &control).unwrap();
        for (r, state) in alone.iter_mut().enumerate() {
            let one = model.step(state, tokens[r], &control).unwrap();
            worst = batch
                .logits(r)
                .iter()
                .zip(one)
                .map(|(a, b)| (a - b).abs())
                .fold(worst, f32::max);
        }
    }
    assert_eq!(batch.position(), base.position() + 12);
    assert!(
        worst < 1e-3,
        "a row's logits differ by {worst} from its line alone"
    );
    let rows_differ = batch.logits(0) != batch.logits(1);
    assert!(
        rows_differ,
        "rows fed different lines have different logits"
    );
    assert!(
        matches!(
            model.step_batch(&mut batch, &[tokenizer::BAR], &control),
            Err(ModelError::Contract(_))
        ),
        "one token for three rows is refused"
    );
}

#[test]
fn a_graph_with_batch_one_only_still_steps_but_makes_no_batch() {
    // The shipped int8 copy was exported before the batch axis was freed, as older models were.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/descant.int8.onnx");
    let _ = shipped_model(); // loads ONNX Runtime
    let mut int8 = Model::from_file(&path).unwrap();
    assert!(!int8.batches());
    let control = vec![0.0; int8.contract().control.size];
    let mut s = int8.new_state();
    int8.step(&mut s, tokenizer::BOS, &control).unwrap();
    let err = int8.batch_of(&s, 2).unwrap_err();
    assert!(err.to_string().contains("one line at a time"), "{err}");
}

#[test]
fn the_shipped_int8_copy_loads_from_disk_and_predicts_like_fp32() {
    // `training/evaluate.py` ships `assets/descant.int8.onnx` only where its held-out quality holds.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/descant.int8.onnx");
    let mut fp32 = shipped_model();
    let mut int8 = Model::from_file(&path).expect("the int8 copy loads with its sidecar");
    assert_eq!(
        int8.contract().name,
        format!("{}-int8", fp32.contract().name)
    );
    let control = vec![0.0; fp32.contract().control.size];
    let (mut a, mut b) = (fp32.new_state(), int8.new_state());
    let softmax = |logits: &[f32]| {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let e: Vec<f32> = logits.iter().map(|x| (x - max).exp()).collect();
        let sum: f32 = e.iter().sum();
        e.into_iter().map(|x| x / sum).collect::<Vec<f32>>()
    };
    let (mut token, mut agree, mut worst) = (tokenizer::BOS, 0, 0.0f32);
    let steps = 48;
    for i in 0..steps {
        let p = softmax(fp32.step(&mut a, token, &control).unwrap());
        let q = softmax(int8.step(&mut b, token, &control).unwrap());
        let argmax = |v: &[f32]| (0..v.len()).max_by(|&x, &y| v[x].total_cmp(&v[y])).unwrap();
        agree += usize::from(argmax(&p) == argmax(&q));
        worst = p
            .iter()
            .zip(&q)
            .map(|(x, y)| (x - y).abs())
            .fold(worst, f32::max);
        // Follow the fp32 model's greedy line after a fixed start, so both see the same history.
        token = match i {
            0 => tokenizer::METER_BASE,
            1 => tokenizer::BAR,
            _ => argmax(&p) as u32,
        };
    }
    println!("int8 vs fp32 over {steps} steps: argmax agrees {agree}, worst |Δp| {worst:.3}");
    assert!(
        agree * 10 >= steps * 9,
        "argmax agrees on {agree} of {steps}"
    );
    assert!(worst < 0.1, "worst probability difference {worst}");
}

#[test]
fn a_full_note_queue_drops_and_counts_and_the_worker_keeps_listening() {
    let _ = shipped_model();
    // Room for two notes, and nobody takes them: the audio thread has stalled.
    let (mut ev_tx, ev_rx) = rtrb::RingBuffer::<ContextEvent>::new(64);
    let (notes_tx, notes_rx) = rtrb::RingBuffer::<Plan>::new(2);
    let shared = Arc::new(WorkerShared::default());
    let config = shipped_worker_config();
    let settings = WorkerSettings {
        mode: descant_inference::files::take::PlayMode::Continue,
        ..WorkerSettings::default()
    };
    let mut worker =
        InferenceWorker::spawn(config, settings, ev_rx, notes_tx, shared.clone()).unwrap();
    shared.render.activate(true);
    at_beat(&shared, 0.0, None);
    ev_tx.push(time_starts(1)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut playhead = 0.0;
    while shared.telemetry.queue_full_drops.load(Ordering::Relaxed) < 3 && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
        playhead += 0.1;
        at_beat(&shared, playhead, None);
    }
    assert!(
        shared.telemetry.queue_full_drops.load(Ordering::Relaxed) >= 3,
        "no note was dropped: {:?}",
        *shared.status.lock()
    );
    assert_eq!(shared.telemetry.generated_notes.load(Ordering::Relaxed), 2);
    // Still listening: 1,000 events through a 64-event queue, each taken within a second.
    for i in 0..1000 {
        let event = ContextEvent::PlayerNoteOn {
            key: 60 + (i % 12) as u8,
            velocity: 0.5,
            beat: playhead,
            epoch: 1,
        };
        let mut pending = Some(event);
        let waited = Instant::now();
        while let Some(e) = pending.take() {
            if let Err(rtrb::PushError::Full(e)) = ev_tx.push(e) {
                assert!(
                    waited.elapsed() < Duration::from_secs(1),
                    "the worker stopped reading"
                );
                std::thread::sleep(Duration::from_micros(200));
                pending = Some(e);
            }
        }
    }
    drop(notes_rx);
    worker.stop();
}

#[test]
fn a_loop_grid_that_moves_under_a_finished_cycle_does_not_stop_the_model() {
    // Found by the 10,000-session run: the host's loop range appears (or moves) just as a cycle's
    // line has ended, so the playhead is still in "the same" cycle on the new grid, with no line.
    let _ = shipped_model();
    let (mut ev_tx, ev_rx) = rtrb::RingBuffer::<ContextEvent>::new(64);
    let (notes_tx, mut notes_rx) = rtrb::RingBuffer::<Plan>::new(256);
    let shared = Arc::new(WorkerShared::default());
    let settings = WorkerSettings {
        mode: descant_inference::files::take::PlayMode::Loop,
        loop_bars: 2,
        ..WorkerSettings::default()
    };
    let mut worker = InferenceWorker::spawn(
        shipped_worker_config(),
        settings,
        ev_rx,
        notes_tx,
        shared.clone(),
    )
    .unwrap();
    shared.render.activate(true);
    at_beat(&shared, 0.0, None);
    ev_tx.push(time_starts(1)).unwrap();
    let mut request = 0;
    let mut sync_at = |beat: f64, host_loop: Option<(f64, f64)>| {
        at_beat(&shared, beat, host_loop);
        request += 1;
        assert!(
            shared
                .render
                .wait_for_worker(request, || {}, Duration::from_secs(20)),
            "the worker did not catch up"
        );
        let mut got = 0;
        while notes_rx.pop().is_ok() {
            got += 1;
        }
        got
    };
    // The first cycle (bars 1–2, 8 beats) planned to its end: the look-ahead reaches beat 8.
    for step in 0..=24 {
        sync_at(f64::from(step) * 0.25, None);
    }
    // Now the host loops beats 2–10: same length, the grid 2 beats later.
    let played: usize = (24..=64)
        .map(|step| sync_at(f64::from(step) * 0.25, Some((2.0, 8.0))))
        .sum();
    let status = shared.status.lock().clone();
    assert!(
        matches!(status, ModelStatus::Ready { .. }),
        "the model stopped: {status:?}"
    );
    assert!(played > 0, "Descant fell silent on the new grid");
    worker.stop();
}

/// Waits (up to 30 s) until `ready` holds of the worker's status and notice.
fn wait_for(
    shared: &WorkerShared,
    what: &str,
    ready: impl Fn(&ModelStatus, Option<&str>) -> bool,
) -> (ModelStatus, Option<String>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = shared.status.lock().clone();
        let notice = shared.notice.lock().clone();
        if ready(&status, notice.as_deref()) {
            return (status, notice);
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still {status:?}, notice {notice:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn playing(status: &ModelStatus) -> Option<Option<std::path::PathBuf>> {
    match status {
        ModelStatus::Ready { path, .. } => Some(path.clone()),
        _ => None,
    }
}

#[test]
fn a_pick_switches_once_it_loads_and_a_refused_one_keeps_the_model_playing() {
    let _ = shipped_model();
    let (_ev_tx, ev_rx) = rtrb::RingBuffer::<ContextEvent>::new(16);
    let (notes_tx, _notes_rx) = rtrb::RingBuffer::<Plan>::new(16);
    let shared = Arc::new(WorkerShared::default());
    let config = shipped_worker_config();
    let (chosen, styles) = (config.chosen.clone(), config.style_names.clone());
    let mut worker = InferenceWorker::spawn(
        config,
        WorkerSettings::default(),
        ev_rx,
        notes_tx,
        shared.clone(),
    )
    .unwrap();
    wait_for(&shared, "the built-in model", |s, _| {
        playing(s) == Some(None)
    });
    assert_eq!(styles.read().len(), 5);

    // A crafted file: the shipped sidecar beside bytes that are not its graph.
    let dir = std::env::temp_dir().join(format!("descant-pick-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.onnx");
    std::fs::write(&bad, b"not a graph").unwrap();
    std::fs::write(dir.join("bad.json"), NON_COMMERCIAL_SIDECAR).unwrap();
    shared.request_pick(Pick::File(bad.clone()));
    let (status, notice) = wait_for(&shared, "the refusal", |_, n| n.is_some());
    let notice = notice.unwrap();
    assert!(
        notice.contains("Did not switch to") && notice.contains("does not match its sidecar"),
        "{notice}"
    );
    assert!(
        notice.contains("still playing 'descant-duet-v3'"),
        "{notice}"
    );
    assert_eq!(playing(&status), Some(None), "the built-in model plays on");
    assert_eq!(*chosen.read(), None, "a refused pick is not kept");

    // A good file: it plays, and the project keeps its path and digest.
    let int8 = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/descant.int8.onnx"
    ));
    let int8_sha = descant_inference::model::contract::ModelContract::parse(
        &std::fs::read_to_string(int8.with_extension("json")).unwrap(),
    )
    .unwrap()
    .sha256;
    shared.request_pick(Pick::File(int8.clone()));
    let (_, notice) = wait_for(&shared, "the int8 model", |s, _| {
        playing(s) == Some(Some(int8.clone()))
    });
    assert_eq!(notice, None, "a pick that loads clears the notice");
    assert_eq!(
        *chosen.read(),
        Some(ModelChoice::of_file(int8.clone(), int8_sha.clone()))
    );

    // Back to the built-in model.
    shared.request_pick(Pick::Default);
    wait_for(&shared, "the built-in model again", |s, _| {
        playing(s) == Some(None)
    });
    assert_eq!(*chosen.read(), Some(ModelChoice::default_model()));

    // A project that chose the file before it changed: the default plays, with the reason, and
    // the choice is kept as the project saved it.
    let changed = ModelChoice::of_file(int8.clone(), "0".repeat(64));
    *chosen.write() = Some(changed.clone());
    let (status, notice) = wait_for(&shared, "the fallback notice", |_, n| n.is_some());
    assert!(notice
        .unwrap()
        .contains("has changed since the project chose it"));
    assert_eq!(playing(&status), Some(None));
    assert_eq!(*chosen.read(), Some(changed));
    // The project's choice as saved with the file unchanged: it plays.
    *chosen.write() = Some(ModelChoice::of_file(int8.clone(), int8_sha));
    wait_for(&shared, "the project's model", |s, n| {
        n.is_none() && playing(s) == Some(Some(int8.clone()))
    });
    worker.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}
