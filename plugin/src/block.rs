//! The audio thread's steps of one block, in the order `process()` calls them: the clock's
//! discontinuities, publishing the block, routing the player's events, playing Descant's notes and
//! flushing the outbox. Audio thread only (the offline wait aside); never allocates, locks or logs.

use std::sync::atomic::Ordering;

use arrayvec::ArrayVec;
use descant_inference::bridge::BlockSnapshot;
use descant_inference::events::{ContextEvent, GeneratedNote, Plan};
use descant_inference::files::take::PlayMode;
use descant_inference::music::onset::{self, Meeting};
use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

use crate::clock::{BlockTime, HostTime};
use crate::heard::Part;
use crate::learn::Learned;
use crate::outbox::Source;
use crate::roll::RollEvent;
use crate::route::{self, Pass, RouteSettings, Tell};
use crate::tracker::SoundingNote;
use crate::{Descant, OFFLINE_WAIT};

/// Onset choices told to the worker per block (more are played but not told: the worker's line
/// keeps their planned keys; a block never holds that many of Descant's notes in practice).
const MAX_CHOICES_TOLD: usize = 16;

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
    pub(crate) fn release_all(&mut self, offset: u32) {
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
                self.memory.context_lost = true;
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
            epoch: self.memory.epoch,
        }
    }

    /// Offline rendering only: lets the worker catch up with this block (it has read every event
    /// sent so far and planned its look-ahead) before the block's notes are taken. Waiting is
    /// allowed here: the host does not render in real time.
    fn wait_for_worker(&mut self) {
        let Some(h) = self.inference.as_ref() else {
            return;
        };
        self.offline.block += 1;
        let caught_up =
            self.shared
                .render
                .wait_for_worker(self.offline.block, || h.wake(), OFFLINE_WAIT);
        self.offline.gave_up = !caught_up;
    }

    /// Moves the worker's new notes into the scheduler, dropping stale ones.
    fn collect_planned_notes(&mut self) {
        let Some(h) = self.inference.as_mut() else {
            return;
        };
        while self.scheduler.has_room() {
            match h.receive() {
                Some(Plan::Note(n)) if n.epoch == self.memory.epoch => {
                    self.scheduler.push(n);
                }
                Some(Plan::Retract { from_beat, epoch }) if epoch == self.memory.epoch => {
                    self.scheduler.retract_from(from_beat);
                }
                Some(_) => {}
                None => break,
            }
        }
    }

    /// Starts the notes due in this block and ends the ones whose time is up. Each note's key is
    /// chosen at its onset against what sounds there (see `descant_inference::music::onset`); the worker
    /// is told of every alternate played.
    fn play_block(&mut self, block: &BlockTime, frames: u32) {
        let outbox = &mut self.outbox;
        let tracker = &mut self.tracker;
        let heard = &mut self.heard;
        let channel = self.memory.channel;
        let epoch = self.memory.epoch;
        let mut chosen = ArrayVec::<ContextEvent, MAX_CHOICES_TOLD>::new();
        let late = self.scheduler.take_due(
            frames,
            |beat| block.offset_of(beat),
            |planned, offset| {
                let sounding = heard.sounding_at(offset);
                let key = onset::choose(planned.key, &planned.alternates, sounding, heard.last);
                let n = GeneratedNote { key, ..planned };
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
                    if block.on_pulse(n.onset_beat) {
                        // Parallels are judged from beat to beat: an off-beat note between
                        // two beats does not hide a fifth that moves to a fifth.
                        heard.last = Meeting::of(key, sounding.voice());
                    }
                    if key != planned.key {
                        let _ = chosen.try_push(ContextEvent::Chose {
                            beat: n.onset_beat,
                            planned: planned.key,
                            played: key,
                            epoch,
                        });
                    }
                }
            },
        );

        // The meeting on each pulse, held notes included: a fifth held into a beat and left in
        // parallel to the next is judged against the beat it was held into.
        for (beat, offset) in block.pulses(frames) {
            heard.last = tracker
                .highest_at(channel, beat, offset)
                .and_then(|key| Meeting::of(key, heard.sounding_at(offset).voice()));
        }

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
        if !chosen.is_empty() {
            self.shared
                .telemetry
                .onset_choices
                .fetch_add(chosen.len() as u64, Ordering::Relaxed);
        }
        for event in chosen {
            self.tell_worker(event);
        }
    }

    /// Discontinuities end everything at the block start, before anything else happens: a seek,
    /// a start or stop, a loop wrap, `Enabled`, the host's bypass or `Mode` changed, a reset.
    pub(crate) fn handle_discontinuities(&mut self, block: &BlockTime, enabled: bool) {
        let toggled = enabled != self.memory.was_enabled;
        let mode: PlayMode = self.params.mode.value().into();
        let mode_changed = mode != self.memory.mode;
        self.memory.mode = mode;
        if block.wrapped && !block.jumped {
            // Time runs on across a loop wrap (see `clock`); what sounds at the wrap ends there.
            let outbox = &mut self.outbox;
            self.tracker
                .end_all(|n| outbox.push_end(Source::DescantOff, note_off(0, n)));
        }
        if block.jumped || toggled || mode_changed || self.memory.release_pending {
            self.release_all(0);
            self.memory.epoch = self.memory.epoch.wrapping_add(1);
            self.memory.release_pending = false;
        }
        if block.jumped {
            self.memory.phrase_heard = false;
            self.heard.last = None;
        }
        if block.jumped || block.meter_changed || mode_changed {
            self.tell_worker(self.transport_event(block));
        }
        if toggled {
            self.tell_worker(ContextEvent::Reset {
                epoch: self.memory.epoch,
            });
            self.memory.was_enabled = enabled;
        }
    }

    /// Publishes this block's place in time to the worker and the GUI (wait-free).
    pub(crate) fn publish_block(&self, block: &BlockTime) {
        self.shared.block.publish(BlockSnapshot {
            playhead_beat: block.start_beat,
            playing: block.running,
            tempo: f64::from(self.sample_rate) * 60.0 / block.samples_per_beat,
            loop_range: block.loop_range,
            bar_start_beat: block.bar_start_beat,
            meter: block.meter,
            epoch: self.memory.epoch,
        });
    }

    /// The player's events: passed through, told to the worker; a note-on may silence Descant
    /// (see `route`). Returns the sample at which Descant was silenced, if it was.
    pub(crate) fn route_events(
        &mut self,
        context: &mut impl ProcessContext<Self>,
        block: &BlockTime,
        frames: u32,
    ) -> Option<u32> {
        // Bypassed, Descant is as if not there: the player's MIDI goes through unchanged.
        let pass_through = self.params.pass_through.value() || self.params.bypass.value();
        let chord_channel = self.params.chord_channel.value();
        let last = frames.saturating_sub(1);
        let mut silenced_at = None;
        while let Some(event) = context.next_event() {
            // A key or controller learned for an action is the action's alone.
            match self.params.midi_learn.hear(&event) {
                Learned::NotMine => {}
                Learned::Consumed => continue,
                Learned::Press(action) => {
                    self.tell_worker(ContextEvent::Act {
                        action,
                        epoch: self.memory.epoch,
                    });
                    continue;
                }
            }
            let r = route::route(
                &event,
                RouteSettings {
                    pass_through,
                    chord_channel,
                    mode: self.memory.mode,
                    channel: self.memory.channel,
                },
            );
            if r.silences && silenced_at.is_none() {
                silenced_at = Some(event.timing().min(last));
                self.memory.epoch = self.memory.epoch.wrapping_add(1);
            }
            self.tell(r.tell, r.channel, block);
            // The roll shows the player's notes whether or not they pass through.
            if let Some(e) = RollEvent::of(&event, |t| block.beat_at(t.min(last)), false) {
                self.roll.push(e);
            }
            self.pass(r.pass, event);
        }
        if self.memory.context_lost {
            // Events the worker never heard: it forgets the phrase rather than wait on a key it
            // thinks is still down. Retried every block until the queue has room.
            self.memory.context_lost = !self.inference.as_mut().is_some_and(|h| {
                h.send(ContextEvent::Reset {
                    epoch: self.memory.epoch,
                })
            });
        }
        silenced_at
    }

    /// Tells the worker of a routed player or chord-channel note (and the keys heard, sample by
    /// sample); a player's note-on also sets the channel Descant plays on.
    fn tell(&mut self, tell: Tell, channel: u8, block: &BlockTime) {
        let epoch = self.memory.epoch;
        match tell {
            Tell::Nothing => {}
            Tell::PlayerOn {
                key,
                velocity,
                timing,
            } => {
                self.heard.press(timing, key, Part::Player);
                self.memory.channel = channel;
                self.memory.phrase_heard = true;
                self.tell_worker(ContextEvent::PlayerNoteOn {
                    key,
                    velocity,
                    beat: block.beat_at(timing),
                    epoch,
                });
            }
            Tell::PlayerOff { key, timing } => {
                self.heard.release(timing, key, Part::Player);
                self.tell_worker(ContextEvent::PlayerNoteOff {
                    key,
                    beat: block.beat_at(timing),
                    epoch,
                });
            }
            Tell::ChordOn { key, timing } => {
                self.heard.press(timing, key, Part::Chord);
                self.tell_worker(ContextEvent::ChordNoteOn {
                    key,
                    beat: block.beat_at(timing),
                    epoch,
                });
            }
            Tell::ChordOff { key, timing } => {
                self.heard.release(timing, key, Part::Chord);
                self.tell_worker(ContextEvent::ChordNoteOff {
                    key,
                    beat: block.beat_at(timing),
                    epoch,
                });
            }
        }
    }

    /// Sends an incoming event on as routed: a note-on that goes out is remembered, so its
    /// note-off follows it whatever `Pass through` says by then.
    fn pass(&mut self, pass: Pass, event: NoteEvent<()>) {
        match pass {
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

    /// Descant's notes: the worker's new plan in, then either silence from `silenced_at` or the
    /// notes due in this block.
    pub(crate) fn play_notes(
        &mut self,
        block: &BlockTime,
        frames: u32,
        enabled: bool,
        silenced_at: Option<u32>,
    ) {
        if self.offline.active && !self.offline.gave_up {
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
    pub(crate) fn flush(&mut self, context: &mut impl ProcessContext<Self>, block: &BlockTime) {
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
pub(crate) fn host_time(t: &Transport) -> HostTime {
    HostTime {
        playing: t.playing,
        tempo: t.tempo,
        pos_beats: t.pos_beats(),
        bar_start_beats: t.bar_start_pos_beats(),
        time_sig: t.time_sig_numerator.zip(t.time_sig_denominator),
        loop_beats: t.loop_range_beats(),
    }
}
