//! The session's taste: what this musician kept and asked again for, learned as weights on a few
//! named features of an answer, so the critic prefers what they preferred. Plain functions and a
//! small `Copy` value; the worker learns and scores with it, the plugin persists it and the
//! editor says it in words. Never used on the audio thread; allocates only to print or parse.
//!
//! Guarantees:
//! - **Bounded.** Every weight stays within ±[`MAX_WEIGHT`], so the taste adds at most
//!   `MAX_WEIGHT` × the features' spread to a candidate's score: it re-ranks candidates that the
//!   hard rules (key, register, voice, the grammar) already let through, and never overrides
//!   them, since it only chooses among whole candidates.
//! - **One choice, one step.** Each [`Taste::prefer`] moves the weights by one logistic
//!   (Bradley–Terry) gradient step of at most [`LEARNING_RATE`] × the features' difference, so
//!   20 choices can move it and one cannot swing it.
//! - **Checked when it loads.** [`Taste::parse`] refuses a blob with an unknown version, a
//!   missing or unknown feature, or a weight that is not finite or out of bounds, with a message.
//!
//! The features ([`Feature`]), each on roughly a unit scale: the share of leaps (a 4th or more),
//! the share of repeated notes, the range in octaves, the share of notes whose length differs
//! from the previous note's (a busier rhythm), the notes per beat against the call's (log2), the
//! kinship with the call's rhythm, and the mean pitch against the call's (octaves).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::music::time::TickNote;

/// Largest weight, either sign.
pub const MAX_WEIGHT: f32 = 6.0;
/// The step of one choice: the weights move by this × (1 − p) × the features' difference, where
/// p is how sure the taste already was of the choice.
pub const LEARNING_RATE: f32 = 8.0;
/// Weights below this (in magnitude) are not said in words.
const SAY_FROM: f32 = 0.5;
/// The blob's format version.
const VERSION: u64 = 1;

/// A named feature of an answer the taste weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// Share of intervals of a 4th or more.
    Leaps,
    /// Share of intervals that repeat the key.
    Repeats,
    /// Range, in octaves.
    Range,
    /// Share of notes whose length differs from the previous note's.
    Busy,
    /// log2 of the answer's notes per beat over the call's.
    Density,
    /// Rhythmic kinship with the call (the critic's), 0..=1.
    Echo,
    /// Mean key over the call's, in octaves.
    Height,
}

/// Number of features.
pub const FEATURES: usize = 7;

impl Feature {
    /// Every feature, in the weights' order.
    pub const ALL: [Feature; FEATURES] = [
        Feature::Leaps,
        Feature::Repeats,
        Feature::Range,
        Feature::Busy,
        Feature::Density,
        Feature::Echo,
        Feature::Height,
    ];

    /// The name in a persisted blob.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Leaps => "leaps",
            Feature::Repeats => "repeats",
            Feature::Range => "range",
            Feature::Busy => "busy",
            Feature::Density => "density",
            Feature::Echo => "echo",
            Feature::Height => "height",
        }
    }

    /// The words for a positive and a negative weight.
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Feature::Leaps => ("more leaps", "fewer leaps"),
            Feature::Repeats => ("more repeated notes", "fewer repeated notes"),
            Feature::Range => ("a wider range", "a narrower range"),
            Feature::Busy => ("busier rhythm", "plainer rhythm"),
            Feature::Density => ("more notes", "fewer notes"),
            Feature::Echo => (
                "closer to the call's rhythm",
                "further from the call's rhythm",
            ),
            Feature::Height => ("higher", "lower"),
        }
    }
}

/// One answer's features, in [`Feature::ALL`]'s order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Features(pub [f32; FEATURES]);

impl Features {
    /// The features of `notes` (in order) answering `call`; `kinship` is the critic's rhythmic
    /// kinship of the two.
    pub fn of(notes: &[TickNote], call: &[TickNote], kinship: f32) -> Features {
        let mut f = [0.0; FEATURES];
        if notes.is_empty() {
            return Features(f);
        }
        let intervals: Vec<i32> = notes
            .windows(2)
            .map(|w| (i32::from(w[1].key) - i32::from(w[0].key)).abs())
            .collect();
        let share = |hit: usize, of: usize| if of == 0 { 0.0 } else { hit as f32 / of as f32 };
        f[0] = share(
            intervals.iter().filter(|&&i| i >= 5).count(),
            intervals.len(),
        );
        f[1] = share(
            intervals.iter().filter(|&&i| i == 0).count(),
            intervals.len(),
        );
        let lo = notes.iter().map(|n| n.key).min().unwrap_or(0);
        let hi = notes.iter().map(|n| n.key).max().unwrap_or(0);
        f[2] = f32::from(hi - lo) / 12.0;
        let changes = notes
            .windows(2)
            .filter(|w| w[0].duration != w[1].duration)
            .count();
        f[3] = share(changes, notes.len() - 1);
        f[4] = match (
            crate::music::critic::notes_per_beat(notes),
            crate::music::critic::notes_per_beat(call),
        ) {
            (Some(mine), Some(theirs)) if mine > 0.0 && theirs > 0.0 => {
                (mine / theirs).log2().clamp(-2.0, 2.0)
            }
            _ => 0.0,
        };
        f[5] = kinship;
        let mean = |ns: &[TickNote]| {
            ns.iter().map(|n| f32::from(n.key)).sum::<f32>() / ns.len().max(1) as f32
        };
        f[6] = if call.is_empty() {
            0.0
        } else {
            ((mean(notes) - mean(call)) / 12.0).clamp(-2.0, 2.0)
        };
        Features(f)
    }

    /// One feature.
    pub fn get(&self, feature: Feature) -> f32 {
        self.0[feature as usize]
    }
}

/// What this session's musician preferred: a weight per feature and how many choices taught it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Taste {
    /// Weight per feature, in [`Feature::ALL`]'s order, each within ±[`MAX_WEIGHT`].
    weights: [f32; FEATURES],
    /// Choices learned from since the taste was last reset.
    choices: u32,
}

impl Taste {
    /// What the taste adds to a candidate's score.
    pub fn score(&self, features: &Features) -> f32 {
        self.weights
            .iter()
            .zip(features.0)
            .map(|(w, f)| w * f)
            .sum()
    }

    /// Learns that `preferred` was preferred to each of `others` (a `Keep`). One choice: the
    /// step is the mean over the comparisons, so a choice among eight candidates weighs what one
    /// among two does. Nothing is learned without others.
    pub fn prefer(&mut self, preferred: &Features, others: &[Features]) {
        self.learn(others.iter().map(|o| (*preferred, *o)), others.len());
    }

    /// Learns that each of `others` was preferred to `rejected` (an `Again`), as one choice.
    pub fn reject(&mut self, rejected: &Features, others: &[Features]) {
        self.learn(others.iter().map(|o| (*o, *rejected)), others.len());
    }

    /// One logistic (Bradley–Terry) step on `count` comparisons `(winner, loser)`, averaged.
    fn learn(&mut self, pairs: impl Iterator<Item = (Features, Features)>, count: usize) {
        if count == 0 {
            return;
        }
        let mut step = [0.0f32; FEATURES];
        for (winner, loser) in pairs {
            let mut diff = [0.0f32; FEATURES];
            for (d, (a, b)) in diff.iter_mut().zip(winner.0.iter().zip(loser.0)) {
                *d = a - b;
            }
            let margin: f32 = self.weights.iter().zip(diff).map(|(w, d)| w * d).sum();
            // How unsure the taste was: 1 − P(winner preferred).
            let unsure = 1.0 / (1.0 + margin.exp());
            for (s, d) in step.iter_mut().zip(diff) {
                *s += unsure * d / count as f32;
            }
        }
        for (w, s) in self.weights.iter_mut().zip(step) {
            *w = (*w + LEARNING_RATE * s).clamp(-MAX_WEIGHT, MAX_WEIGHT);
        }
        self.choices = self.choices.saturating_add(1);
    }

    /// One feature's weight.
    pub fn weight(&self, feature: Feature) -> f32 {
        self.weights[feature as usize]
    }

    /// Choices learned from since the last reset.
    pub fn choices(&self) -> u32 {
        self.choices
    }

    /// What it has learned, in words, strongest first: "more leaps, fewer repeated notes,
    /// plainer rhythm"; "nothing yet" before any choice, "no leaning yet" while every weight is
    /// small.
    pub fn words(&self) -> String {
        if self.choices == 0 {
            return "nothing yet".to_owned();
        }
        let mut said: Vec<(f32, &str)> = Feature::ALL
            .iter()
            .map(|&f| {
                let w = self.weight(f);
                let (up, down) = f.words();
                (w.abs(), if w > 0.0 { up } else { down })
            })
            .filter(|(w, _)| *w >= SAY_FROM)
            .collect();
        if said.is_empty() {
            return "no leaning yet".to_owned();
        }
        said.sort_by(|a, b| b.0.total_cmp(&a.0));
        said.iter()
            .take(3)
            .map(|(_, s)| *s)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The persisted form: `{"version":1,"choices":N,"weights":{"leaps":…,…}}`.
    pub fn to_value(&self) -> Value {
        let weights: Map<String, Value> = Feature::ALL
            .iter()
            .map(|&f| (f.name().to_owned(), Value::from(f64::from(self.weight(f)))))
            .collect();
        serde_json::json!({ "version": VERSION, "choices": self.choices, "weights": weights })
    }

    /// Reads a persisted taste, refusing anything but what [`Taste::to_value`] writes (see the
    /// module's guarantees).
    pub fn parse(value: &Value) -> Result<Taste, String> {
        let version = value.get("version").and_then(Value::as_u64);
        if version != Some(VERSION) {
            return Err(format!("unknown taste version {:?}", value.get("version")));
        }
        let choices = value
            .get("choices")
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok())
            .ok_or("the taste's choice count is missing or not a count")?;
        let weights = value
            .get("weights")
            .and_then(Value::as_object)
            .ok_or("the taste has no weights")?;
        if let Some(unknown) = weights
            .keys()
            .find(|k| !Feature::ALL.iter().any(|f| f.name() == k.as_str()))
        {
            return Err(format!("the taste names an unknown feature '{unknown}'"));
        }
        let mut taste = Taste {
            weights: [0.0; FEATURES],
            choices,
        };
        for (i, f) in Feature::ALL.iter().enumerate() {
            let w = weights
                .get(f.name())
                .and_then(Value::as_f64)
                .ok_or_else(|| format!("the taste's weight '{}' is missing", f.name()))?;
            if !w.is_finite() || w.abs() > f64::from(MAX_WEIGHT) {
                return Err(format!(
                    "the taste's weight '{}' is {w}, outside ±{MAX_WEIGHT}",
                    f.name()
                ));
            }
            taste.weights[i] = w as f32;
        }
        Ok(taste)
    }
}

/// The taste as a project keeps it: the taste, or why the project's was refused (then the taste
/// starts afresh, and the editor says so until the taste learns or is reset).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TasteStore {
    /// The taste in use.
    pub taste: Taste,
    /// Why the project's taste was refused, if it was.
    pub refused: Option<String>,
}

impl Serialize for TasteStore {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.taste.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TasteStore {
    /// Never fails on a well-formed JSON value: a damaged taste is kept as its refusal.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(TasteStore::from_value(&value))
    }
}

impl TasteStore {
    /// The store for a persisted value: its taste, or its refusal (a value `{"refused": why}`,
    /// which the plugin writes in place of a damaged blob when a project loads, is that
    /// refusal).
    pub fn from_value(value: &Value) -> TasteStore {
        if let Some(why) = value.get("refused").and_then(Value::as_str) {
            return TasteStore {
                taste: Taste::default(),
                refused: Some(why.to_owned()),
            };
        }
        match Taste::parse(value) {
            Ok(taste) => TasteStore {
                taste,
                refused: None,
            },
            Err(why) => TasteStore {
                taste: Taste::default(),
                refused: Some(why),
            },
        }
    }

    /// The store for a persisted blob's text (malformed JSON is refused too).
    pub fn from_text(text: &str) -> TasteStore {
        match serde_json::from_str::<Value>(text) {
            Ok(value) => TasteStore::from_value(&value),
            Err(e) => TasteStore {
                taste: Taste::default(),
                refused: Some(format!("the taste is not JSON: {e}")),
            },
        }
    }

    /// The editor's line: what the taste has learned, or why the project's was refused.
    pub fn line(&self) -> String {
        match &self.refused {
            Some(why) => format!(
                "Taste: the project's taste was damaged and not loaded ({why}); learning afresh"
            ),
            None => format!(
                "Taste ({} choices): {}",
                self.taste.choices(),
                self.taste.words()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(keys: &[u8], duration: i64) -> Vec<TickNote> {
        keys.iter()
            .enumerate()
            .map(|(i, &key)| TickNote {
                onset: i as i64 * duration,
                duration,
                key,
            })
            .collect()
    }

    #[test]
    fn features_read_leaps_repeats_range_and_height() {
        let call = line(&[60, 62, 64, 65], 12);
        let leaping = Features::of(&line(&[60, 67, 60, 72], 12), &call, 0.5);
        assert_eq!(leaping.get(Feature::Leaps), 1.0);
        assert_eq!(leaping.get(Feature::Repeats), 0.0);
        assert_eq!(leaping.get(Feature::Range), 1.0);
        assert_eq!(leaping.get(Feature::Density), 0.0);
        assert_eq!(leaping.get(Feature::Echo), 0.5);
        let flat = Features::of(&line(&[64, 64, 65, 64], 12), &call, 0.0);
        assert_eq!(flat.get(Feature::Leaps), 0.0);
        assert!((flat.get(Feature::Repeats) - 1.0 / 3.0).abs() < 1e-6);
        assert!(flat.get(Feature::Height) > 0.0);
    }

    #[test]
    fn keeping_leaping_answers_teaches_more_leaps_and_says_so() {
        let call = line(&[60, 62, 64, 65], 12);
        let leaping = Features::of(&line(&[60, 67, 60, 72], 12), &call, 0.5);
        let stepping = Features::of(&line(&[60, 62, 64, 62], 12), &call, 0.5);
        let mut taste = Taste::default();
        assert_eq!(taste.words(), "nothing yet");
        assert!(taste.score(&leaping) == taste.score(&stepping));
        for _ in 0..5 {
            taste.prefer(&leaping, &[stepping]);
        }
        assert!(taste.weight(Feature::Leaps) > SAY_FROM);
        assert!(taste.score(&leaping) > taste.score(&stepping));
        assert!(taste.words().starts_with("more leaps") || taste.words().contains("more leaps"));
        assert_eq!(taste.choices(), 5);
    }

    #[test]
    fn asking_again_teaches_the_other_way() {
        let call = line(&[60, 62, 64, 65], 12);
        let leaping = Features::of(&line(&[60, 67, 60, 72], 12), &call, 0.5);
        let stepping = Features::of(&line(&[60, 62, 64, 62], 12), &call, 0.5);
        let mut taste = Taste::default();
        for _ in 0..5 {
            taste.reject(&leaping, &[stepping]);
        }
        assert!(taste.weight(Feature::Leaps) < -SAY_FROM);
        assert!(taste.words().contains("fewer leaps"));
    }

    #[test]
    fn weights_stay_bounded_however_many_choices() {
        let big = Features([1.0; FEATURES]);
        let small = Features([-1.0; FEATURES]);
        let mut taste = Taste::default();
        for _ in 0..1000 {
            taste.prefer(&big, &[small]);
        }
        assert!(Feature::ALL
            .iter()
            .all(|&f| taste.weight(f) <= MAX_WEIGHT && taste.weight(f) > 0.0));
    }

    #[test]
    fn a_taste_survives_its_persisted_form() {
        let mut taste = Taste::default();
        taste.prefer(&Features([0.5; FEATURES]), &[Features::default()]);
        let text = serde_json::to_string(&TasteStore {
            taste,
            refused: None,
        })
        .unwrap();
        let back: TasteStore = serde_json::from_str(&text).unwrap();
        assert_eq!(back.refused, None);
        assert_eq!(back.taste.choices(), 1);
        for f in Feature::ALL {
            assert!((back.taste.weight(f) - taste.weight(f)).abs() < 1e-6);
        }
    }

    #[test]
    fn a_damaged_taste_is_refused_with_a_reason() {
        for (text, says) in [
            (r#"{"version":2,"choices":1,"weights":{}}"#, "version"),
            (r#"{"version":1,"weights":{}}"#, "count"),
            (
                r#"{"version":1,"choices":1,"weights":{"leaps":1}}"#,
                "missing",
            ),
            (
                r#"{"version":1,"choices":1,"weights":{"leaps":99,"repeats":0,"range":0,"busy":0,"density":0,"echo":0,"height":0}}"#,
                "outside",
            ),
            (
                r#"{"version":1,"choices":1,"weights":{"tempo":1}}"#,
                "unknown feature",
            ),
            (r#"{"version":1,"#, "not JSON"),
        ] {
            let store = TasteStore::from_text(text);
            let why = store.refused.clone().expect(text);
            assert!(why.contains(says), "{text}: {why}");
            assert_eq!(store.taste, Taste::default());
            assert!(store.line().contains("damaged"));
        }
    }
}
