//! The steps of one generated token, in the order [`Continuation::next`] takes them: the mask
//! (what may come next), the shaping of the model's logits under the steering, the choice (with
//! its fallbacks and the originality guard), and the advance of the model and the grammar. Part
//! of [`super::Continuation`]; worker thread (or tests); no allocation but the context's growth.

use crate::decode::calibration;
use crate::decode::sampler::SamplingSettings;
use crate::decode::shaping::{self, PitchContext, REPEAT_RUN};
use crate::decode::steering::Steering;
use crate::error::ModelError;
use crate::model::step::{StepModel, StepState};
use crate::model::tokenizer::{self, kind, TickNote, TokenKind, BAR};
use crate::music::critic;
use crate::music::key::Key;
use crate::music::onset::Alternates;
use crate::music::phrasing::{self, Close};

use super::hearing::{bounding_key, voice_bounds};
use super::mask::Mask;
use super::{log_prob_of, Continuation, Expect, Generated, Guide, Pace};

impl<M: StepModel> Continuation<M> {
    /// What may come next here, under `guide`: the grammar position, the line's free time and
    /// first-note deadline, the phrase's close, the grid, the voice's register and the keys the
    /// musician vetoed at this onset.
    pub(super) fn mask(&self, guide: &Guide) -> Mask {
        let bar_len = self.at.meter.bar_ticks();
        let (bar_start, next_free) = (self.at.bar_start, self.at.next_free);
        let register = match self.at.expect {
            Expect::Pitch { onset } => voice_bounds(guide, onset, guide.steering.register()),
            _ => guide.steering.register(),
        };
        // A held bar line is let through when no onset is left in the bar.
        let close: Option<Close> = guide
            .phrasing
            .map(|p| p.close(self.at.meter, self.at.anchor, p.end_after(bar_start)));
        let bar_ok = (!self.at.hold_bar || next_free >= bar_start + bar_len)
            && close.is_none_or(|c| c.bar_ok(bar_start + bar_len, next_free));
        let close_keys = match (self.at.expect, close) {
            (Expect::Pitch { onset }, Some(c)) if onset >= c.from => {
                c.keys_over(self.heard_classes_at(guide, onset))
            }
            _ => 0,
        };
        let avoid_keys = match self.at.expect {
            Expect::Pitch { onset } => guide
                .avoid
                .iter()
                .filter(|&&(at, k)| at == onset && k < 128)
                .fold(0u128, |set, &(_, k)| set | 1 << k),
            _ => 0,
        };
        Mask {
            avoid_keys,
            expect: self.at.expect,
            bar_start,
            bar_len,
            next_free,
            first_by: self.at.first_by.unwrap_or(i64::MAX),
            bar_ok,
            grid: guide.grid,
            close,
            close_keys,
            register,
        }
    }

    /// The steering on the model's logits for what `mask` expects: a pitch's (scale, mood,
    /// chord, harmony guard, repetition, and the draw towards a cadence's or a close's keys,
    /// under `steering`, in `key`) or a length's (density) into `self.scratch.shaped`. Returns whether
    /// it shaped: an onset or a bar line is drawn from the model's own logits.
    pub(super) fn shape(
        &mut self,
        guide: &Guide,
        mask: &Mask,
        steering: &Steering,
        key: Option<Key>,
    ) -> bool {
        match mask.expect {
            Expect::Pitch { onset } => {
                let ctx = PitchContext {
                    key,
                    chord: guide.chord,
                    collection: guide.collection,
                    strong_beat: (onset - self.at.anchor).rem_euclid(self.at.meter.pulse_ticks())
                        == 0,
                    recent_keys: &self.recent,
                    sounding: self.sounding_at(guide, onset),
                    parallel: self.parallels_at(guide, onset),
                };
                shaping::shape_pitches(
                    self.state.logits(),
                    &mut self.scratch.shaped,
                    steering,
                    ctx,
                );
                if let Some(c) = &guide.calibration {
                    if let Some(&last) = self.recent.last() {
                        calibration::weigh_intervals(&mut self.scratch.shaped, last, c);
                    }
                    if let Some(heard) = bounding_key(guide, onset) {
                        calibration::weigh_against(&mut self.scratch.shaped, heard, c);
                    }
                }
                true
            }
            Expect::Dur { .. } => {
                let logits = self.state.logits();
                match (guide.steering.density, guide.pace) {
                    (None, Some(Pace::NoSlower(pace))) => {
                        shaping::shape_long_durations(logits, &mut self.scratch.shaped, pace);
                    }
                    (None, Some(Pace::NoFaster(pace))) => {
                        shaping::shape_short_durations(logits, &mut self.scratch.shaped, pace);
                    }
                    (density, _) => {
                        shaping::shape_durations(logits, &mut self.scratch.shaped, density);
                    }
                }
                if let Some(c) = &guide.calibration {
                    calibration::weigh_lengths(&mut self.scratch.shaped, c);
                }
                true
            }
            Expect::PosOrBar => false,
        }
    }

    /// Raises the logits of the keys a pitch at `onset` is drawn towards: an answer's cadence
    /// approached by step ([`Guide::approach`]); a phrase's last note (of its close's keys)
    /// reached by step from the note before where one can be.
    pub(super) fn draw_towards(&mut self, guide: &Guide, mask: &Mask, onset: i64) {
        let near_last = self.recent.last().map_or(0, |&k| phrasing::keys_near(k));
        let drawn = match guide.approach {
            Some(a) if (a.from..a.until).contains(&onset) => Some((a.keys, a.bias)),
            _ if mask.close_keys & near_last != 0 => {
                Some((mask.close_keys & near_last, phrasing::LAST_NOTE_STEP_BIAS))
            }
            _ => None,
        };
        if let Some((keys, bias)) = drawn {
            // The vocabulary's keys only: `pitch_token` folds others into it by octaves, which
            // would raise its edge keys once more per octave.
            let vocabulary = tokenizer::PITCH_LOW..=tokenizer::PITCH_HIGH;
            for key in vocabulary.filter(|&k| keys >> k & 1 == 1) {
                if let Some(l) = self
                    .scratch
                    .shaped
                    .get_mut(tokenizer::pitch_token(key) as usize)
                {
                    *l += bias;
                }
            }
        }
    }

    /// Samples the next token under `mask`. A pitch falls back, in turn, to any key that fits
    /// when none of the phrase close's keys does, then to the register unlocked when no scale key
    /// fits in it; the originality guard may resample it. A bar line when nothing at all fits.
    pub(super) fn choose(&mut self, settings: SamplingSettings, guide: &Guide, mask: &Mask) -> u32 {
        let shaped = self.shape(guide, mask, &guide.steering, guide.key);
        if let Expect::Pitch { onset } = mask.expect {
            self.draw_towards(guide, mask, onset);
        }
        let allowed = |t: u32| mask.allows(t, mask.close_keys);
        let logits: &[f32] = if shaped {
            &self.scratch.shaped
        } else {
            self.state.logits()
        };
        let mut token = self.sampler.sample(logits, settings, allowed);
        if let (None, Expect::Pitch { .. }) = (token, mask.expect) {
            // No key of the phrase's close fits the scale and the register: any key that
            // does (the scale lock stands).
            token = self.sampler.sample(logits, settings, |t| mask.allows(t, 0));
        }
        if let (None, Expect::Pitch { .. }) = (token, mask.expect) {
            // No scale key fits in the register: play in the register, unlocked.
            let unlocked = Steering {
                scale_lock: 0.0,
                ..guide.steering
            };
            self.shape(guide, mask, &unlocked, None);
            token = self
                .sampler
                .sample(&self.scratch.shaped, settings, |t| mask.allows(t, 0));
        }
        if let (Some(index), Some(t), Expect::Pitch { .. }) =
            (guide.originality, token, mask.expect)
        {
            token = Some(self.keep_original(index, t, settings, &allowed));
        }
        token.unwrap_or(BAR)
    }

    /// Takes note of the chosen `token`: its log-probability under the model (the critic's
    /// likelihood), and for an on-beat pitch the alternates the onset choice may play instead.
    pub(super) fn note_token(&mut self, guide: &Guide, mask: &Mask, token: u32) {
        self.tally.log_prob.0 += f64::from(log_prob_of(self.state.logits(), token));
        self.tally.log_prob.1 += 1;
        if let (Expect::Pitch { onset }, TokenKind::Pitch(key)) = (mask.expect, kind(token)) {
            let on_beat = (onset - self.at.anchor).rem_euclid(self.at.meter.pulse_ticks()) == 0;
            let alternates = if guide.alternates && on_beat {
                // A phrase's last note may turn, at its onset, into any of its close's keys
                // (cadence, half cadence, lead back) that fits what sounds then.
                let wide = mask.close.map_or(0, |c| c.any_keys());
                let strong = critic::strong_beat(self.at.meter, self.at.anchor, onset);
                self.alternates_for(guide, key, strong, &|t| mask.allows(t, wide))
            } else {
                Alternates::default()
            };
            self.tally.alternates = (onset, key, alternates);
        }
    }

    /// Feeds `token` to the model and moves the grammar on: a finished note or a bar line is
    /// returned (a two-voice model is first told the new bar's heard notes); `None` mid-note.
    pub(super) fn advance(
        &mut self,
        model: &mut M,
        guide: &Guide,
        token: u32,
    ) -> Result<Option<Generated>, ModelError> {
        model.step(&mut self.state, token, &self.control)?;
        Ok(match (self.at.expect, kind(token)) {
            (Expect::PosOrBar, TokenKind::Pos(p)) => {
                self.at.expect = Expect::Pitch {
                    onset: self.at.bar_start + p,
                };
                None
            }
            (Expect::Pitch { onset }, TokenKind::Pitch(key)) => {
                self.at.expect = Expect::Dur { onset, key };
                None
            }
            (Expect::Dur { onset, key }, TokenKind::Dur(duration)) => {
                self.at.expect = Expect::PosOrBar;
                let note = TickNote {
                    onset,
                    duration,
                    key,
                };
                self.at.next_free = onset + duration;
                self.at.hold_bar = false;
                self.at.first_by = None;
                self.context.push(note);
                if self.recent.len() == REPEAT_RUN {
                    self.recent.remove(0);
                }
                self.recent.push(key);
                Some(Generated::Note(note))
            }
            _ => {
                // A bar line (the only other token the mask lets through). A first-note
                // deadline still open here has passed: it is void.
                self.at.first_by = None;
                self.at.expect = Expect::PosOrBar;
                self.at.bar_start += self.at.meter.bar_ticks();
                if self.told.two_voice {
                    self.enter_bar(model, guide)?;
                }
                Some(Generated::BarLine(self.at.bar_start))
            }
        })
    }
}
