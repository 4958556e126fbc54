//! Answer mode (call and response): after the player's phrase (the call) and `Answer after` beats
//! of silence, Descant answers with a phrase of its own. Worker thread (or tests); allocates.
//!
//! An answer of known length is chosen, not streamed: as soon as the player falls silent the
//! planner writes whole candidate answers, one per call, and the [`critic`](crate::music::critic)
//! scores each against the call; the best is played. At least [`MIN_CANDIDATES`] are written,
//! and more (up to [`MAX_CANDIDATES`]) while the answer's first note is more than a beat away;
//! once the playhead reaches the answer's start, the best so far plays (late, its notes already
//! past dropped) rather than starting over at a later bar;
//! the work is thrown away if the player plays on (a new epoch). Offline the playhead moves by
//! blocks, so the count, and the answer, are the same for the same seed. Writing and judging one
//! candidate is in [`candidate`].
//!
//! Guarantees: no answer starts while a player key is down, before `Answer after` beats after the
//! latest note-off, or before the playhead, and starts no later than the first bar line after
//! that. Within that, it starts at the call's place in the bar: a call that began on a bar line
//! is answered from a bar line, a pickup with a pickup of the same length where it fits. When
//! that place is half a bar or more away (a call out of step with the host's bars), it starts at
//! the call's place in the beat instead.
//! With `Answer length` "Match the call" it lasts as many bars as the call (rounded, at least
//! one, at most [`MATCH_CAP_BARS`]); with a number of bars, that many. No answer note starts at
//! or after its end; its last note is a cadence, as long as the call's last note (at least a
//! beat, or a quarter note in meters of longer beats; ending by the answer's end: planned, never
//! clipped). With `Answer length` "Until you play" the answer is one streamed line, as in
//! Descant 0.2.
//!
//! The musician's actions (see [`super::Action`]): `Again` redraws the last answer, the whole of
//! it, from the next bar line (the notes of it not yet played are withdrawn), for the same call
//! and as many bars; `Answer now` answers the phrase played so far at the next bar line without
//! waiting for `Answer after` or for the keys to be released; `Keep` keeps the answer. `Keep`
//! and `Again` are also a choice the session's [taste](crate::music::taste) learns from, once
//! per answer: the answer played against the other candidates the critic had. So is a veto of one
//! of its notes: the answer with the replacement (or without the note) against it as it was. The
//! actions are in [`actions`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use crate::decode::generator::Continuation;
use crate::error::ModelError;
use crate::model::step::StepModel;
use crate::model::tokenizer::TickNote;
use crate::music::critic::{self, Scores};
use crate::music::onset::Alternates;
use crate::music::taste::{Features, TasteStore};
use crate::music::time::Meter;

use super::super::config::{AnswerLength, WorkerSettings};
use super::context::{Clock, PlanContext};
use super::line::{note_timer, Frame, Step};
use super::{ceil_to, to_tick, ModeEvents, ModePlanner, PlanSink, PlanTime, START_GRID_TICKS};
use candidate::{judge, Slot};

/// Candidates an answer is chosen from, at least (even when time is short).
pub const MIN_CANDIDATES: u32 = 3;
/// Candidates an answer is chosen from, at most.
pub const MAX_CANDIDATES: u32 = 8;
/// Longest answer "Match the call" gives, in bars.
pub const MATCH_CAP_BARS: i64 = 8;

/// Answer mode's planner: the phrase waiting for its answer, the answer being chosen, the chosen
/// answer being sent.
pub(super) struct AnswerPlanner<M: StepModel> {
    /// The player finished a phrase that has not been answered yet. Set on a player note-off.
    pending: bool,
    /// The answer being chosen, if any.
    choosing: Option<Choosing>,
    /// The chosen answer's notes not yet sent, in order, with their alternates.
    chosen: VecDeque<(TickNote, Alternates)>,
    /// The prefilled line every candidate of the answer being chosen forks from.
    base: Option<Continuation<M>>,
    /// The latest answer chosen: what `Again` redraws and `Keep` keeps.
    last: Option<LastAnswer>,
    /// `Again` asked for this redraw of the latest answer: its call and place.
    redo: Option<Redo>,
    /// `Answer now` was asked: the phrase so far is answered at the next bar line, without
    /// waiting for `Answer after` or for the keys to be released.
    hurry: bool,
    /// The session's taste, shared with the plugin's persisted state (and the editor, which
    /// shows and resets it): read when a candidate is judged, written when the musician keeps
    /// an answer or asks again.
    taste: Arc<RwLock<TasteStore>>,
}

/// The latest answer chosen.
#[derive(Debug, Clone)]
struct LastAnswer {
    /// The call it answered.
    call: Vec<TickNote>,
    /// Its notes.
    notes: Vec<TickNote>,
    /// Its length in ticks, in whole bars (a pickup not counted).
    len: i64,
    /// The features of the candidate played.
    played: Features,
    /// The features of the candidates not played.
    others: Vec<Features>,
    /// Whether the musician has kept it or asked again already (the taste learns once).
    judged: bool,
}

/// A redraw `Again` asked for.
#[derive(Debug, Clone)]
struct Redo {
    /// The call it answers.
    call: Vec<TickNote>,
    /// First tick (a bar line) and end tick.
    span: (i64, i64),
}

impl<M: StepModel> AnswerPlanner<M> {
    /// A planner with nothing heard, learning into and judging by the shared `taste`.
    pub(super) fn new(taste: Arc<RwLock<TasteStore>>) -> Self {
        AnswerPlanner {
            pending: false,
            choosing: None,
            chosen: VecDeque::new(),
            base: None,
            last: None,
            redo: None,
            hurry: false,
            taste,
        }
    }
}

/// A candidate answer's notes, with their alternates.
type Candidate = Vec<(TickNote, Alternates)>;

/// An answer being chosen: where it goes and the best candidate so far.
#[derive(Debug)]
pub(super) struct Choosing {
    /// First tick of the answer.
    start: i64,
    /// Tick where it ends.
    end: i64,
    /// Candidates written so far.
    tried: u32,
    /// The best so far: its notes and scores, and its index in `features`.
    best: Option<(Candidate, Scores, usize)>,
    /// Every candidate's features, in the order written.
    features: Vec<Features>,
    /// The call the candidates answer.
    call: Vec<TickNote>,
}

impl<M: StepModel> ModeEvents for AnswerPlanner<M> {
    /// Forgets the answer being chosen or played (the player played on, time jumped).
    fn line_dropped(&mut self, _cursor: Option<i64>) {
        self.choosing = None;
        self.chosen.clear();
        self.base = None;
        self.redo = None;
    }

    fn player_note_finished(&mut self) {
        self.pending = true;
    }

    fn forget(&mut self) {
        self.pending = false;
        self.hurry = false;
        self.last = None;
    }

    /// The answer kept is what was played.
    fn adopt_choice(&mut self, meter: Meter, beat: f64, planned: u8, played: u8) {
        if let Some(n) = self.last_note(meter, beat, planned) {
            n.key = played;
        }
    }

    fn drop_note(&mut self, beat: f64, key: u8) {
        if let Some(last) = self.last.as_mut() {
            let tick = to_tick(beat);
            last.notes
                .retain(|n| n.key != key || (n.onset - tick).abs() > 1);
        }
    }
}

/// The call: the trailing notes of `phrase` with no silence of `wait` ticks or more between them.
fn call_of(phrase: &[TickNote], wait: i64) -> &[TickNote] {
    let mut from = phrase.len();
    while from > 0 {
        from -= 1;
        if from > 0 {
            let prev = &phrase[from - 1];
            if phrase[from].onset - (prev.onset + prev.duration) >= wait {
                break;
            }
        }
    }
    &phrase[from..]
}

/// Where the answer to `call` goes, from the earliest tick it may start on: `(start,
/// downbeat)`, its first tick and the tick its bars count from (see the module's guarantees).
fn answer_span(clock: &Clock, call: &[TickNote], earliest: i64) -> (i64, i64) {
    let (bar, beat) = (clock.meter.bar_ticks(), clock.meter.beat_ticks());
    let first = call.first().map_or(earliest, |n| n.onset);
    let place = (first - clock.anchor).rem_euclid(bar);
    let pickup = if place == 0 { 0 } else { bar - place };
    let next_bar = clock.anchor + ceil_to(earliest - clock.anchor, bar);
    let matched = if pickup > 0 && next_bar - pickup >= earliest {
        next_bar - pickup
    } else {
        next_bar
    };
    if matched - earliest <= bar / 2 {
        return (matched, next_bar);
    }
    // Half a bar or more to wait for the bar's place: the call's place in the beat instead.
    let in_beat = (first - clock.anchor).rem_euclid(beat);
    let start = clock.anchor + in_beat + ceil_to(earliest - clock.anchor - in_beat, beat);
    (start, start)
}

/// How many bars the answer lasts, `None` for "until you play" (`last_off`: where the call
/// ended).
fn answer_bars(
    clock: &Clock,
    settings: &WorkerSettings,
    call: &[TickNote],
    last_off: i64,
) -> Option<i64> {
    let bar = clock.meter.bar_ticks();
    match settings.answer_length {
        AnswerLength::UntilYouPlay => None,
        AnswerLength::Bars(n) => Some(i64::from(n.max(1))),
        AnswerLength::MatchTheCall => {
            let first = call.first().map_or(last_off, |n| n.onset);
            let len = (last_off - first).max(1);
            Some(((len + bar / 2) / bar).clamp(1, MATCH_CAP_BARS))
        }
    }
}

impl<M: StepModel> ModePlanner<M> for AnswerPlanner<M> {
    /// Answer mode: one step more: a note of the chosen answer sent, a candidate written, or a
    /// note (or bar line) of a streamed answer.
    fn plan(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        time: PlanTime,
        sink: &mut impl PlanSink,
    ) -> Result<bool, ModelError> {
        let PlanTime {
            playhead, horizon, ..
        } = time;
        if let Some(&(n, alternates)) = self.chosen.front() {
            if n.onset >= horizon {
                return Ok(false);
            }
            self.chosen.pop_front();
            cx.emit_with(n, alternates, settings, f64::MIN, Duration::ZERO, sink);
            return Ok(true);
        }
        if cx.line.continuation.is_some() {
            return self.stream_answer(cx, model, settings, horizon, sink);
        }
        if let Some(redo) = &self.redo {
            let (call, span) = (redo.call.clone(), redo.span);
            return self.choose(cx, model, settings, &call, span, playhead, sink);
        }
        if !self.pending || (cx.player.any_held() && !self.hurry) {
            return Ok(false);
        }
        let wait = to_tick(settings.answer_after_beats.max(0.0));
        let earliest = if self.hurry {
            ceil_to(playhead + 1, START_GRID_TICKS)
        } else {
            ceil_to(cx.player.last_off_tick + wait, START_GRID_TICKS)
                .max(ceil_to(playhead + 1, START_GRID_TICKS))
        };
        let call = call_of(&cx.player.phrase, wait.max(1)).to_vec();
        let (start, downbeat) = if self.hurry {
            // `Answer now`: from the next bar line, whatever the call's place in the bar.
            let bar = cx.clock.meter.bar_ticks();
            let next_bar = cx.clock.anchor + ceil_to(earliest - cx.clock.anchor, bar);
            (next_bar, next_bar)
        } else {
            answer_span(&cx.clock, &call, earliest)
        };
        let Some(bars) = answer_bars(&cx.clock, settings, &call, cx.player.last_off_tick) else {
            if start >= horizon {
                return Ok(false); // not due yet: the player may still go on
            }
            self.begin_answer(cx, model, settings, start, sink)?;
            return self.stream_answer(cx, model, settings, horizon, sink);
        };
        let end = downbeat + bars * cx.clock.meter.bar_ticks();
        self.choose(cx, model, settings, &call, (start, end), playhead, sink)
    }
}

impl<M: StepModel> AnswerPlanner<M> {
    /// One step of choosing the answer to `call` over `span`: a candidate more written, or the
    /// best played (see the module doc).
    #[allow(clippy::too_many_arguments)]
    fn choose(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        call: &[TickNote],
        span: (i64, i64),
        playhead: i64,
        sink: &mut impl PlanSink,
    ) -> Result<bool, ModelError> {
        let (start, end, late) = self.place(span, playhead);
        let tried = self.choosing.as_ref().map_or(0, |c| c.tried);
        let time_left = start - playhead > cx.clock.meter.beat_ticks();
        if !late && (tried < MIN_CANDIDATES || (tried < MAX_CANDIDATES && time_left)) {
            self.write_next(cx, model, settings, call, (start, end), sink)?;
            return Ok(true);
        }
        Ok(self.play_best(cx, sink))
    }

    /// Where the answer being chosen goes: `span`, unless the playhead reached the start of an
    /// answer whose candidates were being written (a slow machine, a dense answer): then that
    /// answer keeps its place and is late, and the best so far plays from where the playhead is
    /// (the notes already past are dropped as late); moving it on would throw the work away
    /// again with every bar and never answer. A new place starts the choice afresh. Returns the
    /// place and whether it is late.
    fn place(&mut self, (mut start, mut end): (i64, i64), playhead: i64) -> (i64, i64, bool) {
        let late = self
            .choosing
            .as_ref()
            .filter(|c| c.tried > 0 && playhead >= c.start)
            .map(|c| (c.start, c.end));
        if let Some((s, e)) = late {
            (start, end) = (s, e);
        }
        if self
            .choosing
            .as_ref()
            .is_none_or(|c| c.start != start || c.end != end)
        {
            self.choosing = Some(Choosing {
                start,
                end,
                tried: 0,
                best: None,
                features: Vec::with_capacity(MAX_CANDIDATES as usize),
                call: Vec::new(),
            });
            self.base = None;
        }
        (start, end, late.is_some())
    }

    /// Writes the next candidate answer to `call` over `start..end`, judges it and keeps it if it
    /// is the best so far.
    fn write_next(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        call: &[TickNote],
        (start, end): (i64, i64),
        sink: &mut impl PlanSink,
    ) -> Result<(), ModelError> {
        let tried = self.choosing.as_ref().map_or(0, |c| c.tried);
        let key = self.answer_key(cx, settings, call);
        let slot = Slot {
            start,
            end,
            index: tried,
            key,
            call_pace: critic::notes_per_beat(call),
        };
        let (candidate, likelihood) = self.write_candidate(cx, model, settings, slot, sink)?;
        let taste = self.taste.read().taste;
        let (scores, features) = judge(
            &cx.clock,
            settings,
            call,
            key,
            &candidate,
            (likelihood, &taste),
            end,
        );
        if let Some(c) = self.choosing.as_mut() {
            c.tried += 1;
            if c.call.is_empty() {
                c.call = call.to_vec();
            }
            if c.best
                .as_ref()
                .is_none_or(|(_, s, _)| scores.total > s.total)
            {
                c.best = Some((candidate, scores, c.features.len()));
            }
            c.features.push(features);
        }
        Ok(())
    }

    /// The choice is made: the best candidate becomes the answer to play. Returns whether there
    /// was a choice to make.
    fn play_best(&mut self, cx: &mut PlanContext<M>, sink: &mut impl PlanSink) -> bool {
        self.base = None;
        let Some(c) = self.choosing.take() else {
            return false;
        };
        if let Some((notes, scores, index)) = c.best {
            sink.answer_chosen(scores, c.tried);
            let mut others = c.features;
            let played = others.remove(index);
            let bar = cx.clock.meter.bar_ticks();
            self.last = Some(LastAnswer {
                call: c.call,
                notes: notes.iter().map(|(n, _)| *n).collect(),
                len: ((c.end - c.start) / bar).max(1) * bar,
                played,
                others,
                judged: false,
            });
            self.chosen = notes.into();
        }
        if self.redo.take().is_none() {
            // (A redraw keeps what sounds before it: its first note may not overlap it.)
            cx.sent.last_end_beat = f64::MIN;
            self.pending = false;
            self.hurry = false;
        }
        true
    }

    /// Starts a streamed answer's line at `start` over the player's phrase.
    fn begin_answer(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        start: i64,
        sink: &mut impl PlanSink,
    ) -> Result<(), ModelError> {
        let phrase = std::mem::take(&mut cx.player.phrase);
        let started = cx.start_line(model, settings, &phrase, start, Frame::NONE, sink);
        cx.player.phrase = phrase;
        started?;
        self.pending = false;
        cx.sent.last_end_beat = f64::MIN;
        Ok(())
    }

    /// An answer with no end ("until you play"): one note (or bar line) more of its line.
    fn stream_answer(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        horizon: i64,
        sink: &mut impl PlanSink,
    ) -> Result<bool, ModelError> {
        let Some((step, t0)) = cx.step_before(model, settings, horizon, sink)? else {
            return Ok(false);
        };
        if let Step::Note(n) = step {
            note_timer(t0, sink);
            cx.emit(n, settings, f64::MIN, t0.elapsed(), sink);
        }
        Ok(true)
    }
}

mod actions;
mod candidate;
#[cfg(test)]
mod tests;
