//! The beat-time generator: continues a phrase with the model, note by note, on the tick grid of
//! the host's bars. Owned and called by the inference worker; allocates.
//!
//! Guarantees: every note it returns starts at or after the requested start tick, on the grid,
//! after the previous note has ended (Descant's line is monophonic), inside the register of the
//! [`Guide`] it was generated under (and in its scale at full scale lock); the control vector of
//! each call is fed from the next token on, without re-encoding the history. When the model's
//! context fills up it re-encodes a window of recent bars that starts on a bar line, so bar
//! structure survives the slide.
//!
//! With a two-voice model (contract v2) every bar the line enters is first told what Descant will
//! hear in it (the [`Guide`]'s `heard` notes: what the player played, is holding, or is expected to
//! play there), then the model writes its own notes for the bar. A v1 model gets the v1 grammar,
//! as before.

use crate::error::ModelError;
use crate::key::Key;
use crate::model::Model;
use crate::onset::Alternates;
use crate::phrasing::{self, Close, Phrasing};
use crate::sampler::{Sampler, SamplingSettings};
use crate::shaping::{self, PitchContext, REPEAT_RUN};
use crate::steering::Steering;
use crate::step::{StepModel, StepState};
use crate::tokenizer::{self, kind, Meter, TickNote, TokenKind, BAR};

mod guide;
mod hearing;
mod mask;
mod original;

pub use guide::{Approach, Guide, LineStart};

use hearing::voice_bounds;
use mask::Mask;

/// Most bars a prompt window looks back.
const MAX_WINDOW_BARS: i64 = 16;
/// Most tokens sampled in one [`Continuation::next`] call before it gives up (a model that never
/// completes a note cannot stall the worker).
const MAX_TOKENS_PER_EVENT: usize = 16;

/// The log-probability of `token` under the softmax of `logits`.
fn log_prob_of(logits: &[f32], token: u32) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|&l| (l - max).exp()).sum();
    logits
        .get(token as usize)
        .map_or(f32::NEG_INFINITY, |&l| l - max - sum.ln())
}

/// Most resamples of one note when the originality guard fires (then the note stands).
pub const MAX_ORIGINALITY_RESAMPLES: usize = 4;

/// What one [`Continuation::next`] call produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generated {
    /// A finished note, in absolute ticks.
    Note(TickNote),
    /// A bar line: time moved on to the bar starting at this absolute tick.
    BarLine(i64),
}

/// Which token class the grammar expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// An onset in the current bar, or a bar line.
    PosOrBar,
    /// The key of a note starting at this absolute tick.
    Pitch { onset: i64 },
    /// The length of a note.
    Dur { onset: i64, key: u8 },
}

/// One running continuation of a phrase: the model state plus the grammar position. Generic over
/// the step model so the planners can be tested on a fake one; the plugin uses the ONNX [`Model`].
pub struct Continuation<M: StepModel = Model> {
    /// KV cache and logits.
    state: M::State,
    /// Token choice.
    sampler: Sampler,
    /// The meter of the bars being generated.
    meter: Meter,
    /// Absolute tick of some bar line (all bar lines are `anchor + k * bar_len`).
    anchor: i64,
    /// Absolute tick where the current bar starts.
    bar_start: i64,
    /// No onset may come before this absolute tick (start tick, then the last note's end).
    next_free: i64,
    /// Grammar position.
    expect: Expect,
    /// Every note in the context so far (prompt and generated), absolute ticks, for re-encoding.
    context: Vec<TickNote>,
    /// The control vector fed at every step (the latest [`Guide`]'s).
    control: Vec<f32>,
    /// Shaped logits, reused between tokens.
    shaped: Vec<f32>,
    /// Descant's latest keys, oldest first (for the repetition guard).
    recent: Vec<u8>,
    /// Scratch for the originality check: the latest intervals plus a candidate.
    intervals: Vec<i8>,
    /// Notes the originality guard resampled so far.
    interventions: u64,
    /// Whether a bar line is held back until the next note (see [`Continuation::play_first_bar`]).
    hold_bar: bool,
    /// The first note must start by this absolute tick (see [`Continuation::play_first_by`]).
    first_by: Option<i64>,
    /// Whether the model speaks the two-voice grammar (contract v2).
    two_voice: bool,
    /// Two-voice: the heard notes the model was told of (absolute ticks), for re-encoding.
    heard: Vec<TickNote>,
    /// Two-voice: where the phrase ends (absolute tick), as last told.
    phrase_end: Option<i64>,
    /// The phrases of the line as last told (their ends go into a re-encoded window).
    phrasing: Option<Phrasing>,
    /// Scratch for one bar's heard tokens.
    bar_tokens: Vec<u32>,
    /// Whether the latest guide asked for the model's expectation of the player (used when the
    /// window is re-encoded).
    expect_next: bool,
    /// The latest note's alternates, with the onset and key they belong to (see
    /// [`Continuation::alternates_of`]).
    alternates: (i64, u8, Alternates),
    /// Sum of the model's log-probabilities of the tokens sampled, and how many (the critic's
    /// likelihood; see [`Continuation::mean_log_prob`]).
    log_prob: (f64, u32),
}

impl<M: StepModel> std::fmt::Debug for Continuation<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Continuation")
            .field("meter", &self.meter)
            .field("bar_start", &self.bar_start)
            .field("next_free", &self.next_free)
            .field("position", &self.state.position())
            .finish_non_exhaustive()
    }
}

impl<M: StepModel> Continuation<M> {
    /// Prefills the model with `at.history` and gets ready to generate notes from `at.tick` on. A
    /// two-voice model is also told `at.heard` (what sounds beside the line) up to the end of the
    /// bar `at.tick` is in, and the bars to `at.phrase_end`.
    pub fn start(
        model: &mut M,
        at: LineStart,
        control: &[f32],
    ) -> Result<Continuation<M>, ModelError> {
        let LineStart {
            history,
            heard,
            phrase_end,
            phrasing,
            meter,
            anchor,
            tick: start_tick,
            seed,
            expect_heard,
        } = at;
        let bar_len = meter.bar_ticks();
        let bar_start = anchor + (start_tick - anchor).div_euclid(bar_len) * bar_len;
        let context: Vec<TickNote> = history
            .iter()
            .copied()
            .filter(|n| n.onset < start_tick)
            .collect();
        let mut c = Continuation {
            state: model.new_state(),
            sampler: Sampler::new(seed),
            meter,
            anchor,
            bar_start,
            next_free: start_tick,
            expect: Expect::PosOrBar,
            context,
            control: vec![0.0; model.contract().control.size],
            shaped: vec![0.0; model.contract().vocab_size],
            recent: Vec::with_capacity(REPEAT_RUN + 1),
            intervals: Vec::with_capacity(32),
            interventions: 0,
            hold_bar: false,
            first_by: None,
            two_voice: model.contract().two_voice(),
            heard: Vec::new(),
            phrase_end,
            phrasing,
            bar_tokens: Vec::with_capacity(64),
            expect_next: expect_heard,
            alternates: (i64::MIN, 0, Alternates::default()),
            log_prob: (0.0, 0),
        };
        if c.two_voice {
            c.heard = heard
                .iter()
                .copied()
                .filter(|n| n.onset < bar_start + bar_len && n.onset + n.duration > 0)
                .collect();
        }
        c.set_control(control);
        c.prefill(model)?;
        Ok(c)
    }

    fn set_control(&mut self, control: &[f32]) {
        let n = self.control.len().min(control.len());
        self.control[..n].copy_from_slice(&control[..n]);
    }

    /// Makes the line play in the bar it starts in: no bar line is sampled before its first note
    /// (a line that starts with an empty bar sounds like Descant missed its cue).
    pub fn play_first_bar(&mut self) {
        self.hold_bar = true;
    }

    /// A copy of this line that goes on independently from here, sampling with `seed` (the same
    /// as a line started afresh with that seed, without its prefill): an answer's candidates.
    pub fn fork(&self, model: &M, seed: u64) -> Result<Continuation<M>, ModelError> {
        Ok(Continuation {
            state: model.fork_state(&self.state)?,
            sampler: Sampler::new(seed),
            meter: self.meter,
            anchor: self.anchor,
            bar_start: self.bar_start,
            next_free: self.next_free,
            expect: self.expect,
            context: self.context.clone(),
            control: self.control.clone(),
            shaped: self.shaped.clone(),
            recent: self.recent.clone(),
            intervals: self.intervals.clone(),
            interventions: self.interventions,
            hold_bar: self.hold_bar,
            first_by: self.first_by,
            two_voice: self.two_voice,
            heard: self.heard.clone(),
            phrase_end: self.phrase_end,
            phrasing: self.phrasing,
            bar_tokens: self.bar_tokens.clone(),
            expect_next: self.expect_next,
            alternates: self.alternates,
            log_prob: self.log_prob,
        })
    }

    /// Makes the line's first note start no later than `tick` (an answer starts where its call
    /// did in the bar, not somewhere in that bar); implies [`Continuation::play_first_bar`].
    pub fn play_first_by(&mut self, tick: i64) {
        self.hold_bar = true;
        self.first_by = Some(tick);
    }

    /// Whether the model hears what sounds beside the line (contract v2).
    pub fn two_voice(&self) -> bool {
        self.two_voice
    }

    /// The tick up to which the line is decided: nothing new can start before it.
    pub fn cursor(&self) -> i64 {
        self.next_free.max(self.bar_start)
    }

    /// Re-encodes a window of recent bars ending with the current bar, and feeds it.
    fn prefill(&mut self, model: &mut M) -> Result<(), ModelError> {
        let bar_len = self.meter.bar_ticks();
        let budget = model.contract().max_context / 2;
        let notes_in = |from: i64| {
            self.context
                .iter()
                .filter(|n| n.onset >= from && n.onset < self.bar_start + bar_len)
                .count()
        };
        let heard_in = |from: i64| {
            self.heard
                .iter()
                .filter(|n| n.onset + n.duration > from && n.onset < self.bar_start + bar_len)
                .count()
        };
        let per_bar = if self.two_voice { 2 } else { 1 };
        let mut first = self.bar_start;
        while first - bar_len >= self.bar_start - MAX_WINDOW_BARS * bar_len {
            let bars = (self.bar_start - (first - bar_len)) / bar_len + 1;
            let heard = if self.two_voice {
                heard_in(first - bar_len)
            } else {
                0
            };
            if 3 + per_bar * bars as usize + 3 * (notes_in(first - bar_len) + heard) > budget {
                break;
            }
            first -= bar_len;
        }
        let window: Vec<TickNote> = self
            .context
            .iter()
            .filter(|n| n.onset >= first && n.onset < self.bar_start + bar_len)
            .map(|n| TickNote {
                onset: n.onset - first,
                ..*n
            })
            .collect();
        let n_bars = (self.bar_start - first) / bar_len + 1;
        let tokens = if self.two_voice {
            // A heard note sounding across the window's first bar line enters with what is left.
            let heard: Vec<TickNote> = self
                .heard
                .iter()
                .filter(|n| n.onset + n.duration > first && n.onset < self.bar_start + bar_len)
                .map(|n| TickNote {
                    onset: n.onset.max(first) - first,
                    duration: n.onset + n.duration - n.onset.max(first),
                    key: n.key,
                })
                .collect();
            let window_end = self.bar_start + bar_len;
            let ends: Option<Vec<i64>> = match self.phrasing {
                // Every phrase end the window's bars count down to.
                Some(p) => Some(
                    std::iter::successors(Some(p.end_after(first)), |&e| Some(e + p.len))
                        .take_while(|&e| e < window_end + p.len)
                        .map(|e| e - first)
                        .collect(),
                ),
                None => self.phrase_end.map(|e| vec![e - first]),
            };
            tokenizer::encode_two_voice(&window, &heard, self.meter, Some(n_bars), ends.as_deref())
        } else {
            tokenizer::encode(&window, self.meter, Some(n_bars))
        };
        // Nothing known of the last bar's heard notes, none of its own yet, the player playing:
        // the model writes the heard notes it expects before closing them.
        let expect = self.two_voice
            && self.expect_next
            && tokens.last() == Some(&tokenizer::OWN)
            && !self.heard.iter().any(|n| n.onset >= self.bar_start);
        let fed = if expect {
            &tokens[..tokens.len() - 1]
        } else {
            &tokens[..]
        };
        self.state = model.new_state();
        for &t in fed {
            model.step(&mut self.state, t, &self.control)?;
        }
        if expect {
            self.expect_heard(model)?;
        }
        // Forget notes that can never be in a window again.
        let horizon = self.bar_start - MAX_WINDOW_BARS * bar_len;
        self.context.retain(|n| n.onset >= horizon);
        self.heard.retain(|n| n.onset + n.duration > horizon);
        Ok(())
    }

    /// Generates tokens until a note is finished or a bar line is crossed. Each token is one
    /// round of four named steps: [`mask`](Continuation::mask) (what the grammar and the guide
    /// allow), [`shape`](Continuation::shape) (the steering on the model's logits),
    /// [`choose`](Continuation::choose) (sampling, with its fallbacks and the originality guard)
    /// and [`advance`](Continuation::advance) (the model and the grammar move on).
    pub fn next(
        &mut self,
        model: &mut M,
        settings: SamplingSettings,
        guide: &Guide,
    ) -> Result<Generated, ModelError> {
        self.set_control(guide.control);
        self.expect_next = guide.expect_heard;
        self.phrasing = guide.phrasing;
        for _ in 0..MAX_TOKENS_PER_EVENT {
            if self.expect == Expect::PosOrBar
                && self.state.position() + 4 > model.contract().max_context
            {
                self.prefill(model)?;
            }
            let mask = self.mask(guide);
            let token = self.choose(settings, guide, &mask);
            self.note_token(guide, &mask, token);
            if let Some(generated) = self.advance(model, guide, token)? {
                return Ok(generated);
            }
        }
        Err(ModelError::Contract(
            "the model did not complete a note within its token budget".into(),
        ))
    }

    /// What may come next here, under `guide`: the grammar position, the line's free time and
    /// first-note deadline, the phrase's close, the grid and the voice's register.
    fn mask(&self, guide: &Guide) -> Mask {
        let bar_len = self.meter.bar_ticks();
        let (bar_start, next_free) = (self.bar_start, self.next_free);
        let register = match self.expect {
            Expect::Pitch { onset } => voice_bounds(guide, onset, guide.steering.register()),
            _ => guide.steering.register(),
        };
        // A held bar line is let through when no onset is left in the bar.
        let close: Option<Close> = guide
            .phrasing
            .map(|p| p.close(self.meter, self.anchor, p.end_after(bar_start)));
        let bar_ok = (!self.hold_bar || next_free >= bar_start + bar_len)
            && close.is_none_or(|c| c.bar_ok(bar_start + bar_len, next_free));
        let close_keys = match (self.expect, close) {
            (Expect::Pitch { onset }, Some(c)) if onset >= c.from => {
                c.keys_over(self.heard_classes_at(guide, onset))
            }
            _ => 0,
        };
        Mask {
            expect: self.expect,
            bar_start,
            bar_len,
            next_free,
            first_by: self.first_by.unwrap_or(i64::MAX),
            bar_ok,
            grid: guide.grid,
            close,
            close_keys,
            register,
        }
    }

    /// The steering on the model's logits for what `mask` expects: a pitch's (scale, mood,
    /// chord, harmony guard, repetition, and the draw towards a cadence's or a close's keys,
    /// under `steering`, in `key`) or a length's (density) into `self.shaped`. Returns whether
    /// it shaped: an onset or a bar line is drawn from the model's own logits.
    fn shape(&mut self, guide: &Guide, mask: &Mask, steering: &Steering, key: Option<Key>) -> bool {
        match mask.expect {
            Expect::Pitch { onset } => {
                let ctx = PitchContext {
                    key,
                    chord: guide.chord,
                    strong_beat: (onset - self.anchor).rem_euclid(self.meter.beat_ticks()) == 0,
                    recent_keys: &self.recent,
                    sounding: self.sounding_at(guide, onset),
                    parallel: self.parallels_at(guide, onset),
                };
                shaping::shape_pitches(self.state.logits(), &mut self.shaped, steering, ctx);
                true
            }
            Expect::Dur { .. } => {
                let logits = self.state.logits();
                shaping::shape_durations(logits, &mut self.shaped, guide.steering.density);
                true
            }
            Expect::PosOrBar => false,
        }
    }

    /// Raises the logits of the keys a pitch at `onset` is drawn towards: an answer's cadence
    /// approached by step ([`Guide::approach`]); a phrase's last note (of its close's keys)
    /// reached by step from the note before where one can be.
    fn draw_towards(&mut self, guide: &Guide, mask: &Mask, onset: i64) {
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
                if let Some(l) = self.shaped.get_mut(tokenizer::pitch_token(key) as usize) {
                    *l += bias;
                }
            }
        }
    }

    /// Samples the next token under `mask`. A pitch falls back, in turn, to any key that fits
    /// when none of the phrase close's keys does, then to the register unlocked when no scale key
    /// fits in it; the originality guard may resample it. A bar line when nothing at all fits.
    fn choose(&mut self, settings: SamplingSettings, guide: &Guide, mask: &Mask) -> u32 {
        let shaped = self.shape(guide, mask, &guide.steering, guide.key);
        if let Expect::Pitch { onset } = mask.expect {
            self.draw_towards(guide, mask, onset);
        }
        let allowed = |t: u32| mask.allows(t, mask.close_keys);
        let logits: &[f32] = if shaped {
            &self.shaped
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
                .sample(&self.shaped, settings, |t| mask.allows(t, 0));
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
    fn note_token(&mut self, guide: &Guide, mask: &Mask, token: u32) {
        self.log_prob.0 += f64::from(log_prob_of(self.state.logits(), token));
        self.log_prob.1 += 1;
        if let (Expect::Pitch { onset }, TokenKind::Pitch(key)) = (mask.expect, kind(token)) {
            let on_beat = (onset - self.anchor).rem_euclid(self.meter.beat_ticks()) == 0;
            let alternates = if guide.alternates && on_beat {
                // A phrase's last note may turn, at its onset, into any of its close's keys
                // (cadence, half cadence, lead back) that fits what sounds then.
                let wide = mask.close.map_or(0, |c| c.any_keys());
                self.alternates_for(guide, key, &|t| mask.allows(t, wide))
            } else {
                Alternates::default()
            };
            self.alternates = (onset, key, alternates);
        }
    }

    /// Feeds `token` to the model and moves the grammar on: a finished note or a bar line is
    /// returned (a two-voice model is first told the new bar's heard notes); `None` mid-note.
    fn advance(
        &mut self,
        model: &mut M,
        guide: &Guide,
        token: u32,
    ) -> Result<Option<Generated>, ModelError> {
        model.step(&mut self.state, token, &self.control)?;
        Ok(match (self.expect, kind(token)) {
            (Expect::PosOrBar, TokenKind::Pos(p)) => {
                self.expect = Expect::Pitch {
                    onset: self.bar_start + p,
                };
                None
            }
            (Expect::Pitch { onset }, TokenKind::Pitch(key)) => {
                self.expect = Expect::Dur { onset, key };
                None
            }
            (Expect::Dur { onset, key }, TokenKind::Dur(duration)) => {
                self.expect = Expect::PosOrBar;
                let note = TickNote {
                    onset,
                    duration,
                    key,
                };
                self.next_free = onset + duration;
                self.hold_bar = false;
                self.first_by = None;
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
                self.first_by = None;
                self.expect = Expect::PosOrBar;
                self.bar_start += self.meter.bar_ticks();
                if self.two_voice {
                    self.enter_bar(model, guide)?;
                }
                Some(Generated::BarLine(self.bar_start))
            }
        })
    }

    /// The alternates of `note` if it is the latest note generated (empty otherwise, and for notes
    /// off the beat or generated without [`Guide::alternates`]).
    pub fn alternates_of(&self, note: TickNote) -> Alternates {
        let (onset, key, alternates) = self.alternates;
        if onset == note.onset && key == note.key {
            alternates
        } else {
            Alternates::default()
        }
    }

    /// The model's mean log-probability per token of what this continuation sampled (the raw
    /// distribution, before shaping); `-inf` before any token.
    pub fn mean_log_prob(&self) -> f32 {
        match self.log_prob {
            (_, 0) => f32::NEG_INFINITY,
            (sum, n) => (sum / f64::from(n)) as f32,
        }
    }

    /// Notes the originality guard has resampled in this continuation.
    pub fn interventions(&self) -> u64 {
        self.interventions
    }
}

#[cfg(test)]
mod tests;
