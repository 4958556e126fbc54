//! The worker's [`PlanSink`]: where the planner's decisions go on the worker thread. Planned
//! notes and retractions go to the audio thread's queue (wait-free for the audio thread) and to
//! the GUI's plan view; figures go to the shared atomics; each note's margin and cost tune the
//! look-ahead. Worker thread only; takes the plan view's and the vetoes' mutexes (shared with the
//! GUI, never with the audio thread).

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::events::{GeneratedNote, Plan};
use crate::music::critic::Scores;
use crate::music::key::Key;
use crate::worker::lookahead::Lookahead;

use super::planner::{PlanSink, VetoOutcome};
use super::shared::{WorkerShared, PLAN_VIEW_NOTES, VETOES_SHOWN};

/// The worker's [`PlanSink`]: notes to the audio thread's queue and the GUI's plan view, figures
/// to the shared atomics, costs to the look-ahead.
pub(super) struct Outlet<'a> {
    /// Worker → audio: planned notes and retractions.
    pub(super) notes: &'a mut rtrb::Producer<Plan>,
    /// Where figures are published.
    pub(super) shared: &'a WorkerShared,
    /// Tuned by each note's margin and cost.
    pub(super) lookahead: &'a mut Lookahead,
}

impl PlanSink for Outlet<'_> {
    fn note(&mut self, note: GeneratedNote, work: Duration) {
        let block = self.shared.block.read();
        let tempo = block.tempo.clamp(1.0, 1000.0);
        let margin = (note.onset_beat - block.playhead_beat) * 60.0 / tempo;
        self.lookahead.on_note(margin, work.as_secs_f64());
        if self.notes.push(Plan::Note(note)).is_ok() {
            self.shared
                .telemetry
                .generated_notes
                .fetch_add(1, Ordering::Relaxed);
            let mut planned = self.shared.planned.lock();
            if planned.len() == PLAN_VIEW_NOTES {
                planned.pop_front();
            }
            planned.push_back(note);
        } else {
            self.shared
                .telemetry
                .queue_full_drops
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    fn retract_from(&mut self, from_beat: f64, epoch: u32) {
        // A retraction that does not fit is lost: the notes it names then play (the clash is
        // heard, nothing hangs).
        let _ = self.notes.push(Plan::Retract { from_beat, epoch });
        self.shared
            .planned
            .lock()
            .retain(|n| n.onset_beat < from_beat - 1e-9);
    }

    fn line_started(&mut self, cost: Duration) {
        self.lookahead.on_line_start(cost.as_secs_f64());
    }

    fn token_micros(&mut self, micros: u32) {
        self.shared
            .telemetry
            .step_micros
            .store(micros, Ordering::Relaxed);
    }

    fn key_in_use(&mut self, key: Option<Key>) {
        self.shared
            .telemetry
            .key_in_use
            .store(key.map_or(0, |k| 1 + k.index() as u32), Ordering::Relaxed);
    }

    fn originality_interventions(&mut self, added: u64) {
        self.shared
            .telemetry
            .originality_interventions
            .fetch_add(added, Ordering::Relaxed);
    }

    fn kept_take_beats(&mut self, beats: f64) {
        self.shared.telemetry.kept_take_beats.store(beats);
    }

    fn answer_chosen(&mut self, scores: Scores, candidates: u32) {
        *self.shared.answer.lock() = Some((scores, candidates));
    }

    fn vetoed(&mut self, outcome: VetoOutcome) {
        let mut shown = self.shared.vetoed.lock();
        if shown.len() == VETOES_SHOWN {
            shown.pop_front();
        }
        shown.push_back(outcome);
    }
}
