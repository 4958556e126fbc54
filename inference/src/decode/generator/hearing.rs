//! What a two-voice model hears: telling it a bar's heard notes when the line enters the bar, its
//! own expectation of the player where nothing is known, and what the harmony guard and the
//! `Voice` control read from the heard notes at a note's onset, and an on-beat note's alternates
//! for the audio thread's onset choice. Part of [`super::Continuation`];
//! runs on the inference worker; allocates only while the heard notes grow.
//!
//! Guarantees: a bar is told its heard notes (those that start in it, in onset order) before the
//! model writes its own, closed by `OWN`; an expectation writes at most [`MAX_EXPECTED_NOTES`]
//! notes; the guard's sets are empty when the guard is off.

use crate::decode::sampler::SamplingSettings;
use crate::decode::steering::Voice;
use crate::error::ModelError;
use crate::model::step::{StepModel, StepState};
use crate::model::tokenizer::{self, kind, TickNote, TokenKind, PHRASE_BARS};
use crate::music::key::PitchClassSet;
use crate::music::onset::{interval_class, Alternates, MAX_ALTERNATES};

use super::{Continuation, Guide};

/// Most heard notes a model may expect in one bar.
pub(super) const MAX_EXPECTED_NOTES: usize = 12;
/// How far from the sampled key an alternate may lie, in semitones (a fifth: room for a tone of
/// any chord that may sound at the onset, while the line keeps its register).
const ALTERNATE_REACH: u8 = 7;
/// How much less likely than the likeliest key an alternate may be, in logits (`e^3`, 20 times:
/// an alternate is still a key the model finds likely). Tuned beside the twelve melodies; the
/// figures are in `docs/MEASUREMENTS.md` ("Tuned constants").
const ALTERNATE_SPAN: f32 = 3.0;

/// The keys a note starting at `onset` may take in `register` under the `Voice` control: above the
/// highest heard note sounding then, or below the lowest; when none is known to sound then (the
/// player's next note is not heard yet), beside the heard note that began last before it, where
/// the player's voice is. The whole register when nothing was heard, the voice is "either", or the
/// bound would leave no key.
pub(super) fn voice_bounds(guide: &Guide, onset: i64, (lo, hi): (u8, u8)) -> (u8, u8) {
    let bounds = match (guide.steering.voice, bounding_key(guide, onset)) {
        (Voice::Above, Some(top)) => (lo.max(top.saturating_add(1)), hi),
        (Voice::Below, Some(bottom)) => (lo, hi.min(bottom.saturating_sub(1))),
        _ => (lo, hi),
    };
    if bounds.0 <= bounds.1 {
        bounds
    } else {
        (lo, hi)
    }
}

/// The heard key a note starting at `onset` keeps above or below under the `Voice` control: the
/// highest heard key sounding then (`Above`) or the lowest (`Below`); when none is known to sound
/// then, the heard note that began last before it. `None` when nothing was heard or the voice is
/// "either".
pub(super) fn bounding_key(guide: &Guide, onset: i64) -> Option<u8> {
    if guide.steering.voice == Voice::Either {
        return None;
    }
    let sounds = |n: &TickNote| n.onset <= onset && onset < n.onset + n.duration;
    let any_sounding = guide.heard.iter().any(sounds);
    // None known to sound: the latest heard onset before it. Without this a voice below crossed
    // above a chorale's soprano whenever Descant planned a note ahead of the next melody note
    // (`docs/MEASUREMENTS.md`, "Idiom").
    let latest = guide
        .heard
        .iter()
        .filter(|n| n.onset <= onset)
        .map(|n| n.onset)
        .max();
    let keys = guide
        .heard
        .iter()
        .filter(|n| {
            if any_sounding {
                sounds(n)
            } else {
                Some(n.onset) == latest
            }
        })
        .map(|n| n.key);
    if guide.steering.voice == Voice::Above {
        keys.max()
    } else {
        keys.min()
    }
}

impl<M: StepModel> Continuation<M> {
    /// Two-voice: tells the model what it will hear in the bar it just entered (the BAR token is
    /// already fed): the phrase mark, the guide's heard notes in the bar, then `OWN`. Re-encodes
    /// the window instead when the context could not hold them.
    pub(super) fn enter_bar(&mut self, model: &mut M, guide: &Guide) -> Result<(), ModelError> {
        let bar_len = self.at.meter.bar_ticks();
        let (start, end) = (self.at.bar_start, self.at.bar_start + bar_len);
        self.told.phrase_end = match guide.phrasing {
            Some(p) => Some(p.end_after(start)),
            None => guide.phrase_end,
        };
        let phrase = self
            .told
            .phrase_end
            .filter(|&e| e > start)
            .map(|e| ((e - 1 - start).div_euclid(bar_len)) as u32)
            .filter(|&k| k < PHRASE_BARS);
        // A bar's notes are the heard notes that start in it (a note sounding on from an earlier
        // bar was told there, as in training); the guide's view of this bar replaces any older one.
        self.told.heard.retain(|n| n.onset < start);
        self.told.heard.extend(
            guide
                .heard
                .iter()
                .filter(|n| n.onset >= start && n.onset < end && n.duration > 0),
        );
        let mut bar_notes: Vec<TickNote> = self
            .told
            .heard
            .iter()
            .copied()
            .filter(|n| n.onset >= start)
            .collect();
        bar_notes.sort_by_key(|n| (n.onset, n.duration, n.key));
        self.scratch.bar_tokens.clear();
        tokenizer::push_bar_two_voice(
            &mut self.scratch.bar_tokens,
            &bar_notes,
            start,
            bar_len,
            phrase,
        );
        let expect = guide.expect_heard && bar_notes.is_empty();
        if expect {
            // Leave the OWN out: the model writes the heard notes it expects, then closes them.
            self.scratch.bar_tokens.pop();
        }
        // The BAR is in already.
        let room = if expect {
            4 + 3 * MAX_EXPECTED_NOTES
        } else {
            3
        };
        if self.state.position() + self.scratch.bar_tokens.len() + room
            > model.contract().max_context
        {
            // The re-encoded window closes the bar's heard notes (none known): no expectation.
            return self.prefill(model);
        }
        for i in 1..self.scratch.bar_tokens.len() {
            let t = self.scratch.bar_tokens[i];
            model.step(&mut self.state, t, &self.control)?;
        }
        if expect {
            self.expect_heard(model)?;
        }
        Ok(())
    }

    /// Two-voice: lets the model write the heard notes it expects in the current bar (onsets in
    /// order, keys, lengths) until it closes them with `OWN` or writes [`MAX_EXPECTED_NOTES`];
    /// they are kept as told notes. Deterministic per seed (the line's sampler).
    pub(super) fn expect_heard(&mut self, model: &mut M) -> Result<(), ModelError> {
        let bar_len = self.at.meter.bar_ticks();
        let settings = SamplingSettings::default();
        let mut from = 0i64;
        for _ in 0..MAX_EXPECTED_NOTES {
            let allowed = |t: u32| match kind(t) {
                TokenKind::Own => true,
                TokenKind::Pos(p) => p >= from && p < bar_len,
                _ => false,
            };
            let Some(pos) = self.sampler.sample(self.state.logits(), settings, allowed) else {
                break;
            };
            model.step(&mut self.state, pos, &self.control)?;
            let TokenKind::Pos(p) = kind(pos) else {
                return Ok(()); // OWN: the model expects nothing more
            };
            let key = self
                .sampler
                .sample(self.state.logits(), settings, |t| {
                    matches!(kind(t), TokenKind::Heard(_))
                })
                .unwrap_or(tokenizer::heard_token(60));
            model.step(&mut self.state, key, &self.control)?;
            let dur = self
                .sampler
                .sample(self.state.logits(), settings, |t| {
                    matches!(kind(t), TokenKind::Dur(_))
                })
                .unwrap_or(tokenizer::dur_token(12));
            model.step(&mut self.state, dur, &self.control)?;
            if let (TokenKind::Heard(k), TokenKind::Dur(d)) = (kind(key), kind(dur)) {
                self.told.heard.push(TickNote {
                    onset: self.at.bar_start + p,
                    duration: d,
                    key: k,
                });
            }
            from = p;
        }
        model.step(&mut self.state, tokenizer::OWN, &self.control)?;
        Ok(())
    }

    /// Pitch classes heard or expected sounding at `onset`: what the model was told (a two-voice
    /// model: known, remembered and its own expectation) and the guide's view; empty when the
    /// harmony guard is off.
    pub(super) fn sounding_at(&self, guide: &Guide, onset: i64) -> PitchClassSet {
        if !guide.harmony_guard {
            return PitchClassSet(0);
        }
        self.heard_classes_at(guide, onset)
    }

    /// The pitch classes of what is heard or expected sounding at `onset`.
    pub(super) fn heard_classes_at(&self, guide: &Guide, onset: i64) -> PitchClassSet {
        let at = |n: &&TickNote| n.onset <= onset && onset < n.onset + n.duration;
        PitchClassSet(
            self.told
                .heard
                .iter()
                .chain(guide.heard)
                .filter(at)
                .fold(0u16, |set, n| set | 1 << (n.key % 12)),
        )
    }

    /// The highest heard or expected key sounding at `onset`.
    pub(super) fn top_heard_at(&self, guide: &Guide, onset: i64) -> Option<u8> {
        self.told
            .heard
            .iter()
            .chain(guide.heard)
            .filter(|n| n.onset <= onset && onset < n.onset + n.duration)
            .map(|n| n.key)
            .max()
    }

    /// Pitch classes a note at `onset` should avoid so as not to move in parallel fifths or
    /// octaves with the (highest) heard voice: when the line's previous note made a fifth or an
    /// octave with it and the heard voice has moved since, the same interval above the new heard
    /// note. Empty when the harmony guard is off.
    pub(super) fn parallels_at(&self, guide: &Guide, onset: i64) -> PitchClassSet {
        let Some(prev) = self.context.last().filter(|_| guide.harmony_guard) else {
            return PitchClassSet(0);
        };
        let (Some(h0), Some(h1)) = (
            self.top_heard_at(guide, prev.onset),
            self.top_heard_at(guide, onset),
        ) else {
            return PitchClassSet(0);
        };
        if h0 == h1 || !matches!(interval_class(prev.key, h0), 0 | 7) {
            return PitchClassSet(0);
        }
        // The same interval, above or below, over the new heard note.
        let apart = i32::from(prev.key) - i32::from(h0);
        PitchClassSet(1 << ((i32::from(h1) + apart).rem_euclid(12)))
    }

    /// Up to [`MAX_ALTERNATES`] other keys for a note the model just gave `key`: within a fifth
    /// of it, allowed where the note starts (register, voice), in the key when one is known (else
    /// in the key's likely collection, when there is one). First those no less likely than
    /// `e^-ALTERNATE_SPAN` of the likeliest such key, best first, by the model's own logits: not
    /// by the shaped ones the pitch was sampled from, which lean towards the harmony expected at
    /// the onset, where the alternates are for the harmony that turns out to sound there (a chord
    /// that changes on the beat). Then, in the slots left, the nearest other such keys.
    pub(super) fn alternates_for(
        &self,
        guide: &Guide,
        key: u8,
        strong: bool,
        allowed: &impl Fn(u32) -> bool,
    ) -> Alternates {
        let eligible = |k: u8| {
            let t = tokenizer::pitch_token(k);
            self.scratch.shaped[t as usize].is_finite()
                && allowed(t)
                && match guide.key {
                    Some(key) => key.scale().contains_key(k),
                    // Before a key is detected: the pitch classes the first notes make likely.
                    None => guide.collection.0 == 0 || guide.collection.contains_key(k),
                }
        };
        let logit = |k: u8| self.state.logits()[tokenizer::pitch_token(k) as usize];
        let best = (tokenizer::PITCH_LOW..=tokenizer::PITCH_HIGH)
            .filter(|&k| eligible(k))
            .map(logit)
            .fold(f32::NEG_INFINITY, f32::max);
        let mut found: [(f32, u8); MAX_ALTERNATES] = [(f32::NEG_INFINITY, 0); MAX_ALTERNATES];
        let lo = key
            .saturating_sub(ALTERNATE_REACH)
            .max(tokenizer::PITCH_LOW);
        let hi = key
            .saturating_add(ALTERNATE_REACH)
            .min(tokenizer::PITCH_HIGH);
        for k in lo..=hi {
            let l = logit(k);
            let fits = k != key && l.is_finite() && l >= best - ALTERNATE_SPAN && eligible(k);
            if fits && l > found[MAX_ALTERNATES - 1].0 {
                found[MAX_ALTERNATES - 1] = (l, k);
                found.sort_by(|a, b| b.0.total_cmp(&a.0));
            }
        }
        // Slots the likely keys leave empty take the nearest other eligible keys, a step first:
        // where nothing the model favours fits what sounds at the onset (a fifth that would move
        // to a fifth with the melody), a near key that does is played rather than the clash.
        let mut keys = found.map(|(l, k)| if l.is_finite() { k } else { 0 });
        let mut filled = keys.iter().filter(|&&k| k != 0).count();
        for d in 1..=ALTERNATE_REACH {
            for k in [key.checked_sub(d), key.checked_add(d)]
                .into_iter()
                .flatten()
            {
                let near = (tokenizer::PITCH_LOW..=tokenizer::PITCH_HIGH).contains(&k);
                if filled < MAX_ALTERNATES && near && !keys.contains(&k) && eligible(k) {
                    keys[filled] = k;
                    filled += 1;
                }
            }
        }
        Alternates::new(&keys[..filled], strong)
    }
}
