//! What the three modes share: starting a line (seeded from where it starts), stepping it under
//! the live controls, telling a two-voice model what it hears, giving a note its feel and sending
//! it. Worker thread (or tests); allocates.
//!
//! Guarantees: a line starting at tick `t` of a take seeded `s` is the same whatever lines were
//! started or cut short before it (its seed comes from `s` and `t` alone, and from how many times
//! the musician asked `Again`, which redraws the same stretch differently); a note that would start
//! before the previous one ends is not sent.

use std::time::{Duration, Instant};

use crate::decode::calibration;
use crate::decode::generator::{Continuation, Generated, Guide, LineStart, Pace};
use crate::decode::steering::{self, KeySetting};
use crate::error::ModelError;
use crate::events::GeneratedNote;
use crate::files::take::PlayMode;
use crate::model::step::StepModel;
use crate::model::tokenizer::{TickNote, TICKS_PER_BEAT};
use crate::music::feel;
use crate::music::key::PitchClassSet;
use crate::music::onset::Alternates;
use crate::music::phrasing::{self, Phrasing};

use super::super::config::WorkerSettings;
use super::context::PlanContext;
use super::memory::BarGrid;
use super::{to_beat, to_tick, PlanSink, MAX_SENT};

/// How far past the playhead the track memory is asked what to expect, in bars (beyond any
/// look-ahead: a line enters a bar at most one look-ahead, two seconds, before it sounds).
const EXPECT_BARS: i64 = 4;

/// Player notes the automatic density looks at.
const DENSITY_NOTES: usize = 16;

/// What a mode tells its line of the frame it plays in: where its phrase ends (an answer's end,
/// a loop cycle's) and, in Loop mode, the cycle.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame {
    /// Where the line's phrase ends (absolute tick), if the mode knows: a two-voice model is told
    /// how many bars are left. Read when a line starts.
    pub(super) phrase_end: Option<i64>,
    /// The cycle's length in ticks, while a cycle is planned (the track memory expects the
    /// previous cycle's material in it).
    pub(super) cycle_len: Option<i64>,
    /// The cycle being generated (not replayed): its start tick and length.
    pub(super) span: Option<(i64, i64)>,
    /// The key of the take's first note (the cycle's last phrase leads back into it).
    pub(super) first_key: Option<u8>,
}

impl Frame {
    /// No phrase end known and no loop cycle (a Continue line, a streamed answer).
    pub(super) const NONE: Frame = Frame {
        phrase_end: None,
        cycle_len: None,
        span: None,
        first_key: None,
    };
}

/// What the planner should do after one generation step.
pub(super) enum Step {
    /// A note to play.
    Note(TickNote),
    /// The line crossed a bar line at this tick.
    Bar(i64),
}

impl<M: StepModel> PlanContext<M> {
    /// Rebuilds what Descant hears (`self.line.heard`: what a two-voice model is told, and what the
    /// harmony guard reads for any model; before every note): in Continue and Loop the
    /// player's notes, the keys held now (as sounding up to the playhead, at least a beat) and
    /// what the track memory expects from the playhead on; in every mode the chord channel's
    /// held keys. In Answer mode the player's phrase is the line's own past, not something heard.
    pub(super) fn refresh_heard(&mut self, settings: &WorkerSettings, frame: Frame) {
        self.line.heard.clear();
        let now = self.clock.now;
        let sounding = |onset: i64, key: usize| TickNote {
            onset,
            duration: (now - onset).max(TICKS_PER_BEAT),
            key: key as u8,
        };
        let with_player = settings.mode != PlayMode::Answer;
        if with_player {
            self.line.heard.extend_from_slice(&self.player.phrase);
        }
        for k in 0..128usize {
            if let Some(onset) = self.player.held[k].filter(|_| with_player) {
                self.line.heard.push(sounding(onset, k));
            }
            if let Some(onset) = self.player.chord_held[k] {
                self.line.heard.push(sounding(onset, k));
            }
        }
        if with_player && settings.hearing.memory {
            let grid = BarGrid {
                anchor: self.clock.anchor,
                bar_len: self.clock.meter.bar_ticks(),
            };
            let cycle = frame.cycle_len.filter(|_| settings.mode == PlayMode::Loop);
            self.player.memory.expect(
                now,
                now + EXPECT_BARS * grid.bar_len,
                grid,
                cycle,
                &mut self.line.heard,
            );
        }
    }

    /// The seed of a line starting at `start` (and of the answer candidate being written).
    pub(super) fn line_seed(&self, settings: &WorkerSettings, start: i64) -> u64 {
        take_seed(
            settings
                .seed
                .wrapping_add(self.line.candidate.wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .wrapping_add(self.line.draw.wrapping_mul(0xD1B5_4A32_D192_ED03)),
            start as u64,
        )
    }

    /// Starts a line at `start` over `history` (its own past), with the take's seed for that
    /// start; a two-voice model also hears [`PlanContext::refresh_heard`]'s notes and, with
    /// the frame's phrase end, how many bars the phrase has left.
    pub(super) fn start_line(
        &mut self,
        model: &mut M,
        settings: &WorkerSettings,
        history: &[TickNote],
        start: i64,
        frame: Frame,
        sink: &mut impl PlanSink,
    ) -> Result<(), ModelError> {
        let started = Instant::now();
        // The seed comes from where the line starts, not from how many lines were started (a
        // line the player cut short before it sounded must not change the next one).
        let seed = self.line_seed(settings, start);
        self.line.feel_rng = fastrand::Rng::with_seed(seed);
        steering::control_vector(
            model.contract(),
            &settings.steering,
            player_density(&self.player.phrase),
            &mut self.line.control,
        );
        self.refresh_heard(settings, frame);
        let phrase_end = frame.phrase_end;
        self.line.phrase_end = phrase_end;
        let at = LineStart {
            history,
            heard: &self.line.heard,
            phrase_end,
            phrasing: self.phrasing(settings, start, frame),
            meter: self.clock.meter,
            anchor: self.clock.anchor,
            tick: start,
            seed,
            expect_heard: self.expecting(settings),
        };
        let mut line = Continuation::start(model, at, &self.line.control)?;
        line.play_first_bar();
        self.line.continuation = Some(line);
        sink.line_started(started.elapsed());
        Ok(())
    }

    /// Generates the line's next note or bar line under the live controls; `None` when there is
    /// no line (a planner's slip: it plans nothing rather than stopping the model).
    pub(super) fn step(
        &mut self,
        model: &mut M,
        settings: &WorkerSettings,
        frame: Frame,
        sink: &mut impl PlanSink,
    ) -> Result<Option<Step>, ModelError> {
        steering::control_vector(
            model.contract(),
            &settings.steering,
            player_density(&self.player.phrase),
            &mut self.line.control,
        );
        let key = match settings.steering.key {
            KeySetting::Fixed(k) => Some(k),
            KeySetting::Auto => self.player.detected_key,
        };
        sink.key_in_use(key);
        // In Continue mode the player plays along: the keys held now are harmony too.
        let with_player = settings.mode == PlayMode::Continue;
        let chord = (0..128usize)
            .filter(|&k| {
                self.player.chord_held[k].is_some()
                    || (with_player && self.player.held[k].is_some())
            })
            .fold(0u16, |set, k| set | 1 << (k % 12));
        self.refresh_heard(settings, frame);
        let cursor = self
            .line
            .continuation
            .as_ref()
            .map_or(self.clock.now, |c| c.cursor());
        let phrasing = self.phrasing(settings, cursor, frame);
        let guide = Guide {
            steering: settings.steering,
            control: &self.line.control,
            key,
            chord: PitchClassSet(chord),
            collection: match settings.steering.key {
                KeySetting::Fixed(k) => PitchClassSet(k.scale().0 | chord),
                KeySetting::Auto => self
                    .player
                    .collection
                    .map_or(PitchClassSet(0), |c| PitchClassSet(c.0 | chord)),
            },
            originality: self
                .ngrams
                .as_ref()
                .filter(|_| settings.steering.originality_guard),
            heard: &self.line.heard,
            phrase_end: self.line.phrase_end,
            phrasing,
            expect_heard: self.expecting(settings),
            harmony_guard: settings.hearing.guard,
            alternates: settings.hearing.choose,
            grid: if settings.mode == PlayMode::Answer {
                call_grid(&self.player.phrase, self.clock.anchor)
            } else {
                None
            },
            approach: self.line.approach,
            avoid: &self.line.vetoed,
            // With Density on Auto a line beside the player keeps to the player's pace as the
            // style's own lines keep to the voice they hear (the model's control alone let a
            // Renaissance voice below play 0.57 notes per note of the voice above, the composers
            // 0.96). An answer that runs ahead of the call's pace brakes back to it, as a tune's
            // second phrase keeps to its first (the open model, which learned reels alone,
            // answered hymns in eighths; see `answer::candidate`). The critic still judges each
            // candidate's density (`critic::score`).
            pace: if settings.mode == PlayMode::Answer {
                self.line
                    .brake
                    .and_then(|rate| {
                        steering::auto_density(model.contract(), &settings.steering, Some(rate))
                    })
                    .map(Pace::NoFaster)
            } else {
                steering::auto_density(
                    model.contract(),
                    &settings.steering,
                    player_density(&self.player.phrase),
                )
                .map(Pace::NoSlower)
            },
            // The style's own mix of lengths and intervals, where the style's pace rules (see
            // `decode::calibration`); none for a style without a correction (no work per token).
            calibration: (settings.mode != PlayMode::Answer && settings.steering.density.is_none())
                .then(|| calibration::for_style(model.contract(), &settings.steering))
                .filter(|c| *c != calibration::Calibration::default()),
        };
        let Some(cont) = self.line.continuation.as_mut() else {
            return Ok(None);
        };
        let interventions = cont.interventions();
        let generated = cont.next(model, settings.sampling, &guide)?;
        sink.originality_interventions(cont.interventions() - interventions);
        Ok(Some(match generated {
            Generated::Note(n) => Step::Note(n),
            Generated::BarLine(t) => Step::Bar(t),
        }))
    }

    /// The line's next step if the line exists and is not planned up to `horizon` yet, with when
    /// the step began (for its cost).
    pub(super) fn step_before(
        &mut self,
        model: &mut M,
        settings: &WorkerSettings,
        horizon: i64,
        sink: &mut impl PlanSink,
    ) -> Result<Option<(Step, Instant)>, ModelError> {
        match &self.line.continuation {
            Some(cont) if cont.cursor() < horizon => {}
            _ => return Ok(None),
        }
        let t0 = Instant::now();
        Ok(self
            .step(model, settings, Frame::NONE, sink)?
            .map(|step| (step, t0)))
    }

    /// Gives `note` (the line's latest) its feel and sends it with its alternates; `earliest`
    /// bounds a humanized onset (beats). Returns the note as sent.
    pub(super) fn emit(
        &mut self,
        note: TickNote,
        settings: &WorkerSettings,
        earliest: f64,
        work: Duration,
        sink: &mut impl PlanSink,
    ) -> GeneratedNote {
        let alternates = self
            .line
            .continuation
            .as_ref()
            .map_or_else(Alternates::default, |c| c.alternates_of(note));
        self.emit_with(note, alternates, settings, earliest, work, sink)
    }

    /// [`PlanContext::emit`] for a note with the given alternates (a chosen answer's).
    pub(super) fn emit_with(
        &mut self,
        note: TickNote,
        alternates: Alternates,
        settings: &WorkerSettings,
        earliest: f64,
        work: Duration,
        sink: &mut impl PlanSink,
    ) -> GeneratedNote {
        let (lo, hi) = settings.steering.register();
        let mid = (f32::from(lo) + f32::from(hi)) / 2.0;
        let contour =
            (f32::from(note.key) - mid) / ((f32::from(hi) - f32::from(lo)) / 2.0).max(1.0);
        let felt = feel::apply(
            note.onset - self.clock.anchor,
            self.clock.meter,
            to_beat(note.onset),
            to_beat(note.duration),
            contour,
            settings.humanize,
            earliest.max(self.sent.last_end_beat),
            &mut self.line.feel_rng,
        );
        let sent = GeneratedNote {
            key: note.key,
            velocity: felt.velocity,
            onset_beat: felt.onset_beat,
            length_beats: felt.length_beats,
            epoch: self.clock.epoch,
            alternates,
        };
        self.send(sent, work, sink);
        sent
    }

    /// The onset (beats) of the first note sent that starts after the playhead, no earlier than
    /// `not_before`, and whose pitch class the key heard so far leaves out, once that key has
    /// changed since the last look (`by_key`: the key is on Auto; otherwise the change is only
    /// taken note of). Planned notes a new key leaves out are withdrawn (see `along`'s
    /// last-moment correction, and Loop mode's).
    pub(super) fn first_out_of_key(&mut self, by_key: bool, not_before: f64) -> Option<f64> {
        if !std::mem::take(&mut self.player.collection_changed) || !by_key {
            return None;
        }
        let collection = self.player.collection?;
        self.sent
            .notes
            .iter()
            .find(|n| {
                to_tick(n.onset_beat) > self.clock.now
                    && n.onset_beat >= not_before - 1e-9
                    && !collection.contains_key(n.key)
            })
            .map(|n| n.onset_beat)
    }

    /// Withdraws every note sent from `from` (beats) on: the audio thread drops them, and the
    /// next note sent may start there.
    pub(super) fn withdraw_from(&mut self, from: f64, sink: &mut impl PlanSink) {
        sink.retract_from(from, self.clock.epoch);
        self.sent.notes.retain(|n| n.onset_beat < from - 1e-9);
        self.sent.last_end_beat = self
            .sent
            .notes
            .last()
            .map_or(f64::MIN, |n| n.onset_beat + n.length_beats);
    }

    /// Sends a planned note. A note that would start before the previous one ends (a stretch
    /// planned twice, e.g. after a loop changed length) is not sent: Descant's line stays
    /// monophonic.
    pub(super) fn send(&mut self, note: GeneratedNote, work: Duration, sink: &mut impl PlanSink) {
        if note.onset_beat < self.sent.last_end_beat - 1e-9 {
            return;
        }
        self.sent.last_end_beat = note.onset_beat + note.length_beats;
        if self.sent.notes.len() == MAX_SENT {
            self.sent.notes.remove(0);
        }
        self.sent.notes.push(note);
        sink.note(note, work);
    }
}

impl<M: StepModel> PlanContext<M> {
    /// How the line is cut into phrases at `tick` (see [`crate::music::phrasing`]): in Continue mode
    /// phrases of `Phrase length` bars from a host bar line, whose last note is a note of the tonic
    /// triad when a key is known; in Loop mode the cycle (or phrases of `Phrase length` that tile
    /// it), whose last phrase's last note leads back by step into the take's first note. None in
    /// Answer mode (an answer has its own cadence), with `Phrase length` off, or for a replay.
    pub(super) fn phrasing(
        &self,
        settings: &WorkerSettings,
        tick: i64,
        frame: Frame,
    ) -> Option<Phrasing> {
        let bar = self.clock.meter.bar_ticks();
        let phrase = i64::from(settings.phrase_bars) * bar;
        if phrase <= 0 {
            return None;
        }
        let key = match settings.steering.key {
            KeySetting::Fixed(k) => Some(k),
            KeySetting::Auto => self.player.detected_key,
        };
        let cadence = key.map_or(0, phrasing::triad_keys);
        let half_cadence = key.map_or(0, phrasing::dominant_keys);
        match settings.mode {
            PlayMode::Answer => None,
            PlayMode::Continue => Some(Phrasing {
                origin: self.clock.anchor,
                len: phrase,
                last_keys: cadence,
                half_keys: half_cadence,
                lead_keys: 0,
            }),
            PlayMode::Loop => {
                let (start, cycle) = frame.span?;
                // The cycle is one phrase unless phrases of `Phrase length` tile it.
                let len = if cycle > phrase && cycle % phrase == 0 && phrase % bar == 0 {
                    phrase
                } else {
                    cycle
                };
                let mut p = Phrasing {
                    origin: start,
                    len,
                    last_keys: cadence,
                    half_keys: half_cadence,
                    lead_keys: 0,
                };
                if p.end_after(tick) == start + cycle {
                    if let Some(first) = frame.first_key {
                        p.lead_keys = phrasing::lead_back_keys(first, key.map(|k| k.scale()));
                    }
                }
                Some(p)
            }
        }
    }

    /// Whether a two-voice model should expect the player where nothing is known (Continue and
    /// Loop, the switch on, the player playing).
    fn expecting(&self, settings: &WorkerSettings) -> bool {
        settings.mode != PlayMode::Answer && settings.hearing.expect && self.player_active()
    }

    /// Whether the player is playing now: a key is down, or one was released within the last bar.
    pub(super) fn player_active(&self) -> bool {
        self.player.held.iter().any(Option::is_some)
            || self.clock.now - self.player.last_off_tick <= self.clock.meter.bar_ticks()
    }
}

/// Reports the per-token time of the note generated since `t0` (three tokens a note).
pub(super) fn note_timer(t0: Instant, sink: &mut impl PlanSink) {
    sink.token_micros(t0.elapsed().as_micros() as u32 / 3);
}

/// One line from two: by onset; a note that starts while another sounds cuts it short, and of
/// notes starting together the highest stays (the model was trained on single lines).
pub(super) fn merge_monophonic(a: &[TickNote], b: &[TickNote]) -> Vec<TickNote> {
    let mut all: Vec<TickNote> = a.iter().chain(b).copied().collect();
    all.sort_by_key(|n| (n.onset, std::cmp::Reverse(n.key)));
    let mut line: Vec<TickNote> = Vec::with_capacity(all.len());
    for n in all {
        match line.last_mut() {
            Some(last) if last.onset == n.onset => {}
            Some(last) => {
                last.duration = last.duration.min(n.onset - last.onset).max(1);
                line.push(n);
            }
            None => line.push(n),
        }
    }
    line
}

/// The seed of a line of a take seeded with `seed` that starts at tick `start` (a SplitMix64 step,
/// so nearby seeds and starts give unrelated lines).
pub(super) fn take_seed(seed: u64, start: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(start.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Notes per beat of the player's latest notes, if there are enough to tell.
fn player_density(phrase: &[TickNote]) -> Option<f32> {
    let recent = &phrase[phrase.len().saturating_sub(DENSITY_NOTES)..];
    let (first, last) = (recent.first()?, recent.last()?);
    let span = (last.onset + last.duration - first.onset) as f32 / TICKS_PER_BEAT as f32;
    (recent.len() >= 4 && span > 0.0).then(|| recent.len() as f32 / span.max(1.0))
}

/// The grid an answer keeps to: the sixteenth grid when every onset of `call` lies on it. A call
/// with triplets, or played loosely enough that an onset falls between sixteenths, leaves the
/// answer free.
pub(super) fn call_grid(call: &[TickNote], anchor: i64) -> Option<i64> {
    let sixteenth = TICKS_PER_BEAT / 4;
    (!call.is_empty()
        && call
            .iter()
            .all(|n| (n.onset - anchor).rem_euclid(sixteenth) == 0))
    .then_some(sixteenth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_lines_merge_into_one_monophonic_line() {
        let n = |onset, duration, key| TickNote {
            onset,
            duration,
            key,
        };
        let player = [n(0, 12, 60), n(12, 12, 62)];
        let own = [n(6, 12, 67), n(12, 6, 64), n(30, 6, 65)];
        let line = merge_monophonic(&player, &own);
        assert_eq!(line, [n(0, 6, 60), n(6, 6, 67), n(12, 6, 64), n(30, 6, 65)]);
        for w in line.windows(2) {
            assert!(w[0].onset + w[0].duration <= w[1].onset);
        }
    }

    #[test]
    fn nearby_seeds_and_starts_give_unrelated_line_seeds() {
        let a = take_seed(1, 0);
        assert_ne!(a, take_seed(2, 0));
        assert_ne!(a, take_seed(1, 3));
        assert_eq!(a, take_seed(1, 0));
    }

    fn at(onsets: &[i64]) -> Vec<TickNote> {
        onsets
            .iter()
            .map(|&onset| TickNote {
                onset,
                duration: 3,
                key: 60,
            })
            .collect()
    }

    #[test]
    fn a_call_on_the_sixteenth_grid_keeps_its_answer_on_it() {
        // Eighths and sixteenths from a bar line at tick 100.
        assert_eq!(call_grid(&at(&[100, 106, 109, 112]), 100), Some(3));
        // A triplet eighth (4 ticks) frees the answer; so does a loosely played onset.
        assert_eq!(call_grid(&at(&[100, 104, 108]), 100), None);
        assert_eq!(call_grid(&at(&[100, 107]), 100), None);
        // Seen from another bar line, the same onsets are off the grid.
        assert_eq!(call_grid(&at(&[100, 106]), 101), None);
        assert_eq!(call_grid(&[], 0), None, "no call, no grid");
    }
}
