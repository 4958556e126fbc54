//! The outbox: one block's outgoing note events, gathered from pass-through and from Descant, then
//! sorted into host order. Audio thread only; its buffer is allocated once at construction.
//!
//! Guarantees: pushing never allocates. Events that may start something (note-ons, and every
//! event that ends nothing Descant let through) share [`START_CAPACITY`]; past it they are
//! refused and counted, and the caller must then forget them. Events that end something already
//! let through (a held pass-through key's note-off, Descant's note-offs) have a reserve of their
//! own that a block cannot exhaust, so a flood of input never costs a note-off: see
//! [`OUTBOX_CAPACITY`]. [`Outbox::sorted`] orders by timing, then Descant's note-offs, then pass-through events in their
//! original order, then Descant's note-ons, so a key ended and restarted at one sample goes off
//! before it goes on. Sorting is in place (`sort_unstable` on unique keys: deterministic, no
//! allocation).

use nice_plug::prelude::NoteEvent;

use crate::tracker::MAX_SOUNDING;

/// Events per block that may start something (twice nice-plug's input event capacity of 1024).
pub const START_CAPACITY: usize = 2048;
/// Everything the outbox holds. Ends per block are bounded by what sounds at the block's start
/// (at most 128 keys × 16 channels passed through, plus Descant's tracked notes) plus what starts
/// in the block (at most [`START_CAPACITY`]), so ends always fit beside the starts.
pub const OUTBOX_CAPACITY: usize = START_CAPACITY + (128 * 16 + MAX_SOUNDING) + START_CAPACITY;

/// Where an outgoing event comes from; also its rank among events at the same sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// Descant ending a note.
    DescantOff = 0,
    /// The player's event, passed through.
    PassThrough = 1,
    /// Descant starting a note.
    DescantOn = 2,
}

/// One queued event with its sort key.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Sample offset in the block.
    timing: u32,
    /// Rank at the same sample.
    source: Source,
    /// Arrival order, to keep pass-through order and make the key unique.
    seq: u32,
    /// The event.
    event: NoteEvent<()>,
}

/// The block's outgoing events. Lives in the plugin struct.
#[derive(Debug)]
pub struct Outbox {
    /// Preallocated to [`OUTBOX_CAPACITY`]; never grows.
    entries: Vec<Entry>,
    /// Entries of this block pushed with [`Outbox::push_start`] (bounded by [`START_CAPACITY`]).
    starts: usize,
    /// Events refused because the block's starts were used up (whole activation; read by tests).
    pub dropped: u64,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            entries: Vec::with_capacity(OUTBOX_CAPACITY),
            starts: 0,
            dropped: 0,
        }
    }
}

impl Outbox {
    /// Empties the outbox (keeps its buffer).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.starts = 0;
    }

    /// Whether one more start fits in this block.
    pub fn has_room_to_start(&self) -> bool {
        self.starts < START_CAPACITY
    }

    /// Queues an event that may start something; false (refused and counted) when the block's
    /// starts are used up: the caller must then treat the event as never sent.
    pub fn push_start(&mut self, source: Source, event: NoteEvent<()>) -> bool {
        if !self.has_room_to_start() {
            self.dropped += 1;
            return false;
        }
        self.starts += 1;
        self.push(source, event);
        true
    }

    /// Queues an event that ends something already let through. Always fits (see
    /// [`OUTBOX_CAPACITY`]); were that reasoning ever wrong, the event is dropped and counted
    /// rather than the buffer grown.
    pub fn push_end(&mut self, source: Source, event: NoteEvent<()>) {
        if self.entries.len() < self.entries.capacity() {
            self.push(source, event);
        } else {
            self.dropped += 1;
        }
    }

    fn push(&mut self, source: Source, event: NoteEvent<()>) {
        let seq = self.entries.len() as u32;
        self.entries.push(Entry {
            timing: event.timing(),
            source,
            seq,
            event,
        });
    }

    /// Sorts the events into sending order and iterates over them with their sources.
    pub fn sorted(&mut self) -> impl Iterator<Item = (Source, NoteEvent<()>)> + '_ {
        self.entries
            .sort_unstable_by_key(|e| (e.timing, e.source, e.seq));
        self.entries.iter().map(|e| (e.source, e.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nice_plug::midi::{Channel, Key, VoiceID};

    fn on(timing: u32, key: u8) -> NoteEvent<()> {
        NoteEvent::NoteOn {
            timing,
            voice_id: VoiceID::Wildcard,
            channel: Channel::Number(0),
            key: Key::Number(key),
            velocity: 0.5,
        }
    }

    fn off(timing: u32, key: u8) -> NoteEvent<()> {
        NoteEvent::NoteOff {
            timing,
            voice_id: VoiceID::Wildcard,
            channel: Channel::Number(0),
            key: Key::Number(key),
            velocity: 0.0,
        }
    }

    #[test]
    fn events_come_out_in_time_with_offs_before_ons() {
        let mut o = Outbox::default();
        o.push_start(Source::DescantOn, on(5, 60));
        o.push_start(Source::PassThrough, on(3, 40));
        o.push_end(Source::DescantOff, off(5, 60));
        o.push_end(Source::PassThrough, off(3, 41));
        let got: Vec<_> = o.sorted().map(|(_, e)| e).collect();
        assert_eq!(got, vec![on(3, 40), off(3, 41), off(5, 60), on(5, 60)]);
    }

    #[test]
    fn starts_past_their_budget_are_refused_and_ends_still_fit() {
        let mut o = Outbox::default();
        let mut accepted = 0;
        for i in 0..START_CAPACITY + 10 {
            accepted += usize::from(o.push_start(Source::PassThrough, on(i as u32, 60)));
        }
        assert_eq!(accepted, START_CAPACITY);
        assert_eq!(o.dropped, 10);
        // The worst case of ends: every key on every channel held from before, and every start.
        for _ in 0..(128 * 16 + MAX_SOUNDING) + START_CAPACITY {
            o.push_end(Source::PassThrough, off(7, 60));
        }
        assert_eq!(o.dropped, 10, "no end was dropped");
        assert_eq!(
            o.entries.capacity(),
            OUTBOX_CAPACITY,
            "the buffer never grew"
        );
        o.clear();
        assert!(
            o.push_start(Source::DescantOn, on(0, 60)),
            "a new block starts afresh"
        );
    }
}
