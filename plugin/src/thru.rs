//! The player's keys that went out through pass-through and are still down. Audio thread only;
//! fixed size, no allocation.
//!
//! Guarantees: a note-on that was passed through gets its note-off passed through too, even if
//! `Pass through` was switched off in between, so turning it off never leaves the player's
//! instrument with a hanging note.

/// Held pass-through keys: one bit per MIDI channel for each key.
#[derive(Debug, Clone)]
pub struct HeldThrough {
    /// `held[key]` has bit `channel` set while that key is down and was passed through.
    held: [u16; 128],
}

impl Default for HeldThrough {
    fn default() -> Self {
        HeldThrough { held: [0; 128] }
    }
}

impl HeldThrough {
    /// Records a note-on that was passed through.
    pub fn press(&mut self, key: u8, channel: u8) {
        self.held[usize::from(key & 127)] |= 1 << (channel & 15);
    }

    /// Records a note-off; returns whether its note-on was passed through (so it must pass too).
    pub fn release(&mut self, key: u8, channel: u8) -> bool {
        let bit = 1 << (channel & 15);
        let slot = &mut self.held[usize::from(key & 127)];
        let was = *slot & bit != 0;
        *slot &= !bit;
        was
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_note_on_makes_its_note_off_pass() {
        let mut h = HeldThrough::default();
        h.press(60, 3);
        assert!(!h.release(60, 2), "other channel");
        assert!(h.release(60, 3));
        assert!(!h.release(60, 3), "only once");
    }
}
