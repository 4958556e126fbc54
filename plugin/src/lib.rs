//! Descant: a real-time AI co-composer, as a CLAP/VST3 MIDI effect (and a standalone).
//!
//! Threads: `process()` runs on the audio thread and never allocates, locks, logs or waits; it
//! talks to the inference worker (see `handle`) only through SPSC queues and atomics. `activate`,
//! `deactivate` and the editor run on the main/GUI thread.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use descant_inference::files::take::{KeptTake, PlayMode};
use descant_inference::music::taste::TasteStore;
use descant_inference::worker::{ModelChoice, WorkerShared};
use nice_plug::plugin::{ParamValue, PluginState};
use nice_plug::prelude::*;

mod block;
mod choices;
mod chord_name;
mod clock;
mod editor;
mod editor_memory;
mod handle;
mod heard;
mod help;
mod learn;
mod logging;
mod outbox;
mod param_kinds;
mod params;
mod picker;
mod preset_menu;
mod presets;
mod roll;
mod route;
mod scheduler;
mod settings;
mod styles;
mod takefile;
mod thru;
mod tracker;
mod widgets;

use block::host_time;
use clock::Clock;
use handle::InferenceHandle;
use heard::Heard;
use outbox::Outbox;
use params::{DescantParams, EditorMemory};
use roll::{RollFeed, RollReceiver};
use scheduler::Scheduler;
use thru::HeldThrough;
use tracker::NoteTracker;

/// Debug builds only: set to make `process()` allocate once per block, to prove the allocation
/// check is live (the host tests expect an abort).
#[cfg(debug_assertions)]
const ALLOC_PROBE_ENV: &str = "DESCANT_TEST_ALLOC_IN_PROCESS";

/// Longest an offline render waits for the worker in one block before it stops waiting for the
/// rest of the activation (a worker that cannot answer must not hang the render).
const OFFLINE_WAIT: Duration = Duration::from_secs(10);
/// Largest persisted field a project may hand Descant (the kept take's JSON is far smaller).
const MAX_STATE_FIELD_BYTES: usize = 1024 * 1024;

/// What the audio thread remembers from one block to the next. Audio thread only (reset in
/// `activate`, main thread, while no block runs).
#[derive(Debug, Clone, Copy)]
struct BlockMemory {
    /// Plan epoch: bumped whenever planned notes become invalid; see `ContextEvent`.
    epoch: u32,
    /// Whether the player has played since time last started: an answer may be pending, so keep
    /// the host calling `process()`.
    phrase_heard: bool,
    /// `Enabled` as of the previous block, to act on changes.
    was_enabled: bool,
    /// Set by `reset`/`deactivate`: release tracked notes at the start of the next block.
    release_pending: bool,
    /// The context queue was full and lost an event: the worker is told to forget the phrase as
    /// soon as the queue has room again.
    context_lost: bool,
    /// Channel Descant plays on: the player's latest note-on channel.
    channel: u8,
    /// The mode of the previous block, to act on changes.
    mode: PlayMode,
}

/// Offline rendering, where `process()` waits for the worker. Set in `activate` (main thread),
/// then touched by the audio thread only.
#[derive(Debug, Clone, Copy, Default)]
struct Offline {
    /// Whether the host renders offline.
    active: bool,
    /// Blocks processed this activation (the worker's sync counter).
    block: u64,
    /// The worker did not answer within [`OFFLINE_WAIT`]; stop waiting.
    gave_up: bool,
}

/// The plugin. Its fields are touched by the audio thread unless a comment says otherwise.
/// (Fifteen fields: each is one part of the audio side that `docs/ARCHITECTURE.md` names, and the
/// steps of `process()` in `block.rs` each touch a few of them by name; grouping them further
/// would hide which part a step touches.)
pub struct Descant {
    /// Parameters; shared with the host wrapper, the worker's settings reader and the GUI.
    params: Arc<DescantParams>,
    /// Shared with the worker (atomics, model status) and the GUI (status display).
    shared: Arc<WorkerShared>,
    /// The worker and its queue ends; created in `activate`, dropped in `deactivate` (main thread).
    inference: Option<InferenceHandle>,
    /// Sample rate of the current activation.
    sample_rate: f32,
    /// Block placement in musical time.
    clock: Clock,
    /// Descant's sounding notes.
    tracker: NoteTracker,
    /// Descant's planned notes not yet due.
    scheduler: Scheduler,
    /// This block's outgoing events.
    outbox: Outbox,
    /// The player's keys passed through and still down (their note-offs always pass).
    held_through: HeldThrough,
    /// The player's and the chord channel's keys down, sample by sample: what Descant's on-beat
    /// notes are chosen against at their onset.
    heard: Heard,
    /// What the audio thread remembers from block to block (epoch, mode, channel, pending
    /// releases).
    memory: BlockMemory,
    /// The piano roll's feed to the editor.
    roll: RollFeed,
    /// The editor's end of the roll feed (handed to each editor; never locked by audio).
    roll_view: RollReceiver,
    /// Offline rendering: whether the host renders offline and how the worker keeps up.
    offline: Offline,
    /// Debug builds: allocate in `process()` (see [`ALLOC_PROBE_ENV`]). Set in `activate`.
    #[cfg(debug_assertions)]
    alloc_probe: bool,
}

impl Default for Descant {
    fn default() -> Self {
        logging::install();
        let (roll, roll_view) = RollFeed::new();
        Descant {
            params: Arc::new(DescantParams::default()),
            shared: Arc::new(WorkerShared::default()),
            inference: None,
            sample_rate: 48_000.0,
            clock: Clock::default(),
            tracker: NoteTracker::default(),
            scheduler: Scheduler::default(),
            outbox: Outbox::default(),
            held_through: HeldThrough::default(),
            heard: Heard::default(),
            memory: BlockMemory {
                epoch: 0,
                phrase_heard: false,
                was_enabled: true,
                release_pending: false,
                context_lost: false,
                channel: 0,
                mode: PlayMode::Answer,
            },
            roll,
            roll_view,
            offline: Offline::default(),
            #[cfg(debug_assertions)]
            alloc_probe: false,
        }
    }
}

impl Plugin for Descant {
    const NAME: &'static str = "Descant";
    const VENDOR: &'static str = "Descant";
    const URL: &'static str = "https://descant.invalid";
    const EMAIL: &'static str = "descant@descant.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[AudioIOLayout::const_default()];
    // Controllers too: a footswitch or a pad may be learned for an action (`learn`).
    const MIDI_INPUT: MidiConfig = MidiConfig::MidiCCs;
    // And out: with `Pass through` on, the player's controllers (a sustain pedal, the mod wheel,
    // pitch bend) reach the instrument; a learned one never does.
    const MIDI_OUTPUT: MidiConfig = MidiConfig::MidiCCs;

    type Editor = nice_plug_egui::EguiEditor<editor::DescantEditor>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(
            self.params.clone(),
            self.shared.clone(),
            self.roll_view.clone(),
        )
    }

    fn filter_state(state: &mut PluginState) {
        // 0.1 answered until the player played again: keep that in projects saved with it.
        if state.version.is_empty() || state.version.starts_with("0.1.") {
            state
                .params
                .entry("answer_len".to_owned())
                .or_insert(ParamValue::I32(0));
        }
        // A project saved before `Phrase length` existed ran its lines on: keep that.
        state
            .params
            .entry("phrase".to_owned())
            .or_insert(ParamValue::I32(0));
        // A project saved before the model choice was persisted played the built-in model of
        // its day, the non-commercial one: no choice says so (`worker::choice`). A project saved
        // since states its choice, the default model included.
        state
            .fields
            .entry("model".to_owned())
            .or_insert_with(|| "null".to_owned());
        // A damaged taste loads as its refusal, so the editor can say why it starts afresh; the
        // rest of the state loads as it is.
        if let Some(json) = state.fields.get_mut("taste") {
            let store = TasteStore::from_text(json);
            if let Some(why) = &store.refused {
                log::warn!("the project's taste is damaged and was not loaded: {why}");
                *json = serde_json::json!({ "refused": why }).to_string();
            }
        }
        // A project is untrusted input: bound and check the persisted fields before they load.
        state.fields.retain(|name, json| {
            let ok = json.len() <= MAX_STATE_FIELD_BYTES
                && match name.as_str() {
                    "editor" => serde_json::from_str::<EditorMemory>(json).is_ok(),
                    "kept-take" => serde_json::from_str::<Option<KeptTake>>(json).is_ok(),
                    // A well-formed but missing or changed choice loads: the worker then plays
                    // the default model and says why (see `worker::choice`).
                    "model" => serde_json::from_str::<Option<ModelChoice>>(json).is_ok(),
                    // Any JSON value loads: a damaged taste as its refusal (above).
                    "taste" => serde_json::from_str::<TasteStore>(json).is_ok(),
                    "midi-learn" => serde_json::from_str::<learn::LearnMap>(json).is_ok(),
                    _ => false,
                };
            if !ok {
                log::warn!(
                    "the project's '{name}' state is damaged or unknown; using the \
                     default instead"
                );
            }
            ok
        });
    }

    fn activate(
        &mut self,
        _audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        self.sample_rate = buffer_config.sample_rate;
        self.clock.reset();
        self.offline.active = buffer_config.process_mode == ProcessMode::Offline;
        self.shared.render.activate(self.offline.active);
        self.offline.block = 0;
        self.offline.gave_up = false;
        self.memory.context_lost = false;
        {
            let mut memory = self.params.editor_memory.write();
            *memory = memory.bounded();
        }
        #[cfg(debug_assertions)]
        {
            self.alloc_probe = std::env::var_os(ALLOC_PROBE_ENV).is_some();
        }
        // Replacing a previous worker joins it here, on the main thread.
        self.inference = None;
        match InferenceHandle::start(self.params.clone(), self.shared.clone()) {
            Ok(h) => self.inference = Some(h),
            Err(e) => log::error!("cannot start the inference thread ({e}); passing MIDI through"),
        }
        // Activation always succeeds: without a worker, MIDI still passes through.
        true
    }

    fn deactivate(&mut self) {
        // Joins the worker (main thread). Notes still sounding are ended in the next block.
        self.inference = None;
        let s = &self.shared.telemetry;
        let (planned, late, lost, chosen) = (
            s.generated_notes.load(Ordering::Relaxed),
            s.late_notes.load(Ordering::Relaxed),
            s.queue_full_drops.load(Ordering::Relaxed),
            s.onset_choices.load(Ordering::Relaxed),
        );
        // The session's figures, when Descant played at all (a host activates often).
        if planned + late + lost > 0 {
            log::info!(
                "{planned} notes planned, {late} missed their deadline (not played), {lost} lost \
                 to a full queue, {chosen} played with a key chosen at the onset; look-ahead \
                 {:.2} beats",
                s.lookahead_beats.load()
            );
        }
        self.memory.release_pending = !self.tracker.is_empty();
        self.heard.clear();
    }

    fn reset(&mut self) {
        self.clock.reset();
        self.memory.release_pending = !self.tracker.is_empty();
        self.heard.clear();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        #[cfg(debug_assertions)]
        if self.alloc_probe {
            std::hint::black_box(Vec::<u8>::with_capacity(16));
        }
        let frames = buffer.samples() as u32;
        let block = self.clock.advance(
            host_time(context.transport()),
            frames,
            self.sample_rate,
            self.params.free_run.value(),
            f64::from(self.params.tempo.value()),
        );
        self.outbox.clear();
        self.tracker.new_block();
        let enabled = self.params.playing();
        self.handle_discontinuities(&block, enabled);
        self.publish_block(&block);
        let silenced_at = self.route_events(context, &block, frames);
        self.play_notes(&block, frames, enabled, silenced_at);
        self.flush(context, &block);
        self.heard.end_block();
        if enabled
            && (self.memory.phrase_heard || !self.tracker.is_empty() || !self.scheduler.is_empty())
        {
            ProcessStatus::KeepAlive
        } else {
            ProcessStatus::Normal
        }
    }
}

impl ClapPlugin for Descant {
    const CLAP_ID: &'static str = "dev.descant.co-composer";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("A real-time AI co-composer that answers your phrases");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[ClapFeature::NoteEffect, ClapFeature::Utility];
}

impl Vst3Plugin for Descant {
    const VST3_CLASS_ID: [u8; 16] = *b"DescantCoCompose";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Tools];
}

nice_export_clap!(Descant);
nice_export_vst3!(Descant);
