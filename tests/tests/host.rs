//! Host tests: the built debug `Descant.clap` (with the allocation check), loaded through
//! `clack-host`, driven block by block. Run by `cargo xtask test`, which bundles it first.

use std::process::Command;

use anyhow::Result;
use clack_host::prelude::ProcessStatus;
use descant_host_tests::{
    phrase_script, test_plugin_path, unmatched, Input, OutNote, Pacer, PluginHost,
};

/// Wall-clock speed of the tests relative to real time.
const SPEED: f64 = 4.0;

/// Normalised value of a linear parameter.
fn norm(v: f64, min: f64, max: f64) -> f64 {
    (v - min) / (max - min)
}

/// The host setting parameter `name` to `text` (as the plugin shows it) at the start of a block.
fn set(h: &mut PluginHost, name: &'static str, text: &str) -> Input {
    let normalized = h
        .text_to_value(name, text)
        .unwrap_or_else(|e| panic!("{name} = {text}: {e}"));
    Input::Param {
        offset: 0,
        name,
        normalized,
    }
}

/// A host at `tempo` with pass-through off (so every note out is Descant's) and a one-beat pause.
fn host(sample_rate: f64, tempo: f64, max_block: u32) -> Result<PluginHost> {
    let mut h = PluginHost::load(&test_plugin_path(), sample_rate, max_block)?;
    h.transport.tempo = tempo;
    let settings = [
        set(&mut h, "Pass through", "Off"),
        set(&mut h, "Answer after", "1 beats"),
    ];
    h.process(1, &settings)?;
    Ok(h)
}

/// A phrase of eighth notes from the next beat; returns the script and the beat its last note
/// ends on.
fn phrase(h: &PluginHost, keys: &[u8]) -> (Vec<(u64, Input)>, f64) {
    let spb = h.samples_per_beat();
    phrase_script(spb, (h.sample_pos as f64 / spb).ceil(), keys)
}

/// Plays a phrase and runs until Descant has a note sounding; returns everything it sent.
fn until_descant_sounds(h: &mut PluginHost, frames: u32, pace: &mut Pacer) -> Result<Vec<OutNote>> {
    let (mut script, _) = phrase(h, &[60, 62, 64, 67]);
    let end = script.iter().map(|(at, _)| at + 1).max().unwrap_or(0);
    let mut sent = h.run_script(end, frames, &mut script, pace)?;
    assert!(script.is_empty(), "the whole phrase was played");
    for _ in 0..64 {
        sent.extend(h.run_beats(0.5, frames, pace)?);
        if !unmatched(&sent).0.is_empty() {
            return Ok(sent);
        }
    }
    anyhow::bail!("Descant never played within 32 beats: {sent:?}")
}

/// Asserts every note of `sounding` gets its note-off in `block` at an offset up to `by`.
fn assert_released(sounding: &[OutNote], block: &[OutNote], by: u32, what: &str) {
    for n in sounding {
        assert!(
            block
                .iter()
                .any(|r| !r.on && r.key == n.key && r.channel == n.channel && r.offset <= by),
            "{n:?} not released by offset {by} at the {what}: {block:?}"
        );
    }
}

#[test]
fn player_notes_pass_through_unchanged() -> Result<()> {
    let mut h = PluginHost::load(&test_plugin_path(), 48_000.0, 512)?;
    let (_, notes) = h.process(
        512,
        &[
            Input::NoteOn {
                offset: 3,
                key: 61,
                channel: 9,
                velocity: 0.5,
            },
            Input::NoteOff {
                offset: 300,
                key: 61,
                channel: 9,
            },
        ],
    )?;
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].on && notes[0].key == 61 && notes[0].channel == 9 && notes[0].offset == 3);
    assert!((notes[0].velocity - 0.5).abs() < 1e-6);
    assert!(!notes[1].on && notes[1].key == 61 && notes[1].offset == 300);
    Ok(())
}

#[test]
fn answer_notes_land_on_the_sample_offsets_their_beats_imply() -> Result<()> {
    for (tempo, frames, sample_rate) in [
        (120.0, 64, 48_000.0),
        (97.3, 1, 44_100.0),
        (140.0, 511, 96_000.0),
        (75.0, 4096, 44_100.0),
        (172.5, 64, 44_100.0),
    ] {
        let mut h = host(sample_rate, tempo, 4096)?;
        let mut pace = Pacer::new(SPEED);
        let (mut script, last_off) = phrase(&h, &[60, 64, 67, 72]);
        let spb = h.samples_per_beat();
        let mut sent = h.run_script(
            ((last_off + 12.0) * spb) as u64,
            frames,
            &mut script,
            &mut pace,
        )?;
        h.transport.playing = false;
        sent.extend(h.process(frames, &[])?.1);
        let ons: Vec<&OutNote> = sent.iter().filter(|n| n.on).collect();
        let case = format!("{tempo} BPM, {frames} frames, {sample_rate} Hz");
        assert!(!ons.is_empty(), "{case}: no answer");
        for n in &ons {
            let tick = (n.sample as f64 / spb * 12.0).round();
            let exact = tick * spb / 12.0;
            assert!(
                (n.sample as f64 - exact).abs() <= 0.5 + 1e-6,
                "{case}: note at sample {} is not on the grid (nearest tick {tick} at {exact})",
                n.sample
            );
            assert!(
                n.sample as f64 / spb >= last_off + 1.0 - 1e-9,
                "{case}: answered early"
            );
        }
        let (hanging, orphans) = unmatched(&sent);
        assert!(
            hanging.is_empty() && orphans.is_empty(),
            "{case}: {hanging:?} {orphans:?}"
        );
    }
    Ok(())
}

#[test]
fn process_keeps_the_host_calling_while_an_answer_is_pending() -> Result<()> {
    let mut h = host(48_000.0, 120.0, 512)?;
    let (idle, _) = h.process(512, &[])?;
    assert_ne!(
        idle,
        ProcessStatus::Continue,
        "no phrase yet: the host may let it sleep"
    );
    let mut pace = Pacer::new(SPEED);
    let (mut script, last_off) = phrase(&h, &[60, 62]);
    let spb = h.samples_per_beat();
    h.run_script((last_off * spb) as u64 + 600, 512, &mut script, &mut pace)?;
    let (status, _) = h.process(512, &[])?;
    assert_eq!(status, ProcessStatus::Continue);
    Ok(())
}

/// What happens to the host while Descant has notes sounding.
#[derive(Debug, Clone, Copy)]
enum Disruption {
    /// The transport stops.
    Stop,
    /// The host seeks far ahead.
    Seek,
    /// The host's loop range ends just after the playhead, so the transport wraps.
    LoopWrap,
    /// The host deactivates and reactivates the plugin.
    Reactivate,
    /// The host resets the plugin.
    Reset,
    /// `Enabled` is switched off.
    Disable,
    /// The host bypasses the plugin (its bypass parameter on).
    Bypass,
    /// A factory preset of another mode is loaded: every value it sets, in one block, as the
    /// editor has the host set them.
    Preset,
    /// `Mode` changes.
    ModeChange,
}

/// Makes Descant sound at `rate` Hz in blocks of `frames`, applies `d`, and checks that every
/// sounding note is released at the start of the next block, that nothing new starts where
/// Descant should be quiet, and that no note is left unmatched.
fn disruption_releases_every_generated_note(
    d: Disruption,
    (rate, tempo, frames): (f64, f64, u32),
) -> Result<()> {
    let mut h = host(rate, tempo, frames)?;
    let mut pace = Pacer::new(SPEED);
    let mut sent = until_descant_sounds(&mut h, frames, &mut pace)?;
    let mut inputs = Vec::new();
    match d {
        Disruption::Stop => h.transport.playing = false,
        Disruption::Seek => h.seek(h.beat + 37.25),
        Disruption::LoopWrap => {
            // The loop ends just after the playhead: the block after next starts back at beat 0.
            h.transport.loop_beats = Some((0.0, h.beat + 0.001));
            sent.extend(h.process(frames, &[])?.1);
            assert!(h.beat < 1.0, "the host wrapped");
        }
        Disruption::Reactivate => {
            h.deactivate();
            h.activate()?;
        }
        Disruption::Reset => h.reset()?,
        Disruption::Disable => inputs.push(set(&mut h, "Enabled", "Off")),
        Disruption::Bypass => inputs.push(set(&mut h, "Bypass", "On")),
        Disruption::Preset => {
            let preset = descant_inference::files::presets::factory()
                .into_iter()
                .find(|p| p.name == "Jig loop")
                .expect("the factory preset");
            for (name, text) in preset.params {
                // `Input::Param` names are 'static; a test leaks these few.
                inputs.push(set(&mut h, Box::leak(name.into_boxed_str()), &text));
            }
        }
        Disruption::ModeChange => inputs.push(set(&mut h, "Mode", "Continue")),
    }
    let sounding = unmatched(&sent).0;
    let (_, released) = h.process(frames, &inputs)?;
    assert_released(&sounding, &released, 0, &format!("{d:?}"));
    sent.extend(released);
    match d {
        Disruption::LoopWrap => {
            h.transport.loop_beats = None;
            h.transport.playing = false;
            sent.extend(h.process(frames, &[])?.1);
        }
        Disruption::Reactivate
        | Disruption::Reset
        | Disruption::ModeChange
        | Disruption::Preset => {
            h.transport.playing = false;
            sent.extend(h.process(frames, &[])?.1);
        }
        Disruption::Stop | Disruption::Seek | Disruption::Disable | Disruption::Bypass => {
            // Stopped, moved past the phrase, switched off or bypassed: Descant stays quiet.
            let after = h.run_beats(4.0, frames, &mut pace)?;
            assert!(
                after.iter().all(|n| !n.on),
                "{d:?}: played after: {after:?}"
            );
            sent.extend(after);
        }
    }
    assert_eq!(unmatched(&sent), (vec![], vec![]), "{d:?}");
    Ok(())
}

#[test]
fn stop_releases_every_generated_note() -> Result<()> {
    disruption_releases_every_generated_note(Disruption::Stop, (48_000.0, 132.0, 256))
}

#[test]
fn seek_releases_every_generated_note() -> Result<()> {
    disruption_releases_every_generated_note(Disruption::Seek, (44_100.0, 110.0, 333))
}

#[test]
fn loop_wrap_releases_every_generated_note() -> Result<()> {
    disruption_releases_every_generated_note(Disruption::LoopWrap, (48_000.0, 120.0, 128))
}

#[test]
fn deactivate_releases_every_generated_note() -> Result<()> {
    disruption_releases_every_generated_note(Disruption::Reactivate, (48_000.0, 126.0, 256))
}

#[test]
fn reset_releases_every_generated_note() -> Result<()> {
    disruption_releases_every_generated_note(Disruption::Reset, (96_000.0, 90.0, 512))
}

#[test]
fn disabling_descant_releases_its_notes() -> Result<()> {
    disruption_releases_every_generated_note(Disruption::Disable, (48_000.0, 120.0, 256))
}

#[test]
fn the_hosts_bypass_releases_descants_notes() -> Result<()> {
    disruption_releases_every_generated_note(Disruption::Bypass, (44_100.0, 100.0, 192))
}

#[test]
fn the_bypass_parameter_is_flagged_for_the_host_and_passes_the_players_midi_through() -> Result<()>
{
    let mut h = host(48_000.0, 120.0, 256)?;
    assert_eq!(
        h.bypass_params(),
        ["Bypass"],
        "one bypass parameter, flagged"
    );
    let bypass = set(&mut h, "Bypass", "On");
    h.process(256, &[bypass])?;
    // `host` turned Pass through off; bypassed, Descant is as if not there.
    let (_, out) = h.process(
        256,
        &[Input::NoteOn {
            offset: 12,
            key: 64,
            channel: 3,
            velocity: 0.5,
        }],
    )?;
    assert!(
        out.iter()
            .any(|n| n.on && n.key == 64 && n.channel == 3 && n.offset == 12),
        "bypassed, the player's note-on did not pass: {out:?}"
    );
    let unbypass = set(&mut h, "Bypass", "Off");
    h.process(256, &[unbypass])?;
    let (_, out) = h.process(
        256,
        &[
            Input::NoteOff {
                offset: 5,
                key: 64,
                channel: 3,
            },
            Input::NoteOn {
                offset: 9,
                key: 66,
                channel: 3,
                velocity: 0.5,
            },
        ],
    )?;
    assert!(
        out.iter()
            .any(|n| !n.on && n.key == 64 && n.channel == 3 && n.offset == 5),
        "the note that passed while bypassed lost its note-off: {out:?}"
    );
    assert!(
        out.iter().all(|n| n.key != 66),
        "back from bypass, Pass through Off holds again: {out:?}"
    );
    Ok(())
}

#[test]
fn loading_a_preset_of_another_mode_releases_every_generated_note() -> Result<()> {
    disruption_releases_every_generated_note(Disruption::Preset, (48_000.0, 120.0, 256))
}

#[test]
fn a_mode_change_releases_every_generated_note() -> Result<()> {
    disruption_releases_every_generated_note(Disruption::ModeChange, (44_100.0, 140.0, 64))
}

#[test]
fn the_player_playing_again_silences_descant() -> Result<()> {
    let mut h = host(48_000.0, 120.0, 256)?;
    let mut pace = Pacer::new(SPEED);
    let mut sent = until_descant_sounds(&mut h, 256, &mut pace)?;
    let sounding = unmatched(&sent).0;
    let (_, block) = h.process(
        256,
        &[Input::NoteOn {
            offset: 100,
            key: 48,
            channel: 0,
            velocity: 0.7,
        }],
    )?;
    assert_released(&sounding, &block, 100, "player's note-on");
    sent.extend(block);
    // While the player holds the note, Descant listens.
    let held = h.run_beats(3.0, 256, &mut pace)?;
    assert!(
        held.iter().all(|n| !n.on),
        "Descant played over the player: {held:?}"
    );
    sent.extend(held);
    h.process(
        256,
        &[Input::NoteOff {
            offset: 0,
            key: 48,
            channel: 0,
        }],
    )?;
    h.transport.playing = false;
    sent.extend(h.process(256, &[])?.1);
    assert_eq!(unmatched(&sent), (vec![], vec![]));
    Ok(())
}

#[test]
fn free_run_answers_on_its_own_clock_while_the_host_is_stopped() -> Result<()> {
    let mut h = host(48_000.0, 120.0, 512)?;
    h.transport.playing = false;
    let settings = [
        set(&mut h, "Free run", "On"),
        set(&mut h, "Tempo", "150 BPM"),
    ];
    h.process(1, &settings)?;
    let mut pace = Pacer::new(SPEED);
    let own_spb = 48_000.0 * 60.0 / 150.0;
    let start = h.sample_pos;
    let keys = [62u8, 65, 69];
    let mut script: Vec<(u64, Input)> = keys
        .iter()
        .enumerate()
        .flat_map(|(i, &key)| {
            let at = start + (i as f64 * own_spb) as u64;
            [
                (
                    at,
                    Input::NoteOn {
                        offset: 0,
                        key,
                        channel: 0,
                        velocity: 0.8,
                    },
                ),
                (
                    at + (own_spb * 0.5) as u64,
                    Input::NoteOff {
                        offset: 0,
                        key,
                        channel: 0,
                    },
                ),
            ]
        })
        .collect();
    let sent = h.run_script(start + (14.0 * own_spb) as u64, 512, &mut script, &mut pace)?;
    let ons: Vec<&OutNote> = sent.iter().filter(|n| n.on).collect();
    assert!(!ons.is_empty(), "no answer in free run");
    for n in ons {
        // The own clock starts at beat 0 on the first processed block (sample 0).
        let tick = (n.sample as f64 / own_spb * 12.0).round();
        assert!((n.sample as f64 - tick * own_spb / 12.0).abs() <= 0.5 + 1e-6);
    }
    Ok(())
}

#[test]
fn parameters_round_trip_value_text_value_exactly() -> Result<()> {
    let mut h = PluginHost::load(&test_plugin_path(), 48_000.0, 64)?;
    let names = h.param_names();
    assert_eq!(
        names,
        [
            "Again",
            "Answer after",
            "Answer length",
            "Answer now",
            "Blend",
            "Bypass",
            "Chord channel",
            "Density",
            "Echo",
            "Enabled",
            "Ending",
            "Free run",
            "Highest note",
            "Humanize",
            "Keep",
            "Key",
            "Loop length",
            "Lowest note",
            "Mode",
            "Mood",
            "Originality guard",
            "Pass through",
            "Phrase length",
            "Repetition guard",
            "Scale lock",
            "Seed",
            "Style",
            "Style B",
            "Temperature",
            "Tempo",
            "Top-p",
            "Voice"
        ]
    );
    assert!(h.value_to_text("Tempo", 0.4)?.ends_with(" BPM"));
    assert!(h.value_to_text("Answer after", 0.2)?.ends_with(" beats"));
    assert_eq!(h.value_to_text("Key", 0.0)?, "Auto");
    assert_eq!(h.value_to_text("Key", 37.0 / 72.0)?, "F# major");
    assert_eq!(h.value_to_text("Key", 72.0 / 72.0)?, "B minor pentatonic");
    assert_eq!(h.value_to_text("Density", 0.0)?, "Auto");
    assert_eq!(h.value_to_text("Phrase length", 0.0)?, "Off");
    assert_eq!(h.value_to_text("Phrase length", 4.0 / 16.0)?, "4 bars");
    // The default model, `descant-open`, has Irish & Scottish alone: the other styles say so.
    assert_eq!(h.value_to_text("Style", 3.0 / 6.0)?, "Irish & Scottish");
    assert_eq!(
        h.value_to_text("Style", 4.0 / 6.0)?,
        "Chorale (not in this model: Any)"
    );
    // Nor has it the style "Yours": the slot says so (a learned model names it).
    assert_eq!(
        h.value_to_text("Style", 1.0)?,
        "Yours (not in this model: Any)"
    );
    assert_eq!(
        h.value_to_text("Lowest note", norm(60.0, 21.0, 108.0))?,
        "C4"
    );
    assert_eq!(h.value_to_text("Chord channel", 0.0)?, "Off");
    assert_eq!(h.value_to_text("Answer length", 0.0)?, "Match the call");
    assert_eq!(
        h.value_to_text("Answer length", 1.0 / 17.0)?,
        "Until you play"
    );
    assert_eq!(h.value_to_text("Ending", 0.0)?, "Home");
    assert_eq!(h.value_to_text("Echo", 1.0)?, "100%");
    assert_eq!(h.value_to_text("Mode", 0.5)?, "Continue");
    assert_eq!(h.value_to_text("Voice", 0.5)?, "Above");
    for name in &names {
        for v in [0.0, 0.013, 0.1, 0.25, 1.0 / 3.0, 0.5, 0.77, 0.999, 1.0] {
            let text = h.value_to_text(name, v)?;
            let back = h.text_to_value(name, &text)?;
            let text2 = h.value_to_text(name, back)?;
            assert_eq!(text, text2, "{name} {v}");
            assert_eq!(h.text_to_value(name, &text2)?, back, "{name} {v}: {text}");
        }
    }
    Ok(())
}

fn host_binary(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_descant-host"));
    cmd.args(args).arg("--plugin").arg(test_plugin_path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("descant-host runs")
}

#[test]
fn an_allocation_in_process_aborts_the_debug_build() {
    // The same run passes without the probe, so every other host test ran with a live check.
    let clean = host_binary(&["passthrough"], &[]);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    let probed = host_binary(&["passthrough"], &[("DESCANT_TEST_ALLOC_IN_PROCESS", "1")]);
    assert!(
        !probed.status.success(),
        "an allocation in process() went unnoticed"
    );
    // The probe allocates 16 bytes; the check refuses them and the process aborts.
    let log = String::from_utf8_lossy(&probed.stderr);
    assert!(
        log.contains("memory allocation of 16 bytes failed"),
        "{log}"
    );
}

#[test]
fn without_onnx_runtime_midi_passes_and_the_reason_is_reported() {
    let out = host_binary(
        &["passthrough"],
        &[("DESCANT_ORT_LIB", "/nonexistent/libonnxruntime.so")],
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("ONNX Runtime library not loaded"), "{log}");
    assert!(log.contains("/nonexistent/libonnxruntime.so"), "{log}");
}

#[test]
fn with_a_corrupt_model_midi_passes_and_the_reason_is_reported() -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix("descant-corrupt-")
        .tempdir()?;
    let dir = tmp.path();
    let model = dir.join("broken.onnx");
    let shipped = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/descant.onnx"
    ))?;
    std::fs::write(&model, &shipped[..shipped.len() / 3])?;
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/descant.json"),
        dir.join("broken.json"),
    )?;
    let out = host_binary(
        &["passthrough"],
        &[("DESCANT_MODEL", model.to_str().unwrap())],
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("does not match its sidecar"), "{log}");

    let missing = host_binary(
        &["passthrough"],
        &[("DESCANT_MODEL", "/nonexistent/m.onnx")],
    );
    let log = String::from_utf8_lossy(&missing.stderr);
    assert!(missing.status.success(), "{log}");
    assert!(log.contains("cannot read /nonexistent/m.json"), "{log}");
    Ok(())
}

#[test]
fn descant_0_2s_single_line_model_still_loads_and_answers() {
    // Contract v1 (the model Descant 0.2 shipped, kept as a fixture): it loads beside the
    // two-voice contract and plays as before.
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/descant-melody-v2.onnx"
    );
    let out = host_binary(&["phrases", "2"], &[("DESCANT_MODEL", model)]);
    let log = String::from_utf8_lossy(&out.stderr);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}{said}");
    assert!(log.contains("model 'descant-melody-v2' ready"), "{log}");
    for line in said.lines().filter(|l| l.starts_with("phrase")) {
        assert!(
            !line.ends_with("descant 0"),
            "Descant did not answer: {said}"
        );
    }
}

#[test]
fn switching_pass_through_off_mid_note_still_passes_its_note_off() -> Result<()> {
    let mut h = PluginHost::load(&test_plugin_path(), 48_000.0, 256)?;
    let (_, on) = h.process(
        256,
        &[Input::NoteOn {
            offset: 10,
            key: 55,
            channel: 2,
            velocity: 0.6,
        }],
    )?;
    assert!(on.iter().any(|n| n.on && n.key == 55 && n.channel == 2));
    let off_now = set(&mut h, "Pass through", "Off");
    h.process(256, &[off_now])?;
    let (_, off) = h.process(
        256,
        &[
            Input::NoteOff {
                offset: 20,
                key: 55,
                channel: 2,
            },
            Input::NoteOn {
                offset: 30,
                key: 57,
                channel: 2,
                velocity: 0.6,
            },
        ],
    )?;
    assert!(
        off.iter()
            .any(|n| !n.on && n.key == 55 && n.channel == 2 && n.offset == 20),
        "the held note's note-off was swallowed: {off:?}"
    );
    assert!(
        off.iter().all(|n| n.key != 57),
        "pass-through is off: {off:?}"
    );
    Ok(())
}

/// Descant's note-ons (pass-through is off in [`host`], so every note-on is Descant's).
fn descant_ons(sent: &[OutNote]) -> Vec<OutNote> {
    sent.iter().filter(|n| n.on).copied().collect()
}

#[test]
fn key_scale_lock_and_register_bound_every_generated_note() -> Result<()> {
    let mut h = host(48_000.0, 120.0, 256)?;
    let mut pace = Pacer::new(SPEED);
    // F# major, fully locked, one octave from C4: a C major phrase cannot pull it out.
    let settings = [
        set(&mut h, "Key", "F# major"),
        set(&mut h, "Scale lock", "100%"),
        set(&mut h, "Lowest note", "C4"),
        set(&mut h, "Highest note", "C5"),
    ];
    h.process(1, &settings)?;
    let (mut script, last_off) = phrase(&h, &[60, 62, 64, 65, 67, 69, 71, 72]);
    let spb = h.samples_per_beat();
    let sent = h.run_script(
        ((last_off + 16.0) * spb) as u64,
        256,
        &mut script,
        &mut pace,
    )?;
    let ons = descant_ons(&sent);
    assert!(ons.len() >= 4, "too few notes to judge: {ons:?}");
    let f_sharp_major = [6u8, 8, 10, 11, 1, 3, 5];
    for n in &ons {
        assert!((60..=72).contains(&n.key), "{n:?} outside C4..C5");
        assert!(
            f_sharp_major.contains(&(n.key % 12)),
            "{n:?} not in F# major"
        );
    }
    Ok(())
}

#[test]
fn a_register_change_applies_to_the_notes_planned_after_it() -> Result<()> {
    let mut h = host(48_000.0, 120.0, 256)?;
    let mut pace = Pacer::new(SPEED);
    // A streamed answer (an answer of known length is chosen whole before it starts, so a
    // change applies from the next answer).
    let streamed = [set(&mut h, "Answer length", "Until you play")];
    h.process(1, &streamed)?;
    let mut sent = until_descant_sounds(&mut h, 256, &mut pace)?;
    let spb = h.samples_per_beat();
    let change = h.sample_pos;
    let settings = [
        set(&mut h, "Lowest note", "C6"),
        set(&mut h, "Highest note", "C7"),
    ];
    h.process(256, &settings)?;
    sent.extend(h.run_beats(16.0, 256, &mut pace)?);
    // Notes already planned may still play: up to the look-ahead (2 beats) plus one note.
    let settled = change as f64 + 6.0 * spb;
    let after: Vec<OutNote> = descant_ons(&sent)
        .into_iter()
        .filter(|n| n.sample as f64 > settled)
        .collect();
    assert!(
        !after.is_empty(),
        "Descant stopped playing after the change"
    );
    assert!(
        after.iter().all(|n| (84..=96).contains(&n.key)),
        "notes outside the new register: {after:?}"
    );
    Ok(())
}

#[test]
fn chord_channel_notes_pass_and_do_not_silence_descant() -> Result<()> {
    let mut h = host(48_000.0, 120.0, 256)?;
    let mut pace = Pacer::new(SPEED);
    let settings = [
        set(&mut h, "Chord channel", "2"),
        set(&mut h, "Pass through", "On"),
    ];
    h.process(1, &settings)?;
    let mut sent = until_descant_sounds(&mut h, 256, &mut pace)?;
    let sounding = unmatched(&sent).0;
    let chord = [57u8, 60, 64];
    let inputs: Vec<Input> = chord
        .iter()
        .map(|&key| Input::NoteOn {
            offset: 10,
            key,
            channel: 1,
            velocity: 0.6,
        })
        .collect();
    let (_, block) = h.process(256, &inputs)?;
    for key in chord {
        assert!(
            block.iter().any(|n| n.on && n.key == key && n.channel == 1),
            "chord note {key} did not pass: {block:?}"
        );
    }
    for n in &sounding {
        assert!(
            !block
                .iter()
                .any(|r| !r.on && r.key == n.key && r.channel == n.channel),
            "the chord silenced Descant's {n:?}"
        );
    }
    sent.extend(block);
    // Descant keeps playing over the held chord.
    let over = h.run_beats(8.0, 256, &mut pace)?;
    assert!(
        over.iter().any(|n| n.on && n.channel != 1),
        "Descant stopped under the chord"
    );
    sent.extend(over);
    let offs: Vec<Input> = chord
        .iter()
        .map(|&key| Input::NoteOff {
            offset: 0,
            key,
            channel: 1,
        })
        .collect();
    sent.extend(h.process(256, &offs)?.1);
    h.transport.playing = false;
    sent.extend(h.process(256, &[])?.1);
    assert_eq!(unmatched(&sent), (vec![], vec![]));
    Ok(())
}

/// Descant's first `n` note-ons (key and sample) after a fixed phrase, with `Seed` at `seed`.
fn take_with_seed(seed: i32, n: usize) -> Result<Vec<(u8, u64)>> {
    let mut h = host(48_000.0, 120.0, 256)?;
    // A two-beat pause leaves the worker ample wall-clock time to start on the same tick.
    let settings = [
        set(&mut h, "Seed", &seed.to_string()),
        set(&mut h, "Answer after", "2 beats"),
    ];
    h.process(1, &settings)?;
    let mut pace = Pacer::new(2.0);
    let (mut script, last_off) = phrase(&h, &[62, 65, 69, 67, 65, 64]);
    let spb = h.samples_per_beat();
    let sent = h.run_script(
        ((last_off + 24.0) * spb) as u64,
        256,
        &mut script,
        &mut pace,
    )?;
    Ok(descant_ons(&sent)
        .iter()
        .take(n)
        .map(|o| (o.key, o.sample))
        .collect())
}

#[test]
fn the_same_seed_and_playing_give_the_same_take() -> Result<()> {
    let a = take_with_seed(42, 8)?;
    let b = take_with_seed(42, 8)?;
    let other = take_with_seed(43, 8)?;
    assert!(a.len() >= 3, "too few notes: {a:?}");
    assert_eq!(a, b, "seed 42 twice");
    assert_ne!(a, other, "seeds 42 and 43");
    Ok(())
}

/// Descant's note-ons in the 16 beats after a phrase, with `Density` at `notes_per_beat`.
fn notes_at_density(notes_per_beat: f64) -> Result<usize> {
    let mut h = host(48_000.0, 120.0, 256)?;
    let density = set(
        &mut h,
        "Density",
        &format!("{notes_per_beat:.2} notes/beat"),
    );
    // Four bars of answer to count on (a matched answer to this one-bar phrase is one bar).
    let length = set(&mut h, "Answer length", "4 bars");
    h.process(1, &[density, length])?;
    let mut pace = Pacer::new(SPEED);
    let (mut script, last_off) = phrase(&h, &[60, 62, 64, 65, 67, 65, 64, 62]);
    let spb = h.samples_per_beat();
    let sent = h.run_script(
        ((last_off + 17.0) * spb) as u64,
        256,
        &mut script,
        &mut pace,
    )?;
    Ok(descant_ons(&sent).len())
}

#[test]
fn density_changes_how_many_notes_descant_plays() -> Result<()> {
    let sparse = notes_at_density(0.5)?;
    let dense = notes_at_density(3.0)?;
    assert!(
        dense > sparse + 8,
        "density 0.5 gave {sparse} notes, density 3 gave {dense}"
    );
    Ok(())
}

/// Among Descant's thirds, sixths and sevenths above C in the 32 beats after a C major phrase,
/// with `Key` C major and `Mood` at `mood`: how many are the minor ones, and how many in all.
fn minor_degrees_at_mood(mood: f64) -> Result<(usize, usize)> {
    let mut h = host(48_000.0, 120.0, 256)?;
    // An answer that runs until the player plays again: 32 beats of it to judge on.
    let settings = [
        set(&mut h, "Key", "C major"),
        set(&mut h, "Mood", &format!("{mood:.2}")),
        set(&mut h, "Answer length", "Until you play"),
    ];
    h.process(1, &settings)?;
    let mut pace = Pacer::new(SPEED);
    let (mut script, last_off) = phrase(&h, &[60, 64, 67, 65, 64, 62, 60, 67]);
    let spb = h.samples_per_beat();
    let sent = h.run_script(
        ((last_off + 33.0) * spb) as u64,
        256,
        &mut script,
        &mut pace,
    )?;
    let degrees: Vec<u8> = descant_ons(&sent)
        .iter()
        .map(|n| n.key % 12)
        .filter(|d| matches!(d, 3 | 4 | 8 | 9 | 10 | 11))
        .collect();
    let minor = degrees.iter().filter(|d| matches!(d, 3 | 8 | 10)).count();
    Ok((minor, degrees.len()))
}

#[test]
fn mood_leans_descant_toward_minor_or_major() -> Result<()> {
    let (dark, dark_all) = minor_degrees_at_mood(-1.0)?;
    let (bright, bright_all) = minor_degrees_at_mood(1.0)?;
    assert!(
        dark_all >= 8 && bright_all >= 8,
        "too few notes to judge: {dark_all} and {bright_all}"
    );
    assert!(
        dark * 2 > dark_all && bright * 2 < bright_all,
        "mood -1: {dark} of {dark_all} minor; mood +1: {bright} of {bright_all}"
    );
    Ok(())
}
