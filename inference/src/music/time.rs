//! Musical time on Descant's grid: the meter of the host's bars, ticks and beats, grid rounding.
//! One place for these facts, used by the plugin's clock, the worker's planners, the generator and
//! the editor. Pure `Copy` values and functions: any thread, including the audio thread; nothing
//! here allocates.
//!
//! Guarantees: every [`Meter`] is one the token grammar can express (see
//! [`METERS`]); a host's time signature outside it maps to the nearest bar
//! length the grammar has ([`Meter::nearest`]), so 7/8 is written and planned as 4/4.
//! `beats_to_ticks(ticks_to_beats(t)) == t` for every tick count a session reaches.

/// A note on the tick grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TickNote {
    /// Onset in ticks from the sequence's origin (the start of its first bar).
    pub onset: i64,
    /// Length in ticks (at least 1).
    pub duration: i64,
    /// MIDI key.
    pub key: u8,
}

/// Grid resolution: ticks per quarter note. 3 ticks are a sixteenth, 4 an eighth-note triplet.
pub const TICKS_PER_BEAT: i64 = 12;
/// The meters Descant knows (and the token grammar names), as (numerator, denominator). Append
/// only: a meter's place is its token.
pub const METERS: [(u8, u8); 10] = [
    (4, 4),
    (3, 4),
    (2, 4),
    (6, 8),
    (2, 2),
    (3, 8),
    (9, 8),
    (12, 8),
    (5, 4),
    (3, 2),
];

/// A meter the vocabulary can express.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meter {
    /// Beats per bar (the time signature's numerator).
    pub numerator: u8,
    /// Note value of one beat (the time signature's denominator).
    pub denominator: u8,
}

impl Meter {
    /// Common time.
    pub const FOUR_FOUR: Meter = Meter {
        numerator: 4,
        denominator: 4,
    };

    /// The meter if the vocabulary has a token for it.
    pub fn new(numerator: u8, denominator: u8) -> Option<Meter> {
        METERS.contains(&(numerator, denominator)).then_some(Meter {
            numerator,
            denominator,
        })
    }

    /// The vocabulary's meter closest to any time signature (same bar length where possible).
    pub fn nearest(numerator: i32, denominator: i32) -> Meter {
        let (n, d) = (numerator.clamp(1, 16) as u8, denominator.clamp(1, 16) as u8);
        if let Some(m) = Meter::new(n, d) {
            return m;
        }
        let want = i64::from(n) * TICKS_PER_BEAT * 4 / i64::from(d.max(1));
        METERS
            .iter()
            .map(|&(n, d)| Meter {
                numerator: n,
                denominator: d,
            })
            .min_by_key(|m| (m.bar_ticks() - want).abs())
            .unwrap_or(Meter::FOUR_FOUR)
    }

    /// Length of one bar in ticks.
    pub fn bar_ticks(self) -> i64 {
        i64::from(self.numerator) * TICKS_PER_BEAT * 4 / i64::from(self.denominator)
    }

    /// Length of one bar in quarter-note beats.
    pub fn bar_beats(self) -> f64 {
        ticks_to_beats(self.bar_ticks())
    }

    /// Length of one of the meter's beats (its denominator's note value) in ticks.
    pub fn beat_ticks(self) -> i64 {
        TICKS_PER_BEAT * 4 / i64::from(self.denominator.max(1))
    }

    /// Whether the meter counts in dotted beats (6/8, 9/8, 12/8, 3/8).
    pub fn compound(self) -> bool {
        self.denominator == 8 && self.numerator.is_multiple_of(3)
    }

    /// The beat a player counts, in ticks: a dotted quarter in a compound meter (two in 6/8,
    /// three in 9/8, one bar of 3/8), else the denominator's note (two half notes in 2/2). The
    /// harmony's strong and weak beats, the onset choice's beats and the measures all count this.
    pub fn pulse_ticks(self) -> i64 {
        if self.compound() {
            3 * self.beat_ticks()
        } else {
            self.beat_ticks()
        }
    }

    /// The time signature, as a MIDI file or a host writes it.
    pub fn time_signature(self) -> (u8, u8) {
        (self.numerator, self.denominator)
    }

    /// The meter in 16 bits, for an atomic (see [`Meter::unpack`]).
    pub fn pack(self) -> u16 {
        u16::from(self.numerator) << 8 | u16::from(self.denominator)
    }

    /// The meter [`Meter::pack`] packed; one the vocabulary lacks becomes the nearest it has.
    pub fn unpack(bits: u16) -> Meter {
        Meter::nearest(i32::from(bits >> 8), i32::from(bits & 0xff))
    }
}

/// Beats (quarter notes) to the nearest tick.
pub fn beats_to_ticks(beats: f64) -> i64 {
    (beats * TICKS_PER_BEAT as f64).round() as i64
}

/// Ticks to beats (quarter notes).
pub fn ticks_to_beats(ticks: i64) -> f64 {
    ticks as f64 / TICKS_PER_BEAT as f64
}

/// `tick` rounded up to a multiple of `grid` (ticks).
pub fn ceil_to_grid(tick: i64, grid: i64) -> i64 {
    tick.div_euclid(grid) * grid + if tick.rem_euclid(grid) > 0 { grid } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_to_grid_rounds_up_to_the_grid() {
        assert_eq!(ceil_to_grid(0, 3), 0);
        assert_eq!(ceil_to_grid(1, 3), 3);
        assert_eq!(ceil_to_grid(3, 3), 3);
        assert_eq!(ceil_to_grid(-1, 3), 0);
    }

    #[test]
    fn ticks_and_beats_round_trip() {
        for t in [-96, -1, 0, 1, 7, 12, 1_000_003] {
            assert_eq!(beats_to_ticks(ticks_to_beats(t)), t);
        }
    }

    #[test]
    fn every_meter_of_the_grammar_packs_and_knows_its_bar() {
        for (n, d) in METERS {
            let m = Meter::new(n, d).unwrap();
            assert_eq!(Meter::unpack(m.pack()), m);
            assert_eq!(m.time_signature(), (n, d));
            assert!((m.bar_beats() - f64::from(n) * 4.0 / f64::from(d)).abs() < 1e-12);
        }
        assert_eq!(Meter::new(6, 8).unwrap().beat_ticks(), 6);
        let pulse = |n, d| Meter::new(n, d).unwrap().pulse_ticks();
        assert_eq!(
            [
                pulse(6, 8),
                pulse(9, 8),
                pulse(3, 8),
                pulse(2, 2),
                pulse(3, 4)
            ],
            [18, 18, 18, 24, 12]
        );
        assert_eq!(
            Meter::unpack(Meter::new(7, 8).map_or(7 << 8 | 8, Meter::pack)),
            Meter::FOUR_FOUR
        );
    }
}
