//! One candidate answer: written whole from the line every candidate forks, ended with its
//! cadence, and scored by the [`critic`](crate::music::critic). Part of Answer mode ([`super`]); worker
//! thread (or tests); allocates.
//!
//! Guarantees: a candidate's notes start before the answer's end; with Ending Home or Open and
//! a key known, its last note is the cadence: the tonic (or the dominant) on the last strong beat
//! of the last bar, as long as the call's last note (at least half a beat or an eighth note,
//! whichever is shorter; at most to the end), the key of its class nearest the note before (a tritone or
//! less from it); its first note starts at the answer's start. A note starting in the beat before
//! the cadence is drawn towards the cadence's neighbours ([`APPROACH_BIAS`]), not forced.

use crate::decode::generator::Approach;
use crate::decode::steering::KeySetting;
use crate::error::ModelError;
use crate::model::step::StepModel;
use crate::model::tokenizer::{TickNote, TICKS_PER_BEAT};
use crate::music::critic::{self, Brief, Ending, Scores};
use crate::music::key::{self, Key, Mode};
use crate::music::onset::Alternates;
use crate::music::phrasing;
use crate::music::taste::{Features, Taste};

use super::super::context::{Clock, PlanContext};
use super::super::line::{Frame, Step};
use super::super::{ceil_to, PlanSink};
use super::AnswerPlanner;
use crate::worker::config::WorkerSettings;

/// Most notes one candidate may hold (a model that never reaches the end cannot stall).
const MAX_CANDIDATE_NOTES: usize = 256;

/// Candidates are sampled at this times the `Temperature` setting. Drawn at the setting itself,
/// the candidates were too alike and plainer than the tunes they answer (more steps, a narrower
/// range); drawn wider, the critic has more to choose from and keeps the ending, the density and
/// the key; drawn wider still, the answers leap more than the tunes do. Tuned on held-out tunes
/// (`docs/MEASUREMENTS.md`, "Tuned constants").
pub const PROPOSAL_SPREAD: f32 = 1.15;

/// How strongly a note starting in the beat before an answer's cadence is drawn towards the
/// cadence's neighbours, a step or less from it (nats added to their logits; see [`Approach`]).
/// Without it the cadence is the model's own next note moved to the tonic, and is reached by a
/// leap far more often than tunes reach theirs. Tuned on held-out tunes (`docs/MEASUREMENTS.md`,
/// "Tuned constants").
const APPROACH_BIAS: f32 = 2.25;

/// The keys a step or less from a key of pitch class `pc` (bit `k`: MIDI key `k`).
fn approach_keys(pc: u8) -> u128 {
    (pc..128)
        .step_by(12)
        .fold(0, |set, k| set | phrasing::keys_near(k))
}

/// The pitch class an answer in `key` must end on under `ending`: the tonic (Home) or the
/// dominant (Open); none when the ending is free or no key is known.
fn cadence_class(ending: Ending, key: Option<Key>) -> Option<u8> {
    let tonic = key?.tonic;
    match ending {
        Ending::Home => Some(tonic),
        Ending::Open => Some((tonic + 7) % 12),
        Ending::Free => None,
    }
}

/// The pace an answer at `call` notes per beat brakes to before its next note, if it runs ahead:
/// with `written` notes by `cursor`, a note or more beyond what the call's pace asks for since
/// the answer's `start`. Then it is the notes that pace asks for over the whole answer
/// (`start..cadence`) less those written, over the beats left (at least one note, over at least a
/// sixteenth). `None` at or behind the call's pace: the model's own rhythm rules there.
pub(super) fn pace_left(
    call: f32,
    (start, cadence): (i64, i64),
    written: usize,
    cursor: i64,
) -> Option<f32> {
    let beats = |ticks: i64| ticks as f32 / TICKS_PER_BEAT as f32;
    let written = written as f32;
    (written >= call * beats(cursor - start) + 1.0).then(|| {
        let left = (call * beats(cadence - start) - written).max(1.0);
        left / beats(cadence - cursor).max(0.25)
    })
}

/// Which candidate of which answer is written: the answer's span and key, the candidate's number.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    /// First tick of the answer.
    pub(super) start: i64,
    /// Tick where it ends.
    pub(super) end: i64,
    /// Which candidate this is (0 prefills the line the others fork).
    pub(super) index: u32,
    /// The key the answer is in, if known (its cadence).
    pub(super) key: Option<Key>,
    /// The call's notes per beat, if it has a span ([`critic::notes_per_beat`]): the pace the
    /// answer keeps to with Density on Auto, braking when it runs ahead (see [`pace_left`]).
    pub(super) call_pace: Option<f32>,
}

impl<M: StepModel> AnswerPlanner<M> {
    /// Writes candidate `slot.index` of the answer `slot.start..slot.end` whole: the notes that start before
    /// `end`, ended by its cadence (or, with a free ending, the last held to the end of its bar,
    /// and past `end` if it already was), and the
    /// model's mean log-probability per token of them.
    pub(super) fn write_candidate(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        slot: Slot,
        sink: &mut impl PlanSink,
    ) -> Result<(Vec<(TickNote, Alternates)>, f32), ModelError> {
        let Slot {
            end,
            key,
            call_pace,
            ..
        } = slot;
        let mut proposing = *settings;
        proposing.sampling.temperature *= PROPOSAL_SPREAD;
        let settings = &proposing;
        self.start_candidate(cx, model, settings, slot, sink)?;
        cx.line.candidate = 0;
        let cadence = cadence_class(settings.ending, key);
        let bar = cx.clock.meter.bar_ticks();
        // The cadence's beat: the last strong beat of the last bar.
        let last_strong = (end - bar..end)
            .rev()
            .find(|&t| critic::strong_beat(cx.clock.meter, cx.clock.anchor, t))
            .unwrap_or(end - bar);
        let mut notes: Vec<(TickNote, Alternates)> = Vec::new();
        let mut cadenced = false;
        cx.line.approach = cadence.map(|pc| Approach {
            from: last_strong - cx.clock.meter.beat_ticks().min(TICKS_PER_BEAT),
            until: last_strong,
            keys: approach_keys(pc),
            bias: APPROACH_BIAS,
        });
        while notes.len() < MAX_CANDIDATE_NOTES {
            let cursor = cx
                .line
                .continuation
                .as_ref()
                .map_or(slot.start, |c| c.cursor());
            cx.line.brake = call_pace
                .and_then(|call| pace_left(call, (slot.start, last_strong), notes.len(), cursor));
            match cx.step(model, settings, Frame::NONE, sink)? {
                Some(Step::Note(n)) if n.onset < end => {
                    if let Some(pc) = cadence.filter(|_| n.onset >= last_strong) {
                        self.cadence(cx, &mut notes, n.key, pc, (last_strong, end), settings);
                        cadenced = true;
                        break;
                    }
                    let alternates = cx
                        .line
                        .continuation
                        .as_ref()
                        .map_or_else(Alternates::default, |c| c.alternates_of(n));
                    notes.push((n, alternates));
                }
                Some(Step::Bar(t)) if t < end => {}
                _ => break,
            }
        }
        cx.line.approach = None;
        cx.line.brake = None;
        if let (Some(pc), false, Some(&(last, _))) = (cadence, cadenced, notes.last()) {
            // The line stopped before its cadence's beat: the cadence follows its last note.
            self.cadence(cx, &mut notes, last.key, pc, (last_strong, end), settings);
        }
        let likelihood = cx
            .line
            .continuation
            .take()
            .map_or(f32::NEG_INFINITY, |c| c.mean_log_prob());
        if let Some((last, _)) = notes.last_mut().filter(|_| cadence.is_none()) {
            // A free ending: the last note is held to the end of its bar.
            let bar_end = cx.clock.anchor + ceil_to(last.onset + 1 - cx.clock.anchor, bar);
            last.duration = last.duration.max(bar_end.min(end) - last.onset);
        }
        Ok((notes, likelihood))
    }

    /// Starts candidate `slot.index`'s line: candidate 0 prefills the line from the player's
    /// phrase and keeps a fork of it; each later candidate forks that one, so only the sampling
    /// differs (its seed comes from the candidate's number and the answer's start).
    fn start_candidate(
        &mut self,
        cx: &mut PlanContext<M>,
        model: &mut M,
        settings: &WorkerSettings,
        Slot {
            start, end, index, ..
        }: Slot,
        sink: &mut impl PlanSink,
    ) -> Result<(), ModelError> {
        cx.line.candidate = u64::from(index);
        let seed = cx.line_seed(settings, start);
        let base = self.base.as_ref().filter(|_| index > 0);
        if let Some(base) = base {
            // Every candidate starts from the same prefilled line: only the sampling differs.
            cx.line.continuation = Some(base.fork(model, seed)?);
        } else {
            let phrase = std::mem::take(&mut cx.player.phrase);
            let started = cx.start_line(
                model,
                settings,
                &phrase,
                start,
                Frame {
                    phrase_end: Some(end),
                    ..Frame::NONE
                },
                sink,
            );
            cx.player.phrase = phrase;
            cx.line.candidate = 0;
            started?;
            if let Some(c) = cx.line.continuation.as_mut() {
                c.play_first_by(start);
            }
            self.base = match &cx.line.continuation {
                Some(c) => Some(c.fork(model, seed)?),
                None => None,
            };
        }
        cx.line.candidate = 0;
        Ok(())
    }

    /// The key an answer to `call` is in: the key set, or with the key on Auto the home of what
    /// the player played up to the call's end (see [`heard_up_to`] and
    /// [`key::home_of`]), else the key detected from the player's notes, else (a call too short
    /// to weigh) the major key of its first note, where calls most often start.
    pub(super) fn answer_key(
        &self,
        cx: &PlanContext<M>,
        settings: &WorkerSettings,
        call: &[TickNote],
    ) -> Option<Key> {
        match settings.steering.key {
            KeySetting::Fixed(k) => Some(k),
            KeySetting::Auto => key::home_of(
                &heard_up_to(&cx.player.phrase, call),
                cx.clock.meter,
                cx.clock.anchor,
            )
            .or(cx.player.detected_key)
            .or(call.first().map(|n| Key {
                tonic: n.key % 12,
                mode: Mode::Major,
            })),
        }
    }

    /// Ends a candidate with its cadence: a note of pitch class `pc` at `at` (the last bar's
    /// last strong beat), the key of that class nearest the note before it inside the register
    /// (`near`, the model's own next key, breaking a tie or standing in when there is none), as
    /// long as the call's last note (the tune's own way of ending a phrase), at least half a beat
    /// (an eighth note where the beat is longer) and at most to `end`. Notes from
    /// `at` on are dropped; the note before is cut at `at`, or held up to it across a gap of a
    /// beat or less.
    fn cadence(
        &self,
        cx: &PlanContext<M>,
        notes: &mut Vec<(TickNote, Alternates)>,
        near: u8,
        pc: u8,
        (at, end): (i64, i64),
        settings: &WorkerSettings,
    ) {
        let (lo, hi) = settings.steering.register();
        notes.retain(|(n, _)| n.onset < at);
        // Reached from the note before by the smallest interval (as tunes reach their cadence),
        // the model's own next key deciding a tie.
        let from = notes.last().map_or(near, |(n, _)| n.key);
        let key = (from.saturating_sub(6)..=from.saturating_add(6))
            .filter(|&k| k % 12 == pc)
            .min_by_key(|&k| (k < lo || k > hi, k.abs_diff(from), k.abs_diff(near)))
            .unwrap_or(near);
        if let Some((prev, _)) = notes.last_mut() {
            let gap = at - (prev.onset + prev.duration);
            if gap < 0 || gap <= cx.clock.meter.beat_ticks() {
                prev.duration = at - prev.onset;
            }
        }
        // At least half a beat, or an eighth note in meters of longer beats: a dance tune ends
        // its phrase on an eighth as often as on a quarter, as its call does.
        let beat = cx.clock.meter.beat_ticks().min(TICKS_PER_BEAT) / 2;
        let like_the_call = cx.player.phrase.last().map_or(end - at, |n| n.duration);
        // No alternates: the onset choice must not move the cadence off its note.
        notes.push((
            TickNote {
                onset: at,
                duration: like_the_call.max(beat).min(end - at),
                key,
            },
            Alternates::default(),
        ));
    }
}

/// What the automatic home is heard from: the player's notes before `call` (those the
/// planner keeps: since the transport last stopped or jumped, or a reset) and then `call`,
/// the last [`key::HOME_NOTES`] of them, or all of `call` if it is longer. A later call says
/// less about its key than the first, which begins the tune: the key finder finds a later call's
/// tonic far more often with the notes before it (`docs/MEASUREMENTS.md`, "The key finder").
fn heard_up_to(phrase: &[TickNote], call: &[TickNote]) -> Vec<TickNote> {
    let first = call.first().map_or(i64::MAX, |n| n.onset);
    let before = phrase.partition_point(|n| n.onset < first);
    let keep = key::HOME_NOTES.saturating_sub(call.len()).min(before);
    let mut heard = Vec::with_capacity(keep + call.len());
    heard.extend_from_slice(&phrase[before - keep..before]);
    heard.extend_from_slice(call);
    heard
}

/// The critic's scores of a candidate (see [`critic::score`]), the session's `taste` added, and
/// the candidate's features the taste learns from.
pub(super) fn judge(
    clock: &Clock,
    settings: &WorkerSettings,
    call: &[TickNote],
    key: Option<Key>,
    candidate: &[(TickNote, Alternates)],
    (likelihood, taste): (f32, &Taste),
    end: i64,
) -> (Scores, Features) {
    let notes: Vec<TickNote> = candidate.iter().map(|(n, _)| *n).collect();
    let brief = Brief {
        call,
        key,
        meter: clock.meter,
        anchor: clock.anchor,
        end,
        ending: settings.ending,
        echo: settings.echo,
        density_target: settings.steering.density,
    };
    let mut scores = critic::score(&notes, likelihood, &brief);
    let features = Features::of(&notes, call, scores.kinship);
    scores.taste = taste.score(&features);
    scores.total += scores.taste;
    (scores, features)
}
