//! The scheduler: Descant's planned notes waiting for their block. Audio thread only; fixed
//! capacity, no allocation.
//!
//! Guarantees: a note is handed out exactly once, in onset order, in the block that contains its
//! onset (blocks tile time: a beat belongs to the block where its real offset lies in
//! `-0.5..frames-0.5`), at that offset rounded to the nearest sample; a note whose block has
//! already passed is dropped and counted, never played late.

use arrayvec::ArrayVec;
use descant_inference::events::GeneratedNote;

/// Most planned notes held at once (the worker plans about two beats ahead).
pub const MAX_PENDING: usize = 256;

/// How far (in samples) before a block an onset may lie and still count as on time: rounding
/// slack for the beat→sample conversion only.
const LATE_SLACK_SAMPLES: f64 = 1e-6;

/// Planned notes. Lives in the plugin struct.
#[derive(Debug, Default)]
pub struct Scheduler {
    /// The notes, sorted by onset (notes with the same onset in arrival order), so the notes due
    /// in a block are a prefix.
    pending: ArrayVec<GeneratedNote, MAX_PENDING>,
}

impl Scheduler {
    /// Whether nothing is planned.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Whether another note fits.
    pub fn has_room(&self) -> bool {
        !self.pending.is_full()
    }

    /// Adds a planned note in onset order; false when full. O(n), no allocation.
    pub fn push(&mut self, note: GeneratedNote) -> bool {
        let at = self
            .pending
            .partition_point(|n| n.onset_beat <= note.onset_beat);
        self.pending.try_insert(at, note).is_ok()
    }

    /// Forgets the planned notes that start at or after `beat` (a last-moment correction).
    /// O(n), no allocation.
    pub fn retract_from(&mut self, beat: f64) {
        self.pending.retain(|n| n.onset_beat < beat - 1e-9);
    }

    /// Forgets every planned note.
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Hands out the notes due in a block of `frames` samples: `offset_of` maps a beat to a real
    /// sample offset in the block, `play` gets each due note with its offset. Returns how many
    /// notes were late (dropped). O(n) in the notes held, no allocation.
    pub fn take_due(
        &mut self,
        frames: u32,
        offset_of: impl Fn(f64) -> f64,
        mut play: impl FnMut(GeneratedNote, u32),
    ) -> u32 {
        let before = self.pending.len();
        self.pending
            .retain(|n| offset_of(n.onset_beat) >= -0.5 - LATE_SLACK_SAMPLES);
        let late = (before - self.pending.len()) as u32;
        // Earliest first (the order is kept): a note restarting a key must find the earlier note
        // sounding, never a later one (that note's off would go out before its on).
        let due = self
            .pending
            .partition_point(|n| offset_of(n.onset_beat) < f64::from(frames) - 0.5);
        for n in self.pending.drain(..due) {
            let at = offset_of(n.onset_beat);
            play(
                n,
                (at.round().max(0.0) as u32).min(frames.saturating_sub(1)),
            );
        }
        late
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_notes_come_out_earliest_first() {
        let mut s = Scheduler::default();
        for beat in [0.75, 0.25, 2.0, 0.5] {
            assert!(s.push(note(beat)));
        }
        let mut got = Vec::new();
        let late = s.take_due(
            100,
            |b| b * 100.0,
            |n, offset| got.push((n.onset_beat, offset)),
        );
        assert_eq!(late, 0);
        assert_eq!(got, vec![(0.25, 25), (0.5, 50), (0.75, 75)]);
        assert!(!s.is_empty());
    }

    #[test]
    fn notes_with_the_same_onset_come_out_in_arrival_order() {
        let mut s = Scheduler::default();
        for (beat, key) in [(0.5, 64), (0.25, 60), (0.5, 67), (0.25, 62), (0.5, 65)] {
            assert!(s.push(GeneratedNote { key, ..note(beat) }));
        }
        let mut got = Vec::new();
        s.take_due(100, |b| b * 100.0, |n, _| got.push(n.key));
        assert_eq!(got, vec![60, 62, 64, 67, 65]);
    }

    fn note(onset_beat: f64) -> GeneratedNote {
        GeneratedNote {
            key: 60,
            velocity: 0.8,
            onset_beat,
            length_beats: 0.25,
            epoch: 0,
            alternates: Default::default(),
        }
    }

    #[test]
    fn every_note_is_played_once_whatever_the_block_size() {
        for frames in [1u32, 7, 64, 511, 4096] {
            let mut s = Scheduler::default();
            // Samples per beat 1000; onsets at many fractional positions.
            for i in 0..50 {
                s.push(note(i as f64 * 0.0833 + 0.01));
            }
            let mut played = Vec::new();
            let mut start = 0u64;
            while start < 10_000 {
                let late = s.take_due(
                    frames,
                    |beat| beat * 1000.0 - start as f64,
                    |n, o| played.push((n.onset_beat, start + u64::from(o))),
                );
                assert_eq!(late, 0);
                start += u64::from(frames);
            }
            assert_eq!(played.len(), 50, "block size {frames}");
            for (beat, sample) in played {
                assert_eq!(
                    sample,
                    (beat * 1000.0).round() as u64,
                    "block size {frames}"
                );
            }
        }
    }

    #[test]
    fn late_notes_are_dropped_and_counted() {
        let mut s = Scheduler::default();
        s.push(note(0.5));
        s.push(note(3.0));
        let mut played = 0;
        let late = s.take_due(100, |beat| (beat - 1.0) * 100.0, |_, _| played += 1);
        assert_eq!((late, played), (1, 0));
        assert!(!s.is_empty(), "the future note stays");
    }

    #[test]
    fn a_full_scheduler_refuses_notes() {
        let mut s = Scheduler::default();
        for i in 0..MAX_PENDING {
            assert!(s.push(note(i as f64)));
        }
        assert!(!s.has_room());
        assert!(!s.push(note(0.0)));
    }
}
