//! The piano roll's feed: what the player and Descant played, from the audio thread to the
//! editor, through a wait-free SPSC queue. The audio thread pushes (never waits: a full queue,
//! e.g. while the editor is closed, drops the event); the GUI thread drains it.
//!
//! Guarantees: [`RollFeed::push`] never blocks or allocates; the GUI end sits behind a
//! `parking_lot` mutex that only GUI-thread code ever locks.

use std::sync::Arc;

use nice_plug::midi::Key;
use nice_plug::prelude::NoteEvent;
use parking_lot::Mutex;

/// Events the queue holds (about four seconds of very busy playing).
const ROLL_QUEUE: usize = 2048;

/// One key going down or up, on Descant's timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RollEvent {
    /// MIDI key.
    pub key: u8,
    /// Whether the key went down.
    pub on: bool,
    /// Position in beats.
    pub beat: f64,
    /// Whether Descant played it (else the player did).
    pub descant: bool,
    /// Velocity of a key going down, 0..=1.
    pub velocity: f32,
}

impl RollEvent {
    /// The roll's view of a note event (`None` for other events); `beat_at` places a sample
    /// offset of the block in beats. Wait-free.
    pub fn of(
        event: &NoteEvent<()>,
        beat_at: impl Fn(u32) -> f64,
        descant: bool,
    ) -> Option<RollEvent> {
        let (on, timing, key, velocity) = match *event {
            NoteEvent::NoteOn {
                timing,
                key: Key::Number(key),
                velocity,
                ..
            } => (velocity > 0.0, timing, key, velocity),
            NoteEvent::NoteOff {
                timing,
                key: Key::Number(key),
                ..
            } => (false, timing, key, 0.0),
            _ => return None,
        };
        Some(RollEvent {
            key,
            on,
            beat: beat_at(timing),
            descant,
            velocity,
        })
    }
}

/// The GUI's end of the feed.
pub type RollReceiver = Arc<Mutex<rtrb::Consumer<RollEvent>>>;

/// The audio thread's end of the feed.
pub struct RollFeed {
    /// Pushed by the audio thread only.
    tx: rtrb::Producer<RollEvent>,
}

impl RollFeed {
    /// A feed and its GUI end. Main thread (plugin construction).
    pub fn new() -> (RollFeed, RollReceiver) {
        let (tx, rx) = rtrb::RingBuffer::new(ROLL_QUEUE);
        (RollFeed { tx }, Arc::new(Mutex::new(rx)))
    }

    /// Publishes an event; drops it when the queue is full. Wait-free.
    pub fn push(&mut self, event: RollEvent) {
        let _ = self.tx.push(event);
    }
}
