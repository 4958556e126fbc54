//! Vetoes: a planned note the musician clicked in the roll, withdrawn before it sounds and
//! planned again without its key, replaced by the next likely key, or dropped (see
//! [`VetoOutcome`]). Worker thread (or tests); allocates.
//!
//! Guarantees: a note that has started is never touched; a vetoed key is masked at its onset for
//! every line planned there until a stop or a jump (`Line::vetoed`, `Guide::avoid`); a
//! replacement's alternates never hold the vetoed key, so the onset choice cannot bring it back.

use std::time::Duration;

use crate::events::GeneratedNote;
use crate::files::take::PlayMode;
use crate::model::step::StepModel;
use crate::music::onset::Alternates;

use super::context::{PlanContext, MAX_VETOED};
use super::{to_tick, PlanSink, Planner};

/// A planned note the musician vetoed in the roll: its key and its onset, as the roll showed it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Veto {
    /// MIDI key.
    pub key: u8,
    /// Onset in beats (as sent).
    pub beat: f64,
}

/// What became of a veto (the editor shows it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VetoOutcome {
    /// Continue: the line was planned again from the note's onset, without that key there.
    Replanned(Veto),
    /// Answer and Loop: the note took the model's next likely key there instead (its onset
    /// choice's alternates, drawn when the note was planned).
    Replaced(Veto, u8),
    /// No time to plan again (under a beat ahead), or no other key drawn there: the note was
    /// dropped, a rest in its place.
    Dropped(Veto),
    /// The note had already started, or is no longer planned: nothing changed.
    TooLate(Veto),
}

/// Vetoes waiting for the planner at once (more are refused: a burst of clicks).
pub(super) const MAX_VETOES: usize = 16;

impl<M: StepModel> Planner<M> {
    /// A veto (see [`VetoOutcome`]): in Continue, with a beat or more to go, the line is planned
    /// again from the note's onset, that key masked there; otherwise the note takes the next
    /// likely key the model drew there, or is dropped. Each mode's memory (Continue's own line,
    /// Loop's recording and kept take) keeps what will play; the key stays out of that onset for
    /// the take (until a stop or a jump).
    pub(super) fn carry_out_veto(
        &mut self,
        veto: Veto,
        playhead: i64,
        sink: &mut impl PlanSink,
    ) -> VetoOutcome {
        let Some((index, note)) = self.cx.sent_note(veto.key, veto.beat) else {
            return VetoOutcome::TooLate(veto);
        };
        let tick = to_tick(note.onset_beat);
        if tick <= playhead {
            return VetoOutcome::TooLate(veto);
        }
        self.cx.ban(tick, veto.key);
        let time_left = tick - playhead >= self.cx.clock.meter.beat_ticks();
        if time_left && self.mode == PlayMode::Continue {
            self.along.restart_from(&mut self.cx, tick, sink);
            return VetoOutcome::Replanned(veto);
        }
        let by = note
            .alternates
            .keys()
            .find(|&k| k != veto.key)
            .filter(|_| time_left);
        self.cx.replace_sent(index, veto.key, by, sink);
        let meter = self.cx.clock.meter;
        if self.mode == PlayMode::Answer {
            self.answer.learn_veto(meter, note.onset_beat, veto.key, by);
        }
        match by {
            Some(key) => {
                self.each(|p| p.adopt_choice(meter, note.onset_beat, veto.key, key));
                VetoOutcome::Replaced(veto, key)
            }
            None => {
                self.each(|p| p.drop_note(note.onset_beat, veto.key));
                VetoOutcome::Dropped(veto)
            }
        }
    }
}

impl<M: StepModel> PlanContext<M> {
    /// The sent note of the line's epoch that the roll showed as `key` at `beat`, and its place
    /// among the notes sent.
    pub(super) fn sent_note(&self, key: u8, beat: f64) -> Option<(usize, GeneratedNote)> {
        self.sent.notes.iter().enumerate().rev().find_map(|(i, n)| {
            (n.key == key && n.epoch == self.clock.epoch && (n.onset_beat - beat).abs() < 1e-6)
                .then_some((i, *n))
        })
    }

    /// A key vetoed at `tick`: lines planned there from now on avoid it.
    pub(super) fn ban(&mut self, tick: i64, key: u8) {
        if self.line.vetoed.len() == MAX_VETOED {
            self.line.vetoed.remove(0);
        }
        self.line.vetoed.push((tick, key));
    }

    /// The sent note at `index` (see [`PlanContext::sent_note`]) is withdrawn and, when `by` is
    /// given, sent again with that key (its alternates without `vetoed` or `by`, so the onset
    /// choice cannot bring the vetoed key back); the notes sent after it are sent again as they
    /// were.
    pub(super) fn replace_sent(
        &mut self,
        index: usize,
        vetoed: u8,
        by: Option<u8>,
        sink: &mut impl PlanSink,
    ) {
        let note = self.sent.notes[index];
        let after: Vec<GeneratedNote> = self.sent.notes[index + 1..].to_vec();
        self.withdraw_from(note.onset_beat, sink);
        if let Some(key) = by {
            let left: Vec<u8> = note
                .alternates
                .keys()
                .filter(|&k| k != vetoed && k != key)
                .collect();
            let alternates = Alternates::new(&left, note.alternates.strong);
            self.send(
                GeneratedNote {
                    key,
                    alternates,
                    ..note
                },
                Duration::ZERO,
                sink,
            );
        }
        for n in after {
            self.send(n, Duration::ZERO, sink);
        }
    }
}
