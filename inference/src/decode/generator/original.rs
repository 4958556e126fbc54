//! The originality guard's part of generation: a pitch that would complete a distinctive
//! n-gram of the training melodies is resampled without it. Part of [`super::Continuation`];
//! runs on the inference worker; never allocates (its scratch is the continuation's).
//!
//! Guarantees: at most [`MAX_ORIGINALITY_RESAMPLES`] resamples per note, then the latest choice
//! stands; a resample only ever returns a token the grammar allows.

use crate::decode::sampler::SamplingSettings;
use crate::model::step::StepModel;
use crate::model::tokenizer::{kind, TokenKind};
use crate::music::originality::NgramIndex;

use super::{Continuation, MAX_ORIGINALITY_RESAMPLES};

impl<M: StepModel> Continuation<M> {
    /// Whether playing `key` next would complete a distinctive training n-gram.
    fn copies(&mut self, index: &NgramIndex, key: u8) -> bool {
        let n = index.n();
        if self.context.len() < n {
            return false;
        }
        self.scratch.intervals.clear();
        let tail = &self.context[self.context.len() - n..];
        for w in tail.windows(2) {
            self.scratch
                .intervals
                .push((i16::from(w[1].key) - i16::from(w[0].key)) as i8);
        }
        let last = tail[n - 1].key;
        self.scratch
            .intervals
            .push((i16::from(key) - i16::from(last)) as i8);
        index.contains(&self.scratch.intervals)
    }

    /// The pitch token `token`, or a resample without it (and without each later copy) when it
    /// would copy a training melody; after [`MAX_ORIGINALITY_RESAMPLES`] the latest choice stands.
    pub(super) fn keep_original(
        &mut self,
        index: &NgramIndex,
        mut token: u32,
        settings: SamplingSettings,
        allowed: &impl Fn(u32) -> bool,
    ) -> u32 {
        for _ in 0..MAX_ORIGINALITY_RESAMPLES {
            let TokenKind::Pitch(key) = kind(token) else {
                return token;
            };
            if !self.copies(index, key) {
                return token;
            }
            self.tally.interventions += 1;
            self.scratch.shaped[token as usize] = f32::NEG_INFINITY;
            match self.sampler.sample(&self.scratch.shaped, settings, allowed) {
                Some(t) => token = t,
                None => return token,
            }
        }
        token
    }
}
