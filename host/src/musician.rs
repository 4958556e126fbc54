//! A simulated musician for the session's taste: plays calls (the first two bars of the 4/4
//! melodies of [`crate::melodies`], in turn), listens to each answer of the built plugin
//! (offline render, Answer mode) and presses `Keep` or `Again` by a rule of its own, so the
//! figures say whether Descant learns what this musician likes. Used by the host test of the
//! taste and by `descant taste`.
//!
//! Guarantees: the same plugin, seed and musician give the same session (offline render); one
//! judged answer per round, the first to each call (an `Again`'s redraw plays, unjudged, before
//! the next call).

use std::path::Path;

use anyhow::Result;

use crate::events::{Input, OutNote};
use crate::host::PluginHost;
use crate::melodies::{Melody, MELODIES};
use crate::pace::Pacer;

/// Block size.
const BLOCK: u32 = 256;
/// Beats per round: a two-bar call, its answer from the bar line at +12, a press at +21, room
/// for a redraw (+24 to +32) before the next call.
pub const ROUND: f64 = 40.0;

/// How a simulated musician answers an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Musician {
    /// Presses nothing.
    Silent,
    /// Keeps answers that leap at least as often as the answers heard before did, on average,
    /// and asks again for the others.
    LovesLeaps,
}

/// A host on `plugin`, offline, in Answer mode with `seed`, pass-through off (every note out is
/// Descant's), answering a beat after the call.
pub fn answer_host(plugin: &Path, seed: u32) -> Result<PluginHost> {
    let mut h = PluginHost::load(plugin, 48_000.0, 4096)?;
    h.set_offline()?;
    h.transport.tempo = 120.0;
    h.set_text("Pass through", "Off")?;
    h.set_text("Mode", "Answer")?;
    h.set_text("Answer after", "1.00 beats")?;
    h.set_text("Seed", &seed.to_string())?;
    h.seek(0.0);
    Ok(h)
}

/// The `k`th 4/4 melody (in turn).
fn melody(k: usize) -> &'static Melody {
    let four_four: Vec<&'static Melody> = MELODIES.iter().filter(|m| m.meter == (4, 4)).collect();
    four_four[k % four_four.len()]
}

/// The first two bars of the `k`th 4/4 melody from `at` (beats), as a script of samples.
pub fn call_script(h: &PluginHost, k: usize, at: f64) -> Vec<(u64, Input)> {
    let (notes, _) = melody(k).notes();
    let spb = h.samples_per_beat();
    let sample = |beat: f64| h.sample_pos + ((beat - h.beat) * spb).round() as u64;
    let mut script = Vec::new();
    for n in notes.iter().filter(|n| n.beat < 8.0) {
        let on = at + n.beat;
        script.push((
            sample(on),
            Input::NoteOn {
                offset: 0,
                key: n.key,
                channel: 0,
                velocity: 0.8,
            },
        ));
        script.push((
            sample(on + n.length.min(8.0 - n.beat) * 0.9),
            Input::NoteOff {
                offset: 0,
                key: n.key,
                channel: 0,
            },
        ));
    }
    script
}

/// Runs `h` offline until `beat` with `script`.
pub fn run_to(
    h: &mut PluginHost,
    beat: f64,
    script: &mut Vec<(u64, Input)>,
) -> Result<Vec<OutNote>> {
    let end = h.sample_pos + ((beat - h.beat) * h.samples_per_beat()).round() as u64;
    h.run_script(end, BLOCK, script, &mut Pacer::new(f64::INFINITY))
}

/// Flips the switch `name` (one press).
pub fn press(h: &mut PluginHost, name: &'static str) -> Result<Vec<OutNote>> {
    let to = if h.param_text(name)? == "On" {
        "Off"
    } else {
        "On"
    };
    let normalized = h.text_to_value(name, to)?;
    Ok(h.process(
        BLOCK,
        &[Input::Param {
            offset: 0,
            name,
            normalized,
        }],
    )?
    .1)
}

/// The share of a line's intervals that are leaps (a 4th or more).
pub fn leap_share(notes: &[OutNote]) -> f64 {
    let keys: Vec<i32> = notes
        .iter()
        .filter(|n| n.on)
        .map(|n| i32::from(n.key))
        .collect();
    if keys.len() < 2 {
        return 0.0;
    }
    let leaps = keys.windows(2).filter(|w| (w[1] - w[0]).abs() >= 5).count();
    leaps as f64 / (keys.len() - 1) as f64
}

/// One session: the leap share of each judged answer, and every note Descant sent.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// Each judged answer's leap share, in order.
    pub shares: Vec<f64>,
    /// Whether each judged answer ended on its call's tonic (what `Ending = Home` asks).
    pub home: Vec<bool>,
    /// Every note out, in order.
    pub notes: Vec<OutNote>,
}

/// `answers` rounds of call, answer and press (calls from the `first`th melody on).
pub fn session(
    h: &mut PluginHost,
    musician: Musician,
    answers: usize,
    first: usize,
) -> Result<Session> {
    let mut s = Session::default();
    for k in 0..answers {
        let at = h.beat.ceil() + ROUND - h.beat.ceil() % ROUND;
        let mut script = call_script(h, first + k, at);
        s.notes.extend(run_to(h, at + 8.0, &mut script)?);
        // A beat of silence, then the answer from the bar line at +12 for two bars.
        let answer = run_to(h, at + 21.0, &mut Vec::new())?;
        anyhow::ensure!(answer.iter().any(|n| n.on), "answer {k} was not played");
        let share = leap_share(&answer);
        let last = answer.iter().rfind(|n| n.on).map(|n| n.key % 12);
        s.home.push(last == Some(melody(first + k).scale.tonic));
        let heard = s.shares.iter().sum::<f64>() / s.shares.len().max(1) as f64;
        s.shares.push(share);
        s.notes.extend(answer);
        match musician {
            Musician::Silent => {}
            Musician::LovesLeaps if share >= heard.max(0.01) => {
                s.notes.extend(press(h, "Keep")?);
            }
            Musician::LovesLeaps => s.notes.extend(press(h, "Again")?),
        }
        s.notes.extend(run_to(h, at + 34.0, &mut Vec::new())?);
    }
    Ok(s)
}

/// The project's taste as `h` would save it: `(choices, leaps weight)`.
pub fn saved_taste(h: &mut PluginHost) -> Result<(u64, f64)> {
    let blob = h.save_state()?;
    let json: serde_json::Value = serde_json::from_slice(&blob[8..])?;
    let taste: serde_json::Value =
        serde_json::from_str(json["fields"]["taste"].as_str().unwrap_or("null"))?;
    Ok((
        taste["choices"].as_u64().unwrap_or(0),
        taste["weights"]["leaps"].as_f64().unwrap_or(0.0),
    ))
}

/// `Reset taste`, as the editor's button does it (the taste set to none), through the project:
/// the state saved, its taste replaced by none, loaded again while playing.
pub fn reset_taste(h: &mut PluginHost) -> Result<()> {
    let blob = h.save_state()?;
    let mut json: serde_json::Value = serde_json::from_slice(&blob[8..])?;
    json["fields"]["taste"] = serde_json::Value::String(
        r#"{"version":1,"choices":0,"weights":{"leaps":0,"repeats":0,"range":0,"busy":0,"density":0,"echo":0,"height":0}}"#
            .to_owned(),
    );
    let text = json.to_string();
    let mut framed = (text.len() as u64).to_le_bytes().to_vec();
    framed.extend_from_slice(text.as_bytes());
    h.load_state_while_active(&framed)
}

/// The mean of `xs` (0 for none).
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}
