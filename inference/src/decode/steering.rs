//! Steering: the musician's controls (style blend, density, register, mood, key and scale lock,
//! chords, repetition guard) and the model control vector they imply. Read by the inference
//! worker before every note, so a change takes effect on the next generated note.
//!
//! Guarantees: [`control_vector`] writes finite values only, zero where the model was trained with
//! that part dropped ("unconditioned"), and nothing beyond the model's control layout; the style
//! weights are non-negative and sum to at most 1.

use crate::model::contract::ModelContract;
use crate::music::key::Key;

/// Attribute z-scores are clamped to this many standard deviations (the model never saw more).
pub const MAX_Z: f32 = 2.5;
/// Lowest key Descant may be asked to play.
pub const KEY_LOW: u8 = 21;
/// Highest key Descant may be asked to play.
pub const KEY_HIGH: u8 = 108;

/// Which key the scale lock and mood refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySetting {
    /// Detected from what the player has played (none until there is enough).
    Auto,
    /// Set by the musician.
    Fixed(Key),
}

/// Where Descant's line lies relative to what it hears (the `Voice` control).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Voice {
    /// Wherever the line goes (the model chooses; the voices may cross).
    #[default]
    Either,
    /// Above the highest note heard: a descant.
    Above,
    /// Below the lowest note heard: an under-voice.
    Below,
}

impl Voice {
    /// The model's `voice` control value: +1 above, -1 below, 0 either.
    pub fn control(self) -> f32 {
        match self {
            Voice::Either => 0.0,
            Voice::Above => 1.0,
            Voice::Below => -1.0,
        }
    }
}

/// Everything the musician steers with, as plain values (the plugin maps its parameters here).
/// One field per control, as the parameters have one field per parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Steering {
    /// First style, an index into the model's style list; `None` is "any" (unconditioned).
    pub style_a: Option<usize>,
    /// Second style for the blend; `None` is "any".
    pub style_b: Option<usize>,
    /// 0 = all `style_a`, 1 = all `style_b`, continuous in between.
    pub blend: f32,
    /// Target notes per beat; `None` lets the model follow the music.
    pub density: Option<f32>,
    /// Lowest key to play (notes below fold up by octaves).
    pub register_low: u8,
    /// Highest key to play (notes above fold down by octaves).
    pub register_high: u8,
    /// -1 leans minor, +1 leans major, 0 neither.
    pub mood: f32,
    /// The key for the scale lock.
    pub key: KeySetting,
    /// 0 = free, 1 = only scale notes; in between, out-of-scale notes are down-weighted by the
    /// factor `1 - scale_lock`.
    pub scale_lock: f32,
    /// Whether held chord notes pull strong-beat notes toward chord tones.
    pub chord_bias: bool,
    /// Whether a key already played three times running is discouraged.
    pub repetition_guard: bool,
    /// Whether a note that would copy a distinctive training melody is resampled.
    pub originality_guard: bool,
    /// Where the line lies relative to what Descant hears (a two-voice model's control; and a
    /// note never crosses what sounds at its onset, where the register leaves room).
    pub voice: Voice,
}

impl Default for Steering {
    fn default() -> Self {
        Steering {
            style_a: None,
            style_b: None,
            blend: 0.0,
            density: None,
            register_low: 48,
            register_high: 86,
            mood: 0.0,
            key: KeySetting::Auto,
            scale_lock: 0.0,
            chord_bias: true,
            repetition_guard: true,
            originality_guard: true,
            voice: Voice::Either,
        }
    }
}

impl Steering {
    /// The blend's weight of `style_b`, in 0..=1 (0 for a value that is not a number).
    pub fn blend_weight(&self) -> f32 {
        if self.blend.is_finite() {
            self.blend.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// The style ids of `style_a` and `style_b` in `contract`'s style list (`None`: "any", or
    /// a style the model lacks).
    pub fn style_ids<'c>(&self, contract: &'c ModelContract) -> [Option<&'c str>; 2] {
        [self.style_a, self.style_b].map(|s| {
            s.and_then(|s| contract.control.styles.get(s))
                .map(String::as_str)
        })
    }

    /// The register bounds, ordered and inside the vocabulary.
    pub fn register(&self) -> (u8, u8) {
        let lo = self.register_low.clamp(KEY_LOW, KEY_HIGH);
        let hi = self.register_high.clamp(KEY_LOW, KEY_HIGH);
        (lo.min(hi), lo.max(hi))
    }
}

/// A style's own pace: how its lines move against the voice they hear, and alone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StylePace {
    /// Notes per note heard: the corpus's counter-voice against the voice above it in 4-bar
    /// windows (chorale, renaissance), a folk tune's second phrase against its first, per beat.
    pub per_heard: f32,
    /// Notes per beat of the style's own lines (the counter-voice in those windows; a folk tune's
    /// melody): the pace before the player's is known.
    pub per_beat: f32,
}

/// Each style's own pace, by style id: geometric means over the training split's pieces
/// (`training/heldout.py --split train`; `docs/MEASUREMENTS.md`, "Idiom").
pub const STYLE_PACE: [(&str, StylePace); 5] = [
    (
        "folk-european",
        StylePace {
            per_heard: 1.03,
            per_beat: 1.08,
        },
    ),
    (
        "folk-chinese",
        StylePace {
            per_heard: 0.99,
            per_beat: 1.63,
        },
    ),
    (
        "irish-scottish",
        StylePace {
            per_heard: 1.01,
            per_beat: 1.92,
        },
    ),
    (
        "chorale",
        StylePace {
            per_heard: 1.10,
            per_beat: 1.06,
        },
    ),
    (
        "renaissance",
        StylePace {
            per_heard: 0.97,
            per_beat: 0.47,
        },
    ),
];

/// The density the line keeps to with the Density control on Auto: the player's notes per beat
/// (`player_density`) at the style's own pace against the voice it hears ([`STYLE_PACE`]; the
/// blend of two styles, a style the table lacks or "any" at 1). Until the player's pace is known,
/// the style's own notes per beat (a blend of two styles' where both have one; none for "any").
/// `None` when the density is set (the set value rules), or neither pace is known.
pub fn auto_density(
    contract: &ModelContract,
    steering: &Steering,
    player_density: Option<f32>,
) -> Option<f32> {
    if steering.density.is_some() {
        return None;
    }
    let pace = |id: Option<&str>| {
        STYLE_PACE
            .iter()
            .find(|(name, _)| Some(*name) == id)
            .map(|(_, pace)| *pace)
    };
    let blend = steering.blend_weight();
    let [a, b] = steering.style_ids(contract).map(pace);
    let per_heard = |p: Option<StylePace>| p.map_or(1.0, |p| p.per_heard);
    let ratio = per_heard(a) * (1.0 - blend) + per_heard(b) * blend;
    let alone = || match (a, b) {
        (Some(a), Some(b)) => Some(a.per_beat * (1.0 - blend) + b.per_beat * blend),
        (Some(a), None) if blend == 0.0 => Some(a.per_beat),
        (None, Some(b)) if blend == 1.0 => Some(b.per_beat),
        _ => None,
    };
    match player_density.filter(|d| d.is_finite() && *d > 0.0) {
        Some(d) => Some(d * ratio),
        None => alone(),
    }
}

/// Writes the model's control vector for `steering` into `out` (length = the control size).
/// `player_density` (notes per beat of the player's phrase) stands in when the density is "auto".
pub fn control_vector(
    contract: &ModelContract,
    steering: &Steering,
    player_density: Option<f32>,
    out: &mut [f32],
) {
    out.fill(0.0);
    let layout = &contract.control;
    let styles = layout.styles.len().min(out.len());
    let blend = steering.blend_weight();
    for (style, weight) in [(steering.style_a, 1.0 - blend), (steering.style_b, blend)] {
        if let Some(s) = style.filter(|&s| s < styles) {
            out[s] += weight;
        }
    }
    let Some(norms) = contract.attribute_norms else {
        return;
    };
    let z = |x: f32| {
        if x.is_finite() {
            x.clamp(-MAX_Z, MAX_Z)
        } else {
            0.0
        }
    };
    for (i, name) in layout.attributes.iter().enumerate() {
        let Some(slot) = out.get_mut(layout.styles.len() + i) else {
            break;
        };
        *slot = match name.as_str() {
            "density" => match steering.density.or(player_density) {
                Some(d) if d > 0.0 => z((d.ln() - norms.log_density_mean) / norms.log_density_std),
                _ => 0.0,
            },
            "register" => {
                let (lo, hi) = steering.register();
                let centre = (f32::from(lo) + f32::from(hi)) / 2.0;
                z((centre - norms.register_mean) / norms.register_std)
            }
            "mode" => z(steering.mood).clamp(-1.0, 1.0),
            "voice" => steering.voice.control(),
            _ => 0.0,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../assets/descant.json");

    fn contract() -> ModelContract {
        ModelContract::parse(SHIPPED).unwrap()
    }

    fn vector(s: &Steering) -> Vec<f32> {
        let c = contract();
        let mut v = vec![9.0; c.control.size];
        control_vector(&c, s, None, &mut v);
        v
    }

    #[test]
    fn styles_blend_continuously() {
        let s = Steering {
            style_a: Some(0),
            style_b: Some(2),
            blend: 0.25,
            ..Steering::default()
        };
        let v = vector(&s);
        assert_eq!((v[0], v[1], v[2]), (0.75, 0.0, 0.25));
        let any = vector(&Steering::default());
        assert!(any[..5].iter().all(|&w| w == 0.0));
    }

    #[test]
    fn attributes_follow_their_targets() {
        let c = contract();
        let n = c.attribute_norms.unwrap();
        let base = c.control.styles.len();
        let dense = vector(&Steering {
            density: Some(3.0),
            ..Steering::default()
        });
        let sparse = vector(&Steering {
            density: Some(0.5),
            ..Steering::default()
        });
        assert!(dense[base] > sparse[base]);
        let high = vector(&Steering {
            register_low: 72,
            register_high: 90,
            ..Steering::default()
        });
        assert!(high[base + 1] > 0.0);
        assert!((high[base + 1] - ((81.0 - n.register_mean) / n.register_std)).abs() < 1e-5);
        let minor = vector(&Steering {
            mood: -1.0,
            ..Steering::default()
        });
        assert_eq!(minor[base + 2], -1.0);
    }

    #[test]
    fn absurd_values_stay_bounded() {
        let v = vector(&Steering {
            density: Some(1e9),
            blend: f32::NAN,
            mood: f32::INFINITY,
            style_a: Some(99),
            ..Steering::default()
        });
        assert!(v.iter().all(|x| x.is_finite() && x.abs() <= MAX_Z));
    }

    #[test]
    fn a_learned_style_after_the_shipped_ones_gets_its_own_column() {
        // A model `training/learn.py` wrote: the shipped styles, then "yours", then the
        // attributes, one column to the right.
        let learned = SHIPPED
            .replace("\"size\": 9,", "\"size\": 10,")
            .replace("\"renaissance\"\n", "\"renaissance\",\n      \"yours\"\n");
        let c = ModelContract::parse(&learned).unwrap();
        assert_eq!(c.control.styles.last().map(String::as_str), Some("yours"));
        let yours = Steering {
            style_a: Some(5),
            mood: -1.0,
            ..Steering::default()
        };
        let mut v = vec![9.0; 10];
        control_vector(&c, &yours, None, &mut v);
        assert_eq!(&v[..6], &[0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(
            v[6 + 2],
            -1.0,
            "the mode attribute moved past the new style"
        );
        // The shipped model has no sixth style: "Yours" plays unconditioned there.
        let shipped = vector(&yours);
        assert!(shipped[..5].iter().all(|&w| w == 0.0));
        assert_eq!(shipped[5 + 2], -1.0);
    }

    #[test]
    fn register_bounds_are_ordered() {
        let s = Steering {
            register_low: 90,
            register_high: 60,
            ..Steering::default()
        };
        assert_eq!(s.register(), (60, 90));
    }

    #[test]
    fn the_auto_density_is_the_players_pace_at_the_styles_own_ratio() {
        let c = contract();
        let style = |id: &str| c.control.styles.iter().position(|s| s == id);
        let chorale = Steering {
            style_a: style("chorale"),
            ..Steering::default()
        };
        let pace = |s: &Steering, heard| auto_density(&c, s, heard);
        for id in &c.control.styles {
            assert!(STYLE_PACE.iter().any(|(s, _)| s == id), "no pace for {id}");
        }
        let own = |id: &str| STYLE_PACE.iter().find(|(s, _)| *s == id).unwrap().1;
        assert!((pace(&chorale, Some(2.0)).unwrap() - 2.2).abs() < 1e-6);
        // A blend weighs the two styles' ratios; "any" is the player's own pace.
        let blend = Steering {
            style_b: style("renaissance"),
            blend: 0.5,
            ..chorale
        };
        assert!((pace(&blend, Some(1.0)).unwrap() - (1.10 + 0.97) / 2.0).abs() < 1e-6);
        assert_eq!(pace(&Steering::default(), Some(1.5)), Some(1.5));
        // The Density control, when set, rules; an unknown pace is none.
        let set = Steering {
            density: Some(3.0),
            ..chorale
        };
        assert_eq!(pace(&set, Some(2.0)), None);
        // Before the player's pace is known, the style's own; none for "any", or half "any".
        assert_eq!(pace(&chorale, None), Some(own("chorale").per_beat));
        let both = (own("chorale").per_beat + own("renaissance").per_beat) / 2.0;
        assert!((pace(&blend, None).unwrap() - both).abs() < 1e-6);
        assert_eq!(pace(&Steering::default(), None), None);
        let half_any = Steering {
            style_b: None,
            ..blend
        };
        assert_eq!(pace(&half_any, None), None);
    }
}
