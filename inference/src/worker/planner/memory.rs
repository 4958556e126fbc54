//! Track memory: what Descant heard, kept by where it sounded, so that a line planned ahead of the
//! playhead can expect what will sound beside it. Worker thread (or tests); `record` allocates
//! only while the store grows to its bound, `expect` writes into the caller's buffer.
//!
//! Guarantees: [`TrackMemory::expect`] appends only notes that start inside the asked range, each
//! a note that was heard (moved by whole bars or cycles, never transposed or invented); the store
//! holds at most [`MAX_NOTES`] notes (the oldest go first); it survives loop wraps and seeks (that
//! is what it is for) and is cleared only by [`TrackMemory::clear`].
//!
//! Three ways to know a bar before it sounds, tried in this order for every bar:
//! 1. **By position**: the playhead jumped back (the host loops, the user replays a section) and
//!    an earlier pass heard notes in this bar: they are expected again.
//! 2. **By cycle**: in Loop mode, what sounded one cycle earlier, once the cycle before the
//!    playhead repeated the one before it note for note (material that does not repeat with the
//!    cycle is not expected to).
//! 3. **By repetition**: the latest notes heard (at least [`MATCH_NOTES`]: keys, rhythm and place
//!    in the bar) were heard before, whole bars earlier: what followed them then is expected now
//!    (a tune played again, a repeated riff).

use crate::model::tokenizer::TickNote;

/// Most notes kept.
pub const MAX_NOTES: usize = 4096;
/// Notes that must repeat before a repetition is trusted.
pub const MATCH_NOTES: usize = 4;

/// The heard notes, with the pass each was heard in. Touched by the worker thread only.
#[derive(Debug, Default)]
pub struct TrackMemory {
    /// Heard notes and their pass, in the order they ended (oldest first).
    notes: Vec<(u32, TickNote)>,
    /// The current pass: a new one begins when the playhead jumps (a loop wrap, a seek).
    pass: u32,
    /// Scratch: the current pass's notes by onset (for the repetition match).
    scratch: Vec<TickNote>,
}

/// The bar grid the expectation is asked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarGrid {
    /// Absolute tick of a bar line.
    pub anchor: i64,
    /// Bar length in ticks (positive).
    pub bar_len: i64,
}

impl BarGrid {
    fn bar_start(&self, tick: i64) -> i64 {
        self.anchor + (tick - self.anchor).div_euclid(self.bar_len) * self.bar_len
    }
}

impl TrackMemory {
    /// The playhead jumped: notes heard from now on belong to a new pass.
    pub fn new_pass(&mut self) {
        self.pass = self.pass.wrapping_add(1);
    }

    /// Remembers a heard note (call when it ends, with its real length).
    pub fn record(&mut self, note: TickNote) {
        if self.notes.len() == MAX_NOTES {
            self.notes.remove(0);
        }
        self.notes.push((self.pass, note));
    }

    /// Forgets everything (a reset, a new model does not need this).
    pub fn clear(&mut self) {
        self.notes.clear();
    }

    /// Notes remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.notes.len()
    }

    /// Appends to `out` the notes expected to start in `from..to`, bar by bar on `grid` (see the
    /// module doc); `cycle` is Loop mode's cycle length in ticks, if any.
    pub fn expect(
        &mut self,
        from: i64,
        to: i64,
        grid: BarGrid,
        cycle: Option<i64>,
        out: &mut Vec<TickNote>,
    ) {
        if self.notes.is_empty() || to <= from || grid.bar_len <= 0 {
            return;
        }
        let repeat = self.repetition(grid);
        let cycle = cycle.filter(|&c| c > 0 && self.periodic(c, from));
        let mut bar = grid.bar_start(from);
        while bar < to {
            let (lo, hi) = (bar.max(from), (bar + grid.bar_len).min(to));
            if !self.by_position(bar, grid.bar_len, lo, hi, out)
                && !cycle.is_some_and(|c| c > 0 && self.shifted(c, lo, hi, out))
            {
                if let Some(d) = repeat {
                    self.shifted(d, lo, hi, out);
                }
            }
            bar += grid.bar_len;
        }
    }

    /// Whether the current pass's notes of the `period` ticks before `now` repeat, note for note,
    /// those of the `period` before them (and there are some).
    fn periodic(&self, period: i64, now: i64) -> bool {
        let current = || {
            self.notes
                .iter()
                .filter(|(p, _)| *p == self.pass)
                .map(|(_, n)| n)
        };
        let mut recent = current()
            .filter(|n| n.onset >= now - period && n.onset < now)
            .peekable();
        recent.peek().is_some()
            && recent.all(|n| current().any(|m| m.onset == n.onset - period && m.key == n.key))
    }

    /// Notes of the latest earlier pass that heard anything in the bar at `bar`; whether any.
    fn by_position(
        &self,
        bar: i64,
        bar_len: i64,
        lo: i64,
        hi: i64,
        out: &mut Vec<TickNote>,
    ) -> bool {
        let in_bar = |n: &TickNote| n.onset >= bar && n.onset < bar + bar_len;
        let Some(pass) = self
            .notes
            .iter()
            .rev()
            .find(|(p, n)| *p != self.pass && in_bar(n))
            .map(|(p, _)| *p)
        else {
            return false;
        };
        out.extend(
            self.notes
                .iter()
                .filter(|(p, n)| *p == pass && n.onset >= lo && n.onset < hi)
                .map(|(_, n)| *n),
        );
        true
    }

    /// Notes of the current pass heard `delta` ticks before `lo..hi`, moved on by `delta`.
    fn shifted(&self, delta: i64, lo: i64, hi: i64, out: &mut Vec<TickNote>) -> bool {
        let before = out.len();
        out.extend(
            self.notes
                .iter()
                .filter(|(p, n)| *p == self.pass && n.onset + delta >= lo && n.onset + delta < hi)
                .map(|(_, n)| TickNote {
                    onset: n.onset + delta,
                    ..*n
                }),
        );
        out.len() > before
    }

    /// How far back (whole bars) the latest [`MATCH_NOTES`] notes of the current pass were heard
    /// before, note for note at the same place in the bar; the most recent such repetition.
    fn repetition(&mut self, grid: BarGrid) -> Option<i64> {
        self.scratch.clear();
        self.scratch.extend(
            self.notes
                .iter()
                .filter(|(p, _)| *p == self.pass)
                .map(|(_, n)| *n),
        );
        self.scratch.sort_by_key(|n| (n.onset, n.key));
        let notes = &self.scratch;
        let n = notes.len();
        if n < MATCH_NOTES + 1 {
            return None;
        }
        let query = &notes[n - MATCH_NOTES..];
        let same = |a: &TickNote, b: &TickNote, delta: i64| {
            a.key == b.key && a.onset + delta == b.onset && a.duration == b.duration
        };
        (MATCH_NOTES - 1..n - 1).rev().find_map(|j| {
            let delta = query[MATCH_NOTES - 1].onset - notes[j].onset;
            if delta <= 0 || delta % grid.bar_len != 0 {
                return None;
            }
            let earlier = &notes[j + 1 - MATCH_NOTES..=j];
            earlier
                .iter()
                .zip(query)
                .all(|(a, b)| same(a, b, delta))
                .then_some(delta)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAR: i64 = 48;
    const GRID: BarGrid = BarGrid {
        anchor: 0,
        bar_len: BAR,
    };

    fn n(onset: i64, key: u8) -> TickNote {
        TickNote {
            onset,
            duration: 12,
            key,
        }
    }

    /// A four-bar tune of quarter notes starting at `at`.
    fn tune(at: i64) -> Vec<TickNote> {
        [
            60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 71, 67, 62, 60,
        ]
        .iter()
        .enumerate()
        .map(|(i, &k)| n(at + 12 * i as i64, k))
        .collect()
    }

    #[test]
    fn a_looped_bar_is_expected_where_it_sounded_in_the_previous_pass() {
        let mut m = TrackMemory::default();
        for note in tune(0) {
            m.record(note);
        }
        m.new_pass(); // the host looped back to bar 0
        let mut out = Vec::new();
        m.expect(BAR, 2 * BAR, GRID, None, &mut out);
        assert_eq!(out, tune(0)[4..8]);
    }

    #[test]
    fn nothing_is_expected_from_the_pass_that_is_playing_at_the_same_place() {
        let mut m = TrackMemory::default();
        for note in &tune(0)[..8] {
            m.record(*note);
        }
        let mut out = Vec::new();
        m.expect(2 * BAR, 3 * BAR, GRID, None, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn a_tune_played_again_is_expected_once_its_opening_repeats() {
        let mut m = TrackMemory::default();
        for note in tune(0) {
            m.record(note);
        }
        // Four bars of rest, then the tune again from bar 8: its first five notes are heard.
        let again = tune(8 * BAR);
        for note in &again[..5] {
            m.record(*note);
        }
        let mut out = Vec::new();
        m.expect(again[5].onset, 12 * BAR, GRID, None, &mut out);
        assert_eq!(out, again[5..]);
    }

    #[test]
    fn a_repetition_off_the_bar_grid_is_not_trusted() {
        let mut m = TrackMemory::default();
        for note in tune(0) {
            m.record(note);
        }
        // The same tune a beat later than a bar line: a different place in the bar.
        for note in &tune(8 * BAR + 12)[..5] {
            m.record(*note);
        }
        let mut out = Vec::new();
        m.expect(9 * BAR, 12 * BAR, GRID, None, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn loop_mode_expects_the_previous_cycle_once_the_material_repeats_with_it() {
        // A one-bar riff, heard in bars 0 and 1; the cycle is one bar.
        let riff: Vec<TickNote> = tune(0)[..4].to_vec();
        let mut m = TrackMemory::default();
        for note in &riff {
            m.record(*note);
        }
        let mut out = Vec::new();
        m.expect(BAR, 2 * BAR, GRID, Some(BAR), &mut out);
        assert!(
            out.is_empty(),
            "one cycle heard is no repetition yet: {out:?}"
        );
        for note in &riff {
            m.record(TickNote {
                onset: note.onset + BAR,
                ..*note
            });
        }
        m.expect(2 * BAR, 3 * BAR, GRID, Some(BAR), &mut out);
        let expected: Vec<TickNote> = riff
            .iter()
            .map(|x| TickNote {
                onset: x.onset + 2 * BAR,
                ..*x
            })
            .collect();
        assert_eq!(out, expected);
        // A tune that does not repeat with the cycle is not expected to.
        let mut m = TrackMemory::default();
        for note in &tune(0)[..8] {
            m.record(*note);
        }
        let mut none = Vec::new();
        m.expect(2 * BAR, 3 * BAR, GRID, Some(BAR), &mut none);
        assert!(none.is_empty(), "{none:?}");
    }

    #[test]
    fn the_store_is_bounded() {
        let mut m = TrackMemory::default();
        for i in 0..(MAX_NOTES as i64 + 10) {
            m.record(n(12 * i, 60));
        }
        assert_eq!(m.len(), MAX_NOTES);
    }
}
