//! The host itself: loading, activating and processing the plugin, its parameters and state.

use std::collections::HashMap;
use std::ffi::CString;
use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clack_extensions::params::{ParamInfoBuffer, ParamInfoFlags, PluginParams};
use clack_extensions::render::{PluginRender, RenderMode};
use clack_extensions::state::PluginState;
use clack_host::events::event_types::{
    MidiEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent, TransportEvent, TransportFlags,
};
use clack_host::events::{EventFlags, EventHeader, Match};
use clack_host::prelude::*;
use clack_host::utils::{BeatTime, SecondsTime};

use crate::events::{HostTransport, Input, OutNote};
use crate::pace::Pacer;

/// A loaded, activated Descant instance and the host state around it. (Fourteen fields: the
/// CLAP handles, the event buffers reused from block to block and the transport the tests set,
/// each read by name by the tests.)
pub struct PluginHost {
    /// The started audio processor (None while deactivated).
    processor: Option<StartedPluginAudioProcessor<()>>,
    /// The instance (main-thread side).
    instance: PluginInstance<()>,
    /// The loaded `.clap` (kept alive while the instance exists).
    _entry: PluginEntry,
    /// Sample rate of the activation.
    pub sample_rate: f64,
    /// Largest block the host will send.
    max_block: u32,
    /// Absolute sample position of the next block.
    pub sample_pos: u64,
    /// Wall time of the plugin's own `process()` call in the latest block (benches).
    pub last_process: std::time::Duration,
    /// Beat position of the next block.
    pub beat: f64,
    /// The transport reported to the plugin.
    pub transport: HostTransport,
    /// Whether to send a transport at all (false: as a host without one).
    pub send_transport: bool,
    /// Parameter ids and CLAP value ranges by name.
    param_ids: HashMap<String, ParamSpec>,
    /// Reused input buffer.
    in_events: EventBuffer,
    /// Reused output buffer.
    out_events: EventBuffer,
    /// Every note the plugin has sent.
    pub sent: Vec<OutNote>,
}

impl PluginHost {
    /// Loads `clap`, instantiates Descant and activates it.
    pub fn load(clap: &Path, sample_rate: f64, max_block: u32) -> Result<PluginHost> {
        let mut host = PluginHost::load_inactive(clap, sample_rate, max_block)?;
        host.activate()?;
        Ok(host)
    }

    /// Loads `clap` and instantiates Descant without activating it (what a host does when it
    /// scans plugins or builds a project before playback).
    pub fn load_inactive(clap: &Path, sample_rate: f64, max_block: u32) -> Result<PluginHost> {
        if !clap.is_file() {
            bail!(
                "{} not found: run `cargo xtask test` (it bundles the debug plugin first)",
                clap.display()
            );
        }
        // SAFETY: loading a CLAP runs its entry's init; the file is the plugin this project built.
        let entry = unsafe { PluginEntry::load(clap) }
            .map_err(|e| anyhow!("loading {}: {e:?}", clap.display()))?;
        let factory = entry
            .get_plugin_factory()
            .context("the .clap has no plugin factory")?;
        let id = factory
            .plugin_descriptors()
            .find_map(|d| d.id().map(CString::from))
            .context("the .clap lists no plugin")?;
        let host_info = HostInfo::new("descant-tests", "Descant", "https://descant.invalid", "0.1")
            .map_err(|e| anyhow!("{e:?}"))?;
        let mut instance = PluginInstance::<()>::new(|_| (), |_| (), &entry, &id, &host_info)
            .map_err(|e| anyhow!("instantiating: {e:?}"))?;
        let param_ids = read_param_ids(&mut instance)?;
        let host = PluginHost {
            processor: None,
            instance,
            _entry: entry,
            sample_rate,
            max_block,
            sample_pos: 0,
            last_process: std::time::Duration::ZERO,
            beat: 0.0,
            transport: HostTransport {
                playing: true,
                tempo: 120.0,
                time_sig: (4, 4),
                loop_beats: None,
            },
            send_transport: true,
            param_ids,
            in_events: EventBuffer::with_capacity(256),
            out_events: EventBuffer::with_capacity(1024),
            sent: Vec::new(),
        };
        Ok(host)
    }

    /// Activates and starts processing.
    pub fn activate(&mut self) -> Result<()> {
        let config = PluginAudioConfiguration {
            sample_rate: self.sample_rate,
            min_frames_count: 1,
            max_frames_count: self.max_block,
        };
        let stopped = self
            .instance
            .activate(|_, _| (), config)
            .map_err(|e| anyhow!("activate: {e:?}"))?;
        self.processor = Some(
            stopped
                .start_processing()
                .map_err(|e| anyhow!("start_processing: {e:?}"))?,
        );
        Ok(())
    }

    /// Whether the plugin is active.
    pub fn is_active(&self) -> bool {
        self.processor.is_some()
    }

    /// Asks the active plugin to reset (CLAP `reset`: clear buffers and voices) between blocks.
    pub fn reset(&mut self) -> Result<()> {
        self.processor
            .as_mut()
            .context("plugin is not active")?
            .reset();
        Ok(())
    }

    /// Stops and restarts processing without deactivating (hosts do this when a track goes
    /// silent and comes back).
    pub fn restart_processing(&mut self) -> Result<()> {
        let started = self.processor.take().context("plugin is not active")?;
        self.processor = Some(
            started
                .stop_processing()
                .start_processing()
                .map_err(|e| anyhow!("start_processing: {e:?}"))?,
        );
        Ok(())
    }

    /// Loads a state blob while the plugin stays active and processing (a host that loads a
    /// preset during playback).
    pub fn load_state_while_active(&mut self, blob: &[u8]) -> Result<()> {
        let handle = self.instance.plugin_handle();
        let state: PluginState = handle.get_extension().context("no state extension")?;
        state
            .load(&handle, &mut std::io::Cursor::new(blob))
            .map_err(|e| anyhow!("state load: {e}"))
    }

    /// Stops processing and deactivates.
    pub fn deactivate(&mut self) {
        if let Some(p) = self.processor.take() {
            self.instance.deactivate(p.stop_processing());
        }
    }

    /// Samples per beat at the current tempo.
    pub fn samples_per_beat(&self) -> f64 {
        self.sample_rate * 60.0 / self.transport.tempo
    }

    /// Moves the playhead to `beat` (a seek) at the current sample position.
    pub fn seek(&mut self, beat: f64) {
        self.beat = beat;
    }

    fn transport_event(&self) -> TransportEvent {
        let t = self.transport;
        let mut flags = TransportFlags::HAS_TEMPO
            | TransportFlags::HAS_BEATS_TIMELINE
            | TransportFlags::HAS_SECONDS_TIMELINE
            | TransportFlags::HAS_TIME_SIGNATURE;
        if t.playing {
            flags |= TransportFlags::IS_PLAYING;
        }
        let (loop_start, loop_end) = t.loop_beats.unwrap_or((0.0, 0.0));
        if t.loop_beats.is_some() {
            flags |= TransportFlags::IS_LOOP_ACTIVE;
        }
        let bar_beats = f64::from(t.time_sig.0) * 4.0 / f64::from(t.time_sig.1);
        let bar = (self.beat / bar_beats).floor();
        let secs = |beats: f64| SecondsTime::from_float(beats * 60.0 / t.tempo);
        TransportEvent {
            header: EventHeader::new_core(0, EventFlags::empty()),
            flags,
            song_pos_beats: BeatTime::from_float(self.beat),
            song_pos_seconds: secs(self.beat),
            tempo: t.tempo,
            tempo_inc: 0.0,
            loop_start_beats: BeatTime::from_float(loop_start),
            loop_end_beats: BeatTime::from_float(loop_end),
            loop_start_seconds: secs(loop_start),
            loop_end_seconds: secs(loop_end),
            bar_start: BeatTime::from_float(bar * bar_beats),
            bar_number: bar as i32,
            time_signature_numerator: t.time_sig.0,
            time_signature_denominator: t.time_sig.1,
        }
    }

    /// Processes one block of `frames` samples with `inputs`; returns the plugin's status and the
    /// notes it sent in this block. Advances the playhead (and wraps it at the loop end).
    pub fn process(
        &mut self,
        frames: u32,
        inputs: &[Input],
    ) -> Result<(ProcessStatus, Vec<OutNote>)> {
        if frames == 0 || frames > self.max_block {
            bail!("block of {frames} frames outside 1..={}", self.max_block);
        }
        self.queue_inputs(inputs)?;
        self.out_events.clear();
        let transport = self.transport_event();
        let processor = self.processor.as_mut().context("plugin is not active")?;
        // SAFETY: there are no channel buffers; the frame count only sets the block length.
        let audio_in = unsafe { InputAudioBuffers::from_raw_buffers(&[], frames) };
        let mut no_outputs = [];
        // SAFETY: as above, no buffers are read or written.
        let mut audio_out =
            unsafe { OutputAudioBuffers::from_raw_buffers(&mut no_outputs, frames) };
        let started = Instant::now();
        let status = processor
            .process(
                &audio_in,
                &mut audio_out,
                &InputEvents::from_buffer(&self.in_events),
                &mut OutputEvents::from_buffer(&mut self.out_events),
                Some(self.sample_pos),
                self.send_transport.then_some(&transport),
            )
            .map_err(|e| anyhow!("process: {e:?}"))?;
        self.last_process = started.elapsed();
        let notes = self.notes_out(frames)?;
        self.sent.extend_from_slice(&notes);
        self.sample_pos += u64::from(frames);
        if self.transport.playing {
            self.beat += f64::from(frames) / self.samples_per_beat();
            if let Some((start, end)) = self.transport.loop_beats {
                if self.beat >= end {
                    self.beat = start + (self.beat - end);
                }
            }
        }
        Ok((status, notes))
    }

    /// Queues `inputs` as the block's CLAP input events (a parameter by its name).
    fn queue_inputs(&mut self, inputs: &[Input]) -> Result<()> {
        self.in_events.clear();
        for input in inputs {
            match *input {
                Input::NoteOn {
                    offset,
                    key,
                    channel,
                    velocity,
                } => self.in_events.push(&NoteOnEvent::new(
                    offset,
                    Pckn::new(0u16, u16::from(channel), u16::from(key), Match::All),
                    velocity,
                )),
                Input::NoteOff {
                    offset,
                    key,
                    channel,
                } => self.in_events.push(&NoteOffEvent::new(
                    offset,
                    Pckn::new(0u16, u16::from(channel), u16::from(key), Match::All),
                    0.0,
                )),
                Input::Cc {
                    offset,
                    channel,
                    cc,
                    value,
                } => self.in_events.push(&MidiEvent::new(
                    offset,
                    0,
                    [0xB0 | (channel & 15), cc & 127, value & 127],
                )),
                Input::Param {
                    offset,
                    name,
                    normalized,
                } => {
                    let spec = *self
                        .param_ids
                        .get(name)
                        .with_context(|| format!("no parameter named {name}"))?;
                    self.in_events.push(&ParamValueEvent::new(
                        offset,
                        spec.id,
                        Pckn::match_all(),
                        spec.clap_value(normalized),
                    ))
                }
            }
        }
        Ok(())
    }

    /// The raw MIDI messages (controllers, pitch bend, ...) the plugin sent in the block just
    /// processed, in order.
    pub fn midi_out(&self) -> Vec<[u8; 3]> {
        self.out_events
            .iter()
            .filter_map(|ev| ev.as_event::<MidiEvent>().map(|e| e.data()))
            .collect()
    }

    /// The notes the plugin sent in the block of `frames` just processed; fails on an event out
    /// of order, outside the block, or without a specific key and channel.
    fn notes_out(&self, frames: u32) -> Result<Vec<OutNote>> {
        let mut notes = Vec::new();
        let mut last_time = 0;
        for ev in self.out_events.iter() {
            let time = ev.header().time();
            if time < last_time || time >= frames {
                bail!("output event at {time} out of order or outside a block of {frames}");
            }
            last_time = time;
            let (on, pckn, velocity) = if let Some(e) = ev.as_event::<NoteOnEvent>() {
                (true, e.pckn(), e.velocity())
            } else if let Some(e) = ev.as_event::<NoteOffEvent>() {
                (false, e.pckn(), 0.0)
            } else {
                continue;
            };
            let (Match::Specific(key), Match::Specific(channel)) = (pckn.key, pckn.channel) else {
                bail!("note event without a specific key and channel: {pckn:?}");
            };
            notes.push(OutNote {
                sample: self.sample_pos + u64::from(time),
                offset: time,
                block_len: frames,
                on,
                key: key as u8,
                channel: channel as u8,
                velocity,
                beat: self.beat + f64::from(time) / self.samples_per_beat(),
            });
        }
        Ok(notes)
    }

    /// Runs blocks of `frames` until `beats` more beats have passed, with no input, pacing
    /// against the wall clock so the inference thread gets real time to plan, as in a live host.
    pub fn run_beats(&mut self, beats: f64, frames: u32, pace: &mut Pacer) -> Result<Vec<OutNote>> {
        let end = self.sample_pos + (beats * self.samples_per_beat()).round() as u64;
        self.run_script(end, frames, &mut Vec::new(), pace)
    }

    /// Runs blocks of `frames` until sample `end`, delivering each `(sample, input)` of `script`
    /// in the block that contains its sample (at the matching offset). Delivered inputs are
    /// removed from `script`.
    pub fn run_script(
        &mut self,
        end: u64,
        frames: u32,
        script: &mut Vec<(u64, Input)>,
        pace: &mut Pacer,
    ) -> Result<Vec<OutNote>> {
        let mut out = Vec::new();
        while self.sample_pos < end {
            let n = frames.min((end - self.sample_pos) as u32).max(1);
            let block_end = self.sample_pos + u64::from(n);
            let mut inputs = Vec::new();
            script.retain(|(at, input)| {
                if *at < block_end {
                    let offset = at.saturating_sub(self.sample_pos) as u32;
                    inputs.push(input.with_offset(offset));
                    false
                } else {
                    true
                }
            });
            out.extend(self.process(n, &inputs)?.1);
            pace.wait(u64::from(n), self.sample_rate);
        }
        Ok(out)
    }

    /// The plugin's state blob, as a host saves it into a project (CLAP state extension).
    pub fn save_state(&mut self) -> Result<Vec<u8>> {
        let handle = self.instance.plugin_handle();
        let state: PluginState = handle.get_extension().context("no state extension")?;
        let mut blob = Vec::new();
        state
            .save(&handle, &mut blob)
            .map_err(|e| anyhow!("state save: {e}"))?;
        Ok(blob)
    }

    /// Loads a state blob, as a host does when it opens a project. Deactivates around the load (as
    /// hosts do) and reactivates after, even when the plugin refuses the blob.
    pub fn load_state(&mut self, blob: &[u8]) -> Result<()> {
        self.deactivate();
        let handle = self.instance.plugin_handle();
        let state: PluginState = handle.get_extension().context("no state extension")?;
        let loaded = state
            .load(&handle, &mut std::io::Cursor::new(blob))
            .map_err(|e| anyhow!("state load: {e}"));
        self.activate()?;
        loaded
    }

    /// Chooses the built-in model `id` (`descant-open`, `descant`) as a project that chose it in
    /// the editor's Model list does: the state is saved, its model choice set, and loaded again.
    pub fn choose_builtin_model(&mut self, id: &str) -> Result<()> {
        let blob = self.save_state()?;
        let mut json: serde_json::Value = serde_json::from_slice(
            blob.get(8..)
                .context("a state blob shorter than its frame")?,
        )?;
        let choice = serde_json::json!({ "path": "", "sha256": "", "builtin": id });
        json["fields"]["model"] = choice.to_string().into();
        let text = json.to_string();
        let mut framed = (text.len() as u64).to_le_bytes().to_vec();
        framed.extend_from_slice(text.as_bytes());
        self.load_state(&framed)
    }

    /// Switches the plugin to offline rendering (CLAP render extension): `process()` may then wait
    /// for the inference thread, so a render does not depend on the machine's speed.
    pub fn set_offline(&mut self) -> Result<()> {
        self.deactivate();
        let handle = self.instance.plugin_handle();
        let render: PluginRender = handle.get_extension().context("no render extension")?;
        render
            .set(&handle, RenderMode::Offline)
            .map_err(|_| anyhow!("the plugin refused offline rendering"))?;
        self.activate()
    }

    /// Sets the parameter `name` to the value whose text is `text`, in a one-sample block.
    pub fn set_text(&mut self, name: &'static str, text: &str) -> Result<()> {
        let normalized = self.text_to_value(name, text)?;
        self.process(
            1,
            &[Input::Param {
                offset: 0,
                name,
                normalized,
            }],
        )?;
        Ok(())
    }

    /// The id of the parameter called `name`.
    pub fn param_id(&self, name: &str) -> Option<ClapId> {
        self.param_ids.get(name).map(|s| s.id)
    }

    /// The names of the parameters the plugin flags as the host's bypass (a host merges its own
    /// bypass button with the one such parameter).
    pub fn bypass_params(&self) -> Vec<String> {
        let mut names: Vec<String> = (self.param_ids.iter())
            .filter(|(_, s)| s.bypass)
            .map(|(n, _)| n.clone())
            .collect();
        names.sort();
        names
    }

    /// Parameter names the plugin reports.
    pub fn param_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.param_ids.keys().cloned().collect();
        names.sort();
        names
    }

    /// The plugin's text for the normalised `value` (0..=1) of `name`.
    pub fn value_to_text(&mut self, name: &str, value: f64) -> Result<String> {
        let spec = *self.param_ids.get(name).context("no such parameter")?;
        let (id, value) = (spec.id, spec.clap_value(value));
        let handle = self.instance.plugin_handle();
        let params: PluginParams = handle.get_extension().context("no params extension")?;
        let mut buf = [0u8; 256];
        let text = params
            .value_to_text(&handle, id, value, &mut buf)
            .map_err(|_| anyhow!("value_to_text failed"))?;
        Ok(String::from_utf8_lossy(text).into_owned())
    }

    /// The text of the current value of `name`, as the plugin shows it.
    pub fn param_text(&mut self, name: &str) -> Result<String> {
        let spec = *self.param_ids.get(name).context("no such parameter")?;
        let handle = self.instance.plugin_handle();
        let params: PluginParams = handle.get_extension().context("no params extension")?;
        let value = params
            .get_value(&handle, spec.id)
            .context("get_value failed")?;
        self.value_to_text(name, spec.normalized(value))
    }

    /// The plugin's normalised value (0..=1) for `text` of `name`.
    pub fn text_to_value(&mut self, name: &str, text: &str) -> Result<f64> {
        let spec = *self.param_ids.get(name).context("no such parameter")?;
        let handle = self.instance.plugin_handle();
        let params: PluginParams = handle.get_extension().context("no params extension")?;
        let text = CString::new(text)?;
        let value = params
            .text_to_value(&handle, spec.id, &text)
            .context("text_to_value failed")?;
        Ok(spec.normalized(value))
    }
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        self.deactivate();
    }
}

/// A parameter's id and the range of its CLAP values (nice-plug reports stepped parameters as
/// 0..=steps, continuous ones as 0..=1).
#[derive(Debug, Clone, Copy)]
struct ParamSpec {
    /// CLAP id.
    id: ClapId,
    /// Lowest CLAP value.
    min: f64,
    /// Highest CLAP value.
    max: f64,
    /// Whether the plugin flags it as the host's bypass (`CLAP_PARAM_IS_BYPASS`).
    bypass: bool,
}

impl ParamSpec {
    fn clap_value(self, normalized: f64) -> f64 {
        self.min + normalized * (self.max - self.min)
    }

    fn normalized(self, value: f64) -> f64 {
        if self.max > self.min {
            (value - self.min) / (self.max - self.min)
        } else {
            0.0
        }
    }
}

fn read_param_ids(instance: &mut PluginInstance<()>) -> Result<HashMap<String, ParamSpec>> {
    let handle = instance.plugin_handle();
    let params: PluginParams = handle.get_extension().context("no params extension")?;
    let mut ids = HashMap::new();
    let mut buf = ParamInfoBuffer::new();
    for i in 0..params.count(&handle) {
        let info = params
            .get_info(&handle, i, &mut buf)
            .context("get_info failed")?;
        let spec = ParamSpec {
            id: info.id,
            min: info.min_value,
            max: info.max_value,
            bypass: info.flags.contains(ParamInfoFlags::IS_BYPASS),
        };
        ids.insert(String::from_utf8_lossy(info.name).into_owned(), spec);
    }
    Ok(ids)
}
