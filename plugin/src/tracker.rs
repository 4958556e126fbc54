//! The note tracker: every note Descant has switched on and not yet off. Audio thread only;
//! fixed capacity, no allocation.
//!
//! Guarantees: a note is only started when there is room to track it, so every note-on Descant
//! sends has an entry here until its note-off is sent, on the same key and channel. A note's
//! off never goes out at or before its own on (a note too short for its block ends in the next).

use arrayvec::ArrayVec;

/// Most notes Descant can have sounding at once (its line is monophonic; this is headroom).
pub const MAX_SOUNDING: usize = 64;

/// One sounding note.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoundingNote {
    /// The key its note-on went to.
    pub key: u8,
    /// The channel its note-on went to.
    pub channel: u8,
    /// When it should end, in beats.
    pub end_beat: f64,
    /// Offset of its note-on if that was sent in the current block.
    on_offset_this_block: Option<u32>,
}

/// Descant's sounding notes. Lives in the plugin struct.
#[derive(Debug, Default)]
pub struct NoteTracker {
    /// The notes, unordered.
    notes: ArrayVec<SoundingNote, MAX_SOUNDING>,
}

impl NoteTracker {
    /// Whether nothing is sounding.
    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    /// Call at the start of every block.
    pub fn new_block(&mut self) {
        for n in &mut self.notes {
            n.on_offset_this_block = None;
        }
    }

    /// Whether a note on `key`/`channel` was started at `offset` in this block (a second one there
    /// would need its note-off and note-on at one sample, in an order hosts cannot keep).
    pub fn started_at(&self, key: u8, channel: u8, offset: u32) -> bool {
        self.notes
            .iter()
            .any(|n| n.key == key && n.channel == channel && n.on_offset_this_block == Some(offset))
    }

    /// The highest key sounding on `channel` at `beat`, sample `offset` of this block: begun at or
    /// before it, ending after it.
    pub fn highest_at(&self, channel: u8, beat: f64, offset: u32) -> Option<u8> {
        self.notes
            .iter()
            .filter(|n| n.channel == channel && n.end_beat > beat + 1e-9)
            .filter(|n| n.on_offset_this_block.is_none_or(|on| on <= offset))
            .map(|n| n.key)
            .max()
    }

    /// Takes out the note sounding on `key`/`channel`, if any (to end it before restarting it).
    pub fn take_key(&mut self, key: u8, channel: u8) -> Option<SoundingNote> {
        let i = self
            .notes
            .iter()
            .position(|n| n.key == key && n.channel == channel)?;
        Some(self.notes.swap_remove(i))
    }

    /// Records a note-on sent at `offset` in this block. Returns false (and records nothing)
    /// when full: the caller must then not send the note-on.
    pub fn start(&mut self, key: u8, channel: u8, end_beat: f64, offset: u32) -> bool {
        self.notes
            .try_push(SoundingNote {
                key,
                channel,
                end_beat,
                on_offset_this_block: Some(offset),
            })
            .is_ok()
    }

    /// Ends the notes whose end falls before the block's last sample: `offset_of` maps a beat to
    /// a real sample offset in the block; `off` is called with each note and its note-off offset.
    pub fn end_due(
        &mut self,
        frames: u32,
        offset_of: impl Fn(f64) -> f64,
        mut off: impl FnMut(SoundingNote, u32),
    ) {
        let last = frames.saturating_sub(1);
        let mut i = 0;
        while i < self.notes.len() {
            let n = self.notes[i];
            let at = offset_of(n.end_beat);
            let due = at < f64::from(frames) - 0.5;
            let offset = (at.round().max(0.0) as u32).min(last);
            let after_its_on = n.on_offset_this_block.is_none_or(|on| offset > on);
            if due && after_its_on {
                off(self.notes.swap_remove(i), offset);
            } else {
                i += 1;
            }
        }
    }

    /// Ends every note: `off` is called with each; the tracker is empty afterwards.
    pub fn end_all(&mut self, mut off: impl FnMut(SoundingNote)) {
        for n in self.notes.drain(..) {
            off(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_key_sounding_at_a_moment_has_begun_and_not_ended() {
        let mut t = NoteTracker::default();
        assert!(t.start(64, 0, 4.0, 0));
        assert!(t.start(67, 0, 3.0, 100));
        assert!(t.start(72, 1, 4.0, 0));
        assert_eq!(
            t.highest_at(0, 2.0, 50),
            Some(64),
            "67 starts at sample 100"
        );
        assert_eq!(t.highest_at(0, 2.0, 100), Some(67));
        assert_eq!(t.highest_at(0, 3.0, 200), Some(64), "67 ends at beat 3");
        t.new_block();
        assert_eq!(t.highest_at(0, 4.0, 0), None, "both have ended by beat 4");
    }

    #[test]
    fn a_note_started_in_this_block_is_known_by_its_offset() {
        let mut t = NoteTracker::default();
        assert!(t.start(60, 0, 1.0, 10));
        assert!(t.started_at(60, 0, 10));
        assert!(!t.started_at(60, 0, 11) && !t.started_at(60, 1, 10));
        t.new_block();
        assert!(!t.started_at(60, 0, 10));
    }

    #[test]
    fn notes_end_inside_the_block_at_their_offset() {
        let mut t = NoteTracker::default();
        assert!(t.start(60, 0, 1.0, 0));
        t.new_block();
        let mut offs = Vec::new();
        t.end_due(
            100,
            |beat| (beat - 0.5) * 100.0,
            |n, o| offs.push((n.key, o)),
        );
        assert_eq!(offs, vec![(60, 50)]);
        assert!(t.is_empty());
    }

    #[test]
    fn a_note_never_ends_at_or_before_its_own_on() {
        let mut t = NoteTracker::default();
        // Starts at offset 10, would end at offset 10 too: deferred to the next block.
        assert!(t.start(60, 0, 0.1, 10));
        let mut offs = Vec::new();
        t.end_due(64, |beat| beat * 100.0, |n, o| offs.push((n.key, o)));
        assert!(offs.is_empty());
        t.new_block();
        t.end_due(
            64,
            |beat| (beat - 0.64) * 100.0,
            |n, o| offs.push((n.key, o)),
        );
        assert_eq!(offs, vec![(60, 0)]);
    }

    #[test]
    fn a_full_tracker_refuses_new_notes() {
        let mut t = NoteTracker::default();
        for k in 0..MAX_SOUNDING {
            assert!(t.start(k as u8, 0, 10.0, 0));
        }
        assert!(!t.start(100, 0, 10.0, 0));
        assert_eq!(t.notes.len(), MAX_SOUNDING);
    }

    #[test]
    fn end_all_empties_and_reports_every_note() {
        let mut t = NoteTracker::default();
        t.start(60, 0, 10.0, 0);
        t.start(64, 2, 10.0, 0);
        let mut keys = Vec::new();
        t.end_all(|n| keys.push((n.key, n.channel)));
        keys.sort();
        assert_eq!(keys, vec![(60, 0), (64, 2)]);
        assert!(t.is_empty());
    }

    #[test]
    fn take_key_finds_the_same_key_and_channel_only() {
        let mut t = NoteTracker::default();
        t.start(60, 1, 10.0, 0);
        assert!(t.take_key(60, 0).is_none());
        assert_eq!(t.take_key(60, 1).map(|n| n.key), Some(60));
    }
}
