//! Descant: a real-time AI co-composer, as a CLAP/VST3 MIDI effect (and a standalone).
//!
//! Threads: `process()` runs on the audio thread and never allocates, locks, logs or waits; it
//! talks to the inference worker (see `handle`) only through SPSC queues and atomics. `activate`,
//! `deactivate` and the editor run on the main/GUI thread.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use descant_inference::bridge::BlockSnapshot;
use descant_inference::events::ContextEvent;
use descant_inference::take::{KeptTake, PlayMode};
use descant_inference::worker::WorkerShared;
use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::plugin::{ParamValue, PluginState};
use nice_plug::prelude::*;

mod clock;
mod editor;
mod handle;
mod logging;
mod outbox;
mod params;
mod roll;
mod route;
mod scheduler;
mod takefile;
mod thru;
mod tracker;

use clock::{BlockTime, Clock, HostTime};
use handle::InferenceHandle;
use outbox::{Outbox, Source};
use params::{DescantParams, EditorMemory};
use roll::{RollEvent, RollFeed, RollReceiver};
use route::{Pass, RouteSettings, Tell};
use scheduler::Scheduler;
use thru::HeldThrough;
use tracker::{NoteTracker, SoundingNote};

/// Debug builds only: set to make `process()` allocate once per block, to prove the allocation
/// check is live (the host tests expect an abort).
#[cfg(debug_assertions)]
const ALLOC_PROBE_ENV: &str = "DESCANT_TEST_ALLOC_IN_PROCESS";

/// Longest an offline render waits for the worker in one block before it stops waiting for the
/// rest of the activation (a worker that cannot answer must not hang the render).
const OFFLINE_WAIT: Duration = Duration::from_secs(10);
/// Largest persisted field a project may hand Descant (the kept take's JSON is far smaller).
const MAX_STATE_FIELD_BYTES: usize = 1024 * 1024;

/// The plugin. Its fields are touched by the audio thread unless a comment says otherwise.
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
    /// The piano roll's feed to the editor.
    roll: RollFeed,
    /// The editor's end of the roll feed (handed to each editor; never locked by audio).
    roll_view: RollReceiver,
    /// Whether the host renders offline (set in `activate`): `process()` then waits for the worker.
    offline: bool,
    /// Offline: blocks processed this activation (the worker's sync counter).
    offline_block: u64,
    /// Offline: the worker did not answer within [`OFFLINE_WAIT`]; stop waiting.
    offline_gave_up: bool,
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
            epoch: 0,
            phrase_heard: false,
            was_enabled: true,
            release_pending: false,
            context_lost: false,
            channel: 0,
            mode: PlayMode::Answer,
            roll,
            roll_view,
            offline: false,
            offline_block: 0,
            offline_gave_up: false,
            #[cfg(debug_assertions)]
            alloc_probe: false,
        }
    }
}

fn note_on(timing: u32, key: u8, channel: u8, velocity: f32) -> NoteEvent<()> {
    NoteEvent::NoteOn {
        timing,
        voice_id: VoiceID::Wildcard,
        channel: Channel::Number(channel),
        key: Key::Number(key),
        velocity,
    }
}

fn note_off(timing: u32, n: SoundingNote) -> NoteEvent<()> {
    NoteEvent::NoteOff {
        timing,
        voice_id: VoiceID::Wildcard,
        channel: Channel::Number(n.channel),
        key: Key::Number(n.key),
        velocity: 0.0,
    }
}

impl Descant {
    /// Ends every sounding note at `offset` and forgets the plan.
    fn release_all(&mut self, offset: u32) {
        let outbox = &mut self.outbox;
        self.tracker
            .end_all(|n| outbox.push_end(Source::DescantOff, note_off(offset, n)));
        self.scheduler.clear();
    }

    /// Sends an event to the worker, if there is one. A full queue loses the event and marks the
    /// worker's picture of the player as stale (see `context_lost`).
    fn tell_worker(&mut self, event: ContextEvent) {
        if let Some(h) = self.inference.as_mut() {
            if !h.send(event) {
                self.context_lost = true;
            }
        }
    }

    fn transport_event(&self, block: &BlockTime) -> ContextEvent {
        ContextEvent::Transport {
            playing: block.running,
            jumped: block.jumped,
            beat: block.start_beat,
            bar_start_beat: block.bar_start_beat,
            numerator: block.meter.numerator,
            denominator: block.meter.denominator,
            epoch: self.epoch,
        }
    }

    /// Offline rendering only: lets the worker catch up with this block (it has read every event
    /// sent so far and planned its look-ahead) before the block's notes are taken. Waiting is
    /// allowed here: the host does not render in real time.
    fn wait_for_worker(&mut self) {
        let Some(h) = self.inference.as_ref() else {
            return;
        };
        self.offline_block += 1;
        let caught_up =
            self.shared
                .render
                .wait_for_worker(self.offline_block, || h.wake(), OFFLINE_WAIT);
        self.offline_gave_up = !caught_up;
    }

    /// Moves the worker's new notes into the scheduler, dropping stale ones.
    fn collect_planned_notes(&mut self) {
        let Some(h) = self.inference.as_mut() else {
            return;
        };
        while self.scheduler.has_room() {
            match h.receive() {
                Some(n) if n.epoch == self.epoch => {
                    self.scheduler.push(n);
                }
                Some(_) => {}
                None => break,
            }
        }
    }

    /// Starts the notes due in this block and ends the ones whose time is up.
    fn play_block(&mut self, block: &BlockTime, frames: u32) {
        let outbox = &mut self.outbox;
        let tracker = &mut self.tracker;
        let channel = self.channel;
        let late = self.scheduler.take_due(
            frames,
            |beat| block.offset_of(beat),
            |n, offset| {
                if tracker.started_at(n.key, channel, offset) {
                    // The same note twice at one sample (a plan made twice): play it once.
                    return;
                }
                if !outbox.has_room_to_start() {
                    // A flood of player events used up the block: this note is not played.
                    return;
                }
                if let Some(old) = tracker.take_key(n.key, channel) {
                    outbox.push_end(Source::DescantOff, note_off(offset, old));
                }
                let end = n.onset_beat + n.length_beats;
                if tracker.start(n.key, channel, end, offset) {
                    outbox.push_start(
                        Source::DescantOn,
                        note_on(offset, n.key, channel, n.velocity),
                    );
                }
            },
        );
        if late > 0 {
            self.shared
                .telemetry
                .late_notes
                .fetch_add(u64::from(late), Ordering::Relaxed);
        }
        self.tracker.end_due(
            frames,
            |beat| block.offset_of(beat),
            |n, offset| outbox.push_end(Source::DescantOff, note_off(offset, n)),
        );
    }

    /// Discontinuities end everything at the block start, before anything else happens: a seek,
    /// a start or stop, a loop wrap, `Enabled` or `Mode` changed, a reset.
    fn handle_discontinuities(&mut self, block: &BlockTime, enabled: bool) {
        let toggled = enabled != self.was_enabled;
        let mode: PlayMode = self.params.mode.value().into();
        let mode_changed = mode != self.mode;
        self.mode = mode;
        if block.wrapped && !block.jumped {
            // Time runs on across a loop wrap (see `clock`); what sounds at the wrap ends there.
            let outbox = &mut self.outbox;
            self.tracker
                .end_all(|n| outbox.push_end(Source::DescantOff, note_off(0, n)));
        }
        if block.jumped || toggled || mode_changed || self.release_pending {
            self.release_all(0);
            self.epoch = self.epoch.wrapping_add(1);
            self.release_pending = false;
        }
        if block.jumped {
            self.phrase_heard = false;
        }
        if block.jumped || block.meter_changed || mode_changed {
            self.tell_worker(self.transport_event(block));
        }
        if toggled {
            self.tell_worker(ContextEvent::Reset { epoch: self.epoch });
            self.was_enabled = enabled;
        }
    }

    /// Publishes this block's place in time to the worker and the GUI (wait-free).
    fn publish_block(&self, block: &BlockTime) {
        self.shared.block.publish(BlockSnapshot {
            playhead_beat: block.start_beat,
            playing: block.running,
            tempo: f64::from(self.sample_rate) * 60.0 / block.samples_per_beat,
            loop_range: block.loop_range,
            bar_start_beat: block.bar_start_beat,
            meter: block.meter,
            epoch: self.epoch,
        });
    }

    /// The player's events: passed through, told to the worker; a note-on may silence Descant
    /// (see `route`). Returns the sample at which Descant was silenced, if it was.
    fn route_events(
        &mut self,
        context: &mut impl ProcessContext<Self>,
        block: &BlockTime,
        frames: u32,
    ) -> Option<u32> {
        let pass_through = self.params.pass_through.value();
        let chord_channel = self.params.chord_channel.value();
        let last = frames.saturating_sub(1);
        let mut silenced_at = None;
        while let Some(event) = context.next_event() {
            let r = route::route(
                &event,
                RouteSettings {
                    pass_through,
                    chord_channel,
                    mode: self.mode,
                    channel: self.channel,
                },
            );
            if r.silences && silenced_at.is_none() {
                silenced_at = Some(event.timing().min(last));
                self.epoch = self.epoch.wrapping_add(1);
            }
            let epoch = self.epoch;
            match r.tell {
                Tell::Nothing => {}
                Tell::PlayerOn {
                    key,
                    velocity,
                    timing,
                } => {
                    self.channel = r.channel;
                    self.phrase_heard = true;
                    self.tell_worker(ContextEvent::PlayerNoteOn {
                        key,
                        velocity,
                        beat: block.beat_at(timing),
                        epoch,
                    });
                }
                Tell::PlayerOff { key, timing } => {
                    self.tell_worker(ContextEvent::PlayerNoteOff {
                        key,
                        beat: block.beat_at(timing),
                        epoch,
                    });
                }
                Tell::ChordOn { key } => self.tell_worker(ContextEvent::ChordNoteOn { key, epoch }),
                Tell::ChordOff { key } => {
                    self.tell_worker(ContextEvent::ChordNoteOff { key, epoch })
                }
            }
            // The roll shows the player's notes whether or not they pass through.
            if let Some(e) = RollEvent::of(&event, |t| block.beat_at(t.min(last)), false) {
                self.roll.push(e);
            }
            match r.pass {
                Pass::No => {}
                Pass::Start { key, channel } => {
                    // Only a note-on that went out needs its note-off to follow it.
                    if self.outbox.push_start(Source::PassThrough, event) {
                        self.held_through.press(key, channel);
                    }
                }
                Pass::End {
                    key,
                    channel,
                    pass_through,
                } => {
                    if self.held_through.release(key, channel) {
                        self.outbox.push_end(Source::PassThrough, event);
                    } else if pass_through {
                        self.outbox.push_start(Source::PassThrough, event);
                    }
                }
                Pass::Other => {
                    self.outbox.push_start(Source::PassThrough, event);
                }
            }
        }
        if self.context_lost {
            // Events the worker never heard: it forgets the phrase rather than wait on a key it
            // thinks is still down. Retried every block until the queue has room.
            self.context_lost = !self
                .inference
                .as_mut()
                .is_some_and(|h| h.send(ContextEvent::Reset { epoch: self.epoch }));
        }
        silenced_at
    }

    /// Descant's notes: the worker's new plan in, then either silence from `silenced_at` or the
    /// notes due in this block.
    fn play_notes(
        &mut self,
        block: &BlockTime,
        frames: u32,
        enabled: bool,
        silenced_at: Option<u32>,
    ) {
        if self.offline && !self.offline_gave_up {
            self.wait_for_worker();
        }
        self.collect_planned_notes();
        if let Some(at) = silenced_at {
            let outbox = &mut self.outbox;
            self.tracker.end_due(
                at,
                |beat| block.offset_of(beat),
                |n, offset| outbox.push_end(Source::DescantOff, note_off(offset, n)),
            );
            self.release_all(at);
        } else if enabled && block.running {
            self.play_block(block, frames);
        }
    }

    /// Sends this block's events in time order, and shows Descant's on the roll.
    fn flush(&mut self, context: &mut impl ProcessContext<Self>, block: &BlockTime) {
        for (source, event) in self.outbox.sorted() {
            // Pass-through events are on the roll already (as the player's).
            if source != Source::PassThrough {
                if let Some(r) = RollEvent::of(&event, |t| block.beat_at(t), true) {
                    self.roll.push(r);
                }
            }
            // A full host queue drops the event; nothing else can be done without waiting.
            let _ = context.try_send_event(event);
        }
    }
}

/// The host's transport as the clock reads it.
fn host_time(t: &Transport) -> HostTime {
    HostTime {
        playing: t.playing,
        tempo: t.tempo,
        pos_beats: t.pos_beats(),
        bar_start_beats: t.bar_start_pos_beats(),
        time_sig: t.time_sig_numerator.zip(t.time_sig_denominator),
        loop_beats: t.loop_range_beats(),
    }
}

impl Plugin for Descant {
    const NAME: &'static str = "Descant";
    const VENDOR: &'static str = "Descant";
    const URL: &'static str = "https://descant.invalid";
    const EMAIL: &'static str = "descant@descant.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[AudioIOLayout::const_default()];
    const MIDI_INPUT: MidiConfig = MidiConfig::Basic;
    const MIDI_OUTPUT: MidiConfig = MidiConfig::Basic;

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
        // A project is untrusted input: bound and check the persisted fields before they load.
        state.fields.retain(|name, json| {
            let ok = json.len() <= MAX_STATE_FIELD_BYTES
                && match name.as_str() {
                    "editor" => serde_json::from_str::<EditorMemory>(json).is_ok(),
                    "kept-take" => serde_json::from_str::<Option<KeptTake>>(json).is_ok(),
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
        self.offline = buffer_config.process_mode == ProcessMode::Offline;
        self.shared.render.activate(self.offline);
        self.offline_block = 0;
        self.offline_gave_up = false;
        self.context_lost = false;
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
        let (planned, late, lost) = (
            s.generated_notes.load(Ordering::Relaxed),
            s.late_notes.load(Ordering::Relaxed),
            s.queue_full_drops.load(Ordering::Relaxed),
        );
        // The session's figures, when Descant played at all (a host activates often).
        if planned + late + lost > 0 {
            log::info!(
                "{planned} notes planned, {late} missed their deadline (not played), {lost} lost \
                 to a full queue; look-ahead {:.2} beats",
                s.lookahead_beats.load()
            );
        }
        self.release_pending = !self.tracker.is_empty();
    }

    fn reset(&mut self) {
        self.clock.reset();
        self.release_pending = !self.tracker.is_empty();
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
        let enabled = self.params.enabled.value();
        self.handle_discontinuities(&block, enabled);
        self.publish_block(&block);
        let silenced_at = self.route_events(context, &block, frames);
        self.play_notes(&block, frames, enabled, silenced_at);
        self.flush(context, &block);
        if enabled && (self.phrase_heard || !self.tracker.is_empty() || !self.scheduler.is_empty())
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
