//! What crosses the real-time boundary: small `Copy` events in the SPSC queues, and the atomics the
//! audio thread publishes. Both sides use these types; nothing here allocates or blocks.
//!
//! Guarantees: every type here is `Copy` and fixed-size; [`AtomicF64`] loads and stores are single
//! atomic operations (wait-free).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::music::onset::Alternates;

/// Audio thread → inference worker: what the player and the transport did.
///
/// `epoch` is the audio thread's plan counter at the time of the event: it increments whenever
/// what Descant planned becomes invalid (the player plays, the transport jumps, starts or stops,
/// Descant is disabled or reset). The worker tags its notes with the epoch it planned them in and
/// the audio thread drops notes from older epochs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ContextEvent {
    /// The player pressed a key.
    PlayerNoteOn {
        /// MIDI key.
        key: u8,
        /// Velocity, 0..=1.
        velocity: f32,
        /// Position in quarter-note beats.
        beat: f64,
        /// Plan epoch.
        epoch: u32,
    },
    /// The player released a key.
    PlayerNoteOff {
        /// MIDI key.
        key: u8,
        /// Position in quarter-note beats.
        beat: f64,
        /// Plan epoch.
        epoch: u32,
    },
    /// A key went down on the chord channel: harmony for Descant's line, not a phrase to answer.
    ChordNoteOn {
        /// MIDI key.
        key: u8,
        /// Position in quarter-note beats.
        beat: f64,
        /// Plan epoch.
        epoch: u32,
    },
    /// A key on the chord channel was released.
    ChordNoteOff {
        /// MIDI key.
        key: u8,
        /// Position in quarter-note beats.
        beat: f64,
        /// Plan epoch.
        epoch: u32,
    },
    /// The transport started, stopped, jumped (seek or loop wrap) or changed meter.
    Transport {
        /// Whether time is running (host playing, or Descant's free-running clock).
        playing: bool,
        /// Whether this is a discontinuity (seek, loop wrap, start, stop): history is void.
        jumped: bool,
        /// Position in quarter-note beats.
        beat: f64,
        /// Where the current bar started, in beats.
        bar_start_beat: f64,
        /// Time signature numerator.
        numerator: u8,
        /// Time signature denominator.
        denominator: u8,
        /// Plan epoch.
        epoch: u32,
    },
    /// At the onset of one of Descant's notes the audio thread played an alternate instead of the
    /// planned key (see [`crate::music::onset`]): Descant's line is what it played.
    Chose {
        /// The note's onset in beats, as planned.
        beat: f64,
        /// The key the worker planned.
        planned: u8,
        /// The key played.
        played: u8,
        /// Plan epoch.
        epoch: u32,
    },
    /// Forget everything (deactivate/reset/disable).
    Reset {
        /// Plan epoch.
        epoch: u32,
    },
    /// The musician pressed a key or controller learned for an action (MIDI learn).
    Act {
        /// What they asked.
        action: Action,
        /// Plan epoch.
        epoch: u32,
    },
}

/// What the musician asks of the take, by a control (a host parameter flipped) or a learned MIDI
/// key or controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Redraw: the latest answer from the next bar line (Answer), the line from the next bar
    /// line (Continue), the take at the next cycle (Loop).
    Again,
    /// Keep what was played, saved as a take in the takes folder: the call and the answer (Answer
    /// mode: the taste learns it was wanted), the last `Phrase length` bars (Continue). In Loop
    /// mode `Keep` is a switch, read as it is, and a learned press turns it neither on nor off.
    Keep,
    /// Answer mode: answer the phrase so far at the next bar line.
    AnswerNow,
}

impl ContextEvent {
    /// The plan epoch the event belongs to.
    pub fn epoch(&self) -> u32 {
        match *self {
            ContextEvent::PlayerNoteOn { epoch, .. }
            | ContextEvent::PlayerNoteOff { epoch, .. }
            | ContextEvent::ChordNoteOn { epoch, .. }
            | ContextEvent::ChordNoteOff { epoch, .. }
            | ContextEvent::Transport { epoch, .. }
            | ContextEvent::Chose { epoch, .. }
            | ContextEvent::Act { epoch, .. }
            | ContextEvent::Reset { epoch } => epoch,
        }
    }
}

/// Inference worker → audio thread: one note of Descant's, in beats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeneratedNote {
    /// MIDI key.
    pub key: u8,
    /// Velocity, 0..=1.
    pub velocity: f32,
    /// Onset in quarter-note beats on the host's timeline.
    pub onset_beat: f64,
    /// Length in beats.
    pub length_beats: f64,
    /// The plan epoch it was generated in.
    pub epoch: u32,
    /// Other keys the model also found likely here (on-beat notes only): the audio thread may
    /// play one of them instead if the planned key clashes with what sounds at the onset.
    pub alternates: Alternates,
}

/// Inference worker → audio thread: what the worker decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plan {
    /// A note to play.
    Note(GeneratedNote),
    /// Forget the planned notes of `epoch` that start at or after `from_beat` (and have not
    /// started): a last-moment correction re-plans them, because a player note arrived that they
    /// would clash with.
    Retract {
        /// First onset forgotten, in beats.
        from_beat: f64,
        /// The plan epoch the retraction belongs to.
        epoch: u32,
    },
}

/// An `f64` in an `AtomicU64`: wait-free single-value publication (relaxed ordering is enough
/// for values that are read as "latest known").
#[derive(Debug, Default)]
pub struct AtomicF64(AtomicU64);

impl AtomicF64 {
    /// A new cell holding `v`.
    pub fn new(v: f64) -> AtomicF64 {
        AtomicF64(AtomicU64::new(v.to_bits()))
    }

    /// The latest stored value.
    pub fn load(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Stores `v`.
    pub fn store(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_f64_round_trips_exactly() {
        let a = AtomicF64::new(0.0);
        for v in [1.0 / 3.0, -0.0, 1e300, f64::MIN_POSITIVE] {
            a.store(v);
            assert_eq!(a.load().to_bits(), v.to_bits());
        }
    }

    #[test]
    fn events_are_small() {
        assert!(std::mem::size_of::<ContextEvent>() <= 48);
        // Seven alternates and the strong-beat flag make a note 40 bytes.
        assert!(std::mem::size_of::<GeneratedNote>() <= 40);
    }
}
