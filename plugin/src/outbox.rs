//! The outbox: one block's outgoing note events, gathered from pass-through and from Descant, then
//! sorted into host order. Audio thread only; its buffer is allocated once at construction.
//!
//! Guarantees: [`Outbox::push`] never allocates (a full outbox drops the event and counts it);
//! [`Outbox::sorted`] orders by timing, then Descant's note-offs, then pass-through events in their
//! original order, then Descant's note-ons, so a key ended and restarted at one sample goes off
//! before it goes on. Sorting is in place (`sort_unstable` on unique keys: deterministic, no
//! allocation).

use nice_plug::prelude::NoteEvent;

/// Outgoing events per block the outbox holds (the host's input capacity is 1024).
pub const OUTBOX_CAPACITY: usize = 4096;

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
    /// Events dropped because the outbox was full (whole session).
    pub dropped: u64,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            entries: Vec::with_capacity(OUTBOX_CAPACITY),
            dropped: 0,
        }
    }
}

impl Outbox {
    /// Empties the outbox (keeps its buffer).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Queues an event; drops it (counted) when full.
    pub fn push(&mut self, source: Source, event: NoteEvent<()>) {
        if self.entries.len() < self.entries.capacity() {
            let seq = self.entries.len() as u32;
            self.entries.push(Entry {
                timing: event.timing(),
                source,
                seq,
                event,
            });
        } else {
            self.dropped += 1;
        }
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
        o.push(Source::DescantOn, on(5, 60));
        o.push(Source::PassThrough, on(3, 40));
        o.push(Source::DescantOff, off(5, 60));
        o.push(Source::PassThrough, off(3, 41));
        let got: Vec<_> = o.sorted().map(|(_, e)| e).collect();
        assert_eq!(got, vec![on(3, 40), off(3, 41), off(5, 60), on(5, 60)]);
    }

    #[test]
    fn a_full_outbox_drops_instead_of_growing() {
        let mut o = Outbox::default();
        for i in 0..OUTBOX_CAPACITY + 10 {
            o.push(Source::PassThrough, on(i as u32, 60));
        }
        assert_eq!(o.dropped, 10);
        assert_eq!(o.entries.capacity(), OUTBOX_CAPACITY);
    }
}
