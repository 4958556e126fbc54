//! What sounds beside Descant, as the audio thread knows it: the player's keys and the chord
//! channel's, apart, sample by sample within a block, for the onset choice (see
//! `descant_inference::music::onset`). Audio thread only; fixed capacity, no allocation.
//!
//! Guarantees: [`Heard::sounding_at`] is the sets down at the block's start with this block's
//! events at or before the offset applied in order (a key pressed at the very sample a note of
//! Descant's starts counts as sounding). Events past [`MAX_BLOCK_EVENTS`] in one block reach the
//! sets only at the block's end: a flood costs the onset choice precision, never a note.

use arrayvec::ArrayVec;
use descant_inference::music::onset::{KeySet, Meeting, Sounding};

/// Whose key an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The player's (the melody).
    Player,
    /// The chord channel's.
    Chord,
}

/// Key events per block the set follows sample by sample.
pub const MAX_BLOCK_EVENTS: usize = 256;

/// Keys down beside Descant. Lives in the plugin struct.
#[derive(Debug, Default)]
pub struct Heard {
    /// Keys down at the start of this block (the player's and the chord channel's apart).
    at_start: Sounding,
    /// Keys down after every event routed so far (becomes `at_start` at the block's end).
    now: Sounding,
    /// This block's events in order: `(offset, key, pressed, part)`.
    events: ArrayVec<(u32, u8, bool, Part), MAX_BLOCK_EVENTS>,
    /// The previous on-beat meeting of Descant's line with what sounded: the onset choice judges
    /// parallel fifths and octaves against it. Written when Descant starts a note on the pulse,
    /// and at the end of each block for every pulse in it, with the key Descant sounds there,
    /// held or begun (`None` when Descant or the others are silent there); cleared at
    /// discontinuities.
    pub last: Option<Meeting>,
}

impl Heard {
    /// A key of `part` went down at `offset` in this block.
    pub fn press(&mut self, offset: u32, key: u8, part: Part) {
        set_of(&mut self.now, part).insert(key);
        let _ = self.events.try_push((offset, key, true, part));
    }

    /// A key of `part` was released at `offset` in this block.
    pub fn release(&mut self, offset: u32, key: u8, part: Part) {
        set_of(&mut self.now, part).remove(key);
        let _ = self.events.try_push((offset, key, false, part));
    }

    /// The keys sounding at `offset` in this block.
    pub fn sounding_at(&self, offset: u32) -> Sounding {
        let mut sounding = self.at_start;
        for &(_, key, pressed, part) in self.events.iter().take_while(|e| e.0 <= offset) {
            let set = set_of(&mut sounding, part);
            if pressed {
                set.insert(key);
            } else {
                set.remove(key);
            }
        }
        sounding
    }

    /// The block is over: what is down now is down at the next block's start.
    pub fn end_block(&mut self) {
        self.at_start = self.now;
        self.events.clear();
    }

    /// Forgets everything (a reset; the host releases what was held).
    pub fn clear(&mut self) {
        *self = Heard::default();
    }
}

/// The set of `part` in `sounding`.
fn set_of(sounding: &mut Sounding, part: Part) -> &mut KeySet {
    match part {
        Part::Player => &mut sounding.melody,
        Part::Chord => &mut sounding.chord,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_sounds_from_the_sample_it_is_pressed_to_the_sample_it_is_released() {
        let mut h = Heard::default();
        h.press(10, 60, Part::Player);
        h.release(50, 60, Part::Player);
        h.press(50, 64, Part::Player);
        h.press(50, 48, Part::Chord);
        assert!(h.sounding_at(9).is_empty());
        assert_eq!(h.sounding_at(10).melody.keys().collect::<Vec<_>>(), [60]);
        assert_eq!(h.sounding_at(50).melody.keys().collect::<Vec<_>>(), [64]);
        assert_eq!(h.sounding_at(50).chord.keys().collect::<Vec<_>>(), [48]);
        h.end_block();
        assert_eq!(h.sounding_at(0).melody.keys().collect::<Vec<_>>(), [64]);
        assert_eq!(h.sounding_at(0).chord.keys().collect::<Vec<_>>(), [48]);
    }

    #[test]
    fn a_flood_of_events_still_ends_in_the_right_set() {
        let mut h = Heard::default();
        for i in 0..(MAX_BLOCK_EVENTS as u32 + 10) {
            h.press(i, (i % 100) as u8, Part::Player);
            h.release(i, (i % 100) as u8, Part::Player);
        }
        h.press(400, 72, Part::Player);
        h.end_block();
        assert_eq!(h.sounding_at(0).melody.keys().collect::<Vec<_>>(), [72]);
    }
}
