//! The idiom benchmark's discriminator: a logistic regression (`linfa-logistic`, L2) on a line's
//! standardized features ([`crate::idiom::features`]) that tells the corpus's lines from others.
//! Used by `descant idiom` and the host tests.
//!
//! Guarantees: the folds keep a group (a piece) together, so a line is never judged by a model
//! that saw its piece's real line; the accuracy is over the held-out folds only; the same lines
//! give the same verdict.

use anyhow::{bail, Result};
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};

use crate::idiom::{Features, FEATURES};

/// How well a discriminator tells one set of lines from another: its accuracy on held-out folds
/// and the features it leans on most.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Share of held-out lines classified right (0.5 is chance).
    pub accuracy: f64,
    /// Lines judged.
    pub lines: usize,
    /// The features with the largest standardized weights, largest first, with the sign that
    /// marks the first set (the corpus's): (name, weight).
    pub tells: Vec<(&'static str, f64)>,
}

/// Folds of the discriminator's cross-validation.
pub const FOLDS: usize = 5;

/// A logistic-regression discriminator between `real` and `other` lines (each with the group,
/// e.g. the piece, it belongs to), cross-validated over [`FOLDS`] folds by group, standardized on
/// each training fold. `features` picks the features used.
pub fn discriminate(
    real: &[(usize, Features)],
    other: &[(usize, Features)],
    features: &[usize],
) -> Result<Verdict> {
    if real.len() < FOLDS || other.len() < FOLDS {
        bail!(
            "too few lines to judge ({} and {})",
            real.len(),
            other.len()
        );
    }
    let rows: Vec<(usize, bool, &Features)> = real
        .iter()
        .map(|(g, f)| (*g, true, f))
        .chain(other.iter().map(|(g, f)| (*g, false, f)))
        .collect();
    // Groups to folds by a fixed scramble of the group number, so neighbouring pieces spread.
    let fold_of = |g: usize| (g.wrapping_mul(2_654_435_761) >> 7) % FOLDS;
    let (mut right, mut judged) = (0usize, 0usize);
    for fold in 0..FOLDS {
        let (test, train): (Vec<&(usize, bool, &Features)>, Vec<_>) =
            rows.iter().partition(|r| fold_of(r.0) == fold);
        if test.is_empty() || train.iter().all(|r| r.1) || train.iter().all(|r| !r.1) {
            continue;
        }
        let model = Standardized::fit(&train, features)?;
        for r in &test {
            right += usize::from(model.predict(r.2) == r.1);
            judged += 1;
        }
    }
    if judged == 0 {
        bail!("no fold could be judged");
    }
    let all: Vec<_> = rows.iter().collect();
    let model = Standardized::fit(&all, features)?;
    let mut tells: Vec<(&'static str, f64)> = features
        .iter()
        .zip(model.weights.iter())
        .map(|(&i, &w)| (FEATURES[i], w))
        .collect();
    tells.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    tells.truncate(5);
    Ok(Verdict {
        accuracy: right as f64 / judged as f64,
        lines: judged,
        tells,
    })
}

/// A fitted logistic regression on standardized features.
struct Standardized {
    /// The features used (indices into [`FEATURES`]).
    features: Vec<usize>,
    /// Each feature's training mean and spread (a constant feature: spread 1).
    scale: Vec<(f64, f64)>,
    /// The weights on the standardized features.
    weights: Vec<f64>,
    /// The intercept.
    intercept: f64,
}

/// L2 strength of the discriminator (on standardized features).
const RIDGE: f64 = 1.0;

impl Standardized {
    fn fit(rows: &[&(usize, bool, &Features)], features: &[usize]) -> Result<Standardized> {
        let n = rows.len() as f64;
        let scale: Vec<(f64, f64)> = features
            .iter()
            .map(|&i| {
                let mean = rows.iter().map(|r| r.2[i]).sum::<f64>() / n;
                let var = rows.iter().map(|r| (r.2[i] - mean).powi(2)).sum::<f64>() / n;
                (mean, if var > 1e-12 { var.sqrt() } else { 1.0 })
            })
            .collect();
        let x = Array2::from_shape_fn((rows.len(), features.len()), |(r, c)| {
            (rows[r].2[features[c]] - scale[c].0) / scale[c].1
        });
        let y: Array1<bool> = rows.iter().map(|r| r.1).collect();
        let fitted = LogisticRegression::default()
            .alpha(RIDGE)
            .max_iterations(300)
            .fit(&Dataset::new(x, y))?;
        // linfa orders the two classes itself: the weights point to its positive class.
        let toward_real = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        Ok(Standardized {
            features: features.to_vec(),
            scale,
            weights: fitted.params().iter().map(|w| w * toward_real).collect(),
            intercept: fitted.intercept() * toward_real,
        })
    }

    /// Whether `f` looks like the first set (the corpus's lines).
    fn predict(&self, f: &Features) -> bool {
        let z: f64 = self
            .features
            .iter()
            .zip(&self.scale)
            .zip(&self.weights)
            .map(|((&i, &(m, s)), w)| w * (f[i] - m) / s)
            .sum::<f64>()
            + self.intercept;
        z > 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duet::Note;
    use crate::idiom::tests::{alone, n};
    use crate::idiom::{features, CADENCE};

    #[test]
    fn the_discriminator_tells_leaps_from_steps_and_not_a_set_from_itself() {
        let line = |seed: u64, leap: bool| {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut key = 64i32;
            let notes: Vec<Note> = (0..16)
                .map(|k| {
                    let size = if leap && rng.bool() {
                        7
                    } else {
                        rng.i32(0..=2)
                    };
                    key += if rng.bool() { size } else { -size };
                    key = key.clamp(48, 84);
                    n(f64::from(k) * 0.5, 0.5, key as u8)
                })
                .collect();
            features(&notes, (0.0, 8.0), &alone())
        };
        let all: Vec<usize> = (0..CADENCE).collect();
        let steps: Vec<(usize, Features)> = (0..60).map(|g| (g, line(g as u64, false))).collect();
        let leaps: Vec<(usize, Features)> =
            (0..60).map(|g| (g, line(1000 + g as u64, true))).collect();
        let v = discriminate(&steps, &leaps, &all).unwrap();
        assert!(v.accuracy > 0.9, "{v:?}");
        let more_steps: Vec<(usize, Features)> =
            (0..60).map(|g| (g, line(2000 + g as u64, false))).collect();
        let v = discriminate(&steps, &more_steps, &all).unwrap();
        assert!(v.accuracy < 0.7, "{v:?}");
    }
}
