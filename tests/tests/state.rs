//! Host tests of Descant's state in a host project: exact round trip (parameters, editor, the kept
//! loop take), loading projects saved by 0.1 and 0.2, and damaged blobs. The built debug `Descant.clap`
//! through `clack-host` and the CLAP state extension. Run by `cargo xtask test`.

use anyhow::Result;
use descant_host_tests::{
    cycle_notes, phrase_script, test_plugin_path, Input, OutNote, Pacer, PluginHost,
};

/// Wall-clock speed of the tests relative to real time.
const SPEED: f64 = 3.0;
/// Block size.
const BLOCK: u32 = 256;
/// A project saved by Descant 0.1.0 (Style Chorale, Density 1.5, Seed 42, Key D minor, Scale lock
/// 80 %, Pass through off; the rest default), written by that build through this host.
const STATE_0_1: &[u8] = include_bytes!("../fixtures/state-0.1.0.bin");
/// A project saved by Descant 0.2.0 (Loop with Keep on and a kept take, Style Chorale, Seed 7,
/// Humanize 30 %, Density 2.0, Ending Open, Phrase length 2 bars, Voice Below, Key G major, Pass
/// through off; the rest default), written by that build through this host.
const STATE_0_2: &[u8] = include_bytes!("../fixtures/state-0.2.0.bin");

/// A state blob as nice-plug frames it in the CLAP stream: the JSON's length, then the JSON.
fn framed(json: &str) -> Vec<u8> {
    let mut blob = (json.len() as u64).to_le_bytes().to_vec();
    blob.extend_from_slice(json.as_bytes());
    blob
}

/// The JSON inside a blob.
fn json_of(blob: &[u8]) -> serde_json::Value {
    serde_json::from_slice(&blob[8..]).expect("the blob is framed JSON")
}

/// Runs two 8-beat loop cycles from beat 0; returns the notes and where the loop began.
fn two_cycles(h: &mut PluginHost) -> Result<(Vec<OutNote>, u64, u64)> {
    h.transport.loop_beats = Some((0.0, 8.0));
    h.seek(0.0);
    let base = h.sample_pos;
    let len = (8.0 * h.samples_per_beat()) as u64;
    let sent = h.run_beats(16.0, BLOCK, &mut Pacer::new(SPEED))?;
    Ok((sent, base, len))
}

#[test]
fn state_round_trips_exactly_and_a_kept_take_plays_again_after_loading() -> Result<()> {
    let mut a = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    for (name, text) in [
        ("Pass through", "Off"),
        ("Mode", "Loop"),
        ("Keep", "On"),
        ("Humanize", "30%"),
        ("Seed", "7"),
        ("Style", "Chorale"),
        ("Density", "2.0"),
    ] {
        a.set_text(name, text)?;
    }
    let (sent, base, len) = two_cycles(&mut a)?;
    let kept = cycle_notes(&sent, base, 1, len);
    assert!(kept.len() >= 4, "a take was kept: {kept:?}");
    let blob = a.save_state()?;
    let take = &json_of(&blob)["fields"]["kept-take"];
    assert!(take.as_str().is_some_and(|t| t.contains("notes")), "{take}");

    let mut b = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    b.load_state(&blob)?;
    assert_eq!(
        b.save_state()?,
        blob,
        "save → load → save gives the same bytes"
    );
    for name in a.param_names() {
        assert_eq!(a.param_text(&name)?, b.param_text(&name)?, "{name}");
    }
    let (sent, base, len) = two_cycles(&mut b)?;
    assert_eq!(
        cycle_notes(&sent, base, 1, len),
        kept,
        "the loaded project replays its kept take note for note"
    );
    Ok(())
}

#[test]
fn a_project_saved_by_0_1_keeps_its_values_and_answers_until_the_player_plays() -> Result<()> {
    let mut h = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    h.load_state(STATE_0_1)?;
    for (name, text) in [
        ("Seed", "42"),
        ("Key", "D minor"),
        ("Density", "1.50 notes/beat"),
        ("Scale lock", "80%"),
        ("Pass through", "Off"),
        ("Mode", "Answer"),
        ("Answer length", "Until you play"),
        ("Phrase length", "Off"),
    ] {
        assert_eq!(h.param_text(name)?, text, "{name}");
    }
    // 0.1 answered until the player played again: longer than the new default of 4 bars.
    let spb = h.samples_per_beat();
    let (mut script, _) = phrase_script(spb, 1.0, &[62, 65, 69, 67]);
    let sent = h.run_script(
        (30.0 * spb) as u64,
        BLOCK,
        &mut script,
        &mut Pacer::new(SPEED),
    )?;
    let late = sent.iter().filter(|n| n.on && n.beat > 4.5 + 16.5).count();
    assert!(late > 0, "still answering after 4 bars: {sent:?}");
    // It played the non-commercial model, the built-in one of its day, and still does: its
    // Chorale is there (the style list follows the model once it has loaded).
    assert_eq!(h.param_text("Style")?, "Chorale");
    Ok(())
}

#[test]
fn a_project_saved_by_0_2_opens_with_its_settings_and_replays_its_kept_take() -> Result<()> {
    let mut h = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    h.load_state(STATE_0_2)?;
    for (name, text) in [
        ("Mode", "Loop"),
        ("Keep", "On"),
        ("Seed", "7"),
        ("Humanize", "30%"),
        ("Density", "2.00 notes/beat"),
        ("Ending", "Open"),
        ("Phrase length", "2 bars"),
        ("Voice", "Below"),
        ("Key", "G major"),
        ("Pass through", "Off"),
        ("Answer length", "Match the call"),
    ] {
        assert_eq!(h.param_text(name)?, text, "{name}");
    }
    let saved_by_0_2 = json_of(STATE_0_2);
    let take: serde_json::Value = serde_json::from_str(
        saved_by_0_2["fields"]["kept-take"]
            .as_str()
            .expect("the 0.2 project kept a take"),
    )?;
    let keys: Vec<u64> = take["notes"]
        .as_array()
        .expect("the take's notes")
        .iter()
        .filter_map(|n| n["key"].as_u64())
        .collect();
    assert!(keys.len() >= 4, "{take}");
    let (sent, base, len) = two_cycles(&mut h)?;
    let replayed: Vec<u64> = cycle_notes(&sent, base, 1, len)
        .iter()
        .map(|n| u64::from(n.0))
        .collect();
    assert_eq!(replayed, keys, "the kept take plays again note for note");
    assert_eq!(
        h.param_text("Style")?,
        "Chorale",
        "the non-commercial model plays"
    );
    // Saved again, it is a project of this version with the same settings.
    let saved = json_of(&h.save_state()?);
    assert_eq!(saved["version"], env!("CARGO_PKG_VERSION"));
    // (`Answer now`, new since, saved at its default.)
    let mut params = saved["params"].clone();
    let answer_now = params.as_object_mut().and_then(|p| p.remove("answer_now"));
    assert_eq!(answer_now, Some(serde_json::json!({ "bool": false })));
    assert_eq!(params, saved_by_0_2["params"]);
    Ok(())
}

#[test]
fn a_project_saved_before_phrase_length_keeps_its_lines_running_on() -> Result<()> {
    let mut a = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    assert_eq!(a.param_text("Phrase length")?, "4 bars", "the default");
    a.set_text("Seed", "11")?;
    let saved = a.save_state()?;
    // This build saves the parameter, and its projects load with it.
    let mut json = json_of(&saved);
    assert!(json["params"]["phrase"].is_object(), "{json}");
    let mut b = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    b.load_state(&saved)?;
    assert_eq!(b.param_text("Phrase length")?, "4 bars");
    // The same project without it (as a 0.2 build before it saved it) plays as it did: Off.
    json["params"].as_object_mut().unwrap().remove("phrase");
    let mut c = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    c.load_state(&framed(&json.to_string()))?;
    assert_eq!(c.param_text("Phrase length")?, "Off");
    assert_eq!(c.param_text("Seed")?, "11", "the rest loads");
    Ok(())
}

#[test]
fn a_damaged_blob_is_refused_and_damaged_fields_fall_back_to_defaults() -> Result<()> {
    let mut h = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    h.set_text("Seed", "5")?;
    for garbage in [&b"\x05\0\0\0\0\0\0\0{{{{{"[..], b"", &[0xFF; 64][..]] {
        assert!(h.load_state(garbage).is_err(), "{garbage:?} refused");
    }
    assert_eq!(h.param_text("Seed")?, "5", "a refused blob changes nothing");
    // Valid JSON with a damaged take and an absurd window size: the take is dropped, the size
    // bounded, the rest loads.
    let bad_take =
        r#"{"cycle_beats":8,"model":"x","notes":[{"onset":9,"length":1,"key":60,"velocity":0.5}]}"#;
    let json = serde_json::json!({
        "version": "0.2.0",
        "params": { "seed": { "i32": 9 } },
        "fields": {
            "kept-take": bad_take,
            "editor": r#"{"width":99999999,"height":1,"take_bars":8}"#,
            "something-else": "1",
        }
    });
    h.load_state(&framed(&json.to_string()))?;
    assert_eq!(h.param_text("Seed")?, "9");
    let saved = json_of(&h.save_state()?);
    assert_eq!(saved["fields"]["kept-take"], "null", "{saved}");
    let editor: serde_json::Value =
        serde_json::from_str(saved["fields"]["editor"].as_str().unwrap_or("{}"))?;
    assert_eq!(
        (editor["width"].as_u64(), editor["height"].as_u64()),
        (Some(2400), Some(480))
    );
    // MIDI still passes through.
    let (_, out) = h.process(
        BLOCK,
        &[Input::NoteOn {
            offset: 7,
            key: 50,
            channel: 2,
            velocity: 0.6,
        }],
    )?;
    assert!(
        out.iter().any(|n| n.on && n.key == 50 && n.offset == 7),
        "{out:?}"
    );
    Ok(())
}

/// Offline from beat 0: a phrase, then 16 beats of Continue; Descant's notes by beat.
fn continue_take(h: &mut PluginHost) -> Result<Vec<(u8, bool, i64, u32)>> {
    h.set_offline()?;
    h.seek(0.0);
    let spb = h.samples_per_beat();
    let (script, _) = phrase_script(spb, 1.0, &[60, 64, 67, 72]);
    // The script counts samples from beat 0; the host's sample counter has run on.
    let start = h.sample_pos;
    let mut script: Vec<(u64, Input)> = script.into_iter().map(|(at, i)| (at + start, i)).collect();
    let sent = h.run_script(
        start + (16.0 * spb) as u64,
        BLOCK,
        &mut script,
        &mut Pacer::new(f64::INFINITY),
    )?;
    Ok(sent
        .iter()
        .map(|n| {
            (
                n.key,
                n.on,
                (n.beat * 1e6).round() as i64,
                (n.velocity * 1e4).round() as u32,
            )
        })
        .collect())
}

#[test]
fn a_loaded_project_plays_what_the_saved_one_played() -> Result<()> {
    let mut a = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    for (name, text) in [
        ("Pass through", "Off"),
        ("Mode", "Continue"),
        ("Seed", "11"),
        ("Temperature", "1.2"),
        ("Style", "Irish & Scottish"),
        ("Humanize", "25%"),
    ] {
        a.set_text(name, text)?;
    }
    let blob = a.save_state()?;
    let mut b = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    b.load_state(&blob)?;
    let played = continue_take(&mut a)?;
    assert!(played.iter().filter(|n| n.1).count() >= 8, "{played:?}");
    assert_eq!(
        continue_take(&mut b)?,
        played,
        "the same input gives the same notes after save and load"
    );
    Ok(())
}

/// A model learned by `descant learn` (`training/learn.py`, one minute, without corpus replay) from
/// the Phrygian fixture of `training/test_learn.py`: it declares the style "yours" after the
/// built-in ones, and its idiom is a dotted rhythm (a dotted eighth on the beat, then a sixteenth).
const LEARNED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/learned/descant.onnx");

/// The project's `model` field naming `path` with `sha256`, set in a saved blob.
fn with_model_choice(blob: &[u8], path: &str, sha256: &str) -> Vec<u8> {
    let mut json = json_of(blob);
    let choice = serde_json::json!({ "path": path, "sha256": sha256 });
    json["fields"]["model"] = serde_json::Value::String(choice.to_string());
    framed(&json.to_string())
}

/// The share of Descant's on-beat notes that the next note follows a dotted eighth later.
fn dotted_share(take: &[(u8, bool, i64, u32)]) -> f64 {
    let onsets: Vec<i64> = take.iter().filter(|n| n.1).map(|n| n.2).collect();
    let (mut on_beat, mut dotted) = (0, 0);
    for pair in onsets.windows(2) {
        if pair[0] % 1_000_000 == 0 {
            on_beat += 1;
            dotted += usize::from(pair[1] - pair[0] == 750_000);
        }
    }
    dotted as f64 / f64::from(on_beat.max(1))
}

#[test]
fn a_learned_model_the_project_chose_plays_and_a_changed_one_falls_back() -> Result<()> {
    // The picker lists the learned model as the models folder holds it, with its own style.
    let listed = descant_inference::files::catalog::scan(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures"
    )));
    let learned = listed
        .iter()
        .find(|m| m.path.as_deref() == Some(std::path::Path::new(LEARNED)))
        .expect("the picker lists the learned model");
    assert_eq!(learned.problem, None);
    assert_eq!(learned.styles.last().map(String::as_str), Some("Yours"));
    assert!(
        learned.licence.contains("Non-commercial"),
        "{}",
        learned.licence
    );
    let sha = descant_inference::worker::choice::sidecar_digest(std::path::Path::new(LEARNED))
        .map_err(anyhow::Error::msg)?;

    let mut a = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    for (name, text) in [
        ("Pass through", "Off"),
        ("Mode", "Continue"),
        ("Seed", "5"),
        ("Style", "Yours"),
    ] {
        a.set_text(name, text)?;
    }
    let blob = a.save_state()?;
    let built_in = continue_take(&mut a)?;
    assert_eq!(a.param_text("Style")?, "Yours (not in this model: Any)");

    // The project chose the learned model: it plays it, in its own style, and keeps the choice.
    let chosen = with_model_choice(&blob, LEARNED, &sha);
    let mut b = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    b.load_state(&chosen)?;
    let learned_take = continue_take(&mut b)?;
    assert!(
        learned_take.iter().filter(|n| n.1).count() >= 8,
        "the learned model plays: {learned_take:?}"
    );
    assert_ne!(learned_take, built_in, "a different model plays");
    assert_eq!(
        b.param_text("Style")?,
        "Yours",
        "the Style list follows the model"
    );
    let kept = &json_of(&b.save_state()?)["fields"]["model"];
    assert!(
        kept.as_str().is_some_and(|k| k.contains(&sha)),
        "the project keeps its choice: {kept}"
    );
    let (mine, shipped) = (dotted_share(&learned_take), dotted_share(&built_in));
    println!("dotted after an on-beat note: learned {mine:.2}, built-in {shipped:.2}");
    assert!(
        mine >= 0.15 && mine > shipped + 0.1,
        "the learned idiom is heard: learned {mine:.2}, built-in {shipped:.2}"
    );

    // The same project after the file changed: the default model plays, note for note, and the
    // project still names the learned model (its file may be put back).
    let changed = with_model_choice(&blob, LEARNED, &"0".repeat(64));
    let mut c = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    c.load_state(&changed)?;
    assert_eq!(continue_take(&mut c)?, built_in, "the default model plays");
    let kept = &json_of(&c.save_state()?)["fields"]["model"];
    assert!(
        kept.as_str().is_some_and(|k| k.contains(&"0".repeat(64))),
        "{kept}"
    );
    Ok(())
}

/// The text of `Style`'s Chorale value, which follows the loaded model's styles: the
/// non-commercial model has a Chorale, `descant-open` does not.
fn chorale_text(h: &mut PluginHost) -> Result<String> {
    h.value_to_text("Style", 4.0 / 6.0)
}

#[test]
fn a_new_project_plays_the_open_model_and_one_saved_before_it_the_non_commercial_one() -> Result<()>
{
    let settings = [("Pass through", "Off"), ("Mode", "Continue"), ("Seed", "5")];
    // A new project plays the default model, `descant-open`, and says so when saved.
    let mut fresh = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    for (name, text) in settings {
        fresh.set_text(name, text)?;
    }
    let open_take = continue_take(&mut fresh)?;
    assert_eq!(
        chorale_text(&mut fresh)?,
        "Chorale (not in this model: Any)"
    );
    assert_eq!(fresh.value_to_text("Style", 3.0 / 6.0)?, "Irish & Scottish");
    let saved = json_of(&fresh.save_state()?);
    let choice: serde_json::Value =
        serde_json::from_str(saved["fields"]["model"].as_str().unwrap_or("null"))?;
    assert_eq!(choice["builtin"], "default", "{saved}");
    // Reopened, it still plays the default model.
    let mut reopened = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    reopened.load_state(&fresh.save_state()?)?;
    assert_eq!(
        continue_take(&mut reopened)?,
        open_take,
        "the same model, the same take"
    );
    assert_eq!(
        chorale_text(&mut reopened)?,
        "Chorale (not in this model: Any)"
    );

    // A project saved by 0.2.0 never chose a model: it played the non-commercial one, and
    // still does, and keeps saying nothing.
    let mut old = PluginHost::load(&test_plugin_path(), 48_000.0, 1024)?;
    old.load_state(STATE_0_2)?;
    continue_take(&mut old)?;
    assert_eq!(chorale_text(&mut old)?, "Chorale");
    assert_eq!(json_of(&old.save_state()?)["fields"]["model"], "null");

    // The Model list's second built-in entry, chosen by its id.
    fresh.choose_builtin_model("descant")?;
    let chosen_take = continue_take(&mut fresh)?;
    assert_eq!(chorale_text(&mut fresh)?, "Chorale");
    assert_ne!(chosen_take, open_take, "another model plays");
    Ok(())
}
