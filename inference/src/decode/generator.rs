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

use crate::decode::sampler::{Sampler, SamplingSettings};
use crate::decode::shaping::REPEAT_RUN;
use crate::error::ModelError;
use crate::model::step::{StepModel, StepState};
use crate::model::tokenizer::{self, Meter, TickNote};
use crate::model::Model;
use crate::music::onset::Alternates;
use crate::music::phrasing::Phrasing;

mod guide;
mod hearing;
mod mask;
mod original;
mod steps;

pub use guide::{Approach, Guide, LineStart, Pace};

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

/// Where a line is: the grammar position in its bars, and the holds on its first note.
#[derive(Debug, Clone, Copy)]
struct Cursor {
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
    /// Whether a bar line is held back until the next note (see [`Continuation::play_first_bar`]).
    hold_bar: bool,
    /// The first note must start by this absolute tick (see [`Continuation::play_first_by`]).
    first_by: Option<i64>,
}

/// What the model is told besides its own line (two-voice models), kept for re-encoding.
#[derive(Debug, Clone)]
struct Told {
    /// Whether the model speaks the two-voice grammar (contract v2).
    two_voice: bool,
    /// Two-voice: the heard notes the model was told of (absolute ticks), for re-encoding.
    heard: Vec<TickNote>,
    /// Two-voice: where the phrase ends (absolute tick), as last told.
    phrase_end: Option<i64>,
    /// The phrases of the line as last told (their ends go into a re-encoded window).
    phrasing: Option<Phrasing>,
    /// Whether the latest guide asked for the model's expectation of the player (used when the
    /// window is re-encoded).
    expect_next: bool,
}

/// Buffers reused from token to token, so that generating allocates nothing once warm.
#[derive(Debug, Clone)]
struct Scratch {
    /// Shaped logits.
    shaped: Vec<f32>,
    /// The originality check's latest intervals plus a candidate.
    intervals: Vec<i8>,
    /// One bar's heard tokens.
    bar_tokens: Vec<u32>,
}

/// What the line counted as it went.
#[derive(Debug, Clone, Copy)]
struct Tally {
    /// Notes the originality guard resampled so far.
    interventions: u64,
    /// Sum of the model's log-probabilities of the tokens sampled, and how many (the critic's
    /// likelihood; see [`Continuation::mean_log_prob`]).
    log_prob: (f64, u32),
    /// The latest note's alternates, with the onset and key they belong to (see
    /// [`Continuation::alternates_of`]).
    alternates: (i64, u8, Alternates),
}

/// One running continuation of a phrase: the model state plus the grammar position. Generic over
/// the step model so the planners can be tested on a fake one; the plugin uses the ONNX [`Model`].
pub struct Continuation<M: StepModel = Model> {
    /// KV cache and logits.
    state: M::State,
    /// Token choice.
    sampler: Sampler,
    /// Where the line is.
    at: Cursor,
    /// Every note in the context so far (prompt and generated), absolute ticks, for re-encoding.
    context: Vec<TickNote>,
    /// Descant's latest keys, oldest first (for the repetition guard).
    recent: Vec<u8>,
    /// The control vector fed at every step (the latest [`Guide`]'s).
    control: Vec<f32>,
    /// What the model is told besides its own line.
    told: Told,
    /// Buffers reused from token to token.
    scratch: Scratch,
    /// What the line counted.
    tally: Tally,
}

impl<M: StepModel> std::fmt::Debug for Continuation<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Continuation")
            .field("meter", &self.at.meter)
            .field("bar_start", &self.at.bar_start)
            .field("next_free", &self.at.next_free)
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
            at: Cursor {
                meter,
                anchor,
                bar_start,
                next_free: start_tick,
                expect: Expect::PosOrBar,
                hold_bar: false,
                first_by: None,
            },
            context,
            recent: Vec::with_capacity(REPEAT_RUN + 1),
            control: vec![0.0; model.contract().control.size],
            told: Told {
                two_voice: model.contract().two_voice(),
                heard: Vec::new(),
                phrase_end,
                phrasing,
                expect_next: expect_heard,
            },
            scratch: Scratch {
                shaped: vec![0.0; model.contract().vocab_size],
                intervals: Vec::with_capacity(32),
                bar_tokens: Vec::with_capacity(64),
            },
            tally: Tally {
                interventions: 0,
                log_prob: (0.0, 0),
                alternates: (i64::MIN, 0, Alternates::default()),
            },
        };
        if c.told.two_voice {
            c.told.heard = heard
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
        self.at.hold_bar = true;
    }

    /// A copy of this line that goes on independently from here, sampling with `seed` (the same
    /// as a line started afresh with that seed, without its prefill): an answer's candidates.
    pub fn fork(&self, model: &M, seed: u64) -> Result<Continuation<M>, ModelError> {
        Ok(Continuation {
            state: model.fork_state(&self.state)?,
            sampler: Sampler::new(seed),
            at: self.at,
            context: self.context.clone(),
            recent: self.recent.clone(),
            control: self.control.clone(),
            told: self.told.clone(),
            scratch: self.scratch.clone(),
            tally: self.tally,
        })
    }

    /// Makes the line's first note start no later than `tick` (an answer starts where its call
    /// did in the bar, not somewhere in that bar); implies [`Continuation::play_first_bar`].
    pub fn play_first_by(&mut self, tick: i64) {
        self.at.hold_bar = true;
        self.at.first_by = Some(tick);
    }

    /// Whether the model hears what sounds beside the line (contract v2).
    pub fn two_voice(&self) -> bool {
        self.told.two_voice
    }

    /// The tick up to which the line is decided: nothing new can start before it.
    pub fn cursor(&self) -> i64 {
        self.at.next_free.max(self.at.bar_start)
    }

    /// Where the re-encoded window starts: the earliest bar line, at most [`MAX_WINDOW_BARS`] bars
    /// back, from which the window's tokens fit in `budget`.
    fn window_start(&self, budget: usize) -> i64 {
        let bar_len = self.at.meter.bar_ticks();
        let notes_in = |from: i64| {
            self.context
                .iter()
                .filter(|n| n.onset >= from && n.onset < self.at.bar_start + bar_len)
                .count()
        };
        let heard_in = |from: i64| {
            self.told
                .heard
                .iter()
                .filter(|n| n.onset + n.duration > from && n.onset < self.at.bar_start + bar_len)
                .count()
        };
        let per_bar = if self.told.two_voice { 2 } else { 1 };
        let mut first = self.at.bar_start;
        while first - bar_len >= self.at.bar_start - MAX_WINDOW_BARS * bar_len {
            let bars = (self.at.bar_start - (first - bar_len)) / bar_len + 1;
            let heard = if self.told.two_voice {
                heard_in(first - bar_len)
            } else {
                0
            };
            if 3 + per_bar * bars as usize + 3 * (notes_in(first - bar_len) + heard) > budget {
                break;
            }
            first -= bar_len;
        }
        first
    }

    /// The tokens of the window from the bar line `first` to the end of the current bar: the
    /// line's notes, and for a two-voice model what it heard and where its phrases end.
    fn window_tokens(&self, first: i64) -> Vec<u32> {
        let bar_len = self.at.meter.bar_ticks();
        let window: Vec<TickNote> = self
            .context
            .iter()
            .filter(|n| n.onset >= first && n.onset < self.at.bar_start + bar_len)
            .map(|n| TickNote {
                onset: n.onset - first,
                ..*n
            })
            .collect();
        let n_bars = (self.at.bar_start - first) / bar_len + 1;
        if self.told.two_voice {
            // A heard note sounding across the window's first bar line enters with what is left.
            let heard: Vec<TickNote> = self
                .told
                .heard
                .iter()
                .filter(|n| n.onset + n.duration > first && n.onset < self.at.bar_start + bar_len)
                .map(|n| TickNote {
                    onset: n.onset.max(first) - first,
                    duration: n.onset + n.duration - n.onset.max(first),
                    key: n.key,
                })
                .collect();
            let window_end = self.at.bar_start + bar_len;
            let ends: Option<Vec<i64>> = match self.told.phrasing {
                // Every phrase end the window's bars count down to.
                Some(p) => Some(
                    std::iter::successors(Some(p.end_after(first)), |&e| Some(e + p.len))
                        .take_while(|&e| e < window_end + p.len)
                        .map(|e| e - first)
                        .collect(),
                ),
                None => self.told.phrase_end.map(|e| vec![e - first]),
            };
            tokenizer::encode_two_voice(
                &window,
                &heard,
                self.at.meter,
                Some(n_bars),
                ends.as_deref(),
            )
        } else {
            tokenizer::encode(&window, self.at.meter, Some(n_bars))
        }
    }

    /// Re-encodes a window of recent bars ending with the current bar, and feeds it.
    fn prefill(&mut self, model: &mut M) -> Result<(), ModelError> {
        let budget = model.contract().max_context / 2;
        let first = self.window_start(budget);
        let tokens = self.window_tokens(first);
        // Nothing known of the last bar's heard notes, none of its own yet, the player playing:
        // the model writes the heard notes it expects before closing them.
        let expect = self.told.two_voice
            && self.told.expect_next
            && tokens.last() == Some(&tokenizer::OWN)
            && !self.told.heard.iter().any(|n| n.onset >= self.at.bar_start);
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
        let horizon = self.at.bar_start - MAX_WINDOW_BARS * self.at.meter.bar_ticks();
        self.context.retain(|n| n.onset >= horizon);
        self.told.heard.retain(|n| n.onset + n.duration > horizon);
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
        self.told.expect_next = guide.expect_heard;
        self.told.phrasing = guide.phrasing;
        for _ in 0..MAX_TOKENS_PER_EVENT {
            if self.at.expect == Expect::PosOrBar
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

    /// The alternates of `note` if it is the latest note generated (empty otherwise, and for notes
    /// off the beat or generated without [`Guide::alternates`]).
    pub fn alternates_of(&self, note: TickNote) -> Alternates {
        let (onset, key, alternates) = self.tally.alternates;
        if onset == note.onset && key == note.key {
            alternates
        } else {
            Alternates::default()
        }
    }

    /// The model's mean log-probability per token of what this continuation sampled (the raw
    /// distribution, before shaping); `-inf` before any token.
    pub fn mean_log_prob(&self) -> f32 {
        match self.tally.log_prob {
            (_, 0) => f32::NEG_INFINITY,
            (sum, n) => (sum / f64::from(n)) as f32,
        }
    }

    /// Notes the originality guard has resampled in this continuation.
    pub fn interventions(&self) -> u64 {
        self.tally.interventions
    }
}

#[cfg(test)]
mod tests;
