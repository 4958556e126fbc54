//! Property tests through the built debug `Descant.clap` (with the allocation check):
//! hostile hosts and damaged projects, generated and shrunk by `proptest`.
//!
//! - The event path: blocks with any transport (tempo, position, meter and loop range not a
//!   number, infinite, zero, negative or huge; no transport at all) and any note events (keys and
//!   channels out of MIDI's range, velocities not a number), in real time and offline. The
//!   plugin must keep processing, send only sorted in-block events (the harness refuses anything
//!   else), only keys 0..=127 on channels 0..=15, never a note-off without its note-on or a
//!   note-on for a key already sounding, and end everything at a stop.
//! - The state loader: a saved project damaged by overwritten, cut and inserted bytes. Each blob
//!   is refused or loaded; either way MIDI still passes, and what the plugin then saves loads
//!   back to the same bytes.
//!
//! `DESCANT_FUZZ_CASES` sets the cases per property (default 150).

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use anyhow::Result;
use descant_host_tests::{env_number, test_plugin_path, Input, OutNote, PluginHost};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn cases() -> u32 {
    env_number("DESCANT_FUZZ_CASES", 150)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Any number a host might send, the absurd ones included.
fn host_number(normal: std::ops::Range<f64>) -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => normal,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(-1.0),
        1 => Just(0.0),
        1 => Just(1e300),
        1 => any::<f64>(),
    ]
}

/// One block of a hostile session.
#[derive(Debug, Clone)]
struct Block {
    frames: u32,
    tempo: f64,
    /// A seek to this beat before the block.
    seek: Option<f64>,
    playing: bool,
    time_sig: (u16, u16),
    loop_beats: Option<(f64, f64)>,
    send_transport: bool,
    /// `(offset, key, channel, velocity, on)`, offsets as fractions of the block.
    events: Vec<(f64, u8, u8, f64, bool)>,
}

fn block() -> impl Strategy<Value = Block> {
    (
        prop_oneof![1u32..64, 64u32..2048],
        host_number(40.0..240.0),
        proptest::option::weighted(0.2, host_number(-8.0..64.0)),
        prop::bool::weighted(0.8),
        prop_oneof![4 => Just((4u16, 4u16)), 1 => (any::<u16>(), any::<u16>())],
        proptest::option::weighted(0.2, (host_number(0.0..8.0), host_number(0.0..16.0))),
        prop::bool::weighted(0.9),
        proptest::collection::vec(
            (
                0.0..1.0f64,
                prop_oneof![4 => 48u8..84, 1 => any::<u8>()],
                prop_oneof![4 => Just(0u8), 1 => any::<u8>()],
                host_number(0.0..1.0),
                any::<bool>(),
            ),
            0..6,
        ),
    )
        .prop_map(
            |(frames, tempo, seek, playing, time_sig, loop_beats, send_transport, events)| Block {
                frames,
                tempo,
                seek,
                playing,
                time_sig,
                loop_beats,
                send_transport,
                events,
            },
        )
}

/// Checks Descant's notes (pass-through is off) and keeps what sounds.
fn check(notes: &[OutNote], sounding: &mut HashSet<(u8, u8)>) -> Result<(), TestCaseError> {
    for n in notes {
        prop_assert!(n.key <= 127 && n.channel <= 15, "{n:?}");
        if n.on {
            prop_assert!(
                sounding.insert((n.key, n.channel)),
                "note-on while sounding: {n:?}"
            );
        } else {
            prop_assert!(
                sounding.remove(&(n.key, n.channel)),
                "note-off without note-on: {n:?}"
            );
        }
    }
    Ok(())
}

fn run_session(offline: bool, blocks: &[Block]) -> Result<(), TestCaseError> {
    let fail = |e: anyhow::Error| TestCaseError::fail(format!("{e:#}"));
    let mut h = PluginHost::load(&test_plugin_path(), 48_000.0, 2048).map_err(fail)?;
    if offline {
        h.set_offline().map_err(fail)?;
    }
    let mut sounding = HashSet::new();
    let (_, notes) = h
        .process(
            1,
            &[Input::Param {
                offset: 0,
                name: "Pass through",
                normalized: 0.0,
            }],
        )
        .map_err(fail)?;
    check(&notes, &mut sounding)?;
    for b in blocks {
        h.transport.tempo = b.tempo;
        h.transport.playing = b.playing;
        h.transport.time_sig = b.time_sig;
        h.transport.loop_beats = b.loop_beats;
        h.send_transport = b.send_transport;
        if let Some(beat) = b.seek {
            h.seek(beat);
        }
        let mut events: Vec<(u32, Input)> = b
            .events
            .iter()
            .map(|&(at, key, channel, velocity, on)| {
                let offset = ((at * f64::from(b.frames)) as u32).min(b.frames - 1);
                let input = if on {
                    Input::NoteOn {
                        offset,
                        key,
                        channel,
                        velocity,
                    }
                } else {
                    Input::NoteOff {
                        offset,
                        key,
                        channel,
                    }
                };
                (offset, input)
            })
            .collect();
        events.sort_by_key(|(at, _)| *at);
        let inputs: Vec<Input> = events.into_iter().map(|(_, i)| i).collect();
        let (_, notes) = h.process(b.frames, &inputs).map_err(fail)?;
        check(&notes, &mut sounding)?;
    }
    // A sane stop ends everything.
    h.transport.tempo = 120.0;
    h.transport.time_sig = (4, 4);
    h.transport.loop_beats = None;
    h.transport.playing = false;
    h.send_transport = true;
    h.seek(0.0);
    let (_, notes) = h.process(64, &[]).map_err(fail)?;
    check(&notes, &mut sounding)?;
    prop_assert!(sounding.is_empty(), "sounding after stop: {sounding:?}");
    Ok(())
}

#[test]
fn hostile_transport_and_events_never_break_the_event_path() {
    let strategy = (any::<bool>(), proptest::collection::vec(block(), 1..48));
    let mut runner = runner();
    let result = runner.run(&strategy, |(offline, blocks)| run_session(offline, &blocks));
    if let Err(e) = result {
        panic!("{e}");
    }
    println!("event path: {} hostile sessions passed", cases());
}

/// A damage to a saved blob: overwrite, cut or insert at a position (a fraction of the length),
/// or replace one value anywhere in its JSON, inside the JSON its fields hold as strings too.
#[derive(Debug, Clone)]
enum Damage {
    Overwrite(f64, u8),
    Cut(f64),
    Insert(f64, Vec<u8>),
    Value(f64, serde_json::Value),
}

/// A value a damaged or hand-edited project might hold.
fn hostile_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{json, Value};
    prop_oneof![
        Just(Value::Null),
        Just(json!(-1)),
        Just(json!(1e308)),
        Just(json!(u64::MAX)),
        Just(json!(-9_223_372_036_854_775_807i64)),
        Just(json!("")),
        Just(json!("x".repeat(2000))),
        Just(json!([])),
        Just(json!({})),
        Just(json!(true)),
        Just(
            json!({"cycle_beats": -4, "model": "", "notes": [{"onset": 9e9, "length": -1, "key": 300, "velocity": 2}]})
        ),
        any::<f64>().prop_map(|f| json!(f)),
        any::<i64>().prop_map(|i| json!(i)),
    ]
}

/// Replaces the `n`th leaf (counting leaves inside JSON held in strings) with `with`.
fn replace_leaf(v: &mut serde_json::Value, n: &mut usize, with: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Object(map) => map.values_mut().any(|x| replace_leaf(x, n, with)),
        Value::Array(items) => items.iter_mut().any(|x| replace_leaf(x, n, with)),
        Value::String(text) => {
            if let Ok(mut inner @ (Value::Object(_) | Value::Array(_))) =
                serde_json::from_str::<Value>(text)
            {
                if replace_leaf(&mut inner, n, with) {
                    *text = inner.to_string();
                    return true;
                }
                return false;
            }
            leaf(v, n, with)
        }
        _ => leaf(v, n, with),
    }
}

fn leaf(v: &mut serde_json::Value, n: &mut usize, with: &serde_json::Value) -> bool {
    if *n == 0 {
        *v = with.clone();
        true
    } else {
        *n -= 1;
        false
    }
}

/// Leaves in `v`, as [`replace_leaf`] counts them.
fn leaves(v: &serde_json::Value) -> usize {
    let mut probe = v.clone();
    let mut n = usize::MAX;
    replace_leaf(&mut probe, &mut n, &serde_json::Value::Null);
    usize::MAX - n
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => (0.0..1.0f64, any::<u8>()).prop_map(|(at, b)| Damage::Overwrite(at, b)),
        1 => (0.0..1.0f64).prop_map(Damage::Cut),
        2 => (
            0.0..1.0f64,
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 1..8),
                Just(b"1e999".to_vec()),
                Just(b"-1".to_vec()),
                Just(b"null".to_vec()),
                Just(b"\"\\u0000\"".to_vec()),
                Just(b"[[[[[[[[[[[[[[[[".to_vec()),
            ]
        )
            .prop_map(|(at, bytes)| Damage::Insert(at, bytes)),
        4 => value_damage(),
    ]
}

fn value_damage() -> impl Strategy<Value = Damage> {
    (0.0..1.0f64, hostile_value()).prop_map(|(at, v)| Damage::Value(at, v))
}

fn apply(blob: &[u8], damages: &[Damage]) -> Vec<u8> {
    let mut b = blob.to_vec();
    for d in damages {
        let at = |f: f64| ((f * b.len() as f64) as usize).min(b.len());
        match d {
            Damage::Overwrite(f, byte) => {
                let i = at(*f);
                if i < b.len() {
                    b[i] = *byte;
                }
            }
            Damage::Cut(f) => {
                let i = at(*f);
                b.truncate(i);
            }
            Damage::Insert(f, bytes) => {
                let i = at(*f);
                b.splice(i..i, bytes.iter().copied());
            }
            Damage::Value(f, with) => {
                // nice-plug frames the JSON with its length (8 bytes, little-endian).
                let json = b.get(8..).and_then(|j| serde_json::from_slice(j).ok());
                if let Some(mut json) = json {
                    let count = leaves(&json).max(1);
                    let mut n = ((f * count as f64) as usize).min(count - 1);
                    replace_leaf(&mut json, &mut n, with);
                    let text = serde_json::to_vec(&json).expect("JSON serialises");
                    b = (text.len() as u64).to_le_bytes().to_vec();
                    b.extend(text);
                }
            }
        }
    }
    b
}

#[test]
fn damaged_projects_are_refused_or_loaded_and_midi_still_passes() -> Result<()> {
    let mut h = PluginHost::load(&test_plugin_path(), 48_000.0, 512)?;
    // A project with some settings changed from their defaults.
    for (name, text) in [
        ("Mode", "Loop"),
        ("Temperature", "1.3"),
        ("Seed", "77"),
        ("Humanize", "40 %"),
    ] {
        h.set_text(name, text)?;
    }
    let saved = h.save_state()?;
    let host = RefCell::new(h);
    let refused = Cell::new(0u32);
    let mut runner = runner();
    let result = runner.run(
        &prop_oneof![
            proptest::collection::vec(damage(), 1..6),
            proptest::collection::vec(value_damage(), 1..3),
        ],
        |damages| {
            let fail = |e: anyhow::Error| TestCaseError::fail(format!("{e:#}"));
            let h = &mut *host.borrow_mut();
            let blob = apply(&saved, &damages);
            if h.load_state(&blob).is_err() {
                refused.set(refused.get() + 1);
            }
            // MIDI passes whatever the project said.
            h.set_text("Pass through", "On").map_err(fail)?;
            let (_, out) = h
                .process(
                    64,
                    &[Input::NoteOn {
                        offset: 3,
                        key: 61,
                        channel: 2,
                        velocity: 0.5,
                    }],
                )
                .map_err(fail)?;
            prop_assert!(
                out.iter().any(|n| n.on && n.key == 61 && n.channel == 2),
                "the player's note did not pass: {out:?}"
            );
            // What the plugin holds now saves and loads back to itself.
            let again = h.save_state().map_err(fail)?;
            h.load_state(&again).map_err(fail)?;
            prop_assert_eq!(h.save_state().map_err(fail)?, again);
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    println!(
        "state loader: {} damaged projects, {} refused, the rest loaded",
        cases(),
        refused.get()
    );
    Ok(())
}
