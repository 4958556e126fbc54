//! The generator's token mask: what the grammar position, the line's free time, its first-note
//! deadline, a phrase's close, the onset grid and the voice's register allow next. Part of
//! [`super::Continuation::next`]; worker thread (or tests); a plain `Copy` value, no allocation.
//!
//! Guarantees: a position is allowed only inside the current bar, at or after the line's free
//! tick, by the first-note deadline, on the grid and where the close allows an onset; a pitch
//! only inside the register (and the close's keys, when it asks); a length only as the close
//! allows it; a bar line only when `bar_ok`; any other token never.

use crate::model::tokenizer::{kind, TokenKind};
use crate::music::phrasing::Close;

use super::Expect;

/// What may come next at one point of the line (see the module's guarantees).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Mask {
    /// Which token class the grammar expects.
    pub(super) expect: Expect,
    /// Absolute tick where the current bar starts.
    pub(super) bar_start: i64,
    /// The bar's length in ticks.
    pub(super) bar_len: i64,
    /// No onset may come before this absolute tick.
    pub(super) next_free: i64,
    /// No onset may come after this absolute tick (the first note's deadline; `i64::MAX`: none).
    pub(super) first_by: i64,
    /// Whether the line may cross the bar line now.
    pub(super) bar_ok: bool,
    /// Onsets keep to this grid (ticks from the bar line), when set.
    pub(super) grid: Option<i64>,
    /// The close of the phrase the line is in, if the line has phrases.
    pub(super) close: Option<Close>,
    /// The keys the phrase's last note keeps to here (0: any; see [`Close::keys_over`]).
    pub(super) close_keys: u128,
    /// The lowest and highest key a pitch may take here (the voice's bounds at its onset).
    pub(super) register: (u8, u8),
    /// Keys the musician vetoed at this pitch's onset (bit `k`: MIDI key `k`): never allowed.
    pub(super) avoid_keys: u128,
}

impl Mask {
    /// Whether `token` may come next, a last note keeping to `keys` (0: any key; the choice
    /// gives the close's keys up when none of them fits the register).
    pub(super) fn allows(&self, token: u32, keys: u128) -> bool {
        let close = self.close;
        match (self.expect, kind(token)) {
            (Expect::PosOrBar, TokenKind::Bar) => self.bar_ok,
            (Expect::PosOrBar, TokenKind::Pos(p)) => {
                let onset = self.bar_start + p;
                p < self.bar_len
                    && onset >= self.next_free
                    && onset <= self.first_by
                    && self.grid.is_none_or(|g| p % g == 0)
                    && close.is_none_or(|c| c.onset_ok(onset, self.next_free))
            }
            (Expect::Pitch { onset }, TokenKind::Pitch(k)) => {
                (self.register.0..=self.register.1).contains(&k)
                    && (k >= 128 || self.avoid_keys & (1u128 << k) == 0)
                    && close.is_none_or(|c| c.key_ok(onset, k, keys))
            }
            (Expect::Dur { onset, .. }, TokenKind::Dur(d)) => {
                close.is_none_or(|c| c.duration_ok(onset, d))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tokenizer::{dur_token, pitch_token, pos_token, BAR, BOS};

    /// A 4/4 bar (48 ticks) from tick 96, free from tick 108, no close, no grid, register C4–C5.
    fn open() -> Mask {
        Mask {
            expect: Expect::PosOrBar,
            bar_start: 96,
            bar_len: 48,
            next_free: 108,
            first_by: i64::MAX,
            bar_ok: true,
            grid: None,
            close: None,
            close_keys: 0,
            register: (60, 72),
            avoid_keys: 0,
        }
    }

    #[test]
    fn an_onset_waits_for_the_line_to_be_free_and_stays_in_its_bar() {
        let m = open();
        assert!(!m.allows(pos_token(11), 0), "before the free tick");
        assert!(m.allows(pos_token(12), 0));
        assert!(m.allows(pos_token(47), 0));
        assert!(!m.allows(pitch_token(64), 0), "a pitch is not expected");
        assert!(m.allows(BAR, 0));
        assert!(!m.allows(BOS, 0));
    }

    #[test]
    fn a_first_note_deadline_and_a_grid_bound_the_onsets() {
        let m = Mask {
            first_by: 96 + 24,
            grid: Some(3),
            ..open()
        };
        assert!(m.allows(pos_token(24), 0));
        assert!(!m.allows(pos_token(27), 0), "after the deadline");
        assert!(!m.allows(pos_token(13), 0), "off the sixteenth grid");
        assert!(
            !Mask { bar_ok: false, ..m }.allows(BAR, 0),
            "a held bar line"
        );
    }

    #[test]
    fn a_pitch_keeps_to_the_register_and_a_length_is_any_without_a_close() {
        let pitch = Mask {
            expect: Expect::Pitch { onset: 108 },
            ..open()
        };
        assert!(pitch.allows(pitch_token(60), 0) && pitch.allows(pitch_token(72), 0));
        assert!(!pitch.allows(pitch_token(59), 0) && !pitch.allows(pitch_token(73), 0));
        assert!(!pitch.allows(BAR, 0), "no bar line mid-note");
        let vetoed = Mask {
            avoid_keys: 1 << 64,
            ..pitch
        };
        assert!(!vetoed.allows(pitch_token(64), 0) && vetoed.allows(pitch_token(65), 0));
        let length = Mask {
            expect: Expect::Dur {
                onset: 108,
                key: 64,
            },
            ..open()
        };
        assert!(length.allows(dur_token(1), 0) && length.allows(dur_token(48), 0));
    }

    #[test]
    fn a_phrase_close_keeps_the_last_note_to_its_keys_unless_they_are_given_up() {
        let close = Close {
            end: 144,
            from: 132,
            until: 134,
            long: 24,
            keys: 1 << 60 | 1 << 67,
            half_keys: 0,
            lead_keys: 0,
        };
        let last = Mask {
            expect: Expect::Pitch { onset: 132 },
            close: Some(close),
            close_keys: close.keys,
            ..open()
        };
        assert!(last.allows(pitch_token(67), last.close_keys));
        assert!(!last.allows(pitch_token(65), last.close_keys));
        assert!(last.allows(pitch_token(65), 0), "the close's keys given up");
        let onset = Mask {
            close: Some(close),
            ..open()
        };
        assert!(onset.allows(pos_token(36), 0), "the last note's place");
        assert!(
            !onset.allows(pos_token(42), 0),
            "past the last note's window"
        );
    }
}
