//! Offline render: plays a track to the built plugin block by block in offline render mode (the
//! plugin waits for its inference thread, so the result does not depend on the machine) and
//! collects what Descant played. Used by `descant render`, `descant duet` and the host tests.
//!
//! Guarantees: the same plugin, track, settings and seed give the same notes; a render that leaves
//! a note without its note-off (or a note-off without its note-on) is an error, never a result.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::{unmatched, Input, OutNote, PluginHost};

/// Render sample rate.
pub const SAMPLE_RATE: f64 = 48_000.0;
/// Render block size.
pub const BLOCK: u32 = 512;

/// A note of the track, in beats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackNote {
    /// Onset in quarter-note beats.
    pub beat: f64,
    /// Length in beats.
    pub length: f64,
    /// MIDI key.
    pub key: u8,
    /// MIDI channel, 0..=15.
    pub channel: u8,
    /// Velocity, 0..=1.
    pub velocity: f64,
}

/// What is played to the plugin.
#[derive(Debug, Clone, Copy)]
pub struct Track<'a> {
    /// The notes, any order.
    pub notes: &'a [TrackNote],
    /// Tempo changes `(beat, BPM)` by beat, starting at beat 0 (120 BPM when empty).
    pub tempos: &'a [(f64, f64)],
    /// Time signature.
    pub meter: (u8, u8),
    /// Beat where the track ends.
    pub end_beat: f64,
}

impl Track<'_> {
    fn tempo_at(&self, beat: f64) -> f64 {
        self.tempos
            .iter()
            .take_while(|(b, _)| *b <= beat)
            .last()
            .map_or(120.0, |&(_, t)| t)
    }

    /// The notes as host inputs `(beat, input)`, note-offs first at the same beat.
    fn events(&self) -> Vec<(f64, Input)> {
        let mut events = Vec::with_capacity(self.notes.len() * 2);
        for n in self.notes {
            events.push((
                n.beat + n.length,
                Input::NoteOff {
                    offset: 0,
                    key: n.key,
                    channel: n.channel,
                },
            ));
            events.push((
                n.beat,
                Input::NoteOn {
                    offset: 0,
                    key: n.key,
                    channel: n.channel,
                    velocity: n.velocity,
                },
            ));
        }
        events.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then(matches!(a.1, Input::NoteOn { .. }).cmp(&matches!(b.1, Input::NoteOn { .. })))
        });
        events
    }
}

/// The setting that is not a parameter: `Model=ID` chooses a built-in model (see
/// [`PluginHost::choose_builtin_model`]), as the editor's Model list does.
pub const MODEL_SETTING: &str = "Model";

/// Plays `track` to the plugin at `plugin` with parameter `settings` (name, text as the plugin
/// shows them; and [`MODEL_SETTING`]) until `tail_bars` bars after the track's last bar;
/// `progress` is told the beat after every block. Returns what Descant sent (matched note-ons and
/// note-offs) and the last beat rendered.
pub fn render_offline(
    plugin: &Path,
    track: &Track,
    settings: &[(String, String)],
    tail_bars: f64,
    mut progress: impl FnMut(f64),
) -> Result<(Vec<OutNote>, f64)> {
    let mut host = PluginHost::load(plugin, SAMPLE_RATE, BLOCK)?;
    host.set_offline()?;
    let mut inputs = Vec::new();
    for (_, id) in settings.iter().filter(|(name, _)| name == MODEL_SETTING) {
        host.choose_builtin_model(id)?;
    }
    for (name, text) in settings.iter().filter(|(name, _)| name != MODEL_SETTING) {
        let normalized = host
            .text_to_value(name, text)
            .with_context(|| format!("parameter '{name}' has no value '{text}'"))?;
        let name: &'static str = Box::leak(name.clone().into_boxed_str());
        inputs.push(Input::Param {
            offset: 0,
            name,
            normalized,
        });
    }
    host.transport.playing = true;
    host.transport.time_sig = (u16::from(track.meter.0), u16::from(track.meter.1));
    host.transport.tempo = track.tempo_at(0.0);
    let bar_beats = f64::from(track.meter.0) * 4.0 / f64::from(track.meter.1);
    let end_beat = (track.end_beat / bar_beats).ceil() * bar_beats + tail_bars * bar_beats;
    let mut events = track.events();
    events.reverse();
    let mut sent = Vec::new();
    while host.beat < end_beat {
        host.transport.tempo = track.tempo_at(host.beat);
        let spb = host.samples_per_beat();
        let block_end = host.beat + f64::from(BLOCK) / spb;
        while events.last().is_some_and(|(beat, _)| *beat < block_end) {
            let Some((beat, input)) = events.pop() else {
                break;
            };
            let offset = ((beat - host.beat) * spb)
                .floor()
                .clamp(0.0, f64::from(BLOCK - 1));
            inputs.push(input.with_offset(offset as u32));
        }
        sent.extend(host.process(BLOCK, &inputs)?.1);
        inputs.clear();
        progress(host.beat);
    }
    host.transport.playing = false;
    sent.extend(host.process(BLOCK, &[])?.1);
    let (hanging, orphans) = unmatched(&sent);
    if !hanging.is_empty() || !orphans.is_empty() {
        bail!("the plugin left notes unmatched: {hanging:?} {orphans:?}");
    }
    Ok((sent, end_beat))
}

/// Pairs note-ons and note-offs into `(onset beat, length, key, channel, velocity)`, by onset.
pub fn paired(sent: &[OutNote]) -> Vec<(f64, f64, u8, u8, f64)> {
    let mut notes = Vec::new();
    let mut open: Vec<OutNote> = Vec::new();
    for n in sent {
        if n.on {
            open.push(*n);
        } else if let Some(i) = open
            .iter()
            .position(|o| o.key == n.key && o.channel == n.channel)
        {
            let on = open.remove(i);
            notes.push((
                on.beat,
                (n.beat - on.beat).max(0.0),
                on.key,
                on.channel,
                on.velocity,
            ));
        }
    }
    notes.sort_by(|a, b| a.0.total_cmp(&b.0));
    notes
}
