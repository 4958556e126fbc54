//! Sampling the next token from logits: grammar mask, temperature, nucleus (top-p).
//! Called on the inference worker; reuses its scratch buffer, so it allocates only when the
//! vocabulary grows.
//!
//! Guarantees: [`Sampler::sample`] only ever returns a token the mask allows, and returns `None`
//! only when the mask allows none. With the same seed, logits and settings it returns the same
//! token.

/// Temperature and top-p, read from the plugin's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingSettings {
    /// Softmax temperature, 0.1..=2.0: lower is safer, higher is wilder.
    pub temperature: f32,
    /// Nucleus mass, 0.5..=1.0: keep the smallest set of tokens whose probability reaches it.
    pub top_p: f32,
}

impl Default for SamplingSettings {
    fn default() -> Self {
        SamplingSettings {
            temperature: 1.0,
            top_p: 0.95,
        }
    }
}

/// A seeded sampler with its own scratch space.
#[derive(Debug, Clone)]
pub struct Sampler {
    /// The random stream (seeded, so a take can be reproduced).
    rng: fastrand::Rng,
    /// (token, probability) pairs of the allowed tokens, reused between calls.
    scratch: Vec<(u32, f32)>,
}

impl Sampler {
    /// A sampler whose choices are fixed by `seed`.
    pub fn new(seed: u64) -> Sampler {
        Sampler {
            rng: fastrand::Rng::with_seed(seed),
            scratch: Vec::new(),
        }
    }

    /// Samples a token among those `allowed` says yes to.
    pub fn sample(
        &mut self,
        logits: &[f32],
        settings: SamplingSettings,
        allowed: impl Fn(u32) -> bool,
    ) -> Option<u32> {
        let temperature = settings.temperature.clamp(0.05, 4.0);
        let top_p = settings.top_p.clamp(0.01, 1.0);
        self.scratch.clear();
        let mut max = f32::NEG_INFINITY;
        for (i, &l) in logits.iter().enumerate() {
            if allowed(i as u32) && l.is_finite() {
                self.scratch.push((i as u32, l / temperature));
                max = max.max(l / temperature);
            }
        }
        if self.scratch.is_empty() {
            return None;
        }
        let mut total = 0.0f32;
        for (_, p) in self.scratch.iter_mut() {
            *p = (*p - max).exp();
            total += *p;
        }
        // Highest probability first; ties by token id so the order is deterministic.
        self.scratch
            .sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut kept = 0;
        let mut mass = 0.0f32;
        for &(_, p) in &self.scratch {
            kept += 1;
            mass += p / total;
            if mass >= top_p {
                break;
            }
        }
        let nucleus = &self.scratch[..kept];
        let nucleus_total: f32 = nucleus.iter().map(|&(_, p)| p).sum();
        let mut r = self.rng.f32() * nucleus_total;
        for &(t, p) in nucleus {
            if r < p {
                return Some(t);
            }
            r -= p;
        }
        nucleus.last().map(|&(t, _)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_tokens_come_out() {
        let logits = [5.0, 0.0, 1.0, 9.0];
        let mut s = Sampler::new(1);
        for _ in 0..200 {
            let t = s
                .sample(&logits, SamplingSettings::default(), |t| t == 1 || t == 2)
                .unwrap();
            assert!(t == 1 || t == 2);
        }
    }

    #[test]
    fn nothing_allowed_gives_none() {
        let mut s = Sampler::new(1);
        assert_eq!(
            s.sample(&[1.0, 2.0], SamplingSettings::default(), |_| false),
            None
        );
    }

    #[test]
    fn small_top_p_keeps_only_the_most_likely_token() {
        let logits = [0.0, 3.0, 2.9, -1.0];
        let mut s = Sampler::new(9);
        let settings = SamplingSettings {
            temperature: 1.0,
            top_p: 0.01,
        };
        for _ in 0..100 {
            assert_eq!(s.sample(&logits, settings, |_| true), Some(1));
        }
    }

    #[test]
    fn temperature_sharpens_and_flattens() {
        let logits = [0.0, 1.0];
        let count = |temperature| {
            let mut s = Sampler::new(3);
            let settings = SamplingSettings {
                temperature,
                top_p: 1.0,
            };
            (0..2000)
                .filter(|_| s.sample(&logits, settings, |_| true) == Some(1))
                .count()
        };
        let (cold, hot) = (count(0.2), count(2.0));
        // p(1) = 0.993 at T=0.2 and 0.62 at T=2.
        assert!(cold > 1900, "cold {cold}");
        assert!((1100..1400).contains(&hot), "hot {hot}");
    }

    #[test]
    fn same_seed_same_choices() {
        let logits: Vec<f32> = (0..50).map(|i| (i as f32 * 0.37).sin()).collect();
        let run = || {
            let mut s = Sampler::new(42);
            (0..64)
                .map(|_| s.sample(&logits, SamplingSettings::default(), |_| true))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
